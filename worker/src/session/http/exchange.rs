//! One transaction's steps: the request head (route, backend rules, persistence, assignment),
//! the request body, the response head(s) and body, and the end (log, keep-alive or close).

use super::{HttpPhase, Session, MAX_PENDING};
use crate::backend::HttpChoice;
use crate::counters::Counters;
use crate::http::body::BodyCursor;
use crate::http::cookie::CookieServer;
use crate::http::framing::BodyFraming;
use crate::http::head::{parse_request, parse_response};
use crate::http::httplog::request_line;
use crate::http::termination::{Cause as HCause, HttpTermination, Phase as HPhase};
use crate::http::txn::{bad_request, error_reply, prepare_for_backend, route_request, Prepared, Reply, Responded, Routed};
use crate::session::upstream::{Progress, RequestHints};
use crate::session::{Ctx, Stage, Step};
use crate::termination::{Cause, Phase, Termination};
use std::time::{Duration, Instant};

/// How long a closing client connection is drained after the last response.
const LINGER: Duration = Duration::from_secs(2);

/// The cookie's view of a backend's servers (empty, without allocating, when the backend has
/// no persistence cookie: nothing else reads it).
fn cookie_servers<'a>(be: &'a hakeeper_common::config::Backend, ups: &[bool]) -> Vec<CookieServer<'a>> {
    be.servers.iter().zip(ups).map(|(s, &up)| CookieServer { cookie: s.cookie.as_deref(), up }).collect()
}

/// Which of the backend's servers can take persistent traffic, into `ups` (reused), for the
/// cookie; left empty without one, so that requests skip the backend's lock here.
fn fill_ups(ups: &mut Vec<bool>, shared: &crate::shared::Shared, b: usize, cookie: bool) {
    ups.clear();
    if cookie {
        let state = shared.backend(b);
        ups.extend((0..shared.config.backends[b].servers.len()).map(|i| state.server_running(i)));
    }
}

impl Session {
    /// Advances the transaction by its phase; true when something changed.
    pub(super) fn http_process(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Step> {
        let Some(h) = self.proto.http_mut() else { return Err(super::internal()) };
        match h.phase {
            HttpPhase::Head => self.http_head(ctx),
            HttpPhase::Connecting => {
                if self.up.stage == Stage::Established {
                    h.phase = HttpPhase::Exchange;
                    h.server_last = ctx.now;
                    h.sin.clear();
                    h.server_eof = false;
                    return Ok(true);
                }
                Ok(false)
            }
            HttpPhase::Exchange => self.http_exchange(ctx),
            HttpPhase::Tunnel => Ok(self.http_tunnel(ctx)),
            HttpPhase::Closing { .. } => {
                h.cin.clear();
                Ok(false)
            }
        }
    }

    fn count_request_error(&self, ctx: &Ctx<'_>) {
        Counters::add(&ctx.shared.stats.frontends[self.frontend].counters.request_errors, 1);
    }

    fn http_head(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Step> {
        let Some(h) = self.proto.http_mut() else { return Err(super::internal()) };
        if h.cin.is_empty() {
            return Ok(false);
        }
        match parse_request(h.cin.bytes()) {
            Ok(None) => {
                if h.client_eof {
                    // The client closed inside a head.
                    self.http_log_aborted_head(ctx.shared, ctx.now);
                    return Err(Step::Close(Termination::new(Cause::ClientAbort, Phase::Connect)));
                }
                Ok(false)
            }
            Err(e) => {
                ::log::debug!("bad request from {}: {e}", self.client_addr);
                h.start_log(None);
                self.count_request_error(ctx);
                let fe_http = ctx.shared.config.http.frontends.get(self.frontend);
                self.http_reply(ctx, bad_request(&e, fe_http));
                Ok(true)
            }
            Ok(Some(head)) => {
                h.cin.consume(head.head_len);
                h.head_done = Some(ctx.now);
                if h.request_start.is_none() {
                    h.request_start = Some(h.wait_start);
                }
                self.http_request(ctx, head);
                Ok(true)
            }
        }
    }

    /// A complete request head: route it, apply the backend's rules, get a server.
    fn http_request(&mut self, ctx: &mut Ctx<'_>, mut head: crate::http::head::RequestHead) {
        let shared = ctx.shared;
        let fe = &shared.config.frontends[self.frontend];
        let Some(fe_http) = shared.config.http.frontends.get(self.frontend) else { return };
        let client = self.client_addr.ip();
        if let Some(h) = self.proto.http_mut() {
            // The request line is only kept for a log line that will be written.
            let logs = fe.log && fe.log_format == Some(hakeeper_common::config::LogFormat::Httplog);
            h.start_log(logs.then(|| request_line(&head)));
        }
        // The previous request's server timings must not show in this request's log line.
        self.up.queue_left = None;
        self.up.established_at = None;
        let b = match route_request(fe, fe_http, &mut head, client) {
            Routed::Backend(b) => b,
            Routed::Reply(r) => return self.http_reply(ctx, r),
        };
        self.http_switch_backend(ctx, b);
        if let Some(h) = self.proto.http_mut() {
            h.log_backend = Some(b);
        }
        let be = &shared.config.backends[b];
        let Some(be_http) = shared.config.http.backends.get(b) else {
            let t = HttpTermination::new(HCause::Internal, HPhase::Request);
            return self.http_reply(ctx, error_reply(500, Some(fe_http), None, t, true));
        };
        let Some(h) = self.proto.http_mut() else { return };
        let mut ups = std::mem::take(&mut h.ups);
        fill_ups(&mut ups, shared, b, be_http.cookie.is_some());
        let txn = match prepare_for_backend(fe_http, b, be, be_http, &cookie_servers(be, &ups), head, client) {
            Prepared::Forward(t) => t,
            Prepared::Reply(r) => {
                if let Some(h) = self.proto.http_mut() {
                    h.ups = ups;
                }
                return self.http_reply(ctx, r);
            }
        };
        let Some(h) = self.proto.http_mut() else { return };
        let choice = match (txn.persist_to, txn.balance_hash) {
            (Some(s), _) => HttpChoice::Persist(s),
            (None, Some(hash)) => HttpChoice::Hash(hash),
            (None, None) => HttpChoice::Balance,
        };
        h.ups = ups;
        let before = h.to_server.len();
        txn.write_request(h.to_server.tail(ctx.pools));
        debug_assert!(h.to_server.len() > before);
        h.req_body = txn.request_body();
        h.res_body = None;
        h.conn = txn.conn;
        h.txn = Some(txn);
        h.phase = HttpPhase::Connecting;
        let first = h.requests == 0;
        self.up.reset_attempt();
        let choice = match (choice, self.last_server(ctx, b)) {
            (HttpChoice::Balance, Some(last)) => HttpChoice::LastServer(last),
            (choice, _) => choice,
        };
        let hints = RequestHints { choice, reuse: be_http.reuse, first };
        if let Progress::Failed(t) = self.assign(ctx, Some(hints)) {
            self.http_connect_failed(ctx, t);
        }
    }

    /// Moves the session to backend `b` for this request (the counters follow).
    fn http_switch_backend(&mut self, ctx: &mut Ctx<'_>, b: usize) {
        if self.up.backend == Some(b) {
            return;
        }
        self.http_detach_server(ctx);
        let stats = &ctx.shared.stats;
        if let Some(old) = self.up.backend {
            stats.backends[old].counters.session_closed();
        }
        stats.backends[b].counters.session_opened();
        self.up.backend = Some(b);
        self.up.target = None;
    }

    /// Leaves any queue, closes the server connection and frees its slot.
    pub(super) fn http_detach_server(&mut self, ctx: &mut Ctx<'_>) {
        if let (Stage::Queued { server }, Some(be)) = (self.up.stage, self.up.backend) {
            // False when a grant is already on its way: it finds the session no longer queued
            // and its slot goes back.
            let _ = ctx.shared.backend(be).withdraw(self.id, server);
        }
        self.close_conn(ctx);
        self.release_slot(ctx);
        self.up.stage = Stage::Assigning;
        self.up.stage_deadline = None;
    }

    /// The connect machinery gave up (`t` says why): 503 (or the session ends when no request
    /// is waiting for a server). Returns the step when the session must end now.
    pub(super) fn http_connect_failed(&mut self, ctx: &mut Ctx<'_>, t: Termination) -> Option<Step> {
        let connecting = self.proto.http().is_some_and(|h| h.phase == HttpPhase::Connecting);
        if !connecting || matches!(t.cause, Cause::ClientAbort | Cause::Killed) {
            self.http_log_end(ctx, t);
            return Some(Step::Close(t));
        }
        self.http_detach_server(ctx);
        let status = if t.cause == Cause::Internal { 500 } else { 503 };
        let term = HttpTermination::from_tcp(t, false);
        self.http_error(ctx, status, term.cause, term.phase);
        None
    }

    /// Answers the current request with the error page for `status`, closing afterwards.
    pub(super) fn http_error(&mut self, ctx: &mut Ctx<'_>, status: u16, cause: HCause, phase: HPhase) {
        let fe_http = ctx.shared.config.http.frontends.get(self.frontend);
        let be_http = self.up.backend.and_then(|b| ctx.shared.config.http.backends.get(b));
        let term = match self.proto.http().and_then(|h| h.txn.as_ref()) {
            Some(txn) => txn.termination(cause, phase),
            None => HttpTermination::new(cause, phase),
        };
        self.http_reply(ctx, error_reply(status, fe_http, be_http, term, true));
    }

    /// Sends a response of the proxy's own; the transaction ends with it.
    pub(super) fn http_reply(&mut self, ctx: &mut Ctx<'_>, reply: Reply) {
        self.http_detach_server(ctx);
        let Some(h) = self.proto.http_mut() else { return };
        h.to_client.extend(&reply.bytes, ctx.pools);
        h.bytes_out += reply.bytes.len() as u64;
        h.status = Some(reply.status);
        h.to_server.clear();
        self.http_log(ctx.shared, reply.termination, ctx.now);
        let close = reply.close || !self.proto.http().is_some_and(|h| h.req_body.is_done());
        self.http_next(ctx.now, !close);
    }

    /// Resets the transaction state: wait for the next request, or close.
    fn http_next(&mut self, now: Instant, keep_alive: bool) {
        let Some(h) = self.proto.http_mut() else { return };
        h.txn = None;
        h.res_body = None;
        h.req_body = BodyCursor::new(BodyFraming::None);
        h.sin.clear();
        h.to_server.clear();
        h.server_eof = false;
        h.requests += 1;
        h.head_done = None;
        if keep_alive && !h.client_eof {
            h.phase = HttpPhase::Head;
            h.wait_start = now;
            // Pipelined bytes already start the next request.
            h.request_start = (!h.cin.is_empty()).then_some(now);
        } else {
            h.phase = HttpPhase::Closing { until: now + LINGER, shut: false };
        }
    }

    fn http_exchange(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Step> {
        let shared = ctx.shared;
        let target = self.up.target;
        let Some(h) = self.proto.http_mut() else { return Err(super::internal()) };
        let mut moved = false;
        // Request body, in place, as far as its framing goes.
        if !h.req_body.is_done() && !h.cin.is_empty() && h.to_server.len() < MAX_PENDING {
            match h.req_body.advance(h.cin.bytes()) {
                Ok(p) => {
                    if p.consumed > 0 {
                        h.to_server.extend(&h.cin.bytes()[..p.consumed], ctx.pools);
                        h.cin.consume(p.consumed);
                        moved = true;
                    }
                }
                Err(e) => {
                    ::log::debug!("bad request body from {}: {e}", self.client_addr);
                    let answered = h.response_head.is_some();
                    self.count_request_error(ctx);
                    if answered {
                        let t = Termination::new(Cause::ClientAbort, Phase::Data);
                        self.http_log_end(ctx, t);
                        return Err(Step::Close(t));
                    }
                    self.http_error(ctx, 400, HCause::Proxy, HPhase::Data);
                    return Ok(true);
                }
            }
        }
        if !h.req_body.is_done() && h.client_eof && h.cin.is_empty() {
            let t = Termination::new(Cause::ClientAbort, Phase::Data);
            self.http_log_end(ctx, t);
            return Err(Step::Close(t));
        }
        // Response heads: interim ones pass, the final one sets the body's framing.
        while h.res_body.is_none() {
            let parsed = match parse_response(h.sin.bytes()) {
                Ok(None) if h.server_eof => Err(()),
                Ok(None) => break,
                Ok(Some(resp)) => Ok(resp),
                Err(_) => Err(()),
            };
            let (Some(fe_http), Some(be_http), Some(txn)) = (
                shared.config.http.frontends.get(self.frontend),
                self.up.backend.and_then(|b| shared.config.http.backends.get(b)),
                h.txn.as_mut(),
            ) else {
                return Err(super::internal());
            };
            let mut resp = match parsed {
                Ok(r) => r,
                Err(()) => {
                    let reply = txn.bad_response(fe_http, be_http);
                    self.http_reply(ctx, reply);
                    return Ok(true);
                }
            };
            h.sin.consume(resp.head_len);
            h.response_head.get_or_insert(ctx.now);
            let Some(be) = self.up.backend.map(|b| &shared.config.backends[b]) else { return Err(super::internal()) };
            match txn.on_response(fe_http, be_http, &cookie_servers(be, &h.ups), target, &mut resp) {
                Responded::Forward { framing, interim, conn } => {
                    let before = h.to_client.len();
                    resp.write(h.to_client.tail(ctx.pools));
                    h.bytes_out += (h.to_client.len() - before) as u64;
                    moved = true;
                    if interim {
                        continue;
                    }
                    h.status = Some(resp.status);
                    h.conn = conn;
                    if framing == BodyFraming::Tunnel {
                        h.phase = HttpPhase::Tunnel;
                        return Ok(true);
                    }
                    h.res_body = Some(BodyCursor::new(framing));
                }
                Responded::Reply(r) => {
                    self.http_reply(ctx, r);
                    return Ok(true);
                }
            }
        }
        // Response body.
        let mut truncated = false;
        if let Some(body) = h.res_body.as_mut() {
            if !body.is_done() && !h.sin.is_empty() && h.to_client.len() < MAX_PENDING {
                match body.advance(h.sin.bytes()) {
                    Ok(p) => {
                        if p.consumed > 0 {
                            h.to_client.extend(&h.sin.bytes()[..p.consumed], ctx.pools);
                            h.bytes_out += p.consumed as u64;
                            h.sin.consume(p.consumed);
                            moved = true;
                        }
                    }
                    Err(_) => truncated = true,
                }
            }
            if !body.is_done() && h.server_eof && h.sin.is_empty() && body.on_close().is_err() {
                truncated = true;
            }
        }
        if truncated {
            let t = Termination::new(Cause::ServerAbort, Phase::Data);
            self.http_log_end(ctx, t);
            return Err(Step::Close(t));
        }
        let response_done = h.res_body.as_ref().is_some_and(BodyCursor::is_done);
        if response_done && (h.req_body.is_done() || !h.conn.client_keep_alive) {
            self.http_end_txn(ctx);
            moved = true;
        }
        Ok(moved)
    }

    /// The response is complete: log, give the server connection back to the idle ones (or
    /// close it), then keep-alive or close.
    fn http_end_txn(&mut self, ctx: &mut Ctx<'_>) {
        let Some(h) = self.proto.http_mut() else { return };
        let term = match h.txn.as_ref() {
            Some(t) => t.termination(HCause::Normal, HPhase::None),
            None => HttpTermination::normal(),
        };
        let reusable = h.conn.server_keep_alive && !h.server_eof && h.sin.is_empty() && h.to_server.is_empty() && h.req_body.is_done();
        let keep_client = h.conn.client_keep_alive && h.req_body.is_done();
        self.http_log(ctx.shared, term, ctx.now);
        if reusable {
            self.park_conn(ctx, keep_client);
        }
        self.http_detach_server(ctx);
        self.http_next(ctx.now, keep_client);
    }

    /// After a protocol switch: everything is forwarded as is, FINs passed on.
    fn http_tunnel(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(h) = self.proto.http_mut() else { return false };
        let mut moved = false;
        if !h.cin.is_empty() && h.to_server.len() < MAX_PENDING {
            h.to_server.extend(h.cin.bytes(), ctx.pools);
            h.cin.clear();
            moved = true;
        }
        if !h.sin.is_empty() && h.to_client.len() < MAX_PENDING {
            h.to_client.extend(h.sin.bytes(), ctx.pools);
            h.bytes_out += h.sin.len() as u64;
            h.sin.clear();
            moved = true;
        }
        if h.client_eof && h.cin.is_empty() && h.to_server.is_empty() && !h.shut_server {
            if let Some(c) = self.up.conn.and_then(|k| ctx.conns.get(k)) {
                let _ = c.stream.shutdown(std::net::Shutdown::Write);
            }
            h.shut_server = true;
        }
        if h.server_eof && h.sin.is_empty() && h.to_client.is_empty() && !h.shut_client {
            let _ = self.client.shutdown(std::net::Shutdown::Write);
            h.shut_client = true;
        }
        moved
    }
}
