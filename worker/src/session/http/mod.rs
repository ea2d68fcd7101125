//! `mode http` sessions: the client connection carries a sequence of HTTP/1.1 transactions,
//! each routed, balanced and forwarded on its own (see [`crate::http`] for the L7 logic).
//!
//! The session reuses the TCP session's socket, readiness, assignment and connect/retry code
//! (`stage` says where the connect is); this module adds the transaction state machine
//! ([`HttpPhase`]), driven by [`Session::http_drive`] after every event until nothing moves.
//! Server connections that may be kept alive go back to the thread's idle connections after
//! each response (see [`crate::session::upstream::conns`]), so an idle client holds none.

mod conn_view;
mod exchange;
mod log;
mod timeouts;

use super::{Ctx, Session, Side, Stage, Step};
use crate::buffer::{Buf, ReadOutcome};
use crate::http::body::BodyCursor;
use crate::http::connection::ConnPlan;
use crate::http::framing::BodyFraming;
use crate::http::txn::Txn;
use crate::session::upstream::Progress;
use crate::termination::{Cause, Phase, Termination};
use std::time::{Instant, SystemTime};

/// Most bytes queued for one side before the other side's input stops being moved to it.
const MAX_PENDING: usize = crate::buffer::BUFFER_SIZE;

/// Where the session is in its current transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpPhase {
    /// Waiting for a request head (the first, or the next on a kept-alive connection).
    Head,
    /// The request is assigned and waits for its server connection (`stage` tells more).
    Connecting,
    /// Request body out, response in.
    Exchange,
    /// After 101 Switching Protocols (or CONNECT): bytes flow both ways unframed.
    Tunnel,
    /// A final response is going out; then the client's side is shut and its remaining input
    /// drained until it closes or `until` (so the response is not lost to a reset).
    Closing { until: Instant, shut: bool },
    /// `http-request tarpit`: the client is held until `until` (one deadline, no polling),
    /// its input dropped; then the reply waiting in the exchange goes out and the session closes.
    Tarpit { until: Instant },
}

/// The HTTP state of a session. What waiting for a request needs is here; everything a
/// request in flight needs is in an [`Exchange`], allocated when the first byte of a request
/// arrives and freed once the client is idle again with nothing buffered, so an idle keep-alive
/// client costs this struct and its socket. `HttpState` dereferences to the exchange (an empty
/// one while there is none; writing through it creates it).
pub struct HttpState {
    pub phase: HttpPhase,
    client_eof: bool,
    /// Transactions completed on this connection.
    requests: u64,
    /// When the current request's wait started: accept for the first, the end of the previous
    /// response otherwise (keep-alive idle).
    wait_start: Instant,
    /// First byte of the current request (`timeout http-request` runs from here on a kept-alive
    /// connection).
    request_start: Option<Instant>,
    client_last: Instant,
    ex: Option<Box<Exchange>>,
    /// An HTTP/2 stream (see [`crate::session::h2`]): no socket of its own, the driver fills
    /// `cin` and empties `to_client`; one transaction, then the stream ends.
    stream: bool,
}

/// A request in flight: its buffers, transaction, body framing and log fields.
pub struct Exchange {
    /// Client bytes not yet processed: a partial head, body not yet forwarded, or pipelined
    /// requests.
    cin: Buf,
    /// Server bytes not yet processed.
    sin: Buf,
    to_server: Buf,
    to_client: Buf,
    server_eof: bool,
    /// Tunnel: FIN passed on to the server / to the client.
    shut_server: bool,
    shut_client: bool,
    txn: Option<Txn>,
    /// Whether each of the backend's servers could take persistent traffic when the request
    /// was routed (the cookie's view of them).
    ups: Vec<bool>,
    req_body: BodyCursor,
    /// The final response's body, once its head is forwarded.
    res_body: Option<BodyCursor>,
    conn: ConnPlan,
    request_wall: SystemTime,
    head_done: Option<Instant>,
    response_head: Option<Instant>,
    status: Option<u16>,
    /// Bytes forwarded to the client for the current transaction (`%B`), counted once, when
    /// queued.
    bytes_out: u64,
    request_line: Option<Vec<u8>>,
    /// The current transaction's log line was written (or must not be).
    logged: bool,
    /// The backend the current request was routed to (the session's may be an earlier
    /// request's when the frontend answers this one itself).
    log_backend: Option<usize>,
    server_last: Instant,
    /// The answer a tarpitted request gets once its hold is over.
    tarpit: Option<Box<crate::http::txn::Reply>>,
    /// When the tarpit let the request go (the log's `Tw`, as HAProxy's `t_queue`).
    tarpit_end: Option<Instant>,
    /// The tracked counters' http_err already counted this transaction (a deny or tarpit).
    err_counted: bool,
}

impl Exchange {
    fn new(now: Instant) -> Self {
        Exchange {
            cin: Buf::default(),
            sin: Buf::default(),
            to_server: Buf::default(),
            to_client: Buf::default(),
            server_eof: false,
            shut_server: false,
            shut_client: false,
            txn: None,
            ups: Vec::new(),
            req_body: BodyCursor::new(BodyFraming::None),
            res_body: None,
            conn: ConnPlan { client_keep_alive: false, server_keep_alive: false },
            request_wall: SystemTime::UNIX_EPOCH,
            head_done: None,
            response_head: None,
            status: None,
            bytes_out: 0,
            request_line: None,
            logged: true,
            log_backend: None,
            server_last: now,
            tarpit: None,
            tarpit_end: None,
            err_counted: false,
        }
    }

    /// Back to the state of a new one, keeping its allocations (a recycled exchange holds no
    /// buffers: they went back to the pool first).
    fn reset(&mut self, now: Instant) {
        let ups = std::mem::take(&mut self.ups);
        *self = Exchange { ups, ..Exchange::new(now) };
        self.ups.clear();
    }

    /// Nothing held and no request under way: the exchange can go.
    fn is_idle(&self) -> bool {
        self.cin.is_empty()
            && self.sin.is_empty()
            && self.to_server.is_empty()
            && self.to_client.is_empty()
            && self.txn.is_none()
            && self.logged
    }
}

/// What an idle session reads through [`HttpState`]'s dereference: no bytes, no request.
static IDLE: std::sync::LazyLock<Exchange> = std::sync::LazyLock::new(|| Exchange::new(Instant::now()));

impl std::ops::Deref for HttpState {
    type Target = Exchange;
    #[inline]
    fn deref(&self) -> &Exchange {
        self.ex.as_deref().unwrap_or(&IDLE)
    }
}

impl std::ops::DerefMut for HttpState {
    #[inline]
    fn deref_mut(&mut self) -> &mut Exchange {
        let now = self.client_last;
        self.ex.get_or_insert_with(|| fresh_exchange(now))
    }
}

/// Request states kept for reuse per event-loop thread; more are freed.
const EXCHANGES_KEEP: usize = 64;

thread_local! {
    // Boxes, not values: a recycled one moves back into a session without a copy.
    /// Request states of this thread's finished requests, recycled instead of freed and
    /// allocated again for every request.
    #[allow(clippy::vec_box)]
    static EXCHANGES: std::cell::RefCell<Vec<Box<Exchange>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn fresh_exchange(now: Instant) -> Box<Exchange> {
    match EXCHANGES.with(|e| e.borrow_mut().pop()) {
        Some(mut ex) => {
            ex.reset(now);
            ex
        }
        None => Box::new(Exchange::new(now)),
    }
}

fn recycle(ex: Box<Exchange>) {
    EXCHANGES.with(|e| {
        let mut free = e.borrow_mut();
        if free.len() < EXCHANGES_KEEP {
            free.push(ex);
        }
    });
}

impl HttpState {
    pub fn new(now: Instant) -> Self {
        HttpState {
            phase: HttpPhase::Head,
            client_eof: false,
            requests: 0,
            wait_start: now,
            request_start: None,
            client_last: now,
            ex: None,
            stream: false,
        }
    }

    /// The state of an HTTP/2 stream whose request starts now.
    pub(crate) fn for_stream(now: Instant) -> Self {
        HttpState { request_start: Some(now), stream: true, ..HttpState::new(now) }
    }

    /// HTTP/2 streams: request bytes (HTTP/1.1 framing) from the driver.
    pub(crate) fn stream_feed(&mut self, bytes: &[u8], now: Instant, pools: &mut crate::buffer::Pools) {
        if self.ex.is_none() {
            self.request_wall = SystemTime::now();
        }
        self.cin.extend(bytes, pools);
        self.client_last = now;
    }

    /// HTTP/2 streams: request bytes not yet taken by the transaction.
    pub(crate) fn stream_pending_in(&self) -> usize {
        self.ex.as_ref().map_or(0, |x| x.cin.len())
    }

    /// HTTP/2 streams: the request is complete (END_STREAM), as a client's FIN after it.
    pub(crate) fn stream_end_request(&mut self) {
        self.client_eof = true;
    }

    /// HTTP/2 streams: the HTTP/1.1 bytes of the response, for the driver to send as frames.
    pub(crate) fn stream_output(&mut self) -> Option<&mut Buf> {
        self.ex.as_deref_mut().map(|x| &mut x.to_client)
    }

    /// HTTP/2 streams: the transaction is over (answered and logged).
    pub(crate) fn stream_txn_over(&self) -> bool {
        self.requests > 0 && matches!(self.phase, HttpPhase::Head | HttpPhase::Closing { .. })
    }

    /// HTTP/2 streams: bytes wait to be sent.
    pub(crate) fn stream_has_output(&self) -> bool {
        self.ex.as_ref().is_some_and(|x| !x.to_client.is_empty())
    }
}

impl HttpState {
    /// The start of an upgraded TCP session (see `session::tcp::upgrade`): what the client
    /// sent while the connection was TCP is the start of its first request.
    pub fn take_upgraded(&mut self, read: &[u8], eof: bool, pools: &mut crate::buffer::Pools) {
        if !read.is_empty() {
            self.cin.extend(read, pools);
        }
        self.client_eof = eof;
    }

    /// The connection's handshakes are done (TLS): waiting for the first request starts now,
    /// as HAProxy's stream (and its `timeout http-request`) starts after the handshake.
    pub(crate) fn restart_wait(&mut self, now: Instant) {
        if self.requests == 0 && self.ex.is_none() {
            self.wait_start = now;
            self.client_last = now;
        }
    }

    /// Gives the buffers that hold nothing back to the thread's pool (all of them when the
    /// session ends), so that an idle keep-alive client holds none.
    pub fn release_buffers(&mut self, pools: &mut crate::buffer::Pools, all: bool) {
        let Some(ex) = self.ex.as_deref_mut() else { return };
        for b in [&mut ex.cin, &mut ex.sin, &mut ex.to_server, &mut ex.to_client] {
            if all {
                b.release(pools);
            } else {
                b.release_if_empty(pools);
            }
        }
        if all || (self.phase == HttpPhase::Head && ex.is_idle()) {
            if let Some(ex) = self.ex.take() {
                recycle(ex);
            }
        }
    }

    /// A new transaction's log state: its request line (`None`: no valid request, logged as
    /// `<BADREQ>`), nothing answered yet, a line still to write.
    fn start_log(&mut self, request_line: Option<Vec<u8>>) {
        self.request_line = request_line;
        self.logged = false;
        self.status = None;
        self.bytes_out = 0;
        self.response_head = None;
        self.log_backend = None;
        self.tarpit_end = None;
        self.err_counted = false;
    }
}

/// Whether a frontend is served as HTTP.
pub fn is_http_frontend(shared: &crate::shared::Shared, frontend: usize) -> bool {
    shared.config.frontends[frontend].mode == hakeeper_common::config::Mode::Http && shared.config.http.frontends.len() > frontend
}

impl Session {
    /// Starts an HTTP session: wait for the first request head.
    pub(crate) fn http_start(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.http_drive(ctx)
    }

    pub(crate) fn http_on_event(&mut self, ctx: &mut Ctx<'_>, side: Side, ev: &mio::event::Event) -> Step {
        if side == Side::Server && self.up.stage == Stage::Connecting {
            let p = self.check_connect(ctx, ev);
            if let Some(step) = self.http_upstream_failed(ctx, p) {
                return step;
            }
        }
        self.http_drive(ctx)
    }

    /// An upstream step for the current request (a grant, a deadline): on failure the request
    /// is answered (503), then everything moves that can.
    pub(crate) fn http_upstream(&mut self, ctx: &mut Ctx<'_>, p: Progress) -> Step {
        if let Some(step) = self.http_upstream_failed(ctx, p) {
            return step;
        }
        self.http_drive(ctx)
    }

    /// The upstream side gave up on the request: the step if the session must end now.
    fn http_upstream_failed(&mut self, ctx: &mut Ctx<'_>, p: Progress) -> Option<Step> {
        match p {
            Progress::Failed(t) => self.http_connect_failed(ctx, t),
            Progress::Connected | Progress::Pending => None,
        }
    }

    /// Moves everything that can move, until nothing does.
    pub(crate) fn http_drive(&mut self, ctx: &mut Ctx<'_>) -> Step {
        loop {
            let mut turn = self.http_read(ctx);
            if !matches!(turn, Turn::End(_)) {
                turn = turn.then(self.http_process(ctx));
            }
            if !matches!(turn, Turn::End(_)) {
                turn = turn.then(self.http_write(ctx));
            }
            if let Turn::End(step) = turn {
                return step;
            }
            if let Some(step) = self.http_finished(ctx) {
                return step;
            }
            if turn == Turn::Still {
                if let Some(h) = self.proto.http_mut() {
                    h.release_buffers(ctx.pools, false);
                    if h.ex.is_none() {
                        // Idle between requests: no attempt to reach a server either.
                        self.up.end_attempt();
                    }
                }
                return Step::Continue;
            }
        }
    }

    /// Reads from both sides as far as the buffers allow.
    fn http_read(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let readable = self.client_readable();
        let Some(h) = self.proto.http_mut() else { return internal() };
        let mut moved = false;
        let mut client_bytes = 0;
        // Checked first: touching `cin` would give an idle session an exchange. An HTTP/2
        // stream's bytes come from its driver.
        if !h.client_eof && readable && !h.stream {
            let read = match self.tls.as_deref_mut() {
                None => h.cin.recv(&self.client, &mut self.client_ready, ctx.pools),
                Some(tls) => h.cin.recv_from(&mut crate::tls::TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready }, ctx.pools),
            };
            match read {
                Ok(ReadOutcome::Data(n)) => {
                    client_bytes = n;
                    h.client_last = ctx.now;
                    if h.phase == HttpPhase::Head && h.request_start.is_none() {
                        h.request_start = Some(ctx.now);
                        h.request_wall = SystemTime::now();
                    }
                }
                Ok(ReadOutcome::Eof) => {
                    h.client_eof = true;
                    moved = true;
                }
                Ok(ReadOutcome::Empty) => {}
                Err(e) => return Turn::End(self.http_abort(ctx, Side::Client, e)),
            }
        }
        let Some(h) = self.proto.http_mut() else { return internal() };
        let server_open = self.up.stage == Stage::Established && matches!(h.phase, HttpPhase::Exchange | HttpPhase::Tunnel);
        let server = self.up.conn.and_then(|k| ctx.conns.get_mut(k));
        if let (true, Some(server)) = (server_open && !h.server_eof, server) {
            match server.recv_into(&mut h.sin, ctx.pools) {
                Ok(ReadOutcome::Data(_)) => {
                    h.server_last = ctx.now;
                    moved = true;
                }
                Ok(ReadOutcome::Eof) => {
                    h.server_eof = true;
                    moved = true;
                }
                Ok(ReadOutcome::Empty) => {}
                Err(e) => return Turn::End(self.http_abort(ctx, Side::Server, e)),
            }
        }
        if client_bytes > 0 {
            self.count_in(ctx, client_bytes as u64);
            moved = true;
        }
        Turn::moved(moved)
    }

    /// Writes what both sides take.
    fn http_write(&mut self, ctx: &mut Ctx<'_>) -> Turn {
        let Some(h) = self.proto.http_mut() else { return internal() };
        let mut moved = false;
        if self.up.stage == Stage::Established && matches!(h.phase, HttpPhase::Exchange | HttpPhase::Tunnel) {
            if let Some(server) = self.up.conn.and_then(|k| ctx.conns.get_mut(k)) {
                match server.flush_from(&mut h.to_server) {
                    Ok(n) => {
                        if n > 0 {
                            h.server_last = ctx.now;
                            moved = true;
                        }
                    }
                    Err(e) => return Turn::End(self.http_abort(ctx, Side::Server, e)),
                }
            }
        }
        let Some(h) = self.proto.http_mut() else { return internal() };
        if h.stream {
            // The driver sends the response as frames.
            return Turn::moved(moved);
        }
        let flushed = match self.tls.as_deref_mut() {
            None => h.to_client.flush(&self.client, &mut self.client_ready),
            Some(tls) => h.to_client.flush_to(&mut crate::tls::TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready }),
        };
        let written = match flushed {
            Ok(n) => n,
            Err(e) => return Turn::End(self.http_abort(ctx, Side::Client, e)),
        };
        if written > 0 {
            // `bytes_out` (%B) was counted when the bytes were queued for the client.
            h.client_last = ctx.now;
            self.count_out(ctx, written as u64);
            moved = true;
        }
        Turn::moved(moved)
    }

    /// Whether the session is over.
    fn http_finished(&mut self, ctx: &Ctx<'_>) -> Option<Step> {
        if self.proto.http().is_some_and(|h| h.stream) {
            // An HTTP/2 stream's end is its driver's to decide (see `stream_txn_over`).
            return None;
        }
        if self.tls.as_ref().is_some_and(|t| t.holds()) {
            // Encrypted bytes still wait for the socket: the next writable event sends them.
            return None;
        }
        let h = self.proto.http_mut()?;
        match h.phase {
            HttpPhase::Head if h.client_eof && h.cin.is_empty() && h.to_client.is_empty() => {
                if h.requests == 0 {
                    // Not even one request: HAProxy logs it (`CR--`) unless `option dontlognull`.
                    self.http_log_aborted_head(ctx.shared, ctx.now);
                }
                Some(Step::Close(Termination::NORMAL))
            }
            HttpPhase::Closing { shut: true, .. } if h.client_eof => Some(Step::Close(Termination::NORMAL)),
            HttpPhase::Closing { shut, until } if !shut && h.to_client.is_empty() => {
                // Everything is out: FIN, then wait for the client's (its late bytes must not
                // meet a reset), no longer counted against maxconn.
                h.phase = HttpPhase::Closing { until, shut: true };
                self.shut_client_write();
                self.leave_counts(ctx.shared);
                None
            }
            HttpPhase::Tunnel if h.client_eof && h.server_eof && h.to_client.is_empty() && h.to_server.is_empty() => {
                Some(Step::Close(Termination::NORMAL))
            }
            _ => None,
        }
    }

    /// A socket failed: the transaction (if any) is logged and the session ends.
    fn http_abort(&mut self, ctx: &mut Ctx<'_>, side: Side, e: std::io::Error) -> Step {
        ::log::debug!("http session {} from {}: {side:?} side failed: {e}", self.id, self.client_addr);
        let cause = match side {
            Side::Client => Cause::ClientAbort,
            Side::Server => Cause::ServerAbort,
        };
        let term = Termination::new(cause, self.phase());
        self.http_log_end(ctx, term);
        Step::Close(term)
    }
}

/// What one step of an HTTP session's machine came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Nothing could move.
    Still,
    /// Something moved: the steps run again.
    Moved,
    /// The session ends.
    End(Step),
}

impl Turn {
    fn moved(moved: bool) -> Turn {
        if moved {
            Turn::Moved
        } else {
            Turn::Still
        }
    }

    /// This step's outcome followed by `next`'s.
    fn then(self, next: Turn) -> Turn {
        match (self, next) {
            (Turn::End(s), _) | (_, Turn::End(s)) => Turn::End(s),
            (Turn::Moved, _) | (_, Turn::Moved) => Turn::Moved,
            (Turn::Still, Turn::Still) => Turn::Still,
        }
    }
}

fn internal_step() -> Step {
    Step::Close(Termination::new(Cause::Internal, Phase::Data))
}

fn internal() -> Turn {
    Turn::End(internal_step())
}
