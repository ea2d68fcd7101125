//! The PROXY protocol received (issue #17): clients of an `accept-proxy` bind send a v1 or v2
//! header first; its source address is the client's for logs, ACLs and X-Forwarded-For (in
//! `mode tcp` and `mode http`); a malformed or missing header closes the connection before any
//! server is touched, is logged with HAProxy's reason and counted (`ereq`). Hostile headers go
//! to HAProxy 2.6 and hakeeper side by side: hakeeper is never the more permissive one.

mod harness;

use harness::backends::NamedEcho;
use harness::differential_haproxy::{binary as haproxy_binary, listening, Haproxy};
use harness::process::{free_port, run_cli, wait_until, Appliance, TempDir};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

const SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// A v2 PROXY header over TCP from `src` to `dst` (same family), with `tlvs` after the addresses.
fn v2(src: SocketAddr, dst: SocketAddr, tlvs: &[u8]) -> Vec<u8> {
    let mut h = SIG.to_vec();
    h.push(0x21);
    let addrs: Vec<u8> = match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            h.push(0x11);
            [&s.ip().octets()[..], &d.ip().octets()[..]].concat()
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => {
            h.push(0x21);
            [&s.ip().octets()[..], &d.ip().octets()[..]].concat()
        }
        _ => panic!("one family"),
    };
    let len = (addrs.len() + 4 + tlvs.len()) as u16;
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&addrs);
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h.extend_from_slice(tlvs);
    h
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Connects, sends `bytes` in one write, and reads until the backend's greeting line arrives or
/// the proxy closes: `Some(greeting and what followed)` when the connection reached a server.
fn send_and_read(proxy: SocketAddr, bytes: &[u8], wait: Duration) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&proxy, Duration::from_secs(3)).ok()?;
    s.set_read_timeout(Some(wait)).ok()?;
    if !bytes.is_empty() {
        s.write_all(bytes).ok()?;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let end = Instant::now() + wait;
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(b"ping") {
                    break;
                }
            }
        }
    }
    (!got.is_empty()).then(|| String::from_utf8_lossy(&got).into_owned())
}

/// The `ereq` column of `frontend`'s FRONTEND row on the stats page.
fn frontend_ereq(stats: SocketAddr, frontend: &str) -> u64 {
    harness::stats::frontend_column(stats, frontend, "ereq")
}

#[test]
fn accept_proxy_in_tcp_mode_uses_the_header_and_refuses_bad_ones() {
    let dir = TempDir::new("proxy-tcp");
    let echo = NamedEcho::start("db1");
    let (port, stats_port) = (free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "2s", client: "1s", server: "5s")),
  listen: [(name: "mycat", bind: ["127.0.0.1:{port}"], accept_proxy: true,
            servers: [(name: "db1", addr: "{}")])],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            echo.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port) && listening(stats_port)), "not listening:\n{}", hk.log_text());
    let proxy = SocketAddr::from(([127, 0, 0, 1], port));
    let stats = SocketAddr::from(([127, 0, 0, 1], stats_port));

    // Valid headers: the stream after them reaches the server unchanged, header removed.
    let v1 = [&b"PROXY TCP4 192.0.2.7 10.0.0.5 40000 8066\r\n"[..], b"ping"].concat();
    assert_eq!(send_and_read(proxy, &v1, Duration::from_secs(5)).as_deref(), Some("db1\nping"));
    let v2_6 = [v2(sa("[2001:db8::7]:40001"), sa("[2001:db8::5]:8066"), &[]), b"ping".to_vec()].concat();
    assert_eq!(send_and_read(proxy, &v2_6, Duration::from_secs(5)).as_deref(), Some("db1\nping"));
    let v2_4 = [v2(sa("198.51.100.9:40002"), sa("10.0.0.5:8066"), &[0x04, 0, 1, b'x']), b"ping".to_vec()].concat();
    assert_eq!(send_and_read(proxy, &v2_4, Duration::from_secs(5)).as_deref(), Some("db1\nping"));
    assert_eq!(echo.accepted(), 3);
    // The log lines name the header's source, not 127.0.0.1.
    for needle in ["192.0.2.7:40000 [", "2001:db8::7:40001 [", "198.51.100.9:40002 ["] {
        assert!(hk.wait_for_log(needle, Duration::from_secs(5)), "no tcplog line for {needle}:\n{}", hk.log_text());
    }

    // Bad or missing headers: closed with nothing sent on, logged with HAProxy's reason, counted.
    let started = Instant::now();
    let refused: [(&[u8], &str); 4] = [
        (b"PROXY TCP4 192.0.2.7 10.0.0.5 40000 65536\r\nping", "Received an invalid PROXY protocol header."),
        (b"PROXY TCP9 192.0.2.7 10.0.0.5 40000 8066\r\nping", "Received an unhandled protocol in the PROXY protocol header."),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "Received something which does not look like a PROXY protocol header."),
        (b"", "Timeout while waiting for PROXY protocol header."),
    ];
    for (bytes, reason) in refused {
        assert_eq!(send_and_read(proxy, bytes, Duration::from_secs(4)), None, "{:?} got through", String::from_utf8_lossy(bytes));
        assert!(hk.wait_for_log(reason, Duration::from_secs(3)), "no log line {reason:?}:\n{}", hk.log_text());
    }
    assert!(started.elapsed() < Duration::from_secs(6), "the missing header was not timed out by `timeout client` (1s)");
    assert!(hk.log_text().contains("127.0.0.1:") && hk.log_text().contains("] mycat/1: Timeout"), "{}", hk.log_text());
    assert_eq!(echo.accepted(), 3, "a refused header must not reach the server");
    assert_eq!(frontend_ereq(stats, "mycat"), 4);
}

/// An HTTP backend answering each request with the `X-Forwarded-For` it received and its name.
fn xff_backend(name: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head).to_string();
                let xff = text
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_default();
                let body = format!("{name} xff={xff}");
                let _ = conn
                    .write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes());
            });
        }
    });
    addr
}

#[test]
fn accept_proxy_in_http_mode_feeds_acls_and_forwardfor() {
    let dir = TempDir::new("proxy-http");
    let (doc, other) = (xff_backend("doc"), xff_backend("other"));
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, log_format: httplog, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", bind: ["127.0.0.1:{port}"], accept_proxy: true, forwardfor: (),
              acls: [(name: "docnet", criterion: "src 192.0.2.0/24 2001:db8::/32")],
              use_backend: [(backend: "doc", cond: "if docnet")], default_backend: "other")],
  backend: [(name: "doc", servers: [(name: "d1", addr: "{doc}")]),
            (name: "other", servers: [(name: "o1", addr: "{other}")])],
)"#
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port)), "not listening:\n{}", hk.log_text());
    let proxy = SocketAddr::from(([127, 0, 0, 1], port));
    let get = b"GET /x HTTP/1.1\r\nHost: www.abc.com\r\nConnection: close\r\n\r\n";
    let cases: [(Vec<u8>, &str); 4] = [
        ([&b"PROXY TCP4 192.0.2.7 10.0.0.5 40000 80\r\n"[..], get].concat(), "doc xff=192.0.2.7"),
        ([&b"PROXY TCP4 203.0.113.1 10.0.0.5 40000 80\r\n"[..], get].concat(), "other xff=203.0.113.1"),
        ([v2(sa("[2001:db8::7]:1"), sa("[2001:db8::5]:80"), &[]), get.to_vec()].concat(), "doc xff=2001:db8::7"),
        ([&b"PROXY UNKNOWN\r\n"[..], get].concat(), "other xff=127.0.0.1"),
    ];
    for (bytes, want) in cases {
        let got = send_and_read(proxy, &bytes, Duration::from_secs(5)).unwrap_or_default();
        assert!(got.starts_with("HTTP/1.1 200") && got.ends_with(want), "want {want:?}, got {got:?}\n{}", hk.log_text());
    }
    assert!(hk.wait_for_log("192.0.2.7:40000 [", Duration::from_secs(3)), "httplog with the header's source:\n{}", hk.log_text());
    // Without a header, an HTTP request is refused: no response at all.
    assert_eq!(send_and_read(proxy, get, Duration::from_secs(3)), None);
}

/// What a proxy does with one hostile header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Forwards,
    Refuses,
}
use Fate::{Forwards as F, Refuses as R};

fn hostile_cases() -> Vec<(&'static str, Vec<u8>, Fate, Fate)> {
    let (s4, d4) = (sa("192.0.2.7:40000"), sa("10.0.0.5:8066"));
    let (s6, d6) = (sa("[2001:db8::7]:1"), sa("[2001:db8::5]:2"));
    let good = v2(s4, d4, &[]);
    let with = |at: usize, b: u8| {
        let mut h = good.clone();
        h[at] = b;
        h
    };
    let mut crc_ok = v2(s4, d4, &[0x03, 0, 4, 0, 0, 0, 0]);
    let n = crc_ok.len();
    let crc = crc32c(&crc_ok);
    crc_ok[n - 4..].copy_from_slice(&crc.to_be_bytes());
    let mut crc_bad = crc_ok.clone();
    crc_bad[n - 1] ^= 1;
    let mut local_odd_family = with(12, 0x20);
    local_odd_family[13] = 0x99;
    let t = |s: &str| s.as_bytes().to_vec();
    vec![
        ("v1-tcp4", t("PROXY TCP4 192.0.2.7 10.0.0.5 40000 8066\r\n"), F, F),
        ("v1-tcp6", t("PROXY TCP6 2001:db8::7 2001:db8::5 1 2\r\n"), F, F),
        ("v1-unknown", t("PROXY UNKNOWN\r\n"), F, F),
        ("v1-lowercase", t("proxy tcp4 192.0.2.7 10.0.0.5 40000 8066\r\n"), R, R),
        ("v1-bad-proto", t("PROXY TCP9 192.0.2.7 10.0.0.5 40000 8066\r\n"), R, R),
        ("v1-unknown-with-addrs", t("PROXY UNKNOWN 192.0.2.7 10.0.0.5 1 2\r\n"), R, R),
        ("v1-cr-without-lf", t("PROXY TCP4 192.0.2.7 10.0.0.5 40000 8066\rX\n"), R, R),
        ("v1-lf-only", t("PROXY TCP4 192.0.2.7 10.0.0.5 40000 8066\n"), R, R),
        ("v1-v6-in-tcp4", t("PROXY TCP4 2001:db8::7 10.0.0.5 40000 8066\r\n"), R, R),
        ("v1-v4-in-tcp6", t("PROXY TCP6 192.0.2.7 2001:db8::5 1 2\r\n"), R, R),
        ("v1-extra-field", t("PROXY TCP4 192.0.2.7 10.0.0.5 40000 8066 9\r\n"), R, R),
        ("v1-missing-port", t("PROXY TCP4 192.0.2.7 10.0.0.5 40000\r\n"), R, R),
        // HAProxy 2.6 reads TCP4 addresses with inetaddr_host_lim_ret() (no octet range check,
        // leading zeros kept) and ports with read_uint() (no range check, leading zeros): the
        // spec's forms only are accepted by hakeeper.
        ("v1-bad-ip", t("PROXY TCP4 192.0.2.256 10.0.0.5 40000 8066\r\n"), F, R),
        ("v1-ip-leading-zero", t("PROXY TCP4 192.0.2.07 10.0.0.5 40000 8066\r\n"), F, R),
        ("v1-port-65536", t("PROXY TCP4 192.0.2.7 10.0.0.5 40000 65536\r\n"), F, R),
        ("v1-port-leading-zero", t("PROXY TCP4 192.0.2.7 10.0.0.5 040000 8066\r\n"), F, R),
        ("v1-too-long", [t("PROXY TCP6 "), vec![b'1'; 120], t("\r\n")].concat(), R, R),
        ("v1-truncated", t("PROXY TCP4 192.0.2.7 10.0"), R, R),
        ("not-a-header", t("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), R, R),
        ("v2-tcp4", good.clone(), F, F),
        ("v2-tcp6", v2(s6, d6, &[]), F, F),
        ("v2-local", with(12, 0x20), F, F),
        ("v2-local-odd-family", local_odd_family, F, F),
        ("v2-version-1", with(12, 0x11), R, R),
        ("v2-command-2", with(12, 0x22), R, R),
        ("v2-udp4", with(13, 0x12), R, R),
        ("v2-unix", with(13, 0x31), R, R),
        ("v2-bad-signature", with(5, b'x'), R, R),
        ("v2-truncated", good[..22].to_vec(), R, R),
        ("v2-tlv-overflow", v2(s4, d4, &[0x04, 0, 9, b'x']), R, R),
        ("v2-tlv-half", v2(s4, d4, &[0x04, 0]), R, R),
        ("v2-tlv-ok", v2(s4, d4, &[0x04, 0, 2, b'o', b'k']), F, F),
        ("v2-crc32c-ok", crc_ok, F, F),
        ("v2-crc32c-bad", crc_bad, R, R),
        ("missing", Vec::new(), R, R),
    ]
}

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

const HAPROXY_CFG: &str = "defaults
  mode tcp
  timeout connect 2s
  timeout client 2s
  timeout server 5s
frontend fe
  bind @FE@ accept-proxy
  default_backend be
backend be
  server s1 @SERVER@
";

#[test]
fn hostile_proxy_headers_hakeeper_is_never_more_permissive_than_haproxy() {
    let Some(haproxy_bin) = haproxy_binary("proxy_protocol") else { return };
    let dir = TempDir::new("proxy-hostile");
    let (echo_hap, echo_hk) = (NamedEcho::start("s-haproxy"), NamedEcho::start("s-hakeeper"));
    let (hap_port, hk_port) = (free_port(), free_port());
    let cfg =
        |port: u16, server: SocketAddr| HAPROXY_CFG.replace("@FE@", &format!("127.0.0.1:{port}")).replace("@SERVER@", &server.to_string());
    std::fs::write(dir.file("haproxy.cfg"), cfg(hap_port, echo_hap.addr)).expect("write haproxy.cfg");
    std::fs::write(dir.file("for-import.cfg"), cfg(hk_port, echo_hk.addr)).expect("write cfg");
    let ron = dir.file("hakeeper.ron");
    let (code, _, warnings) = run_cli(
        &["import", "--haproxy", &dir.file("for-import.cfg").display().to_string(), "-o", &ron.display().to_string()],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "hakeeper import failed:\n{warnings}");
    assert!(std::fs::read_to_string(&ron).unwrap_or_default().contains("accept_proxy: true"), "accept-proxy imported");
    let mut haproxy = Haproxy::start(&haproxy_bin, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hk = Appliance::start(&ron, &dir.file("hakeeper.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    let ready = wait_until(Duration::from_secs(10), || (listening(hap_port) && listening(hk_port)) || haproxy.exited());
    assert!(ready && !haproxy.exited(), "not both listening\nhaproxy:\n{}\nhakeeper:\n{}", haproxy.log_text(), hk.log_text());
    let (hap, hkp) = (SocketAddr::from(([127, 0, 0, 1], hap_port)), SocketAddr::from(([127, 0, 0, 1], hk_port)));

    let cases = hostile_cases();
    let fate = |got: Option<String>| if got.is_some_and(|g| g.ends_with("\nping")) { Fate::Forwards } else { Fate::Refuses };
    let results: Vec<(Fate, Fate)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(_, bytes, _, _)| {
                let payload = if bytes.is_empty() { Vec::new() } else { [bytes.as_slice(), b"ping"].concat() };
                let p2 = payload.clone();
                (
                    s.spawn(move || fate(send_and_read(hap, &payload, Duration::from_secs(4)))),
                    s.spawn(move || fate(send_and_read(hkp, &p2, Duration::from_secs(4)))),
                )
            })
            .collect();
        handles.into_iter().map(|(a, b)| (a.join().expect("haproxy client"), b.join().expect("hakeeper client"))).collect()
    });
    let mut failures = Vec::new();
    let mut table = String::new();
    for ((id, _, want_hap, want_hk), (got_hap, got_hk)) in cases.iter().zip(&results) {
        table.push_str(&format!("  {id:24} haproxy {got_hap:?} | hakeeper {got_hk:?}\n"));
        if *got_hap == Fate::Refuses && *got_hk == Fate::Forwards {
            failures.push(format!("{id}: HAProxy refuses and hakeeper forwards"));
        }
        if got_hap != want_hap {
            failures.push(format!("{id}: HAProxy {got_hap:?}, the table says {want_hap:?}"));
        }
        if got_hk != want_hk {
            failures.push(format!("{id}: hakeeper {got_hk:?}, the table says {want_hk:?}"));
        }
    }
    let forwarded = results.iter().filter(|(_, hk)| *hk == Fate::Forwards).count();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}\n\nall cases:\n{table}\nhaproxy log:\n{}\nhakeeper log:\n{}",
        failures.len(),
        failures.join("\n"),
        haproxy.log_text(),
        hk.log_text()
    );
    assert_eq!(echo_hk.accepted(), forwarded, "hakeeper connected to the server only for the headers it accepted");
    eprintln!("{} hostile PROXY headers compared:\n{table}", cases.len());
}

/// One connection a [`ProxyParsingBackend`] accepted: the PROXY header it began with, as text
/// (`TCP4 src dst sport dport` for v1, `v2 PROXY src dst` / `v2 LOCAL` for v2, `none`), and
/// the HTTP requests it carried.
#[derive(Debug, Clone, Default)]
struct SeenConn {
    header: String,
    requests: usize,
}

/// A server that expects a PROXY header on each connection (v1 or v2, parsed here, apart from
/// hakeeper's parser), then either greets with `hdr=<header>` and echoes (`http: false`) or
/// answers each HTTP request with `hdr=<header> n=<request number on this connection>`.
struct ProxyParsingBackend {
    addr: SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<SeenConn>>>,
}

fn read_proxy_header(s: &mut TcpStream) -> Option<String> {
    let mut first = [0u8; 16];
    s.read_exact(&mut first[..6]).ok()?;
    if &first[..6] == b"PROXY " {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") && line.len() < 120 {
            s.read_exact(&mut b).ok()?;
            line.push(b[0]);
        }
        return Some(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned());
    }
    s.read_exact(&mut first[6..16]).ok()?;
    if first[..12] != SIG[..] || first[12] >> 4 != 2 {
        return None;
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([first[14], first[15]]))];
    s.read_exact(&mut body).ok()?;
    match (first[12] & 0x0F, first[13]) {
        (0, _) => Some("v2 LOCAL".into()),
        (1, 0x11) if body.len() >= 12 => {
            let ip = |a: &[u8]| std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let port = |a: &[u8]| u16::from_be_bytes([a[0], a[1]]);
            Some(format!("v2 PROXY {}:{} {}:{}", ip(&body[0..4]), port(&body[8..10]), ip(&body[4..8]), port(&body[10..12])))
        }
        (1, 0x21) if body.len() >= 36 => {
            let ip = |a: &[u8]| std::net::Ipv6Addr::from(<[u8; 16]>::try_from(a).unwrap_or_default());
            let port = |a: &[u8]| u16::from_be_bytes([a[0], a[1]]);
            Some(format!("v2 PROXY [{}]:{} [{}]:{}", ip(&body[0..16]), port(&body[32..34]), ip(&body[16..32]), port(&body[34..36])))
        }
        _ => None,
    }
}

impl ProxyParsingBackend {
    fn start(http: bool) -> ProxyParsingBackend {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let list = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let list = list.clone();
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let header = read_proxy_header(&mut conn).unwrap_or_else(|| "none".into());
                    let index = {
                        let mut l = list.lock().expect("seen");
                        l.push(SeenConn { header: header.clone(), requests: 0 });
                        l.len() - 1
                    };
                    if !http {
                        if conn.write_all(format!("hdr={header}\n").as_bytes()).is_err() {
                            return;
                        }
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = conn.read(&mut buf) {
                            if n == 0 || conn.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        return;
                    }
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while let Ok(1) = conn.read(&mut b) {
                        head.push(b[0]);
                        if head.ends_with(b"\r\n\r\n") {
                            head.clear();
                            let n = {
                                let mut l = list.lock().expect("seen");
                                l[index].requests += 1;
                                l[index].requests
                            };
                            let body = format!("hdr={header} n={n}");
                            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                            if conn.write_all(resp.as_bytes()).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        ProxyParsingBackend { addr, seen }
    }

    fn seen(&self) -> Vec<SeenConn> {
        self.seen.lock().expect("seen").clone()
    }
}

/// Reads one Content-Length response from `s`; returns its body.
fn read_response(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return String::new(),
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: usize = text.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = s.read_exact(&mut body);
    String::from_utf8_lossy(&body).into_owned()
}

#[test]
fn send_proxy_tells_servers_the_client_and_checks_send_their_own() {
    let dir = TempDir::new("proxy-send");
    let (tcp_v2, tcp_v1, checked) =
        (ProxyParsingBackend::start(false), ProxyParsingBackend::start(false), ProxyParsingBackend::start(false));
    let (relay, direct, checks) = (free_port(), free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "5s", server: "5s")),
  listen: [
    (name: "relay", bind: ["127.0.0.1:{relay}"], accept_proxy: true,
     servers: [(name: "s", addr: "{}", send_proxy: v2)]),
    (name: "direct", bind: ["127.0.0.1:{direct}"], servers: [(name: "s", addr: "{}", send_proxy: v1)]),
    (name: "checked", bind: ["127.0.0.1:{checks}"],
     servers: [(name: "s", addr: "{}", send_proxy: v2, check_send_proxy: true, check: (inter: "300ms"))]),
  ],
)"#,
            tcp_v2.addr, tcp_v1.addr, checked.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker", "checker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(relay) && listening(direct)), "not listening:\n{}", hk.log_text());

    // A received v1 header with an IPv6 source goes on as v2, the stream after it unchanged.
    let relay_addr = SocketAddr::from(([127, 0, 0, 1], relay));
    let got = send_and_read(relay_addr, b"PROXY TCP6 2001:db8::7 2001:db8::5 40000 3306\r\nping", Duration::from_secs(5));
    assert_eq!(got.as_deref(), Some("hdr=v2 PROXY [2001:db8::7]:40000 [2001:db8::5]:3306\nping"), "{}", hk.log_text());
    let got = send_and_read(relay_addr, b"PROXY TCP4 192.0.2.7 10.0.0.5 40001 3306\r\nping", Duration::from_secs(5));
    assert_eq!(got.as_deref(), Some("hdr=v2 PROXY 192.0.2.7:40001 10.0.0.5:3306\nping"));

    // Without accept-proxy: the client's own address and the one it connected to.
    let mut c = TcpStream::connect(("127.0.0.1", direct)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let local = c.local_addr().expect("local");
    let mut greeting = [0u8; 128];
    let n = c.read(&mut greeting).expect("greeting");
    assert_eq!(
        String::from_utf8_lossy(&greeting[..n]),
        format!("hdr=TCP4 127.0.0.1 127.0.0.1 {} {direct}\n", local.port()),
        "the v1 line names this client"
    );

    // check-send-proxy with send-proxy-v2: checks open with a v2 LOCAL header.
    assert!(
        wait_until(Duration::from_secs(5), || checked.seen().iter().filter(|c| c.header == "v2 LOCAL").count() >= 2),
        "checks: {:?}\n{}",
        checked.seen(),
        hk.log_text()
    );
    assert!(checked.seen().iter().all(|c| c.header == "v2 LOCAL"), "only checks reached it: {:?}", checked.seen());
}

#[test]
fn http_connections_with_a_proxy_header_are_private_to_their_client() {
    let dir = TempDir::new("proxy-reuse");
    let backend = ProxyParsingBackend::start(true);
    let port = free_port();
    let config = dir.file("h.ron");
    // `http-reuse always` would share any idle connection (of the one thread): the PROXY header
    // must still keep one client's connection from carrying another's requests.
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody", nbthread: 1),
  defaults: (mode: http, timeout: (connect: "2s", client: "5s", server: "5s")),
  listen: [(name: "web", bind: ["127.0.0.1:{port}"], accept_proxy: true, http_reuse: always,
            servers: [(name: "s", addr: "{}", send_proxy: v1)])],
)"#,
            backend.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(port)), "not listening:\n{}", hk.log_text());
    let get = "GET / HTTP/1.1\r\nHost: www.abc.com\r\n\r\n";
    let connect = |src: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        s.write_all(format!("PROXY TCP4 {src} 10.0.0.5 40000 80\r\n").as_bytes()).expect("header");
        s
    };
    let ask = |s: &mut TcpStream| {
        s.write_all(get.as_bytes()).expect("request");
        read_response(s)
    };
    let a_hdr = "hdr=TCP4 192.0.2.1 10.0.0.5 40000 80";
    // Client A's requests share its connection (its own, reused); between them it is idle.
    let mut a = connect("192.0.2.1");
    assert_eq!([ask(&mut a), ask(&mut a)], [format!("{a_hdr} n=1"), format!("{a_hdr} n=2")]);
    // Client B never gets A's idle connection, whose header names A.
    let mut b = connect("192.0.2.2");
    assert_eq!(ask(&mut b), "hdr=TCP4 192.0.2.2 10.0.0.5 40000 80 n=1");
    assert_eq!(ask(&mut a), format!("{a_hdr} n=3"));
    drop((a, b));
    let seen = backend.seen();
    assert_eq!(seen.len(), 2, "one server connection per client: {seen:?}");
}

/// The TLVs of a version 2 header in words: `alpn=… authority=… ssl[…] crc32c=ok|bad`.
fn describe_tlvs(header: &[u8]) -> String {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let walk = |mut b: &[u8]| {
        let mut out = Vec::new();
        while b.len() >= 3 {
            let len = usize::from(u16::from_be_bytes([b[1], b[2]]));
            let Some(value) = b.get(3..3 + len) else {
                out.push((0xff, b.to_vec()));
                break;
            };
            out.push((b[0], value.to_vec()));
            b = &b[3 + len..];
        }
        out
    };
    let addrs = match header[13] {
        0x11 => 12,
        0x21 => 36,
        _ => 0,
    };
    let mut words = Vec::new();
    for (kind, value) in walk(&header[16 + addrs..]) {
        match kind {
            0x01 => words.push(format!("alpn={}", text(&value))),
            0x02 => words.push(format!("authority={}", text(&value))),
            0x03 => {
                // HAProxy writes the checksum as the first TLV.
                let at = 16 + addrs + 3;
                let mut zeroed = header.to_vec();
                zeroed[at..at + 4].copy_from_slice(&[0; 4]);
                let ok = crc32c(&zeroed) == u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                words.push(format!("crc32c={}", if ok { "ok" } else { "bad" }));
            }
            0x20 if value.len() >= 5 => {
                let mut ssl = format!("ssl[client={} verify={}", value[0], u32::from_be_bytes([value[1], value[2], value[3], value[4]]));
                for (sub, v) in walk(&value[5..]) {
                    let name = match sub {
                        0x21 => "version",
                        0x22 => "cn",
                        0x23 => "cipher",
                        0x24 => "sig",
                        0x25 => "key",
                        _ => "other",
                    };
                    ssl += &format!(" {name}={}", text(&v));
                }
                words.push(ssl + "]");
            }
            other => words.push(format!("tlv{other:#x}")),
        }
    }
    words.join(" ")
}

/// A server that answers each connection's first HTTP request with the TLVs of its PROXY v2
/// header, then closes.
fn tlv_backend() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = [0u8; 16];
                if conn.read_exact(&mut head).is_err() || head[..12] != SIG[..] {
                    return;
                }
                let mut rest = vec![0u8; usize::from(u16::from_be_bytes([head[14], head[15]]))];
                if conn.read_exact(&mut rest).is_err() {
                    return;
                }
                let body = describe_tlvs(&[&head[..], &rest].concat());
                let mut req = Vec::new();
                let mut b = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") && conn.read(&mut b).is_ok_and(|n| n == 1) {
                    req.push(b[0]);
                }
                let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = conn.write_all(resp.as_bytes());
            });
        }
    });
    addr
}

/// `proxy-v2-options`, `send-proxy-v2-ssl` and `send-proxy-v2-ssl-cn`: the same haproxy.cfg run
/// by HAProxy 2.6 and, imported, by hakeeper gives servers the same TLVs, for a client with a
/// certificate, one without, and a plaintext one.
#[test]
fn proxy_v2_tls_tlvs_are_haproxys() {
    let test = "proxy_v2_tls_tlvs_are_haproxys";
    if !harness::tls_certs::openssl(test) {
        return;
    }
    let Some(haproxy) = haproxy_binary(test) else { return };
    let dir = TempDir::new("proxy-tlv");
    let certs = harness::tls_certs::Certs::new(&dir.file("pki"));
    let www = certs.issue("www.pem", "www.test", "web", false);
    let (client_crt, client_key) = certs.client();
    let backend = tlv_backend();
    let servers = [
        ("all", "send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c"),
        ("ssl_cn", "send-proxy-v2-ssl-cn"),
        ("plain_v2", "send-proxy-v2"),
    ];
    let cfg = |tls_ports: &[u16], plain: u16| {
        let mut text =
            "global\n  user nobody\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n".to_string();
        for ((name, params), port) in servers.iter().zip(tls_ports) {
            text += &format!(
                "frontend fe_{name}\n  bind 127.0.0.1:{port} ssl crt {} ca-file {} verify optional alpn http/1.1\n  default_backend {name}\n",
                www.display(),
                certs.ca.display()
            );
            text += &format!("backend {name}\n  server s1 {backend} {params}\n");
        }
        text += &format!("frontend fe_plain\n  bind 127.0.0.1:{plain}\n  default_backend all\n");
        text
    };
    let (hap_tls, hk_tls): (Vec<u16>, Vec<u16>) = servers.iter().map(|_| (free_port(), free_port())).unzip();
    let (hap_plain, hk_plain) = (free_port(), free_port());
    std::fs::write(dir.file("haproxy.cfg"), cfg(&hap_tls, hap_plain)).expect("write haproxy.cfg");
    std::fs::write(dir.file("hk.cfg"), cfg(&hk_tls, hk_plain)).expect("write hk.cfg");
    let ron = dir.file("hk.ron");
    let (code, out, err) = run_cli(
        &["import", "--haproxy", dir.file("hk.cfg").to_str().expect("path"), "-o", ron.to_str().expect("path")],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "the import keeps the proxy v2 options: {out}{err}");
    let mut hap = Haproxy::start(&haproxy, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hk = Appliance::start(&ron, &dir.file("hk.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    let all: Vec<u16> = hap_tls.iter().chain(&hk_tls).chain([&hap_plain, &hk_plain]).copied().collect();
    assert!(
        wait_until(Duration::from_secs(10), || all.iter().all(|p| listening(*p))),
        "not listening:\nhaproxy: {}\nhakeeper: {}",
        hap.log_text(),
        hk.log_text()
    );
    assert!(!hap.exited(), "{}", hap.log_text());
    let curl = |port: u16, tls: bool, with_cert: bool| {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-sS", "--max-time", "5", "--http1.1"]);
        if tls {
            cmd.args(["--cacert", certs.ca.to_str().expect("path"), "--resolve", &format!("www.test:{port}:127.0.0.1")]);
            // One suite for both proxies: OpenSSL and rustls prefer different ones.
            cmd.args(["--tls13-ciphers", "TLS_AES_128_GCM_SHA256"]);
            if with_cert {
                cmd.args(["--cert", client_crt.to_str().expect("path"), "--key", client_key.to_str().expect("path")]);
            }
            cmd.arg(format!("https://www.test:{port}/"));
        } else {
            cmd.arg(format!("http://127.0.0.1:{port}/"));
        }
        let out = harness::process::output_within(cmd, Duration::from_secs(10)).expect("run curl");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let mut seen = Vec::new();
    for (i, (name, _)) in servers.iter().enumerate() {
        for with_cert in [true, false] {
            let h = curl(hap_tls[i], true, with_cert);
            let k = curl(hk_tls[i], true, with_cert);
            assert_eq!(k, h, "{name}, client certificate {with_cert}: hakeeper vs HAProxy\n{}", hk.log_text());
            seen.push(k);
        }
    }
    let (h, k) = (curl(hap_plain, false, false), curl(hk_plain, false, false));
    assert_eq!(k, h, "plaintext client: hakeeper vs HAProxy");
    seen.push(k);
    hk.terminate(Duration::from_secs(10));
    drop(hap);
    // What both sent, spelled out.
    let full = "ssl[client=7 verify=0 version=TLSv1.3 cn=client one key=RSA2048 sig=RSA-SHA256 cipher=TLS_AES_128_GCM_SHA256]";
    assert_eq!(seen[0], format!("crc32c=ok alpn=http/1.1 authority=www.test {full}"));
    assert_eq!(seen[1], "crc32c=ok alpn=http/1.1 authority=www.test ssl[client=1 verify=0 version=TLSv1.3 key=RSA2048 sig=RSA-SHA256 cipher=TLS_AES_128_GCM_SHA256]");
    assert_eq!(seen[2], "alpn=http/1.1 ssl[client=7 verify=0 version=TLSv1.3 cn=client one]");
    assert_eq!(seen[4], "alpn=http/1.1", "send-proxy-v2 alone: only the ALPN TLV");
    assert_eq!(seen[6], "crc32c=ok ssl[client=0 verify=0]", "a plaintext client");
}
