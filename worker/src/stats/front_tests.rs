//! The stats front's limits on loopback: `timeout http-request` (408), the head size (431),
//! `maxconn` (more wait in the backlog), HEAD and `Expect: 100-continue`.

use super::testing::{http, worker_config, Page, MLDN};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const HEAD_TIMEOUT: Duration = Duration::from_millis(500);
const MAXCONN: u32 = 3;

fn page() -> Page {
    let mut config = worker_config(true);
    if let Some(s) = config.stats.as_mut() {
        s.timeout_http_request = HEAD_TIMEOUT;
        s.maxconn = MAXCONN;
    }
    Page::start(config)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s
}

/// What the server sends until it closes, and how long that took.
fn read_all(s: &mut TcpStream) -> (String, Duration) {
    let t = Instant::now();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    (String::from_utf8_lossy(&raw).into_owned(), t.elapsed())
}

#[test]
fn a_client_that_sends_nothing_or_part_of_a_head_gets_408_in_time() {
    let page = page();
    for sent in [&b""[..], b"GET /admin HTTP/1.1\r\nHost: x\r\n"] {
        let mut s = connect(page.addr);
        s.write_all(sent).expect("send");
        let (reply, took) = read_all(&mut s);
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply:?}");
        assert!(took >= HEAD_TIMEOUT - Duration::from_millis(50) && took < HEAD_TIMEOUT * 3, "{took:?}");
    }
}

#[test]
fn trickling_bytes_do_not_extend_the_head_deadline() {
    let page = page();
    let mut s = connect(page.addr);
    let t = Instant::now();
    let mut reply = Vec::new();
    s.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    for b in b"GET /admin HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        match s.read(&mut [0u8; 512]) {
            Ok(n) if n > 0 => {
                reply.push(n);
                break;
            }
            _ => {}
        }
    }
    assert!(!reply.is_empty(), "answered while trickling");
    assert!(t.elapsed() < HEAD_TIMEOUT * 3, "{:?}", t.elapsed());
}

#[test]
fn an_oversized_head_gets_431_at_once() {
    let page = page();
    let mut s = connect(page.addr);
    let mut req = b"GET /admin HTTP/1.1\r\nX-Big: ".to_vec();
    req.resize(256 * 1024, b'a');
    // The server answers after 15 KiB; the rest may be refused once it has closed.
    let _ = s.write_all(&req);
    let (reply, took) = read_all(&mut s);
    assert!(reply.starts_with("HTTP/1.1 431 "), "{reply:?}");
    assert!(took < HEAD_TIMEOUT, "{took:?}");
}

#[test]
fn connections_beyond_maxconn_wait_until_a_slot_frees() {
    let page = page();
    let idle: Vec<TcpStream> = (0..MAXCONN - 1).map(|_| connect(page.addr)).collect();
    // One slot left: served at once.
    let t = Instant::now();
    assert_eq!(http(page.addr, "GET", "/admin;csv", Some(MLDN), None).status, 200);
    assert!(t.elapsed() < HEAD_TIMEOUT, "{:?}", t.elapsed());
    // All slots held: the next request waits in the backlog until the idle ones get their 408.
    let last = connect(page.addr);
    let t = Instant::now();
    assert_eq!(http(page.addr, "GET", "/admin;csv", Some(MLDN), None).status, 200);
    let waited = t.elapsed();
    assert!(waited >= HEAD_TIMEOUT / 2 && waited < HEAD_TIMEOUT * 4, "{waited:?}");
    drop((idle, last));
}

#[test]
fn head_gets_no_body_and_a_post_with_expect_gets_100_continue() {
    let page = page();
    let mut s = connect(page.addr);
    s.write_all(format!("HEAD /admin;csv HTTP/1.1\r\nAuthorization: Basic {MLDN}\r\n\r\n").as_bytes()).expect("send");
    let (reply, _) = read_all(&mut s);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("\r\n\r\n"), "{reply:?}");
    assert!(!reply.contains("Content-Length: 0\r\n"), "the length of the body not sent: {reply:?}");

    let form = "b=proxy_status&s=server_1&action=ready";
    let mut s = connect(page.addr);
    let head =
        format!("POST /admin HTTP/1.1\r\nAuthorization: Basic {MLDN}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n", form.len());
    s.write_all(head.as_bytes()).expect("send head");
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).expect("100 continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(form.as_bytes()).expect("send body");
    let (reply, _) = read_all(&mut s);
    assert!(reply.starts_with("HTTP/1.1 303 "), "{reply:?}");
    assert!(reply.contains("Location: /admin;st="), "{reply:?}");
}

#[test]
fn a_post_without_a_length_or_with_a_huge_one_is_refused() {
    let page = page();
    let mut s = connect(page.addr);
    s.write_all(b"POST /admin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").expect("send");
    assert!(read_all(&mut s).0.starts_with("HTTP/1.1 411 "));
    let mut s = connect(page.addr);
    s.write_all(b"POST /admin HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n").expect("send");
    assert!(read_all(&mut s).0.starts_with("HTTP/1.1 413 "));
}

#[test]
fn a_post_without_credentials_is_refused_before_its_body() {
    let page = page();
    let mut s = connect(page.addr);
    // The body never comes: the answer must not wait for it.
    s.write_all(b"POST /admin HTTP/1.1\r\nContent-Length: 60000\r\n\r\n").expect("send");
    let (reply, took) = read_all(&mut s);
    assert!(reply.starts_with("HTTP/1.1 401 "), "{reply:?}");
    assert!(took < HEAD_TIMEOUT, "{took:?}");
}
