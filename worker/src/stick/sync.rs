//! A table's entries as [`StickUpdate`]s: the local changes since a change number (what a
//! peers session pushes, HAProxy's `stktable.updates` walk from a peer's `last_pushed`), every
//! entry (the dump a draining worker hands to its successor, HAProxy's local resync), and the
//! application of one received from outside (`peer_treat_updatemsg()`): created or updated in
//! place, its expiry the one received (at most the table's), data types this table does not
//! store ignored, and no local change number (it is not news to push; it gets a remote number
//! so that a peer's full resync includes it, see `Table::touch_remote`).

use super::freq;
use super::table::{Slot, Table};
use hakeeper_common::config::stick_table::{StickDataType, StickStorage};
use hakeeper_common::stick_data::{StickUpdate, StickValue};

impl Table {
    /// `slot` as an update, its values in data type order.
    pub fn export(&self, slot: Slot, now: u32) -> StickUpdate {
        let values = StickDataType::ALL
            .iter()
            .filter_map(|&t| {
                let w = self.words(slot, t)?;
                Some((
                    t,
                    match t.storage() {
                        StickStorage::Sint => StickValue::Sint(w[0] as i32),
                        StickStorage::Uint => StickValue::Uint(w[0]),
                        StickStorage::Ull => StickValue::Ull(u64::from(w[0]) | (u64::from(w[1]) << 32)),
                        StickStorage::Freq => {
                            let (since_ms, curr, prev) = freq::export(w, now);
                            StickValue::Freq { since_ms, curr, prev }
                        }
                    },
                ))
            })
            .collect();
        StickUpdate { key: self.key(slot).clone(), expire_in_ms: self.expire_in(slot, now), values }
    }

    /// The entries changed locally after change number `since`, oldest change first, with the
    /// number of each; pass the last number back to get only what came after.
    pub fn updates_since(&self, since: u32, now: u32) -> Vec<(u32, StickUpdate)> {
        let last = self.last_update();
        // Numbers wrap: "after `since`, up to the last one given".
        let window = last.wrapping_sub(since);
        let mut changed: Vec<(u32, Slot)> = self
            .slots()
            .into_iter()
            .map(|s| (self.update_of(s), s))
            .filter(|&(u, _)| {
                let age = last.wrapping_sub(u);
                u != 0 && age < window
            })
            .collect();
        changed.sort_by_key(|&(u, _)| std::cmp::Reverse(last.wrapping_sub(u)));
        changed.into_iter().map(|(u, s)| (u, self.export(s, now))).collect()
    }

    /// Every live entry, for the next worker.
    pub fn dump(&mut self, now: u32) -> Vec<StickUpdate> {
        self.purge(now);
        self.slots().into_iter().map(|s| self.export(s, now)).collect()
    }

    /// Applies an entry received from outside; false when the table is full and nothing can go,
    /// or the entry has already expired.
    pub fn apply(&mut self, update: &StickUpdate, now: u32) -> bool {
        if update.expire_in_ms == Some(0) {
            return false;
        }
        let Some(slot) = self.get_or_create(&update.key, now) else { return false };
        for &(t, v) in &update.values {
            let Some(w) = self.words_mut(slot, t) else { continue };
            match (t.storage(), v) {
                (StickStorage::Sint, StickValue::Sint(x)) => w[0] = x as u32,
                (StickStorage::Uint, StickValue::Uint(x)) => w[0] = x,
                (StickStorage::Ull, StickValue::Ull(x)) => {
                    w[0] = x as u32;
                    w[1] = (x >> 32) as u32;
                }
                (StickStorage::Freq, StickValue::Freq { since_ms, curr, prev }) => freq::import(w, since_ms, curr, prev, now),
                // A value of the wrong kind for its type: ignored, as a malformed field.
                _ => log::debug!("stick table {}: {} value of the wrong kind ignored", self.def.name, t.name()),
            }
        }
        self.touch(slot, now);
        self.touch_remote(slot);
        if let Some(left) = update.expire_in_ms {
            self.set_expire_in(slot, left, now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::def;
    use super::*;
    use hakeeper_common::stick_data::StickKey;

    fn ip(n: u8) -> StickKey {
        StickKey::V4([192, 0, 2, n])
    }

    #[test]
    fn a_dump_applied_elsewhere_reads_the_same() {
        let store =
            [(StickDataType::ServerId, 0), (StickDataType::HttpReqRate, 10_000), (StickDataType::BytesOutCnt, 0), (StickDataType::Gpt0, 0)];
        let mut a = Table::new(def(10, Some(30_000), &store));
        let s = a.get_or_create(&ip(1), 1_000).unwrap();
        a.set(s, StickDataType::ServerId, 2, 1_000);
        a.set(s, StickDataType::Gpt0, 7, 1_000);
        a.add(s, StickDataType::BytesOutCnt, 1 << 40, 1_000);
        for _ in 0..9 {
            a.add(s, StickDataType::HttpReqRate, 1, 2_000);
        }
        a.touch_local(s, 2_000);
        let dump = a.dump(12_000);
        assert_eq!(dump.len(), 1);
        assert_eq!(dump[0].expire_in_ms, Some(20_000));
        // Another process with another clock.
        let mut b = Table::new(def(10, Some(30_000), &store[..3]));
        assert!(b.apply(&dump[0], 500_000));
        let t = b.lookup(&ip(1), 500_000).unwrap();
        assert_eq!(b.read_sint(t, StickDataType::ServerId), Some(2));
        assert_eq!(b.read(t, StickDataType::BytesOutCnt, 500_000), Some(1 << 40));
        assert_eq!(b.read(t, StickDataType::HttpReqRate, 500_000), a.read(s, StickDataType::HttpReqRate, 12_000));
        assert_eq!(b.read(t, StickDataType::Gpt0, 500_000), None, "not stored here");
        assert_eq!(b.expire_in(t, 500_000), Some(20_000), "the remaining life, not a fresh one");
        assert!(b.updates_since(0, 500_000).is_empty(), "applied entries are no local news");
    }

    #[test]
    fn updates_since_lists_only_later_local_changes_in_order() {
        let mut t = Table::new(def(10, Some(60_000), &[(StickDataType::Gpc0, 0)]));
        let a = t.get_or_create(&ip(1), 0).unwrap();
        let b = t.get_or_create(&ip(2), 0).unwrap();
        let _c = t.get_or_create(&ip(3), 0).unwrap();
        t.touch_local(a, 1);
        t.touch_local(b, 2);
        let all: Vec<(u32, StickKey)> = t.updates_since(0, 3).into_iter().map(|(u, e)| (u, e.key)).collect();
        assert_eq!(all, vec![(1, ip(1)), (2, ip(2))], "the untouched entry is not news");
        t.add(a, StickDataType::Gpc0, 1, 4);
        t.touch_local(a, 4);
        let later: Vec<(u32, StickKey)> = t.updates_since(2, 5).into_iter().map(|(u, e)| (u, e.key)).collect();
        assert_eq!(later, vec![(3, ip(1))]);
        assert!(t.updates_since(3, 5).is_empty());
    }

    #[test]
    fn expired_or_unplaceable_updates_are_refused() {
        let mut d = def(1, Some(60_000), &[]);
        d.nopurge = true;
        let mut t = Table::new(d);
        let u = |n, left| StickUpdate { key: ip(n), expire_in_ms: Some(left), values: vec![(StickDataType::Gpc0, StickValue::Uint(1))] };
        assert!(!t.apply(&u(1, 0), 0));
        assert!(t.apply(&u(1, 100), 0));
        assert!(!t.apply(&u(2, 100), 0), "full, nopurge");
        assert!(t.apply(&u(2, 100), 100), "the first one expired");
    }
}
