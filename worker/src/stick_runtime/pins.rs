//! The entries that stick rules read and write: a key pinned to a server by its `server_id`
//! (the server's `id`, so that an entry survives a reload that reorders servers and names the
//! same server on a peer). Shared by the HTTP rules (`http/stick_rules.rs`) and the TCP ones
//! ([`super::src_rules`]).

use crate::shared::{lock, Shared};
use hakeeper_common::config::stick_table::StickDataType;
use hakeeper_common::config::Backend;
use hakeeper_common::stick_data::StickKey;

/// The server (index in `be.servers`) that `key`'s live entry in `table` names; a match
/// refreshes the entry, as HAProxy's stick match touches it. An entry naming a server that is
/// gone gives `None` (the balancer decides).
pub fn server_of(shared: &Shared, be: &Backend, table: usize, key: &StickKey, now: u32) -> Option<usize> {
    let mut t = lock(shared.tables.get(table)?);
    let slot = t.lookup(key, now)?;
    let id = t.read_sint(slot, StickDataType::ServerId)?;
    let server = be.servers.iter().position(|s| i64::from(s.id) == i64::from(id))?;
    t.touch_local(slot, now);
    Some(server)
}

/// Records `key` in `table` with the server whose `id` is `server_id`.
pub fn pin(shared: &Shared, table: usize, key: &StickKey, server_id: u32, now: u32) {
    let Some(t) = shared.tables.get(table) else { return };
    let mut t = lock(t);
    let Some(slot) = t.get_or_create(key, now) else {
        log::debug!("stick table {} full: no room for a new entry", t.def.name);
        return;
    };
    t.set(slot, StickDataType::ServerId, i64::from(server_id), now);
    t.touch_local(slot, now);
}
