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
//! Every answer closes the connection. After it the write side is shut and what the client
//! still sends is read and dropped for [`LINGER`], so that it reads the answer rather than a
//! reset. A lingering connection no longer counts against `maxconn` (HAProxy frees the slot
//! when it answers), but at most `maxconn` linger at once: beyond, they are closed at once.

use super::request::{self, Method, Progress, MAX_HEAD};
use super::response::refusal;
use super::server::{handle, precheck, Answer, Ctx, PendingAdmin, StatsError};
use crate::tls::stream::MaybeTls;
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
            let phase = Phase::Request { end: None, continue_sent: false };
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
                _ if now < conn.deadline => Next::Keep,
                // HAProxy's 408 when the request did not arrive in time.
                Phase::Request { .. } => answer(conn, refusal(408, &self.ctx.server_header), &self.ctx, now),
                Phase::Write { .. } | Phase::Linger => Next::Close,
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
