//! `mode tcp`: bytes forwarded both ways between the client and the server connection, with
//! half-closes passed on ([`flow`]) and HAProxy's inactivity timeouts ([`timeouts`]).

pub mod flow;
pub mod inspect;
mod response_inspect;
mod switching;
pub(crate) mod timeouts;
mod upgrade;

use super::upstream::Progress;
use super::{Ctx, Proto, Session, Side, Stage, Step};
use crate::termination::{Cause, Phase, Termination};
use crate::tls::TlsEnd;
use crate::transport::PlainEnd;
use flow::{Flow, FlowError};
use std::time::Instant;

/// The TCP protocol's state: one flow per direction, and when each side last moved.
pub struct TcpProto {
    /// Client → server.
    pub req: Flow,
    /// Server → client.
    pub res: Flow,
    client_last: Instant,
    server_last: Instant,
    client_armed: bool,
    server_armed: bool,
    /// `tcp-request content` inspection in progress (before the backend is chosen).
    pub inspect: Option<inspect::Inspect>,
}

impl TcpProto {
    pub fn new(now: Instant) -> Self {
        TcpProto {
            req: Flow::default(),
            res: Flow::default(),
            client_last: now,
            server_last: now,
            client_armed: false,
            server_armed: false,
            inspect: None,
        }
    }
}

impl TcpProto {
    /// The client just completed a handshake (TLS): its inactivity counts from now.
    pub(crate) fn client_active(&mut self, now: Instant) {
        self.client_last = now;
    }
}

fn internal(phase: Phase) -> Step {
    Step::Close(Termination::new(Cause::Internal, phase))
}

impl Session {
    /// Starts a TCP session: no backend means nothing to connect to.
    pub(crate) fn tcp_start(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if let Some(delay) = crate::tcp_rules::content_inspection(ctx.shared, self.frontend) {
            return self.tcp_start_inspect(ctx, delay);
        }
        self.tcp_connect_backend(ctx)
    }

    /// Chooses the backend (content switching) and starts reaching a server.
    pub(crate) fn tcp_connect_backend(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.tcp_choose_backend(ctx);
        if self.up.backend.is_none() {
            return Step::Close(Termination::new(Cause::ServerAbort, Phase::Connect));
        }
        if self.tcp_backend_is_http(ctx) {
            return self.tcp_upgrade_to_http(ctx);
        }
        let p = self.assign(ctx, None);
        self.tcp_upstream(ctx, p)
    }

    /// What an upstream step means for a TCP session: forward once connected, end on failure.
    pub(crate) fn tcp_upstream(&mut self, ctx: &mut Ctx<'_>, p: Progress) -> Step {
        match p {
            Progress::Connected => {
                if let Proto::Tcp(t) = &mut self.proto {
                    t.server_last = ctx.now;
                }
                self.tcp_hold_response(ctx);
                // HAProxy's response analyser first runs as the connection is established,
                // before anything is read: without an inspect delay that run decides.
                if self.holding_response() {
                    if let response_inspect::Held::End(step) = self.tcp_response_verdict(ctx) {
                        return step;
                    }
                }
                self.tcp_forward(ctx)
            }
            Progress::Pending => Step::Continue,
            Progress::Failed(t) => Step::Close(t),
        }
    }

    pub(crate) fn tcp_on_event(&mut self, ctx: &mut Ctx<'_>, side: Side, ev: &mio::event::Event) -> Step {
        if side == Side::Server && self.up.stage == Stage::Connecting {
            let p = self.check_connect(ctx, ev);
            return self.tcp_upstream(ctx, p);
        }
        if self.inspecting() {
            return self.tcp_inspect(ctx);
        }
        self.tcp_progress(ctx)
    }

    /// Moves data as far as the stage allows.
    pub(crate) fn tcp_progress(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.up.stage == Stage::Established {
            return self.tcp_forward(ctx);
        }
        // Before the server is there, only take the client's first bytes and watch for it leaving.
        let Proto::Tcp(t) = &mut self.proto else { return internal(Phase::Connect) };
        let pumped = match self.tls.as_deref_mut() {
            None => t.req.pump(&self.client, &mut self.client_ready, None, ctx.pools),
            Some(tls) => t.req.pump_ends(&mut TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready }, None, ctx.pools),
        };
        let read = match pumped {
            Ok(moved) => moved.read,
            Err(FlowError::Source(e) | FlowError::Sink(e)) => return self.aborted(Side::Client, e),
        };
        if read > 0 {
            t.client_last = ctx.now;
        }
        let eof = t.req.eof;
        if read > 0 {
            self.count_in(ctx, read);
        }
        if eof && self.up.backend.is_some_and(|b| ctx.shared.config.backends[b].abortonclose) {
            return Step::Close(Termination::new(Cause::ClientAbort, self.phase()));
        }
        Step::Continue
    }

    /// Forwards both directions of an established session; a response held for
    /// `tcp-response content` rules is only read until they decide.
    fn tcp_forward(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let hold = self.holding_response();
        let step = self.tcp_pump(ctx, hold);
        if !hold || step != Step::Continue {
            return step;
        }
        match self.tcp_response_verdict(ctx) {
            response_inspect::Held::Wait => Step::Continue,
            response_inspect::Held::End(step) => step,
            response_inspect::Held::Release => self.tcp_pump(ctx, false),
        }
    }

    /// One round of pumping both directions (`hold`: the response is read, not written).
    fn tcp_pump(&mut self, ctx: &mut Ctx<'_>, hold: bool) -> Step {
        let Proto::Tcp(t) = &mut self.proto else { return internal(Phase::Data) };
        let Some(server) = self.up.conn.and_then(|k| ctx.conns.get_mut(k)) else {
            return internal(Phase::Data);
        };
        t.req.other_done = t.res.done();
        // A TLS end on either side: through the buffer and the TLS layers (transport.rs);
        // both plain: the plain pump, splice included.
        let server_tls = server.tls.is_some();
        let pumped = match self.tls.as_deref_mut() {
            None if !server_tls => t.req.pump(&self.client, &mut self.client_ready, Some((&server.stream, &mut server.ready)), ctx.pools),
            None => t.req.pump_ends(&mut PlainEnd { sock: &self.client, ready: &mut self.client_ready }, Some(server), ctx.pools),
            Some(tls) => t.req.pump_ends(&mut TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready }, Some(server), ctx.pools),
        };
        let up = match pumped {
            Ok(moved) => moved,
            Err(FlowError::Source(e)) => return self.aborted(Side::Client, e),
            Err(FlowError::Sink(e)) => return self.aborted(Side::Server, e),
        };
        t.res.other_done = t.req.done();
        // A response held for `tcp-response content` rules is read, not written.
        let pumped = match self.tls.as_deref_mut() {
            None if !server_tls => {
                let sink = if hold { None } else { Some((&self.client, &mut self.client_ready)) };
                t.res.pump(&server.stream, &mut server.ready, sink, ctx.pools)
            }
            None => {
                let mut client = PlainEnd { sock: &self.client, ready: &mut self.client_ready };
                t.res.pump_ends(server, if hold { None } else { Some(&mut client) }, ctx.pools)
            }
            Some(tls) => {
                let mut client = TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready };
                t.res.pump_ends(server, if hold { None } else { Some(&mut client) }, ctx.pools)
            }
        };
        let down = match pumped {
            Ok(moved) => moved,
            Err(FlowError::Source(e)) => return self.aborted(Side::Server, e),
            Err(FlowError::Sink(e)) => return self.aborted(Side::Client, e),
        };
        if up.read > 0 || down.written > 0 {
            t.client_last = ctx.now;
        }
        if up.written > 0 || down.read > 0 {
            t.server_last = ctx.now;
        }
        // A held response whose server closed is not done until the rules let it through.
        let done = t.req.done() && t.res.done() && !hold;
        if up.read > 0 {
            self.count_in(ctx, up.read);
        }
        if down.written > 0 {
            self.count_out(ctx, down.written);
        }
        if done && !self.tls.as_ref().is_some_and(|t| t.holds()) {
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
}
