//! The server connections of one event-loop thread, and the idle ones among them that later
//! requests may take: HAProxy's per-thread idle connection lists, `http-reuse`, `pool-max-conn`,
//! `pool-purge-delay`, `pool-low-conn` and `max-reuse`.
//!
//! Every server connection has a token of its own (not its session's) and stays registered with
//! the poll from connect to close, so handing it from one request to the next costs no syscall.
//! A connection is either busy (a session's request uses it) or idle. An idle connection is
//! shared (in its server's list, for any session of this thread) or private to one session
//! (`http-reuse never`). An event on an idle connection means the server closed it or sent
//! something unasked: it is closed, as HAProxy does. Threads never take each other's
//! connections, so `pool-low-conn` only keeps that many per thread from being purged.

use super::tls::{ServerClients, TlsConn};
use crate::buffer::{Buf, Pools, ReadOutcome};
use crate::counters::Stats;
use crate::ready::Ready;
use hakeeper_common::config::{Backend, Global, HttpReuse, ServerPool};
use mio::net::TcpStream;
use mio::{Interest, Registry};
use slab::Slab;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// A connection the session may find closed and replaced meanwhile: its table key and serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRef {
    pub key: usize,
    serial: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A session's current request uses it; events go to that session.
    Busy { session: usize },
    /// Waiting for a request. `private`: only that session may take it (`http-reuse never`).
    /// `epoch`: the server's stop count when it was parked (a stop since then closes it).
    Idle { since: Instant, private: Option<u64>, epoch: u64 },
}

pub struct ServerConn {
    pub stream: TcpStream,
    pub ready: Ready,
    pub backend: usize,
    pub server: usize,
    serial: u64,
    /// Requests sent on it.
    pub requests: u32,
    state: State,
    /// `ssl`: the TLS layer over `stream` (see [`super::tls`]).
    pub tls: Option<Box<TlsConn>>,
    /// The SNI it was opened with: only requests wanting the same one reuse it.
    pub sni: Option<Box<str>>,
    /// The TCP connection is established (with TLS, the handshake may still run).
    pub connected: bool,
}

impl ServerConn {
    /// Reads what the server sent (decrypted under TLS) into `buf`.
    pub fn recv_into(&mut self, buf: &mut Buf, pools: &mut Pools) -> io::Result<ReadOutcome> {
        match self.tls.as_mut() {
            Some(tls) => tls.recv(&self.stream, &mut self.ready, buf, pools),
            None => buf.recv(&self.stream, &mut self.ready, pools),
        }
    }

    /// Writes `buf` to the server (encrypted under TLS); returns the bytes taken.
    pub fn flush_from(&mut self, buf: &mut Buf) -> io::Result<usize> {
        match self.tls.as_mut() {
            Some(tls) => tls.flush(&self.stream, &mut self.ready, buf),
            None => buf.flush(&self.stream, &mut self.ready),
        }
    }

    /// Writes plaintext `data` (encrypted under TLS), and any records still queued; returns the
    /// bytes taken (0: the socket or the TLS buffer is full until the next event).
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.tls.as_mut() {
            Some(tls) => tls.send(&self.stream, &mut self.ready, data),
            None if data.is_empty() => Ok(0),
            None => match (&self.stream).write(data) {
                Ok(n) => Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.ready.writable = false;
                    Ok(0)
                }
                Err(e) => Err(e),
            },
        }
    }

    /// Appends up to `max` bytes the server sent (decrypted under TLS) to `out`: `Some(0)` at
    /// the end of the stream, `None` when nothing came.
    pub fn recv_plain(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
        match self.tls.as_mut() {
            Some(tls) => tls.recv_plain(&self.stream, &mut self.ready, out, max),
            None => {
                if !self.ready.readable {
                    return Ok(None);
                }
                match crate::buffer::recv_spare(&self.stream, out, max) {
                    Ok(0) => Ok(Some(0)),
                    Ok(n) => Ok(Some(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.ready.readable = false;
                        Ok(None)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Bytes or a close may wait on it (in the socket, or decrypted in its TLS layer): such a
    /// connection is not kept idle.
    pub fn unread(&mut self) -> bool {
        self.ready.readable || self.ready.hup || self.tls.as_mut().is_some_and(|t| t.has_unread())
    }

    /// Half-closes towards the server (close_notify first under TLS).
    pub fn shutdown_write(&mut self) {
        match self.tls.as_mut() {
            Some(tls) => tls.shutdown_write(&self.stream, &mut self.ready),
            None => {
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
            }
        }
    }

    /// Proved reusable: it has carried a request that was not its first (HAProxy's "safe"
    /// list, `H1S_F_NOT_FIRST`).
    fn safe(&self) -> bool {
        self.requests >= 2
    }
}

/// What an event on a server connection means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnEvent {
    /// For the session with this slab key.
    Session(usize),
    /// An idle connection was closed by its server (or sent something unasked): gone now.
    Closed,
    Nothing,
}

/// Why a finished request's connection is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    MaxReuse,
    PoolFull,
    ServerStopped,
    /// Too many descriptors in use, or more idle connections than the server needs.
    FdsLow,
}

/// A connection to `server` starts serving a request.
fn count_busy(stats: &Stats, backend: usize, server: usize) {
    let srv = &stats.backends[backend].servers[server];
    let used = srv.used_conns.fetch_add(1, Relaxed) + 1;
    srv.max_used_conns.fetch_max(used, Relaxed);
    // HAProxy's srv_use_conn(): the estimate never lags the current use.
    srv.est_need_conns.fetch_max(used, Relaxed);
}

pub struct ServerConns {
    conns: Slab<ServerConn>,
    /// Shared idle connections by backend and server, oldest first.
    idle: Vec<Vec<Vec<usize>>>,
    next_serial: u64,
    /// Each backend's `stopped_epoch` as last swept.
    swept: Vec<u64>,
    /// When the oldest idle connection's purge delay runs out.
    next_purge: Option<Instant>,
    /// Descriptors in use above which idle connections are kept sparingly / not at all
    /// (HAProxy's `pool_low_count` / `pool_high_count`).
    fd_low: u64,
    fd_high: u64,
    /// The servers' TLS clients (`ssl`).
    clients: ServerClients,
}

/// The descriptors in use: the sessions' client sockets and the server connections.
fn used_fds(stats: &Stats) -> u64 {
    stats.process.cur.load(Relaxed) + stats.server_conns.load(Relaxed)
}

impl ServerConns {
    /// `maxconn` and the `tune.pool-*-fd-ratio` percentages come from `global`: the worker may
    /// use two descriptors per connection.
    pub fn new(backends: &[Backend], global: &Global) -> Self {
        let maxsock = 2 * u64::from(global.maxconn);
        let (low, high) = global.pool_fd_ratios;
        ServerConns {
            conns: Slab::new(),
            idle: backends.iter().map(|b| vec![Vec::new(); b.servers.len()]).collect(),
            next_serial: 1,
            swept: vec![0; backends.len()],
            next_purge: None,
            fd_low: maxsock * u64::from(low) / 100,
            fd_high: maxsock * u64::from(high) / 100,
            clients: ServerClients::new(backends),
        }
    }

    /// Starts a non-blocking connect for `session`; the connection is busy from the start. Over
    /// `pool_high_count` descriptors, an idle connection to the same server goes first, as
    /// HAProxy's `connect_server()` kills one. A TLS server's connection gets its TLS layer
    /// (sending `sni`) now; the handshake starts once the TCP connection is up.
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        &mut self,
        registry: &Registry,
        addr: SocketAddr,
        backend: usize,
        server: usize,
        session: usize,
        sni: Option<&str>,
        stats: &Stats,
    ) -> io::Result<usize> {
        let tls = match self.clients.get(backend, server) {
            Ok(None) => None,
            Ok(Some(client)) => {
                let conn = client.connect(sni).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                Some(Box::new(TlsConn::new(conn)))
            }
            Err(why) => return Err(io::Error::new(io::ErrorKind::InvalidInput, why.to_string())),
        };
        if used_fds(stats) > self.fd_high {
            if let Some(&oldest) = self.idle.get(backend).and_then(|b| b.get(server)).and_then(|l| l.first()) {
                self.close(oldest, stats);
            }
        }
        let mut stream = TcpStream::connect(addr)?;
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        registry.register(&mut stream, crate::tokens::conn(key), Interest::READABLE | Interest::WRITABLE)?;
        let serial = self.next_serial;
        self.next_serial += 1;
        entry.insert(ServerConn {
            stream,
            ready: Ready { readable: false, writable: false, hup: false, fin: false },
            backend,
            server,
            serial,
            requests: 0,
            state: State::Busy { session },
            sni: if tls.is_some() { sni.map(Box::from) } else { None },
            tls,
            connected: false,
        });
        stats.server_conns.fetch_add(1, Relaxed);
        count_busy(stats, backend, server);
        Ok(key)
    }

    pub fn get(&self, key: usize) -> Option<&ServerConn> {
        self.conns.get(key)
    }

    pub fn get_mut(&mut self, key: usize) -> Option<&mut ServerConn> {
        self.conns.get_mut(key)
    }

    pub fn reference(&self, key: usize) -> Option<ConnRef> {
        self.conns.get(key).map(|c| ConnRef { key, serial: c.serial })
    }

    /// Closes a connection (dropping the socket also takes it out of the poll set).
    pub fn close(&mut self, key: usize, stats: &Stats) {
        let Some(mut c) = self.conns.try_remove(key) else { return };
        if let Some(tls) = c.tls.as_mut() {
            tls.close_notify(&c.stream);
        }
        stats.server_conns.fetch_sub(1, Relaxed);
        match c.state {
            State::Idle { private: None, .. } => self.unlist(&c, key, stats),
            State::Idle { .. } => {}
            State::Busy { .. } => {
                stats.backends[c.backend].servers[c.server].used_conns.fetch_sub(1, Relaxed);
            }
        }
    }

    fn unlist(&mut self, c: &ServerConn, key: usize, stats: &Stats) {
        if let Some(list) = self.idle.get_mut(c.backend).and_then(|b| b.get_mut(c.server)) {
            if let Some(i) = list.iter().position(|&k| k == key) {
                list.remove(i);
                stats.backends[c.backend].servers[c.server].idle_conns.fetch_sub(1, Relaxed);
            }
        }
    }

    /// An event for the connection with this key.
    pub fn on_event(&mut self, key: usize, ev: &mio::event::Event, stats: &Stats) -> ConnEvent {
        let Some(c) = self.conns.get_mut(key) else { return ConnEvent::Nothing };
        match c.state {
            State::Busy { session } => {
                c.ready.update(ev);
                ConnEvent::Session(session)
            }
            State::Idle { .. } if ev.is_readable() || ev.is_read_closed() || ev.is_error() => {
                self.close(key, stats);
                ConnEvent::Closed
            }
            State::Idle { .. } => ConnEvent::Nothing,
        }
    }

    /// A request finished on `key` and the server keeps it open: keep it idle (shared, or
    /// private to `session` under `http-reuse never`), or close it and say why.
    pub fn park(
        &mut self,
        key: usize,
        reuse: HttpReuse,
        session: u64,
        pool: &ServerPool,
        stats: &Stats,
        now: Instant,
    ) -> Result<(), NotKept> {
        let Some(c) = self.conns.get(key) else { return Err(NotKept::ServerStopped) };
        let srv = &stats.backends[c.backend].servers[c.server];
        let verdict = if pool.max_reuse.is_some_and(|max| c.requests > max) {
            Err(NotKept::MaxReuse)
        } else if !srv.running() {
            Err(NotKept::ServerStopped)
        } else if reuse != HttpReuse::Never && pool.max_conn.is_some_and(|max| srv.idle_conns.load(Relaxed) >= max) {
            Err(NotKept::PoolFull)
        } else if reuse != HttpReuse::Never && !self.worth_keeping(c, pool, srv, stats) {
            Err(NotKept::FdsLow)
        } else {
            Ok(())
        };
        if verdict.is_err() {
            self.close(key, stats);
            return verdict;
        }
        let epoch = srv.stopped_epoch.load(Relaxed);
        let (backend, server) = (c.backend, c.server);
        let private = (reuse == HttpReuse::Never).then_some(session);
        srv.used_conns.fetch_sub(1, Relaxed);
        if let Some(c) = self.conns.get_mut(key) {
            c.state = State::Idle { since: now, private, epoch };
            // Whatever it said while busy was read; from now on any event closes it.
            c.ready = Ready { readable: false, writable: true, hup: false, fin: false };
        }
        if private.is_none() {
            self.idle[backend][server].push(key);
            srv.idle_conns.fetch_add(1, Relaxed);
            let due = now + pool.purge_delay;
            self.next_purge = Some(self.next_purge.map_or(due, |d| d.min(due)));
        }
        Ok(())
    }

    /// HAProxy's `srv_add_to_idle_list()` rule: below `pool_high_count` descriptors in use, keep
    /// the thread's first idle connection to a server (the first safe one, if it has idle ones
    /// only), and more only below `pool_low_count` while used + idle connections stay within
    /// what the server was seen to need plus `pool-low-conn`.
    fn worth_keeping(&self, c: &ServerConn, pool: &ServerPool, srv: &crate::counters::ServerStats, stats: &Stats) -> bool {
        let fds = used_fds(stats);
        if fds >= self.fd_high {
            return false;
        }
        let list = &self.idle[c.backend][c.server];
        let has_safe = list.iter().any(|&k| self.conns.get(k).is_some_and(ServerConn::safe));
        if !has_safe && (c.safe() || list.is_empty()) {
            return true;
        }
        let used = srv.used_conns.load(Relaxed);
        let need = used.max(srv.est_need_conns.load(Relaxed));
        fds < self.fd_low && used + srv.idle_conns.load(Relaxed) <= need + pool.low_conn
    }

    /// An idle connection to `server` for a request of `session` (slab key), chosen as
    /// `http-reuse` says (see [`HttpReuse`]); `first`: the client connection's first request.
    #[allow(clippy::too_many_arguments)]
    pub fn take(
        &mut self,
        backend: usize,
        server: usize,
        reuse: HttpReuse,
        first: bool,
        session: usize,
        sni: Option<&str>,
        stats: &Stats,
    ) -> Option<usize> {
        // Whether a safe connection is wanted, in order of preference.
        let order: &[bool] = match (reuse, first) {
            (HttpReuse::Never, _) => &[],
            (HttpReuse::Safe | HttpReuse::Aggressive, true) => &[true],
            (HttpReuse::Always, true) => &[true, false],
            (_, false) => &[false, true],
        };
        let list = self.idle.get(backend)?.get(server)?;
        // One parked before the server's last stop is closed by the next sweep, not reused.
        let epoch = stats.backends[backend].servers[server].stopped_epoch.load(Relaxed);
        let usable = |c: &ServerConn, safe: bool| {
            c.safe() == safe && c.sni.as_deref() == sni && matches!(c.state, State::Idle { epoch: e, .. } if e == epoch)
        };
        let found = order.iter().find_map(|&safe| list.iter().rposition(|&k| self.conns.get(k).is_some_and(|c| usable(c, safe))));
        let i = found?;
        let key = self.idle[backend][server].remove(i);
        stats.backends[backend].servers[server].idle_conns.fetch_sub(1, Relaxed);
        self.make_busy(key, session, stats);
        Some(key)
    }

    /// The session's own idle connection (`http-reuse never`), if still open and to `server`.
    #[allow(clippy::too_many_arguments)]
    pub fn take_private(
        &mut self,
        r: ConnRef,
        backend: usize,
        server: usize,
        session: usize,
        sni: Option<&str>,
        stats: &Stats,
    ) -> Option<usize> {
        let c = self.conns.get(r.key)?;
        let ok = c.serial == r.serial
            && c.backend == backend
            && c.server == server
            && c.sni.as_deref() == sni
            && matches!(c.state, State::Idle { private: Some(_), .. });
        if !ok {
            return None;
        }
        self.make_busy(r.key, session, stats);
        Some(r.key)
    }

    /// The backend and server of a session's private idle connection, if it is still open
    /// (`option prefer-last-server`).
    pub fn private_target(&self, r: ConnRef) -> Option<(usize, usize)> {
        let c = self.conns.get(r.key)?;
        (c.serial == r.serial && matches!(c.state, State::Idle { private: Some(_), .. })).then_some((c.backend, c.server))
    }

    /// Closes a session's private idle connection (the session ends).
    pub fn close_private(&mut self, r: ConnRef, stats: &Stats) {
        if self.conns.get(r.key).is_some_and(|c| c.serial == r.serial && matches!(c.state, State::Idle { private: Some(_), .. })) {
            self.close(r.key, stats);
        }
    }

    fn make_busy(&mut self, key: usize, session: usize, stats: &Stats) {
        if let Some(c) = self.conns.get_mut(key) {
            c.state = State::Busy { session };
            count_busy(stats, c.backend, c.server);
        }
    }

    /// When [`Self::maintain`] next has work: the earliest purge.
    pub fn next_purge(&self) -> Option<Instant> {
        self.next_purge
    }

    /// Once per loop turn: closes the idle connections of servers that stopped (DOWN or MAINT)
    /// since they were parked, and those unused for their `pool-purge-delay` (keeping
    /// `pool-low-conn` per server). Returns whether a server stopped since the last call.
    pub fn maintain(&mut self, backends: &[Backend], stats: &Stats, now: Instant) -> bool {
        let mut stopped = false;
        for (b, seen) in self.swept.iter_mut().enumerate() {
            let epoch = stats.backends[b].stopped_epoch.load(Relaxed);
            if epoch != *seen {
                *seen = epoch;
                stopped = true;
                self.next_purge = Some(now);
            }
        }
        if self.next_purge.is_none_or(|d| d > now) {
            return stopped;
        }
        self.next_purge = None;
        for b in 0..self.idle.len() {
            for s in 0..self.idle[b].len() {
                let Some(cfg) = backends.get(b).and_then(|be| be.servers.get(s)) else { continue };
                let srv = &stats.backends[b].servers[s];
                // HAProxy's purge: the need estimate follows the most used since the last one.
                let max_used = srv.max_used_conns.swap(srv.used_conns.load(Relaxed), Relaxed);
                let est = srv.est_need_conns.load(Relaxed);
                srv.est_need_conns.store(((est + max_used) / 2).max(max_used), Relaxed);
                let epoch = srv.stopped_epoch.load(Relaxed);
                let keep_low = cfg.pool.low_conn as usize;
                let list = std::mem::take(&mut self.idle[b][s]);
                let mut kept = Vec::with_capacity(list.len());
                let total = list.len();
                for (i, key) in list.into_iter().enumerate() {
                    let Some(c) = self.conns.get(key) else { continue };
                    let State::Idle { since, epoch: parked, .. } = c.state else { continue };
                    let stopped = parked != epoch || !srv.running();
                    // Oldest first: the newest `pool-low-conn` ones are spared by the purge.
                    let expired = now.saturating_duration_since(since) >= cfg.pool.purge_delay && total - i > keep_low;
                    if stopped || expired {
                        self.conns.remove(key);
                        srv.idle_conns.fetch_sub(1, Relaxed);
                        stats.server_conns.fetch_sub(1, Relaxed);
                    } else {
                        if !(total - i <= keep_low && now.saturating_duration_since(since) >= cfg.pool.purge_delay) {
                            let due = since + cfg.pool.purge_delay;
                            self.next_purge = Some(self.next_purge.map_or(due, |d| d.min(due)));
                        }
                        kept.push(key);
                    }
                }
                self.idle[b][s] = kept;
            }
        }
        stopped
    }

    /// Closes every connection (the thread ends).
    pub fn clear(&mut self, stats: &Stats) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.close(k, stats);
        }
    }

    /// Shared idle connections to `server` kept by this thread.
    #[cfg(test)]
    pub fn idle_count(&self, backend: usize, server: usize) -> usize {
        self.idle.get(backend).and_then(|b| b.get(server)).map_or(0, Vec::len)
    }

    /// Connections open, busy or idle.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::backend;
    use mio::{Events, Poll};
    use std::time::Duration;

    struct Lab {
        poll: Poll,
        listener: std::net::TcpListener,
        peers: Vec<std::net::TcpStream>,
        backends: Vec<Backend>,
        stats: Stats,
        conns: ServerConns,
    }

    fn lab(pool: ServerPool) -> Lab {
        lab_with(pool, crate::testkit::global())
    }

    fn lab_with(pool: ServerPool, global: hakeeper_common::config::Global) -> Lab {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut b = backend(&[(1, 0, false), (1, 0, false)]);
        for s in &mut b.servers {
            s.addr = listener.local_addr().unwrap();
            s.pool = pool;
        }
        let backends = vec![b];
        let stats = Stats::new(&[], &backends);
        let conns = ServerConns::new(&backends, &global);
        Lab { poll: Poll::new().unwrap(), listener, peers: Vec::new(), backends, stats, conns }
    }

    impl Lab {
        /// A connected, busy connection of session `session` to `server`.
        fn open(&mut self, server: usize, session: usize) -> usize {
            let addr = self.listener.local_addr().unwrap();
            let key = self.conns.connect(self.poll.registry(), addr, 0, server, session, None, &self.stats).unwrap();
            let (peer, _) = self.listener.accept().unwrap();
            self.peers.push(peer);
            key
        }

        /// One request done on `key`, then parked.
        fn finish(&mut self, key: usize, reuse: HttpReuse, now: Instant) -> Result<(), NotKept> {
            self.conns.get_mut(key).unwrap().requests += 1;
            let pool = self.backends[0].servers[0].pool;
            self.conns.park(key, reuse, 7, &pool, &self.stats, now)
        }

        fn idle_gauge(&self, server: usize) -> u32 {
            self.stats.backends[0].servers[server].idle_conns.load(Relaxed)
        }

        /// Delivers pending events to the table, as the event loop does.
        fn pump_events(&mut self) -> Vec<ConnEvent> {
            let mut events = Events::with_capacity(16);
            self.poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
            events
                .iter()
                .filter_map(|ev| match crate::tokens::classify(ev.token()) {
                    crate::tokens::Target::Conn(k) => Some(self.conns.on_event(k, ev, &self.stats)),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn safe_reuse_crosses_sessions_once_a_connection_proved_itself() {
        let mut l = lab(ServerPool::default());
        let now = Instant::now();
        let a = l.open(0, 1);
        l.finish(a, HttpReuse::Safe, now).unwrap();
        assert_eq!(l.idle_gauge(0), 1);
        // Served one request only: another client's first request does not take it...
        assert_eq!(l.conns.take(0, 0, HttpReuse::Safe, true, 2, None, &l.stats), None);
        // ...a later request of any client does.
        assert_eq!(l.conns.take(0, 0, HttpReuse::Safe, false, 2, None, &l.stats), Some(a));
        assert_eq!(l.idle_gauge(0), 0);
        l.finish(a, HttpReuse::Safe, now).unwrap();
        // Two requests carried: safe now, so a new client's first request may use it.
        assert_eq!(l.conns.take(0, 0, HttpReuse::Safe, true, 3, None, &l.stats), Some(a));
        // Never another server's.
        l.finish(a, HttpReuse::Safe, now).unwrap();
        assert_eq!(l.conns.take(0, 1, HttpReuse::Safe, false, 3, None, &l.stats), None);
    }

    #[test]
    fn never_keeps_a_connection_private_to_its_session() {
        let mut l = lab(ServerPool::default());
        let now = Instant::now();
        let a = l.open(0, 1);
        l.finish(a, HttpReuse::Never, now).unwrap();
        let r = l.conns.reference(a).unwrap();
        assert_eq!(l.idle_gauge(0), 0, "not in the shared list");
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, false, 2, None, &l.stats), None, "no other session gets it");
        assert_eq!(l.conns.private_target(r), Some((0, 0)));
        assert_eq!(l.conns.take_private(r, 0, 1, 1, None, &l.stats), None, "another server");
        assert_eq!(l.conns.take_private(r, 0, 0, 1, None, &l.stats), Some(a));
        l.finish(a, HttpReuse::Never, now).unwrap();
        l.conns.close_private(r, &l.stats);
        assert_eq!(l.conns.open(), 0);
        assert_eq!(l.conns.take_private(r, 0, 0, 1, None, &l.stats), None, "closed");
    }

    #[test]
    fn always_and_aggressive_first_requests() {
        let mut l = lab(ServerPool::default());
        let now = Instant::now();
        let a = l.open(0, 1);
        l.finish(a, HttpReuse::Always, now).unwrap();
        assert_eq!(l.conns.take(0, 0, HttpReuse::Aggressive, true, 2, None, &l.stats), None, "aggressive: safe ones only");
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, true, 2, None, &l.stats), Some(a), "always: an idle one too");
    }

    #[test]
    fn an_idle_connection_serves_only_requests_wanting_its_sni() {
        let mut l = lab(ServerPool::default());
        let now = Instant::now();
        let a = l.open(0, 1);
        l.conns.get_mut(a).unwrap().sni = Some("www.example".into());
        l.finish(a, HttpReuse::Always, now).unwrap();
        // HAProxy keeps the SNI in the connection hash.
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, false, 2, Some("other.example"), &l.stats), None);
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, false, 2, None, &l.stats), None);
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, false, 2, Some("www.example"), &l.stats), Some(a));
        l.finish(a, HttpReuse::Never, now).unwrap();
        let r = l.conns.reference(a).unwrap();
        assert_eq!(l.conns.take_private(r, 0, 0, 1, Some("other.example"), &l.stats), None);
        assert_eq!(l.conns.take_private(r, 0, 0, 1, Some("www.example"), &l.stats), Some(a));
    }

    #[test]
    fn idle_connections_are_purged_after_the_delay_keeping_pool_low_conn() {
        let pool = ServerPool { purge_delay: Duration::from_secs(5), low_conn: 1, ..ServerPool::default() };
        let mut l = lab(pool);
        let t0 = Instant::now();
        let (a, b) = (l.open(0, 1), l.open(0, 2));
        l.finish(a, HttpReuse::Safe, t0).unwrap();
        l.finish(b, HttpReuse::Safe, t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(l.conns.next_purge(), Some(t0 + Duration::from_secs(5)));
        l.conns.maintain(&l.backends, &l.stats, t0 + Duration::from_secs(4));
        assert_eq!(l.conns.idle_count(0, 0), 2, "not yet");
        l.conns.maintain(&l.backends, &l.stats, t0 + Duration::from_secs(10));
        assert_eq!(l.conns.idle_count(0, 0), 1, "the oldest went, pool-low-conn keeps one");
        assert_eq!(l.conns.take(0, 0, HttpReuse::Safe, false, 3, None, &l.stats), Some(b));
        assert_eq!(l.idle_gauge(0), 0);
        assert_eq!(l.conns.open(), 1);
    }

    #[test]
    fn a_connection_the_server_closed_is_dropped_not_reused() {
        let mut l = lab(ServerPool::default());
        let now = Instant::now();
        let a = l.open(0, 1);
        // The connect's own writable event, while busy, goes to the session.
        assert!(l.pump_events().contains(&ConnEvent::Session(1)));
        l.finish(a, HttpReuse::Safe, now).unwrap();
        drop(l.peers.remove(0));
        let mut seen = Vec::new();
        for _ in 0..10 {
            seen.extend(l.pump_events());
            if seen.contains(&ConnEvent::Closed) {
                break;
            }
        }
        assert!(seen.contains(&ConnEvent::Closed), "{seen:?}");
        assert_eq!(l.conns.open(), 0);
        assert_eq!(l.idle_gauge(0), 0);
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, false, 2, None, &l.stats), None);
    }

    #[test]
    fn a_server_that_stops_loses_its_idle_connections() {
        let mut l = lab(ServerPool::default());
        let now = Instant::now();
        let (a, b) = (l.open(0, 1), l.open(1, 2));
        l.finish(a, HttpReuse::Safe, now).unwrap();
        l.finish(b, HttpReuse::Safe, now).unwrap();
        let srv = &l.stats.backends[0].servers[0];
        srv.up.store(false, Relaxed);
        srv.stopped_epoch.fetch_add(1, Relaxed);
        l.stats.backends[0].stopped_epoch.fetch_add(1, Relaxed);
        assert_eq!(l.conns.take(0, 0, HttpReuse::Always, false, 9, None, &l.stats), None, "parked before the stop: not reused");
        assert!(l.conns.maintain(&l.backends, &l.stats, now), "the sweep saw the stop");
        assert_eq!((l.conns.idle_count(0, 0), l.conns.idle_count(0, 1)), (0, 1), "only the stopped server's");
        // A request finishing on a stopped server does not park its connection either.
        l.stats.backends[0].servers[0].up.store(false, Relaxed);
        let c = l.open(0, 3);
        assert_eq!(l.finish(c, HttpReuse::Safe, now), Err(NotKept::ServerStopped));
        assert_eq!(l.conns.open(), 1);
    }

    #[test]
    fn max_reuse_and_pool_max_conn_bound_what_is_kept() {
        let mut l = lab(ServerPool { max_reuse: Some(1), max_conn: Some(1), ..ServerPool::default() });
        let now = Instant::now();
        let a = l.open(0, 1);
        l.finish(a, HttpReuse::Safe, now).unwrap();
        let b = l.open(0, 2);
        assert_eq!(l.finish(b, HttpReuse::Safe, now), Err(NotKept::PoolFull), "pool-max-conn 1");
        assert_eq!(l.conns.take(0, 0, HttpReuse::Safe, false, 3, None, &l.stats), Some(a));
        // Reused once: a third request would be its second reuse.
        assert_eq!(l.finish(a, HttpReuse::Safe, now), Err(NotKept::MaxReuse));
        assert_eq!(l.conns.open(), 0);
    }

    #[test]
    fn idle_connections_beyond_the_fd_ratios_are_not_kept() {
        // maxconn 10: 20 descriptors, pool_low_count 4 (20 %), pool_high_count 5 (25 %).
        let global = hakeeper_common::config::Global { maxconn: 10, ..crate::testkit::global() };
        let mut l = lab_with(ServerPool::default(), global);
        let now = Instant::now();
        let (a, b, c, d) = (l.open(0, 1), l.open(0, 2), l.open(1, 3), l.open(0, 4));
        // Four descriptors in use: at pool_low_count only a thread's first idle one is kept.
        l.finish(a, HttpReuse::Safe, now).unwrap();
        assert_eq!(l.finish(b, HttpReuse::Safe, now), Err(NotKept::FdsLow));
        // Over pool_high_count (client sockets count too), not even the first one.
        l.stats.process.cur.store(10, Relaxed);
        assert_eq!(l.finish(c, HttpReuse::Safe, now), Err(NotKept::FdsLow));
        // A new connection over pool_high_count first closes an idle one to the same server.
        let e = l.open(0, 5);
        assert_eq!(l.conns.idle_count(0, 0), 0, "a was closed to make room");
        l.stats.process.cur.store(0, Relaxed);
        let used = l.stats.backends[0].servers[0].used_conns.load(Relaxed);
        assert_eq!((used, l.stats.server_conns.load(Relaxed)), (2, 2), "d and e busy, nothing else open");
        assert_eq!(l.stats.backends[0].servers[0].est_need_conns.load(Relaxed), 3, "the peak of a, b and d");
        l.finish(d, HttpReuse::Safe, now).unwrap();
        l.finish(e, HttpReuse::Never, now).unwrap();
        assert_eq!(l.stats.backends[0].servers[0].used_conns.load(Relaxed), 0);
    }
}
