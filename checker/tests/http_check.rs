//! HTTP checks against a real loopback HTTP server: the status drives the state, the request
//! line is the configured one, and `timeout check` bounds the wait for the answer.

mod support;

use hakeeper_common::config::HealthCheck;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use support::*;

/// Answers every request with the current status (0 = never answer), recording the raw requests
/// and how many answers of each kind it gave.
struct HttpServer {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    answered: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    fn start(status: u16) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let status = Arc::new(AtomicU16::new(status));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, rq, an, sp) = (status.clone(), requests.clone(), answered.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut silent: Vec<TcpStream> = Vec::new();
            while !sp.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(ms(2));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(ms(1000)));
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                rq.lock().unwrap().push(head);
                let code = st.load(Ordering::SeqCst);
                if code == 0 {
                    silent.push(conn);
                    continue;
                }
                let reason = if code == 200 { "OK" } else { "Internal Server Error" };
                an.lock().unwrap().push(code);
                let _ = conn.write_all(format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
            }
        });
        HttpServer { addr, status, requests, answered, stop, thread: Some(thread) }
    }

    fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    fn answered_with(&self, code: u16) -> usize {
        self.answered.lock().unwrap().iter().filter(|&&c| c == code).count()
    }

    fn clear(&self) {
        self.answered.lock().unwrap().clear();
    }

    fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn http(method: &str, uri: &str, version: &str) -> HealthCheck {
    HealthCheck::Http { method: method.into(), uri: uri.into(), version: version.into(), expect_status: None }
}

#[test]
fn http_500_marks_down_and_200_marks_up_with_the_configured_request() {
    let web = HttpServer::start(200);
    let (rise, fall) = (2, 2);
    let servers = vec![server("web1", web.addr, Some(check(ms(200), rise, fall, web.addr.port())))];
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("web_http", http("GET", "/health", "HTTP/1.1"), servers)]));
    assert_eq!(checker.recv(ms(600)), None, "200 keeps the server UP");

    let requests = web.requests();
    assert!(!requests.is_empty());
    let expected = format!("GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", web.addr);
    for r in &requests {
        assert_eq!(String::from_utf8_lossy(r), expected);
    }

    web.clear();
    web.set_status(500);
    let (_, _, up, reason, _, _) = checker.server_change(ms(2000)).expect("DOWN on 500");
    assert!(!up);
    assert_eq!(reason, "Layer7 wrong status, code: 500, info: \"Internal Server Error\"");
    assert_eq!(web.answered_with(500), fall as usize, "DOWN after exactly `fall` 500s");

    web.clear();
    web.set_status(200);
    let (_, _, up, reason, _, _) = checker.server_change(ms(2000)).expect("UP on 200");
    assert!(up);
    assert_eq!(reason, "Layer7 check passed, code: 200");
    assert_eq!(web.answered_with(200), rise as usize, "UP after exactly `rise` 200s");
    let lines = logged("Server web_http/web1 is UP, reason: Layer7 check passed, code: 200, check duration: ");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with("ms. 1 active and 0 backup servers online."), "{}", lines[0]);
    checker.stop();
}

#[test]
fn http_1_0_request_is_sent_byte_for_byte_and_expect_status_is_exact() {
    let web = HttpServer::start(200);
    let mut hc = http("OPTIONS", "/", "HTTP/1.0");
    if let HealthCheck::Http { expect_status, .. } = &mut hc {
        *expect_status = Some((204, 204));
    }
    let servers = vec![server("s", web.addr, Some(check(ms(200), 2, 2, web.addr.port())))];
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("web_expect", hc, servers)]));
    // 200 is not the expected 204: the first check marks the server DOWN.
    let (_, _, up, reason, _, _) = checker.server_change(ms(1500)).expect("DOWN on an unexpected status");
    assert!(!up);
    assert_eq!(reason, "Layer7 wrong status, code: 200, info: \"OK\"");
    assert_eq!(web.requests()[0], b"OPTIONS / HTTP/1.0\r\n\r\n");
    checker.stop();
}

#[test]
fn silent_server_is_a_layer7_timeout_bounded_by_timeout_check_or_inter() {
    let web = HttpServer::start(0);
    let inter = ms(600);
    let plain = backend("l7_plain", http("GET", "/", "HTTP/1.0"), vec![server("s", web.addr, Some(check(inter, 2, 2, web.addr.port())))]);
    let mut bounded =
        backend("l7_bounded", http("GET", "/", "HTTP/1.0"), vec![server("s", web.addr, Some(check(inter, 2, 2, web.addr.port())))]);
    bounded.timeout_check = Some(ms(200));
    let mut checker = CheckerUnderTest::start(backends_only(vec![plain, bounded]));
    let mut seen = std::collections::HashMap::new();
    while seen.len() < 2 {
        let (b, _, up, reason, duration, _) = checker.server_change(ms(3000)).expect("both time out");
        assert!(!up);
        assert_eq!(reason, "Layer7 timeout");
        seen.insert(b, duration);
    }
    assert!(seen[&0] >= inter && seen[&0] < inter + ms(200), "without timeout check: {:?}", seen[&0]);
    assert!(seen[&1] >= ms(200) && seen[&1] < ms(400), "with timeout check 200ms: {:?}", seen[&1]);
    checker.stop();
}

#[test]
fn garbage_answer_is_an_invalid_response() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        if let Ok((mut c, _)) = listener.accept() {
            let _ = c.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
            std::thread::sleep(ms(200));
        }
    });
    let servers = vec![server("s", addr, Some(check(ms(200), 2, 2, addr.port())))];
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("web_garbage", http("GET", "/", "HTTP/1.0"), servers)]));
    let (_, _, up, reason, _, _) = checker.server_change(ms(1500)).expect("DOWN");
    assert!(!up);
    assert_eq!(reason, "Layer7 invalid response, info: \"not an HTTP response\"");
    checker.stop();
    let _ = t.join();
}
