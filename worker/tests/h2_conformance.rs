//! RFC 9113 conformance of the HTTP/2 layer, side by side with HAProxy 2.6: each case (after
//! h2spec's list, by RFC section) sends raw frames to HAProxy (`bind … proto h2`) and to the
//! layer (`h2kit`'s driver), and reads what each answers. Where HAProxy answers as the RFC
//! requires, the layer must too; the table of both is printed (`--nocapture`) and kept in
//! `tests/bench/results/h2-conformance-*.md`.
//!
//! h2spec itself is in no package registry this project can use (Debian, crates.io, PyPI;
//! there is no Go toolchain), hence this suite. HAProxy comes from `tests/install-deps`.

mod h2conf;
mod h2kit;

use h2conf::*;

#[test]
fn every_case_haproxy_passes_the_h2_layer_passes() {
    let cases = cases();
    let hap = haproxy();
    let (port, server) = h2kit::server(cases.len());
    let mut table =
        vec!["| RFC 9113 | case | required | HAProxy 2.6 | hakeeper |".to_string(), "| --- | --- | --- | --- | --- |".to_string()];
    let mut failures = Vec::new();
    let (mut hap_pass, mut our_pass) = (0, 0);
    for c in &cases {
        let theirs = probe(hap.port, c);
        let ours = probe(port, c);
        let (tp, op) = (c.want.met_by(&theirs), c.want.met_by(&ours));
        hap_pass += usize::from(tp);
        our_pass += usize::from(op);
        let mark = |o: &Outcome, p: bool| format!("{}{}", o.show(), if p { "" } else { " ✗" });
        table.push(format!("| {} | {} | {:?} | {} | {} |", c.section, c.name, c.want, mark(&theirs, tp), mark(&ours, op)));
        if tp && !op {
            failures.push(format!("{} {}: HAProxy {:?}, hakeeper {:?}", c.section, c.name, theirs, ours));
        }
    }
    table.push(format!("\n{} cases: HAProxy 2.6 passes {hap_pass}, hakeeper passes {our_pass}.", cases.len()));
    println!("{}", table.join("\n"));
    drop(hap);
    let _ = server.join();
    assert!(failures.is_empty(), "cases HAProxy passes and hakeeper fails:\n{}", failures.join("\n"));
}

#[test]
fn every_flood_ends_the_connection_with_enhance_your_calm() {
    let floods = floods();
    let hap = haproxy();
    let (port, server) = h2kit::server(floods.len());
    let mut table = vec!["| flood | HAProxy 2.6 | hakeeper |".to_string(), "| --- | --- | --- |".to_string()];
    let mut failures = Vec::new();
    for (name, bytes) in &floods {
        let theirs = flood(hap.port, bytes);
        let ours = flood(port, bytes);
        table.push(format!("| {name} | {} | {} |", theirs.show(), ours.show()));
        if ours != Outcome::GoAway(0xb) {
            failures.push(format!("{name}: {ours:?}"));
        }
    }
    println!("{}", table.join("\n"));
    drop(hap);
    let _ = server.join();
    assert!(failures.is_empty(), "floods not ended with GOAWAY(ENHANCE_YOUR_CALM):\n{}", failures.join("\n"));
}
