//! End-to-end: a detached `hakeeper run` logs to a UDP syslog listener with facility local1.

mod harness;

use harness::process::*;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[test]
fn udp_syslog_receives_lines_with_facility_local1() {
    let dir = TempDir::new("syslog");
    let (sink, sink_addr) = udp_sink(Duration::from_millis(500));
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"udp://{sink_addr}\", facility: \"local1\")),\n listen: [(name: \"p\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"s\", addr: \"127.0.0.1:9\")])])"
        ),
    )
    .expect("write config");
    let guard = run_detached(&dir, &config);
    let lines = collect(&sink, Duration::from_secs(5), |l| l.iter().any(|l| l.contains("hakeeper-worker[")));
    assert!(!lines.is_empty(), "no syslog line received");
    for line in &lines {
        let pri: u32 = line
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .and_then(|(p, _)| p.parse().ok())
            .unwrap_or_else(|| panic!("no PRI in {line:?}"));
        assert_eq!(pri / 8, 17, "facility local1 (17) in {line:?}");
    }
    assert!(lines.iter().any(|l| l.contains(" hakeeper[")), "supervisor ident: {lines:?}");
    assert!(lines.iter().any(|l| l.contains(" hakeeper-worker[")), "one ident per role: {lines:?}");
    drop(guard);
}

/// `hakeeper run -c CONFIG` without --foreground (it detaches, and logs go to syslog, not
/// stderr); the guard stops it and its children.
fn run_detached(dir: &TempDir, config: &std::path::Path) -> Cleanup {
    let pidfile = dir.file("h.pid");
    let (code, _, err) =
        run_cli(&["run", "-c", config.to_str().expect("utf8"), "--pidfile", pidfile.to_str().expect("utf8")], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(Duration::from_secs(5), || pidfile.exists()), "pid file written");
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("pidfile").trim().parse().expect("pid");
    Cleanup(pid)
}

struct Cleanup(i32);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let kids: Vec<i32> = children_of(self.0).iter().map(|(_, p)| *p).collect();
        signal(self.0, nix::sys::signal::Signal::SIGTERM);
        wait_until(Duration::from_secs(6), || !alive(self.0));
        for p in kids.into_iter().chain([self.0]) {
            if alive(p) {
                signal(p, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// HAProxy's httplog format, field by field:
/// `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`.
const HTTPLOG: &str = r#"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d hakeeper-worker\[\d+\]: (\d{1,3}(?:\.\d{1,3}){3}):(\d+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\+?\d+) (\d{3}) (\+?\d+) (\S+) (\S+) ([\w-]{4}) (\d+)/(\d+)/(\d+)/(\d+)/(\+?\d+) (\d+)/(\d+) "(\S+) (\S+) (HTTP/1\.[01])"$"#;

#[test]
fn udp_syslog_receives_httplog_lines_in_haproxy_format() {
    use harness::http_backend::HttpBackend;
    use std::io::{Read, Write};
    let dir = TempDir::new("httplog");
    let (sink, sink_addr) = udp_sink(Duration::from_millis(500));
    let backend = HttpBackend::start("web1");
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"udp://{sink_addr}\", facility: \"local1\")),\n defaults: (mode: http, log_format: httplog),\n listen: [(name: \"web\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"web1\", addr: \"{}\")])])",
            backend.addr
        ),
    )
    .expect("write config");
    let guard = run_detached(&dir, &config);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut client = None;
    assert!(wait_until(Duration::from_secs(5), || {
        client = std::net::TcpStream::connect(addr).ok();
        client.is_some()
    }));
    // Every byte the client gets, to hold %B (HAProxy's bytes_read: head and body, once) to.
    let mut client = client.expect("client");
    client.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    client.write_all(b"GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n").expect("send request");
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).expect("response");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

    let re = regex::Regex::new(HTTPLOG).expect("regex");
    let end = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    let mut seen = Vec::new();
    let mut matched = None;
    while Instant::now() < end && matched.is_none() {
        if let Ok(n) = sink.recv(&mut buf) {
            let line = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(c) = re.captures(&line) {
                matched = Some((
                    c[1].parse::<u32>().expect("pri"),
                    c[5].to_string(),
                    c[6].to_string(),
                    c[7].to_string(),
                    c[13].to_string(),
                    c[14].to_string(),
                    c[25].to_string(),
                    c[26].to_string(),
                ));
            }
            seen.push(line);
        }
    }
    let (pri, frontend, backend_name, server, status, bytes, method, uri) =
        matched.unwrap_or_else(|| panic!("no httplog line matched; received:\n{}", seen.join("\n")));
    assert_eq!(pri / 8, 17, "facility local1");
    assert_eq!((frontend.as_str(), backend_name.as_str(), server.as_str()), ("web", "web", "web1"));
    assert_eq!((status.as_str(), method.as_str(), uri.as_str()), ("200", "GET", "/"));
    assert_eq!(bytes, answer.len().to_string(), "%B counts each byte sent to the client once");
    drop(guard);
}

/// A syslog listener on loopback whose reads give up after `timeout`, and its address.
fn udp_sink(timeout: Duration) -> (UdpSocket, std::net::SocketAddr) {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind syslog sink");
    sink.set_read_timeout(Some(timeout)).expect("timeout");
    let addr = sink.local_addr().expect("addr");
    (sink, addr)
}

/// Receives datagrams on `sink` until `done` holds for what arrived or `within` passes.
fn collect(sink: &UdpSocket, within: Duration, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    let end = Instant::now() + within;
    let mut buf = [0u8; 2048];
    while Instant::now() < end && !done(&lines) {
        if let Ok(n) = sink.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    lines
}

#[test]
fn several_log_targets_each_get_the_lines_their_level_admits() {
    let dir = TempDir::new("twolog");
    let ((all, all_addr), (notice, notice_addr)) = (udp_sink(Duration::from_millis(200)), udp_sink(Duration::from_millis(200)));
    let port = free_port();
    // A server nobody listens on, checked: the worker logs the failed connection (info), the
    // checker logs the server going DOWN (warning).
    let dead = format!("127.0.0.1:{}", refused_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"udp://{all_addr}\", facility: \"local0\"),
                additional_logs: [(target: \"udp://{notice_addr}\", facility: \"local1\", level: \"notice\")]),
              defaults: (log_format: tcplog),
              listen: [(name: \"p\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"s\", addr: \"{dead}\", check: (inter: \"200ms\"))])])"
        ),
    )
    .expect("write config");
    let guard = run_detached(&dir, &config);

    // One client connection: the tcplog line (info) for a connection that found no server.
    assert!(wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let all_lines = collect(&all, Duration::from_secs(6), |l| {
        l.iter().any(|l| l.contains(" p p/")) && l.iter().any(|l| l.contains("Server p/s is DOWN"))
    });
    let notice_lines = collect(&notice, Duration::from_secs(2), |l| l.iter().any(|l| l.contains("Server p/s is DOWN")));
    drop(guard);

    let pri = |line: &String| -> u32 {
        line.strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .and_then(|(p, _)| p.parse().ok())
            .unwrap_or_else(|| panic!("no PRI in {line:?}"))
    };
    assert!(all_lines.iter().any(|l| l.contains(" p p/")), "the info target gets the connection log: {all_lines:#?}");
    assert!(all_lines.iter().any(|l| l.contains("Server p/s is DOWN")), "and the events: {all_lines:#?}");
    assert!(all_lines.iter().all(|l| pri(l) / 8 == 16), "facility local0 on the first target: {all_lines:#?}");
    assert!(notice_lines.iter().any(|l| l.contains("Server p/s is DOWN")), "the notice target gets the DOWN event: {notice_lines:#?}");
    for line in &notice_lines {
        assert_eq!(pri(line) / 8, 17, "facility local1 on the second target: {line:?}");
        assert!(pri(line) % 8 <= 5, "nothing below notice on the second target: {line:?}");
    }
    assert!(!notice_lines.iter().any(|l| l.contains(" p p/")), "no connection log at notice: {notice_lines:#?}");
}

/// Fields of one native journal datagram (`NAME=value` lines, or `NAME`, a 64-bit length and the
/// value for values with newlines).
fn journal_fields(mut d: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(nl) = d.iter().position(|&b| b == b'\n') {
        let line = &d[..nl];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            out.push((String::from_utf8_lossy(&line[..eq]).into_owned(), String::from_utf8_lossy(&line[eq + 1..]).into_owned()));
            d = &d[nl + 1..];
        } else {
            let len_bytes: [u8; 8] = d.get(nl + 1..nl + 9).and_then(|b| b.try_into().ok()).expect("binary field length");
            let len = u64::from_le_bytes(len_bytes) as usize;
            let value = d.get(nl + 9..nl + 9 + len).expect("binary field value");
            out.push((String::from_utf8_lossy(line).into_owned(), String::from_utf8_lossy(value).into_owned()));
            d = &d[(nl + 10 + len).min(d.len())..];
        }
    }
    out
}

#[test]
fn under_systemd_the_foreground_logs_to_the_journal_natively_with_priorities_and_roles() {
    use harness::process::Appliance;
    use std::os::unix::net::UnixDatagram;
    let dir = TempDir::new("journal");
    let socket = dir.file("journal.sock");
    let journal = UnixDatagram::bind(&socket).expect("bind journal socket");
    journal.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let port = free_port();
    let dead = format!("127.0.0.1:{}", refused_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"stderr\", facility: \"local1\", level: \"info\")),
              listen: [(name: \"p\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"s\", addr: \"{dead}\", check: (inter: \"200ms\"))])])"
        ),
    )
    .expect("write config");
    let log = dir.file("stderr.log");
    let app = Appliance::start_under_journal(&config, &log, &socket);
    let mut entries: Vec<Vec<(String, String)>> = Vec::new();
    let end = Instant::now() + Duration::from_secs(8);
    let mut buf = vec![0u8; 65536];
    let down = |e: &Vec<(String, String)>| e.iter().any(|(k, v)| k == "MESSAGE" && v.contains("Server p/s is DOWN"));
    while Instant::now() < end && !entries.iter().any(down) {
        if let Ok(n) = journal.recv(&mut buf) {
            entries.push(journal_fields(&buf[..n]));
        }
    }
    let stderr_text = app.log_text();
    drop(app);
    let get = |e: &Vec<(String, String)>, k: &str| e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(event) = entries.iter().find(|e| down(e)) else {
        panic!("no DOWN event in the journal: {entries:#?}\nstderr:\n{stderr_text}")
    };
    assert_eq!(get(event, "PRIORITY").as_deref(), Some("4"), "a DOWN event is a warning: {event:?}");
    assert_eq!(get(event, "SYSLOG_IDENTIFIER").as_deref(), Some("hakeeper-checker"), "{event:?}");
    assert_eq!(get(event, "HAKEEPER_ROLE").as_deref(), Some("checker"), "{event:?}");
    assert_eq!(get(event, "SYSLOG_FACILITY").as_deref(), Some("17"), "local1: {event:?}");
    assert_eq!((get(event, "BACKEND").as_deref(), get(event, "SERVER").as_deref()), (Some("p"), Some("s")), "{event:?}");
    for (role, ident) in [("supervisor", "hakeeper"), ("worker", "hakeeper-worker")] {
        assert!(
            entries
                .iter()
                .any(|e| get(e, "HAKEEPER_ROLE").as_deref() == Some(role) && get(e, "SYSLOG_IDENTIFIER").as_deref() == Some(ident)),
            "an entry from the {role} as {ident}: {entries:#?}"
        );
    }
    for e in &entries {
        assert_eq!(e.iter().filter(|(k, _)| k == "SYSLOG_IDENTIFIER").count(), 1, "one identifier per entry: {e:?}");
        let message = get(e, "MESSAGE").unwrap_or_default();
        assert!(!stderr_text.contains(&message), "{message:?} went to the journal and to stderr:\n{stderr_text}");
    }
}

#[test]
fn the_foreground_keeps_the_configured_syslog_targets() {
    use harness::process::Appliance;
    let dir = TempDir::new("fgsyslog");
    let (sink, sink_addr) = udp_sink(Duration::from_millis(500));
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"udp://{sink_addr}\", facility: \"local1\", level: \"info\")),
              listen: [(name: \"p\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"s\", addr: \"127.0.0.1:9\")])])"
        ),
    )
    .expect("write config");
    let log = dir.file("stderr.log");
    let app = Appliance::start(&config, &log);
    let lines = collect(&sink, Duration::from_secs(6), |l| l.iter().any(|l| l.contains(" hakeeper-worker[")));
    let on_console = app.wait_for_log("hakeeper-worker[", Duration::from_secs(3));
    drop(app);
    assert!(lines.iter().any(|l| l.contains(" hakeeper-worker[")), "--foreground still sends to the configured syslog target: {lines:?}");
    assert!(on_console, "and to stderr");
}

#[test]
fn httplog_bytes_count_each_byte_once_when_the_body_comes_after_the_head() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = TempDir::new("httplogbytes");
    let (sink, sink_addr) = udp_sink(Duration::from_millis(500));
    // A server that sends its head, then its body 300 ms later: the head is forwarded before
    // the transaction ends.
    let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind server");
    let server_addr = server.local_addr().expect("server addr");
    let thread = std::thread::spawn(move || {
        let Ok((conn, _)) = server.accept() else { return };
        let mut r = BufReader::new(conn.try_clone().expect("clone"));
        let mut line = String::new();
        while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        let mut w = conn;
        let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
        std::thread::sleep(Duration::from_millis(300));
        let _ = w.write_all(b"hello");
    });
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"udp://{sink_addr}\", facility: \"local1\")),\n defaults: (mode: http, log_format: httplog),\n listen: [(name: \"web\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"web1\", addr: \"{server_addr}\")])])"
        ),
    )
    .expect("write config");
    let guard = run_detached(&dir, &config);
    let mut client = None;
    assert!(wait_until(Duration::from_secs(5), || {
        client = std::net::TcpStream::connect(("127.0.0.1", port)).ok();
        client.is_some()
    }));
    let mut client = client.expect("client");
    client.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    client.write_all(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").expect("send request");
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).expect("response");
    assert!(answer.ends_with(b"hello"), "{}", String::from_utf8_lossy(&answer));
    let re = regex::Regex::new(HTTPLOG).expect("regex");
    let lines = collect(&sink, Duration::from_secs(5), |l| l.iter().any(|l| re.is_match(l)));
    drop(guard);
    let _ = thread.join();
    let bytes = lines.iter().find_map(|l| re.captures(l).map(|c| c[14].to_string()));
    assert_eq!(bytes, Some(answer.len().to_string()), "%B against the {} bytes the client got: {lines:#?}", answer.len());
}
