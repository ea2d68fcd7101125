//! HTTP connection modes (`option http-server-close`, `option httpclose`), `http-request
//! redirect` / `deny` on conditions, the request-hashing balance algorithms (`uri`,
//! `hdr(name)`, `url_param`) and `option dontlognull` for HTTP, through the worker.

mod httpkit;
mod support;

use httpkit::*;
use std::collections::HashSet;
use std::time::Duration;
use support::{logs_with, wait_logs, Worker};

/// Frontend `fe` (with `frontend` extra fields) in front of backend `fe_be` (with `backend`
/// extra fields) and the given servers, named s1, s2, …
fn proxy(fe: &str, frontend: &str, backend: &str, servers: &[&HttpServer]) -> Worker {
    let list: Vec<String> = servers.iter().enumerate().map(|(i, s)| format!(r#"(name: "s{}", addr: "{}")"#, i + 1, s.addr)).collect();
    Worker::start(worker_config(&format!(
        r#"(
      global: (maxconn: 100, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, retries: 1, log: true, log_format: httplog,
                 timeout: (connect: "2s", client: "10s", server: "10s", http_request: "5s", http_keep_alive: "5s")),
      frontend: [(name: "{fe}", bind: ["127.0.0.1:1"], default_backend: "{fe}_be", {frontend})],
      backend: [(name: "{fe}_be", {backend} servers: [{}])],
    )"#,
        list.join(", ")
    )))
}

fn start(names: &[&str]) -> Vec<HttpServer> {
    names.iter().map(|n| HttpServer::start(n)).collect()
}

#[test]
fn http_server_close_closes_each_server_connection_and_keeps_the_client() {
    let s = start(&["s1"]);
    let w = proxy("fesc", "", "http_connection: server_close,", &[&s[0]]);
    let mut c = Client::connect(w.addr);
    for i in 0..5 {
        let r = c.request(&get("x", ""));
        assert_eq!(r.server(), "s1", "request {i} on the same client connection");
        assert_eq!(r.head.get("connection"), None, "the client connection stays open");
    }
    assert_eq!(s[0].accepted(), 5, "one server connection per request");
    for seen in s[0].seen() {
        assert!(seen.head.contains("\r\nConnection: close\r\n"), "the server is told: {}", seen.head);
    }
}

#[test]
fn httpclose_closes_both_sides_and_says_so() {
    let s = start(&["s1"]);
    let w = proxy("fehc", "", "http_connection: close,", &[&s[0]]);
    for _ in 0..2 {
        let mut c = Client::connect(w.addr);
        let r = c.request(&get("x", "Connection: keep-alive\r\n"));
        assert_eq!(r.server(), "s1");
        assert_eq!(r.head.get("connection"), Some("close"));
        assert!(c.closed(), "the client connection ends after the response");
    }
    assert_eq!(s[0].accepted(), 2);
    assert!(s[0].seen().iter().all(|seen| seen.head.contains("\r\nConnection: close\r\n")));
    // The frontend's mode applies as well as the backend's.
    let w = proxy("fehc2", "http_connection: close,", "", &[&s[0]]);
    let mut c = Client::connect(w.addr);
    assert_eq!(c.request(&get("x", "")).head.get("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn redirect_and_deny_answer_on_their_condition_and_no_server_sees_them() {
    let s = start(&["s1"]);
    let rules = r#"http_request: ["redirect location /new code 301 if { path_beg /old }",
                                  "deny deny_status 403 if { hdr(x-block) -i yes }"],"#;
    let w = proxy("ferules", rules, "", &[&s[0]]);
    let mut c = Client::connect(w.addr);
    // A request served first: the frontend's own answers after it name no backend or server.
    assert_eq!(c.request(&get("x", "")).server(), "s1");
    let r = c.request("GET /old/page HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((r.head.status(), r.head.get("location")), (301, Some("/new")));
    let r = c.request(&get("x", "X-Block: YES\r\n"));
    assert_eq!(r.head.status(), 403);
    // Neither closed the connection (no body was left unread), and other requests pass.
    let r = c.request("GET /older HTTP/1.1\r\nHost: x\r\nX-Block: no\r\n\r\n");
    assert_eq!(r.head.status(), 301, "path_beg /old");
    let r = c.request("GET /fine HTTP/1.1\r\nHost: x\r\nX-Block: no\r\n\r\n");
    assert_eq!(r.server(), "s1");
    let seen = s[0].seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[1].head.starts_with("GET /fine "));
    let lines = wait_logs("ferules ferules/<NOSRV> ", 3, Duration::from_secs(5));
    assert!(lines[0].contains(" 301 ") && lines[0].contains(" LR-- "), "{}", lines[0]);
    assert!(lines[1].contains(" 403 ") && lines[1].contains(" PR-- "), "{}", lines[1]);
}

/// The server each request reaches, on one client connection.
fn servers_for(w: &Worker, requests: &[String]) -> Vec<String> {
    let mut c = Client::connect(w.addr);
    requests.iter().map(|r| c.request(r).server()).collect()
}

/// Each key reaches one server every time, different keys reach different servers, and
/// requests without the key are balanced round-robin.
fn check_hashing(fe: &str, balance: &str, with_key: impl Fn(u32) -> String, without_key: Option<&str>) {
    let s = start(&["s1", "s2", "s3"]);
    let w = proxy(fe, "", &format!("balance: {balance},"), &[&s[0], &s[1], &s[2]]);
    let mut used = HashSet::new();
    for key in 0..24 {
        let got = servers_for(&w, &vec![with_key(key); 4]);
        assert!(got.iter().all(|g| *g == got[0]), "{balance}: key {key} went to {got:?}");
        // And on another connection, after other keys, still the same.
        assert_eq!(servers_for(&w, &[with_key(key)])[0], got[0], "{balance}: key {key} moved");
        used.insert(got[0].clone());
    }
    assert_eq!(used.len(), 3, "{balance}: 24 keys over 3 servers used only {used:?}");
    if let Some(request) = without_key {
        let got: HashSet<String> = servers_for(&w, &vec![request.to_string(); 3]).into_iter().collect();
        assert_eq!(got.len(), 3, "{balance}: requests without the key are spread: {got:?}");
    }
}

#[test]
fn balance_uri_keeps_a_path_on_one_server_and_spreads_paths() {
    check_hashing("feuri", "uri", |k| format!("GET /img/{k}.png?v={} HTTP/1.1\r\nHost: x\r\n\r\n", k * 7 + 1), None);
}

#[test]
fn balance_hdr_keeps_a_header_value_on_one_server_and_spreads_values() {
    check_hashing("fehdr", r#"hdr("X-User")"#, |k| get("x", &format!("X-User: user{k}\r\n")), Some(&get("x", "")));
}

#[test]
fn balance_url_param_keeps_a_parameter_on_one_server_and_spreads_values() {
    check_hashing(
        "feparam",
        r#"url_param("uid")"#,
        |k| format!("GET /p?a=1&uid={k}&b={} HTTP/1.1\r\nHost: x\r\n\r\n", k % 3),
        Some("GET /p?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
}

#[test]
fn dontlognull_skips_empty_http_connections_that_are_logged_otherwise() {
    let s = start(&["s1"]);
    let quiet = proxy("fenull_on", "dontlognull: true,", "", &[&s[0]]);
    let loud = proxy("fenull_off", "", "", &[&s[0]]);
    for w in [&quiet, &loud] {
        drop(w.connect());
        // A head cut short is logged either way: the client did send something.
        let mut c = w.connect();
        std::io::Write::write_all(&mut c, b"GET / HT").unwrap();
        drop(c);
        assert_eq!(Client::connect(w.addr).request(&get("x", "")).server(), "s1");
    }
    wait_logs("fenull_on fenull_on_be/s1 ", 1, Duration::from_secs(5));
    wait_logs("fenull_off fenull_off_be/s1 ", 1, Duration::from_secs(5));
    let off = wait_logs("fenull_off fenull_off/<NOSRV> ", 2, Duration::from_secs(5));
    for line in &off {
        assert!(line.contains(" 400 0 ") && line.contains(" CR-- ") && line.ends_with("\"<BADREQ>\""), "{line}");
    }
    let on = logs_with("fenull_on fenull_on/<NOSRV> ");
    assert_eq!(on.len(), 1, "only the cut-short head: {on:?}");
}

#[test]
fn keep_alive_alternating_servers_reuses_one_connection_to_each() {
    // Round-robin over two servers on one client connection: each request's server differs from
    // the previous one, so the session's kept connection goes to the thread's pool and the one
    // to the other server comes back from it. Two server connections serve every request.
    let s = start(&["s1", "s2"]);
    // One event-loop thread: idle connections are pooled per thread.
    let w = Worker::start(worker_config(&format!(
        r#"(
      global: (maxconn: 100, nbthread: 1, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, timeout: (connect: "2s", client: "10s", server: "10s", http_keep_alive: "5s")),
      frontend: [(name: "fealt", bind: ["127.0.0.1:1"], default_backend: "fealt_be")],
      backend: [(name: "fealt_be", servers: [(name: "s1", addr: "{}"), (name: "s2", addr: "{}")])],
    )"#,
        s[0].addr, s[1].addr
    )));
    let mut c = Client::connect(w.addr);
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen.push(c.request(&get("x", "")).server().to_string());
    }
    assert!(seen.windows(2).all(|p| p[0] != p[1]), "round-robin alternates: {seen:?}");
    assert_eq!((s[0].accepted(), s[1].accepted()), (1, 1), "one server connection each, reused");
    // A second client takes over the connections the first one left when it closes.
    drop(c);
    std::thread::sleep(Duration::from_millis(100));
    let mut c2 = Client::connect(w.addr);
    for _ in 0..4 {
        c2.request(&get("x", ""));
    }
    assert_eq!((s[0].accepted(), s[1].accepted()), (1, 1), "the closed client's connections were pooled");
}

#[test]
fn a_kept_server_connection_that_the_server_closed_is_not_reused() {
    // A backend that answers one request per connection without saying so (no
    // `Connection: close`), then closes a moment later, as servers with a short keep-alive do.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = accepts.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                std::thread::sleep(Duration::from_millis(50));
            });
        }
    });
    let w = Worker::start(worker_config(&format!(
        r#"(
      global: (maxconn: 100, nbthread: 1, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, timeout: (connect: "2s", client: "10s", server: "10s", http_keep_alive: "5s")),
      frontend: [(name: "feclosed", bind: ["127.0.0.1:1"], default_backend: "feclosed_be")],
      backend: [(name: "feclosed_be", servers: [(name: "s1", addr: "{addr}")])],
    )"#
    )));
    let mut c = Client::connect(w.addr);
    for i in 0..3 {
        let r = c.request(&get("x", ""));
        assert_eq!(r.head.status(), 200, "request {i}");
        // The server closes its side meanwhile; the next request must not be sent on it.
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(accepts.load(std::sync::atomic::Ordering::SeqCst), 3, "a new server connection per request");
}

#[test]
fn clients_answered_408_leave_maxconn_at_once_instead_of_after_a_linger() {
    // Two clients take the frontend's two slots and send nothing; `timeout http-request` answers
    // them 408. They never close their side, so the slots must be freed when the 408 and the FIN
    // are out (as HAProxy closes at once), not after the 2 s drain that waits for their FIN.
    let s = start(&["s1"]);
    let w = Worker::start(worker_config(&format!(
        r#"(
      global: (maxconn: 100, nbthread: 1, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, timeout: (connect: "2s", client: "10s", server: "10s", http_request: "300ms")),
      frontend: [(name: "fe408", bind: ["127.0.0.1:1"], maxconn: 2, default_backend: "fe408_be")],
      backend: [(name: "fe408_be", servers: [(name: "s1", addr: "{}")])],
    )"#,
        s[0].addr
    )));
    let idle: Vec<Client> = (0..2).map(|_| Client::connect(w.addr)).collect();
    std::thread::sleep(Duration::from_millis(50));
    let t0 = std::time::Instant::now();
    // Waits in the listen backlog until a slot frees.
    let mut c = Client::connect(w.addr);
    let r = c.request(&get("x", ""));
    let waited = t0.elapsed();
    assert_eq!(r.head.status(), 200);
    assert!(waited < Duration::from_millis(1200), "the third client waited {waited:?}; the idle ones were answered after 300 ms");
    for mut i in idle {
        assert_eq!(i.response().expect("the 408").head.status(), 408);
    }
}

/// A backend answering each request with a short keep-alive response, counting the connections
/// it accepted and those the proxy closed.
struct CountingBackend {
    addr: std::net::SocketAddr,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    closed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingBackend {
    fn start() -> CountingBackend {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, c) = (accepted.clone(), closed.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                a.fetch_add(1, SeqCst);
                let c = c.clone();
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    loop {
                        match conn.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => {
                                c.fetch_add(1, SeqCst);
                                return;
                            }
                        }
                        if head.ends_with(b"\r\n\r\n") {
                            head.clear();
                            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                        }
                    }
                });
            }
        });
        CountingBackend { addr, accepted, closed }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn reuse_worker(name: &str, reuse: &str, server: std::net::SocketAddr) -> Worker {
    Worker::start(worker_config(&format!(
        r#"(
      global: (maxconn: 100, nbthread: 1, log: (target: "stderr", facility: "local1")),
      defaults: (mode: http, timeout: (connect: "2s", client: "10s", server: "10s", http_keep_alive: "5s")),
      frontend: [(name: "{name}", bind: ["127.0.0.1:1"], default_backend: "{name}_be")],
      backend: [(name: "{name}_be", {reuse} servers: [(name: "s1", addr: "{server}")])],
    )"#
    )))
}

/// Two clients one after the other, three requests each.
fn two_clients_three_requests(w: &Worker) {
    for _ in 0..2 {
        let mut c = Client::connect(w.addr);
        for _ in 0..3 {
            assert_eq!(c.request(&get("x", "")).head.status(), 200);
        }
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn http_reuse_safe_shares_a_proven_connection_across_clients_and_never_does_not() {
    let shared = CountingBackend::start();
    let w = reuse_worker("fereuse_safe", "", shared.addr);
    two_clients_three_requests(&w);
    assert_eq!(shared.accepted(), 1, "safe (the default): the second client takes the first one's connection");
    let private = CountingBackend::start();
    let w = reuse_worker("fereuse_never", "http_reuse: never,", private.addr);
    two_clients_three_requests(&w);
    assert_eq!(private.accepted(), 2, "never: one connection per client, reused only by its own requests");
    assert!(
        (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            private.closed() == 2
        }),
        "never: a client's connection closes with it ({} closed)",
        private.closed()
    );
}

#[test]
fn a_server_marked_down_has_its_idle_connections_closed() {
    let s = CountingBackend::start();
    let w = reuse_worker("fedown", "", s.addr);
    let mut c = Client::connect(w.addr);
    assert_eq!(c.request(&get("x", "")).head.status(), 200);
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!((s.accepted(), s.closed()), (1, 0), "the connection waits idle for another request");
    w.send(hakeeper_common::ipc::ToWorker::ServerHealth { backend: 0, server: 0, up: false });
    let closed = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        s.closed() == 1
    });
    assert!(closed, "the DOWN server's idle connection is closed");
}
