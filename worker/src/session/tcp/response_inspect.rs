//! `tcp-response inspect-delay` and `tcp-response content accept|reject|close` (HAProxy's
//! `tcp_inspect_response()` analyser), for backends that have such rules:
//!
//! - the rules first run when the server connection is established, before any response byte
//!   (so without an inspect delay, `res.len` is 0 and a rule on it decides on nothing, as in
//!   HAProxy 2.6), then again each time the server sends, while the delay runs; the request
//!   side is forwarded meanwhile, the response is held;
//! - a rule that cannot be decided on the bytes present makes the session wait, until the delay
//!   expires, the server closes or the buffer is full; none applying means accept;
//! - accept: the held bytes and the rest of the response are forwarded as usual;
//! - reject: both connections are closed, the frontend, listener, backend and server count it
//!   in `dresp` (`denied_resp`), and the session is logged `PD` (`SF_ERR_PRXCOND`,
//!   `SF_FINST_D`) with the bytes read from the server, as HAProxy 2.6.12 logs them;
//! - close: the server connection is shut at once with no linger; what was read from it is
//!   still forwarded, then the client is closed (logged `--`). HAProxy closes the server socket
//!   outright; hakeeper shuts it both ways and closes it with the session a moment later.

use super::inspect::{Inspect, Inspected};
use super::{Proto, Session};
use crate::counters::Counters;
use crate::session::{Ctx, Step};
use crate::tcp_rules::{self, ConnView, ContentVerdict};
use crate::termination::{Cause, Phase, Termination};
use std::net::Shutdown;

/// What the response rules decided for a held response.
pub(crate) enum Held {
    /// Keep holding it.
    Wait,
    /// Forward it from now on.
    Release,
    /// End the session.
    End(Step),
}

impl Session {
    /// The server is connected: if the backend has `tcp-response content` rules, the response
    /// is held for them from now on.
    pub(crate) fn tcp_hold_response(&mut self, ctx: &Ctx<'_>) {
        let Some(h) = self.up.backend.and_then(|b| ctx.shared.config.http.backends.get(b)) else { return };
        if h.tcp_response.is_empty() {
            return;
        }
        if let Proto::Tcp(t) = &mut self.proto {
            t.inspect = Some(Inspect { deadline: ctx.now + h.response_inspect_delay, of: Inspected::Response });
        }
    }

    /// Whether the response is held for the rules.
    #[inline]
    pub(crate) fn holding_response(&self) -> bool {
        matches!(&self.proto, Proto::Tcp(t) if matches!(t.inspect, Some(Inspect { of: Inspected::Response, .. })))
    }

    /// Runs the rules on the response bytes read so far.
    pub(crate) fn tcp_response_verdict(&mut self, ctx: &mut Ctx<'_>) -> Held {
        let verdict = {
            let Proto::Tcp(t) = &self.proto else { return Held::Release };
            let Some(inspect) = t.inspect else { return Held::Release };
            let Some(h) = self.up.backend.and_then(|b| ctx.shared.config.http.backends.get(b)) else { return Held::Release };
            let dst = if tcp_rules::reads_dst(&h.acls) { self.local_addr(ctx.shared) } else { None };
            let closed = t.res.eof || t.res.is_full();
            let fe = &ctx.shared.config.frontends[self.frontend];
            let view = ConnView {
                src: self.client_addr,
                dst,
                frontend: &fe.name,
                so_id: tcp_rules::so_id(self.listener),
                shared: ctx.shared,
                data: t.res.peek(),
                closed,
                final_: closed || ctx.now >= inspect.deadline,
                tls: self.tls_facts.clone(),
                track: self.track.as_deref(),
            };
            tcp_rules::content_verdict(&h.tcp_response, &h.acls, &view)
        };
        match verdict {
            ContentVerdict::Wait => Held::Wait,
            ContentVerdict::Accept => {
                if let Proto::Tcp(t) = &mut self.proto {
                    t.inspect = None;
                }
                Held::Release
            }
            // Validation keeps silent-drop out of response rules; refuse rather than forward.
            ContentVerdict::Reject | ContentVerdict::SilentDrop => Held::End(self.response_rejected(ctx)),
            ContentVerdict::Close => {
                self.close_server_side(ctx);
                Held::Release
            }
        }
    }

    /// `reject`: counted in `dresp` everywhere HAProxy counts it, logged `PD`.
    fn response_rejected(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let stats = &ctx.shared.stats;
        let fe = &stats.frontends[self.frontend];
        Counters::add(&fe.counters.denied_responses, 1);
        Counters::add(&fe.listeners[self.listener].counters.denied_responses, 1);
        if let Some(be) = self.up.backend {
            Counters::add(&stats.backends[be].counters.denied_responses, 1);
            if let Some(s) = self.up.target {
                Counters::add(&stats.backends[be].servers[s].counters.denied_responses, 1);
            }
        }
        // HAProxy's log counts the bytes read from the server, forwarded or not.
        let held = match &self.proto {
            Proto::Tcp(t) => t.res.pending() as u64,
            Proto::Http(_) | Proto::Http2(_) => 0,
        };
        self.count_out(ctx, held);
        log::debug!("session {} from {}: response rejected by tcp-response content", self.id, self.client_addr);
        Step::Close(Termination::new(Cause::Proxy, Phase::Data))
    }

    /// `close`: nothing more goes to or comes from the server; the client gets what was read.
    fn close_server_side(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(server) = self.up.conn.and_then(|k| ctx.conns.get(k)) {
            let linger = nix::libc::linger { l_onoff: 1, l_linger: 0 };
            let _ = nix::sys::socket::setsockopt(&server.stream, nix::sys::socket::sockopt::Linger, &linger);
            let _ = server.stream.shutdown(Shutdown::Both);
        }
        if let Proto::Tcp(t) = &mut self.proto {
            t.inspect = None;
            t.res.eof = true;
            t.req.discard(ctx.pools);
        }
        log::debug!("session {} from {}: server connection closed by tcp-response content", self.id, self.client_addr);
    }
}
