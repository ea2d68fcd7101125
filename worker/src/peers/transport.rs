//! The mio loop of one peers section: a listener, one connection per session, the node's
//! timers. Token 0 is the listener, 1 the waker, then one token per connection slot.

use super::{PeersConfig, PeersCounters, SharedTables};
use hakeeper_common::peers::node::{Action, Event, Node};
use hakeeper_common::peers::session::{CloseReason, Input, Output, Session, SessionConfig};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;
/// Bytes queued for a peer that does not read: past this the session is dropped.
const MAX_OUTBUF: usize = 8 * 1024 * 1024;

/// The running transport: wake it after local changes, stop it (and wait) on drop.
pub struct PeersHandle {
    waker: Arc<Waker>,
    /// A wake is on its way: further local changes need not wake again.
    woken: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub counters: Arc<PeersCounters>,
    /// The section as configured.
    pub config: hakeeper_common::config::PeersSection,
}

impl PeersHandle {
    /// Tables changed locally: push the changes to every established peer.
    pub fn local_updates(&self) {
        let _ = self.waker.wake();
    }

    /// `show peers`: the section, its peers and counters.
    pub fn view(&self) -> hakeeper_common::ctl::PeersView {
        let c = &self.counters;
        let get = PeersCounters::get;
        hakeeper_common::ctl::PeersView {
            section: self.config.name.clone(),
            local: self.config.local.name.clone(),
            addr: self.config.local.addr.to_string(),
            remotes: self
                .config
                .remotes
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), p.addr.to_string(), c.remote_up.get(i).is_some_and(|u| u.load(Ordering::Relaxed))))
                .collect(),
            established: get(&c.established),
            disconnects: get(&c.disconnects),
            updates_sent: get(&c.pushed),
            updates_received: get(&c.learned),
            proto_err: get(&c.proto_err),
            refused: get(&c.refused),
        }
    }

    /// A cheap "tables changed" signal for the tables to call on every local change: at most
    /// one wake-up is pending at a time, so a busy table costs one atomic swap per change.
    pub fn notifier(&self) -> std::sync::Arc<dyn Fn() + Send + Sync> {
        let (waker, woken) = (self.waker.clone(), self.woken.clone());
        Arc::new(move || {
            if !woken.swap(true, Ordering::AcqRel) {
                let _ = waker.wake();
            }
        })
    }
}

impl Drop for PeersHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    session: Session,
    /// Index of the remote peer (known at once for outgoing, after the hello for incoming).
    peer: Option<usize>,
    connecting: bool,
    outbuf: Vec<u8>,
    /// Counted in `connected` (the session may already say closed when it is removed).
    established: bool,
}

struct Loop<T: SharedTables> {
    cfg: PeersConfig,
    session_cfg: SessionConfig,
    tables: Arc<Mutex<T>>,
    counters: Arc<PeersCounters>,
    poll: Poll,
    listener: TcpListener,
    conns: Slab<Conn>,
    node: Node,
    /// Per remote peer: per table, the last update it acknowledged.
    acked: Vec<Vec<u32>>,
    rng: u64,
    /// A session still has batches to send: poll without waiting.
    pending: bool,
    woken: Arc<AtomicBool>,
}

/// Starts the transport of `cfg` on `listener` (bound by the supervisor to the local peer's
/// address) with `tables`.
pub fn spawn<T: SharedTables + 'static>(
    listener: std::net::TcpListener,
    cfg: PeersConfig,
    tables: Arc<Mutex<T>>,
) -> std::io::Result<PeersHandle> {
    listener.set_nonblocking(true)?;
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let mut listener = TcpListener::from_std(listener);
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let counters = Arc::new(PeersCounters {
        remote_up: cfg.section.remotes.iter().map(|_| AtomicBool::new(false)).collect(),
        ..PeersCounters::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let woken = Arc::new(AtomicBool::new(false));
    let session_cfg = SessionConfig {
        local_name: cfg.section.local.name.clone(),
        peers: cfg.section.remotes.iter().map(|p| p.name.clone()).collect(),
        tables: cfg.tables.clone(),
        pid: std::process::id(),
    };
    let now = Instant::now();
    let remotes = cfg.section.remotes.len();
    let mut l = Loop {
        node: Node::new(remotes, now),
        acked: vec![Vec::new(); remotes],
        cfg,
        session_cfg,
        tables,
        counters: counters.clone(),
        poll,
        listener,
        conns: Slab::new(),
        rng: u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15,
        pending: false,
        woken: woken.clone(),
    };
    let s = stop.clone();
    let section = l.cfg.section.clone();
    let thread = std::thread::Builder::new().name(format!("peers {}", l.cfg.section.name)).spawn(move || l.run(&s))?;
    Ok(PeersHandle { waker, woken, stop, thread: Some(thread), counters, config: section })
}

impl<T: SharedTables> Loop<T> {
    fn random(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng as u32
    }

    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(64);
        let actions = self.node.on(Event::Tick, Instant::now());
        self.node_actions(actions);
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            let deadline = self.conns.iter().filter_map(|(_, c)| c.session.next_deadline()).chain(self.node.next_deadline()).min();
            let mut timeout = deadline.map_or(Duration::from_secs(1), |d| d.saturating_duration_since(now)).min(Duration::from_secs(1));
            if self.pending {
                timeout = Duration::ZERO;
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    log::error!("peers {}: poll failed: {e}", self.cfg.section.name);
                    return;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {
                        // Cleared before reading the tables: a change after this wakes again.
                        self.woken.store(false, Ordering::Release);
                        let ids: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
                        for id in ids {
                            self.feed(id, Input::LocalUpdates);
                        }
                    }
                    Token(t) => self.conn_ready(t - FIRST_CONN, ev.is_readable(), ev.is_writable()),
                }
            }
            self.timers();
            self.more_to_send();
        }
    }

    /// Sessions that had more updates than one batch get the next batch once their previous
    /// output is written.
    fn more_to_send(&mut self) {
        let ready: Vec<usize> = {
            let tables = match self.tables.lock() {
                Ok(t) => t,
                Err(poisoned) => poisoned.into_inner(),
            };
            self.conns.iter().filter(|(_, c)| c.outbuf.is_empty() && c.session.wants_to_send(&*tables)).map(|(i, _)| i).collect()
        };
        for id in ready {
            self.feed(id, Input::LocalUpdates);
        }
        // Still more after this batch (written at once): come back without sleeping.
        let tables = match self.tables.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.pending = self.conns.iter().any(|(_, c)| c.outbuf.is_empty() && c.session.wants_to_send(&*tables));
    }

    fn timers(&mut self) {
        let now = Instant::now();
        let up_to_date = self.node.up_to_date();
        let due: Vec<usize> = self
            .conns
            .iter_mut()
            .map(|(i, c)| {
                c.session.set_up_to_date(up_to_date);
                (i, c)
            })
            .filter(|(_, c)| c.session.next_deadline().is_some_and(|d| now >= d))
            .map(|(i, _)| i)
            .collect();
        for id in due {
            self.feed(id, Input::Tick);
        }
        let actions = self.node.on(Event::Tick, now);
        self.node_actions(actions);
    }

    fn node_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Connect { peer, minor } => self.connect(peer, minor),
                Action::RequestResync { peer } => {
                    if let Some(id) = self.conns.iter().find(|(_, c)| c.peer == Some(peer) && c.session.is_established()).map(|(i, _)| i) {
                        self.feed(id, Input::RequestResync);
                    }
                }
            }
        }
    }

    fn connect(&mut self, peer: usize, minor: u32) {
        let Some(remote) = self.cfg.section.remotes.get(peer) else { return };
        let addr = remote.addr;
        let session = Session::connect(self.session_cfg.clone(), &remote.name, &self.acked[peer], minor, Instant::now());
        match TcpStream::connect(addr) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                self.insert(Conn { stream, session, peer: Some(peer), connecting: true, outbuf: Vec::new(), established: false });
            }
            Err(e) => {
                log::debug!("peers {}: connect to {} ({addr}) failed: {e}", self.cfg.section.name, remote.name);
                let random = self.random();
                let actions = self.node.on(Event::Closed { peer, reason: None, random }, Instant::now());
                self.node_actions(actions);
            }
        }
    }

    fn insert(&mut self, conn: Conn) {
        let entry = self.conns.vacant_entry();
        let token = Token(entry.key() + FIRST_CONN);
        let mut conn = conn;
        if self.poll.registry().register(&mut conn.stream, token, Interest::READABLE | Interest::WRITABLE).is_ok() {
            entry.insert(conn);
        }
    }

    fn accept(&mut self) {
        loop {
            let (stream, from) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("peers {}: accept failed: {e}", self.cfg.section.name);
                    return;
                }
            };
            if !self.cfg.section.remotes.iter().any(|p| p.addr.ip() == from.ip()) {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                log::warn!("peers {}: connection from {from} refused: no configured peer has that address", self.cfg.section.name);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let session = Session::accept(self.session_cfg.clone(), Instant::now());
            self.insert(Conn { stream, session, peer: None, connecting: false, outbuf: Vec::new(), established: false });
        }
    }

    fn conn_ready(&mut self, id: usize, readable: bool, writable: bool) {
        let Some(c) = self.conns.get_mut(id) else { return };
        if c.connecting && (writable || readable) {
            match c.stream.take_error() {
                Ok(None) if c.stream.peer_addr().is_ok() => {
                    c.connecting = false;
                    self.feed(id, Input::Connected);
                }
                Ok(None) => return,
                _ => return self.feed(id, Input::Closed),
            }
        }
        if readable {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let Some(c) = self.conns.get_mut(id) else { return };
                match c.stream.read(&mut buf) {
                    Ok(0) => return self.feed(id, Input::Closed),
                    Ok(n) => self.feed(id, Input::Received(&buf[..n])),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return self.feed(id, Input::Closed),
                }
            }
        }
        if writable {
            self.flush(id);
        }
    }

    /// Writes what is queued; false when the connection failed.
    fn flush(&mut self, id: usize) -> bool {
        let Some(c) = self.conns.get_mut(id) else { return false };
        while !c.outbuf.is_empty() {
            match c.stream.write(&c.outbuf) {
                Ok(0) => return false,
                Ok(n) => {
                    c.outbuf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Feeds one input to a connection's session and carries out what it says.
    fn feed(&mut self, id: usize, input: Input<'_>) {
        let Some(c) = self.conns.get_mut(id) else { return };
        let pushed_before = c.session.counters.pushed;
        let out = {
            let tables = match self.tables.lock() {
                Ok(t) => t,
                Err(poisoned) => poisoned.into_inner(),
            };
            c.session.on(input, Instant::now(), &*tables)
        };
        self.counters.pushed.fetch_add(c.session.counters.pushed.saturating_sub(pushed_before), Ordering::Relaxed);
        let mut close = None;
        for o in out {
            match o {
                Output::Send(bytes) => {
                    if let Some(c) = self.conns.get_mut(id) {
                        c.outbuf.extend_from_slice(&bytes);
                    }
                }
                Output::Established { peer } => self.established(id, &peer),
                Output::Learned { table, key, expire_ms, values } => {
                    self.counters.learned.fetch_add(1, Ordering::Relaxed);
                    let mut tables = match self.tables.lock() {
                        Ok(t) => t,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    tables.apply_remote(table, key, expire_ms, values);
                }
                Output::ResyncFinished { partial } => {
                    if let Some(peer) = self.conns.get(id).and_then(|c| c.peer) {
                        let actions = self.node.on(Event::ResyncFinished { peer, partial }, Instant::now());
                        self.node_actions(actions);
                    }
                }
                Output::TableIgnored { name, reason } => {
                    log::warn!("peers {}: table {name:?} of peer ignored: {reason}", self.cfg.section.name);
                }
                Output::Close(reason) => close = Some(reason),
            }
        }
        let ok = self.flush(id);
        let overfull = self.conns.get(id).is_some_and(|c| c.outbuf.len() > MAX_OUTBUF);
        if close.is_none() && (!ok || overfull) {
            close = Some(CloseReason::PeerClosed);
        }
        if let Some(reason) = close {
            self.drop_conn(id, reason);
        }
    }

    fn established(&mut self, id: usize, name: &str) {
        let Some(peer) = self.cfg.section.remotes.iter().position(|p| p.name == name) else { return };
        self.counters.established.fetch_add(1, Ordering::Relaxed);
        self.counters.connected.fetch_add(1, Ordering::Relaxed);
        log::info!("peers {}: session with {name} established", self.cfg.section.name);
        // HAProxy: a new session replaces an existing one with the same peer (both hosts
        // connecting at once); the next outgoing try waits a random delay.
        let old: Vec<usize> = self.conns.iter().filter(|(i, c)| *i != id && c.peer == Some(peer)).map(|(i, _)| i).collect();
        for o in old {
            self.remove(o);
            let random = self.random();
            self.node.replaced(peer, Instant::now(), random);
        }
        if let Some(c) = self.conns.get_mut(id) {
            c.peer = Some(peer);
            c.established = true;
        }
        if let Some(up) = self.counters.remote_up.get(peer) {
            up.store(true, Ordering::Relaxed);
        }
        self.node.accepted(peer);
        let actions = self.node.on(Event::Established { peer }, Instant::now());
        self.node_actions(actions);
    }

    fn remove(&mut self, id: usize) -> Option<Conn> {
        let mut c = self.conns.try_remove(id)?;
        let _ = self.poll.registry().deregister(&mut c.stream);
        if c.established {
            if let Some(up) = c.peer.and_then(|p| self.counters.remote_up.get(p)) {
                up.store(false, Ordering::Relaxed);
            }
            let _ = self.counters.connected.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            self.counters.disconnects.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(peer) = c.peer {
            self.acked[peer] = c.session.acked();
        }
        Some(c)
    }

    fn drop_conn(&mut self, id: usize, reason: CloseReason) {
        if matches!(reason, CloseReason::Garbage(_) | CloseReason::HandshakeRefused(_)) {
            self.counters.proto_err.fetch_add(1, Ordering::Relaxed);
            log::warn!("peers {}: session closed: {reason:?}", self.cfg.section.name);
        }
        let Some(c) = self.remove(id) else { return };
        if let Some(peer) = c.peer {
            // Only the connection the node counts for the peer reports its end.
            let others = self.conns.iter().any(|(_, o)| o.peer == Some(peer));
            if !others {
                let random = self.random();
                let actions = self.node.on(Event::Closed { peer, reason: Some(reason), random }, Instant::now());
                self.node_actions(actions);
            }
        }
    }
}
