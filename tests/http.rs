//! End-to-end `mode http`: `hakeeper run` with the seed's L7 setup (host routing to three
//! backends, cookie insert indirect nocache) in front of loopback HTTP backends.

mod harness;

use harness::http_backend::{header, HttpBackend, HttpClient};
use harness::process::*;
use std::net::SocketAddr;
use std::time::Duration;

fn seed_config(port: u16, web: &[&HttpBackend], img: &HttpBackend, app: &HttpBackend) -> String {
    format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: http, retries: 3, redispatch: true, log: true, log_format: httplog,
             timeout: (connect: "2s", client: "30s", server: "30s", http_request: "5s", http_keep_alive: "5s")),
  frontend: [(name: "main", bind: ["127.0.0.1:{port}"],
              acls: [(name: "web", criterion: "hdr(host) -i www.abc.com"),
                     (name: "img", criterion: "hdr(host) -i img.abc.com")],
              use_backend: [(backend: "webserver", cond: "if web"), (backend: "imgserver", cond: "if img")],
              default_backend: "dynamic")],
  backend: [(name: "webserver", balance: roundrobin,
             cookie: (name: "SERVERID", mode: insert, indirect: true, nocache: true),
             servers: [(name: "web1", addr: "{}", cookie: "1"), (name: "web2", addr: "{}", cookie: "2")]),
            (name: "imgserver", balance: roundrobin, servers: [(name: "img1", addr: "{}")]),
            (name: "dynamic", balance: roundrobin, servers: [(name: "app1", addr: "{}")])],
)
"#,
        web[0].addr, web[1].addr, img.addr, app.addr
    )
}

#[test]
fn seed_routing_and_cookie_persistence_through_the_binary() {
    let dir = TempDir::new("http_seed");
    let (web1, web2, img, app) =
        (HttpBackend::start("web1"), HttpBackend::start("web2"), HttpBackend::start("img1"), HttpBackend::start("app1"));
    let port = free_port();
    std::fs::write(dir.file("hakeeper.ron"), seed_config(port, &[&web1, &web2], &img, &app)).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut client = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            client = HttpClient::connect(addr).ok();
            client.is_some()
        }),
        "proxy never accepted on {addr}; log:\n{}",
        appliance.log_text()
    );
    let mut c = client.expect("client");

    for (host, expected) in [("img.abc.com", "img1"), ("other.example", "app1"), ("www.abc.com:80", "app1")] {
        let a = c.get(host, "").expect("response");
        assert_eq!((a.status, a.server()), (200, expected), "Host {host}");
    }
    let first = c.get("www.abc.com", "").expect("response");
    let server = first.server().to_string();
    assert!(server == "web1" || server == "web2", "{server}");
    let value = &server[3..];
    assert_eq!(header(&first.headers, "set-cookie"), Some(format!("SERVERID={value}; path=/").as_str()));
    assert_eq!(header(&first.headers, "cache-control"), Some("private"));
    for i in 0..50 {
        let a = c.get("www.abc.com", &format!("Cookie: SERVERID={value}\r\n")).expect("response");
        assert_eq!(a.server(), server, "request {i}");
        assert!(a.body.contains("cookie=-\n"), "indirect: the cookie must not reach the server: {}", a.body);
    }
    // A new client without the cookie is balanced to the other web server.
    let mut other = HttpClient::connect(addr).expect("connect");
    assert_ne!(other.get("www.abc.com", "").expect("response").server(), server);
    assert!(
        appliance.wait_for_log("main webserver/", Duration::from_secs(5)),
        "no httplog line for webserver; log:\n{}",
        appliance.log_text()
    );
    assert!(appliance.terminate(Duration::from_secs(10)).is_some(), "hakeeper did not stop");
}
