//! A session's inactivity timeouts and stage deadlines.
//!
//! `timeout client` runs while the proxy expects the client to send (its side is open and the
//! buffer has room) or to take data (bytes wait for it); `timeout server` likewise for the
//! server once connected. A side that becomes expected again starts a fresh period, so a client
//! that sent its request and FIN is not timed out while the server thinks.

use super::{Ctx, Session, Stage, Step};
use crate::shared::Shared;
use crate::termination::{Cause, Phase, Termination};
use std::time::{Duration, Instant};

/// A zero timeout means "none", as an unset HAProxy timeout.
fn after(at: Instant, timeout: Duration) -> Option<Instant> {
    (!timeout.is_zero()).then(|| at + timeout)
}

impl Session {
    /// `timeout tunnel` of the backend, once the connection is established: in TCP mode HAProxy
    /// lets it supersede both the client and the server timeouts from then on.
    fn tunnel_timeout(&self, shared: &Shared) -> Option<Duration> {
        if self.stage != Stage::Established {
            return None;
        }
        self.configured_tunnel_timeout(shared)
    }

    /// The backend's `timeout tunnel`, if set.
    pub(crate) fn configured_tunnel_timeout(&self, shared: &Shared) -> Option<Duration> {
        self.backend.and_then(|b| shared.config.http.backends.get(b)).and_then(|b| b.timeout_tunnel)
    }

    fn client_timeout(&self, shared: &Shared) -> Duration {
        self.tunnel_timeout(shared).unwrap_or(shared.config.frontends[self.frontend].timeout_client)
    }

    fn server_timeout(&self, shared: &Shared) -> Duration {
        self.tunnel_timeout(shared).or(self.backend.map(|b| shared.config.backends[b].timeout_server)).unwrap_or(Duration::ZERO)
    }

    /// Re-evaluates which sides are expected to act; call after every handler.
    pub fn update_armed(&mut self, now: Instant) {
        if self.http.is_some() {
            return;
        }
        let client = (!self.req.eof && !self.req.is_full()) || self.res.pending() > 0;
        let server = self.stage == Stage::Established && ((!self.res.eof && !self.res.is_full()) || self.req.pending() > 0);
        if client && !self.client_armed {
            self.client_last = now;
        }
        if server && !self.server_armed {
            self.server_last = now;
        }
        self.client_armed = client;
        self.server_armed = server;
    }

    /// The earliest moment something must be checked.
    pub fn next_deadline(&self, shared: &Shared) -> Option<Instant> {
        if self.http.is_some() {
            return self.http_next_deadline(shared);
        }
        let client = if self.client_armed { after(self.client_last, self.client_timeout(shared)) } else { None };
        let server = if self.server_armed { after(self.server_last, self.server_timeout(shared)) } else { None };
        [self.stage_deadline, client, server].into_iter().flatten().min()
    }

    pub(super) fn set_stage_deadline(&mut self, now: Instant, timeout: Duration) {
        self.stage_deadline = after(now, timeout);
    }

    /// A deadline entry fired: acts on whatever expired.
    pub fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.http.is_some() {
            return self.http_on_timeout(ctx);
        }
        let now = ctx.now;
        if self.stage_deadline.is_some_and(|d| d <= now) {
            self.stage_deadline = None;
            match self.stage {
                Stage::Queued { .. } => return Step::Close(Termination::new(Cause::ServerTimeout, Phase::Queue)),
                Stage::TurnAround => return self.retry(ctx),
                Stage::Connecting => return self.connect_failed(ctx, super::upstream::connect::Failure::Timeout),
                Stage::Assigning | Stage::Established => {}
            }
        }
        if self.client_armed && after(self.client_last, self.client_timeout(ctx.shared)).is_some_and(|d| d <= now) {
            return Step::Close(Termination::new(Cause::ClientTimeout, self.phase()));
        }
        if self.server_armed && after(self.server_last, self.server_timeout(ctx.shared)).is_some_and(|d| d <= now) {
            return Step::Close(Termination::new(Cause::ServerTimeout, self.phase()));
        }
        Step::Continue
    }
}
