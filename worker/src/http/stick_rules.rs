//! `stick match|on|store-request|store-response` (HAProxy's `process_sticking_rules()` and
//! `process_store_rules()`): a request whose key has a live entry goes to the server the entry
//! names (by server id, so that entries survive a reload that reorders servers); the keys of
//! store rules are recorded with the server that answered once its response head arrives, as
//! HAProxy's store rules run as a response analyser. The first matching rule wins; an entry
//! naming a server that is gone is ignored (the balancer decides).

use crate::http::head::RequestHead;
use crate::http::headers::{trim, Headers};
use crate::shared::{lock, Shared};
use hakeeper_common::config::stick_syntax::{StickRule, StickRuleKind, StickSample, TrackKey};
use hakeeper_common::config::stick_table::StickDataType;
use hakeeper_common::config::Backend;
use hakeeper_common::stick_data::StickKey;
use std::net::IpAddr;

/// The server (index in `be.servers`) a `match`/`on` rule sends the request to.
pub fn match_server(shared: &Shared, be: &Backend, rules: &[StickRule], head: &RequestHead, client: IpAddr) -> Option<usize> {
    let now = crate::stick::now_ms();
    rules.iter().filter(|r| matches!(r.kind, StickRuleKind::Match | StickRuleKind::On)).find_map(|r| {
        let StickSample::Request(k) = &r.sample else { return None };
        let key = crate::stick_runtime::track::key_of(shared, r.table, k, client, request_sample(k, head))?;
        let mut t = lock(shared.tables.get(r.table)?);
        let slot = t.lookup(&key, now)?;
        let id = t.read_sint(slot, StickDataType::ServerId)?;
        let server = be.servers.iter().position(|s| i64::from(s.id) == i64::from(id))?;
        // A match refreshes the entry, as HAProxy's stick match touches it.
        t.touch_local(slot, now);
        Some(server)
    })
}

/// Records the store rules' keys with `server` (index in `be.servers`).
pub fn store(shared: &Shared, be: &Backend, rules: &[StickRule], server: usize, head: &RequestHead, response: &Headers, client: IpAddr) {
    let Some(id) = be.servers.get(server).map(|s| s.id) else { return };
    let now = crate::stick::now_ms();
    for r in rules {
        let key = match (&r.kind, &r.sample) {
            (StickRuleKind::On | StickRuleKind::StoreRequest, StickSample::Request(k)) => {
                crate::stick_runtime::track::key_of(shared, r.table, k, client, request_sample(k, head))
            }
            (StickRuleKind::StoreResponse, StickSample::ResCookie(name)) => response_key(shared, r.table, set_cookie_value(response, name)),
            (StickRuleKind::StoreResponse, StickSample::ResHeader(name)) => response_key(shared, r.table, response.get_all(name).last()),
            _ => None,
        };
        let Some(key) = key else { continue };
        let Some(t) = shared.tables.get(r.table) else { continue };
        let mut t = lock(t);
        let Some(slot) = t.get_or_create(&key, now) else {
            log::debug!("stick table {} full: no room for a new entry", t.def.name);
            continue;
        };
        t.set(slot, StickDataType::ServerId, i64::from(id), now);
        t.touch_local(slot, now);
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
