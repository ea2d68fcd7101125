//! `http-request tarpit` end to end, side by side with HAProxy 2.6 on the same haproxy.cfg
//! (hakeeper runs what `hakeeper import` makes of it): the client is held for `timeout tarpit`
//! (the frontend's, or the backend's `timeout connect` when that backend sets no tarpit
//! timeout), then gets 500 or the rule's `deny_status` on a connection that stays open for the
//! next request (HAProxy 2.6 keeps it); the log says `<NOSRV>` and `PT--`, and the request
//! counts in `dreq`. The rate-limit recipe
//! `tarpit if { sc_http_req_rate(0) gt N }` holds only the noisy source, and holding clients
//! costs the worker no CPU while they wait.

mod harness;

use harness::differential_haproxy::{listening, Haproxy};
use harness::http_backend::HttpBackend;
use harness::process::{free_port, run_cli, wait_until, Appliance, TempDir};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const FRONTEND_HOLD: Duration = Duration::from_millis(1200);
/// `backend slow` has no `timeout tarpit`: its `timeout connect` holds.
const BACKEND_HOLD: Duration = Duration::from_millis(700);

fn cfg(port: u16, web: SocketAddr, stats_socket: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n{stats_socket}\
         defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 700ms\n  timeout client 5s\n  timeout server 5s\n\
         frontend fe\n  bind 127.0.0.1:{port}\n  timeout tarpit 1200ms\n\
         \x20 stick-table type ip size 1k expire 30s store http_req_rate(10s),http_err_cnt\n  http-request track-sc0 src\n\
         \x20 http-request tarpit if {{ path_beg /wp-login }}\n\
         \x20 http-request tarpit deny_status 429 if {{ sc_http_req_rate(0) gt 3 }}\n\
         \x20 use_backend slow if {{ path_beg /slow }}\n  default_backend web\n\
         backend slow\n  http-request tarpit\n  server w {web}\n\
         backend web\n  server w {web}\n"
    )
}

/// One keep-alive `GET path` from `src`: (status, time to the answer's first byte, whether
/// the connection is still open once the answer is read).
fn timed_get(src: Ipv4Addr, port: u16, path: &str) -> (u16, Duration, bool) {
    let mut s = harness::relay::connect_from(src, SocketAddr::from(([127, 0, 0, 1], port))).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(4))).expect("timeout");
    let t0 = Instant::now();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut waited = None;
    let complete = |got: &[u8]| {
        let text = String::from_utf8_lossy(got);
        let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
        let len = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)));
        len.is_some_and(|n| body.len() >= n)
    };
    while !complete(&got) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return (0, t0.elapsed(), false),
            Ok(n) => {
                waited.get_or_insert_with(|| t0.elapsed());
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    // Open: a short read times out instead of meeting the proxy's FIN.
    s.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    let open = !matches!(s.read(&mut buf), Ok(0));
    let status = String::from_utf8_lossy(&got).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, waited.unwrap_or_default(), open)
}

/// Reads until EOF; true when EOF came before the read timeout.
fn read_to_eof(s: &mut TcpStream, out: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return false,
        }
    }
}

/// The log line of the first request for `path` (both proxies write the request line quoted).
fn log_line(log: &str, path: &str) -> String {
    log.lines().find(|l| l.contains(&format!("\"GET {path} HTTP/1.1\""))).unwrap_or_default().to_string()
}

/// The termination state of an httplog line: the 4-character field after the two cookies.
fn termination(line: &str) -> &str {
    let w: Vec<&str> = line.split_whitespace().collect();
    w.iter().position(|x| x.contains("/<NOSRV>")).and_then(|i| w.get(i + 6)).copied().unwrap_or("")
}

fn dreq(csv: &str) -> u64 {
    let header: Vec<&str> = csv.lines().next().unwrap_or("").trim_start_matches("# ").split(',').collect();
    let col = header.iter().position(|c| *c == "dreq").expect("dreq column");
    let row = csv.lines().find(|l| l.starts_with("fe,FRONTEND,")).expect("fe row");
    row.split(',').nth(col).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX)
}

fn haproxy_command(sock: &Path, command: &str) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("haproxy stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(format!("{command}\n").as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn haproxy_show_stat(sock: &Path) -> String {
    haproxy_command(sock, "show stat")
}

/// `http_err_cnt=N` of the `show table` line of key `src`.
fn http_err_cnt(table: &str, src: &str) -> Option<u64> {
    let line = table.lines().find(|l| l.contains(&format!("key={src} ")))?;
    line.split_whitespace().find_map(|w| w.strip_prefix("http_err_cnt=")).and_then(|v| v.parse().ok())
}

fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0) + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn within(waited: Duration, hold: Duration) -> bool {
    waited + Duration::from_millis(30) >= hold && waited <= hold + Duration::from_millis(400)
}

#[test]
fn tarpit_holds_then_answers_as_haproxy_does() {
    let Some(haproxy) = harness::differential_haproxy::binary("tarpit_holds_then_answers_as_haproxy_does") else { return };
    let dir = TempDir::new("tarpit");
    let web = HttpBackend::start("web");
    let (hp, kp) = (free_port(), free_port());
    let ha_sock = dir.file("haproxy.sock");
    std::fs::write(dir.file("haproxy.cfg"), cfg(hp, web.addr, &format!("  stats socket {} level admin\n", ha_sock.display())))
        .expect("write");
    std::fs::write(dir.file("import.cfg"), cfg(kp, web.addr, "")).expect("write");
    let ron = dir.file("h.ron");
    let (code, out, err) = run_cli(
        &["import", "--haproxy", &dir.file("import.cfg").display().to_string(), "-o", &ron.display().to_string()],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "import: {out}{err}");
    let imported = std::fs::read_to_string(&ron).expect("read the RON");
    assert!(imported.contains("tarpit: \"1200ms\"") || imported.contains("tarpit: \"1s200ms\""), "{imported}");
    let ctl = dir.file("ctl.sock");
    std::fs::write(&ron, imported.replacen("global: (", &format!("global: (ctl_socket: \"{}\", ", ctl.display()), 1)).expect("write");
    let mut ha = Haproxy::start(&haproxy, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hk = Appliance::start(&ron, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(hp) && listening(kp)), "{}\n{}", ha.log_text(), hk.log_text());
    assert!(!ha.exited(), "{}", ha.log_text());

    const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
    const NOISY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
    let run = |port: u16| {
        let wp = timed_get(A, port, "/wp-login.php");
        let slow = timed_get(A, port, "/slow/x");
        let served: Vec<(u16, Duration, bool)> = (0..3).map(|i| timed_get(NOISY, port, &format!("/r{i}"))).collect();
        let limited = timed_get(NOISY, port, "/r3");
        (wp, slow, served, limited)
    };
    let (h, k) = (run(hp), run(kp));
    for (name, (wp, slow, served, limited)) in [("HAProxy", &h), ("hakeeper", &k)] {
        assert_eq!((wp.0, wp.2), (500, true), "{name}: a tarpit answers 500 on a connection kept open: {wp:?}");
        assert!(within(wp.1, FRONTEND_HOLD), "{name}: held {:?}, timeout tarpit is {FRONTEND_HOLD:?}", wp.1);
        assert_eq!((slow.0, slow.2), (500, true), "{name}: {slow:?}");
        assert!(within(slow.1, BACKEND_HOLD), "{name}: the backend's rule holds for its timeout connect: {:?}", slow.1);
        assert!(served.iter().all(|s| s.0 == 200 && s.1 < Duration::from_millis(400)), "{name}: {served:?}");
        assert_eq!((limited.0, limited.2), (429, true), "{name}: deny_status on tarpit: {limited:?}");
        assert!(within(limited.1, FRONTEND_HOLD), "{name}: {:?}", limited.1);
    }

    // The logs: `<NOSRV>`, TR -1, Tw the hold, termination `PT--`, in both.
    assert!(wait_until(Duration::from_secs(5), || log_line(&hk.log_text(), "/r3").contains("PT--")), "{}", hk.log_text());
    assert!(wait_until(Duration::from_secs(5), || log_line(&ha.log_text(), "/r3").contains("PT--")), "{}", ha.log_text());
    for (name, log) in [("HAProxy", ha.log_text()), ("hakeeper", hk.log_text())] {
        for (path, proxy, status) in
            [("/wp-login.php", "fe/<NOSRV>", "500"), ("/slow/x", "slow/<NOSRV>", "500"), ("/r3", "fe/<NOSRV>", "429")]
        {
            let line = log_line(&log, path);
            assert!(line.contains(proxy) && line.contains(&format!(" {status} ")), "{name} {path}: {line}\n{log}");
            assert_eq!(termination(&line), "PT--", "{name} {path}: {line}");
            assert!(line.contains(" -1/1") || line.contains(" -1/7") || line.contains(" -1/6"), "{name}: TR -1, Tw the hold: {line}");
        }
    }

    // Counted as denied requests: three tarpits each.
    let socket = ctl.display().to_string();
    let (code, csv, err) = run_cli(&["ctl", "--socket", &socket, "show", "stat"], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    assert_eq!((dreq(&haproxy_show_stat(&ha_sock)), dreq(&csv)), (3, 3), "dreq of HAProxy, hakeeper");
    // And as HTTP errors of the tracked entries, whatever their status: A's two 500s, the
    // noisy source's 429.
    let (code, by_hakeeper, err) = run_cli(&["ctl", "--socket", &socket, "show", "table", "fe"], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    let by_haproxy = haproxy_command(&ha_sock, "show table fe");
    for (src, errors) in [("127.0.0.2", 2), ("127.0.0.3", 1)] {
        assert_eq!(
            (http_err_cnt(&by_haproxy, src), http_err_cnt(&by_hakeeper, src)),
            (Some(errors), Some(errors)),
            "http_err_cnt of {src}, HAProxy then hakeeper:\n{by_haproxy}\n{by_hakeeper}"
        );
    }

    // Held clients wait on one deadline each: 40 of them cost the worker next to no CPU.
    let worker = hk.child_pid("worker").expect("worker pid");
    let before = cpu_ticks(worker);
    let held: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = harness::relay::connect_from(A, SocketAddr::from(([127, 0, 0, 1], kp))).expect("connect");
            s.write_all(b"GET /wp-login.php HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("write");
            s
        })
        .collect();
    std::thread::sleep(FRONTEND_HOLD - Duration::from_millis(200));
    let ticks = cpu_ticks(worker) - before;
    assert!(ticks <= 20, "the worker burnt {ticks} ticks holding 40 clients for a second");
    for mut s in held {
        s.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
        let mut got = Vec::new();
        assert!(read_to_eof(&mut s, &mut got), "answered and closed");
        assert!(got.starts_with(b"HTTP/1.1 500"), "{}", String::from_utf8_lossy(&got));
    }
}

/// On an HTTP/2 connection the tarpit holds one stream (its END_STREAM is no client shut),
/// while another stream of the same connection is served at once.
#[test]
fn an_http2_stream_is_held_alone() {
    let dir = TempDir::new("tarpit-h2");
    let web = HttpBackend::start("web");
    let port = free_port();
    let path = dir.file("h.ron");
    std::fs::write(
        &path,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "10s", server: "10s", tarpit: "900ms")),
  frontend: [(name: "fe", bind: [(addr: "127.0.0.1:{port}", proto: h2)], default_backend: "web",
              http_request: ["tarpit deny_status 403 if {{ path_beg /wp-login }}"])],
  backend: [(name: "web", servers: [(name: "w", addr: "{}")])],
)"#,
            web.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&path, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port)), "{}", hk.log_text());
    let mut cmd = std::process::Command::new("curl");
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    cmd.args(["-s", "--http2-prior-knowledge", "--parallel", "--parallel-immediate", "-o", "/dev/null", "-o", "/dev/null"]).args([
        "-w",
        "%{url_effective} %{http_version} %{http_code} %{time_total}\\n",
        &url("/wp-login.php"),
        &url("/"),
    ]);
    let out = harness::process::output_within(cmd, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("curl could not run ({e}): install it with tests/install-deps"));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = |p: &str| -> (String, u16, f64) {
        let l = text.lines().find(|l| l.starts_with(&url(p))).unwrap_or_else(|| panic!("no answer for {p}: {text}"));
        let w: Vec<&str> = l.split_whitespace().collect();
        (w[1].to_string(), w[2].parse().unwrap_or(0), w[3].parse().unwrap_or(0.0))
    };
    let (v, status, took) = line("/wp-login.php");
    assert_eq!((v.as_str(), status), ("2", 403), "{text}");
    assert!((0.87..1.4).contains(&took), "held {took}s, timeout tarpit 900ms: {text}");
    let (v, status, took) = line("/");
    assert_eq!((v.as_str(), status), ("2", 200), "{text}");
    assert!(took < 0.5, "the other stream waits for nothing: {took}s\n{text}");
}
