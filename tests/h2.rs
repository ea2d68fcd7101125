//! End-to-end HTTP/2 towards clients (issue #21): `hakeeper run` with `proto: h2` on a
//! cleartext bind in front of three loopback HTTP/1.1 backends, driven by curl
//! (`--http2-prior-knowledge`), nghttp and h2load (nghttp2-client, from `tests/install-deps`;
//! a missing tool fails the test).

mod harness;

use harness::http_backend::HttpBackend;
use harness::process::*;
use harness::stats::row_column;
use std::process::Command;
use std::time::Duration;

fn config(port: u16, stats: u16, app: &[&HttpBackend], img: &HttpBackend) -> String {
    format!(
        r#"(
  global: (user: "nobody", h2: (max_concurrent_streams: 100)),
  defaults: (mode: http, log: true, log_format: httplog,
             timeout: (connect: "2s", client: "30s", server: "30s", http_request: "5s", http_keep_alive: "5s")),
  frontend: [(name: "h2fe", bind: [(addr: "127.0.0.1:{port}", proto: h2)],
              acls: [(name: "img", criterion: "hdr(host) -i img.test")],
              use_backend: [(backend: "img", cond: "if img")],
              default_backend: "app")],
  backend: [(name: "app", balance: roundrobin,
             servers: [(name: "a1", addr: "{}"), (name: "a2", addr: "{}"), (name: "a3", addr: "{}")]),
            (name: "img", balance: roundrobin, servers: [(name: "i1", addr: "{}")])],
  stats: (bind: "127.0.0.1:{stats}", uri: "/admin", auth: [("mldn", "java")]),
)
"#,
        app[0].addr, app[1].addr, app[2].addr, img.addr
    )
}

/// Runs a client tool, bounded in time; a missing tool fails the test.
fn run(args: &[&str], timeout: Duration) -> std::process::Output {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    match output_within(cmd, timeout) {
        Ok(out) => out,
        Err(e) => panic!("{} could not run ({e}): install it with tests/install-deps", args[0]),
    }
}

struct Setup {
    _dir: TempDir,
    appliance: Appliance,
    port: u16,
    stats: std::net::SocketAddr,
    _app: Vec<HttpBackend>,
    _img: HttpBackend,
}

fn start(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let app: Vec<HttpBackend> = ["a1", "a2", "a3"].iter().map(|n| HttpBackend::start(n)).collect();
    let img = HttpBackend::start("i1");
    let (port, stats) = (free_port(), free_port());
    std::fs::write(dir.file("hakeeper.ron"), config(port, stats, &[&app[0], &app[1], &app[2]], &img)).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    let up = wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(up, "proxy never accepted on {port}; log:\n{}", appliance.log_text());
    let stats = std::net::SocketAddr::from(([127, 0, 0, 1], stats));
    let up = wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(stats).is_ok());
    assert!(up, "stats page never accepted; log:\n{}", appliance.log_text());
    Setup { _dir: dir, appliance, port, stats, _app: app, _img: img }
}

#[test]
fn prior_knowledge_streams_are_transactions_balanced_over_three_servers() {
    let s = start("h2_streams");
    let url = format!("http://127.0.0.1:{}/", s.port);

    // curl, one request: Host comes from :authority, the ACL routes on it.
    let out = run(
        &["curl", "-s", "--http2-prior-knowledge", "-H", "Host: img.test", "-w", "\n%{http_version} %{http_code}", &url],
        Duration::from_secs(20),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("server=i1\n") && text.ends_with("\n2 200"), "curl: {text}\n{}", String::from_utf8_lossy(&out.stderr));

    // nghttp: 30 concurrent streams on one connection, round-robin over the three servers.
    let out = run(&["nghttp", "-m", "30", &url], Duration::from_secs(20));
    assert!(out.status.success(), "nghttp: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["a1", "a2", "a3"] {
        let n = text.matches(&format!("server={name}\n")).count();
        assert_eq!(n, 10, "{name} served {n} of 30 streams (round-robin): {text}");
    }

    // The streams' bytes count for their backend and servers, and each stream counted as one of
    // the backend's sessions until it ended.
    assert!(row_column(s.stats, "app", "BACKEND", "bout") > 0 && row_column(s.stats, "app", "a1", "bout") > 0);
    assert!(row_column(s.stats, "app", "BACKEND", "bin") > 0);
    assert!(row_column(s.stats, "app", "BACKEND", "stot") >= 30);
    assert!(wait_until(Duration::from_secs(5), || row_column(s.stats, "app", "BACKEND", "scur") == 0), "streams left counted");

    // httplog: one line per stream, `HTTP/2.0` as HAProxy logs it.
    let log = &s.appliance;
    assert!(log.wait_for_log("h2fe img/i1 ", Duration::from_secs(5)), "no httplog line for img; log:\n{}", log.log_text());
    assert!(
        wait_until(Duration::from_secs(5), || log.log_text().matches("\"GET / HTTP/2.0\"").count() >= 31),
        "31 lines with HTTP/2.0 expected; log:\n{}",
        log.log_text()
    );
}

#[test]
fn a_large_upload_with_flow_control_and_h2load_on_one_connection() {
    let s = start("h2_upload");
    let url = format!("http://127.0.0.1:{}/up", s.port);
    // 5 MiB: many times the 64 KiB windows, so the upload goes only as the windows open.
    let body = s._dir.file("body.bin");
    let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&body, &data).expect("write body");
    let at = format!("@{}", body.display());
    let out = run(
        &[
            "curl",
            "-s",
            "--http2-prior-knowledge",
            "--data-binary",
            &at,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code} %{size_upload}",
            &url,
        ],
        Duration::from_secs(30),
    );
    // The backend answers only once it has read the whole Content-Length body.
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("2 200 {}", data.len()), "{}", String::from_utf8_lossy(&out.stderr));

    // h2load: 500 requests, 100 concurrent streams on one connection, none failed.
    let out = run(&["h2load", "-n", "500", "-c", "1", "-m", "100", &url], Duration::from_secs(40));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("500 succeeded, 0 failed"), "h2load: {text}");
    assert!(text.contains("status codes: 500 2xx"), "h2load: {text}");
}

/// The counts of h2load's `requests:` line: (total, started, succeeded).
fn h2load_counts(text: &str) -> Option<(u64, u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("requests:"))?;
    let num = |label: &str| -> Option<u64> {
        let before = line.split(label).next()?;
        before.rsplit([',', ':']).next()?.trim().parse().ok()
    };
    Some((num(" total")?, num(" started")?, num(" succeeded")?))
}

#[test]
fn reload_sends_a_graceful_goaway_and_no_started_request_fails() {
    let mut s = start("h2_reload");
    let url = format!("http://127.0.0.1:{}/", s.port);
    // One connection, 10 streams at a time, far more requests than it can finish before the
    // reload: the old worker's GOAWAY ends it early.
    let mut cmd = Command::new("h2load");
    cmd.args(["-n", "200000", "-c", "1", "-m", "10", &url]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(output_within(cmd, Duration::from_secs(60)));
    });
    let log = &s.appliance;
    assert!(
        wait_until(Duration::from_secs(10), || log.log_text().matches("HTTP/2.0").count() >= 200),
        "h2load made no requests; log:\n{}",
        log.log_text()
    );
    // And an idle connection, which has nothing to wake it but the drain.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(0x4, 0, 0, &[]));
    hello.extend(frame(0x1, 0x4 | 0x1, 1, &request_block(false)));
    std::io::Write::write_all(&mut idle, &hello).expect("write");
    assert_eq!(read_headers_on(&mut idle, 1), Some(0x88), "the idle connection's request");
    let old = s.appliance.child_pid("worker").expect("the worker's pid");
    signal(s.appliance.pid, nix::sys::signal::Signal::SIGHUP);
    let since = std::time::Instant::now();
    let out = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(out)) => out,
        other => panic!("h2load could not run ({:?}): install it with tests/install-deps", other.err()),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let (total, started, succeeded) = h2load_counts(&text).unwrap_or_else(|| panic!("no requests line: {text}"));
    // Ended by the GOAWAY, not served to the end.
    assert!(started < total, "the reload did not end the connection: {text}");
    // The idle connection got its GOAWAY and was closed at once (not after `timeout
    // http-keep-alive`, 5 s): the client opens its next stream elsewhere.
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut idle, &mut rest);
    assert!(since.elapsed() < Duration::from_secs(3), "the idle connection was not closed by the drain");
    assert!(rest.windows(4).any(|w| w[..3] == [0, 0, 8] && w[3] == 0x7), "no GOAWAY on the idle connection: {rest:?}");
    // The old worker finished as soon as its connection did, well within its drain time (30 s).
    assert!(
        s.appliance.wait_for_log("finished draining", Duration::from_secs(10)),
        "the old worker kept draining; log:\n{}",
        s.appliance.log_text()
    );
    // Every stream that reached the old worker was served whole (`----`) and got to the
    // client: as many lines as h2load's successes. h2load counts as started, and failed, the
    // few requests nghttp2 had queued and then refused to send once the GOAWAY came (at most
    // the 10 concurrent streams); those never reached the proxy and may be retried (§6.8).
    let log = s.appliance.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&format!("hakeeper-worker[{old}]")) && l.contains("HTTP/2.0")).collect();
    assert!(lines.iter().all(|l| l.contains(" 200 ") && l.contains(" ---- ")), "a stream failed in the old worker: {lines:#?}");
    // (One more: the idle connection's request.)
    assert_eq!(lines.len() as u64, succeeded + 1, "streams served by the old worker vs h2load's successes: {text}");
    assert!(started - succeeded <= 10, "more failures than streams in flight: {text}");
    // The new worker serves HTTP/2 too.
    let out = run(&["h2load", "-n", "200", "-c", "2", "-m", "20", &url], Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("200 succeeded, 0 failed"), "after the reload: {text}");
    assert!(s.appliance.terminate(Duration::from_secs(10)).is_some(), "hakeeper did not stop");
}

/// A frame: header (length, type, flags, stream) and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A request field block with static-table entries (RFC 7541 appendix A) and a literal
/// `:authority`.
fn request_block(post: bool) -> Vec<u8> {
    // :method GET (2) or POST (3), :scheme http (6), :path / (4).
    let mut b = vec![if post { 0x83 } else { 0x82 }, 0x86, 0x84];
    // :authority (name index 1), literal with incremental indexing.
    b.extend_from_slice(&[0x41, 6]);
    b.extend_from_slice(b"a.test");
    b
}

/// Reads frames until one is HEADERS on `stream`; returns its first block byte.
fn read_headers_on(conn: &mut std::net::TcpStream, stream: u32) -> Option<u8> {
    use std::io::Read;
    loop {
        let mut head = [0u8; 9];
        conn.read_exact(&mut head).ok()?;
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        conn.read_exact(&mut payload).ok()?;
        let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] == 0x1 && id == stream {
            return payload.first().copied();
        }
        if head[3] == 0x7 {
            return None;
        }
    }
}

#[test]
fn reset_streams_end_alone_and_the_connection_goes_on() {
    use std::io::Write;
    let s = start("h2_reset");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(0x4, 0, 0, &[]));
    // Stream 1: a GET reset at once (CANCEL). Stream 3: an upload reset halfway.
    out.extend(frame(0x1, 0x4 | 0x1, 1, &request_block(false)));
    out.extend(frame(0x3, 0, 1, &8u32.to_be_bytes()));
    let mut block = request_block(true);
    // content-length: 100000 (static name index 28, without indexing).
    block.extend_from_slice(&[0x0f, 0x0d, 6]);
    block.extend_from_slice(b"100000");
    out.extend(frame(0x1, 0x4, 3, &block));
    out.extend(frame(0x0, 0, 3, &[b'x'; 1000]));
    conn.write_all(&out).expect("write");
    std::thread::sleep(Duration::from_millis(200));
    conn.write_all(&frame(0x3, 0, 3, &8u32.to_be_bytes())).expect("write");
    // Stream 5: a GET on the same connection is served.
    conn.write_all(&frame(0x1, 0x4 | 0x1, 5, &request_block(false))).expect("write");
    // `:status: 200` is static entry 8.
    assert_eq!(read_headers_on(&mut conn, 5), Some(0x88), "stream 5 was not answered 200 after two resets");
    // The reset upload's transaction is logged as a client abort (`CH`: its response was due).
    let log = &s.appliance;
    assert!(
        wait_until(Duration::from_secs(5), || log
            .log_text()
            .lines()
            .any(|l| l.contains("\"POST / HTTP/2.0\"") && (l.contains(" CH--") || l.contains(" CD--")))),
        "no client-abort line for the reset upload; log:\n{}",
        log.log_text()
    );
}

/// A server that reads a Content-Length body slowly (64 KiB every 5 ms) and answers with its
/// length and byte sum.
fn slow_reader() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let thread = std::thread::spawn(move || {
        let Ok((conn, _)) = listener.accept() else { return };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
        let Ok(mut w) = conn.try_clone() else { return };
        let mut r = BufReader::new(conn);
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let (mut got, mut sum) = (0usize, 0u64);
        let mut buf = vec![0u8; 64 * 1024];
        while got < len {
            let want = buf.len().min(len - got);
            let Ok(n) = r.read(&mut buf[..want]) else { return };
            if n == 0 {
                return;
            }
            got += n;
            sum += buf[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = format!("len={got} sum={sum}");
        let _ = w.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{text}", text.len()).as_bytes());
    });
    (addr, thread)
}

/// The worker's resident memory, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[test]
fn a_slow_server_slows_the_upload_through_the_windows() {
    let (server, thread) = slow_reader();
    let dir = TempDir::new("h2_slow_upload");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "up", bind: [(addr: "127.0.0.1:{port}", proto: h2)], servers: [(name: "slow", addr: "{server}")])],
)"#
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "{}", appliance.log_text());
    let worker = appliance.child_pid("worker").expect("worker pid");
    let before = rss_kib(worker);
    // 48 MiB at about 12 MiB/s: the proxy may hold only its windows and buffers of it.
    let data: Vec<u8> = (0..48 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
    let body = dir.file("body.bin");
    std::fs::write(&body, &data).expect("write body");
    let at = format!("@{}", body.display());
    let url = format!("http://127.0.0.1:{port}/");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--http2-prior-knowledge", "--data-binary", &at, &url]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(output_within(cmd, Duration::from_secs(60)));
    });
    let mut peak = before;
    let out = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(out) => break out.expect("curl could not run: install it with tests/install-deps"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => peak = peak.max(rss_kib(worker)),
            Err(e) => panic!("curl thread: {e}"),
        }
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("len={} sum={sum}", data.len()), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("48 MiB upload through a slow server: worker RSS {before} KiB, peak +{} KiB", peak.saturating_sub(before));
    assert!(peak.saturating_sub(before) < 16 * 1024, "the worker grew by {} KiB for a 48 MiB upload", peak - before);
    let _ = thread.join();
}

#[test]
fn an_idle_connection_gets_a_goaway_and_is_closed() {
    use std::io::{Read, Write};
    let web = HttpBackend::start("w1");
    let dir = TempDir::new("h2_idle");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "30s", server: "30s", http_keep_alive: "300ms")),
  listen: [(name: "idle", bind: [(addr: "127.0.0.1:{port}", proto: h2)], servers: [(name: "w1", addr: "{}")])],
)"#,
        web.addr
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "{}", appliance.log_text());
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(0x4, 0, 0, &[]));
    hello.extend(frame(0x1, 0x4 | 0x1, 1, &request_block(false)));
    conn.write_all(&hello).expect("write");
    assert_eq!(read_headers_on(&mut conn, 1), Some(0x88), "stream 1 not answered");
    // Then nothing: after `timeout http-keep-alive` a GOAWAY (NO_ERROR, last stream 1) and the
    // close, well before `timeout client`.
    let start = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(3), "not closed after the idle timeout");
    let mut p = 0;
    let mut goaway = None;
    while p + 9 <= rest.len() {
        let len = (usize::from(rest[p]) << 16) | (usize::from(rest[p + 1]) << 8) | usize::from(rest[p + 2]);
        if rest[p + 3] == 0x7 && p + 9 + 8 <= rest.len() {
            goaway = Some(rest[p + 9..p + 17].to_vec());
        }
        p += 9 + len;
    }
    assert_eq!(goaway, Some(vec![0, 0, 0, 1, 0, 0, 0, 0]), "no final GOAWAY(last 1, NO_ERROR) before the close: {rest:?}");
}

/// A keep-alive HTTP/1.1 server that answers each request `delay` after it arrived (a thread
/// per connection), so that streams are in flight whenever the test looks.
fn delayed_server(delay: Duration) -> std::net::SocketAddr {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                let Ok(mut w) = conn.try_clone() else { return };
                let mut r = BufReader::new(conn);
                while harness::http_backend::read_head(&mut r).is_some() {
                    std::thread::sleep(delay);
                    if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// SIGTERM (systemd's stop) while streams wait for a slow server: HAProxy's soft-stop on an H2
/// connection (`mux_h2`'s graceful shutdown): GOAWAY in two steps, every stream the proxy took
/// is answered, then the connection closes and the appliance exits within its 5 s.
#[test]
fn stop_sends_a_graceful_goaway_and_streams_in_flight_are_answered() {
    stop_with_streams_in_flight(false);
}

/// The same stop by `hakeeper ctl stop`.
#[test]
fn ctl_stop_sends_a_graceful_goaway_and_streams_in_flight_are_answered() {
    stop_with_streams_in_flight(true);
}

fn stop_with_streams_in_flight(by_ctl: bool) {
    let server = delayed_server(Duration::from_millis(300));
    let dir = TempDir::new(if by_ctl { "h2_ctl_stop" } else { "h2_stop" });
    let port = free_port();
    let ctl = dir.file("ctl.sock");
    let config = format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{}"),
  defaults: (mode: http, log: true, log_format: httplog,
             timeout: (connect: "2s", client: "30s", server: "30s", http_keep_alive: "10s")),
  listen: [(name: "slow", bind: [(addr: "127.0.0.1:{port}", proto: h2)], servers: [(name: "s1", addr: "{server}")])],
)"#,
        ctl.display()
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "{}", appliance.log_text());
    let url = format!("http://127.0.0.1:{port}/");
    // Two connections, 10 streams each always waiting for the server: far more requests than
    // they can make before the stop.
    let mut cmd = Command::new("h2load");
    cmd.args(["-n", "100000", "-c", "2", "-m", "10", &url]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(output_within(cmd, Duration::from_secs(60)));
    });
    // An idle connection too, which only the stop wakes.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(0x4, 0, 0, &[]));
    hello.extend(frame(0x1, 0x4 | 0x1, 1, &request_block(false)));
    std::io::Write::write_all(&mut idle, &hello).expect("write");
    assert_eq!(read_headers_on(&mut idle, 1), Some(0x88), "the idle connection's request");
    assert!(
        wait_until(Duration::from_secs(10), || appliance.log_text().matches("HTTP/2.0").count() >= 40),
        "h2load made no requests; log:\n{}",
        appliance.log_text()
    );
    let took = if by_ctl {
        let since = std::time::Instant::now();
        let socket = ctl.to_str().expect("utf8");
        let (code, out, err) = run_cli(&["ctl", "--socket", socket, "stop"], Duration::from_secs(5));
        assert_eq!(code, 0, "ctl stop: {out}{err}");
        assert!(out.contains("stopping"), "ctl stop: {out}");
        let pid = appliance.pid;
        wait_until(Duration::from_secs(10), || !alive(pid)).then(|| since.elapsed())
    } else {
        appliance.terminate(Duration::from_secs(10))
    };
    let out = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(out)) => out,
        other => panic!("h2load could not run ({:?}): install it with tests/install-deps", other.err()),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let took = took.unwrap_or_else(|| panic!("hakeeper did not stop within 10 s; log:\n{}", appliance.log_text()));
    assert!(took < Duration::from_secs(5), "the stop took {took:?}");
    let (total, started, succeeded) = h2load_counts(&text).unwrap_or_else(|| panic!("no requests line: {text}"));
    assert!(started < total, "the stop did not end h2load's connections: {text}");
    // The idle connection: a GOAWAY, then the close.
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut idle, &mut rest);
    assert!(rest.windows(4).any(|w| w[..3] == [0, 0, 8] && w[3] == 0x7), "no GOAWAY on the idle connection: {rest:?}");
    // Every stream the proxy took was answered whole (`----`, no `K` for killed) and reached
    // h2load: as many log lines as its successes (plus the idle connection's). What h2load
    // counts as failed are the streams nghttp2 had queued and did not send after the GOAWAY
    // (§6.8: safe to retry), at most the 10 concurrent streams of each connection.
    let log = appliance.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("\"GET / HTTP/2.0\"")).collect();
    assert!(lines.iter().all(|l| l.contains(" 200 ") && l.contains(" ---- ")), "a stream failed in the stop: {lines:#?}");
    assert_eq!(lines.len() as u64, succeeded + 1, "streams served vs h2load's successes: {text}\nlog:\n{log}");
    assert!(started - succeeded <= 20, "more failures than streams in flight: {text}");
}

/// The stats page on a `proto: h2` bind (HAProxy: a stats `listen` with `bind … proto h2`):
/// curl with prior knowledge reads it and posts the admin form over HTTP/2.
#[test]
fn the_stats_page_and_its_admin_form_over_h2() {
    let web = HttpBackend::start("w1");
    let dir = TempDir::new("h2_stats");
    let (port, stats) = (free_port(), free_port());
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: ["127.0.0.1:{port}"], servers: [(name: "w1", addr: "{}"), (name: "w2", addr: "{}")])],
  stats: (bind: (addr: "127.0.0.1:{stats}", proto: h2), uri: "/admin", auth: [("mldn", "java")], admin: true),
)"#,
        web.addr, web.addr
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    let up = wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", stats)).is_ok());
    assert!(up, "stats page never accepted; log:\n{}", appliance.log_text());
    let base = format!("http://127.0.0.1:{stats}/admin");
    let curl = |extra: &[&str], url: &str| {
        let mut args = vec!["curl", "-s", "--http2-prior-knowledge", "-u", "mldn:java", "-w", "\n%{http_version} %{http_code}"];
        args.extend_from_slice(extra);
        args.push(url);
        let out = run(&args, Duration::from_secs(20));
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (html, err) = curl(&[], &base);
    assert!(html.ends_with("\n2 200") && html.contains("<form method=\"post\" action=\"/admin\""), "page over h2: {html}\n{err}");
    // The admin form: w2 to maintenance; HAProxy's redirect with `;st=DONE`.
    let (post, err) = curl(&["-d", "b=web&s=w2&action=maint", "-D", "-"], &base);
    assert!(post.ends_with("\n2 303"), "POST over h2: {post}\n{err}");
    assert!(post.to_ascii_lowercase().contains("location: /admin;st=done"), "{post}");
    let (csv, err) = curl(&[], &format!("{base};csv"));
    assert!(csv.ends_with("\n2 200"), "CSV over h2: {csv}\n{err}");
    let w2 = csv.lines().find(|l| l.starts_with("web,w2,")).unwrap_or_else(|| panic!("no w2 row: {csv}"));
    assert!(w2.contains(",MAINT,"), "w2 not in maintenance: {w2}");
    // Without credentials: 401 over h2 too.
    let out = run(
        &["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", &base],
        Duration::from_secs(20),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 401");
}

/// Streams reuse the idle server connections (`http-reuse safe`, the default): HAProxy's
/// mux_h2 counts no stream as a connection's first request, so 300 requests, 5 at a time,
/// need about 5 server connections per server, not 300.
#[test]
fn streams_reuse_idle_server_connections() {
    let s = start("h2_reuse");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let out = run(&["h2load", "-n", "300", "-c", "1", "-m", "5", &url], Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("300 succeeded, 0 failed"), "h2load: {text}");
    let opened: usize = s._app.iter().map(|b| b.accepted()).sum();
    assert!(opened <= 30, "{opened} server connections for 300 streams, 5 at a time");
}

/// An idle HTTP/2 connection holds no buffer (the read buffer goes back to the pool, the
/// machine keeps no emptied vector): 1,000 connections that each made one request and stay
/// open grow the worker by a few KiB each (about 3 KiB; 7.5 KiB when each kept its 16 KiB
/// read buffer, one page of it touched).
#[test]
fn idle_connections_hold_no_buffers() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    const N: usize = 1000;
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(hard >= 2 * N as u64 + 200, "the open-files hard limit {hard} is too low for {N} connections");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    let web = HttpBackend::start("w1");
    let dir = TempDir::new("h2_idle_memory");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody", maxconn: 4000),
  defaults: (mode: http, maxconn: 4000, timeout: (connect: "2s", client: "60s", server: "30s", http_keep_alive: "60s")),
  listen: [(name: "idle", bind: [(addr: "127.0.0.1:{port}", proto: h2)], servers: [(name: "w1", addr: "{}")])],
)"#,
        web.addr
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "{}", appliance.log_text());
    let worker = appliance.child_pid("worker").expect("worker pid");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(0x4, 0, 0, &[]));
    hello.extend(frame(0x1, 0x4 | 0x1, 1, &request_block(false)));
    // A first round warms the pools and the allocator up; the second is measured.
    let open = |n: usize| -> Vec<std::net::TcpStream> {
        (0..n)
            .map(|_| {
                let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                c.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
                std::io::Write::write_all(&mut c, &hello).expect("write");
                assert_eq!(read_headers_on(&mut c, 1), Some(0x88), "stream 1 not answered");
                c
            })
            .collect()
    };
    drop(open(50));
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(worker);
    let conns = open(N);
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(worker);
    let per = (after.saturating_sub(before)) as f64 / N as f64;
    eprintln!("{N} idle HTTP/2 connections: worker RSS {before} -> {after} KiB, {per:.2} KiB each");
    assert!(per < 5.0, "{per:.2} KiB per idle HTTP/2 connection");
    drop(conns);
}

/// A server that records the raw bytes of one request (up to the end of a chunked body's
/// trailer section, or `len` body bytes after the head) and answers 200.
fn recording_server() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let complete = |got: &[u8]| {
            let Some(head) = got.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
            let text = String::from_utf8_lossy(&got[..head]).to_ascii_lowercase();
            let body = &got[head + 4..];
            match text.lines().find_map(|l| l.strip_prefix("content-length:")) {
                Some(n) => body.len() >= n.trim().parse::<usize>().unwrap_or(0),
                None => body.windows(5).any(|w| w == b"\r\n0\r\n") && body.ends_with(b"\r\n\r\n"),
            }
        };
        while !complete(&got) {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tx.send(got);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    (addr, rx)
}

/// Request trailers: after a body of unknown length they reach the server in the last chunk
/// of a chunked HTTP/1.1 body (RFC 9112 §7.1.2); after a body with Content-Length they are
/// dropped, as HAProxy 2.6's mux_h1 drops trailers of a message it does not send chunked.
#[test]
fn request_trailers_reach_the_server_in_the_last_chunk() {
    use std::io::Write;
    // A literal field without indexing, new name (RFC 7541 §6.2.2).
    fn literal(name: &str, value: &str) -> Vec<u8> {
        let mut b = vec![0x00, name.len() as u8];
        b.extend_from_slice(name.as_bytes());
        b.push(value.len() as u8);
        b.extend_from_slice(value.as_bytes());
        b
    }
    for with_length in [false, true] {
        let (server, rx) = recording_server();
        let dir = TempDir::new(if with_length { "h2_trailers_cl" } else { "h2_trailers" });
        let port = free_port();
        let config = format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "10s", server: "10s")),
  listen: [(name: "t", bind: [(addr: "127.0.0.1:{port}", proto: h2)], servers: [(name: "s", addr: "{server}")])],
)"#
        );
        std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
        let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
        appliance.wait_for_children(&["worker"], Duration::from_secs(10));
        assert!(
            wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
            "{}",
            appliance.log_text()
        );
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut block = request_block(true);
        if with_length {
            block.extend(literal("content-length", "11"));
        }
        let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        out.extend(frame(0x4, 0, 0, &[]));
        out.extend(frame(0x1, 0x4, 1, &block));
        out.extend(frame(0x0, 0, 1, b"hello "));
        out.extend(frame(0x0, 0, 1, b"world"));
        out.extend(frame(0x1, 0x4 | 0x1, 1, &[literal("x-checksum", "42"), literal("x-count", "2")].concat()));
        conn.write_all(&out).expect("write");
        assert_eq!(read_headers_on(&mut conn, 1), Some(0x88), "the request was not answered 200");
        let got = rx.recv_timeout(Duration::from_secs(10)).expect("the server got no request");
        let text = String::from_utf8_lossy(&got).into_owned();
        if with_length {
            assert!(text.to_ascii_lowercase().contains("\r\ncontent-length: 11\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\nhello world") && !text.contains("x-checksum"), "{text}");
        } else {
            assert!(text.to_ascii_lowercase().contains("\r\ntransfer-encoding: chunked\r\n"), "{text}");
            assert!(text.ends_with("\r\n0\r\nx-checksum: 42\r\nx-count: 2\r\n\r\n"), "trailers not in the last chunk: {text}");
        }
    }
}

/// A PING flood ends the connection with GOAWAY(ENHANCE_YOUR_CALM), and the stats page counts
/// it for the frontend: `/metrics` and the HTML page's flood section.
#[test]
fn a_flood_is_counted_on_the_stats_page() {
    use std::io::{Read, Write};
    let s = start("h2_flood_stats");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(0x4, 0, 0, &[]));
    for i in 0..300u64 {
        out.extend(frame(0x6, 0, 0, &i.to_be_bytes()));
    }
    // The proxy may close while these are still arriving.
    let _ = conn.write_all(&out);
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest);
    // GOAWAY with ENHANCE_YOUR_CALM (0xb) among what came back.
    let mut p = 0;
    let mut code = None;
    while p + 9 <= rest.len() {
        let len = (usize::from(rest[p]) << 16) | (usize::from(rest[p + 1]) << 8) | usize::from(rest[p + 2]);
        if rest[p + 3] == 0x7 && p + 17 <= rest.len() {
            code = Some(u32::from_be_bytes([rest[p + 13], rest[p + 14], rest[p + 15], rest[p + 16]]));
        }
        p += 9 + len;
    }
    assert_eq!(code, Some(0xb), "no GOAWAY(ENHANCE_YOUR_CALM) for 300 PINGs");
    let auth = "bWxkbjpqYXZh";
    let metrics = harness::stats::http(s.stats, "GET", "/metrics", Some(auth), None).expect("metrics").body;
    assert!(metrics.contains("hakeeper_h2_floods_total{proxy=\"h2fe\",kind=\"ping\"} 1\n"), "{metrics}");
    assert!(metrics.contains("hakeeper_h2_floods_total{proxy=\"h2fe\",kind=\"rapid_reset\"} 0\n"), "{metrics}");
    let html = harness::stats::http(s.stats, "GET", "/admin", Some(auth), None).expect("page").body;
    assert!(
        html.contains("<tr data-frontend=\"h2fe\"><td class=\"name\">h2fe</td>") && html.contains("<td data-kind=\"ping\">1</td>"),
        "{html}"
    );
}
