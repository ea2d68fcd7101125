//! `http-request` and `http-response` rules, run in order: header edits apply and evaluation
//! goes on; `allow` stops it; `deny` and `redirect` stop it with a response of the proxy's own.
//! Conditions see the message as the earlier rules left it, as in HAProxy.

use super::acl::{applies, RequestView};
use super::head::{RequestHead, ResponseHead};
use super::headers::Headers;
use crate::tcp_rules::ConnView;
use hakeeper_common::config::{Acl, HttpRule, Redirect, RequestAction, ResponseAction};
use std::net::IpAddr;

/// How the request rules ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestVerdict {
    /// Go on (no rule stopped it, or `allow`).
    Continue,
    /// Answer with the error response for this status.
    Deny(u16),
    /// Hold the client for the tarpit timeout, then answer with the error response for this
    /// status and close.
    Tarpit(u16),
    Redirect(Redirect),
}

/// How the response rules ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseVerdict {
    Continue,
    /// Replace the server's response with the error response for this status.
    Deny(u16),
}

fn set(headers: &mut Headers, name: &str, value: &str) {
    headers.set(name.as_bytes(), value.as_bytes());
}

pub fn run_request_rules(
    rules: &[HttpRule<RequestAction>],
    acls: &[Acl],
    head: &mut RequestHead,
    client: IpAddr,
    conn: Option<&ConnView<'_>>,
) -> RequestVerdict {
    let verdict = request_verdict(rules, acls, head, client, conn);
    // Rules may have edited Connection.
    head.refresh_connection();
    verdict
}

fn request_verdict(
    rules: &[HttpRule<RequestAction>],
    acls: &[Acl],
    head: &mut RequestHead,
    client: IpAddr,
    conn: Option<&ConnView<'_>>,
) -> RequestVerdict {
    for rule in rules {
        if !applies(rule.cond.as_ref(), acls, &RequestView::new(head, client, conn)) {
            continue;
        }
        match &rule.action {
            RequestAction::Allow => return RequestVerdict::Continue,
            RequestAction::Deny { status } => return RequestVerdict::Deny(*status),
            RequestAction::Tarpit { status } => return RequestVerdict::Tarpit(*status),
            RequestAction::Redirect(r) => return RequestVerdict::Redirect(r.clone()),
            RequestAction::SetHeader { name, value } => set(&mut head.headers, name, value),
            RequestAction::AddHeader { name, value } => head.headers.append(name.as_bytes(), value.as_bytes()),
            RequestAction::DelHeader { name } => {
                head.headers.remove(name);
            }
            RequestAction::Track(t) => track(conn, t, client, head),
            RequestAction::ScIncGpc0 { sc } => {
                if let Some((c, tr)) = conn.and_then(|c| Some((c, c.track?))) {
                    tr.inc_gpc0(c.shared, *sc, crate::stick::now_ms());
                }
            }
            RequestAction::ScSetGpt0 { sc, value } => {
                if let Some((c, tr)) = conn.and_then(|c| Some((c, c.track?))) {
                    tr.set_gpt0(c.shared, *sc, *value, crate::stick::now_ms());
                }
            }
        }
    }
    RequestVerdict::Continue
}

/// `http-request track-scN KEY [table T]`: nothing happens without the key (as HAProxy, a
/// sample that cannot be fetched tracks nothing) or the session's counters.
fn track(conn: Option<&ConnView<'_>>, t: &hakeeper_common::config::stick_syntax::Track, client: IpAddr, head: &RequestHead) {
    let Some(c) = conn else { return };
    let Some(trackers) = c.track else { return };
    let Some(key) =
        crate::stick_runtime::track::key_of(c.shared, t.table, &t.key, client, super::stick_rules::request_sample(&t.key, head))
    else {
        return;
    };
    if !trackers.track(c.shared, t.sc, t.table, &key, crate::stick_runtime::track::Level::Request, crate::stick::now_ms()) {
        log::debug!("stick table {} full: {client} not tracked", c.shared.config.http.stick_tables[t.table].name);
    }
}

pub fn run_response_rules(
    rules: &[HttpRule<ResponseAction>],
    acls: &[Acl],
    req: &RequestHead,
    resp: &mut ResponseHead,
    client: IpAddr,
    conn: Option<&ConnView<'_>>,
) -> ResponseVerdict {
    let verdict = response_verdict(rules, acls, req, resp, client, conn);
    resp.refresh_connection();
    verdict
}

fn response_verdict(
    rules: &[HttpRule<ResponseAction>],
    acls: &[Acl],
    req: &RequestHead,
    resp: &mut ResponseHead,
    client: IpAddr,
    conn: Option<&ConnView<'_>>,
) -> ResponseVerdict {
    for rule in rules {
        let view = RequestView { head: req, headers: &resp.headers, client, conn };
        if !applies(rule.cond.as_ref(), acls, &view) {
            continue;
        }
        match &rule.action {
            ResponseAction::Allow => return ResponseVerdict::Continue,
            ResponseAction::Deny { status } => return ResponseVerdict::Deny(*status),
            ResponseAction::SetHeader { name, value } => set(&mut resp.headers, name, value),
            ResponseAction::AddHeader { name, value } => resp.headers.append(name.as_bytes(), value.as_bytes()),
            ResponseAction::DelHeader { name } => {
                resp.headers.remove(name);
            }
        }
    }
    ResponseVerdict::Continue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_request, parse_response};
    use hakeeper_common::config::http_syntax::{parse_criterion, parse_request_rule, parse_response_rule, split_words, AclTable};

    fn table() -> AclTable {
        let mut t = AclTable::default();
        t.define("admin", parse_criterion(&split_words("path_beg /admin").unwrap()).unwrap());
        t.define("local", parse_criterion(&split_words("src 127.0.0.0/8").unwrap()).unwrap());
        t.define("json", parse_criterion(&split_words("hdr(content-type) -m beg application/json").unwrap()).unwrap());
        t
    }

    fn request_rules(lines: &[&str]) -> (Vec<HttpRule<RequestAction>>, Vec<Acl>) {
        let mut t = table();
        let rules = lines.iter().map(|l| parse_request_rule(l, &mut t).unwrap()).collect();
        (rules, t.into_acls())
    }

    fn run(lines: &[&str], request: &str, client: &str) -> (RequestVerdict, RequestHead) {
        let (rules, acls) = request_rules(lines);
        let mut head = parse_request(request.as_bytes()).unwrap().unwrap();
        let v = run_request_rules(&rules, &acls, &mut head, client.parse().unwrap(), None);
        (v, head)
    }

    #[test]
    fn deny_unless_local() {
        let rules = ["deny if admin !local"];
        assert_eq!(run(&rules, "GET /admin/x HTTP/1.1\r\n\r\n", "192.0.2.1").0, RequestVerdict::Deny(403));
        assert_eq!(run(&rules, "GET /admin/x HTTP/1.1\r\n\r\n", "127.0.0.1").0, RequestVerdict::Continue);
        assert_eq!(run(&rules, "GET /x HTTP/1.1\r\n\r\n", "192.0.2.1").0, RequestVerdict::Continue);
    }

    #[test]
    fn allow_stops_evaluation() {
        let rules = ["allow if local", "deny deny_status 429"];
        assert_eq!(run(&rules, "GET / HTTP/1.1\r\n\r\n", "127.0.0.1").0, RequestVerdict::Continue);
        assert_eq!(run(&rules, "GET / HTTP/1.1\r\n\r\n", "192.0.2.1").0, RequestVerdict::Deny(429));
    }

    #[test]
    fn header_edits_apply_in_order() {
        let rules =
            ["set-header X-Proto http", "add-header X-Tag a", "add-header X-Tag b", "del-header X-Secret", "set-header X-Proto https"];
        let (v, head) = run(&rules, "GET / HTTP/1.1\r\nX-Proto: spoofed\r\nX-Secret: 1\r\n\r\n", "192.0.2.1");
        assert_eq!(v, RequestVerdict::Continue);
        let mut out = Vec::new();
        head.write(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "GET / HTTP/1.1\r\nX-Tag: a\r\nX-Tag: b\r\nX-Proto: https\r\n\r\n");
    }

    #[test]
    fn redirects_stop_with_their_rule() {
        let (v, _) = run(&["redirect scheme https code 301 if !local"], "GET / HTTP/1.1\r\n\r\n", "192.0.2.1");
        assert!(matches!(v, RequestVerdict::Redirect(r) if r.code == 301));
    }

    #[test]
    fn connection_edits_are_seen() {
        let (_, head) = run(&["set-header Connection close"], "GET / HTTP/1.1\r\n\r\n", "192.0.2.1");
        assert!(!head.wants_keep_alive());
    }

    #[test]
    fn response_rules_read_response_headers() {
        let mut t = table();
        let rules: Vec<_> = ["set-header X-Kind json if json", "del-header Server", "deny if admin"]
            .iter()
            .map(|l| parse_response_rule(l, &mut t).unwrap())
            .collect();
        let acls = t.into_acls();
        let req = parse_request(b"GET /api HTTP/1.1\r\nContent-Type: text/plain\r\n\r\n").unwrap().unwrap();
        let mut resp = parse_response(b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Type: application/json\r\n\r\n").unwrap().unwrap();
        assert_eq!(run_response_rules(&rules, &acls, &req, &mut resp, "192.0.2.1".parse().unwrap(), None), ResponseVerdict::Continue);
        assert_eq!(resp.headers.get("x-kind"), Some(&b"json"[..]));
        assert!(!resp.headers.contains("server"));
        let admin = parse_request(b"GET /admin HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(run_response_rules(&rules, &acls, &admin, &mut resp, "192.0.2.1".parse().unwrap(), None), ResponseVerdict::Deny(502));
    }
}
