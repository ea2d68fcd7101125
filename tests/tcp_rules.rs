//! `tcp-request connection accept|reject` and content switching in mode tcp (issue #17), end to
//! end: loopback clients bound to different 127.0.0.x sources, real backends that count what
//! they accept. A rejected connection never reaches a server (its accept count stays 0) and is
//! counted in the frontend's `dcon`; `use_backend` routes by source, falls back on `nbsrv`, and
//! sees the address of a PROXY header where `tcp-request connection` sees the socket's.
//! `tcp-request session` rules see the header's address and count in `dses`; `silent-drop` sends no
//! FIN; a real TLS client (openssl s_client) is passed through by `req.ssl_sni`.

mod harness;

use harness::backends::NamedEcho;
use harness::differential_haproxy::listening;
use harness::process::{free_port, refused_port, wait_until, Appliance, TempDir};
use harness::stats::frontend_column;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// A connection to `dst` from `src` (any 127.0.0.0/8 address works on loopback).
fn connect_from(src: Ipv4Addr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    let s = harness::relay::connect_from(src, dst)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

/// The greeting line of the backend the connection reached, or `None` if the proxy closed it.
fn reached(src: Ipv4Addr, dst: SocketAddr, first: &[u8]) -> Option<String> {
    let mut s = connect_from(src, dst).ok()?;
    if !first.is_empty() {
        s.write_all(first).ok()?;
    }
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\n") {
        match s.read(&mut b) {
            Ok(1) => got.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&got).trim_end().to_string())
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const BLOCKED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const WRITER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

#[test]
fn reject_rules_open_no_server_connection_and_routing_follows_the_source() {
    let dir = TempDir::new("tcp-rules");
    let (primary, replica, fallback) = (NamedEcho::start("primary"), NamedEcho::start("replica"), NamedEcho::start("fallback"));
    let (mysql, relay, guard, stats_port) = (free_port(), free_port(), free_port(), free_port());
    let dead = refused_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [
    (name: "mysql", bind: ["127.0.0.1:{mysql}"], default_backend: "replica",
     acls: [(name: "blocked", criterion: "src 127.0.0.2"), (name: "writers", criterion: "src 127.0.0.3")],
     tcp_request_connection: ["reject if blocked"],
     use_backend: [(backend: "primary", cond: "if writers {{ fe_name mysql }} {{ dst_port {mysql} }}")]),
    (name: "relay", bind: ["127.0.0.1:{relay}"], accept_proxy: true, default_backend: "replica",
     tcp_request_connection: ["reject if {{ src 127.0.0.2 }}"],
     use_backend: [(backend: "primary", cond: "if {{ src 192.0.2.0/24 }}")]),
    (name: "guard", bind: ["127.0.0.1:{guard}"], default_backend: "guarded",
     use_backend: [(backend: "fallback", cond: "if {{ nbsrv(guarded) lt 1 }}")]),
  ],
  backend: [
    (name: "primary", servers: [(name: "p", addr: "{}")]),
    (name: "replica", servers: [(name: "r", addr: "{}")]),
    (name: "fallback", servers: [(name: "f", addr: "{}")]),
    (name: "guarded", servers: [(name: "g", addr: "127.0.0.1:{dead}", check: (inter: "200ms", fall: 1, rise: 1))]),
  ],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            primary.addr, replica.addr, fallback.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker", "checker"], Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(10), || [mysql, relay, guard, stats_port].iter().all(|p| listening(*p))),
        "not listening:\n{}",
        hk.log_text()
    );
    let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));

    // Rejected before anything: no server sees the connection, `dcon` counts it.
    for _ in 0..3 {
        assert_eq!(reached(BLOCKED, at(mysql), b""), None);
    }
    assert_eq!(reached(BLOCKED, at(relay), b"PROXY TCP4 192.0.2.7 10.0.0.5 1 2\r\n"), None, "rules run before the PROXY header");
    assert_eq!(primary.accepted() + replica.accepted(), 0, "a rejected connection reached a server");
    assert_eq!(frontend_column(at(stats_port), "mysql", "dcon"), 3);
    assert_eq!(frontend_column(at(stats_port), "relay", "dcon"), 1);

    // Routing by source: the writers' network to the primary, the others to the replica.
    assert_eq!(reached(WRITER, at(mysql), b"").as_deref(), Some("primary"));
    assert_eq!(reached(CLIENT, at(mysql), b"").as_deref(), Some("replica"));
    // Behind accept-proxy, the header's source decides.
    assert_eq!(reached(CLIENT, at(relay), b"PROXY TCP4 192.0.2.7 10.0.0.5 1 2\r\n").as_deref(), Some("primary"));
    assert_eq!(reached(CLIENT, at(relay), b"PROXY TCP4 198.51.100.7 10.0.0.5 1 2\r\n").as_deref(), Some("replica"));
    assert_eq!((primary.accepted(), replica.accepted()), (2, 2));
    // Rejected connections are not logged (HAProxy logs none either); routed ones are.
    assert!(hk.wait_for_log("127.0.0.3:", Duration::from_secs(3)), "{}", hk.log_text());
    assert!(!hk.log_text().contains("127.0.0.2:"), "a rejected connection was logged:\n{}", hk.log_text());

    // nbsrv: once the guarded backend's only server is DOWN, its clients go to the fallback.
    assert!(
        wait_until(Duration::from_secs(5), || reached(CLIENT, at(guard), b"").as_deref() == Some("fallback")),
        "no fallback when nbsrv(guarded) is 0:\n{}",
        hk.log_text()
    );
    assert!(fallback.accepted() >= 1);
}

/// How the proxy ended a connection that sent `first`: a clean close (FIN), a reset, silence
/// until the timeout, or data from a server.
#[derive(Debug, PartialEq)]
enum Ending {
    Fin,
    Reset,
    Silence,
    Data,
}

fn ending(src: Ipv4Addr, dst: SocketAddr, first: &[u8]) -> Ending {
    let Ok(mut s) = connect_from(src, dst) else { return Ending::Reset };
    s.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    if !first.is_empty() && s.write_all(first).is_err() {
        return Ending::Reset;
    }
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => Ending::Fin,
        Ok(_) => Ending::Data,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ending::Reset,
        Err(_) => Ending::Silence,
    }
}

#[test]
fn session_rules_see_the_proxy_header_and_silent_drop_sends_no_fin() {
    let dir = TempDir::new("tcp-session");
    let replica = NamedEcho::start("replica");
    let (relay, plain, early, content, stats_port) = (free_port(), free_port(), free_port(), free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [
    (name: "relay", bind: ["127.0.0.1:{relay}"], accept_proxy: true, default_backend: "replica",
     tcp_request_session: ["reject if {{ src 192.0.2.0/24 }}"]),
    (name: "plain", bind: ["127.0.0.1:{plain}"], default_backend: "replica",
     tcp_request_session: ["silent-drop if {{ src 127.0.0.2 }}"]),
    (name: "early", bind: ["127.0.0.1:{early}"], default_backend: "replica",
     tcp_request_connection: ["silent-drop if {{ src 127.0.0.2 }}"]),
    (name: "content", bind: ["127.0.0.1:{content}"], default_backend: "replica", tcp_request_inspect_delay: "2s",
     tcp_request_content: ["silent-drop if {{ req.payload(0,4) -m str DROP }}", "reject if {{ req.payload(0,4) -m str STOP }}",
                           "accept if {{ req.len ge 4 }}"]),
  ],
  backend: [(name: "replica", servers: [(name: "r", addr: "{}")])],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            replica.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker", "checker"], Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(10), || [relay, plain, early, content, stats_port].iter().all(|p| listening(*p))),
        "not listening:\n{}",
        hk.log_text()
    );
    let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let col = |fe: &str, c: &str| frontend_column(at(stats_port), fe, c);

    // Session rules see the PROXY header's source: refused, counted in dses, not logged.
    assert_eq!(reached(CLIENT, at(relay), b"PROXY TCP4 192.0.2.7 10.0.0.5 1 2\r\n"), None);
    assert_eq!(replica.accepted(), 0, "a refused session reached a server");
    assert_eq!((col("relay", "dses"), col("relay", "dcon"), col("relay", "dreq")), (1, 0, 0));
    assert_eq!(reached(CLIENT, at(relay), b"PROXY TCP4 198.51.100.7 10.0.0.5 1 2\r\n").as_deref(), Some("replica"));

    // silent-drop at each stage: never a FIN; the unprivileged worker cannot use TCP_REPAIR,
    // so a TTL-1 reset is sent, which loopback delivers (HAProxy does the same). Counted in dreq.
    for (fe, port) in [("plain", plain), ("early", early)] {
        let end = ending(BLOCKED, at(port), b"");
        assert!(matches!(end, Ending::Reset | Ending::Silence), "{fe}: {end:?}");
        assert_eq!((col(fe, "dreq"), col(fe, "dses"), col(fe, "dcon")), (1, 0, 0), "{fe}");
    }
    let dropped = ending(CLIENT, at(content), b"DROP me");
    assert!(matches!(dropped, Ending::Reset | Ending::Silence), "content: {dropped:?}");
    assert_eq!(ending(CLIENT, at(content), b"STOP it"), Ending::Fin, "reject closes with a FIN");
    assert_eq!(ending(CLIENT, at(content), b"PASS on"), Ending::Data);
    assert_eq!(col("content", "dreq"), 2);
    assert_eq!(replica.accepted(), 2, "only the accepted ones reached the server");
    // A content silent-drop is logged with PR, as HAProxy logs it; the refused session is not.
    assert!(hk.wait_for_log(" PR ", Duration::from_secs(3)), "{}", hk.log_text());
    assert!(!hk.log_text().contains("192.0.2.7"), "a refused session was logged:\n{}", hk.log_text());
}

#[test]
fn tls_passthrough_routes_openssl_by_server_name() {
    use harness::process::output_within;
    let dir = TempDir::new("tcp-sni");
    let (a, other) = (NamedEcho::start("a"), NamedEcho::start("other"));
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [
    (name: "tls", bind: ["127.0.0.1:{port}"], default_backend: "other", tcp_request_inspect_delay: "3s",
     tcp_request_content: ["accept if {{ req.ssl_hello_type 1 }}"],
     use_backend: [(backend: "a", cond: "if {{ req.ssl_sni -i a.example }}")]),
  ],
  backend: [(name: "a", servers: [(name: "a", addr: "{}")]), (name: "other", servers: [(name: "o", addr: "{}")])],
)"#,
            a.addr, other.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port)), "not listening:\n{}", hk.log_text());
    // A real client's ClientHello (TLS 1.3, many extensions); the backends do not speak TLS,
    // so the handshake fails after the proxy has chosen: which backend accepted tells.
    let hello = |name: &str| {
        let mut cmd = std::process::Command::new("openssl");
        cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", name]).stdin(std::process::Stdio::null());
        let _ = output_within(cmd, Duration::from_secs(10)).expect("openssl s_client");
    };
    hello("A.EXAMPLE");
    assert!(wait_until(Duration::from_secs(3), || a.accepted() == 1), "a.example did not reach a:\n{}", hk.log_text());
    hello("b.example");
    assert!(wait_until(Duration::from_secs(3), || other.accepted() == 1), "b.example did not reach other:\n{}", hk.log_text());
    assert_eq!(a.accepted(), 1);
}
