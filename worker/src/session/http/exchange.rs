//! One transaction's steps: the request head (route, backend rules, persistence, assignment),
//! the request body, the response head(s) and body, and the end (log, keep-alive or close).

use super::{internal, Exchange, HttpPhase, Session, Turn, MAX_PENDING};
use crate::backend::HttpChoice;
use crate::counters::Counters;
use crate::http::acl::RequestView;
use crate::http::body::BodyCursor;
use crate::http::cookie::CookieServer;
use crate::http::framing::BodyFraming;
use crate::http::head::{parse_request_in, parse_response_in};
use crate::http::httplog::request_line;

use crate::http::txn::{bad_request, error_reply, prepare_for_backend, route_request, Prepared, Reply, Responded, Routed};
use crate::session::upstream::{Progress, RequestHints};
use crate::session::{Ctx, Stage, Step};
use crate::termination::{Cause, Phase, Termination};
use std::time::Duration;

/// How long a closing client connection is drained after the last response.
const LINGER: Duration = Duration::from_secs(2);

/// The cookie's view of a backend's servers (empty, without allocating, when the backend has
/// no persistence cookie: nothing else reads it).
fn cookie_servers<'a>(be: &'a hakeeper_common::config::Backend, ups: &[bool]) -> Vec<CookieServer<'a>> {
    be.servers.iter().zip(ups).map(|(s, &up)| CookieServer { cookie: s.cookie.as_deref(), up }).collect()
}

/// Which of the backend's servers can take persistent traffic, into `ups` (reused), for the
/// cookie; left empty without one, so that requests skip the backend's lock here.
/// The request headers the backend's servers take their SNI from (`sni req.hdr(NAME)`), with
/// their last value (HAProxy's `req.hdr()` without an occurrence).
fn sni_headers(be: &hakeeper_common::config::Backend, headers: Option<&crate::http::headers::Headers>) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let Some(headers) = headers else { return found };
    for tls in be.servers.iter().filter_map(|s| s.tls.as_ref()) {
        if let Some(hakeeper_common::config::Sni::ReqHdr(name)) = &tls.sni {
            if found.iter().any(|(n, _)| n == name) {
                continue;
            }
            if let Some(value) = headers.get_all(name).last().and_then(|v| std::str::from_utf8(v).ok()) {
                found.push((name.clone(), value.trim().to_string()));
            }
        }
    }
    found
}

fn fill_ups(ups: &mut Vec<bool>, shared: &crate::shared::Shared, b: usize, cookie: bool) {
    ups.clear();
    if cookie {
        let state = shared.backend(b);
        ups.extend((0..shared.config.backends[b].servers.len()).map(|i| state.server_running(i)));
    }
}

impl Session {
    /// Advances the transaction by its phase; true when something changed.
    pub(super) fn http_process(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let Some(h) = self.proto.http_mut() else { return internal() };
        match h.phase {
            HttpPhase::Head => self.http_head(ctx),
            HttpPhase::Connecting => {
                if self.up.stage == Stage::Established {
                    h.phase = HttpPhase::Exchange;
                    h.server_last = ctx.now;
                    h.sin.clear();
                    h.server_eof = false;
                    return Turn::Moved;
                }
                Turn::Still
            }
            HttpPhase::Exchange => self.http_exchange(ctx),
            HttpPhase::Tunnel => Turn::moved(self.http_tunnel(ctx)),
            HttpPhase::Closing { .. } => {
                h.cin.clear();
                Turn::Still
            }
            HttpPhase::Tarpit { .. } => {
                // HAProxy's http_process_tarpit() erases whatever the client sends meanwhile;
                // a client that shuts its side ends the hold early (an HTTP/2 stream's
                // END_STREAM is no such shut: its reset ends the stream in the driver).
                h.cin.clear();
                if h.client_eof && !h.stream {
                    self.http_tarpit_over(ctx);
                    return Turn::Moved;
                }
                Turn::Still
            }
        }
    }

    fn count_request_error(&self, ctx: &Ctx<'_>) {
        Counters::add(&ctx.shared.stats.frontends[self.frontend].counters.request_errors, 1);
    }

    fn http_head(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let Some(h) = self.proto.http_mut() else { return internal() };
        if h.cin.is_empty() {
            return Turn::Still;
        }
        match parse_request_in(&mut h.cin, ctx.pools) {
            Ok(None) => {
                if h.client_eof {
                    // The client closed inside a head.
                    self.http_log_aborted_head(ctx.shared, ctx.now);
                    return Turn::End(Step::Close(Termination::new(Cause::ClientAbort, Phase::Connect)));
                }
                Turn::Still
            }
            Err(e) => {
                ::log::debug!("bad request from {}: {e}", self.client_addr);
                h.start_log(None);
                self.count_request_error(ctx);
                let fe_http = ctx.shared.config.http.frontends.get(self.frontend);
                self.http_reply(ctx, bad_request(&e, fe_http));
                Turn::Moved
            }
            Ok(Some(head)) => {
                h.head_done = Some(ctx.now);
                if h.request_start.is_none() {
                    h.request_start = Some(h.wait_start);
                }
                self.http_request(ctx, head);
                Turn::Moved
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
            // An HTTP/2 stream's request is logged as HAProxy logs it: `HTTP/2.0`.
            let stream = h.stream;
            h.start_log(logs.then(|| {
                let mut line = request_line(&head);
                if stream {
                    line.truncate(line.len().saturating_sub(b"HTTP/1.1".len()));
                    line.extend_from_slice(b"HTTP/2.0");
                }
                line
            }));
        }
        if !shared.tables.is_empty() {
            // HAProxy's stream_inc_http_req_ctr() for counters tracked by the connection.
            self.track.get_or_insert_with(Box::default).http_request(shared, crate::stick::now_ms());
        }
        // The previous request's server timings must not show in this request's log line.
        self.up.queue_left = None;
        self.up.established_at = None;
        let routed = match self.upgraded_backend(ctx) {
            // A mode tcp frontend upgraded to HTTP: no HTTP rules of its own, the backend chosen.
            Some(Some(b)) => Routed::Backend(b),
            Some(None) => Routed::Reply(error_reply(503, Some(fe_http), None, Termination::new(Cause::ServerAbort, Phase::Connect), true)),
            None => {
                let conn = self.http_conn_view_tracked(shared, &[&fe_http.acls]);
                route_request(fe, fe_http, &mut head, client, conn.as_ref())
            }
        };
        let b = match routed {
            Routed::Backend(b) => b,
            Routed::Reply(r) => return self.http_reply(ctx, r),
        };
        self.http_switch_backend(ctx, b);
        if let Some(h) = self.proto.http_mut() {
            h.log_backend = Some(b);
        }
        let be = &shared.config.backends[b];
        let Some(be_http) = shared.config.http.backends.get(b) else {
            let t = Termination::new(Cause::Internal, Phase::Request);
            return self.http_reply(ctx, error_reply(500, Some(fe_http), None, t, true));
        };
        let Some(h) = self.proto.http_mut() else { return };
        let mut ups = std::mem::take(&mut h.ups);
        fill_ups(&mut ups, shared, b, be_http.cookie.is_some());
        let conn = self.http_conn_view_tracked(shared, &[&be_http.acls]);
        let (txn, stuck) = match prepare_for_backend(fe_http, b, be, be_http, &cookie_servers(be, &ups), head, client, conn.as_ref()) {
            Prepared::Forward(mut t) if !be_http.stick_rules.is_empty() => {
                // `stick` rules' request conditions; cookie persistence first, then
                // `stick match|on` rules.
                let view = RequestView::new(&t.head, client, conn.as_ref());
                let mask = crate::http::stick_rules::request_conditions(&be_http.stick_rules, &be_http.acls, &view);
                let stuck = match t.persist_to {
                    None => crate::http::stick_rules::match_server(shared, be, &be_http.stick_rules, mask, &be_http.acls, &view),
                    Some(_) => None,
                };
                t.stick_pass = mask;
                (t, stuck)
            }
            Prepared::Forward(t) => (t, None),
            Prepared::Reply(r) => {
                if let Some(h) = self.proto.http_mut() {
                    h.ups = ups;
                }
                return self.http_reply(ctx, r);
            }
        };
        let Some(h) = self.proto.http_mut() else { return };
        let choice = match (txn.persist_to.or(stuck), txn.balance_hash) {
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
        // An HTTP/2 stream is never a client connection's first request for `http-reuse`:
        // HAProxy's mux_h2 marks every stream SE_FL_NOT_FIRST (a client retries what a
        // closing connection refused), so streams take the thread's idle connections.
        let first = h.requests == 0 && !h.stream;
        self.up.reset_attempt();
        let choice = match (choice, self.last_server(ctx, b)) {
            (HttpChoice::Balance, Some(last)) => HttpChoice::LastServer(last),
            (choice, _) => choice,
        };
        let hints = RequestHints { choice, reuse: be_http.reuse, first };
        self.up.sni_headers = sni_headers(be, self.proto.http().and_then(|h| h.txn.as_ref()).map(|t| &t.head.headers));
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
        let term = t;
        self.http_error(ctx, status, term.cause, term.phase);
        None
    }

    /// Answers the current request with the error page for `status`, closing afterwards.
    pub(super) fn http_error(&mut self, ctx: &mut Ctx<'_>, status: u16, cause: Cause, phase: Phase) {
        let fe_http = ctx.shared.config.http.frontends.get(self.frontend);
        let be_http = self.up.backend.and_then(|b| ctx.shared.config.http.backends.get(b));
        let term = match self.proto.http().and_then(|h| h.txn.as_ref()) {
            Some(txn) => txn.termination(cause, phase),
            None => Termination::new(cause, phase),
        };
        self.http_reply(ctx, error_reply(status, fe_http, be_http, term, true));
    }

    /// Sends a response of the proxy's own; the transaction ends with it.
    pub(super) fn http_reply(&mut self, ctx: &mut Ctx<'_>, mut reply: Reply) {
        self.http_detach_server(ctx);
        if reply.denied {
            reply.denied = false;
            self.count_denied(ctx);
        }
        if let Some(hold) = reply.hold.take() {
            let Some(h) = self.proto.http_mut() else { return };
            h.to_server.clear();
            h.cin.clear();
            h.phase = HttpPhase::Tarpit { until: ctx.now + hold };
            h.tarpit = Some(Box::new(reply));
            return;
        }
        let Some(h) = self.proto.http_mut() else { return };
        h.to_client.extend(&reply.bytes, ctx.pools);
        h.bytes_out += reply.bytes.len() as u64;
        h.status = Some(reply.status);
        h.to_server.clear();
        self.http_log(ctx.shared, reply.termination, ctx.now);
        let close = reply.close || !self.proto.http().is_some_and(|h| h.req_body.is_done());
        self.http_next(ctx, !close);
    }

    /// The tarpit's hold is over (or the client shut its side): its reply goes out.
    pub(super) fn http_tarpit_over(&mut self, ctx: &mut Ctx<'_>) {
        let Some(h) = self.proto.http_mut() else { return };
        let Some(reply) = h.tarpit.take() else { return };
        h.tarpit_end = Some(ctx.now);
        self.http_reply(ctx, *reply);
    }

    /// `deny` and `tarpit` count in `dreq` of the frontend, its listener and the backend the
    /// request reached, and as an HTTP error of the tracked counters whatever the status, as
    /// HAProxy's http_process_req_common() does (stream_inc_http_err_ctr()).
    fn count_denied(&mut self, ctx: &Ctx<'_>) {
        if let Some(t) = self.track.as_deref() {
            t.http_error(ctx.shared, crate::stick::now_ms());
            if let Some(h) = self.proto.http_mut() {
                h.err_counted = true;
            }
        }
        let stats = &ctx.shared.stats;
        let fe = &stats.frontends[self.frontend];
        Counters::add(&fe.counters.denied_requests, 1);
        Counters::add(&fe.listeners[self.listener].counters.denied_requests, 1);
        if let Some(b) = self.proto.http().and_then(|h| h.log_backend) {
            Counters::add(&stats.backends[b].counters.denied_requests, 1);
        }
    }

    /// Resets the transaction state: wait for the next request, or close.
    fn http_next(&mut self, ctx: &mut Ctx<'_>, keep_alive: bool) {
        let now = ctx.now;
        let Some(h) = self.proto.http_mut() else { return };
        if let Some(txn) = h.txn.take() {
            // The request head's bytes may be a pooled buffer handed over by the parser.
            ctx.pools.buffers.give(txn.head.headers.into_buf());
        }
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

    /// Request body out, response heads and body in, then the end of the transaction; a
    /// step that answers or ends the transaction itself stops the round.
    fn http_exchange(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let steps: [fn(&mut Self, &mut Ctx<'_>) -> Turn; 4] =
            [Self::exchange_request_body, Self::exchange_response_heads, Self::exchange_response_body, Self::exchange_end];
        let mut turn = Turn::Still;
        for step in steps {
            turn = turn.then(step(self, ctx));
            if matches!(turn, Turn::End(_)) || self.proto.http().is_none_or(|h| h.phase != HttpPhase::Exchange) {
                return turn;
            }
        }
        turn
    }

    /// The request body, in place, as far as its framing goes.
    fn exchange_request_body(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let Some(h) = self.proto.http_mut() else { return internal() };
        let client_eof = h.client_eof;
        let x: &mut Exchange = h;
        let mut turn = Turn::Still;
        if !x.req_body.is_done() && !x.cin.is_empty() && x.to_server.len() < MAX_PENDING {
            match x.req_body.advance(x.cin.bytes()) {
                Ok(p) => {
                    if p.consumed > 0 {
                        x.to_server.extend(&x.cin.bytes()[..p.consumed], ctx.pools);
                        x.cin.consume(p.consumed);
                        turn = Turn::Moved;
                    }
                }
                Err(e) => {
                    ::log::debug!("bad request body from {}: {e}", self.client_addr);
                    let answered = x.response_head.is_some();
                    self.count_request_error(ctx);
                    if answered {
                        let t = Termination::new(Cause::ClientAbort, Phase::Data);
                        self.http_log_end(ctx, t);
                        return Turn::End(Step::Close(t));
                    }
                    self.http_error(ctx, 400, Cause::Proxy, Phase::Data);
                    return Turn::Moved;
                }
            }
        }
        if !x.req_body.is_done() && client_eof && x.cin.is_empty() {
            let t = Termination::new(Cause::ClientAbort, Phase::Data);
            self.http_log_end(ctx, t);
            return Turn::End(Step::Close(t));
        }
        turn
    }

    /// Response heads: interim ones pass, the final one sets the body's framing (or makes the
    /// connection a tunnel).
    fn exchange_response_heads(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let shared = ctx.shared;
        let target = self.up.target;
        let (Some(fe_http), Some(b)) = (shared.config.http.frontends.get(self.frontend), self.up.backend) else { return internal() };
        let (Some(be_http), be) = (shared.config.http.backends.get(b), &shared.config.backends[b]) else { return internal() };
        let mut turn = Turn::Still;
        let conn = self.http_conn_view(shared, &[&be_http.acls, &fe_http.acls]);
        loop {
            let Some(h) = self.proto.http_mut() else { return internal() };
            let x: &mut Exchange = h;
            if x.res_body.is_some() {
                return turn;
            }
            let parsed = match parse_response_in(&mut x.sin, ctx.pools) {
                Ok(None) if x.server_eof => Err(()),
                Ok(None) => return turn,
                Ok(Some(resp)) => Ok(resp),
                Err(_) => Err(()),
            };
            let Some(txn) = x.txn.as_mut() else { return internal() };
            let mut resp = match parsed {
                Ok(r) => r,
                Err(()) => {
                    let reply = txn.bad_response(fe_http, be_http);
                    self.http_reply(ctx, reply);
                    return Turn::Moved;
                }
            };
            x.response_head.get_or_insert(ctx.now);
            if resp.status >= 200 && !be_http.stick_rules.is_empty() {
                if let Some(server) = target {
                    let view = crate::http::stick_rules::StoreView {
                        head: &txn.head,
                        mask: txn.stick_pass,
                        response: &resp.headers,
                        client: self.client_addr.ip(),
                        conn: conn.as_ref(),
                    };
                    crate::http::stick_rules::store(shared, be, &be_http.stick_rules, &be_http.acls, server, &view);
                }
            }
            match txn.on_response(fe_http, be_http, &cookie_servers(be, &x.ups), target, &mut resp, conn.as_ref()) {
                Responded::Forward { framing, interim, conn } => {
                    let before = x.to_client.len();
                    resp.write(x.to_client.tail(ctx.pools));
                    x.bytes_out += (x.to_client.len() - before) as u64;
                    ctx.pools.buffers.give(resp.headers.into_buf());
                    turn = Turn::Moved;
                    if interim {
                        continue;
                    }
                    x.status = Some(resp.status);
                    x.conn = conn;
                    if framing == BodyFraming::Tunnel {
                        h.phase = HttpPhase::Tunnel;
                        return Turn::Moved;
                    }
                    x.res_body = Some(BodyCursor::new(framing));
                }
                Responded::Reply(r) => {
                    self.http_reply(ctx, r);
                    return Turn::Moved;
                }
            }
        }
    }

    /// The final response's body, as far as its framing goes; a server that stops short
    /// ends the session (`SD`).
    fn exchange_response_body(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let Some(h) = self.proto.http_mut() else { return internal() };
        let x: &mut Exchange = h;
        let Some(body) = x.res_body.as_mut() else { return Turn::Still };
        let mut turn = Turn::Still;
        let mut truncated = false;
        if !body.is_done() && !x.sin.is_empty() && x.to_client.len() < MAX_PENDING {
            match body.advance(x.sin.bytes()) {
                Ok(p) => {
                    if p.consumed > 0 {
                        x.to_client.extend(&x.sin.bytes()[..p.consumed], ctx.pools);
                        x.bytes_out += p.consumed as u64;
                        x.sin.consume(p.consumed);
                        turn = Turn::Moved;
                    }
                }
                Err(_) => truncated = true,
            }
        }
        if !body.is_done() && x.server_eof && x.sin.is_empty() && body.on_close().is_err() {
            truncated = true;
        }
        if truncated {
            let t = Termination::new(Cause::ServerAbort, Phase::Data);
            self.http_log_end(ctx, t);
            return Turn::End(Step::Close(t));
        }
        turn
    }

    /// The response is complete (and the request too, unless the client is not kept).
    fn exchange_end(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let Some(h) = self.proto.http() else { return internal() };
        let response_done = h.res_body.as_ref().is_some_and(BodyCursor::is_done);
        if response_done && (h.req_body.is_done() || !h.conn.client_keep_alive) {
            self.http_end_txn(ctx);
            return Turn::Moved;
        }
        Turn::Still
    }

    /// The response is complete: log, give the server connection back to the idle ones (or
    /// close it), then keep-alive or close.
    fn http_end_txn(&mut self, ctx: &mut Ctx<'_>) {
        let Some(h) = self.proto.http_mut() else { return };
        let term = match h.txn.as_ref() {
            Some(t) => t.termination(Cause::Normal, Phase::None),
            None => Termination::NORMAL,
        };
        let reusable = h.conn.server_keep_alive && !h.server_eof && h.sin.is_empty() && h.to_server.is_empty() && h.req_body.is_done();
        let keep_client = h.conn.client_keep_alive && h.req_body.is_done();
        self.http_log(ctx.shared, term, ctx.now);
        if reusable {
            self.park_conn(ctx, keep_client);
        }
        self.http_detach_server(ctx);
        self.http_next(ctx, keep_client);
    }

    /// After a protocol switch: everything is forwarded as is, FINs passed on.
    fn http_tunnel(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(h) = self.proto.http_mut() else { return false };
        let client_eof = h.client_eof;
        let x: &mut Exchange = h;
        let mut moved = false;
        if !x.cin.is_empty() && x.to_server.len() < MAX_PENDING {
            x.to_server.extend(x.cin.bytes(), ctx.pools);
            x.cin.clear();
            moved = true;
        }
        if !x.sin.is_empty() && x.to_client.len() < MAX_PENDING {
            x.to_client.extend(x.sin.bytes(), ctx.pools);
            x.bytes_out += x.sin.len() as u64;
            x.sin.clear();
            moved = true;
        }
        if client_eof && x.cin.is_empty() && x.to_server.is_empty() && !x.shut_server {
            if let Some(c) = self.up.conn.and_then(|k| ctx.conns.get_mut(k)) {
                c.shutdown_write();
            }
            x.shut_server = true;
        }
        if x.server_eof && x.sin.is_empty() && x.to_client.is_empty() && !x.shut_client {
            x.shut_client = true;
            self.shut_client_write();
        }
        moved
    }
}
