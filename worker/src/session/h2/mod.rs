//! HTTP/2 client connections (`proto: h2` binds, and `h2` chosen by ALPN): the driver that puts
//! an [`crate::h2::conn::Connection`] on the session's client side and runs each stream as an
//! HTTP/1.1 transaction of [`super::http`], as HAProxy 2.6 runs one stream per H2 stream on
//! top of `mux_h2`.
//!
//! A stream is an [`HttpState`] without a socket (`HttpState::for_stream`) and an
//! [`Upstream`] of its own (assignment, queue, retries, a connection from the shared idle
//! pools). To run it, the driver swaps the stream's protocol state, upstream side and id into
//! the session, calls the ordinary HTTP handler, and swaps them back: routing, ACLs, header
//! rules, cookies, stick tables, forwardfor and httplog apply per stream unchanged, and the
//! queue and connection tables find the stream by its own id.
//!
//! - request: `h2::h1_request` makes HTTP/1.1 bytes (`Host` from `:authority`, chunked when
//!   the length is unknown) that feed the transaction's input; DATA is released to the
//!   client's windows as the transaction takes it, so a slow server slows the upload;
//! - response: [`response`] turns the bytes the transaction queued for the client into
//!   frames; the transaction's buffers stay bounded, so the client's windows slow the server;
//!   what a server's event produced is written at the end of the event loop's batch of
//!   events, one write for every stream answered meanwhile (HAProxy's mux_h2 also sends once
//!   per wakeup), not one per response;
//! - server connections: a stream is never a client connection's first request for
//!   `http-reuse` (HAProxy's mux_h2 marks every stream `SE_FL_NOT_FIRST`), so under `safe`
//!   streams reuse the thread's idle connections;
//! - a stream ends when its response is out and its transaction logged; a transaction that
//!   aborts resets its stream (RST_STREAM), a client's RST_STREAM aborts its transaction (`CD`);
//! - the connection ends on the client's close, a connection error (GOAWAY queued by the
//!   layer), idleness (`timeout http-keep-alive`, else `timeout client`, as HAProxy's
//!   `mux_h2` uses for an idle frontend connection), or a graceful GOAWAY once the process
//!   drains (reload, stop) and the last stream is done.

mod response;

use super::http::HttpState;
use super::{Ctx, Proto, Session, Side, Stage, Step, Upstream};
use crate::buffer::{Buf, ReadOutcome};
use crate::counters::Counters;
use crate::h2::conn::{Config, Connection, Event};
use crate::h2::error::ErrorCode;
use crate::h2::h1_request::{self, BodyFraming};
use crate::h2::limits::Limits;
use crate::h2::settings::LocalSettings;
use crate::http::framing::RequestKind;
use crate::shared::Shared;
use crate::termination::{Cause, Phase, Termination};
use response::ResponseOut;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Request bytes handed to a transaction ahead of what it forwarded (one buffer, as an
/// HTTP/1.1 client's input).
const MAX_FEED: usize = crate::buffer::BUFFER_SIZE;
/// Output held back for the end of a batch of events at most (see `H2State::defer`).
const DEFER_MAX: usize = 16 * 1024;
/// How long the first GOAWAY waits for its PING's answer before the final one.
const GOAWAY_WAIT: Duration = Duration::from_secs(1);
/// How long after the PING's answer the final GOAWAY waits for requests the client queued
/// behind that answer (they follow it on the same connection, without a round trip).
const ACK_GRACE: Duration = Duration::from_millis(100);

/// The HTTP/2 state of a session.
pub struct H2State {
    conn: Connection,
    streams: BTreeMap<u32, Box<H2Stream>>,
    inb: Buf,
    outb: Buf,
    client_eof: bool,
    /// The last time a stream ended or began, or bytes went to the client (idle timeout, and
    /// the bound on a closing connection's last writes).
    last_active: Instant,
    /// The layer failed the connection (its GOAWAY is queued): close once it is out.
    failed: bool,
    /// When the graceful shutdown's first GOAWAY went out.
    goaway_at: Option<Instant>,
    /// When the client answered its PING.
    goaway_acked_at: Option<Instant>,
    /// The final GOAWAY is queued (graceful shutdown or idle timeout).
    goaway_done: bool,
    /// This drive runs for a server's event: writes to the client wait for the end of the
    /// batch of events (the event loop's `flush_deferred`), unless much is waiting.
    defer: bool,
    /// The session is on the event loop's deferred list.
    flush_queued: bool,
}

/// One stream and the transaction it runs.
struct H2Stream {
    /// The stream's own id for queues and logs (the session's while it runs).
    id: u64,
    /// `Proto::Http` while parked (the session's `Proto::Http2` while it runs).
    proto: Proto,
    up: Upstream,
    framing: BodyFraming,
    /// HTTP/1.1 request bytes not yet handed to the transaction.
    pending: Vec<u8>,
    /// DATA bytes received and not yet given back to the client's windows.
    unreleased: u32,
    /// All of the request is in `pending` (END_STREAM or trailers).
    req_end: bool,
    /// The transaction was told the request ended.
    req_told: bool,
    resp: ResponseOut,
    /// The transaction's next deadline, as of its last run.
    deadline: Option<Instant>,
    /// `h2_drive` runs the stream: it is new, request bytes came for it or wait to be taken,
    /// or its response moved or waits for the client's windows. Otherwise only its own
    /// events (server, timer, queue grant) run it, so that an event of one stream does not
    /// run every stream of the connection.
    wake: bool,
}

/// The connection's settings from `global.h2` (HAProxy's `tune.h2.*`).
fn h2_config(shared: &Shared) -> Config {
    let t = &shared.config.global.h2;
    let local = LocalSettings {
        header_table_size: t.header_table_size,
        initial_window_size: t.initial_window_size,
        max_concurrent_streams: t.max_concurrent_streams,
        max_frame_size: t.max_frame_size,
        ..LocalSettings::default()
    };
    Config { local, limits: Limits::for_streams(t.max_concurrent_streams) }
}

/// Whether a session starts HTTP/2: `proto: h2` on its bind, or `h2` negotiated by ALPN.
pub fn speaks_h2(shared: &Shared, frontend: usize, listener: usize, alpn: Option<&[u8]>) -> bool {
    use hakeeper_common::config::BindProto;
    let proto = shared.config.frontends.get(frontend).and_then(|f| f.bind_proto.get(listener)).copied().unwrap_or_default();
    match proto {
        BindProto::H2 => true,
        BindProto::H1 => false,
        BindProto::Auto => alpn == Some(b"h2"),
    }
}

impl Session {
    /// The handshakes are done and the connection speaks HTTP/2: our preface goes out.
    pub(crate) fn h2_start(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let state = H2State {
            conn: Connection::new(h2_config(ctx.shared)),
            streams: BTreeMap::new(),
            inb: Buf::default(),
            outb: Buf::default(),
            client_eof: false,
            last_active: ctx.now,
            failed: false,
            goaway_at: None,
            goaway_acked_at: None,
            goaway_done: false,
            defer: false,
            flush_queued: false,
        };
        self.proto = Proto::Http2(Box::new(state));
        // The connection itself is no stream of the backend (HAProxy counts streams there):
        // the count made at accept (or after the PROXY header) is taken back, and each stream
        // counts on its own.
        if !crate::tcp_rules::tcp_switching(ctx.shared, self.frontend) {
            if let Some(be) = self.up.backend.take() {
                ctx.shared.stats.backends[be].counters.session_closed();
            }
        }
        self.h2_drive(ctx)
    }

    fn h2(&mut self) -> Option<&mut H2State> {
        match &mut self.proto {
            Proto::Http2(h) => Some(h),
            _ => None,
        }
    }

    pub(crate) fn h2_on_event(&mut self, ctx: &mut Ctx<'_>, side: Side, ev: &mio::event::Event) -> Step {
        if side == Side::Server {
            // The stream whose server connection this is.
            if let crate::tokens::Target::Conn(key) = crate::tokens::classify(ev.token()) {
                let sid = self.h2().and_then(|h| h.streams.iter().find(|(_, s)| s.up.conn == Some(key)).map(|(&sid, _)| sid));
                if let Some(sid) = sid {
                    self.h2_run(ctx, sid, |s, ctx| s.http_on_event(ctx, Side::Server, ev));
                }
            }
            if let Some(h) = self.h2() {
                h.defer = true;
            }
            let step = self.h2_drive(ctx);
            if let Some(h) = self.h2() {
                h.defer = false;
            }
            return step;
        }
        self.h2_drive(ctx)
    }

    /// The end of a batch of events: what was deferred goes to the client. `None`: the session
    /// (a new one, maybe, at the same key) deferred nothing.
    pub(crate) fn h2_flush(&mut self, ctx: &mut Ctx<'_>) -> Option<Step> {
        let h = self.h2()?;
        if !std::mem::take(&mut h.flush_queued) {
            return None;
        }
        Some(self.h2_drive(ctx))
    }

    /// A queue grant for the stream `session` (a stream's id).
    pub(crate) fn h2_on_grant(&mut self, ctx: &mut Ctx<'_>, session: u64, server: usize) -> Step {
        let sid = self.h2().and_then(|h| h.streams.iter().find(|(_, s)| s.id == session).map(|(&sid, _)| sid));
        if let Some(sid) = sid {
            self.h2_run(ctx, sid, |s, ctx| {
                let p = s.got_slot(ctx, server);
                s.http_upstream(ctx, p)
            });
        }
        self.h2_drive(ctx)
    }

    /// Whether a grant for `session` is awaited by one of this connection's streams.
    pub(crate) fn h2_awaits_grant(&self, session: u64) -> bool {
        match &self.proto {
            Proto::Http2(h) => h.streams.values().any(|s| s.id == session && matches!(s.up.stage, Stage::Queued { .. })),
            _ => false,
        }
    }

    pub(crate) fn h2_next_deadline(&self, shared: &Shared) -> Option<Instant> {
        let Proto::Http2(h) = &self.proto else { return None };
        let fe = &shared.config.frontends[self.frontend];
        let streams = h.streams.values().filter_map(|s| s.deadline).min();
        if h.failed || h.goaway_done {
            // Closing: the last frames get `timeout client` to go out.
            return [streams, crate::deadline::after(h.last_active, fe.timeout_client)].into_iter().flatten().min();
        }
        let idle = if h.streams.is_empty() {
            let t = [fe.timeout_http_keep_alive, fe.timeout_client].into_iter().find(|t| !t.is_zero());
            t.and_then(|t| crate::deadline::after(h.last_active, t))
        } else {
            None
        };
        let stall = h.conn.send_blocked_since().and_then(|s| crate::deadline::after(s, fe.timeout_client));
        // The final GOAWAY of a graceful shutdown (the event loop starts it when the process
        // starts draining).
        let drain = match (h.goaway_at, h.goaway_acked_at) {
            (None, _) => None,
            (Some(at), None) => Some(at + GOAWAY_WAIT),
            (Some(at), Some(acked)) => Some((acked + ACK_GRACE).min(at + GOAWAY_WAIT)),
        };
        [streams, idle, stall, drain].into_iter().flatten().min()
    }

    pub(crate) fn h2_on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let now = ctx.now;
        let due: Vec<u32> = match self.h2() {
            Some(h) => h.streams.iter().filter(|(_, s)| s.deadline.is_some_and(|d| d <= now)).map(|(&sid, _)| sid).collect(),
            None => return internal_step(),
        };
        for sid in due {
            self.h2_run(ctx, sid, |s, ctx| s.http_on_timeout(ctx));
        }
        let fe = &ctx.shared.config.frontends[self.frontend];
        let (id, frontend) = (self.id, self.frontend);
        let Some(h) = self.h2() else { return internal_step() };
        if (h.failed || h.goaway_done) && crate::deadline::after(h.last_active, fe.timeout_client).is_some_and(|d| d <= now) {
            // The client took nothing of the last frames in time.
            let t = Termination::new(Cause::ClientTimeout, Phase::Data);
            self.h2_close_streams(ctx, t);
            return Step::Close(t);
        }
        if !h.failed && h.conn.check_stall(now, fe.timeout_client).is_err() {
            ::log::debug!("h2 session {id}: a response waited for a window longer than timeout client");
            h.failed = true;
            count_floods(ctx.shared, frontend, &h.conn);
            h.last_active = now;
        }
        if h.streams.is_empty() && !h.goaway_done && !h.failed {
            let t = [fe.timeout_http_keep_alive, fe.timeout_client].into_iter().find(|t| !t.is_zero());
            if t.and_then(|t| crate::deadline::after(h.last_active, t)).is_some_and(|d| d <= now) {
                // Idle: a final GOAWAY at once, as HAProxy's mux_h2 on its idle timeout.
                h.conn.goaway();
                h.conn.goaway();
                h.goaway_at.get_or_insert(now);
                h.goaway_done = true;
                h.last_active = now;
            }
        }
        self.h2_drive(ctx)
    }

    /// Moves everything that can move: client bytes in and out, every stream.
    pub(crate) fn h2_drive(&mut self, ctx: &mut Ctx<'_>) -> Step {
        loop {
            let mut moved = match self.h2_read(ctx) {
                Ok(m) => m,
                Err(step) => return step,
            };
            moved |= self.h2_events(ctx);
            self.h2_graceful(ctx);
            let awake: Vec<u32> =
                self.h2().map(|h| h.streams.iter().filter(|(_, s)| s.wake).map(|(&k, _)| k).collect()).unwrap_or_default();
            for sid in awake {
                moved |= self.h2_run(ctx, sid, |s, ctx| s.http_drive(ctx));
            }
            match self.h2_write(ctx) {
                Ok(m) => moved |= m,
                Err(step) => return step,
            }
            if let Some(step) = self.h2_finished(ctx) {
                return step;
            }
            if !moved {
                return Step::Continue;
            }
        }
    }

    /// Reads the client's bytes into the connection machine.
    fn h2_read(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Step> {
        let readable = self.client_readable();
        let now = ctx.now;
        let Proto::Http2(h) = &mut self.proto else { return Err(internal_step()) };
        if h.client_eof || h.failed || !readable {
            return Ok(false);
        }
        let read = match self.tls.as_deref_mut() {
            None => h.inb.recv(&self.client, &mut self.client_ready, ctx.pools),
            Some(tls) => h.inb.recv_from(&mut crate::tls::TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready }, ctx.pools),
        };
        match read {
            Ok(ReadOutcome::Data(n)) => {
                if let Err(e) = h.conn.recv(h.inb.bytes(), now) {
                    ::log::debug!("h2 session {} from {}: {e}", self.id, self.client_addr);
                    h.failed = true;
                    count_floods(ctx.shared, self.frontend, &h.conn);
                }
                // The machine keeps what it has not parsed: the buffer goes back to the pool, so
                // that an idle connection holds none.
                h.inb.clear();
                h.inb.release_if_empty(ctx.pools);
                self.count_in(ctx, n as u64);
                Ok(true)
            }
            Ok(ReadOutcome::Eof) => {
                h.client_eof = true;
                Ok(true)
            }
            Ok(ReadOutcome::Empty) => Ok(false),
            Err(e) => {
                ::log::debug!("h2 session {} from {}: client side failed: {e}", self.id, self.client_addr);
                let t = Termination::new(Cause::ClientAbort, Phase::Data);
                self.h2_close_streams(ctx, t);
                Err(Step::Close(t))
            }
        }
    }

    /// Writes the connection's output to the client.
    fn h2_write(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Step> {
        let Proto::Http2(h) = &mut self.proto else { return Err(internal_step()) };
        if h.defer && h.outb.is_empty() && h.conn.output().len() < DEFER_MAX {
            if !h.conn.output().is_empty() && !h.flush_queued {
                h.flush_queued = true;
                ctx.deferred.push(ctx.key);
            }
            return Ok(false);
        }
        if h.outb.is_empty() && !h.conn.output().is_empty() {
            let n = h.conn.output().len();
            h.outb.extend(h.conn.output(), ctx.pools);
            h.conn.consume_output(n);
        }
        if h.outb.is_empty() {
            h.outb.release_if_empty(ctx.pools);
            return Ok(false);
        }
        let flushed = match self.tls.as_deref_mut() {
            None => h.outb.flush(&self.client, &mut self.client_ready),
            Some(tls) => h.outb.flush_to(&mut crate::tls::TlsEnd { tls, sock: &self.client, ready: &mut self.client_ready }),
        };
        match flushed {
            Ok(0) => Ok(false),
            Ok(n) => {
                h.last_active = ctx.now;
                self.count_out(ctx, n as u64);
                Ok(true)
            }
            Err(e) => {
                ::log::debug!("h2 session {} from {}: client side failed: {e}", self.id, self.client_addr);
                let t = Termination::new(Cause::ClientAbort, Phase::Data);
                self.h2_close_streams(ctx, t);
                Err(Step::Close(t))
            }
        }
    }

    /// Whether the connection is over.
    fn h2_finished(&mut self, ctx: &mut Ctx<'_>) -> Option<Step> {
        let tls_holds = self.tls.as_ref().is_some_and(|t| t.holds());
        let h = self.h2()?;
        let flushed = h.outb.is_empty() && h.conn.output().is_empty() && !tls_holds;
        if h.client_eof {
            // The client closed: HAProxy's mux_h2 aborts the streams left (`CD`).
            let t = if h.streams.is_empty() { Termination::NORMAL } else { Termination::new(Cause::ClientAbort, Phase::Data) };
            self.h2_close_streams(ctx, t);
            return Some(Step::Close(t));
        }
        if flushed && (h.failed || h.conn.is_done()) {
            let t = if h.failed { Termination::new(Cause::ClientAbort, Phase::Request) } else { Termination::NORMAL };
            self.h2_close_streams(ctx, t);
            return Some(Step::Close(t));
        }
        None
    }

    /// Reload or stop: GOAWAY in two steps (RFC 9113 §6.8), the second once the first had a
    /// round trip (the layer's PING) or at the next check; the connection then ends with its
    /// last stream.
    fn h2_graceful(&mut self, ctx: &mut Ctx<'_>) {
        let draining = ctx.shared.draining().is_some() || ctx.shared.stopping();
        let now = ctx.now;
        let Some(h) = self.h2() else { return };
        if h.goaway_acked_at.is_none() && h.conn.goaway_acked() {
            h.goaway_acked_at = Some(now);
        }
        match (h.goaway_at, h.goaway_acked_at) {
            (None, _) if draining => {
                h.conn.goaway();
                h.goaway_at = Some(now);
            }
            // The final GOAWAY: shortly after the PING's answer, so that requests the client
            // queued behind it are taken, or when no answer came in time.
            (Some(at), acked) if !h.goaway_done && (acked.is_some_and(|a| now >= a + ACK_GRACE) || now >= at + GOAWAY_WAIT) => {
                h.conn.goaway();
                h.goaway_done = true;
                h.last_active = now;
            }
            _ => {}
        }
    }

    /// The connection machine's events: streams open, take body bytes, end.
    fn h2_events(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut moved = false;
        loop {
            let Some(ev) = self.h2().and_then(|h| h.conn.poll_event()) else { return moved };
            moved = true;
            match ev {
                Event::Request { stream, head, end_stream } => self.h2_open(ctx, stream, &head, end_stream),
                Event::Data { stream, data, end_stream } => {
                    let Some(h) = self.h2() else { return moved };
                    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
                    match h.streams.get_mut(&stream) {
                        Some(s) if !s.req_end => {
                            match s.framing {
                                BodyFraming::Chunked => {
                                    h1_request::chunk(&data, &mut s.pending);
                                    if end_stream {
                                        h1_request::last_chunk(&[], &mut s.pending);
                                    }
                                }
                                BodyFraming::Length(_) | BodyFraming::None => s.pending.extend_from_slice(&data),
                            }
                            s.unreleased = s.unreleased.saturating_add(len);
                            s.req_end = end_stream;
                            s.wake = true;
                        }
                        // A stream already answered and ended: its bytes only open the window.
                        _ => h.conn.release(stream, len),
                    }
                }
                Event::Trailers { stream, fields } => {
                    let Some(h) = self.h2() else { return moved };
                    if let Some(s) = h.streams.get_mut(&stream) {
                        if s.framing == BodyFraming::Chunked {
                            h1_request::last_chunk(&fields, &mut s.pending);
                        }
                        s.req_end = true;
                        s.wake = true;
                    }
                }
                Event::Reset { stream, .. } => self.h2_end_stream(ctx, stream, None),
                Event::Writable { stream } => {
                    if let Some(s) = self.h2().and_then(|h| h.streams.get_mut(&stream)) {
                        s.wake = true;
                    }
                }
                Event::GoAway { .. } => {}
            }
        }
    }

    /// A new stream: a transaction of its own, started with the request's HTTP/1.1 head.
    fn h2_open(&mut self, ctx: &mut Ctx<'_>, stream: u32, head: &crate::h2::head::RequestHead, end_stream: bool) {
        let shared = ctx.shared;
        let (bytes, framing) = h1_request::request_head(head, end_stream);
        let backend = shared.config.frontends[self.frontend].default_backend;
        // Each stream counts as a session of its backend, as each H2 stream is a HAProxy stream.
        if let Some(be) = backend {
            shared.stats.backends[be].counters.session_opened();
        }
        let kind = RequestKind { head: head.method == b"HEAD", connect: head.method == b"CONNECT", upgrade: false };
        let s = H2Stream {
            id: shared.new_session_id(),
            proto: Proto::Http(Box::new(HttpState::for_stream(ctx.now))),
            up: Upstream::new(backend),
            framing,
            pending: bytes,
            unreleased: 0,
            req_end: end_stream || framing == BodyFraming::None,
            req_told: false,
            resp: ResponseOut::new(kind),
            deadline: None,
            wake: true,
        };
        if let Some(h) = self.h2() {
            h.last_active = ctx.now;
            h.streams.insert(stream, Box::new(s));
        }
    }

    /// Swaps a stream's transaction into the session (or back out).
    fn swap_stream(&mut self, s: &mut H2Stream) {
        std::mem::swap(&mut self.proto, &mut s.proto);
        std::mem::swap(&mut self.up, &mut s.up);
        std::mem::swap(&mut self.id, &mut s.id);
    }

    /// Runs `f` on stream `sid`'s transaction, then moves its request bytes in and its
    /// response out, and ends the stream when its transaction is over.
    /// Returns whether request bytes moved into the transaction after it ran (it must run
    /// again).
    fn h2_run(&mut self, ctx: &mut Ctx<'_>, sid: u32, f: impl FnOnce(&mut Session, &mut Ctx<'_>) -> Step) -> bool {
        let Some(mut s) = self.h2().and_then(|h| h.streams.remove(&sid)) else { return false };
        self.feed(ctx, sid, &mut s);
        self.swap_stream(&mut s);
        let step = f(self, ctx);
        s.deadline = self.http_next_deadline(ctx.shared);
        self.swap_stream(&mut s);
        let fed = self.feed(ctx, sid, &mut s);
        let now = ctx.now;
        let (Proto::Http2(h), Proto::Http(x)) = (&mut self.proto, &mut s.proto) else { return false };
        let mut failed = false;
        let mut pumped = false;
        if let Some(out) = x.stream_output() {
            let before = out.len();
            if let Err(e) = s.resp.pump(out, &mut h.conn, sid, now) {
                ::log::debug!("h2 session {} stream {sid}: {e}", self.id);
                failed = true;
            }
            pumped = out.len() != before;
            count_stream(ctx.shared, &s.up, 0, before.saturating_sub(out.len()) as u64);
        }
        let over = x.stream_txn_over() && !x.stream_has_output();
        // Runs again at the next drive if it may move: bytes fed after it ran, a response that
        // moved (its transaction may read more from the server now) or waits for the windows
        // or the output, request bytes still to hand over.
        s.wake = fed || pumped || x.stream_has_output() || !s.pending.is_empty() || (s.req_end && !s.req_told);
        if over && !failed {
            if let Err(e) = s.resp.finish(&mut h.conn, sid, now) {
                ::log::debug!("h2 session {} stream {sid}: {e}", self.id);
                failed = true;
            }
        }
        h.streams.insert(sid, s);
        match step {
            Step::Close(t) => self.h2_end_stream(ctx, sid, Some(t)),
            Step::Continue if failed => self.h2_end_stream(ctx, sid, Some(Termination::new(Cause::Internal, Phase::Data))),
            Step::Continue if over => self.h2_end_stream(ctx, sid, Some(Termination::NORMAL)),
            Step::Continue => return fed,
        }
        false
    }

    /// Hands request bytes to a (parked) stream's transaction while it keeps up, and gives
    /// the client's windows back what it took.
    /// Returns whether bytes moved.
    fn feed(&mut self, ctx: &mut Ctx<'_>, sid: u32, s: &mut H2Stream) -> bool {
        let Proto::Http(x) = &mut s.proto else { return false };
        let room = MAX_FEED.saturating_sub(x.stream_pending_in());
        let mut fed = 0;
        if !s.pending.is_empty() && room > 0 {
            fed = room.min(s.pending.len());
            x.stream_feed(&s.pending[..fed], ctx.now, ctx.pools);
            s.pending.drain(..fed);
            count_stream(ctx.shared, &s.up, fed as u64, 0);
        }
        // As many body bytes as were handed on go back to the windows (the head and chunk
        // framing make the fed bytes a little more than the DATA), the rest once all is in.
        let release = if s.pending.is_empty() { s.unreleased } else { s.unreleased.min(u32::try_from(fed).unwrap_or(u32::MAX)) };
        if release > 0 {
            s.unreleased -= release;
            if let Some(h) = self.h2() {
                h.conn.release(sid, release);
            }
        }
        if s.pending.is_empty() && s.req_end && !s.req_told {
            s.req_told = true;
            x.stream_end_request();
        }
        fed > 0
    }

    /// Ends stream `sid`: its transaction is logged (`t`, or a client abort when the client
    /// reset the stream), its server connection and slot go back, and the client gets
    /// RST_STREAM unless the response went out whole.
    fn h2_end_stream(&mut self, ctx: &mut Ctx<'_>, sid: u32, t: Option<Termination>) {
        let Some(mut s) = self.h2().and_then(|h| h.streams.remove(&sid)) else { return };
        let reset_by_client = t.is_none();
        self.swap_stream(&mut s);
        let t = t.unwrap_or_else(|| Termination::new(Cause::ClientAbort, self.phase()));
        self.close_stream_txn(ctx, t);
        self.swap_stream(&mut s);
        let Some(h) = self.h2() else { return };
        h.last_active = ctx.now;
        if !reset_by_client {
            if !s.resp.is_done() {
                // RFC 9113 §8.1: a response that cannot complete ends with RST_STREAM.
                h.conn.reset(sid, ErrorCode::InternalError);
            } else if !s.req_end {
                // Answered before the request ended: the rest is not wanted (§8.1).
                h.conn.reset(sid, ErrorCode::NoError);
            }
        }
        if s.unreleased > 0 {
            h.conn.release(sid, s.unreleased);
        }
    }

    /// A stream's transaction ends (it is swapped into the session): as the event loop ends
    /// an HTTP/1.1 session, without the client socket.
    fn close_stream_txn(&mut self, ctx: &mut Ctx<'_>, t: Termination) {
        if let (Stage::Queued { server }, Some(be)) = (self.up.stage, self.up.backend) {
            // False when a grant is already on its way; it is returned when it arrives.
            ctx.shared.backend(be).withdraw(self.id, server);
        }
        self.http_log_on_close(ctx.shared, t, ctx.now);
        self.close_conn(ctx);
        self.close_private(ctx);
        self.release_slot(ctx);
        if let Proto::Http(x) = &mut self.proto {
            x.release_buffers(ctx.pools, true);
        }
        if let Some(be) = self.up.backend {
            ctx.shared.stats.backends[be].counters.session_closed();
        }
    }

    /// The connection ends: every stream left ends with `t`.
    pub(crate) fn h2_close_streams(&mut self, ctx: &mut Ctx<'_>, t: Termination) {
        let sids: Vec<u32> = self.h2().map(|h| h.streams.keys().copied().collect()).unwrap_or_default();
        for sid in sids {
            let Some(mut s) = self.h2().and_then(|h| h.streams.remove(&sid)) else { continue };
            self.swap_stream(&mut s);
            let phase = self.phase();
            let t = if t == Termination::NORMAL { t } else { Termination::new(t.cause, phase) };
            self.close_stream_txn(ctx, t);
            self.swap_stream(&mut s);
        }
    }

    /// Gives the connection's buffers back (the session ends).
    pub(crate) fn h2_release_buffers(&mut self, pools: &mut crate::buffer::Pools) {
        if let Some(h) = self.h2() {
            h.inb.release(pools);
            h.outb.release(pools);
        }
    }
}

/// The connection failed (once): what its flood guards counted goes to its frontend's totals
/// for the stats page.
fn count_floods(shared: &Shared, frontend: usize, conn: &Connection) {
    let floods = conn.floods();
    if floods.total() > 0 {
        if let Some(f) = shared.stats.frontends.get(frontend) {
            f.h2_floods.add(&floods.to_array());
        }
    }
}

/// A stream's bytes (as HTTP/1.1) in the counters of its backend and server; the
/// connection's socket bytes count for the frontend.
fn count_stream(shared: &Shared, up: &Upstream, bytes_in: u64, bytes_out: u64) {
    let Some(be) = up.backend else { return };
    let b = &shared.stats.backends[be];
    let servers = up.target.and_then(|t| b.servers.get(t));
    for c in std::iter::once(&b.counters).chain(servers.map(|s| &s.counters)) {
        Counters::add(&c.bytes_in, bytes_in);
        Counters::add(&c.bytes_out, bytes_out);
    }
}

fn internal_step() -> Step {
    Step::Close(Termination::new(Cause::Internal, Phase::Data))
}
