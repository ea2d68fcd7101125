//! Sticky counters: the entries a session tracks (`track-sc0/1/2`), what tracking counts in
//! them, and the `sc_*`/`src_*` fetches that read them back, as HAProxy's `stkctr`
//! (`stream_track_stkctr()`, `stream_inc_http_req_ctr()`, `stream_inc_http_err_ctr()`,
//! `smp_fetch_sc_*()` in `src/stick_table.c`).
//!
//! When tracking starts, `conn_cnt`, `conn_cur` and `conn_rate` count the connection; the entry
//! is then held (never expires nor is evicted) until the session lets it go, when `conn_cur`
//! drops and its life starts again from then. Counters tracked by `tcp-request` rules belong to
//! the connection (also `sess_cnt`/`sess_rate`) and count each of its HTTP requests; those of
//! `http-request` rules belong to a request, count it when tracking starts, and are let go when
//! the next request on the connection begins or the connection ends (HAProxy lets them go at
//! the end of each request: `conn_cur` here also covers the keep-alive wait that follows).
//!
//! The counters live in `Cell`s so that rules can track while ACL views borrow them.

use crate::shared::{lock, Shared};
use crate::stick::table::Slot;
use hakeeper_common::config::stick_syntax::{StickCounter, StickFetch, TrackKey};
use hakeeper_common::config::stick_table::StickDataType as D;
use hakeeper_common::stick_data::StickKey;
use std::cell::Cell;
use std::net::IpAddr;

/// Sticky counters per session (HAProxy's `MAX_SESS_STKCTR`).
pub const COUNTERS: usize = 3;

/// One tracked entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub table: usize,
    pub slot: Slot,
}

/// A session's sticky counters.
#[derive(Debug, Default)]
pub struct Trackers {
    /// Tracked by `tcp-request` rules: for the connection's life.
    conn: [Cell<Option<Tracked>>; COUNTERS],
    /// Tracked by `http-request` rules: for the current request.
    req: [Cell<Option<Tracked>>; COUNTERS],
}

/// Where tracking was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Connection,
    Request,
}

impl Trackers {
    /// The entry counter `sc` tracks: the request's, else the connection's.
    pub fn get(&self, sc: u8) -> Option<Tracked> {
        let i = usize::from(sc);
        self.req.get(i).and_then(Cell::get).or_else(|| self.conn.get(i).and_then(Cell::get))
    }

    pub fn any(&self) -> bool {
        self.conn.iter().chain(&self.req).any(|c| c.get().is_some())
    }

    /// `track-scN`: starts tracking `key` in `table` on counter `sc` unless that counter
    /// already tracks something; false when the table is full and nothing can go.
    pub fn track(&self, shared: &Shared, sc: u8, table: usize, key: &StickKey, level: Level, now: u32) -> bool {
        let i = usize::from(sc);
        if i >= COUNTERS || self.get(sc).is_some() {
            return true;
        }
        let Some(t) = shared.tables.get(table) else { return false };
        let mut t = lock(t);
        let Some(slot) = t.get_or_create(key, now) else { return false };
        t.acquire(slot);
        t.add(slot, D::ConnCnt, 1, now);
        t.add(slot, D::ConnRate, 1, now);
        t.add(slot, D::ConnCur, 1, now);
        match level {
            Level::Connection => {
                t.add(slot, D::SessCnt, 1, now);
                t.add(slot, D::SessRate, 1, now);
            }
            // As HAProxy's http-request track-sc: "count a new HTTP request as it's the first
            // time we do it".
            Level::Request => {
                t.add(slot, D::HttpReqCnt, 1, now);
                t.add(slot, D::HttpReqRate, 1, now);
            }
        }
        t.touch_local(slot, now);
        let cell = match level {
            Level::Connection => &self.conn[i],
            Level::Request => &self.req[i],
        };
        cell.set(Some(Tracked { table, slot }));
        true
    }

    /// Adds to data of every distinct entry tracked (an entry tracked on two counters counts once).
    fn each_entry(&self, shared: &Shared, now: u32, mut f: impl FnMut(&mut crate::stick::Table, Slot)) {
        let mut seen: [Option<Tracked>; 2 * COUNTERS] = [None; 2 * COUNTERS];
        for (n, c) in self.req.iter().chain(&self.conn).enumerate() {
            let Some(tr) = c.get() else { continue };
            if seen[..n].contains(&Some(tr)) {
                continue;
            }
            seen[n] = Some(tr);
            if let Some(t) = shared.tables.get(tr.table) {
                let mut t = lock(t);
                f(&mut t, tr.slot);
                t.touch_local(tr.slot, now);
            }
        }
    }

    /// A new HTTP request on the connection: the previous request's counters go, the
    /// connection's count it (`stream_inc_http_req_ctr()`).
    pub fn http_request(&self, shared: &Shared, now: u32) {
        self.release_level(shared, Level::Request, now);
        if self.conn.iter().all(|c| c.get().is_none()) {
            return;
        }
        let conn_only = Trackers { conn: self.conn.clone(), req: Default::default() };
        conn_only.each_entry(shared, now, |t, s| {
            t.add(s, D::HttpReqCnt, 1, now);
            t.add(s, D::HttpReqRate, 1, now);
        });
    }

    /// An HTTP error charged to the client (a 4xx, a denied or invalid request).
    pub fn http_error(&self, shared: &Shared, now: u32) {
        self.each_entry(shared, now, |t, s| {
            t.add(s, D::HttpErrCnt, 1, now);
            t.add(s, D::HttpErrRate, 1, now);
        });
    }

    /// Bytes from the client (`in`) and to it (`out`).
    pub fn bytes(&self, shared: &Shared, bytes_in: u64, bytes_out: u64, now: u32) {
        if bytes_in == 0 && bytes_out == 0 {
            return;
        }
        self.each_entry(shared, now, |t, s| {
            t.add(s, D::BytesInCnt, bytes_in, now);
            t.add(s, D::BytesInRate, bytes_in, now);
            t.add(s, D::BytesOutCnt, bytes_out, now);
            t.add(s, D::BytesOutRate, bytes_out, now);
        });
    }

    /// `sc-inc-gpc0(N)`.
    pub fn inc_gpc0(&self, shared: &Shared, sc: u8, now: u32) {
        self.with(shared, sc, now, |t, s| {
            t.add(s, D::Gpc0, 1, now);
            t.add(s, D::Gpc0Rate, 1, now);
        });
    }

    /// `sc-set-gpt0(N) V`.
    pub fn set_gpt0(&self, shared: &Shared, sc: u8, value: i64, now: u32) {
        self.with(shared, sc, now, |t, s| t.set(s, D::Gpt0, value, now));
    }

    fn with(&self, shared: &Shared, sc: u8, now: u32, f: impl FnOnce(&mut crate::stick::Table, Slot)) {
        let Some(tr) = self.get(sc) else { return };
        if let Some(t) = shared.tables.get(tr.table) {
            let mut t = lock(t);
            f(&mut t, tr.slot);
            t.touch_local(tr.slot, now);
        }
    }

    fn release_level(&self, shared: &Shared, level: Level, now: u32) {
        let cells = match level {
            Level::Connection => &self.conn,
            Level::Request => &self.req,
        };
        for c in cells {
            if let Some(tr) = c.take() {
                if let Some(t) = shared.tables.get(tr.table) {
                    let mut t = lock(t);
                    t.sub_one(tr.slot, D::ConnCur);
                    t.release(tr.slot, now);
                }
            }
        }
    }

    /// The session ends: every entry is let go.
    pub fn release(&self, shared: &Shared, now: u32) {
        self.release_level(shared, Level::Request, now);
        self.release_level(shared, Level::Connection, now);
    }
}

/// A `track-sc` key: the client's address for `src`, else `sample`, the request's value for the
/// key (read by [`crate::http::stick_rules::request_sample`]); `None` when the sample is absent
/// or does not convert to the table's key type (nothing is tracked, as in HAProxy).
pub fn key_of(shared: &Shared, table: usize, key: &TrackKey, client: IpAddr, sample: Option<&[u8]>) -> Option<StickKey> {
    let kind = shared.config.http.stick_tables.get(table)?.key;
    match key {
        TrackKey::Src => StickKey::from_ip(client, kind),
        TrackKey::Header(_) | TrackKey::Cookie(_) | TrackKey::UrlParam(_) => StickKey::from_bytes(sample?, kind),
    }
}

/// An `sc_*`/`src_*` fetch; `None` when it cannot be fetched (counter not tracked, data not
/// stored, key not convertible), which no pattern matches.
pub fn fetch(f: &StickFetch, shared: &Shared, trackers: Option<&Trackers>, client: IpAddr) -> Option<u64> {
    let now = crate::stick::now_ms();
    let value = match f.counter {
        StickCounter::Src => {
            let table = f.table?;
            let kind = shared.config.http.stick_tables.get(table)?.key;
            let key = StickKey::from_ip(client, kind)?;
            let mut t = lock(shared.tables.get(table)?);
            if !t.stores(f.data) {
                return None;
            }
            // No entry: 0, as HAProxy's src_* fetches.
            match t.lookup(&key, now) {
                Some(slot) => t.read(slot, f.data, now)?,
                None => 0,
            }
        }
        StickCounter::Sc(n) => {
            let tr = trackers?.get(n)?;
            match f.table {
                Some(table) if table != tr.table => {
                    // The tracked key, looked up in the named table.
                    let key = lock(shared.tables.get(tr.table)?).key(tr.slot).clone();
                    let mut t = lock(shared.tables.get(table)?);
                    if !t.stores(f.data) {
                        return None;
                    }
                    match t.lookup(&key, now) {
                        Some(slot) => t.read(slot, f.data, now)?,
                        None => 0,
                    }
                }
                _ => lock(shared.tables.get(tr.table)?).read(tr.slot, f.data, now)?,
            }
        }
    };
    Some(if f.kilo { value >> 10 } else { value })
}
