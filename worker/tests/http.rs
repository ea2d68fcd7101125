//! `mode http` end to end in one process: host routing as the seed config, cookie persistence,
//! keep-alive on both sides, chunked bodies, the request-head timeout and refused requests.

mod httpkit;
mod support;

use hakeeper_common::ipc::ToWorker;
use httpkit::*;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::{wait_logs, Worker};

/// The seed's routing and persistence: web1/web2 behind a cookie, img1, app1.
fn seed_config(web1: &HttpServer, web2: &HttpServer, img: &HttpServer, app: &HttpServer, http_request: &str) -> String {
    format!(
        r#"(
      global: (maxconn: 1000, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, retries: 1, log: true, log_format: httplog,
                 timeout: (connect: "2s", client: "10s", server: "10s", http_request: "{http_request}", http_keep_alive: "5s")),
      frontend: [(name: "main", bind: ["127.0.0.1:1"],
                  acls: [(name: "web", criterion: "hdr(host) -i www.abc.com"),
                         (name: "img", criterion: "hdr(host) -i img.abc.com")],
                  use_backend: [(backend: "webserver", cond: "if web"), (backend: "imgserver", cond: "if img")],
                  default_backend: "dynamic")],
      backend: [(name: "webserver", balance: roundrobin,
                 cookie: (name: "SERVERID", mode: insert, indirect: true, nocache: true),
                 servers: [(name: "web1", addr: "{}", cookie: "1"), (name: "web2", addr: "{}", cookie: "2")]),
                (name: "imgserver", balance: roundrobin, servers: [(name: "img1", addr: "{}")]),
                (name: "dynamic", balance: roundrobin, servers: [(name: "app1", addr: "{}")])],
    )"#,
        web1.addr, web2.addr, img.addr, app.addr
    )
}

struct Seed {
    web1: HttpServer,
    web2: HttpServer,
    img: HttpServer,
    app: HttpServer,
    worker: Worker,
}

fn seed(http_request: &str) -> Seed {
    let (web1, web2, img, app) =
        (HttpServer::start("web1"), HttpServer::start("web2"), HttpServer::start("img1"), HttpServer::start("app1"));
    let worker = Worker::start(worker_config(&seed_config(&web1, &web2, &img, &app, http_request)));
    Seed { web1, web2, img, app, worker }
}

#[test]
fn host_routing_as_the_seed_config() {
    let s = seed("5s");
    let mut c = Client::connect(s.worker.addr);
    let cases =
        [("www.abc.com", "web"), ("WWW.ABC.com", "web"), ("img.abc.com", "img1"), ("www.abc.com:80", "app1"), ("other.example", "app1")];
    for (host, expected) in cases {
        let r = c.request(&get(host, ""));
        assert_eq!(r.head.status(), 200, "{host}");
        assert!(r.server().starts_with(expected), "Host {host} reached {}", r.server());
    }
    let r = c.request("GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.server(), "app1", "no Host at all");
    let logs = wait_logs("main imgserver/img1 ", 1, Duration::from_secs(5));
    assert!(logs[0].contains(" 200 ") && logs[0].ends_with("\"GET / HTTP/1.1\""), "{}", logs[0]);
}

#[test]
fn cookie_insert_persists_strips_and_rebalances_when_down() {
    let s = seed("5s");
    let mut c = Client::connect(s.worker.addr);
    let first = c.request(&get("www.abc.com", ""));
    let set_cookie = first.head.get("set-cookie").expect("Set-Cookie on the first response").to_string();
    let server = first.server();
    let value = if server == "web1" { "1" } else { "2" };
    assert_eq!(set_cookie, format!("SERVERID={value}; path=/"));
    assert_eq!(first.head.get("cache-control"), Some("private"), "nocache");
    for i in 0..100 {
        let r = c.request(&get("www.abc.com", &format!("Cookie: SERVERID={value}; lang=en\r\n")));
        assert_eq!(r.server(), server, "request {i} left its server");
        assert!(r.head.get("set-cookie").is_none(), "a valid cookie is not set again");
        // indirect: the persistence cookie never reaches the server, the others do.
        assert!(r.text().contains("cookie=lang=en\n"), "{}", r.text());
    }
    // A fresh client without the cookie is balanced onto the other server.
    let mut other = Client::connect(s.worker.addr);
    assert_ne!(other.request(&get("www.abc.com", "")).server(), server);
    // The cookie's server goes DOWN: the request goes elsewhere and gets a new cookie.
    let index = if value == "1" { 0 } else { 1 };
    s.worker.send(ToWorker::ServerHealth { backend: 0, server: index, up: false });
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = c.request(&get("www.abc.com", &format!("Cookie: SERVERID={value}\r\n")));
        if r.server() != server {
            let other_value = if value == "1" { "2" } else { "1" };
            assert_eq!(r.head.get("set-cookie"), Some(format!("SERVERID={other_value}; path=/").as_str()));
            break;
        }
        assert!(Instant::now() < deadline, "the DOWN server still gets its cookie's requests");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(s.web1.accepted() + s.web2.accepted() >= 2 && s.img.accepted() == 0 && s.app.accepted() == 0);
}

#[test]
fn a_thousand_keep_alive_requests_reuse_server_connections() {
    let s = seed("5s");
    let mut c = Client::connect(s.worker.addr);
    for i in 0..1000 {
        let r = c.request(&get("other.example", ""));
        assert_eq!(r.server(), "app1", "request {i}");
    }
    assert_eq!(s.app.accepted(), 1, "the server connection is reused for every request");
    assert_eq!(s.app.seen().len(), 1000);
    // A second client connection reuses the idle server connection too.
    let mut c2 = Client::connect(s.worker.addr);
    drop(c);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c2.request(&get("other.example", "")).server(), "app1");
    assert!(s.app.accepted() <= 2, "{}", s.app.accepted());
}

#[test]
fn chunked_bodies_of_one_mebibyte_arrive_intact() {
    let s = seed("5s");
    let mut c = Client::connect(s.worker.addr);
    // Response: 1 MiB chunked from the server.
    let r = c.request("GET /big HTTP/1.1\r\nHost: other.example\r\n\r\n");
    assert_eq!(r.head.get("transfer-encoding"), Some("chunked"));
    assert!(r.body == pattern(1024 * 1024, 7), "response body differs ({} bytes)", r.body.len());
    // Request: 1 MiB chunked to the server, on the same connection.
    let data = pattern(1024 * 1024, 3);
    let mut raw = b"POST /up HTTP/1.1\r\nHost: other.example\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend_from_slice(&chunked(&data, 7_000));
    let mut w = c.w.try_clone().unwrap();
    let sender = std::thread::spawn(move || w.write_all(&raw).unwrap());
    let r = c.response().expect("response to the upload");
    sender.join().unwrap();
    let sum = data.iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    assert!(r.text().contains(&format!("body={}:{sum}\n", data.len())), "{}", r.text());
    // And a plain request still works after both.
    assert_eq!(c.request(&get("other.example", "")).server(), "app1");
}

#[test]
fn a_slow_request_head_gets_408() {
    let s = seed("1s");
    let mut c = Client::connect(s.worker.addr);
    let started = Instant::now();
    let head = get("other.example", "");
    let mut got = None;
    for b in head.bytes() {
        if c.w.write_all(&[b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        if started.elapsed() > Duration::from_millis(1500) {
            got = c.response();
            break;
        }
    }
    let r = got.expect("a 408 response");
    assert_eq!(r.head.status(), 408);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(4), "{waited:?}");
    assert!(c.closed(), "the connection closes after a 408");
    assert_eq!(s.app.seen().len(), 0, "nothing reached the server");
    assert_eq!(s.worker.stats.frontends[0].counters.request_errors.load(Ordering::Relaxed), 1);
}

#[test]
fn bad_requests_get_their_status_and_never_reach_a_server() {
    let s = seed("5s");
    let big = format!("GET / HTTP/1.1\r\nHost: other.example\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    let cases: Vec<(&str, String, u16)> = vec![
        ("CL+TE", "POST / HTTP/1.1\r\nHost: other.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("duplicate CL", "POST / HTTP/1.1\r\nHost: other.example\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".into(), 400),
        ("oversized head", big, 431),
        ("header name byte", "GET / HTTP/1.1\r\nHost: other.example\r\nBad Name: x\r\n\r\n".into(), 400),
    ];
    for (what, raw, status) in &cases {
        let mut c = Client::connect(s.worker.addr);
        c.send(raw.as_bytes());
        let r = c.response().unwrap_or_else(|| panic!("{what}: no response"));
        assert_eq!(r.head.status(), *status, "{what}");
        assert!(c.closed(), "{what}: the connection closes");
    }
    // An invalid chunk size: the head is fine, the body is not. Nothing may be answered by the
    // server either: the request is refused before its body is complete.
    let mut c = Client::connect(s.worker.addr);
    c.send(b"POST /x HTTP/1.1\r\nHost: other.example\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    let r = c.response().expect("a response to the bad chunk");
    assert_eq!(r.head.status(), 400, "invalid chunk size");
    std::thread::sleep(Duration::from_millis(100));
    let complete = s.app.seen().iter().filter(|seen| seen.head.starts_with("POST /x")).count();
    assert_eq!(complete, 0, "the server got a complete request with a bad chunk");
    for seen in s.app.seen() {
        assert!(!seen.head.starts_with("POST / ") && !seen.head.contains("X-Big") && !seen.head.contains("Bad Name"), "{}", seen.head);
    }
    let errors = s.worker.stats.frontends[0].counters.request_errors.load(Ordering::Relaxed);
    assert_eq!(errors, 5, "each bad request is a request error");
}
