//! One peers connection's state machine, with no I/O: bytes and timer ticks in, bytes to send
//! and table changes out (`on(Input, now) -> Vec<Output>`, as vrrpd's `state.rs`). It reproduces
//! HAProxy 2.6's `peer_io_handler()` and the per-peer part of `process_peer_sync()`:
//!
//! - handshake: the client sends its hello, the server checks protocol and version (501/502),
//!   its own name (503) and the client's name among the configured peers (504), answers 200;
//! - on establishment every shared table restarts from the position the peer last acknowledged
//!   (`init_connected_peer()`): local updates after it are pushed (`teach_process`), with the
//!   update id when it does not follow the previous one;
//! - a resync request from the peer makes this side teach every entry (timed updates) of every
//!   table, then "resync finished" (or "partial" when this host is not up to date itself); the
//!   peer's "confirm" ends the lesson. The learning side is driven by [`Input::RequestResync`]
//!   and ends with [`Output::ResyncFinished`] (a confirm is sent for each finished/partial);
//! - received updates are acknowledged per table with the last update id received;
//! - definitions map the peer's tables onto local ones by name, key type and key size;
//!   updates of an unmapped table are skipped;
//! - timers: a heartbeat after 3 s without sending (`PEER_HEARTBEAT_TIMEOUT`); a peer from which
//!   nothing arrived during a 5 s period (`PEER_RECONNECT_TIMEOUT`) is disconnected; a handshake
//!   must finish within 5 s (the peers frontend's `timeout client`);
//! - garbage: a malformed message gets a protocol error message (a size limit error for an
//!   oversized one), the connection closes and the error is counted.
//!
//! The owner of the sockets reconnects after a closed session (HAProxy waits 5 s after a failed
//! connect, 50..2050 ms after a dropped session), keeps [`Session::acked`] for the next session
//! with the same peer, and resolves collisions (an accepted session replaces an older one).

use super::data::{StoredType, TypedValues};
use super::dict::{DictRx, DictTx};
use super::error::DecodeError;
use super::handshake::{self, Hello, Lines, Status};
use super::key::{Key, KeyType};
use super::message::{decode_frame, Message, TableDefinition, Update, UpdateLayout, MAX_BODY};
use std::time::{Duration, Instant};

pub const HEARTBEAT: Duration = Duration::from_millis(3000);
pub const RECONNECT: Duration = Duration::from_millis(5000);
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(5000);
/// `PEER_DEF_MAX_UPDATES_AT_ONCE`: updates sent per call; the owner calls again (with
/// [`Input::LocalUpdates`]) while [`Session::wants_to_send`] once the previous ones are written.
pub const MAX_UPDATES_AT_ONCE: usize = 200;

/// A local table shared with peers, as the definition message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTable {
    pub name: String,
    pub key_type: KeyType,
    /// HAProxy's key size (see [`KeyType::key_size`]).
    pub key_size: u32,
    pub expire_ms: u32,
    pub stored: Vec<StoredType>,
}

/// A local entry to push, as the table gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEntry {
    /// The table's update id of the entry's last local change (wrapping u32).
    pub update_id: u32,
    pub key: Key,
    /// Remaining lifetime.
    pub expire_ms: u32,
    pub values: Vec<TypedValues>,
}

/// What the session reads from the local tables (indexes follow [`SessionConfig::tables`]).
pub trait TableView {
    /// The id of the latest local update of `table` (0 before any).
    fn last_update_id(&self, table: usize) -> u32;
    /// Up to `max` entries of `table` ordered by update id, starting after `after` and
    /// wrapping: ascending `update_id.wrapping_sub(after + 1)`, over every entry of the table.
    fn entries_after(&self, table: usize, after: u32, max: usize) -> Vec<LocalEntry>;
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// This host's peer name (host name, or `localpeer`/`-L`).
    pub local_name: String,
    /// The remote peers configured (an accepted client must be one of them).
    pub peers: Vec<String>,
    pub tables: Vec<LocalTable>,
    pub pid: u32,
}

#[derive(Debug)]
pub enum Input<'a> {
    /// The outgoing TCP connection is up: send the hello.
    Connected,
    Received(&'a [u8]),
    /// A deadline may have passed.
    Tick,
    /// Local tables changed: push what the peer has not seen.
    LocalUpdates,
    /// Ask this peer for a full resync (the owner picks one connected peer to learn from).
    RequestResync,
    /// The socket reached EOF or failed.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer sent something that is not the protocol; counted in `proto_err`.
    Garbage(DecodeError),
    /// We refused the peer's hello with this status.
    HandshakeRefused(Status),
    /// The peer refused our hello with this status (502: retry as version 2.0).
    RefusedByPeer(Status),
    /// Nothing arrived during a whole reconnect period, or the handshake took too long.
    Timeout,
    PeerClosed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send(Vec<u8>),
    /// The handshake succeeded with `peer`.
    Established {
        peer: String,
    },
    /// An entry learned from the peer, for local table `table`. Values come in the peer's
    /// stored types: the table keeps those it stores. `expire_ms` is `None` for an untimed
    /// update (use the table's own expiry).
    Learned {
        table: usize,
        key: Key,
        expire_ms: Option<u32>,
        values: Vec<TypedValues>,
    },
    /// The resync requested from this peer ended; `partial`: the peer was not up to date.
    ResyncFinished {
        partial: bool,
    },
    /// A peer table that cannot be mapped onto a local one.
    TableIgnored {
        name: String,
        reason: &'static str,
    },
    /// The session ended; the owner closes the socket after sending what came before.
    Close(CloseReason),
}

/// Counters as HAProxy's `show peers` keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub proto_err: u64,
    pub rx_hbt: u64,
    pub tx_hbt: u64,
    pub no_hbt: u64,
    pub learned: u64,
    pub pushed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Client, waiting for the TCP connect.
    Connecting,
    /// Client, hello sent.
    AwaitStatus,
    /// Server, reading the three hello lines.
    AwaitVersion,
    AwaitHost,
    AwaitPeer,
    Established,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Learn {
    Idle,
    Processing,
}

#[derive(Debug, Clone)]
struct Shared {
    local_id: u64,
    /// The peer's id for this table (0: none).
    remote_id: u64,
    remote_stored: Vec<StoredType>,
    last_pushed: u32,
    /// The last update the peer acknowledged.
    update: u32,
    teaching_origin: u32,
    last_get: u32,
    last_acked: u32,
    /// During a lesson: the last update id taught (`None`: none yet), and whether the table
    /// has been taught entirely.
    lesson_cursor: Option<u32>,
    lesson_done: bool,
}

pub struct Session {
    cfg: SessionConfig,
    phase: Phase,
    /// The peer's name (known from the start for a client).
    peer: Option<String>,
    downgraded: bool,
    lines: Lines,
    inbuf: Vec<u8>,
    tables: Vec<Shared>,
    /// Local index of the table the peer's updates currently apply to.
    remote_table: Option<usize>,
    /// Local index of the table our last update belonged to.
    last_local_table: Option<usize>,
    teaching: bool,
    teach_finished: bool,
    learn: Learn,
    confirm: u32,
    alive: bool,
    heartbeat_at: Option<Instant>,
    reconnect_at: Option<Instant>,
    handshake_deadline: Option<Instant>,
    dict_rx: DictRx,
    dict_tx: DictTx,
    up_to_date: bool,
    pub counters: Counters,
}

impl Session {
    /// A session we open towards `peer`. `acked`: per table, the last update this peer
    /// acknowledged in an earlier session (empty: none). `minor` 0 after the peer answered 502.
    pub fn connect(cfg: SessionConfig, peer: &str, acked: &[u32], minor: u32, now: Instant) -> Session {
        let mut s = Session::new(cfg, Phase::Connecting, acked, now);
        s.peer = Some(peer.to_string());
        s.downgraded = minor == 0;
        s
    }

    /// A session a peer opened to us.
    pub fn accept(cfg: SessionConfig, now: Instant) -> Session {
        Session::new(cfg, Phase::AwaitVersion, &[], now)
    }

    fn new(cfg: SessionConfig, phase: Phase, acked: &[u32], now: Instant) -> Session {
        let tables = (0..cfg.tables.len())
            .map(|i| Shared {
                local_id: i as u64 + 1,
                remote_id: 0,
                remote_stored: Vec::new(),
                last_pushed: 0,
                update: acked.get(i).copied().unwrap_or(0),
                teaching_origin: 0,
                last_get: 0,
                last_acked: 0,
                lesson_cursor: None,
                lesson_done: false,
            })
            .collect();
        Session {
            cfg,
            phase,
            peer: None,
            downgraded: false,
            lines: Lines::default(),
            inbuf: Vec::new(),
            tables,
            remote_table: None,
            last_local_table: None,
            teaching: false,
            teach_finished: false,
            learn: Learn::Idle,
            confirm: 0,
            alive: false,
            heartbeat_at: None,
            reconnect_at: None,
            handshake_deadline: Some(now + HANDSHAKE_TIMEOUT),
            dict_rx: DictRx::default(),
            dict_tx: DictTx::default(),
            up_to_date: true,
            counters: Counters::default(),
        }
    }

    /// The peer's name once known.
    pub fn peer(&self) -> Option<&str> {
        self.peer.as_deref()
    }

    pub fn is_established(&self) -> bool {
        self.phase == Phase::Established
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether this host considers its tables complete: a lesson we teach ends with "resync
    /// finished" when true, "resync partial" when false.
    pub fn set_up_to_date(&mut self, up_to_date: bool) {
        self.up_to_date = up_to_date;
    }

    /// Per table, the last update the peer acknowledged: keep it for the next session.
    pub fn acked(&self) -> Vec<u32> {
        self.tables.iter().map(|t| t.update).collect()
    }

    /// The earliest instant at which [`Input::Tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.handshake_deadline, self.heartbeat_at, self.reconnect_at].into_iter().flatten().min()
    }

    pub fn on(&mut self, input: Input<'_>, now: Instant, view: &dyn TableView) -> Vec<Output> {
        let mut out = Vec::new();
        if self.phase == Phase::Closed {
            return out;
        }
        match input {
            Input::Connected => {
                if self.phase == Phase::Connecting {
                    let hello = Hello {
                        minor: if self.downgraded { 0 } else { handshake::MINOR },
                        server_name: self.peer.clone().unwrap_or_default(),
                        client_name: self.cfg.local_name.clone(),
                        pid: self.cfg.pid,
                    };
                    out.push(Output::Send(hello.encode()));
                    self.phase = Phase::AwaitStatus;
                }
            }
            Input::Received(bytes) => self.received(bytes, now, view, &mut out),
            Input::Tick => self.tick(now, view, &mut out),
            Input::LocalUpdates => {}
            Input::RequestResync => {
                if self.phase == Phase::Established && self.learn == Learn::Idle {
                    out.push(Output::Send(Message::ResyncRequest.encode()));
                    self.learn = Learn::Processing;
                }
            }
            Input::Closed => self.close(CloseReason::PeerClosed, &mut out),
        }
        if self.phase == Phase::Established {
            self.send_msgs(now, view, &mut out);
        }
        out
    }

    fn close(&mut self, reason: CloseReason, out: &mut Vec<Output>) {
        self.phase = Phase::Closed;
        self.heartbeat_at = None;
        self.reconnect_at = None;
        self.handshake_deadline = None;
        out.push(Output::Close(reason));
    }

    fn garbage(&mut self, e: DecodeError, out: &mut Vec<Output>) {
        self.counters.proto_err += 1;
        if self.phase == Phase::Established {
            let msg = if matches!(e, DecodeError::Oversized { .. }) { Message::ErrorSizeLimit } else { Message::ErrorProtocol };
            out.push(Output::Send(msg.encode()));
        }
        self.close(CloseReason::Garbage(e), out);
    }

    fn refuse(&mut self, status: Status, out: &mut Vec<Output>) {
        self.counters.proto_err += u64::from(status == Status::ErrProto);
        out.push(Output::Send(status.line()));
        self.close(CloseReason::HandshakeRefused(status), out);
    }

    fn received(&mut self, bytes: &[u8], now: Instant, view: &dyn TableView, out: &mut Vec<Output>) {
        if self.phase == Phase::Established {
            self.inbuf.extend_from_slice(bytes);
            self.read_messages(now, out);
            return;
        }
        if self.phase == Phase::Connecting {
            return self.garbage(DecodeError::Malformed("data before the connection was up"), out);
        }
        self.lines.push(bytes);
        while self.phase != Phase::Established && self.phase != Phase::Closed {
            let line = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => return,
                Err(e) => return self.garbage(e, out),
            };
            self.handshake_line(&line, now, view, out);
        }
        if self.phase == Phase::Established {
            let rest = self.lines.take_rest();
            if !rest.is_empty() {
                self.inbuf.extend_from_slice(&rest);
                self.read_messages(now, out);
            }
        }
    }

    fn handshake_line(&mut self, line: &str, now: Instant, view: &dyn TableView, out: &mut Vec<Output>) {
        match self.phase {
            Phase::AwaitStatus => match Status::parse(line) {
                Status::Success => self.established(now, view, out),
                other => self.close(CloseReason::RefusedByPeer(other), out),
            },
            Phase::AwaitVersion => match handshake::check_version_line(line) {
                Ok(minor) => {
                    self.downgraded = minor == 0;
                    self.phase = Phase::AwaitHost;
                }
                Err(status) => self.refuse(status, out),
            },
            Phase::AwaitHost => {
                if line == self.cfg.local_name {
                    self.phase = Phase::AwaitPeer;
                } else {
                    self.refuse(Status::ErrHost, out);
                }
            }
            Phase::AwaitPeer => match handshake::client_name(line) {
                Ok(name) if self.cfg.peers.iter().any(|p| p == name) => {
                    self.peer = Some(name.to_string());
                    out.push(Output::Send(Status::Success.line()));
                    self.established(now, view, out);
                }
                Ok(_) => self.refuse(Status::ErrPeer, out),
                Err(status) => self.refuse(status, out),
            },
            Phase::Connecting | Phase::Established | Phase::Closed => {}
        }
    }

    /// `init_connected_peer()`.
    fn established(&mut self, now: Instant, view: &dyn TableView, out: &mut Vec<Output>) {
        self.phase = Phase::Established;
        self.handshake_deadline = None;
        self.heartbeat_at = Some(now + HEARTBEAT);
        self.reconnect_at = Some(now + RECONNECT);
        for (i, st) in self.tables.iter_mut().enumerate() {
            st.last_get = 0;
            st.last_acked = 0;
            let local = view.last_update_id(i);
            // An acknowledged position "in the future" is too old to trust: push from the
            // farthest past instead, as HAProxy does.
            if (local.wrapping_sub(st.update) as i32) < 0 {
                st.update = local.wrapping_add(1 << 31);
            }
            st.teaching_origin = st.update;
            st.last_pushed = st.update;
        }
        out.push(Output::Established { peer: self.peer.clone().unwrap_or_default() });
    }

    fn read_messages(&mut self, now: Instant, out: &mut Vec<Output>) {
        let mut at = 0;
        loop {
            match decode_frame(&self.inbuf[at..]) {
                Ok(Some((frame, n))) => {
                    at += n;
                    self.alive = true;
                    let handled = Message::from_frame(frame).and_then(|m| self.treat(m, now, out));
                    if let Err(e) = handled {
                        self.inbuf.clear();
                        return self.garbage(e, out);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.inbuf.clear();
                    return self.garbage(e, out);
                }
            }
        }
        self.inbuf.drain(..at);
        // A partial message never grows past one maximal frame.
        if self.inbuf.len() > MAX_BODY + 16 {
            self.inbuf.clear();
            self.garbage(DecodeError::Oversized { len: MAX_BODY as u64 + 16, limit: MAX_BODY }, out);
        }
    }

    /// `peer_treat_awaited_msg()`.
    fn treat(&mut self, m: Message, now: Instant, out: &mut Vec<Output>) -> Result<(), DecodeError> {
        match m {
            Message::ResyncRequest => {
                for st in &mut self.tables {
                    st.teaching_origin = st.update;
                    st.last_pushed = st.update;
                    st.lesson_cursor = None;
                    st.lesson_done = false;
                }
                self.teaching = true;
                self.teach_finished = false;
            }
            Message::ResyncFinished | Message::ResyncPartial => {
                if self.learn == Learn::Processing {
                    self.learn = Learn::Idle;
                    out.push(Output::ResyncFinished { partial: m == Message::ResyncPartial });
                }
                self.confirm += 1;
            }
            Message::ResyncConfirm => {
                for st in &mut self.tables {
                    st.update = st.teaching_origin;
                    st.last_pushed = st.teaching_origin;
                }
                self.teaching = false;
                self.teach_finished = false;
            }
            Message::Heartbeat => {
                self.counters.rx_hbt += 1;
                self.reconnect_at = Some(now + RECONNECT);
            }
            // HAProxy reads error messages and does nothing: the sender closes next.
            Message::ErrorProtocol | Message::ErrorSizeLimit | Message::Skipped { .. } => {}
            Message::Define(def) => self.define(def, out),
            Message::Switch { table_id } => {
                self.remote_table = self.tables.iter().position(|t| t.remote_id == table_id && table_id != 0);
            }
            Message::Update { with_id, timed, body } => self.update(&body, with_id, timed, out)?,
            Message::Ack { table_id, update_id } => {
                if !self.teaching {
                    if let Some(st) = self.tables.iter_mut().find(|t| t.local_id == table_id) {
                        st.update = update_id;
                    }
                }
            }
        }
        Ok(())
    }

    /// `peer_treat_definemsg()`.
    fn define(&mut self, def: TableDefinition, out: &mut Vec<Output>) {
        self.remote_table = None;
        for st in &mut self.tables {
            if st.remote_id == def.table_id {
                st.remote_id = 0;
            }
        }
        let Some(idx) = self.cfg.tables.iter().position(|t| t.name == def.name) else {
            out.push(Output::TableIgnored { name: def.name, reason: "no local table of that name shares with this peer" });
            return;
        };
        let local = &self.cfg.tables[idx];
        let reason = if def.key_type != Some(local.key_type) {
            Some("key type differs")
        } else if def.key_size != local.key_size {
            Some("key size differs")
        } else if !def.understood {
            Some("stores data types this version does not know")
        } else {
            None
        };
        if let Some(reason) = reason {
            out.push(Output::TableIgnored { name: def.name, reason });
            return;
        }
        let st = &mut self.tables[idx];
        st.remote_id = def.table_id;
        st.remote_stored = def.stored;
        self.remote_table = Some(idx);
    }

    /// `peer_treat_updatemsg()`.
    fn update(&mut self, body: &[u8], with_id: bool, timed: bool, out: &mut Vec<Output>) -> Result<(), DecodeError> {
        let Some(idx) = self.remote_table else { return Ok(()) };
        let local = &self.cfg.tables[idx];
        let st = &mut self.tables[idx];
        let layout = UpdateLayout { key_type: local.key_type, key_size: local.key_size, stored: &st.remote_stored };
        let u = Update::decode(body, with_id, timed, layout, &mut self.dict_rx)?;
        st.last_get = u.update_id.unwrap_or(st.last_get.wrapping_add(1));
        self.counters.learned += 1;
        out.push(Output::Learned { table: idx, key: u.key, expire_ms: u.expire_ms, values: u.values });
        Ok(())
    }

    fn tick(&mut self, now: Instant, view: &dyn TableView, out: &mut Vec<Output>) {
        if self.handshake_deadline.is_some_and(|d| now >= d) {
            return self.close(CloseReason::Timeout, out);
        }
        if self.reconnect_at.is_some_and(|d| now >= d) {
            if self.alive {
                self.alive = false;
                self.reconnect_at = Some(now + RECONNECT);
            } else {
                self.counters.no_hbt += 1;
                return self.close(CloseReason::Timeout, out);
            }
        }
        if self.heartbeat_at.is_some_and(|d| now >= d) && !self.has_updates_to_push(view) {
            out.push(Output::Send(Message::Heartbeat.encode()));
            self.counters.tx_hbt += 1;
            self.heartbeat_at = Some(now + HEARTBEAT);
        }
    }

    fn has_updates_to_push(&self, view: &dyn TableView) -> bool {
        !self.teaching
            && self.learn == Learn::Idle
            && self.tables.iter().enumerate().any(|(i, st)| st.last_pushed != view.last_update_id(i))
    }

    /// Whether updates are left to send that the last call did not (see
    /// [`MAX_UPDATES_AT_ONCE`]): feed [`Input::LocalUpdates`] once the output is written.
    pub fn wants_to_send(&self, view: &dyn TableView) -> bool {
        self.phase == Phase::Established && ((self.teaching && !self.teach_finished) || self.has_updates_to_push(view))
    }

    /// `peer_send_msgs()`.
    fn send_msgs(&mut self, now: Instant, view: &dyn TableView, out: &mut Vec<Output>) {
        let before = out.len();
        let mut budget = MAX_UPDATES_AT_ONCE;
        for i in 0..self.tables.len() {
            let st = &mut self.tables[i];
            if st.last_get != st.last_acked && st.remote_id != 0 {
                out.push(Output::Send(Message::Ack { table_id: st.remote_id, update_id: st.last_get }.encode()));
                st.last_acked = st.last_get;
            }
            if !self.teaching {
                // Local updates are not pushed to the peer we are learning from until it is done.
                if self.learn == Learn::Idle && st.last_pushed != view.last_update_id(i) {
                    self.push_updates(i, view, &mut budget, out);
                }
            } else if !self.teach_finished && !st.lesson_done {
                self.teach(i, view, &mut budget, out);
            }
        }
        if self.teaching && !self.teach_finished && self.tables.iter().all(|t| t.lesson_done) {
            let m = if self.up_to_date { Message::ResyncFinished } else { Message::ResyncPartial };
            out.push(Output::Send(m.encode()));
            self.teach_finished = true;
        }
        while self.confirm > 0 {
            out.push(Output::Send(Message::ResyncConfirm.encode()));
            self.confirm -= 1;
        }
        if out[before..].iter().any(|o| matches!(o, Output::Send(_))) {
            self.heartbeat_at = Some(now + HEARTBEAT);
        }
    }

    /// The definition of table `i`, before its first update on this connection or after
    /// updates of another table.
    fn announce(&mut self, i: usize, out: &mut Vec<Output>) {
        if self.last_local_table != Some(i) {
            let local = &self.cfg.tables[i];
            let def = TableDefinition::new(
                self.tables[i].local_id,
                &local.name,
                local.key_type,
                local.key_size,
                local.expire_ms,
                local.stored.clone(),
            );
            out.push(Output::Send(Message::Define(def).encode()));
            self.last_local_table = Some(i);
        }
    }

    /// Encodes one entry; `previous`: the id of the update sent just before, if any.
    fn encode_entry(&mut self, i: usize, e: LocalEntry, previous: Option<u32>, timed: bool, out: &mut Vec<Output>) -> bool {
        self.announce(i, out);
        let local = &self.cfg.tables[i];
        let follows = previous.is_some_and(|p| p.wrapping_add(1) == e.update_id);
        let u =
            Update { update_id: (!follows).then_some(e.update_id), expire_ms: timed.then_some(e.expire_ms), key: e.key, values: e.values };
        let layout = UpdateLayout { key_type: local.key_type, key_size: local.key_size, stored: &local.stored };
        let bytes = u.encode(layout, &mut self.dict_tx);
        // HAProxy cannot build a message larger than its buffer either: such an entry (a huge
        // string key) is not shared.
        if bytes.len() > MAX_BODY {
            return false;
        }
        self.counters.pushed += 1;
        out.push(Output::Send(bytes));
        true
    }

    /// `teach_process`: entries of table `i` changed after `last_pushed`, up to the latest
    /// local update, within `budget`.
    fn push_updates(&mut self, i: usize, view: &dyn TableView, budget: &mut usize, out: &mut Vec<Output>) {
        let latest = view.last_update_id(i);
        let start = self.tables[i].last_pushed;
        let horizon = latest.wrapping_sub(start);
        let mut previous: Option<u32> = None;
        let mut complete = true;
        for e in view.entries_after(i, start, *budget + 1) {
            if e.update_id.wrapping_sub(start) > horizon || e.update_id == start {
                break;
            }
            if *budget == 0 {
                complete = false;
                break;
            }
            *budget -= 1;
            let id = e.update_id;
            let sent = self.encode_entry(i, e, previous, false, out);
            previous = sent.then_some(id);
            self.tables[i].last_pushed = id;
        }
        if complete {
            self.tables[i].last_pushed = latest;
        }
    }

    /// `teach_stage1` + `teach_stage2`: every entry of table `i`, in update order from the
    /// position the peer acknowledged, timed (unless the peer speaks 2.0), within `budget`.
    fn teach(&mut self, i: usize, view: &dyn TableView, budget: &mut usize, out: &mut Vec<Output>) {
        let origin = self.tables[i].teaching_origin;
        let pos = |id: u32| id.wrapping_sub(origin.wrapping_add(1));
        let cursor = self.tables[i].lesson_cursor;
        let mut previous = cursor;
        let asked = *budget;
        if asked == 0 {
            return;
        }
        let entries = view.entries_after(i, cursor.unwrap_or(origin), asked);
        let fetched = entries.len();
        for e in entries {
            // Back at (or past) the start of the lesson: every entry was taught.
            if cursor.is_some_and(|c| pos(e.update_id) <= pos(c)) {
                self.tables[i].lesson_done = true;
                return;
            }
            *budget -= 1;
            let id = e.update_id;
            let timed = !self.downgraded;
            let sent = self.encode_entry(i, e, previous, timed, out);
            previous = sent.then_some(id);
            self.tables[i].lesson_cursor = Some(id);
            self.tables[i].last_pushed = id;
            if pos(id) == u32::MAX {
                self.tables[i].lesson_done = true;
                return;
            }
        }
        // Fewer entries than asked for: the whole table went by.
        if fetched < asked {
            self.tables[i].lesson_done = true;
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
