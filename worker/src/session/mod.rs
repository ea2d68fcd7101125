//! One client connection and what it is proxied to, by layer:
//!
//! - the **client side** (this struct's own fields): the socket, its readiness, its address;
//! - the **upstream side** ([`upstream`]): which server (assignment, queues, slots), the
//!   connection to it (connect, retries, redispatch, idle connection reuse), whatever runs on it;
//! - the **protocol** ([`Proto`]): [`tcp`] forwards bytes both ways, [`http`] runs HTTP/1.1
//!   transactions and asks the upstream side for a server per request, [`h2`] runs each
//!   HTTP/2 stream as such a transaction.
//!
//! Transitions are driven by socket events, queue grants and deadlines; each handler returns a
//! [`Step`] telling the event loop whether the session goes on.

pub mod h2;
pub mod handshake;
pub mod http;
pub mod tcp;
mod tls_handshake;
pub mod upstream;

use crate::backend::Grant;
use crate::buffer::Pools;
use crate::counters::Counters;
use crate::deadline::Armed;
use crate::ready::Ready;
use crate::shared::Shared;
use crate::termination::{Phase, Termination};
use mio::net::TcpStream;
use mio::Registry;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};
use upstream::conns::ServerConns;
pub use upstream::{Stage, Upstream};

/// What the event loop does with a session after a handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    Close(Termination),
}

/// Which of the session's sockets an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What a handler may use besides the session itself.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub registry: &'a Registry,
    pub pools: &'a mut Pools,
    /// This thread's server connections, busy and idle.
    pub conns: &'a mut ServerConns,
    /// Slots freed by this handler, to be handed to waiting sessions.
    pub grants: &'a mut Vec<Grant>,
    /// HTTP/2 sessions (slab keys) whose client writes wait for the end of the batch of events.
    pub deferred: &'a mut Vec<usize>,
    pub now: Instant,
    pub thread: usize,
    pub key: usize,
}

/// The protocol a session runs (boxed: an idle HTTP client keeps only what waiting needs).
pub enum Proto {
    Tcp(Box<tcp::TcpProto>),
    Http(Box<http::HttpState>),
    /// HTTP/2 towards the client: its streams, each an HTTP transaction.
    Http2(Box<h2::H2State>),
}

impl Proto {
    pub fn http(&self) -> Option<&http::HttpState> {
        match self {
            Proto::Http(h) => Some(h),
            Proto::Tcp(_) | Proto::Http2(_) => None,
        }
    }

    pub fn http_mut(&mut self) -> Option<&mut http::HttpState> {
        match self {
            Proto::Http(h) => Some(h),
            Proto::Tcp(_) | Proto::Http2(_) => None,
        }
    }

    pub fn is_http(&self) -> bool {
        matches!(self, Proto::Http(_))
    }
}

/// Where a session was accepted, and what it starts with.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub frontend: usize,
    pub listener: usize,
    /// The frontend's default backend.
    pub backend: Option<usize>,
    /// The frontend speaks HTTP.
    pub http: bool,
    /// `accept-proxy`: the PROXY header is due by then, before the protocol starts.
    pub proxy_deadline: Option<Instant>,
}

pub struct Session {
    pub id: u64,
    pub frontend: usize,
    pub listener: usize,
    pub client: TcpStream,
    pub client_addr: SocketAddr,
    client_ready: Ready,
    pub accepted: Instant,
    pub accepted_wall: SystemTime,
    pub armed: Armed,
    /// The session no longer counts against `maxconn` (see [`Session::leave_counts`]).
    left_counts: bool,
    pub up: Upstream,
    pub proto: Proto,
    /// `accept-proxy` binds only: the PROXY header awaited, or what it said.
    pub proxied: Option<Box<handshake::Proxied>>,
    /// TLS binds only: the client's TLS connection.
    pub tls: Option<Box<crate::tls::TlsConn>>,
    /// Why the TLS handshake failed (the session is closing).
    tls_failed: Option<crate::tls::conn::HandshakeFailure>,
    /// What rules may ask about the client's TLS, once its handshake is done.
    pub tls_facts: Option<std::sync::Arc<crate::tls::TlsFacts>>,
    /// Sticky counters, once a rule tracked something or a proxy with stick tables runs
    /// HTTP rules.
    pub track: Option<Box<crate::stick_runtime::track::Trackers>>,
}

impl Session {
    /// A new session accepted by `origin`'s listener.
    pub fn new(id: u64, origin: Origin, client: TcpStream, client_addr: SocketAddr, now: Instant) -> Self {
        let Origin { frontend, listener, backend, http, proxy_deadline } = origin;
        // Behind `accept-proxy` the backend is the session's only once the header is in.
        let proxied = proxy_deadline.map(|d| Box::new(handshake::Proxied::new(d, backend)));
        let backend = if proxied.is_some() { None } else { backend };
        let proto = if http { Proto::Http(Box::new(http::HttpState::new(now))) } else { Proto::Tcp(Box::new(tcp::TcpProto::new(now))) };
        Session {
            id,
            frontend,
            listener,
            client,
            client_addr,
            client_ready: Ready::default(),
            accepted: now,
            accepted_wall: SystemTime::now(),
            armed: Armed::default(),
            left_counts: false,
            up: Upstream::new(backend),
            proto,
            proxied,
            tls: None,
            tls_failed: None,
            tls_facts: None,
            track: None,
        }
    }

    /// The counts ending this session's log line, with `backend` the one being logged (an HTTP
    /// transaction's may differ from the session's).
    pub fn log_counts(&self, shared: &Shared, backend: Option<usize>) -> crate::tcplog::LogCounts {
        let stats = &shared.stats;
        crate::tcplog::LogCounts {
            actconn: Counters::get(&stats.process.cur),
            feconn: Counters::get(&stats.frontends[self.frontend].counters.cur),
            beconn: backend.map_or(0, |b| Counters::get(&stats.backends[b].counters.cur)),
            srvconn: match (backend, self.up.target) {
                (Some(b), Some(t)) => Counters::get(&stats.backends[b].servers[t].counters.cur),
                _ => 0,
            },
            retries: self.up.retries,
            redispatched: self.up.redispatched,
            srv_queue: self.up.srv_queue_pos,
            backend_queue: self.up.be_queue_pos,
        }
    }

    /// The phase letter of the termination code for an end now.
    pub fn phase(&self) -> Phase {
        match (self.up.stage, &self.proto) {
            // Content inspection is HAProxy's request analyser: `R`.
            (_, Proto::Tcp(t)) if matches!(t.inspect, Some(tcp::inspect::Inspect { of: tcp::inspect::Inspected::Request { .. }, .. })) => {
                Phase::Request
            }
            (Stage::Queued { .. }, _) => Phase::Queue,
            (Stage::Assigning | Stage::TurnAround | Stage::Connecting, _) => Phase::Connect,
            (Stage::Established, Proto::Tcp(t)) if t.res.eof && t.res.pending() > 0 => Phase::LastData,
            (Stage::Established, _) => Phase::Data,
        }
    }

    /// A readiness event on one of the session's sockets (the server connection's readiness
    /// is already recorded in its table entry).
    pub fn on_event(&mut self, ctx: &mut Ctx<'_>, side: Side, ev: &mio::event::Event) -> Step {
        if side == Side::Client {
            self.client_ready.update(ev);
        }
        if self.awaits_proxy_header() {
            return self.proxy_handshake(ctx);
        }
        if self.awaits_tls_handshake() {
            return self.tls_handshake(ctx);
        }
        match &self.proto {
            Proto::Http(_) => self.http_on_event(ctx, side, ev),
            Proto::Http2(_) => self.h2_on_event(ctx, side, ev),
            Proto::Tcp(_) => self.tcp_on_event(ctx, side, ev),
        }
    }

    /// Closes the session's server connection, if any.
    pub fn close_conn(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(k) = self.up.conn.take() {
            ctx.conns.close(k, &ctx.shared.stats);
        }
    }

    fn count_in(&self, ctx: &Ctx<'_>, n: u64) {
        if let Some(t) = &self.track {
            t.bytes(ctx.shared, n, 0, crate::stick::now_ms());
        }
        let stats = &ctx.shared.stats;
        let fe = &stats.frontends[self.frontend];
        Counters::add(&fe.counters.bytes_in, n);
        Counters::add(&fe.listeners[self.listener].counters.bytes_in, n);
        if let Some(be) = self.up.backend {
            Counters::add(&stats.backends[be].counters.bytes_in, n);
            if let Some(s) = self.up.target {
                Counters::add(&stats.backends[be].servers[s].counters.bytes_in, n);
            }
        }
    }

    fn count_out(&self, ctx: &Ctx<'_>, n: u64) {
        if let Some(t) = &self.track {
            t.bytes(ctx.shared, 0, n, crate::stick::now_ms());
        }
        let stats = &ctx.shared.stats;
        let fe = &stats.frontends[self.frontend];
        Counters::add(&fe.counters.bytes_out, n);
        Counters::add(&fe.listeners[self.listener].counters.bytes_out, n);
        if let Some(be) = self.up.backend {
            Counters::add(&stats.backends[be].counters.bytes_out, n);
            if let Some(s) = self.up.target {
                Counters::add(&stats.backends[be].servers[s].counters.bytes_out, n);
            }
        }
    }

    /// Stops counting the session in the process, frontend and backend counts (`maxconn`),
    /// once: when it closes, or earlier when only a FIN to a client that was answered is left
    /// (HAProxy closes such a connection at once; waiting for the client's own FIN must not
    /// keep the 1,001st client of `maxconn 1000` waiting).
    pub fn leave_counts(&mut self, shared: &Shared) {
        if std::mem::replace(&mut self.left_counts, true) {
            return;
        }
        let stats = &shared.stats;
        stats.process.session_closed();
        stats.frontends[self.frontend].counters.session_closed();
        stats.frontends[self.frontend].listeners[self.listener].counters.session_closed();
        if let Some(be) = self.up.backend {
            stats.backends[be].counters.session_closed();
        }
        shared.slot_freed();
    }

    /// Gives the buffers and pipes back (the session is ending).
    pub fn release_buffers(&mut self, pools: &mut Pools) {
        match &mut self.proto {
            Proto::Tcp(t) => {
                t.req.release(pools);
                t.res.release(pools);
            }
            Proto::Http(h) => h.release_buffers(pools, true),
            Proto::Http2(_) => self.h2_release_buffers(pools),
        }
    }
}

/// Dispatch of the event loop's calls to the protocol.
impl Session {
    /// Starts a new session.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.awaits_proxy_header() {
            return self.proxy_handshake(ctx);
        }
        if self.awaits_tls_handshake() {
            return self.tls_handshake(ctx);
        }
        self.start_proto(ctx)
    }

    /// Starts the protocol once the connection's handshakes are done.
    fn start_proto(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match &self.proto {
            Proto::Http(_)
                if h2::speaks_h2(
                    ctx.shared,
                    self.frontend,
                    self.listener,
                    self.tls_facts.as_ref().and_then(|f| f.alpn.as_deref()).map(str::as_bytes),
                ) =>
            {
                self.h2_start(ctx)
            }
            Proto::Http(_) => self.http_start(ctx),
            Proto::Http2(_) => self.h2_drive(ctx),
            Proto::Tcp(_) => self.tcp_start(ctx),
        }
    }

    /// Whether the grant of a queue slot for `session` (an HTTP/2 stream's id, or the
    /// session's own) is awaited here.
    pub fn awaits_grant(&self, session: u64) -> bool {
        match &self.proto {
            Proto::Http2(_) => self.h2_awaits_grant(session),
            _ => self.id == session && matches!(self.up.stage, Stage::Queued { .. }),
        }
    }

    /// A waiting session (or HTTP/2 stream `session`) got a slot on `server` from the queue.
    pub fn on_grant(&mut self, ctx: &mut Ctx<'_>, session: u64, server: usize) -> Step {
        if let Proto::Http2(_) = self.proto {
            return self.h2_on_grant(ctx, session, server);
        }
        let p = self.got_slot(ctx, server);
        match &self.proto {
            Proto::Http(_) => self.http_upstream(ctx, p),
            Proto::Http2(_) => Step::Continue,
            Proto::Tcp(_) => self.tcp_upstream(ctx, p),
        }
    }

    /// Re-evaluates which sides are expected to act; call after every handler.
    pub fn update_armed(&mut self, now: Instant) {
        if self.awaits_proxy_header() || self.awaits_tls_handshake() {
            return;
        }
        if let Proto::Tcp(_) = self.proto {
            self.tcp_update_armed(now);
        }
    }

    /// The earliest moment something must be checked.
    pub fn next_deadline(&self, shared: &Shared) -> Option<Instant> {
        if self.awaits_proxy_header() {
            return self.proxy_deadline();
        }
        if self.awaits_tls_handshake() {
            return self.tls_deadline(shared);
        }
        match &self.proto {
            Proto::Http(_) => self.http_next_deadline(shared),
            Proto::Http2(_) => self.h2_next_deadline(shared),
            Proto::Tcp(_) => self.tcp_next_deadline(shared),
        }
    }

    /// A deadline entry fired: acts on whatever expired.
    pub fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.awaits_proxy_header() {
            return self.proxy_on_timeout(ctx);
        }
        if self.awaits_tls_handshake() {
            return self.tls_on_timeout(ctx);
        }
        match &self.proto {
            Proto::Http(_) => self.http_on_timeout(ctx),
            Proto::Http2(_) => self.h2_on_timeout(ctx),
            Proto::Tcp(_) => self.tcp_on_timeout(ctx),
        }
    }
}
