//! The stats page's listener and connections, on one thread with a mio poll, held to the limits
//! of an HAProxy frontend so that its clients can take neither threads nor memory from the
//! process that carries the traffic:
//! - `maxconn`: at most that many connections are open; the listener is not accepted from
//!   beyond, so more wait in the kernel's backlog (HAProxy's `listener_full()`);
//! - `timeout http-request`: the whole head must arrive within it from the accept, else 408,
//!   whatever trickles in meanwhile (HAProxy's `http_wait_for_request` deadline);
//! - the head must fit in [`MAX_HEAD`], else 431 (the proxy's status; HAProxy 2.6 says 400);
//! - `timeout client`: a POST's body must arrive within it, else 408, and the answer is dropped
//!   if the client reads none of it for as long.
//!
//! HTTP/2 connections (`proto: h2` on the bind, or `h2` chosen by ALPN) are [`H2Page`]s: one
//! `maxconn` slot per connection, each stream a request; `timeout http-request` bounds the
//! wait for the first request and the idleness between streams (then GOAWAY and the close),
//! `timeout client` a stream that does not move.
//!
//! Every HTTP/1.1 answer closes the connection. After it the write side is shut and what the client
//! still sends is read and dropped for [`LINGER`], so that it reads the answer rather than a
//! reset. A lingering connection no longer counts against `maxconn` (HAProxy frees the slot
//! when it answers), but at most `maxconn` linger at once: beyond, they are closed at once.

use super::front_h2::H2Page;
use super::request::{self, Method, Progress, MAX_HEAD};
use super::response::refusal;
use super::server::{handle, precheck, Answer, Ctx, PendingAdmin, StatsError};
use crate::tls::stream::MaybeTls;
use hakeeper_common::config::BindProto;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;
/// How long the client's last bytes are drained after the answer.
pub const LINGER: Duration = Duration::from_secs(1);
/// How often outcomes of admin actions are looked at while a POST waits for them.
const ADMIN_POLL: Duration = Duration::from_millis(10);
/// Pause before accepting again after accept() failed (out of file descriptors, say).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Bytes read from a socket at once.
const READ_CHUNK: usize = 16 * 1024;

enum Phase {
    /// Reading the request: the head, then a POST's body up to byte `end` once it is known.
    Request {
        end: Option<usize>,
        continue_sent: bool,
    },
    /// Waiting for thread 0 to apply admin actions.
    Admin(PendingAdmin),
    Write {
        out: Vec<u8>,
        sent: usize,
    },
    /// Answer sent and write side shut: reading and dropping until the client closes.
    Linger,
    /// An HTTP/2 connection (`proto: h2`, or ALPN `h2`): its streams are the requests.
    H2(Box<H2Page>),
}

struct Conn {
    /// The client, in plaintext or TLS (a `bind` with `ssl`): the same TLS as the proxy's binds.
    stream: MaybeTls,
    buf: Vec<u8>,
    phase: Phase,
    deadline: Instant,
}

/// What to do with a connection after it was served.
enum Next {
    Keep,
    Close,
}

pub(super) struct Front {
    poll: Poll,
    listener: TcpListener,
    waker: Arc<Waker>,
    ctx: Ctx,
    stop: Arc<AtomicBool>,
    conns: Slab<Conn>,
    scratch: Vec<u8>,
    /// Set after accept() failed: when to try again.
    accept_after: Option<Instant>,
    /// The TLS context when the page's bind has `ssl`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Front {
    pub fn new(listener: std::net::TcpListener, ctx: Ctx, stop: Arc<AtomicBool>) -> Result<Front, StatsError> {
        listener.set_nonblocking(true).map_err(StatsError::Listener)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new().map_err(StatsError::Poll)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE).map_err(StatsError::Poll)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(StatsError::Poll)?);
        let conns = Slab::with_capacity(ctx.config.maxconn as usize);
        Ok(Front { poll, listener, waker, ctx, stop, conns, scratch: vec![0; READ_CHUNK], accept_after: None, tls: None })
    }

    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    fn accept(&mut self, now: Instant) {
        if self.accept_after.is_some_and(|t| now < t) {
            return;
        }
        self.accept_after = None;
        let maxconn = self.ctx.config.maxconn as usize;
        let mut lingering: Vec<usize> = self.conns.iter().filter(|(_, c)| matches!(c.phase, Phase::Linger)).map(|(k, _)| k).collect();
        // The surplus is closed without lingering.
        while lingering.len() > maxconn {
            if let Some(key) = lingering.pop() {
                self.close(key);
            }
        }
        while self.conns.len() - lingering.len() < maxconn {
            let mut stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("stats: accept: {e}");
                    self.accept_after = Some(now + ACCEPT_RETRY);
                    return;
                }
            };
            let entry = self.conns.vacant_entry();
            let token = Token(FIRST_CONN + entry.key());
            if let Err(e) = self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE) {
                log::warn!("stats: cannot watch a connection: {e}");
                continue;
            }
            let stream = match &self.tls {
                None => MaybeTls::Plain(stream),
                Some(config) => match crate::tls::TlsConn::new(config.clone()) {
                    Ok(t) => MaybeTls::Tls(stream, Box::new(t)),
                    Err(e) => {
                        log::warn!("stats: cannot start TLS: {e}");
                        continue;
                    }
                },
            };
            let phase = match self.ctx.config.bind_proto {
                BindProto::H2 => Phase::H2(Box::default()),
                BindProto::H1 | BindProto::Auto => Phase::Request { end: None, continue_sent: false },
            };
            let key = entry.key();
            entry.insert(Conn { stream, buf: Vec::new(), phase, deadline: now + self.ctx.config.timeout_http_request });
            // Bytes may be there already; with edge-triggered events, look now.
            self.serve(key, now);
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(mut conn) = self.conns.try_remove(key) {
            let _ = self.poll.registry().deregister(conn.stream.socket());
        }
    }

    /// Moves connection `key` as far as its socket allows.
    fn serve(&mut self, key: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        let next = step(conn, &self.ctx, &mut self.scratch, now);
        if let Next::Close = next {
            self.close(key);
        }
    }

    /// Deadlines that passed; the outcomes of admin actions.
    fn expire(&mut self, now: Instant) {
        let mut closing = Vec::new();
        for (key, conn) in self.conns.iter_mut() {
            let next = match &mut conn.phase {
                Phase::Admin(pending) => match pending.poll(now) {
                    Some(response) => answer(conn, response.encode(&self.ctx.server_header, false), &self.ctx, now),
                    None => Next::Keep,
                },
                Phase::H2(page) if now >= conn.deadline => {
                    // Idle for `timeout http-request`, or a stream stuck for `timeout client`:
                    // a GOAWAY, then the close.
                    page.close_now();
                    let out = page.output().to_vec();
                    answer(conn, out, &self.ctx, now)
                }
                Phase::H2(page) if page.awaits_admin() => serve_h2(conn, &self.ctx, &mut self.scratch, now),
                _ if now < conn.deadline => Next::Keep,
                // A TLS client that chose h2 and sent nothing: our preface and a GOAWAY, not
                // an HTTP/1.1 answer (HAProxy's mux_h2 on its idle timeout).
                Phase::Request { .. } if conn.buf.is_empty() && self.ctx.config.bind_proto == BindProto::Auto && alpn_h2(&conn.stream) => {
                    let mut page = H2Page::new();
                    page.close_now();
                    let out = page.output().to_vec();
                    answer(conn, out, &self.ctx, now)
                }
                // HAProxy's 408 when the request did not arrive in time.
                Phase::Request { .. } => answer(conn, refusal(408, &self.ctx.server_header), &self.ctx, now),
                Phase::Write { .. } | Phase::Linger => Next::Close,
                Phase::H2(_) => Next::Keep,
            };
            if let Next::Close = next {
                closing.push(key);
            }
        }
        for key in closing {
            self.close(key);
        }
    }

    /// How long poll may sleep: until the next deadline.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        let mut next = self.accept_after;
        for (_, conn) in self.conns.iter() {
            let at = match &conn.phase {
                Phase::Admin(p) => p.deadline().min(now + ADMIN_POLL),
                Phase::H2(page) if page.awaits_admin() => conn.deadline.min(now + ADMIN_POLL),
                _ => conn.deadline,
            };
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        next.map(|t| t.saturating_duration_since(now))
    }
}

/// Runs the page until the stop flag is set.
pub(super) fn run(mut front: Front) {
    let mut events = Events::with_capacity(256);
    while !front.stop.load(Ordering::Acquire) {
        let timeout = front.timeout(Instant::now());
        if let Err(e) = front.poll.poll(&mut events, timeout) {
            if e.kind() != ErrorKind::Interrupted {
                log::error!("stats: poll: {e}");
                std::thread::sleep(ACCEPT_RETRY);
            }
            continue;
        }
        let now = Instant::now();
        for event in events.iter() {
            if let Some(key) = event.token().0.checked_sub(FIRST_CONN) {
                front.serve(key, now);
            }
        }
        front.expire(now);
        front.accept(now);
    }
}

/// One connection's progress on a readiness event.
fn step(conn: &mut Conn, ctx: &Ctx, scratch: &mut [u8], now: Instant) -> Next {
    match conn.phase {
        Phase::Request { .. } => read_request(conn, ctx, scratch, now),
        Phase::Admin(_) => Next::Keep,
        Phase::Write { .. } => write(conn, ctx, now),
        Phase::Linger => drain(conn, scratch),
        Phase::H2(_) => serve_h2(conn, ctx, scratch, now),
    }
}

fn read_request(conn: &mut Conn, ctx: &Ctx, scratch: &mut [u8], now: Instant) -> Next {
    loop {
        let Phase::Request { end, continue_sent } = &mut conn.phase else { return Next::Keep };
        let limit = end.unwrap_or(MAX_HEAD);
        let room = limit.saturating_sub(conn.buf.len()).min(scratch.len());
        if room > 0 {
            match conn.stream.read(&mut scratch[..room]) {
                // Closed before a whole request: nothing to answer (HAProxy's silent `CR`).
                Ok(0) => return Next::Close,
                Ok(n) if conn.buf.is_empty() && ctx.config.bind_proto == BindProto::Auto && alpn_h2(&conn.stream) => {
                    // The TLS handshake chose HTTP/2: these are its first bytes.
                    let mut page = Box::<H2Page>::default();
                    if page.recv(&scratch[..n], now).is_ok() {
                        conn.deadline = now + ctx.config.timeout_http_request;
                    }
                    conn.phase = Phase::H2(page);
                    return serve_h2(conn, ctx, scratch, now);
                }
                Ok(n) => conn.buf.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Next::Close,
            }
        }
        match request::read(&conn.buf) {
            Progress::Head => {}
            Progress::Body { end: at, expect_continue, request } => {
                if end.is_none() {
                    // No body is read for a request refused anyway (no credentials, say).
                    if let Err(refused) = precheck(&request, ctx) {
                        conn.buf = Vec::new();
                        return answer(conn, refused.encode(&ctx.server_header, false), ctx, now);
                    }
                    // The head took its time; the body gets `timeout client`.
                    conn.deadline = now + ctx.config.timeout_client;
                    *end = Some(at);
                }
                if expect_continue && !*continue_sent {
                    *continue_sent = true;
                    // Best effort: a client that gets no 100 sends its body anyway.
                    let _ = conn.stream.write(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
            }
            Progress::Complete(req) => {
                conn.buf = Vec::new();
                return match handle(&req, ctx) {
                    Answer::Now(response) => answer(conn, response.encode(&ctx.server_header, req.method == Method::Head), ctx, now),
                    Answer::Admin(pending) => {
                        conn.phase = Phase::Admin(pending);
                        Next::Keep
                    }
                };
            }
            Progress::Refused(status) => {
                conn.buf = Vec::new();
                return answer(conn, refusal(status, &ctx.server_header), ctx, now);
            }
        }
    }
}

fn answer(conn: &mut Conn, out: Vec<u8>, ctx: &Ctx, now: Instant) -> Next {
    conn.phase = Phase::Write { out, sent: 0 };
    conn.deadline = now + ctx.config.timeout_client;
    write(conn, ctx, now)
}

/// Sends the answer; `timeout client` runs from the last progress.
fn write(conn: &mut Conn, ctx: &Ctx, now: Instant) -> Next {
    let Phase::Write { out, sent } = &mut conn.phase else { return Next::Keep };
    while *sent < out.len() {
        match conn.stream.write(&out[*sent..]) {
            Ok(0) => return Next::Close,
            Ok(n) => {
                *sent += n;
                conn.deadline = now + ctx.config.timeout_client;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Keep,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Next::Close,
        }
    }
    if conn.stream.shutdown_write().is_err() {
        return Next::Close;
    }
    conn.phase = Phase::Linger;
    conn.deadline = now + LINGER;
    let mut scratch = [0u8; 2048];
    drain(conn, &mut scratch)
}

/// Most bytes dropped per event, so that a client that keeps sending cannot keep the thread.
const DRAIN_PER_EVENT: usize = 64 * 1024;

fn drain(conn: &mut Conn, scratch: &mut [u8]) -> Next {
    conn.stream.flush_held();
    let mut dropped = 0;
    while dropped < DRAIN_PER_EVENT {
        match conn.stream.read(scratch) {
            Ok(0) => return Next::Close,
            Ok(n) => dropped += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Keep,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Next::Close,
        }
    }
    Next::Keep
}

/// Whether the TLS handshake of `stream` chose `h2` by ALPN.
fn alpn_h2(stream: &MaybeTls) -> bool {
    match stream {
        MaybeTls::Tls(_, tls) => tls.common().alpn_protocol() == Some(b"h2"),
        MaybeTls::Plain(_) => false,
    }
}

/// Moves an HTTP/2 connection as far as its socket allows: reads into the connection machine,
/// answers the streams, writes. `timeout client` runs while a stream is open and nothing moves;
/// `timeout http-request` while none is (then a GOAWAY and the close, see `expire`).
fn serve_h2(conn: &mut Conn, ctx: &Ctx, scratch: &mut [u8], now: Instant) -> Next {
    let Phase::H2(page) = &mut conn.phase else { return Next::Keep };
    let mut eof = false;
    loop {
        let mut moved = false;
        while !page.is_done() {
            match conn.stream.read(scratch) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    moved = true;
                    // An error queued its GOAWAY: it goes out below, then the connection ends.
                    let _ = page.recv(&scratch[..n], now);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        moved |= page.turn(ctx, now);
        while !page.output().is_empty() {
            match conn.stream.write(page.output()) {
                Ok(0) => return Next::Close,
                Ok(n) => {
                    page.consume_output(n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        conn.stream.flush_held();
        if moved {
            let limit = if page.is_idle() { ctx.config.timeout_http_request } else { ctx.config.timeout_client };
            conn.deadline = now + limit;
        }
        if eof {
            // The client closed: HAProxy's mux_h2 aborts what it had not answered.
            return Next::Close;
        }
        if page.is_done() {
            let out = page.output().to_vec();
            return answer(conn, out, ctx, now);
        }
        if !moved {
            return Next::Keep;
        }
    }
}
