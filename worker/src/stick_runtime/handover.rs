//! Stick tables across a reload: the draining worker sends every live entry of every table
//! with its data (HAProxy's old process pushing its tables to the new one over the local peer),
//! in parts small enough for one IPC frame; the new worker applies each part to its table of
//! the same name when the key type still fits, keeping what it already learned otherwise.

use crate::shared::{lock, Shared};
use hakeeper_common::config::stick_table::StickKeyType;
use hakeeper_common::stick_data::{StickKey, StickTableDump};

/// Entries per message: far below the frame limit even with 64-byte keys and every data type.
const PART: usize = 10_000;

/// Every table's live entries, in parts.
pub fn dump(shared: &Shared) -> Vec<StickTableDump> {
    let now = crate::stick::now_ms();
    let mut out = Vec::new();
    for t in shared.tables.iter() {
        let mut t = lock(t);
        let entries = t.dump(now);
        for part in entries.chunks(PART) {
            out.push(StickTableDump { table: t.def.name.clone(), entries: part.to_vec() });
        }
    }
    out
}

fn fits(key: &StickKey, kind: StickKeyType) -> bool {
    match (key, kind) {
        (StickKey::V4(_), StickKeyType::Ip) | (StickKey::V6(_), StickKeyType::Ipv6) | (StickKey::Int(_), StickKeyType::Integer) => true,
        (StickKey::Bytes(b), StickKeyType::String { len }) => b.len() <= len as usize,
        (StickKey::Bytes(b), StickKeyType::Binary { len }) => b.len() == len as usize,
        _ => false,
    }
}

/// Applies a part from the previous worker; the number of entries adopted.
pub fn load(shared: &Shared, part: &StickTableDump) -> usize {
    let Some(t) = shared.tables.iter().find(|t| lock(t).def.name == part.table) else { return 0 };
    let now = crate::stick::now_ms();
    let mut t = lock(t);
    let kind = t.def.key;
    part.entries.iter().filter(|e| fits(&e.key, kind) && t.apply(e, now)).count()
}
