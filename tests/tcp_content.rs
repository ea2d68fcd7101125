//! `tcp-request inspect-delay` + `tcp-request content accept|reject` and content switching on
//! the request's first bytes (issue #17), end to end: three protocols on one port (an SSH
//! client that speaks first, a TLS ClientHello, HTTP) each reach their own real backend, the
//! inspected bytes are forwarded, a client that sends nothing is routed once the delay is
//! over, and a rejected one is closed before any server sees it, counted in `dreq` and logged
//! with the termination state `PR`, as HAProxy 2.6 does. On the response side,
//! `tcp-response content` holds a server's first bytes for its rules: a refused response
//! never reaches the client, is counted in `dresp` and logged `PD`, as HAProxy 2.6 does.

mod harness;

use harness::backends::NamedEcho;
use harness::differential_haproxy::listening;
use harness::http_backend::{HttpBackend, HttpClient};
use harness::process::{free_port, wait_until, Appliance, TempDir};
use harness::stats::{frontend_column, row_column};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Sends `parts` with a pause between them, then reads the backend's greeting line and the
/// echo of everything sent.
fn speak_first(addr: SocketAddr, parts: &[&[u8]]) -> std::io::Result<(String, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        s.write_all(p)?;
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.iter().position(|b| *b == b'\n').is_none_or(|nl| got.len() < nl + 1 + total) {
        match s.read(&mut buf)? {
            0 => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("closed after {got:?}"))),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    let nl = got.iter().position(|b| *b == b'\n').unwrap_or(0);
    Ok((String::from_utf8_lossy(&got[..nl]).into_owned(), got[nl + 1..].to_vec()))
}

const INSPECT: Duration = Duration::from_millis(1500);

#[test]
fn payload_routing_of_several_protocols_on_one_port_after_inspect_delay() {
    let dir = TempDir::new("tcp-content");
    let (ssh, tls, web) = (NamedEcho::start("ssh"), NamedEcho::start("tls"), HttpBackend::start("web"));
    let (port, stats_port) = (free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "1s", client: "10s", server: "10s")),
  frontend: [
    (name: "mux", bind: ["127.0.0.1:{port}"], default_backend: "web",
     tcp_request_inspect_delay: "{}ms",
     acls: [(name: "ssh", criterion: "req.payload(0,7) -m str SSH-2.0"),
            (name: "tls", criterion: "req.payload(0,1) -m bin 16"),
            (name: "tls", criterion: "req.payload_lv(3,2) -m found")],
     tcp_request_content: ["reject if {{ req.payload(0,4) -m bin 00000000 }}", "accept if ssh", "accept if tls",
                           "accept if {{ req.payload(0,4) -m str \"GET \" }}"],
     use_backend: [(backend: "ssh", cond: "if ssh"), (backend: "tls", cond: "if {{ req.payload(0,1) -m bin 16 }}")]),
  ],
  backend: [
    (name: "ssh", servers: [(name: "s", addr: "{}")]),
    (name: "tls", servers: [(name: "t", addr: "{}")]),
    (name: "web", servers: [(name: "w", addr: "{}")]),
  ],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            INSPECT.as_millis(),
            ssh.addr,
            tls.addr,
            web.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port) && listening(stats_port)), "not listening:\n{}", hk.log_text());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // SSH in two pieces: the first 4 bytes cannot decide `req.payload(0,7)`, so the session
    // waits for the rest instead of falling through to the default backend.
    let banner: &[&[u8]] = &[b"SSH-", b"2.0-OpenSSH_9.2\r\n"];
    let started = Instant::now();
    let (name, echoed) = speak_first(addr, banner).expect("ssh through the proxy");
    assert_eq!(name, "ssh");
    assert_eq!(echoed, b"SSH-2.0-OpenSSH_9.2\r\n", "the inspected bytes go to the server first");
    assert!(started.elapsed() < INSPECT, "decided when the data came, not at the delay's end");

    // A TLS ClientHello record (type 0x16, version, 2-byte length, handshake type 1).
    let hello: &[u8] = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03";
    let (name, echoed) = speak_first(addr, &[hello]).expect("tls through the proxy");
    assert_eq!((name.as_str(), echoed.as_slice()), ("tls", hello));

    // HTTP goes to the default backend, a real HTTP server.
    let answer = HttpClient::connect(addr).and_then(|mut c| c.get("x", "")).expect("http through the proxy");
    assert_eq!((answer.status, answer.server()), (200, "web"));

    // A client that sends nothing is routed when the delay is over (the data present, none,
    // decides: no rule applies, so the default accept).
    let before = web.accepted();
    let started = Instant::now();
    let silent = TcpStream::connect(addr).expect("connect");
    assert!(wait_until(Duration::from_secs(5), || web.accepted() > before), "the silent client was never routed");
    let waited = started.elapsed();
    assert!(waited >= INSPECT - Duration::from_millis(100) && waited < INSPECT * 3, "routed after {waited:?}");
    drop(silent);

    // Rejected: closed (a FIN, as HAProxy 2.6) before any server sees it, counted in dreq,
    // logged `PR`.
    let accepted = ssh.accepted() + tls.accepted() + web.accepted();
    let mut junk = TcpStream::connect(addr).expect("connect");
    junk.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    junk.write_all(b"\0\0\0\0junk").expect("send");
    let mut b = [0u8; 16];
    let end = junk.read(&mut b);
    assert!(matches!(end, Ok(0)), "expected a close, got {end:?}");
    assert_eq!(ssh.accepted() + tls.accepted() + web.accepted(), accepted, "a rejected connection reached a server");
    let stats = SocketAddr::from(([127, 0, 0, 1], stats_port));
    assert_eq!(frontend_column(stats, "mux", "dreq"), 1);
    assert_eq!(frontend_column(stats, "mux", "dcon"), 0);
    assert!(hk.wait_for_log(" mux mux/<NOSRV> ", Duration::from_secs(3)), "{}", hk.log_text());
    let log = hk.log_text();
    let line = log.lines().find(|l| l.contains(" mux mux/<NOSRV> ")).unwrap_or_default();
    assert!(line.contains(" PR "), "the reject's log line: {line}");
    assert!(log.lines().any(|l| l.contains(" mux ssh/s ") && l.contains(" -- ")), "{log}");
}

#[test]
fn a_response_refused_by_tcp_response_content_never_reaches_the_client() {
    let dir = TempDir::new("tcp-response");
    let (bad, good) = (NamedEcho::start("bad"), NamedEcho::start("good"));
    let (port, good_port, stats_port) = (free_port(), free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [
    (name: "refuse", bind: ["127.0.0.1:{port}"], tcp_response_inspect_delay: "2s",
     tcp_response_content: ["reject if {{ res.payload(0,3) -m str bad }}"],
     servers: [(name: "b", addr: "{}")]),
    (name: "pass", bind: ["127.0.0.1:{good_port}"], tcp_response_inspect_delay: "2s",
     tcp_response_content: ["reject if {{ res.payload(0,3) -m str bad }}"],
     servers: [(name: "g", addr: "{}")]),
  ],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            bad.addr, good.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port) && listening(stats_port)), "not listening:\n{}", hk.log_text());

    // The good server's greeting and the echo pass once the rule has seen "goo".
    let started = Instant::now();
    let (name, echoed) = speak_first(SocketAddr::from(([127, 0, 0, 1], good_port)), &[b"ping\n"]).expect("through the proxy");
    assert_eq!((name.as_str(), echoed.as_slice()), ("good", &b"ping\n"[..]));
    assert!(started.elapsed() < Duration::from_secs(2), "decided on the first bytes, not at the delay's end");

    // The bad one's never do: the client is closed with nothing, the server was reached.
    let mut c = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut got = Vec::new();
    let end = c.read_to_end(&mut got);
    assert!(end.is_ok() && got.is_empty(), "expected a close with no data, got {end:?} {got:?}");
    assert!(bad.accepted() >= 1);
    let stats = SocketAddr::from(([127, 0, 0, 1], stats_port));
    assert_eq!(frontend_column(stats, "refuse", "dresp"), 1);
    assert_eq!(row_column(stats, "refuse", "BACKEND", "dresp"), 1);
    assert_eq!(row_column(stats, "refuse", "b", "dresp"), 1);
    assert_eq!(frontend_column(stats, "pass", "dresp"), 0);
    assert!(hk.wait_for_log(" refuse refuse/b ", Duration::from_secs(3)), "{}", hk.log_text());
    let log = hk.log_text();
    let line = log.lines().find(|l| l.contains(" refuse refuse/b ")).unwrap_or_default();
    // As HAProxy 2.6.12 logs it: `PD`, and the 4 bytes read from the server ("bad\n").
    assert!(line.contains(" PD ") && line.contains(" 4 PD "), "the reject's log line: {line}");
}

#[test]
fn a_tcp_frontend_using_an_http_backend_is_upgraded_and_logs_each_request() {
    let dir = TempDir::new("tcp-upgrade");
    let web = harness::differential_backends::EchoHttp::start("web");
    let (port, stats_port) = (free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (timeout: (connect: "1s", client: "10s", server: "10s")),
  frontend: [(name: "raw", bind: ["127.0.0.1:{port}"], mode: tcp, log_format: tcplog, default_backend: "web")],
  backend: [(name: "web", mode: http, forwardfor: (), http_request: ["set-header X-Up yes"],
             servers: [(name: "w", addr: "{}")])],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            web.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port)), "not listening:\n{}", hk.log_text());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // Two requests on one connection: both HTTP, with the backend's rules and forwardfor.
    let mut c = HttpClient::connect(addr).expect("connect");
    for _ in 0..2 {
        let a = c.get("x", "").expect("a response through the upgraded connection");
        assert_eq!((a.status, a.server()), (200, "web"));
        assert!(a.body.contains("seen=x-up: yes") && a.body.contains("seen=x-forwarded-for: 127.0.0.1"), "{}", a.body);
    }
    drop(c);
    // One tcplog line per request, as HAProxy 2.6 writes one per stream.
    assert!(
        wait_until(Duration::from_secs(3), || hk.log_text().lines().filter(|l| l.contains(" raw web/w ") && l.contains(" -- ")).count()
            == 2),
        "{}",
        hk.log_text()
    );

    // Not HTTP: 400, as HAProxy answers an upgraded connection.
    let mut bad = TcpStream::connect(addr).expect("connect");
    bad.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    bad.write_all(b"\x16\x03\x01garbage\r\n\r\n").expect("send");
    let mut got = Vec::new();
    let _ = bad.read_to_end(&mut got);
    assert!(got.starts_with(b"HTTP/1.1 400"), "{:?}", String::from_utf8_lossy(&got));
}
