//! A blocking driver for the sans-I/O peers session (`hakeeper_common::peers::session`), with
//! an in-memory stick table, so that tests speak HAProxy's peers protocol to a real HAProxy.

use hakeeper_common::peers::session::{Input, LocalEntry, LocalTable, Output, Session, TableView};
use hakeeper_common::peers::{Key, TypedValues};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One local table: entries by key, each with the update id of its last local change.
#[derive(Default)]
pub struct MemTable {
    pub entries: BTreeMap<Key, LocalEntry>,
    pub last_update: u32,
}

impl MemTable {
    /// A local change: the entry gets the next update id.
    pub fn touch(&mut self, key: Key, expire_ms: u32, values: Vec<TypedValues>) {
        self.last_update = self.last_update.wrapping_add(1);
        self.entries.insert(key.clone(), LocalEntry { update_id: self.last_update, key, expire_ms, values });
    }
}

pub struct MemTables(pub Vec<MemTable>);

impl TableView for MemTables {
    fn last_update_id(&self, table: usize) -> u32 {
        self.0.get(table).map_or(0, |t| t.last_update)
    }

    fn entries_after(&self, table: usize, after: u32, max: usize) -> Vec<LocalEntry> {
        let mut v: Vec<LocalEntry> = self.0.get(table).map(|t| t.entries.values().cloned().collect()).unwrap_or_default();
        v.sort_by_key(|e| e.update_id.wrapping_sub(after.wrapping_add(1)));
        v.truncate(max);
        v
    }
}

/// What a driven session produced, besides bytes.
#[derive(Default, Debug)]
pub struct Seen {
    pub established: Option<String>,
    /// Learned entries by key: (expiry if timed, values), the latest one.
    pub learned: BTreeMap<Key, (Option<u32>, Vec<TypedValues>)>,
    pub resync_finished: Option<bool>,
    pub closed: Option<String>,
    pub ignored: Vec<String>,
}

pub struct Driver {
    pub stream: TcpStream,
    pub session: Session,
    pub tables: MemTables,
    pub seen: Seen,
}

impl Driver {
    pub fn new(stream: TcpStream, session: Session, tables: MemTables) -> Driver {
        stream.set_nodelay(true).expect("nodelay");
        Driver { stream, session, tables, seen: Seen::default() }
    }

    /// Feeds one input and carries out the outputs.
    pub fn input(&mut self, input: Input<'_>) {
        let out = self.session.on(input, Instant::now(), &self.tables);
        for o in out {
            match o {
                Output::Send(b) => {
                    if self.stream.write_all(&b).is_err() {
                        self.seen.closed.get_or_insert_with(|| "write failed".into());
                    }
                }
                Output::Established { peer } => self.seen.established = Some(peer),
                Output::Learned { key, expire_ms, values, .. } => {
                    self.seen.learned.insert(key, (expire_ms, values));
                }
                Output::ResyncFinished { partial } => self.seen.resync_finished = Some(partial),
                Output::TableIgnored { name, reason } => self.seen.ignored.push(format!("{name}: {reason}")),
                Output::Close(reason) => self.seen.closed = Some(format!("{reason:?}")),
            }
        }
    }

    /// Reads, ticks and feeds the session until `done` holds or `timeout` passes.
    pub fn run_until(&mut self, timeout: Duration, mut done: impl FnMut(&Seen) -> bool) -> bool {
        let end = Instant::now() + timeout;
        let mut buf = vec![0u8; 64 * 1024];
        while Instant::now() < end {
            if done(&self.seen) {
                return true;
            }
            if self.seen.closed.is_some() {
                return done(&self.seen);
            }
            let _ = self.stream.set_read_timeout(Some(Duration::from_millis(50)));
            match self.stream.read(&mut buf) {
                Ok(0) => self.input(Input::Closed),
                Ok(n) => {
                    let data = buf[..n].to_vec();
                    self.input(Input::Received(&data));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(_) => self.input(Input::Closed),
            }
            if self.session.next_deadline().is_some_and(|d| Instant::now() >= d) {
                self.input(Input::Tick);
            }
            // The next batch of a big table, once the previous one is written (blocking writes).
            if self.session.wants_to_send(&self.tables) {
                self.input(Input::LocalUpdates);
            }
        }
        done(&self.seen)
    }
}

/// `tables` as the session's configuration describes them, for one [`MemTable`] each.
pub fn mem_tables(tables: &[LocalTable]) -> MemTables {
    MemTables(tables.iter().map(|_| MemTable::default()).collect())
}

/// Tables for the worker's peers transport: local entries, and what peers taught.
#[derive(Default)]
pub struct SharedMem {
    pub local: Vec<MemTable>,
    pub learned: BTreeMap<Key, (Option<u32>, Vec<TypedValues>)>,
}

impl TableView for SharedMem {
    fn last_update_id(&self, table: usize) -> u32 {
        self.local.get(table).map_or(0, |t| t.last_update)
    }

    fn entries_after(&self, table: usize, after: u32, max: usize) -> Vec<LocalEntry> {
        let mut v: Vec<LocalEntry> = self.local.get(table).map(|t| t.entries.values().cloned().collect()).unwrap_or_default();
        v.sort_by_key(|e| e.update_id.wrapping_sub(after.wrapping_add(1)));
        v.truncate(max);
        v
    }
}

impl hakeeper_worker::peers::SharedTables for SharedMem {
    fn apply_remote(&mut self, _table: usize, key: Key, expire_ms: Option<u32>, values: Vec<TypedValues>) {
        self.learned.insert(key, (expire_ms, values));
    }
}
