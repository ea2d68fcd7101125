//! The stick tables as the peers transport sees them ([`SharedTables`]): the tables of one
//! `peers` section, their local changes by change number (from the table's index, no scan), and
//! entries learned from peers applied as remote (HAProxy's `peer_treat_updatemsg()`: stored
//! with the received expiry and numbered as remote, so they do not go back out as local news
//! but a peer's full resync still gets them).
//! `server_id` travels as is: `stick match` maps it to the local server with that `id`, as
//! HAProxy does. Data types HAProxy has and these tables do not (arrays, `server_key`) are
//! ignored on receipt.

use crate::locking::lock;
use crate::peers::SharedTables;
use crate::stick::table::Table;
use hakeeper_common::config::stick_table::{StickDataType, StickKeyType, StickTableDef};
use hakeeper_common::peers::session::{LocalEntry, LocalTable, TableView};
use hakeeper_common::peers::{DataType, FreqCounter, Key, KeyType, StoredType, TypedValues, Value};
use hakeeper_common::stick_data::{StickKey, StickUpdate, StickValue};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The tables of one peers section: `index[i]` is the worker's table number of the section's
/// table `i`.
pub struct PeerTables {
    tables: Arc<Vec<Mutex<Table>>>,
    index: Vec<usize>,
}

impl PeerTables {
    pub fn new(tables: Arc<Vec<Mutex<Table>>>, index: Vec<usize>) -> Self {
        PeerTables { tables, index }
    }

    fn table(&self, i: usize) -> Option<&Mutex<Table>> {
        self.tables.get(*self.index.get(i)?)
    }
}

/// The definition a peer receives for `def` (HAProxy's table definition message).
pub fn local_table(def: &StickTableDef) -> LocalTable {
    let (key_type, len) = match def.key {
        StickKeyType::Ip => (KeyType::Ip, None),
        StickKeyType::Ipv6 => (KeyType::Ipv6, None),
        StickKeyType::Integer => (KeyType::Integer, None),
        StickKeyType::String { len } => (KeyType::String, Some(len)),
        StickKeyType::Binary { len } => (KeyType::Binary, Some(len)),
    };
    let stored = def
        .store
        .iter()
        .filter_map(|s| {
            let dt = DataType::from_id(u32::from(s.data.id()))?;
            Some(if s.data.is_rate() {
                StoredType::rate(dt, s.period.as_millis().min(u128::from(u32::MAX)) as u32)
            } else {
                StoredType::plain(dt)
            })
        })
        .collect();
    LocalTable {
        name: def.name.clone(),
        key_type,
        key_size: key_type.key_size(len),
        expire_ms: def.expire.map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32),
        stored,
    }
}

fn to_wire_key(key: &StickKey, kind: StickKeyType) -> Option<Key> {
    Some(match (key, kind) {
        (StickKey::V4(a), _) => Key::Ip(Ipv4Addr::from(*a)),
        (StickKey::V6(a), _) => Key::Ipv6(Ipv6Addr::from(*a)),
        (StickKey::Int(i), _) => Key::Integer(*i as u32),
        (StickKey::Bytes(b), StickKeyType::String { .. }) => Key::String(b.to_vec()),
        (StickKey::Bytes(b), StickKeyType::Binary { .. }) => Key::Binary(b.to_vec()),
        (StickKey::Bytes(_), _) => return None,
    })
}

fn from_wire_key(key: Key, kind: StickKeyType) -> Option<StickKey> {
    match (key, kind) {
        (Key::Ip(a), StickKeyType::Ip) => Some(StickKey::V4(a.octets())),
        (Key::Ipv6(a), StickKeyType::Ipv6) => Some(StickKey::V6(a.octets())),
        (Key::Integer(i), StickKeyType::Integer) => Some(StickKey::Int(i as i32)),
        (Key::String(b) | Key::Binary(b), StickKeyType::String { .. } | StickKeyType::Binary { .. }) => StickKey::from_bytes(&b, kind),
        _ => None,
    }
}

fn to_wire_value(t: StickDataType, v: StickValue) -> Option<TypedValues> {
    let data_type = DataType::from_id(u32::from(t.id()))?;
    let value = match v {
        StickValue::Sint(x) => Value::Sint(x),
        StickValue::Uint(x) => Value::Uint(x),
        StickValue::Ull(x) => Value::Ull(x),
        StickValue::Freq { since_ms, curr, prev } => Value::Freq(FreqCounter { elapsed_ms: since_ms, curr, prev }),
    };
    Some(TypedValues { data_type, values: vec![value] })
}

fn from_wire_value(tv: TypedValues) -> Option<(StickDataType, StickValue)> {
    if tv.data_type.is_array() {
        return None;
    }
    let t = StickDataType::from_id(u8::try_from(tv.data_type.id()).ok()?)?;
    let v = match tv.values.into_iter().next()? {
        Value::Sint(x) => StickValue::Sint(x),
        Value::Uint(x) => StickValue::Uint(x),
        Value::Ull(x) => StickValue::Ull(x),
        Value::Freq(f) => StickValue::Freq { since_ms: f.elapsed_ms, curr: f.curr, prev: f.prev },
        Value::Dict(_) => return None,
    };
    Some((t, v))
}

impl TableView for PeerTables {
    fn last_update_id(&self, table: usize) -> u32 {
        self.table(table).map_or(0, |t| lock(t).last_update())
    }

    fn entries_after(&self, table: usize, after: u32, max: usize) -> Vec<LocalEntry> {
        let Some(t) = self.table(table) else { return Vec::new() };
        let now = crate::stick::now_ms();
        let t = lock(t);
        let kind = t.def.key;
        t.changed_after(after, max)
            .into_iter()
            .filter_map(|(update_id, slot)| {
                let e = t.export(slot, now);
                Some(LocalEntry {
                    update_id,
                    key: to_wire_key(&e.key, kind)?,
                    expire_ms: e.expire_in_ms.unwrap_or(0),
                    values: e.values.into_iter().filter_map(|(t, v)| to_wire_value(t, v)).collect(),
                })
            })
            .collect()
    }
}

impl SharedTables for PeerTables {
    fn apply_remote(&mut self, table: usize, key: Key, expire_ms: Option<u32>, values: Vec<TypedValues>) {
        let Some(t) = self.table(table) else { return };
        let mut t = lock(t);
        let Some(key) = from_wire_key(key, t.def.key) else { return };
        // A table without `expire` keeps entries until evicted, whatever the peer's expiry.
        let expire_in_ms = if t.def.expire.is_some() { expire_ms } else { None };
        let update = StickUpdate { key, expire_in_ms, values: values.into_iter().filter_map(from_wire_value).collect() };
        if !t.apply(&update, crate::stick::now_ms()) {
            log::debug!("stick table {}: entry from a peer not stored (table full or entry expired)", t.def.name);
        }
    }
}

/// Starts the transport of each peers section whose listener the supervisor passed, with the
/// tables that name it; their local changes wake it from then on. A section that fails to
/// start is logged and left out: the proxy serves without sharing, as HAProxy does when a
/// peer cannot be reached.
pub fn start_peers(shared: &crate::shared::Shared, listeners: Vec<(usize, std::os::fd::OwnedFd)>) -> Vec<crate::peers::PeersHandle> {
    let mut handles = Vec::new();
    for (section, fd) in listeners {
        let Some(sec) = shared.config.peers.get(section) else { continue };
        let index: Vec<usize> = shared
            .config
            .http
            .stick_tables
            .iter()
            .enumerate()
            .filter(|(_, d)| d.peers.as_deref() == Some(sec.name.as_str()))
            .map(|(i, _)| i)
            .collect();
        let defs: Vec<LocalTable> = index.iter().filter_map(|&i| shared.config.http.stick_tables.get(i)).map(local_table).collect();
        let cfg = crate::peers::PeersConfig { section: sec.clone(), tables: defs };
        let view = Arc::new(Mutex::new(PeerTables::new(shared.tables.clone(), index.clone())));
        match crate::peers::spawn(std::net::TcpListener::from(fd), cfg, view) {
            Ok(h) => {
                let notify = h.notifier();
                for &i in &index {
                    if let Some(t) = shared.tables.get(i) {
                        lock(t).set_on_change(notify.clone());
                    }
                }
                log::info!("peers {}: listening on {} as {}, {} table(s) shared", sec.name, sec.local.addr, sec.local.name, index.len());
                handles.push(h);
            }
            Err(e) => log::error!("peers {}: cannot start: {e}; tables are not shared", sec.name),
        }
    }
    handles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stick::table::tests::def;

    fn shared(n: usize) -> Arc<Vec<Mutex<Table>>> {
        let d = def(100, Some(60_000), &[(StickDataType::ServerId, 0), (StickDataType::HttpReqRate, 10_000)]);
        Arc::new((0..n).map(|_| Mutex::new(Table::new(d.clone()))).collect())
    }

    #[test]
    fn local_changes_come_out_in_change_order_and_wrap() {
        let tables = shared(1);
        {
            let mut t = lock(&tables[0]);
            for n in 1..=5u8 {
                let s = t.get_or_create(&StickKey::V4([192, 0, 2, n]), 0).unwrap();
                t.set(s, StickDataType::ServerId, i64::from(n), 0);
                t.touch_local(s, 0);
            }
            // Entry 2 changes again: it moves to the end.
            let s = t.lookup(&StickKey::V4([192, 0, 2, 2]), 0).unwrap();
            t.touch_local(s, 0);
        }
        let p = PeerTables::new(tables, vec![0]);
        assert_eq!(p.last_update_id(0), 6);
        let ids = |after, max| p.entries_after(0, after, max).into_iter().map(|e| e.update_id).collect::<Vec<_>>();
        assert_eq!(ids(0, 10), [1, 3, 4, 5, 6]);
        assert_eq!(ids(3, 2), [4, 5]);
        assert_eq!(ids(4, 10), [5, 6, 1, 3, 4], "wrapping: the older ones after the newer");
        let e = &p.entries_after(0, 5, 1)[0];
        assert_eq!(e.key, Key::Ip(Ipv4Addr::new(192, 0, 2, 2)));
        assert!(e.values.contains(&TypedValues { data_type: DataType::ServerId, values: vec![Value::Sint(2)] }));
        assert_eq!(p.entries_after(1, 0, 10).len(), 0, "no such table");
    }

    #[test]
    fn learned_entries_are_stored_but_are_no_local_news() {
        let tables = shared(2);
        let mut p = PeerTables::new(tables.clone(), vec![1]);
        let values = vec![
            TypedValues { data_type: DataType::ServerId, values: vec![Value::Sint(3)] },
            TypedValues { data_type: DataType::ServerKey, values: vec![Value::Dict(Some("s3".into()))] },
            TypedValues { data_type: DataType::Gpc, values: vec![Value::Uint(1), Value::Uint(2)] },
        ];
        p.apply_remote(0, Key::Ip(Ipv4Addr::new(192, 0, 2, 9)), Some(30_000), values);
        // A key of the wrong type is dropped, not stored under a mangled key.
        p.apply_remote(0, Key::Integer(7), None, Vec::new());
        let mut t = lock(&tables[1]);
        assert_eq!(t.len(), 1);
        let now = crate::stick::now_ms();
        let s = t.lookup(&StickKey::V4([192, 0, 2, 9]), now).unwrap();
        assert_eq!(t.read_sint(s, StickDataType::ServerId), Some(3));
        assert!(t.expire_in(s, now).is_some_and(|left| left <= 30_000 && left > 25_000));
        assert_eq!(t.last_update(), 0, "no local change: nothing to push");
        drop(t);
        // A full resync still teaches it: it is in the index, half the number space away.
        let all = p.entries_after(0, 0, 10);
        assert_eq!(all.len(), 1);
        assert!(all[0].update_id >= 1 << 31, "{}", all[0].update_id);
        assert!(lock(&tables[0]).len() == 0, "only the section's table");
    }

    #[test]
    fn definitions_follow_haproxy() {
        let mut d = def(10, Some(30_000), &[(StickDataType::ServerId, 0), (StickDataType::ConnRate, 10_000)]);
        d.key = StickKeyType::String { len: 12 };
        let l = local_table(&d);
        assert_eq!((l.key_type, l.key_size, l.expire_ms), (KeyType::String, 13, 30_000));
        assert_eq!(l.stored, [StoredType::plain(DataType::ServerId), StoredType::rate(DataType::ConnRate, 10_000)]);
    }
}
