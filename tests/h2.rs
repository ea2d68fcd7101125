//! End-to-end HTTP/2 towards clients (issue #21): `hakeeper run` with `proto: h2` on a
//! cleartext bind in front of three loopback HTTP/1.1 backends, driven by curl
//! (`--http2-prior-knowledge`), nghttp and h2load (nghttp2-client, from `tests/install-deps`;
//! a missing tool fails the test).

mod harness;

use harness::http_backend::HttpBackend;
use harness::process::*;
use std::process::Command;
use std::time::Duration;

fn config(port: u16, app: &[&HttpBackend], img: &HttpBackend) -> String {
    format!(
        r#"(
  global: (user: "nobody", h2: (max_concurrent_streams: 100)),
  defaults: (mode: http, log: true, log_format: httplog,
             timeout: (connect: "2s", client: "30s", server: "30s", http_request: "5s", http_keep_alive: "5s")),
  frontend: [(name: "h2fe", bind: [(addr: "127.0.0.1:{port}", proto: h2)],
              acls: [(name: "img", criterion: "hdr(host) -i img.test")],
              use_backend: [(backend: "img", cond: "if img")],
              default_backend: "app")],
  backend: [(name: "app", balance: roundrobin,
             servers: [(name: "a1", addr: "{}"), (name: "a2", addr: "{}"), (name: "a3", addr: "{}")]),
            (name: "img", balance: roundrobin, servers: [(name: "i1", addr: "{}")])],
)
"#,
        app[0].addr, app[1].addr, app[2].addr, img.addr
    )
}

/// Runs a client tool, bounded in time; a missing tool fails the test.
fn run(args: &[&str], timeout: Duration) -> std::process::Output {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    match output_within(cmd, timeout) {
        Ok(out) => out,
        Err(e) => panic!("{} could not run ({e}): install it with tests/install-deps", args[0]),
    }
}

struct Setup {
    _dir: TempDir,
    appliance: Appliance,
    port: u16,
    _app: Vec<HttpBackend>,
    _img: HttpBackend,
}

fn start(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let app: Vec<HttpBackend> = ["a1", "a2", "a3"].iter().map(|n| HttpBackend::start(n)).collect();
    let img = HttpBackend::start("i1");
    let port = free_port();
    std::fs::write(dir.file("hakeeper.ron"), config(port, &[&app[0], &app[1], &app[2]], &img)).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    let up = wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(up, "proxy never accepted on {port}; log:\n{}", appliance.log_text());
    Setup { _dir: dir, appliance, port, _app: app, _img: img }
}

#[test]
fn prior_knowledge_streams_are_transactions_balanced_over_three_servers() {
    let s = start("h2_streams");
    let url = format!("http://127.0.0.1:{}/", s.port);

    // curl, one request: Host comes from :authority, the ACL routes on it.
    let out = run(
        &["curl", "-s", "--http2-prior-knowledge", "-H", "Host: img.test", "-w", "\n%{http_version} %{http_code}", &url],
        Duration::from_secs(20),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("server=i1\n") && text.ends_with("\n2 200"), "curl: {text}\n{}", String::from_utf8_lossy(&out.stderr));

    // nghttp: 30 concurrent streams on one connection, round-robin over the three servers.
    let out = run(&["nghttp", "-m", "30", &url], Duration::from_secs(20));
    assert!(out.status.success(), "nghttp: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["a1", "a2", "a3"] {
        let n = text.matches(&format!("server={name}\n")).count();
        assert_eq!(n, 10, "{name} served {n} of 30 streams (round-robin): {text}");
    }

    // httplog: one line per stream, `HTTP/2.0` as HAProxy logs it.
    let log = &s.appliance;
    assert!(log.wait_for_log("h2fe img/i1 ", Duration::from_secs(5)), "no httplog line for img; log:\n{}", log.log_text());
    assert!(
        wait_until(Duration::from_secs(5), || log.log_text().matches("\"GET / HTTP/2.0\"").count() >= 31),
        "31 lines with HTTP/2.0 expected; log:\n{}",
        log.log_text()
    );
}

#[test]
fn a_large_upload_with_flow_control_and_h2load_on_one_connection() {
    let s = start("h2_upload");
    let url = format!("http://127.0.0.1:{}/up", s.port);
    // 5 MiB: many times the 64 KiB windows, so the upload goes only as the windows open.
    let body = s._dir.file("body.bin");
    let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&body, &data).expect("write body");
    let at = format!("@{}", body.display());
    let out = run(
        &[
            "curl",
            "-s",
            "--http2-prior-knowledge",
            "--data-binary",
            &at,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code} %{size_upload}",
            &url,
        ],
        Duration::from_secs(30),
    );
    // The backend answers only once it has read the whole Content-Length body.
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("2 200 {}", data.len()), "{}", String::from_utf8_lossy(&out.stderr));

    // h2load: 500 requests, 100 concurrent streams on one connection, none failed.
    let out = run(&["h2load", "-n", "500", "-c", "1", "-m", "100", &url], Duration::from_secs(40));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("500 succeeded, 0 failed"), "h2load: {text}");
    assert!(text.contains("status codes: 500 2xx"), "h2load: {text}");
}
