//! `option httplog` lines for HTTP sessions: one per transaction, written when its response
//! is complete, when the proxy answers itself, or when the session ends in the middle of one.

use super::HttpPhase;
use crate::http::httplog::HttpLog;
use crate::session::Session;
use crate::shared::Shared;
use crate::termination::{Cause, Phase, Termination};
use hakeeper_common::config::LogFormat;
use std::time::{Duration, Instant};

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl Session {
    /// Logs the current transaction once, if the frontend logs HTTP.
    pub(crate) fn http_log(&mut self, shared: &Shared, termination: Termination, now: Instant) {
        let Some(h) = self.proto.http_mut() else { return };
        if h.logged {
            return;
        }
        h.logged = true;
        // HAProxy's http_err_cnt: a 4xx answer (the server's or the proxy's) is the client's error.
        if let (Some(status), Some(t)) = (h.status, self.track.as_deref()) {
            if (400..500).contains(&status) && !h.err_counted {
                t.http_error(shared, crate::stick::now_ms());
            }
        }
        let fe = &shared.config.frontends[self.frontend];
        if fe.log && fe.log_format == Some(LogFormat::Tcplog) && fe.mode == hakeeper_common::config::Mode::Tcp {
            return self.upgraded_tcplog(shared, termination, now);
        }
        if !fe.log || fe.log_format != Some(LogFormat::Httplog) || !::log::log_enabled!(::log::Level::Info) {
            return;
        }
        // `option dontlognull`: nothing is logged for a transaction the client sent no byte of.
        if fe.dontlognull && h.request_start.is_none() {
            return;
        }
        let log_backend = h.log_backend;
        let counts = self.log_counts(shared, log_backend);
        let Some(h) = self.proto.http() else { return };
        let backend = h.log_backend.map(|b| &shared.config.backends[b]);
        let server = match (backend, self.up.target) {
            (Some(b), Some(t)) if self.up.queue_left.is_some() && h.tarpit_end.is_none() => Some(b.servers[t].name.as_str()),
            _ => None,
        };
        let start = h.request_start.unwrap_or(h.wait_start);
        let head_done = h.head_done;
        // A tarpitted request's `Tw` is its hold: HAProxy sets `t_queue` when the tarpit ends.
        let queue_left = h.tarpit_end.or(self.up.queue_left);
        let line = HttpLog {
            client: self.client_addr,
            request_date: h.request_wall,
            frontend: &fe.name,
            tls: self.tls.is_some(),
            backend: backend.map_or(fe.name.as_str(), |b| b.name.as_str()),
            server,
            // HAProxy 2.6 logs `TR` -1 for a tarpitted request (`-1/HOLD/-1/-1/TOTAL`).
            request_ms: head_done.filter(|_| h.tarpit_end.is_none()).map(|d| millis(d.saturating_duration_since(start))),
            queue_ms: match (head_done, queue_left) {
                (Some(d), Some(q)) => Some(millis(q.saturating_duration_since(d))),
                _ => None,
            },
            connect_ms: match (self.up.queue_left, self.up.established_at) {
                (Some(q), Some(e)) => Some(millis(e.saturating_duration_since(q))),
                _ => None,
            },
            response_ms: match (self.up.established_at, h.response_head) {
                (Some(e), Some(r)) => Some(millis(r.saturating_duration_since(e))),
                _ => None,
            },
            active_ms: millis(now.saturating_duration_since(start)),
            status: h.status,
            bytes: h.bytes_out,
            termination,
            counts,
            request_line: h.request_line.as_deref(),
        }
        .line();
        ::log::info!("{line}");
    }

    /// A transaction of a mode tcp frontend upgraded to HTTP, in its `tcplog` format: one line
    /// per request, as HAProxy 2.6 logs each stream (timers from the request's wait).
    fn upgraded_tcplog(&mut self, shared: &Shared, termination: Termination, now: Instant) {
        if !::log::log_enabled!(::log::Level::Info) {
            return;
        }
        let fe = &shared.config.frontends[self.frontend];
        let Some(h) = self.proto.http() else { return };
        if fe.dontlognull && h.request_start.is_none() {
            return;
        }
        let log_backend = h.log_backend;
        let counts = self.log_counts(shared, log_backend);
        let backend = log_backend.map(|b| &shared.config.backends[b]);
        let server = match (backend, self.up.target) {
            (Some(b), Some(t)) if self.up.queue_left.is_some() => Some(b.servers[t].name.as_str()),
            _ => None,
        };
        let start = h.wait_start;
        let line = crate::tcplog::TcpLog {
            client: self.client_addr,
            accepted: if h.requests == 0 { self.accepted_wall } else { h.request_wall },
            frontend: &fe.name,
            backend: backend.map_or(fe.name.as_str(), |b| b.name.as_str()),
            server,
            queue_ms: self.up.queue_left.map(|q| millis(q.saturating_duration_since(start))),
            connect_ms: match (self.up.queue_left, self.up.established_at) {
                (Some(q), Some(e)) => Some(millis(e.saturating_duration_since(q))),
                _ => None,
            },
            total_ms: millis(now.saturating_duration_since(start)),
            bytes: h.bytes_out,
            termination,
            counts,
        }
        .line();
        ::log::info!("{line}");
    }

    /// The client closed before its request head was complete: HAProxy logs `<BADREQ>` 400
    /// `CR--`, except for a clean close between requests on a kept-alive connection.
    pub(crate) fn http_log_aborted_head(&mut self, shared: &Shared, now: Instant) {
        let Some(h) = self.proto.http_mut() else { return };
        if h.requests > 0 && h.cin.is_empty() {
            return;
        }
        h.start_log(None);
        h.status = Some(400);
        self.http_log(shared, Termination::new(Cause::ClientAbort, Phase::Request), now);
    }

    /// The session ends with `t` (from a socket or timeout): logs the transaction in progress.
    pub(crate) fn http_log_end(&mut self, ctx: &crate::session::Ctx<'_>, t: Termination) {
        self.http_log_on_close(ctx.shared, t, ctx.now);
    }

    /// As [`Self::http_log_end`], for the event loop's close.
    pub(crate) fn http_log_on_close(&mut self, shared: &Shared, t: Termination, now: Instant) {
        let Some(h) = self.proto.http() else { return };
        if h.logged {
            return;
        }
        let awaiting_headers = h.phase == HttpPhase::Exchange && h.response_head.is_none();
        let mut term = if awaiting_headers { t.awaiting_headers() } else { t };
        if let Some(txn) = h.txn.as_ref() {
            term = term.with_cookies(txn.cookie.state.code(), txn.response_cookie.code());
        }
        self.http_log(shared, term, now);
    }
}
