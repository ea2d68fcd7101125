//! Deadlines of HTTP sessions: `timeout http-request` for a request head (408), `timeout
//! http-keep-alive` between requests (silent close), the connect stages as for TCP (503),
//! `timeout server` before the response head (504), the usual inactivity timeouts, and
//! `timeout tunnel` after a protocol switch.

use super::HttpPhase;
use crate::counters::Counters;
use crate::deadline::after;

use crate::http::txn::request_timeout;
use crate::session::{Ctx, Session, Step};
use crate::shared::Shared;
use crate::termination::{Cause, Phase, Termination};
use std::time::{Duration, Instant};

/// The first non-zero timeout.
fn first(timeouts: &[Duration]) -> Duration {
    timeouts.iter().copied().find(|t| !t.is_zero()).unwrap_or(Duration::ZERO)
}

/// What expired.
enum Expired {
    Nothing,
    /// No byte of a next request came in time: close without a word.
    KeepAlive,
    RequestHead,
    Connect,
    Server,
    Client,
    /// The tunnel was idle both ways (`cD`, as HAProxy reports it from the client's side).
    Tunnel,
    Linger,
    /// The tarpit's hold is over.
    Tarpit,
}

impl Session {
    fn server_deadline(&self, shared: &Shared) -> Option<Instant> {
        let h = self.proto.http()?;
        let timeout = self.up.backend.map_or(Duration::ZERO, |b| shared.config.backends[b].timeout_server);
        let waiting = h.res_body.as_ref().is_none_or(|b| !b.is_done()) || !h.to_server.is_empty();
        if waiting {
            after(h.server_last, timeout)
        } else {
            None
        }
    }

    fn client_deadline(&self, shared: &Shared) -> Option<Instant> {
        let h = self.proto.http()?;
        let timeout = shared.config.frontends[self.frontend].timeout_client;
        let waiting = (!h.req_body.is_done() && !h.client_eof) || !h.to_client.is_empty();
        if waiting {
            after(h.client_last, timeout)
        } else {
            None
        }
    }

    /// Once tunnelled, inactivity both ways ends the session: after `timeout tunnel` when the
    /// backend sets it, else after the shorter of the client and server timeouts. Any byte
    /// moving either way refreshes both sides, as HAProxy does without `option
    /// independent-streams`.
    fn tunnel_deadline(&self, shared: &Shared) -> Option<Instant> {
        let h = self.proto.http()?;
        let timeout = match self.configured_tunnel_timeout(shared) {
            Some(t) => t,
            None => {
                let client = shared.config.frontends[self.frontend].timeout_client;
                let server = self.up.backend.map_or(Duration::ZERO, |b| shared.config.backends[b].timeout_server);
                [client, server].into_iter().filter(|t| !t.is_zero()).min().unwrap_or(Duration::ZERO)
            }
        };
        after(h.client_last.max(h.server_last), timeout)
    }

    /// When waiting for a request head ends: (deadline, whether it is a keep-alive wait).
    fn head_deadline(&self, shared: &Shared) -> Option<(Instant, bool)> {
        let h = self.proto.http()?;
        let fe = &shared.config.frontends[self.frontend];
        let request = first(&[fe.timeout_http_request, fe.timeout_client]);
        match h.request_start {
            None if h.requests > 0 => {
                after(h.wait_start, first(&[fe.timeout_http_keep_alive, fe.timeout_http_request, fe.timeout_client])).map(|d| (d, true))
            }
            // The first request's head is timed from the accept, later ones from their first byte.
            start => {
                let from = if h.requests == 0 { h.wait_start } else { start.unwrap_or(h.wait_start) };
                after(from, request).map(|d| (d, false))
            }
        }
    }

    pub(crate) fn http_next_deadline(&self, shared: &Shared) -> Option<Instant> {
        let h = self.proto.http()?;
        match h.phase {
            HttpPhase::Head => [self.head_deadline(shared).map(|(d, _)| d), self.client_deadline(shared)].into_iter().flatten().min(),
            HttpPhase::Connecting => [self.up.stage_deadline, self.client_deadline(shared)].into_iter().flatten().min(),
            HttpPhase::Exchange => [self.server_deadline(shared), self.client_deadline(shared)].into_iter().flatten().min(),
            HttpPhase::Tunnel => self.tunnel_deadline(shared),
            // An HTTP/2 stream's response waits for the client's windows, not a linger.
            HttpPhase::Closing { .. } if h.stream => self.client_deadline(shared),
            HttpPhase::Closing { until, .. } => Some(until),
            HttpPhase::Tarpit { until } => Some(until),
        }
    }

    fn expired(&self, shared: &Shared, now: Instant) -> Expired {
        let Some(h) = self.proto.http() else { return Expired::Nothing };
        let due = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        match h.phase {
            HttpPhase::Head => match self.head_deadline(shared) {
                Some((d, true)) if d <= now => Expired::KeepAlive,
                Some((d, false)) if d <= now => Expired::RequestHead,
                _ => Expired::Nothing,
            },
            HttpPhase::Connecting if due(self.up.stage_deadline) => Expired::Connect,
            HttpPhase::Connecting if due(self.client_deadline(shared)) => Expired::Client,
            HttpPhase::Exchange if due(self.server_deadline(shared)) => Expired::Server,
            HttpPhase::Exchange if due(self.client_deadline(shared)) => Expired::Client,
            HttpPhase::Tunnel if due(self.tunnel_deadline(shared)) => Expired::Tunnel,
            HttpPhase::Closing { .. } if h.stream => {
                if due(self.client_deadline(shared)) {
                    Expired::Client
                } else {
                    Expired::Nothing
                }
            }
            HttpPhase::Closing { until, .. } if until <= now => Expired::Linger,
            HttpPhase::Tarpit { until } if until <= now => Expired::Tarpit,
            _ => Expired::Nothing,
        }
    }

    pub(crate) fn http_on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.expired(ctx.shared, ctx.now) {
            Expired::Nothing => return Step::Continue,
            Expired::KeepAlive | Expired::Linger => return Step::Close(Termination::NORMAL),
            Expired::RequestHead => {
                Counters::add(&ctx.shared.stats.frontends[self.frontend].counters.request_errors, 1);
                if let Some(h) = self.proto.http_mut() {
                    h.start_log(None);
                }
                let fe_http = ctx.shared.config.http.frontends.get(self.frontend);
                self.http_reply(ctx, request_timeout(fe_http));
            }
            Expired::Connect => {
                if let Some(p) = self.upstream_deadline(ctx) {
                    return self.http_upstream(ctx, p);
                }
            }
            Expired::Server => {
                let awaiting = self.proto.http().is_some_and(|h| h.phase == HttpPhase::Exchange && h.response_head.is_none());
                if !awaiting {
                    let t = Termination::new(Cause::ServerTimeout, Phase::Data);
                    self.http_log_end(ctx, t);
                    return Step::Close(t);
                }
                self.http_detach_server(ctx);
                self.http_error(ctx, 504, Cause::ServerTimeout, Phase::Headers);
            }
            Expired::Tunnel => {
                let t = Termination::new(Cause::ClientTimeout, Phase::Data);
                self.http_log_end(ctx, t);
                return Step::Close(t);
            }
            Expired::Client => {
                let t = Termination::new(Cause::ClientTimeout, self.phase());
                self.http_log_end(ctx, t);
                return Step::Close(t);
            }
            Expired::Tarpit => self.http_tarpit_over(ctx),
        }
        self.http_drive(ctx)
    }
}
