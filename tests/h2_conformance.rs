//! RFC 9113 conformance through the binary (issue #21): the raw-frame cases and floods of
//! `worker/tests/h2conf` (after h2spec's list, by RFC section) sent to HAProxy 2.6 (`bind …
//! proto h2`) and to `hakeeper run` with a `proto: h2` bind in front of an HTTP/1.1 backend,
//! in the same run. Every case HAProxy passes, hakeeper passes; every flood ends hakeeper's
//! connection with GOAWAY(ENHANCE_YOUR_CALM). The tables are printed (`--nocapture`) and kept
//! in `tests/bench/results/h2-conformance-*.md`. HAProxy comes from `tests/install-deps`.

#[path = "../worker/tests/h2conf/mod.rs"]
mod h2conf;
mod harness;

use h2conf::*;
use harness::http_backend::HttpBackend;
use harness::process::*;
use std::time::Duration;

struct Setup {
    _dir: TempDir,
    _appliance: Appliance,
    _backend: HttpBackend,
    port: u16,
}

fn start(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let backend = HttpBackend::start("b1");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "5s", server: "5s", http_request: "5s", http_keep_alive: "5s")),
  frontend: [(name: "h2fe", bind: [(addr: "127.0.0.1:{port}", proto: h2)], default_backend: "app")],
  backend: [(name: "app", servers: [(name: "b1", addr: "{}")])],
)
"#,
        backend.addr
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut appliance = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    appliance.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "not listening");
    Setup { _dir: dir, _appliance: appliance, _backend: backend, port }
}

#[test]
fn every_case_haproxy_passes_the_binary_passes() {
    let cases = cases();
    let hap = haproxy();
    let setup = start("h2-conformance");
    let mut table =
        vec!["| RFC 9113 | case | required | HAProxy 2.6 | hakeeper run |".to_string(), "| --- | --- | --- | --- | --- |".to_string()];
    let mut failures = Vec::new();
    let (mut hap_pass, mut our_pass) = (0, 0);
    for c in &cases {
        let theirs = probe(hap.port, c);
        let ours = probe(setup.port, c);
        let (tp, op) = (c.want.met_by(&theirs), c.want.met_by(&ours));
        hap_pass += usize::from(tp);
        our_pass += usize::from(op);
        let mark = |o: &Outcome, p: bool| format!("{}{}", o.show(), if p { "" } else { " ✗" });
        table.push(format!("| {} | {} | {:?} | {} | {} |", c.section, c.name, c.want, mark(&theirs, tp), mark(&ours, op)));
        if tp && !op {
            failures.push(format!("{} {}: HAProxy {:?}, hakeeper {:?}", c.section, c.name, theirs, ours));
        }
    }
    table.push(format!("\n{} cases: HAProxy 2.6 passes {hap_pass}, hakeeper run passes {our_pass}.", cases.len()));
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "cases HAProxy passes and the binary fails:\n{}", failures.join("\n"));
}

#[test]
fn every_flood_ends_the_binarys_connection_with_enhance_your_calm() {
    let floods = floods();
    let hap = haproxy();
    let setup = start("h2-floods");
    let mut table = vec!["| flood | HAProxy 2.6 | hakeeper run |".to_string(), "| --- | --- | --- |".to_string()];
    let mut failures = Vec::new();
    for (name, bytes) in &floods {
        let theirs = flood(hap.port, bytes);
        let ours = flood(setup.port, bytes);
        table.push(format!("| {name} | {} | {} |", theirs.show(), ours.show()));
        if ours != Outcome::GoAway(0xb) {
            failures.push(format!("{name}: {ours:?}"));
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "floods not ended with GOAWAY(ENHANCE_YOUR_CALM):\n{}", failures.join("\n"));
}
