//! One proxied TCP connection: the client socket, the server socket once connected, a buffer per
//! direction, and the stage it is in. Transitions are driven by socket events, queue grants and
//! deadlines; each handler returns a [`Step`] telling the event loop whether the session goes on.

pub mod flow;
pub mod http;
mod timeouts;
pub mod upstream;

use crate::backend::Grant;
use crate::buffer::Pools;
use crate::counters::Counters;
use crate::deadline::Armed;
use crate::shared::Shared;
use crate::termination::{Cause, Phase, Termination};
use flow::{Flow, FlowError, Ready};
use mio::net::TcpStream;
use mio::Registry;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};
use upstream::conns::ServerConns;

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Accepted, no server chosen yet (also between a failed attempt and its redispatch).
    Assigning,
    /// Waiting for a slot in `server`'s queue, or in the backend's queue when `None`.
    Queued {
        server: Option<usize>,
    },
    /// Pausing before the next connect attempt, as HAProxy's turn-around after a refusal.
    TurnAround,
    Connecting,
    Established,
}

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
    pub now: Instant,
    pub thread: usize,
    pub key: usize,
}

pub struct Session {
    pub id: u64,
    pub frontend: usize,
    pub listener: usize,
    pub backend: Option<usize>,
    pub client: TcpStream,
    pub client_addr: SocketAddr,
    client_ready: Ready,
    /// The server connection the session (or its current request) uses: a key of the
    /// thread's [`ServerConns`].
    pub conn: Option<usize>,
    pub stage: Stage,
    /// The server this session is (or was last) assigned to.
    pub target: Option<usize>,
    /// A slot on `target` is held (counted against its maxconn).
    pub holds_slot: bool,
    /// The stick table chose the server: no early redispatch.
    persistent: bool,
    /// The next assignment is a redispatch away from this server.
    redispatch_from: Option<usize>,
    pub redispatched: bool,
    pub retries: u32,
    /// Client → server.
    pub req: Flow,
    /// Server → client.
    pub res: Flow,
    pub accepted: Instant,
    pub accepted_wall: SystemTime,
    /// When the session left the queues (its first connect attempt).
    pub queue_left: Option<Instant>,
    pub established_at: Option<Instant>,
    /// Connect, queue or turn-around deadline.
    stage_deadline: Option<Instant>,
    client_last: Instant,
    server_last: Instant,
    client_armed: bool,
    server_armed: bool,
    /// Sessions ahead in the server / backend queue when this one was queued (`%sq/%bq`).
    pub srv_queue_pos: usize,
    pub be_queue_pos: usize,
    pub armed: Armed,
    /// `mode http`: the transaction state (see [`http`]).
    pub http: Option<Box<http::HttpState>>,
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        frontend: usize,
        listener: usize,
        backend: Option<usize>,
        client: TcpStream,
        client_addr: SocketAddr,
        now: Instant,
    ) -> Self {
        Session {
            id,
            frontend,
            listener,
            backend,
            client,
            client_addr,
            client_ready: Ready::default(),
            conn: None,
            stage: Stage::Assigning,
            target: None,
            holds_slot: false,
            persistent: false,
            redispatch_from: None,
            redispatched: false,
            retries: 0,
            req: Flow::default(),
            res: Flow::default(),
            accepted: now,
            accepted_wall: SystemTime::now(),
            queue_left: None,
            established_at: None,
            stage_deadline: None,
            client_last: now,
            server_last: now,
            client_armed: false,
            server_armed: false,
            srv_queue_pos: 0,
            be_queue_pos: 0,
            armed: Armed::default(),
            http: None,
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
            srvconn: match (backend, self.target) {
                (Some(b), Some(t)) => Counters::get(&stats.backends[b].servers[t].counters.cur),
                _ => 0,
            },
            retries: self.retries,
            redispatched: self.redispatched,
            srv_queue: self.srv_queue_pos,
            backend_queue: self.be_queue_pos,
        }
    }

    /// The phase letter of the termination code for an end now.
    pub fn phase(&self) -> Phase {
        match self.stage {
            Stage::Queued { .. } => Phase::Queue,
            Stage::Assigning | Stage::TurnAround | Stage::Connecting => Phase::Connect,
            Stage::Established if self.res.eof && self.res.pending() > 0 => Phase::LastData,
            Stage::Established => Phase::Data,
        }
    }

    /// A readiness event on one of the session's sockets (the server connection's readiness
    /// is already recorded in its table entry).
    pub fn on_event(&mut self, ctx: &mut Ctx<'_>, side: Side, ev: &mio::event::Event) -> Step {
        if self.http.is_some() {
            return self.http_on_event(ctx, side, ev);
        }
        match side {
            Side::Client => self.client_ready.update(ev),
            Side::Server => {
                if self.stage == Stage::Connecting {
                    return self.check_connect(ctx, ev);
                }
            }
        }
        self.progress(ctx)
    }

    /// Closes the session's server connection, if any.
    pub fn close_conn(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(k) = self.conn.take() {
            ctx.conns.close(k, &ctx.shared.stats);
        }
    }

    /// Moves data as far as the stage allows.
    fn progress(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.stage == Stage::Established {
            return self.forward(ctx);
        }
        // Before the server is there, only take the client's first bytes and watch for it leaving.
        match self.req.pump(&self.client, &mut self.client_ready, None, ctx.pools) {
            Ok(moved) => {
                if moved.read > 0 {
                    self.client_last = ctx.now;
                    self.count_in(ctx, moved.read);
                }
            }
            Err(FlowError::Source(e) | FlowError::Sink(e)) => return self.aborted(Side::Client, e),
        }
        if self.req.eof && self.backend.is_some_and(|b| ctx.shared.config.backends[b].abortonclose) {
            return Step::Close(Termination::new(Cause::ClientAbort, self.phase()));
        }
        Step::Continue
    }

    /// Forwards both directions of an established session.
    fn forward(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(server) = self.conn.and_then(|k| ctx.conns.get_mut(k)) else {
            return Step::Close(Termination::new(Cause::Internal, Phase::Data));
        };
        self.req.other_done = self.res.done();
        let up = match self.req.pump(&self.client, &mut self.client_ready, Some((&server.stream, &mut server.ready)), ctx.pools) {
            Ok(moved) => moved,
            Err(FlowError::Source(e)) => return self.aborted(Side::Client, e),
            Err(FlowError::Sink(e)) => return self.aborted(Side::Server, e),
        };
        self.res.other_done = self.req.done();
        let down = match self.res.pump(&server.stream, &mut server.ready, Some((&self.client, &mut self.client_ready)), ctx.pools) {
            Ok(moved) => moved,
            Err(FlowError::Source(e)) => return self.aborted(Side::Server, e),
            Err(FlowError::Sink(e)) => return self.aborted(Side::Client, e),
        };
        if up.read > 0 || down.written > 0 {
            self.client_last = ctx.now;
        }
        if up.written > 0 || down.read > 0 {
            self.server_last = ctx.now;
        }
        if up.read > 0 {
            self.count_in(ctx, up.read);
        }
        if down.written > 0 {
            self.count_out(ctx, down.written);
        }
        if self.req.done() && self.res.done() {
            return Step::Close(Termination::NORMAL);
        }
        Step::Continue
    }

    /// A socket failed (reset, broken pipe): the side it belongs to aborted.
    fn aborted(&self, side: Side, e: std::io::Error) -> Step {
        log::debug!("session {} from {}: {side:?} side failed: {e}", self.id, self.client_addr);
        let (cause, phase) = match side {
            Side::Client => (Cause::ClientAbort, self.phase()),
            Side::Server => (Cause::ServerAbort, Phase::Data),
        };
        Step::Close(Termination::new(cause, phase))
    }

    fn count_in(&self, ctx: &Ctx<'_>, n: u64) {
        let stats = &ctx.shared.stats;
        let fe = &stats.frontends[self.frontend];
        Counters::add(&fe.counters.bytes_in, n);
        Counters::add(&fe.listeners[self.listener].counters.bytes_in, n);
        if let Some(be) = self.backend {
            Counters::add(&stats.backends[be].counters.bytes_in, n);
            if let Some(s) = self.target {
                Counters::add(&stats.backends[be].servers[s].counters.bytes_in, n);
            }
        }
    }

    fn count_out(&self, ctx: &Ctx<'_>, n: u64) {
        let stats = &ctx.shared.stats;
        let fe = &stats.frontends[self.frontend];
        Counters::add(&fe.counters.bytes_out, n);
        Counters::add(&fe.listeners[self.listener].counters.bytes_out, n);
        if let Some(be) = self.backend {
            Counters::add(&stats.backends[be].counters.bytes_out, n);
            if let Some(s) = self.target {
                Counters::add(&stats.backends[be].servers[s].counters.bytes_out, n);
            }
        }
    }

    /// Gives the buffers and pipes back (the session is ending).
    pub fn release_buffers(&mut self, pools: &mut Pools) {
        self.req.release(pools);
        self.res.release(pools);
        if let Some(h) = self.http.as_deref_mut() {
            h.release_buffers(pools, true);
        }
    }
}
