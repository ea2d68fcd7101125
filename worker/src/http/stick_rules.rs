//! `stick match|on|store-request|store-response` (HAProxy's `process_sticking_rules()` and
//! `process_store_rules()`): a request whose key has a live entry goes to the server the entry
//! names (by server id, so that entries survive a reload that reorders servers); the keys of
//! store rules are recorded with the server that answered once its response head arrives, as
//! HAProxy's store rules run as a response analyser. The first matching rule wins; an entry
//! naming a server that is gone is ignored (the balancer decides).
//!
//! Conditions (`if|unless COND`, on the backend's ACLs): as HAProxy, those of `match`, `on` and
//! `store-request` rules are evaluated on the request ([`request_conditions`]) and carried to
//! the response in a mask. `store-response` rules take none (the config refuses one).

use crate::http::acl::{applies, RequestView};
use crate::http::head::RequestHead;
use crate::http::headers::{trim, Headers};
use crate::shared::Shared;
use crate::stick_runtime::pins;
use crate::tcp_rules::ConnView;
use hakeeper_common::config::stick_rule::StickRule;
use hakeeper_common::config::stick_syntax::{StickRuleKind, StickSample, TrackKey};
use hakeeper_common::config::{Acl, Backend};
use hakeeper_common::stick_data::StickKey;
use std::net::IpAddr;

/// Rules past the mask's 64 bits have their request condition evaluated again where used.
const MASK_BITS: usize = 64;

/// Bit N set when rule N is a request rule whose condition holds on `view` (or has none).
pub fn request_conditions(rules: &[StickRule], acls: &[Acl], view: &RequestView<'_>) -> u64 {
    let mut mask = 0u64;
    for (n, r) in rules.iter().enumerate().take(MASK_BITS) {
        if r.kind != StickRuleKind::StoreResponse && applies(r.cond.as_ref(), acls, view) {
            mask |= 1 << n;
        }
    }
    mask
}

/// Whether request rule `n` applies: its bit, or (past the mask) its condition on `view`.
fn request_rule_holds(n: usize, r: &StickRule, mask: u64, acls: &[Acl], view: &RequestView<'_>) -> bool {
    if n < MASK_BITS {
        mask & (1 << n) != 0
    } else {
        applies(r.cond.as_ref(), acls, view)
    }
}

/// The server (index in `be.servers`) a `match`/`on` rule sends the request to; `mask` from
/// [`request_conditions`] on the same request.
pub fn match_server(shared: &Shared, be: &Backend, rules: &[StickRule], mask: u64, acls: &[Acl], view: &RequestView<'_>) -> Option<usize> {
    let now = crate::stick::now_ms();
    let (head, client) = (view.head, view.client);
    rules.iter().enumerate().filter(|(_, r)| matches!(r.kind, StickRuleKind::Match | StickRuleKind::On)).find_map(|(n, r)| {
        if !request_rule_holds(n, r, mask, acls, view) {
            return None;
        }
        let StickSample::Request(k) = &r.sample else { return None };
        let key = crate::stick_runtime::track::key_of(shared, r.table, k, client, request_sample(k, head))?;
        pins::server_of(shared, be, r.table, &key, now)
    })
}

/// What the store rules see: the request (its head and the conditions that held on it), the
/// response's headers, the client and the connection.
pub struct StoreView<'a> {
    pub head: &'a RequestHead,
    pub mask: u64,
    pub response: &'a Headers,
    pub client: IpAddr,
    pub conn: Option<&'a ConnView<'a>>,
}

/// Records the store rules' keys with `server` (index in `be.servers`).
pub fn store(shared: &Shared, be: &Backend, rules: &[StickRule], acls: &[Acl], server: usize, v: &StoreView<'_>) {
    let Some(id) = be.servers.get(server).map(|s| s.id) else { return };
    let now = crate::stick::now_ms();
    let (head, response, client) = (v.head, v.response, v.client);
    let request = RequestView::new(head, client, v.conn);
    for (n, r) in rules.iter().enumerate() {
        let holds = match r.kind {
            // The config takes no condition on these.
            StickRuleKind::StoreResponse => true,
            StickRuleKind::On | StickRuleKind::StoreRequest => request_rule_holds(n, r, v.mask, acls, &request),
            StickRuleKind::Match => false,
        };
        if !holds {
            continue;
        }
        let key = match (&r.kind, &r.sample) {
            (StickRuleKind::On | StickRuleKind::StoreRequest, StickSample::Request(k)) => {
                crate::stick_runtime::track::key_of(shared, r.table, k, client, request_sample(k, head))
            }
            (StickRuleKind::StoreResponse, StickSample::ResCookie(name)) => response_key(shared, r.table, set_cookie_value(response, name)),
            (StickRuleKind::StoreResponse, StickSample::ResHeader(name)) => response_key(shared, r.table, response.get_all(name).last()),
            _ => None,
        };
        if let Some(key) = key {
            pins::pin(shared, r.table, &key, id, now);
        }
    }
}

fn response_key(shared: &Shared, table: usize, value: Option<&[u8]>) -> Option<StickKey> {
    let kind = shared.config.http.stick_tables.get(table)?.key;
    StickKey::from_bytes(value?, kind)
}

/// The value of the first `Set-Cookie: NAME=VALUE; …` of that name (HAProxy's `res.cook`).
fn set_cookie_value<'a>(headers: &'a Headers, name: &str) -> Option<&'a [u8]> {
    headers.get_all("set-cookie").find_map(|line| {
        let first = trim(line.split(|&b| b == b';').next()?);
        let eq = first.iter().position(|&b| b == b'=')?;
        (trim(&first[..eq]) == name.as_bytes()).then(|| trim(&first[eq + 1..]))
    })
}

/// The request's value for a `track-sc`/`stick` key other than `src`: the last `NAME` header,
/// the `req.cook(NAME)` cookie or the `url_param(NAME)` value.
pub fn request_sample<'a>(key: &'a TrackKey, head: &'a RequestHead) -> Option<&'a [u8]> {
    match key {
        TrackKey::Src => None,
        TrackKey::Header(name) => head.headers.get_all(name).last(),
        TrackKey::Cookie(name) => cookie_value(head, name),
        TrackKey::UrlParam(name) => super::balance_key::url_param_key(head, name),
    }
}

/// The first cookie called `name` of the request's `Cookie` lines (HAProxy's `req.cook`).
pub fn cookie_value<'a>(head: &'a RequestHead, name: &str) -> Option<&'a [u8]> {
    head.headers.get_all("cookie").flat_map(|line| line.split(|&b| b == b';')).find_map(|pair| {
        let pair = trim(pair);
        let (n, v) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
        (n == name.as_bytes()).then(|| &v[1..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_request;
    use hakeeper_common::config::http_syntax::{parse_stick_rule, AclTable};
    use hakeeper_common::config::stick_syntax::StickScope;

    fn rules(lines: &[&str]) -> (Vec<StickRule>, Vec<Acl>) {
        let scope = StickScope::new(vec!["app".into()], "app");
        let mut t = AclTable::default();
        let rules = lines.iter().map(|l| parse_stick_rule(l, &scope, &mut t).expect("a stick rule")).collect();
        (rules, t.into_acls())
    }

    #[test]
    fn request_conditions_are_a_mask_of_request_rules() {
        let (rules, acls) = rules(&[
            "match req.cook(S) if { path_beg /app }",
            "on req.cook(S) unless { src 192.0.2.0/24 }",
            "store-request src",
            "store-response res.cook(S)",
        ]);
        let mask = |request: &str, client: &str| {
            let head = parse_request(request.as_bytes()).expect("parses").expect("complete");
            request_conditions(&rules, &acls, &RequestView::new(&head, client.parse().expect("ip"), None))
        };
        // Rule 3's condition is the response's: never in the mask.
        assert_eq!(mask("GET /app HTTP/1.1\r\n\r\n", "198.51.100.1"), 0b0111);
        assert_eq!(mask("GET /app HTTP/1.1\r\n\r\n", "192.0.2.9"), 0b0101);
        assert_eq!(mask("GET /static HTTP/1.1\r\n\r\n", "192.0.2.9"), 0b0100);
        let head = parse_request(b"GET / HTTP/1.1\r\n\r\n").expect("parses").expect("complete");
        let view = RequestView::new(&head, "192.0.2.9".parse().expect("ip"), None);
        assert!(request_rule_holds(2, &rules[2], 0b0100, &acls, &view));
        assert!(!request_rule_holds(1, &rules[1], 0b0100, &acls, &view));
        // Past the mask's bits, the condition is evaluated on the view.
        assert!(!request_rule_holds(MASK_BITS, &rules[1], u64::MAX, &acls, &view));
        assert!(request_rule_holds(MASK_BITS + 1, &rules[2], 0, &acls, &view));
    }
}
