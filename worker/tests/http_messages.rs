//! HTTP/1.1 message framing through the worker beyond plain requests: `Expect: 100-continue`
//! (the interim response, then the final one), responses without a body whatever their
//! Content-Length (HEAD, 204, 304), responses delimited by the server's close, and protocol
//! upgrades that turn the connection into a tunnel bounded by `timeout tunnel`.

mod httpkit;
mod support;

use httpkit::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use support::{wait_logs, Worker};

/// One frontend `fe` in front of one backend `fe_be` with server `s1`; `timeouts` are the
/// defaults' timeout fields, `backend` extra fields of the backend.
fn one_server(fe: &str, server: &HttpServer, timeouts: &str, backend: &str) -> Worker {
    Worker::start(worker_config(&format!(
        r#"(
      global: (maxconn: 100, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, retries: 1, log: true, log_format: httplog,
                 timeout: (connect: "2s", http_request: "5s", http_keep_alive: "5s", {timeouts})),
      frontend: [(name: "{fe}", bind: ["127.0.0.1:1"], default_backend: "{fe}_be")],
      backend: [(name: "{fe}_be", {backend} servers: [(name: "s1", addr: "{}")])],
    )"#,
        server.addr
    )))
}

fn short_reads(c: &Client, d: Duration) {
    c.w.set_read_timeout(Some(d)).unwrap();
}

#[test]
fn expect_100_continue_forwards_the_interim_response_then_the_final_one() {
    let server = HttpServer::start("s1");
    let w = one_server("fe100", &server, r#"client: "10s", server: "10s""#, "");
    let mut c = Client::connect(w.addr);
    short_reads(&c, Duration::from_secs(3));
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    // The body is held back until the server's 100 arrives, as a client would.
    let interim = read_head(&mut c.r).expect("the server's 100 Continue, forwarded");
    assert_eq!(interim.status(), 100, "{}", interim.raw);
    c.send(b"hello");
    let r = c.response().expect("the final response");
    assert_eq!(r.head.status(), 200);
    assert!(r.text().contains("body=5:"), "{}", r.text());
    // The connection goes on with the next request.
    assert_eq!(c.request(&get("x", "")).server(), "s1");
    assert_eq!(server.seen()[0].body, b"hello");
    let line = &wait_logs("fe100 fe100_be/s1 ", 1, Duration::from_secs(5))[0];
    assert!(line.contains(" 200 ") && line.ends_with("\"POST /up HTTP/1.1\""), "the final status is logged: {line}");
}

#[test]
fn head_204_and_304_responses_have_no_body_whatever_their_length() {
    let server = HttpServer::start("s1");
    let w = one_server("fenobody", &server, r#"client: "10s", server: "10s""#, "");
    let mut c = Client::connect(w.addr);
    // Were the proxy to wait for the announced body, the next response would never come.
    short_reads(&c, Duration::from_secs(3));
    for (request, status) in [
        ("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 200),
        ("GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n", 204),
        ("GET /status/304 HTTP/1.1\r\nHost: x\r\n\r\n", 304),
    ] {
        c.send(request.as_bytes());
        let head = read_head(&mut c.r).unwrap_or_else(|| panic!("no response to {request:?}"));
        assert_eq!(head.status(), status, "{request:?}");
        assert!(head.get("content-length").is_some(), "the length passes as the server sent it: {}", head.raw);
        assert_eq!(head.get("connection"), None, "the connection stays open");
        let r = c.request(&get("x", ""));
        assert_eq!(r.server(), "s1", "the response after {request:?} is intact: {:?}", r.text());
    }
    assert_eq!(server.accepted(), 1, "the server connection was complete after each, and reused");
    assert_eq!(server.seen().len(), 6);
}

#[test]
fn a_close_delimited_response_reaches_a_keep_alive_client_whole_then_it_closes() {
    let server = HttpServer::start("s1");
    let w = one_server("feclose", &server, r#"client: "10s", server: "10s""#, "");
    let mut c = Client::connect(w.addr);
    let r = c.request("GET /until-close HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.head.status(), 200);
    assert_eq!(r.head.get("content-length"), None);
    assert_eq!(r.head.get("transfer-encoding"), None, "forwarded as it came");
    assert_eq!(r.head.get("connection"), Some("close"), "the client is told the connection ends with the body");
    assert!(r.body == pattern(UNTIL_CLOSE_LEN, 5), "body differs ({} bytes)", r.body.len());
    assert!(c.closed());
    let line = &wait_logs("feclose feclose_be/s1 ", 1, Duration::from_secs(5))[0];
    assert!(line.contains(" 200 ") && line.contains(" ---- "), "{line}");
}

const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

/// Sends the upgrade request and reads the 101.
fn upgraded(w: &Worker) -> Client {
    let mut c = Client::connect(w.addr);
    c.send(UPGRADE);
    let head = read_head(&mut c.r).expect("101");
    assert_eq!(head.status(), 101, "{}", head.raw);
    assert_eq!(head.get("upgrade"), Some("websocket"));
    assert_eq!(head.get("connection"), Some("Upgrade"));
    c
}

/// Sends `data` and reads as many bytes back.
fn echo(c: &mut Client, data: &[u8]) -> Vec<u8> {
    let mut writer = c.w.try_clone().unwrap();
    let out = data.to_vec();
    let sender = std::thread::spawn(move || writer.write_all(&out).is_ok());
    let mut back = vec![0u8; data.len()];
    let read = c.r.read_exact(&mut back);
    assert!(sender.join().unwrap(), "the tunnel refused bytes");
    read.map(|_| back).unwrap_or_default()
}

#[test]
fn an_upgrade_turns_the_connection_into_a_tunnel_both_ways() {
    let server = HttpServer::start("s1");
    let w = one_server("fews", &server, r#"client: "10s", server: "10s""#, "");
    let mut c = upgraded(&w);
    let data = pattern(512 * 1024, 11);
    assert!(echo(&mut c, &data) == data, "the echo differs");
    assert!(echo(&mut c, b"GET / HTTP/1.1\r\n\r\n") == b"GET / HTTP/1.1\r\n\r\n", "no HTTP parsing in a tunnel");
    // The client's FIN reaches the server, whose close comes back.
    c.w.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(c.closed());
    let line = &wait_logs("fews fews_be/s1 ", 1, Duration::from_secs(5))[0];
    assert!(line.contains(" 101 ") && line.contains(" ---- ") && line.ends_with("\"GET /ws HTTP/1.1\""), "{line}");
}

/// How long the tunnel stays open once idle.
fn idle_close(c: &mut Client) -> Duration {
    short_reads(c, Duration::from_secs(8));
    let idle = Instant::now();
    assert!(c.closed(), "the idle tunnel is closed");
    idle.elapsed()
}

#[test]
fn timeout_tunnel_supersedes_the_client_and_server_timeouts_once_tunnelled() {
    let server = HttpServer::start("s1");
    let w = one_server("fetun", &server, r#"client: "200ms", server: "200ms""#, r#"timeout: (tunnel: "1200ms"),"#);
    let mut c = upgraded(&w);
    // Longer than the client and server timeouts: the tunnel is still open.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(echo(&mut c, b"still there"), b"still there");
    let idle = idle_close(&mut c);
    assert!(idle >= Duration::from_millis(1000) && idle < Duration::from_secs(3), "closed after {idle:?}");
    let line = &wait_logs("fetun fetun_be/s1 ", 1, Duration::from_secs(5))[0];
    assert!(line.contains(" 101 ") && line.contains(" cD-- "), "{line}");
}

#[test]
fn without_timeout_tunnel_the_shorter_of_client_and_server_bounds_the_tunnel() {
    let server = HttpServer::start("s1");
    let w = one_server("fetun2", &server, r#"client: "10s", server: "500ms""#, "");
    let mut c = upgraded(&w);
    assert_eq!(echo(&mut c, b"ping"), b"ping");
    let idle = idle_close(&mut c);
    assert!(idle >= Duration::from_millis(400) && idle < Duration::from_secs(3), "closed after {idle:?}");
}
