//! Comparing what HAProxy and hakeeper answered, request by request, and the list of accepted
//! differences in `tests/differential/KNOWN-DIFFERENCES.md`: each entry is a bullet
//! `` - `FILE.cfg` `ID` `ID`… (intended|bug, reported): why ``, and covers those requests of that
//! file.

use super::differential_client::Outcome;
use std::collections::BTreeSet;

/// One request whose outcomes differ, with the fields that do.
#[derive(Debug)]
pub struct Difference {
    pub id: String,
    pub fields: Vec<String>,
}

/// Fields of the two outcomes that differ, each as `field: haproxy=… hakeeper=…`.
/// `compare_body`: the status came from an errorfile, whose bytes both must send.
pub fn differences(haproxy: &Outcome, hakeeper: &Outcome, compare_body: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{name}: haproxy={a} hakeeper={b}"));
        }
    };
    field("status", haproxy.status.clone(), hakeeper.status.clone());
    field("server", haproxy.server.clone(), hakeeper.server.clone());
    field("set-cookie", format!("{:?}", haproxy.set_cookie), format!("{:?}", hakeeper.set_cookie));
    field("response headers", format!("{:?}", haproxy.response_headers), format!("{:?}", hakeeper.response_headers));
    field("headers seen by the server", format!("{:?}", haproxy.seen), format!("{:?}", hakeeper.seen));
    if compare_body {
        field("body", format!("{:?}", haproxy.body), format!("{:?}", hakeeper.body));
    }
    out
}

pub fn compare(haproxy: &[(String, Outcome)], hakeeper: &[(String, Outcome)], errorfile_codes: &BTreeSet<u16>) -> Vec<Difference> {
    let mut out = Vec::new();
    for ((id, a), (_, b)) in haproxy.iter().zip(hakeeper) {
        let generated = a.server == "-" && a.status.parse::<u16>().is_ok_and(|c| errorfile_codes.contains(&c));
        let fields = differences(a, b, generated);
        if !fields.is_empty() {
            out.push(Difference { id: id.clone(), fields });
        }
    }
    out
}

/// `(file, request id)` pairs listed in KNOWN-DIFFERENCES.md: bullets that start with a
/// backquoted file name followed by one or more backquoted request ids.
pub fn known_differences(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("- `") else { continue };
        let Some((file, mut rest)) = rest.split_once('`') else { continue };
        if !file.ends_with(".cfg") {
            continue;
        }
        while let Some(tail) = rest.trim_start().strip_prefix('`') {
            let Some((id, after)) = tail.split_once('`') else { break };
            out.insert((file.to_string(), id.to_string()));
            rest = after;
        }
    }
    out
}
