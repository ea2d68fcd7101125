//! The stats page over HTTP/2 (a `stats.bind` with `proto: h2`, or `h2` chosen by ALPN), as an
//! HAProxy `listen` with `stats enable` serves it through `mux_h2`: each stream is one request
//! to the page, answered by the same [`handle`] as over HTTP/1.1 (the page, its CSV/JSON/
//! metrics, and the admin form's POST with its `;st=` redirect).
//!
//! No I/O here: the front feeds the bytes it read with [`H2Page::recv`], runs [`H2Page::turn`]
//! and writes [`H2Page::output`]. The protocol and its flood guards are `crate::h2::conn`'s.
//!
//! Limits, as the HTTP/1.1 side's: a request head is bounded by the layer (`max_header_list_size`,
//! 16 KiB); a POST's body by [`MAX_BODY`] (413 beyond, `Content-Length` or not: the stream's end
//! frames it); at most [`MAX_STREAMS`] streams at once, each holding its rendered answer until
//! the client's windows take it.

use super::form::MAX_BODY;
use super::request::{Method, Request};
use super::response::Response;
use super::server::{handle, precheck, Answer, Ctx, PendingAdmin};
use crate::h2::conn::{Config, Connection, Event};
use crate::h2::error::{ErrorCode, H2Error};
use crate::h2::head::RequestHead;
use crate::h2::limits::Limits;
use crate::h2::settings::LocalSettings;
use std::collections::BTreeMap;
use std::time::Instant;

/// Streams served at once on one connection: each holds a whole rendered page until it is
/// sent, so fewer than the proxy's 100.
pub const MAX_STREAMS: u32 = 8;

enum Phase {
    /// A POST's body arriving.
    Body(Request),
    /// Waiting for thread 0 to apply admin actions.
    Admin(PendingAdmin),
    /// The answer's body going out as the windows allow.
    Sending { body: Vec<u8>, sent: usize },
}

struct PageStream {
    phase: Phase,
    /// The client ended its side (END_STREAM or trailers).
    req_end: bool,
    head_only: bool,
}

/// One HTTP/2 connection to the stats page.
pub struct H2Page {
    conn: Connection,
    streams: BTreeMap<u32, PageStream>,
    failed: bool,
}

impl Default for H2Page {
    fn default() -> Self {
        H2Page::new()
    }
}

impl H2Page {
    /// A connection whose server preface is queued.
    pub fn new() -> H2Page {
        let local = LocalSettings { max_concurrent_streams: MAX_STREAMS, ..LocalSettings::default() };
        H2Page {
            conn: Connection::new(Config { local, limits: Limits::for_streams(MAX_STREAMS) }),
            streams: BTreeMap::new(),
            failed: false,
        }
    }

    /// Bytes from the client. `Err`: a connection error, its GOAWAY queued; write the output
    /// and close.
    pub fn recv(&mut self, data: &[u8], now: Instant) -> Result<(), H2Error> {
        let r = self.conn.recv(data, now);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Takes the layer's events, collects the outcomes of admin actions, and queues what the
    /// windows allow of the answers. Returns whether anything moved.
    pub fn turn(&mut self, ctx: &Ctx, now: Instant) -> bool {
        let mut moved = false;
        while let Some(ev) = self.conn.poll_event() {
            moved = true;
            match ev {
                Event::Request { stream, head, end_stream } => self.open(ctx, stream, &head, end_stream),
                Event::Data { stream, data, end_stream } => self.data(ctx, stream, &data, end_stream),
                Event::Trailers { stream, .. } => self.data(ctx, stream, &[], true),
                Event::Reset { stream, .. } => {
                    self.streams.remove(&stream);
                }
                Event::Writable { .. } | Event::GoAway { .. } => {}
            }
        }
        let admin: Vec<(u32, Response)> = self
            .streams
            .iter_mut()
            .filter_map(|(&sid, s)| match &mut s.phase {
                Phase::Admin(pending) => pending.poll(now).map(|r| (sid, r)),
                _ => None,
            })
            .collect();
        for (sid, response) in admin {
            moved = true;
            self.respond(ctx, sid, &response);
        }
        let sending: Vec<u32> = self.streams.iter().filter(|(_, s)| matches!(s.phase, Phase::Sending { .. })).map(|(&k, _)| k).collect();
        for sid in sending {
            moved |= self.pump(sid, now);
        }
        moved
    }

    /// A new stream: answered at once unless a POST's body is to come.
    fn open(&mut self, ctx: &Ctx, sid: u32, head: &RequestHead, end_stream: bool) {
        let method = match head.method.as_slice() {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            _ => Method::Other,
        };
        let authorization = head.fields.iter().find(|(n, _)| n == b"authorization").map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        let target = head.path.as_deref().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
        let request = Request { method, target, authorization, body: Vec::new() };
        let head_only = method == Method::Head;
        if method == Method::Post && !end_stream {
            // No body is read for a request refused anyway (no credentials, say).
            let refused = match precheck(&request, ctx) {
                Err(r) => Some(r),
                Ok(_) if head.content_length.is_some_and(|n| n > MAX_BODY as u64) => Some(Response::text(413, "413 Payload Too Large")),
                Ok(_) => None,
            };
            self.streams.insert(sid, PageStream { phase: Phase::Body(request), req_end: false, head_only });
            if let Some(r) = refused {
                self.respond(ctx, sid, &r);
            }
            return;
        }
        self.streams.insert(sid, PageStream { phase: Phase::Body(request), req_end: true, head_only });
        self.complete(ctx, sid);
    }

    /// Body bytes of stream `sid`: kept for a POST being read, dropped (their window given
    /// back) for a stream already answered.
    fn data(&mut self, ctx: &Ctx, sid: u32, data: &[u8], end_stream: bool) {
        self.conn.release(sid, u32::try_from(data.len()).unwrap_or(u32::MAX));
        let Some(s) = self.streams.get_mut(&sid) else { return };
        s.req_end |= end_stream;
        let Phase::Body(request) = &mut s.phase else { return };
        if request.body.len() + data.len() > MAX_BODY {
            self.respond(ctx, sid, &Response::text(413, "413 Payload Too Large"));
            return;
        }
        request.body.extend_from_slice(data);
        if end_stream {
            self.complete(ctx, sid);
        }
    }

    /// The whole request of `sid` is in: the page answers it.
    fn complete(&mut self, ctx: &Ctx, sid: u32) {
        let Some(s) = self.streams.get_mut(&sid) else { return };
        let Phase::Body(request) = &s.phase else { return };
        match handle(request, ctx) {
            Answer::Now(response) => self.respond(ctx, sid, &response),
            Answer::Admin(pending) => s.phase = Phase::Admin(pending),
        }
    }

    /// Queues `response`'s head on `sid`, and its body for [`H2Page::pump`].
    fn respond(&mut self, ctx: &Ctx, sid: u32, response: &Response) {
        let Some(s) = self.streams.get_mut(&sid) else { return };
        let fields = fields(response, &ctx.server_header);
        let borrowed: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect();
        let empty = s.head_only || response.body.is_empty();
        if self.conn.send_headers(sid, &borrowed, empty).is_err() {
            self.streams.remove(&sid);
            return;
        }
        if empty {
            self.finish(sid);
        } else {
            s.phase = Phase::Sending { body: response.body.clone().into_bytes(), sent: 0 };
        }
    }

    /// Queues what the windows allow of stream `sid`'s body; returns whether any went.
    fn pump(&mut self, sid: u32, now: Instant) -> bool {
        let Some(PageStream { phase: Phase::Sending { body, sent }, .. }) = self.streams.get_mut(&sid) else { return false };
        match self.conn.send_data(sid, &body[*sent..], true, now) {
            Ok(n) => {
                *sent += n;
                if *sent == body.len() {
                    self.finish(sid);
                }
                n > 0
            }
            Err(_) => {
                self.streams.remove(&sid);
                false
            }
        }
    }

    /// The answer of `sid` is queued whole: the stream ends; the rest of a request still
    /// coming is not wanted (RFC 9113 §8.1).
    fn finish(&mut self, sid: u32) {
        if let Some(s) = self.streams.remove(&sid) {
            if !s.req_end {
                self.conn.reset(sid, ErrorCode::NoError);
            }
        }
    }

    /// Whether an admin action's outcome is awaited (the front polls for it).
    pub fn awaits_admin(&self) -> bool {
        self.streams.values().any(|s| matches!(s.phase, Phase::Admin(_)))
    }

    /// No stream is open.
    pub fn is_idle(&self) -> bool {
        self.streams.is_empty() && self.conn.active_streams() == 0
    }

    /// Nothing more to do once the output is out: failed, or gone away with no stream left.
    pub fn is_done(&self) -> bool {
        self.failed || self.conn.is_done()
    }

    /// Ends the connection at once: a GOAWAY naming the last stream taken (idle timeout, as
    /// HAProxy's `mux_h2` on its idle frontend connection).
    pub fn close_now(&mut self) {
        self.conn.goaway();
        self.conn.goaway();
    }

    pub fn output(&self) -> &[u8] {
        self.conn.output()
    }

    pub fn consume_output(&mut self, n: usize) {
        self.conn.consume_output(n);
    }
}

/// A stats response's head as HTTP/2 fields: `:status` first, names lowercase, no `Connection`
/// (RFC 9113 §8.2.2); a value that would split a head is left out, as over HTTP/1.1.
fn fields(response: &Response, server: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = vec![(b":status".to_vec(), response.status.to_string().into_bytes())];
    let fixed = [("server", server), ("content-type", response.content_type), ("cache-control", "no-cache")];
    let extra = response.headers.iter().map(|(n, v)| (*n, v.as_str()));
    for (name, value) in fixed.into_iter().chain(extra) {
        if !value.contains(['\r', '\n', '\0']) {
            out.push((name.to_ascii_lowercase().into_bytes(), value.as_bytes().to_vec()));
        }
    }
    out.push((b"content-length".to_vec(), response.body.len().to_string().into_bytes()));
    out
}

#[cfg(test)]
#[path = "front_h2_tests.rs"]
mod tests;
