//! A session's inactivity timeouts and stage deadlines.
//!
//! `timeout client` runs while the proxy expects the client to send (its side is open and the
//! buffer has room) or to take data (bytes wait for it); `timeout server` likewise for the
//! server once connected. A side that becomes expected again starts a fresh period, so a client
//! that sent its request and FIN is not timed out while the server thinks.

use crate::deadline::after;
use crate::session::{Ctx, Proto, Session, Stage, Step};
use crate::shared::Shared;
use crate::termination::{Cause, Termination};
use std::time::{Duration, Instant};

impl Session {
    /// `timeout tunnel` of the backend, once the connection is established: in TCP mode HAProxy
    /// lets it supersede both the client and the server timeouts from then on.
    fn tunnel_timeout(&self, shared: &Shared) -> Option<Duration> {
        if self.up.stage != Stage::Established {
            return None;
        }
        self.configured_tunnel_timeout(shared)
    }

    /// The backend's `timeout tunnel`, if set.
    pub(crate) fn configured_tunnel_timeout(&self, shared: &Shared) -> Option<Duration> {
        self.up.backend.and_then(|b| shared.config.http.backends.get(b)).and_then(|b| b.timeout_tunnel)
    }

    fn client_timeout(&self, shared: &Shared) -> Duration {
        self.tunnel_timeout(shared).unwrap_or(shared.config.frontends[self.frontend].timeout_client)
    }

    fn server_timeout(&self, shared: &Shared) -> Duration {
        self.tunnel_timeout(shared).or(self.up.backend.map(|b| shared.config.backends[b].timeout_server)).unwrap_or(Duration::ZERO)
    }

    /// Re-evaluates which sides are expected to act; call after every handler.
    pub(crate) fn tcp_update_armed(&mut self, now: Instant) {
        let established = self.up.stage == Stage::Established;
        let Proto::Tcp(t) = &mut self.proto else { return };
        let client = (!t.req.eof && !t.req.is_full()) || t.res.pending() > 0;
        let server = established && ((!t.res.eof && !t.res.is_full()) || t.req.pending() > 0);
        if client && !t.client_armed {
            t.client_last = now;
        }
        if server && !t.server_armed {
            t.server_last = now;
        }
        t.client_armed = client;
        t.server_armed = server;
    }

    /// The earliest moment something must be checked.
    pub(crate) fn tcp_next_deadline(&self, shared: &Shared) -> Option<Instant> {
        let Proto::Tcp(t) = &self.proto else { return None };
        let client = if t.client_armed { after(t.client_last, self.client_timeout(shared)) } else { None };
        let server = if t.server_armed { after(t.server_last, self.server_timeout(shared)) } else { None };
        let inspect = t.inspect.map(|i| i.deadline);
        [self.up.stage_deadline, client, server, inspect].into_iter().flatten().min()
    }

    /// A deadline entry fired: acts on whatever expired.
    pub(crate) fn tcp_on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        // The inspect delay is over: the content rules decide on what has arrived.
        if self.inspect_deadline().is_some_and(|d| d <= ctx.now) {
            if self.holding_response() {
                return self.tcp_progress(ctx);
            }
            return self.tcp_inspect(ctx);
        }
        if let Some(p) = self.upstream_deadline(ctx) {
            return self.tcp_upstream(ctx, p);
        }
        let now = ctx.now;
        let Proto::Tcp(t) = &self.proto else { return Step::Continue };
        let (client_due, server_due) = (t.client_armed.then_some(t.client_last), t.server_armed.then_some(t.server_last));
        if client_due.and_then(|at| after(at, self.client_timeout(ctx.shared))).is_some_and(|d| d <= now) {
            return Step::Close(Termination::new(Cause::ClientTimeout, self.phase()));
        }
        if server_due.and_then(|at| after(at, self.server_timeout(ctx.shared))).is_some_and(|d| d <= now) {
            return Step::Close(Termination::new(Cause::ServerTimeout, self.phase()));
        }
        Step::Continue
    }
}
