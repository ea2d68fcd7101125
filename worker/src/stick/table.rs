//! One stick table (HAProxy's `struct stktable`, `src/stick_table.c`): entries by key, each with
//! an expiry date, a reference count (sessions tracking it), a change number and the data the
//! table stores.
//!
//! Layout, for memory bounded by `size`: a hash map from key to slot number, the slots in one
//! vector, and every entry's data in one vector of words (`words` per slot, no allocation per
//! entry; IP keys are inline). The slots form a list from the most to the least recently
//! touched; since every touch sets the expiry to now + `expire`, that is also the order of
//! expiry, as HAProxy's expiry tree. When the table is full, expired entries go first, then the
//! least recently touched ones that no session tracks (`stktable_trash_oldest()`); with
//! `nopurge` a new key is refused instead. An entry that a session tracks never expires or gets
//! evicted; it is touched again when released (HAProxy's `stktable_touch_local()` with
//! `decrefcnt`).
//!
//! Change numbers: every local change of an entry (`touch_local`) gives it the table's next
//! update number, HAProxy's `stksess.upd` / `stktable.update`, which a peers session reads with
//! [`Table::updates_since`](crate::stick::Table). Entries applied from outside
//! ([`Table::apply`](crate::stick::Table)) keep their number: they are not news to pass on.

use super::freq;
use hakeeper_common::config::stick_table::{StickDataType, StickKeyType, StickStorage, StickTableDef};
use hakeeper_common::stick_data::StickKey;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// No slot (list ends).
const NIL: u32 = u32::MAX;

/// A slot number; stable while the entry lives (a tracked entry lives until released).
pub type Slot = u32;

struct Entry {
    key: StickKey,
    /// Tick it expires at (if the table has `expire`).
    expire: u32,
    /// Its change number.
    update: u32,
    /// Sessions tracking it.
    refs: u32,
    /// Neighbours in the recency list (towards the most and the least recent).
    newer: u32,
    older: u32,
}

/// Where each stored data type lives in an entry's words, and a rate's period.
#[derive(Clone)]
struct Layout {
    /// Word offset per data type id, `u8::MAX` when not stored.
    offset: [u8; StickDataType::ALL.len()],
    period_ms: [u32; StickDataType::ALL.len()],
    words: usize,
}

impl Layout {
    fn new(def: &StickTableDef) -> Self {
        let mut l = Layout { offset: [u8::MAX; StickDataType::ALL.len()], period_ms: [0; StickDataType::ALL.len()], words: 0 };
        for s in &def.store {
            let i = usize::from(s.data.id());
            if l.offset[i] != u8::MAX {
                continue;
            }
            l.offset[i] = l.words as u8;
            l.period_ms[i] = s.period.as_millis().min(u128::from(u32::MAX)) as u32;
            l.words += match s.data.storage() {
                StickStorage::Sint | StickStorage::Uint => 1,
                StickStorage::Ull => 2,
                StickStorage::Freq => freq::WORDS,
            };
        }
        l
    }
}

pub struct Table {
    pub def: StickTableDef,
    layout: Layout,
    expire_ms: Option<u32>,
    map: HashMap<StickKey, Slot>,
    entries: Vec<Entry>,
    data: Vec<u32>,
    free: Vec<Slot>,
    newest: u32,
    oldest: u32,
    /// The last change number given, local or not (HAProxy's `stktable.update`).
    update: u32,
    /// The last local change number (`stktable.localupdate`): what peers are pushed up to.
    local_update: u32,
    /// Live entries by their change number (those changed locally at least once): what a peers
    /// session walks from a peer's position without scanning the table (HAProxy's
    /// `stktable.updates` tree).
    by_update: BTreeMap<u32, Slot>,
    /// Called after each local change when the table is shared with peers (wakes the peers
    /// transport so that the change is pushed).
    on_change: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

/// Is tick `a` at or after tick `b` on the wrapping clock?
fn reached(now: u32, at: u32) -> bool {
    now.wrapping_sub(at) <= u32::MAX / 2
}

fn ms(d: Duration) -> u32 {
    d.as_millis().min(u128::from(u32::MAX / 2)) as u32
}

impl Table {
    pub fn new(def: StickTableDef) -> Self {
        Table {
            layout: Layout::new(&def),
            expire_ms: def.expire.map(ms),
            map: HashMap::new(),
            entries: Vec::new(),
            data: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            update: 0,
            local_update: 0,
            by_update: BTreeMap::new(),
            on_change: None,
            def,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Bytes one entry takes at most: its slot, its data words, its map cell, and for string
    /// and binary keys the key's bytes (twice: map and slot).
    pub fn entry_bytes(&self) -> usize {
        let key_heap = match self.def.key {
            StickKeyType::String { len } | StickKeyType::Binary { len } => 2 * len as usize,
            _ => 0,
        };
        // A hashbrown cell is the (key, slot) pair plus one control byte, at a load of 7/8.
        let cell = (std::mem::size_of::<(StickKey, Slot)>() + 1) * 8 / 7;
        std::mem::size_of::<Entry>() + 4 * self.layout.words + cell + key_heap
    }

    pub fn stores(&self, data: StickDataType) -> bool {
        self.layout.offset[usize::from(data.id())] != u8::MAX
    }

    pub fn key(&self, slot: Slot) -> &StickKey {
        &self.entries[slot as usize].key
    }

    pub fn refs(&self, slot: Slot) -> u32 {
        self.entries[slot as usize].refs
    }

    /// Milliseconds left before `slot` expires (`None` without `expire`).
    pub fn expire_in(&self, slot: Slot, now: u32) -> Option<u32> {
        self.expire_ms.map(|_| {
            let at = self.entries[slot as usize].expire;
            if reached(now, at) {
                0
            } else {
                at.wrapping_sub(now)
            }
        })
    }

    fn expired(&self, slot: Slot, now: u32) -> bool {
        let e = &self.entries[slot as usize];
        self.expire_ms.is_some() && e.refs == 0 && reached(now, e.expire)
    }

    /// The live entry for `key`, if any (an expired one is removed).
    pub fn lookup(&mut self, key: &StickKey, now: u32) -> Option<Slot> {
        let slot = *self.map.get(key)?;
        if self.expired(slot, now) {
            self.remove_slot(slot);
            return None;
        }
        Some(slot)
    }

    /// The entry for `key`, created empty if missing; `None` when the table is full and nothing
    /// can go (`nopurge`, or every entry tracked).
    pub fn get_or_create(&mut self, key: &StickKey, now: u32) -> Option<Slot> {
        if let Some(slot) = self.lookup(key, now) {
            return Some(slot);
        }
        if self.map.len() >= self.def.size as usize {
            self.purge(now);
        }
        if self.map.len() >= self.def.size as usize && (self.def.nopurge || !self.evict_oldest()) {
            return None;
        }
        let entry =
            Entry { key: key.clone(), expire: now.wrapping_add(self.expire_ms.unwrap_or(0)), update: 0, refs: 0, newer: NIL, older: NIL };
        let slot = match self.free.pop() {
            Some(s) => {
                self.entries[s as usize] = entry;
                s
            }
            None => {
                self.entries.push(entry);
                self.data.resize(self.data.len() + self.layout.words, 0);
                (self.entries.len() - 1) as Slot
            }
        };
        let words = self.layout.words;
        self.data[slot as usize * words..(slot as usize + 1) * words].fill(0);
        for t in StickDataType::ALL {
            if t.is_rate() && self.stores(t) {
                let off = self.offset(slot, t);
                freq::init(&mut self.data[off..off + freq::WORDS], now);
            }
        }
        self.map.insert(key.clone(), slot);
        self.link_newest(slot);
        Some(slot)
    }

    /// Removes expired entries from the old end of the list.
    pub fn purge(&mut self, now: u32) {
        let mut s = self.oldest;
        while s != NIL {
            let newer = self.entries[s as usize].newer;
            if self.expired(s, now) {
                self.remove_slot(s);
            } else if self.entries[s as usize].refs == 0 {
                // Untracked and alive: everything newer expires later.
                break;
            }
            s = newer;
        }
    }

    /// Evicts the least recently touched untracked entry.
    fn evict_oldest(&mut self) -> bool {
        let mut s = self.oldest;
        while s != NIL {
            if self.entries[s as usize].refs == 0 {
                self.remove_slot(s);
                return true;
            }
            s = self.entries[s as usize].newer;
        }
        false
    }

    /// Removes the entry for `key` unless a session tracks it (`clear table T key K`).
    pub fn remove(&mut self, key: &StickKey) -> bool {
        match self.map.get(key) {
            Some(&s) if self.entries[s as usize].refs == 0 => {
                self.remove_slot(s);
                true
            }
            _ => false,
        }
    }

    /// Removes every untracked entry for which `keep` is false; the number removed.
    pub fn remove_where(&mut self, mut remove: impl FnMut(&Table, Slot) -> bool) -> usize {
        let slots: Vec<Slot> = self.map.values().copied().filter(|&s| self.entries[s as usize].refs == 0 && remove(self, s)).collect();
        for &s in &slots {
            self.remove_slot(s);
        }
        slots.len()
    }

    fn remove_slot(&mut self, slot: Slot) {
        self.unlink(slot);
        self.unindex(slot);
        let key = std::mem::replace(&mut self.entries[slot as usize].key, StickKey::Int(0));
        self.map.remove(&key);
        self.free.push(slot);
    }

    fn unlink(&mut self, slot: Slot) {
        let (newer, older) = {
            let e = &self.entries[slot as usize];
            (e.newer, e.older)
        };
        if newer == NIL {
            self.newest = older;
        } else {
            self.entries[newer as usize].older = older;
        }
        if older == NIL {
            self.oldest = newer;
        } else {
            self.entries[older as usize].newer = newer;
        }
    }

    fn link_newest(&mut self, slot: Slot) {
        let old_newest = self.newest;
        {
            let e = &mut self.entries[slot as usize];
            e.newer = NIL;
            e.older = old_newest;
        }
        if old_newest == NIL {
            self.oldest = slot;
        } else {
            self.entries[old_newest as usize].newer = slot;
        }
        self.newest = slot;
    }

    /// Refreshes the expiry and the recency of `slot` without making it news.
    pub fn touch(&mut self, slot: Slot, now: u32) {
        if let Some(exp) = self.expire_ms {
            self.entries[slot as usize].expire = now.wrapping_add(exp);
        }
        if self.newest != slot {
            self.unlink(slot);
            self.link_newest(slot);
        }
    }

    /// A local change: touched, and given the next change number.
    pub fn touch_local(&mut self, slot: Slot, now: u32) {
        self.touch(slot, now);
        self.unindex(slot);
        self.update = self.update.wrapping_add(1);
        if self.update == 0 {
            self.update = 1;
        }
        self.local_update = self.update;
        self.index(slot, self.update);
        if let Some(f) = &self.on_change {
            f();
        }
    }

    /// An entry learned from outside (a peer, the previous worker): indexed half the number
    /// space away from the local changes, so that a full resync teaches it but local pushes
    /// (up to [`Table::last_update`]) do not send it back out, as HAProxy's
    /// `stktable_touch_remote()` numbers it (`++update + 2^31`). An entry already indexed keeps
    /// its number.
    pub fn touch_remote(&mut self, slot: Slot) {
        if self.entries[slot as usize].update != 0 {
            return;
        }
        self.update = self.update.wrapping_add(1);
        let mut key = self.update.wrapping_add(1 << 31);
        if key == 0 {
            key = 1;
        }
        self.index(slot, key);
    }

    fn index(&mut self, slot: Slot, key: u32) {
        self.entries[slot as usize].update = key;
        // After 2^32 changes a number comes back: the entry that held it leaves the index.
        if let Some(old) = self.by_update.insert(key, slot) {
            if old != slot {
                self.entries[old as usize].update = 0;
            }
        }
    }

    /// Shares the table: `f` is called after each local change.
    pub fn set_on_change(&mut self, f: std::sync::Arc<dyn Fn() + Send + Sync>) {
        self.on_change = Some(f);
    }

    fn unindex(&mut self, slot: Slot) {
        let u = self.entries[slot as usize].update;
        if u != 0 && self.by_update.get(&u) == Some(&slot) {
            self.by_update.remove(&u);
        }
        self.entries[slot as usize].update = 0;
    }

    /// Up to `max` entries changed locally, by change number from the one after `after`,
    /// wrapping (the order a peers session pushes them in); no scan of the whole table.
    pub fn changed_after(&self, after: u32, max: usize) -> Vec<(u32, Slot)> {
        let start = after.wrapping_add(1);
        self.by_update.range(start..).chain(self.by_update.range(..start)).take(max).map(|(&u, &s)| (u, s)).collect()
    }

    /// A session starts tracking `slot`: it stays until released.
    pub fn acquire(&mut self, slot: Slot) {
        let e = &mut self.entries[slot as usize];
        e.refs = e.refs.saturating_add(1);
    }

    /// A session stops tracking `slot`; its life starts again from now.
    pub fn release(&mut self, slot: Slot, now: u32) {
        let e = &mut self.entries[slot as usize];
        e.refs = e.refs.saturating_sub(1);
        self.touch_local(slot, now);
    }

    fn offset(&self, slot: Slot, data: StickDataType) -> usize {
        slot as usize * self.layout.words + usize::from(self.layout.offset[usize::from(data.id())])
    }

    /// The value of `data` in `slot` (a rate as events over its period now); `None` if not stored.
    pub fn read(&self, slot: Slot, data: StickDataType, now: u32) -> Option<u64> {
        if !self.stores(data) {
            return None;
        }
        let off = self.offset(slot, data);
        Some(match data.storage() {
            StickStorage::Sint => i64::from(self.data[off] as i32).max(0) as u64,
            StickStorage::Uint => u64::from(self.data[off]),
            StickStorage::Ull => u64::from(self.data[off]) | (u64::from(self.data[off + 1]) << 32),
            StickStorage::Freq => u64::from(freq::read(&self.data[off..off + freq::WORDS], self.period(data), now)),
        })
    }

    /// A signed value (`server_id`).
    pub fn read_sint(&self, slot: Slot, data: StickDataType) -> Option<i32> {
        self.stores(data).then(|| self.data[self.offset(slot, data)] as i32)
    }

    pub fn period(&self, data: StickDataType) -> u32 {
        self.layout.period_ms[usize::from(data.id())]
    }

    /// Adds `n` to a counter or events to a rate (a no-op if not stored).
    pub fn add(&mut self, slot: Slot, data: StickDataType, n: u64, now: u32) {
        if !self.stores(data) {
            return;
        }
        let off = self.offset(slot, data);
        match data.storage() {
            StickStorage::Sint | StickStorage::Uint => self.data[off] = self.data[off].wrapping_add(n as u32),
            StickStorage::Ull => {
                let v = (u64::from(self.data[off]) | (u64::from(self.data[off + 1]) << 32)).wrapping_add(n);
                self.data[off] = v as u32;
                self.data[off + 1] = (v >> 32) as u32;
            }
            StickStorage::Freq => {
                let p = self.period(data);
                freq::add(&mut self.data[off..off + freq::WORDS], p, n.min(u64::from(u32::MAX)) as u32, now)
            }
        }
    }

    /// Takes one off a counter, never below zero (`conn_cur` when a session ends).
    pub fn sub_one(&mut self, slot: Slot, data: StickDataType) {
        if self.stores(data) && data.storage() == StickStorage::Uint {
            let off = self.offset(slot, data);
            self.data[off] = self.data[off].saturating_sub(1);
        }
    }

    /// Sets a counter or a signed value (`sc-set-gpt0`, `set table … data.X V`, `server_id`);
    /// a rate is set as HAProxy's CLI sets one: the current count, the previous forgotten.
    pub fn set(&mut self, slot: Slot, data: StickDataType, value: i64, now: u32) {
        if !self.stores(data) {
            return;
        }
        let off = self.offset(slot, data);
        match data.storage() {
            StickStorage::Sint | StickStorage::Uint => self.data[off] = value as u32,
            StickStorage::Ull => {
                self.data[off] = value as u64 as u32;
                self.data[off + 1] = (value as u64 >> 32) as u32;
            }
            StickStorage::Freq => {
                freq::import(&mut self.data[off..off + freq::WORDS], 0, value.clamp(0, i64::from(u32::MAX)) as u32, 0, now)
            }
        }
    }

    /// Raw words of a stored data type, for [`super::sync`].
    pub(crate) fn words(&self, slot: Slot, data: StickDataType) -> Option<&[u32]> {
        let off = self.offset(slot, data);
        let n = match data.storage() {
            StickStorage::Sint | StickStorage::Uint => 1,
            StickStorage::Ull => 2,
            StickStorage::Freq => freq::WORDS,
        };
        self.stores(data).then(|| &self.data[off..off + n])
    }

    pub(crate) fn words_mut(&mut self, slot: Slot, data: StickDataType) -> Option<&mut [u32]> {
        if !self.stores(data) {
            return None;
        }
        let off = self.offset(slot, data);
        let n = match data.storage() {
            StickStorage::Sint | StickStorage::Uint => 1,
            StickStorage::Ull => 2,
            StickStorage::Freq => freq::WORDS,
        };
        Some(&mut self.data[off..off + n])
    }

    /// Sets the expiry of `slot` to `expire_in_ms` from now, at most the table's own.
    pub(crate) fn set_expire_in(&mut self, slot: Slot, expire_in_ms: u32, now: u32) {
        if let Some(exp) = self.expire_ms {
            self.entries[slot as usize].expire = now.wrapping_add(expire_in_ms.min(exp));
        }
    }

    pub(crate) fn update_of(&self, slot: Slot) -> u32 {
        self.entries[slot as usize].update
    }

    /// The last local change number.
    pub(crate) fn last_update(&self) -> u32 {
        self.local_update
    }

    /// Every live slot, most recently touched first.
    pub fn slots(&self) -> Vec<Slot> {
        let mut out = Vec::with_capacity(self.map.len());
        let mut s = self.newest;
        while s != NIL {
            out.push(s);
            s = self.entries[s as usize].older;
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hakeeper_common::config::stick_table::StickStore;

    pub(crate) fn def(size: u32, expire: Option<u64>, store: &[(StickDataType, u64)]) -> StickTableDef {
        StickTableDef {
            name: "t".into(),
            key: StickKeyType::Ip,
            size,
            expire: expire.map(Duration::from_millis),
            nopurge: false,
            peers: None,
            store: store.iter().map(|&(data, p)| StickStore { data, period: Duration::from_millis(p) }).collect(),
        }
    }

    fn ip(n: u8) -> StickKey {
        StickKey::V4([192, 0, 2, n])
    }

    #[test]
    fn counters_and_rates_count_per_entry() {
        let mut t = Table::new(def(
            10,
            Some(60_000),
            &[(StickDataType::HttpReqRate, 10_000), (StickDataType::HttpReqCnt, 0), (StickDataType::BytesInCnt, 0)],
        ));
        let a = t.get_or_create(&ip(1), 1_000).unwrap();
        let b = t.get_or_create(&ip(2), 1_000).unwrap();
        for _ in 0..12 {
            t.add(a, StickDataType::HttpReqRate, 1, 1_500);
            t.add(a, StickDataType::HttpReqCnt, 1, 1_500);
        }
        t.add(b, StickDataType::HttpReqRate, 1, 1_500);
        t.add(a, StickDataType::BytesInCnt, 5_000_000_000, 1_500);
        assert_eq!(t.read(a, StickDataType::HttpReqRate, 2_000), Some(12));
        assert_eq!(t.read(a, StickDataType::HttpReqCnt, 2_000), Some(12));
        assert_eq!(t.read(a, StickDataType::BytesInCnt, 2_000), Some(5_000_000_000), "64-bit counters hold past 4 GiB");
        assert_eq!(t.read(b, StickDataType::HttpReqRate, 2_000), Some(1));
        assert_eq!(t.read(a, StickDataType::ConnCur, 2_000), None, "not stored");
        // Half-way through the next period, half the old count is left.
        assert_eq!(t.read(a, StickDataType::HttpReqRate, 16_000), Some(6));
    }

    #[test]
    fn entries_expire_unless_tracked() {
        let mut t = Table::new(def(10, Some(1_000), &[(StickDataType::ConnCur, 0)]));
        let a = t.get_or_create(&ip(1), 0).unwrap();
        let b = t.get_or_create(&ip(2), 0).unwrap();
        t.acquire(b);
        assert_eq!(t.lookup(&ip(1), 999), Some(a));
        assert_eq!(t.lookup(&ip(1), 1_000), None);
        assert_eq!(t.lookup(&ip(2), 5_000), Some(b), "tracked entries stay");
        t.release(b, 5_000);
        assert_eq!(t.expire_in(b, 5_500), Some(500), "released: a new life from then");
        t.purge(6_000);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_touched_untracked_entry() {
        let mut t = Table::new(def(3, Some(60_000), &[]));
        let a = t.get_or_create(&ip(1), 0).unwrap();
        t.get_or_create(&ip(2), 10).unwrap();
        t.get_or_create(&ip(3), 20).unwrap();
        t.touch_local(a, 30);
        t.get_or_create(&ip(4), 40).unwrap();
        assert_eq!(t.len(), 3);
        assert!(t.lookup(&ip(2), 50).is_none(), "the oldest untouched went");
        assert!(t.lookup(&ip(1), 50).is_some(), "touched since");
        // Tracked entries are never evicted; when all are, the new key is refused.
        for s in t.slots() {
            t.acquire(s);
        }
        assert_eq!(t.get_or_create(&ip(5), 60), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn nopurge_refuses_new_keys_when_full_and_expired_ones_make_room() {
        let mut d = def(2, Some(1_000), &[]);
        d.nopurge = true;
        let mut t = Table::new(d);
        t.get_or_create(&ip(1), 0).unwrap();
        t.get_or_create(&ip(2), 0).unwrap();
        assert_eq!(t.get_or_create(&ip(3), 10), None);
        assert!(t.get_or_create(&ip(3), 1_000).is_some(), "expired entries leave room");
    }

    #[test]
    fn slots_are_reused_with_their_data_cleared() {
        let mut t = Table::new(def(1, Some(60_000), &[(StickDataType::Gpc0, 0), (StickDataType::ServerId, 0)]));
        let a = t.get_or_create(&ip(1), 0).unwrap();
        t.add(a, StickDataType::Gpc0, 3, 0);
        t.set(a, StickDataType::ServerId, -1, 0);
        assert_eq!(t.read_sint(a, StickDataType::ServerId), Some(-1));
        assert!(t.remove(&ip(1)));
        let b = t.get_or_create(&ip(2), 0).unwrap();
        assert_eq!(a, b);
        assert_eq!(t.read(b, StickDataType::Gpc0, 0), Some(0));
        assert_eq!(t.key(b), &ip(2));
        assert!(t.entry_bytes() < 128, "{}", t.entry_bytes());
    }

    #[test]
    fn local_changes_get_increasing_numbers() {
        let mut t = Table::new(def(10, None, &[]));
        let a = t.get_or_create(&ip(1), 0).unwrap();
        let b = t.get_or_create(&ip(2), 0).unwrap();
        t.touch_local(a, 1);
        t.touch_local(b, 2);
        t.touch_local(a, 3);
        assert_eq!((t.update_of(a), t.update_of(b), t.last_update()), (3, 2, 3));
        assert_eq!(t.expire_in(a, 10), None);
    }
}
#[cfg(test)]
mod lru_tests {
    use super::tests::def;
    use super::*;

    #[test]
    fn tracked_then_released_entries_keep_lru_order() {
        let mut t = Table::new(def(2, Some(60_000), &[(StickDataType::HttpReqCnt, 0)]));
        let ip = |n| StickKey::V4([127, 0, 0, n]);
        let req = |t: &mut Table, n: u8, now: u32| {
            let s = t.get_or_create(&ip(n), now).unwrap();
            t.acquire(s);
            t.add(s, StickDataType::HttpReqCnt, 1, now);
            t.touch_local(s, now);
            let v = t.read(s, StickDataType::HttpReqCnt, now).unwrap();
            t.sub_one(s, StickDataType::ConnCur);
            t.release(s, now);
            v
        };
        assert_eq!(req(&mut t, 11, 1), 1);
        assert_eq!(req(&mut t, 12, 2), 1);
        assert_eq!(req(&mut t, 11, 3), 2);
        assert_eq!(req(&mut t, 13, 4), 1);
        assert_eq!(req(&mut t, 12, 5), 1);
        assert_eq!(req(&mut t, 13, 6), 2);
    }
}
