//! `stick match|on|store-request src` in a `mode tcp` backend: the session goes to the server
//! the client address's entry names, and the server it connected to is recorded once the
//! connection is up, as HAProxy's `process_sticking_rules()` and `process_store_rules()` do for
//! TCP streams. The entries live in the same shared tables as the HTTP ones, so they are shared
//! with peers (the Mycat pair's `stick on src` survives a failover). Validation allows only the
//! `src` key in mode tcp: nothing else of a request exists there.

use super::pins;
use crate::shared::Shared;
use hakeeper_common::config::stick_rule::StickRule;
use hakeeper_common::config::stick_syntax::{StickRuleKind, StickSample, TrackKey};
use hakeeper_common::config::Backend;
use std::net::IpAddr;

/// The server (index in `be.servers`) a `match`/`on src` rule sends the session to.
pub fn match_server(shared: &Shared, be: &Backend, rules: &[StickRule], client: IpAddr) -> Option<usize> {
    let now = crate::stick::now_ms();
    rules.iter().filter(|r| matches!(r.kind, StickRuleKind::Match | StickRuleKind::On)).find_map(|r| {
        let StickSample::Request(TrackKey::Src) = &r.sample else { return None };
        let key = super::track::key_of(shared, r.table, &TrackKey::Src, client, None)?;
        pins::server_of(shared, be, r.table, &key, now)
    })
}

/// Records the client address with `server` (index in `be.servers`) for the `on` and
/// `store-request src` rules.
pub fn store(shared: &Shared, be: &Backend, rules: &[StickRule], server: usize, client: IpAddr) {
    let Some(id) = be.servers.get(server).map(|s| s.id) else { return };
    let now = crate::stick::now_ms();
    for r in rules {
        if !matches!((&r.kind, &r.sample), (StickRuleKind::On | StickRuleKind::StoreRequest, StickSample::Request(TrackKey::Src))) {
            continue;
        }
        if let Some(key) = super::track::key_of(shared, r.table, &TrackKey::Src, client, None) {
            pins::pin(shared, r.table, &key, id, now);
        }
    }
}
