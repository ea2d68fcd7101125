//! Accepting clients. A slot under `global.maxconn` and the frontend's `maxconn` is reserved
//! before each accept; when none is left the listener is paused (deregistered) so that excess
//! clients wait in the kernel backlog, and it resumes when a session ends anywhere.

use super::EventLoop;
use crate::counters::Counters;
use crate::deny::deny_session;
use crate::session::{Origin, Session};
use crate::stick_runtime::track::Trackers;
use crate::tcp_rules;
use hakeeper_common::config::TcpAction;
use mio::net::TcpStream;
use mio::Interest;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Accepts per listener event before other work gets a turn.
const ACCEPT_BATCH: usize = 64;
/// Pause after running out of descriptors or memory, as HAProxy's listener limit.
const RESOURCE_PAUSE: Duration = Duration::from_millis(100);

fn is_resource_shortage(e: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(e.raw_os_error().map(Errno::from_raw), Some(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM))
}

impl EventLoop {
    fn has_room(&self, frontend: usize) -> bool {
        let stats = &self.shared.stats;
        let global = u64::from(self.shared.config.global.maxconn);
        let fe = u64::from(self.shared.config.frontends[frontend].maxconn);
        stats.process.cur.load(std::sync::atomic::Ordering::Relaxed) < global
            && stats.frontends[frontend].counters.cur.load(std::sync::atomic::Ordering::Relaxed) < fe
    }

    fn reserve(&self, frontend: usize) -> bool {
        let stats = &self.shared.stats;
        if !stats.process.try_reserve(u64::from(self.shared.config.global.maxconn)) {
            return false;
        }
        if !stats.frontends[frontend].counters.try_reserve(u64::from(self.shared.config.frontends[frontend].maxconn)) {
            stats.process.session_closed();
            return false;
        }
        true
    }

    fn unreserve(&self, frontend: usize) {
        self.shared.stats.process.session_closed();
        self.shared.stats.frontends[frontend].counters.session_closed();
    }

    pub(super) fn accept(&mut self, i: usize) {
        let Some(l) = self.listeners.list.get(i) else { return };
        if !l.registered {
            return;
        }
        let (frontend, bind) = (l.frontend, l.bind);
        for _ in 0..ACCEPT_BATCH {
            if !self.reserve(frontend) {
                self.listeners.pause(i, self.poll.registry());
                self.shared.note_listeners_paused();
                return;
            }
            match self.listeners.list[i].socket.accept() {
                Ok((stream, addr)) => self.start_session(stream, addr, frontend, bind),
                Err(e) => {
                    self.unreserve(frontend);
                    match e.kind() {
                        io::ErrorKind::WouldBlock => return,
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                        _ if is_resource_shortage(&e) => {
                            log::error!(
                                "accept on {}: {e}; pausing all listeners for {} ms",
                                self.bind_name(frontend, bind),
                                RESOURCE_PAUSE.as_millis()
                            );
                            for k in 0..self.listeners.list.len() {
                                self.listeners.pause(k, self.poll.registry());
                            }
                            self.listeners.resource_pause = Some(self.now + RESOURCE_PAUSE);
                            return;
                        }
                        _ => {
                            log::error!("accept on {}: {e}", self.bind_name(frontend, bind));
                            return;
                        }
                    }
                }
            }
        }
        // The batch ran out before the backlog did: continue next turn.
        self.listeners.backlog.push(i);
    }

    fn bind_name(&self, frontend: usize, bind: usize) -> String {
        let fe = &self.shared.config.frontends[frontend];
        format!("{}/{}", fe.name, fe.binds.get(bind).map(|a| a.to_string()).unwrap_or_default())
    }

    pub(super) fn accept_backlog(&mut self) {
        if self.listeners.backlog.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.listeners.backlog);
        pending.sort_unstable();
        pending.dedup();
        for i in pending {
            self.accept(i);
        }
    }

    /// Re-registers listeners paused at a limit once there is room again.
    pub(super) fn resume_listeners(&mut self) {
        if let Some(until) = self.listeners.resource_pause {
            if self.now < until {
                return;
            }
            self.listeners.resource_pause = None;
        }
        if !self.listeners.any_paused() {
            return;
        }
        for i in 0..self.listeners.list.len() {
            let l = &self.listeners.list[i];
            if !l.registered && self.has_room(l.frontend) {
                self.listeners.register(i, self.poll.registry());
            }
        }
    }

    /// `tcp-request connection` rules, before anything is allocated for the connection: a
    /// rejected one is closed with a reset (HAProxy sets SO_LINGER 0 to send one RST), counted
    /// in the frontend's and listener's `dcon`, and not logged, as in HAProxy. Then, on a bind
    /// without `accept-proxy` (where the session starts at once), the `tcp-request session`
    /// rules: see [`deny_session`].
    /// Counters tracked by these rules go in `trackers`.
    fn connection_rejected(&self, stream: &TcpStream, addr: SocketAddr, frontend: usize, bind: usize, trackers: &Trackers) -> bool {
        let fe = &self.shared.config.frontends[frontend];
        if let Some(h) = self.shared.config.http.frontends.get(frontend).filter(|h| !h.tcp_connection.is_empty()) {
            let dst = if tcp_rules::reads_dst(&h.acls) { fe.bind_local(bind).or_else(|| stream.local_addr().ok()) } else { None };
            let mut view = tcp_rules::ConnView::at_accept(addr, dst, &fe.name, bind, &self.shared);
            view.track = Some(trackers);
            match tcp_rules::connection_verdict(&h.tcp_connection, &h.acls, &view) {
                // connection_verdict runs track-sc itself and goes on.
                TcpAction::Accept | TcpAction::Track { .. } => {}
                // `close` is a tcp-response action; validation keeps it out of these rules.
                TcpAction::Reject | TcpAction::Close => {
                    let stats = &self.shared.stats.frontends[frontend];
                    Counters::add(&stats.counters.denied_conns, 1);
                    Counters::add(&stats.listeners[bind].counters.denied_conns, 1);
                    let linger = nix::libc::linger { l_onoff: 1, l_linger: 0 };
                    let _ = nix::sys::socket::setsockopt(stream, nix::sys::socket::sockopt::Linger, &linger);
                    log::debug!("connection from {addr} to {} rejected by tcp-request connection", fe.name);
                    return true;
                }
                TcpAction::SilentDrop => {
                    deny_session(&self.shared, stream, addr, frontend, bind, TcpAction::SilentDrop);
                    return true;
                }
            }
        }
        if fe.accept_proxy {
            return false;
        }
        let Some(h) = tcp_rules::session_rules(&self.shared, frontend) else { return false };
        let dst = if tcp_rules::reads_dst(&h.acls) { fe.bind_local(bind).or_else(|| stream.local_addr().ok()) } else { None };
        let mut view = tcp_rules::ConnView::at_accept(addr, dst, &fe.name, bind, &self.shared);
        view.track = Some(trackers);
        match tcp_rules::connection_verdict(&h.tcp_session, &h.acls, &view) {
            TcpAction::Accept => false,
            action => {
                deny_session(&self.shared, stream, addr, frontend, bind, action);
                true
            }
        }
    }

    fn start_session(&mut self, mut stream: TcpStream, addr: SocketAddr, frontend: usize, bind: usize) {
        let trackers = Trackers::default();
        if self.connection_rejected(&stream, addr, frontend, bind, &trackers) {
            trackers.release(&self.shared, crate::stick::now_ms());
            drop(stream);
            self.unreserve(frontend);
            return;
        }
        let shared = self.shared.clone();
        let stats = &shared.stats;
        stats.process.confirm();
        stats.frontends[frontend].counters.confirm();
        stats.frontends[frontend].listeners[bind].counters.session_opened();
        let fe = &shared.config.frontends[frontend];
        let backend = fe.default_backend;
        // Behind `accept-proxy`, the backend and the connect log wait for the header.
        let proxy_deadline = fe.accept_proxy.then(|| self.now + fe.timeout_client);
        // A frontend that switches by content counts its backend once it is chosen.
        if let (Some(be), None, false) = (backend, proxy_deadline, tcp_rules::tcp_switching(&shared, frontend)) {
            stats.backends[be].counters.session_opened();
        }
        if fe.log && fe.log_format.is_none() && proxy_deadline.is_none() {
            let local = fe.bind_local(bind).or_else(|| stream.local_addr().ok()).map(|a| a.to_string()).unwrap_or_default();
            log::info!("Connect from {addr} to {local} ({}/TCP)", fe.name);
        }
        let entry = self.sessions.vacant_entry();
        let key = entry.key();
        let registered = self.poll.registry().register(&mut stream, crate::tokens::client(key), Interest::READABLE | Interest::WRITABLE);
        let http = crate::session::http::is_http_frontend(&shared, frontend);
        let origin = Origin { frontend, listener: bind, backend, http, proxy_deadline };
        let mut session = Session::new(shared.new_session_id(), origin, stream, addr, self.now);
        if trackers.any() {
            session.track = Some(Box::new(trackers));
        }
        if let Some(config) = shared.tls.get(frontend, bind) {
            match crate::tls::TlsConn::new(config.clone()) {
                Ok(t) => session.tls = Some(Box::new(t)),
                Err(e) => {
                    log::error!("cannot start TLS for a client of {}: {e}", fe.name);
                    entry.insert(session);
                    self.close(
                        key,
                        crate::termination::Termination::new(crate::termination::Cause::Internal, crate::termination::Phase::Connect),
                    );
                    return;
                }
            }
        }
        entry.insert(session);
        if let Err(e) = registered {
            log::error!("cannot register a client of {}: {e}", fe.name);
            self.close(key, crate::termination::Termination::new(crate::termination::Cause::Internal, crate::termination::Phase::Connect));
            return;
        }
        let (Some(session), mut ctx) = self.ctx(key) else { return };
        let step = session.start(&mut ctx);
        self.finish(key, step);
    }
}
