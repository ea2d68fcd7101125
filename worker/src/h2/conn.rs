//! The server side of one HTTP/2 connection, without I/O (RFC 9113). The driver feeds it the
//! bytes read from the client with [`Connection::recv`], writes what [`Connection::output`]
//! holds and reports it with [`Connection::consume_output`], and takes [`Event`]s per stream
//! with [`Connection::poll_event`]. Responses go back with `send_headers`, `send_data`,
//! `send_trailers`; consumed request bodies are reported with `release` so that the client's
//! windows open again.
//!
//! A stream error ends one stream with RST_STREAM and, if the stream was known to the upper
//! layer, an [`Event::Reset`]; a connection error or a flood queues GOAWAY and makes `recv`
//! return the error: the driver flushes the output and closes.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::error::{ErrorCode, Flood, H2Error};
use super::flow::{RecvWindow, SendWindow};
use super::frame::{self, Frame, FrameHeader, Kind, HEADER_LEN, PREFACE};
use super::head::{self, RequestHead};
use super::hpack::{self, DecodeError, Field};
use super::limits::{FloodCounts, Guards, Limits};
use super::settings::{LocalSettings, PeerSettings, DEFAULT_WINDOW, MAX_WINDOW};
use super::stream::{State, Stream};

/// DATA is queued only while less than this is waiting to be written, so that control frames
/// answered to the client stay within `Limits::max_control_backlog`.
const OUT_HIGH_WATER: usize = 32 * 1024;
/// The output's first allocation after it was written out and given back.
const OUT_START: usize = 1024;
/// How many closed stream ids are remembered to tell STREAM_CLOSED from PROTOCOL_ERROR.
const RECENTLY_CLOSED: usize = 128;
/// The opaque data of the PING that follows the first GOAWAY of a graceful shutdown.
const GOAWAY_PING: [u8; 8] = *b"hkgoaway";

/// What a connection needs to know from the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct Config {
    pub local: LocalSettings,
    pub limits: Limits,
}

/// What happened on a stream, for the upper layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A valid request head opened a stream; `end_stream`: no body follows.
    Request { stream: u32, head: RequestHead, end_stream: bool },
    /// Body bytes; give them back with `release` once consumed.
    Data { stream: u32, data: Vec<u8>, end_stream: bool },
    /// Trailers, which end the request.
    Trailers { stream: u32, fields: Vec<Field> },
    /// The stream ended abnormally: reset by the client, or by us after a stream error.
    Reset { stream: u32, code: ErrorCode },
    /// A window opened for a stream whose response waited.
    Writable { stream: u32 },
    /// The client will open no more streams.
    GoAway { last_stream: u32, code: ErrorCode },
}

/// Why `send_*` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("stream {0} is not open for sending")]
    NotOpen(u32),
}

/// What a field block being received will become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockFor {
    Request,
    Trailers,
    /// Decoded for the HPACK state only, then the stream is answered with this error.
    Refuse(ErrorCode),
    /// Decoded for the HPACK state only (streams above our GOAWAY).
    Ignore,
}

#[derive(Debug)]
struct Block {
    stream: u32,
    bytes: Vec<u8>,
    end_stream: bool,
    continuations: u32,
    purpose: BlockFor,
}

pub struct Connection {
    cfg: Config,
    peer: PeerSettings,
    decoder: hpack::Decoder,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    streams: HashMap<u32, Stream>,
    last_peer_stream: u32,
    recently_closed: VecDeque<u32>,
    conn_send: SendWindow,
    conn_recv: RecvWindow,
    preface_seen: bool,
    settings_seen: bool,
    block: Option<Block>,
    goaway_sent: Option<u32>,
    /// The first GOAWAY of a graceful shutdown went out, with the PING that times the second.
    goaway_announced: bool,
    /// The PING of the first GOAWAY came back.
    goaway_acked: bool,
    failed: Option<H2Error>,
    guards: Guards,
    floods: FloodCounts,
}

impl Connection {
    /// A connection whose server preface (SETTINGS, and a WINDOW_UPDATE opening the
    /// connection window) is already queued.
    pub fn new(cfg: Config) -> Connection {
        let local = cfg.local;
        // The connection window covers a few streams' windows, bounded by the RFC's maximum.
        let conn_target = u64::from(local.initial_window_size) * u64::from(local.max_concurrent_streams.clamp(1, 16));
        let conn_target = conn_target.clamp(u64::from(DEFAULT_WINDOW), u64::from(MAX_WINDOW)) as u32;
        let mut c = Connection {
            cfg,
            peer: PeerSettings::default(),
            decoder: hpack::Decoder::new(local.header_table_size, local.max_header_list_size as usize, cfg.limits.max_fields),
            inbuf: Vec::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            streams: HashMap::new(),
            last_peer_stream: 0,
            recently_closed: VecDeque::new(),
            conn_send: SendWindow::new(DEFAULT_WINDOW),
            conn_recv: RecvWindow::new(DEFAULT_WINDOW, conn_target),
            preface_seen: false,
            settings_seen: false,
            block: None,
            goaway_sent: None,
            goaway_announced: false,
            goaway_acked: false,
            failed: None,
            guards: Guards::default(),
            floods: FloodCounts::default(),
        };
        frame::encode_settings(&mut c.out, &local.pairs());
        if let Some(inc) = c.conn_recv.open_to_target() {
            frame::encode_window_update(&mut c.out, 0, inc);
        }
        c
    }

    /// Bytes from the client. `Err` is a connection error: GOAWAY is queued, nothing more is
    /// read, and the driver closes once the output is written.
    pub fn recv(&mut self, data: &[u8], now: Instant) -> Result<(), H2Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.inbuf.extend_from_slice(data);
        let r = self.process(now);
        if let Err(e) = &r {
            self.fail(e.clone());
        }
        r
    }

    fn fail(&mut self, e: H2Error) {
        match &e {
            H2Error::Flood(f) => {
                self.floods.count(*f);
                log::warn!("HTTP/2 {}: client disconnected with GOAWAY(ENHANCE_YOUR_CALM)", f.name());
            }
            other => log::debug!("HTTP/2 {other}"),
        }
        frame::encode_goaway(&mut self.out, self.last_peer_stream, e.goaway_code());
        self.inbuf = Vec::new();
        self.block = None;
        let mut ids: Vec<u32> = self.streams.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        for id in ids {
            self.events.push_back(Event::Reset { stream: id, code: e.goaway_code() });
        }
        self.failed = Some(e);
    }

    fn process(&mut self, now: Instant) -> Result<(), H2Error> {
        let mut pos = 0;
        if !self.preface_seen {
            let n = self.inbuf.len().min(PREFACE.len());
            if self.inbuf[..n] != PREFACE[..n] {
                return Err(H2Error::conn(ErrorCode::ProtocolError, "invalid connection preface"));
            }
            if n < PREFACE.len() {
                return Ok(());
            }
            self.preface_seen = true;
            pos = PREFACE.len();
        }
        while let Some(h) = FrameHeader::decode(&self.inbuf[pos..]) {
            if h.length > self.cfg.local.max_frame_size {
                return Err(H2Error::conn(ErrorCode::FrameSizeError, "frame larger than SETTINGS_MAX_FRAME_SIZE"));
            }
            let end = pos + HEADER_LEN + h.length as usize;
            if self.inbuf.len() < end {
                break;
            }
            let payload = std::mem::take(&mut self.inbuf);
            let r = self.on_frame(&h, &payload[pos + HEADER_LEN..end], now);
            self.inbuf = payload;
            r?;
            pos = end;
            if self.failed.is_some() {
                return Ok(());
            }
        }
        self.inbuf.drain(..pos);
        if self.inbuf.is_empty() {
            // Nothing partial kept: an idle connection holds no buffer.
            self.inbuf = Vec::new();
        }
        Ok(())
    }

    fn on_frame(&mut self, h: &FrameHeader, payload: &[u8], now: Instant) -> Result<(), H2Error> {
        if !self.settings_seen {
            // §3.4: the preface's SETTINGS comes first.
            if h.kind != Kind::Settings || h.has(frame::FLAG_ACK) {
                return Err(H2Error::conn(ErrorCode::ProtocolError, "first frame is not SETTINGS"));
            }
            self.settings_seen = true;
        }
        if let Some(b) = &self.block {
            // §6.10: nothing but the CONTINUATIONs of the same stream until END_HEADERS.
            if h.kind != Kind::Continuation || h.stream != b.stream {
                return Err(H2Error::conn(ErrorCode::ProtocolError, "frame inside a field block"));
            }
        }
        let f = match frame::decode(h, payload) {
            Ok(f) => f,
            Err(H2Error::Stream { stream, code, reason }) => {
                log::debug!("HTTP/2 stream {stream}: {reason}");
                self.stream_error(stream, code)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        match f {
            Frame::Data { stream, data, end_stream, flow_len } => self.on_data(stream, data, end_stream, flow_len, now),
            Frame::Headers { stream, fragment, end_stream, end_headers, priority } => {
                let self_dep = priority.is_some_and(|p| p.dependency == stream);
                self.on_headers(stream, fragment, end_stream, end_headers, self_dep)
            }
            Frame::Priority { stream, priority } => {
                self.glitch(now)?;
                if priority.dependency == stream {
                    self.stream_error(stream, ErrorCode::ProtocolError)?;
                }
                Ok(())
            }
            Frame::RstStream { stream, code } => self.on_rst(stream, code, now),
            Frame::Settings { ack, payload } => self.on_settings(ack, payload, now),
            Frame::PushPromise { .. } => Err(H2Error::conn(ErrorCode::ProtocolError, "PUSH_PROMISE from a client")),
            Frame::Ping { ack, data } => {
                if ack {
                    if data == GOAWAY_PING && self.goaway_announced {
                        // The client has seen the first GOAWAY: what it sent before is in,
                        // except requests it had queued behind this answer; the driver sends
                        // the final GOAWAY a moment later (see `goaway_acked`).
                        self.goaway_acked = true;
                        return Ok(());
                    }
                    return self.glitch(now);
                }
                if self.guards.pings.hit(now, self.cfg.limits.pings_per_sec) {
                    return Err(H2Error::Flood(Flood::Ping));
                }
                frame::encode_ping_ack(&mut self.out, &data);
                self.check_backlog()
            }
            Frame::GoAway { last_stream, code, .. } => {
                self.events.push_back(Event::GoAway { last_stream, code: ErrorCode::from_u32(code) });
                Ok(())
            }
            Frame::WindowUpdate { stream, increment } => self.on_window_update(stream, increment, now),
            Frame::Continuation { stream, fragment, end_headers } => self.on_continuation(stream, fragment, end_headers, now),
            Frame::Unknown { .. } => self.glitch(now),
        }
    }

    /// Frames that carry nothing (HAProxy 2.9's glitches).
    fn glitch(&mut self, now: Instant) -> Result<(), H2Error> {
        if self.guards.glitches.hit(now, self.cfg.limits.glitches_per_sec) {
            return Err(H2Error::Flood(Flood::Glitches));
        }
        Ok(())
    }

    fn check_backlog(&self) -> Result<(), H2Error> {
        if self.out.len() > self.cfg.limits.max_control_backlog + OUT_HIGH_WATER {
            return Err(H2Error::Flood(Flood::ControlBacklog));
        }
        Ok(())
    }

    fn is_idle(&self, stream: u32) -> bool {
        stream > self.last_peer_stream
    }

    fn forget(&mut self, stream: u32) {
        if self.streams.remove(&stream).is_some() {
            if self.recently_closed.len() == RECENTLY_CLOSED {
                self.recently_closed.pop_front();
            }
            self.recently_closed.push_back(stream);
        }
    }

    /// §5.4.2: RST_STREAM, and the upper layer told if it knew the stream.
    fn stream_error(&mut self, stream: u32, code: ErrorCode) -> Result<(), H2Error> {
        frame::encode_rst_stream(&mut self.out, stream, code);
        if self.streams.contains_key(&stream) {
            self.forget(stream);
            self.events.push_back(Event::Reset { stream, code });
        }
        self.check_backlog()
    }

    fn on_data(&mut self, stream: u32, data: &[u8], end_stream: bool, flow_len: u32, now: Instant) -> Result<(), H2Error> {
        if self.is_idle(stream) {
            return Err(H2Error::conn(ErrorCode::ProtocolError, "DATA on an idle stream"));
        }
        self.conn_recv.receive(flow_len, "DATA beyond the connection window")?;
        let padding = flow_len - data.len() as u32;
        let open = self.streams.get(&stream).is_some_and(|s| s.can_recv());
        let ignored = self.goaway_sent.is_some_and(|g| stream > g);
        if !open || ignored {
            // The bytes still count against the connection (§6.9): give them back at once.
            self.release_conn(flow_len);
            if ignored {
                return Ok(());
            }
            self.glitch(now)?;
            return self.stream_error(stream, ErrorCode::StreamClosed);
        }
        if data.is_empty() && !end_stream {
            self.glitch(now)?;
        }
        let Some(s) = self.streams.get_mut(&stream) else { return Ok(()) };
        if s.recv.receive(flow_len, "DATA beyond the stream window").is_err() {
            self.release_conn(flow_len);
            return self.stream_error(stream, ErrorCode::FlowControlError);
        }
        s.received += data.len() as u64;
        let bad_length = match s.content_length {
            Some(cl) => s.received > cl || (end_stream && s.received != cl),
            None => false,
        };
        if bad_length {
            self.release_conn(flow_len);
            return self.stream_error(stream, ErrorCode::ProtocolError);
        }
        if end_stream {
            s.recv_end();
        }
        if padding > 0 {
            self.release(stream, padding);
        }
        self.events.push_back(Event::Data { stream, data: data.to_vec(), end_stream });
        self.close_if_done(stream);
        Ok(())
    }

    fn on_headers(&mut self, stream: u32, fragment: &[u8], end_stream: bool, end_headers: bool, self_dep: bool) -> Result<(), H2Error> {
        if stream.is_multiple_of(2) {
            return Err(H2Error::conn(ErrorCode::ProtocolError, "client stream with an even identifier"));
        }
        let purpose = if let Some(s) = self.streams.get(&stream) {
            if s.can_recv() {
                BlockFor::Trailers
            } else {
                BlockFor::Refuse(ErrorCode::StreamClosed)
            }
        } else if !self.is_idle(stream) {
            let code = if self.recently_closed.contains(&stream) { ErrorCode::StreamClosed } else { ErrorCode::ProtocolError };
            return Err(H2Error::conn(code, "HEADERS on a closed stream"));
        } else {
            self.last_peer_stream = stream;
            let open = self.streams.values().filter(|s| s.state != State::Closed).count();
            if self.goaway_sent.is_some() {
                BlockFor::Ignore
            } else if open >= self.cfg.local.max_concurrent_streams as usize {
                // §5.1.2: beyond SETTINGS_MAX_CONCURRENT_STREAMS.
                BlockFor::Refuse(ErrorCode::RefusedStream)
            } else {
                BlockFor::Request
            }
        };
        let purpose = if self_dep { BlockFor::Refuse(ErrorCode::ProtocolError) } else { purpose };
        if fragment.len() > self.cfg.limits.max_header_block {
            return Err(H2Error::Flood(Flood::Continuation));
        }
        self.block = Some(Block { stream, bytes: fragment.to_vec(), end_stream, continuations: 0, purpose });
        if end_headers {
            self.end_block()?;
        }
        Ok(())
    }

    fn on_continuation(&mut self, stream: u32, fragment: &[u8], end_headers: bool, now: Instant) -> Result<(), H2Error> {
        let limits = self.cfg.limits;
        let Some(b) = self.block.as_mut() else {
            return Err(H2Error::conn(ErrorCode::ProtocolError, "CONTINUATION without a field block"));
        };
        if b.stream != stream {
            return Err(H2Error::conn(ErrorCode::ProtocolError, "CONTINUATION of another stream"));
        }
        b.continuations += 1;
        if b.continuations > limits.max_continuations || b.bytes.len() + fragment.len() > limits.max_header_block {
            return Err(H2Error::Flood(Flood::Continuation));
        }
        b.bytes.extend_from_slice(fragment);
        if fragment.is_empty() && !end_headers {
            self.glitch(now)?;
        }
        if end_headers {
            self.end_block()?;
        }
        Ok(())
    }

    fn end_block(&mut self) -> Result<(), H2Error> {
        let Some(b) = self.block.take() else { return Ok(()) };
        let list = match self.decoder.decode(&b.bytes) {
            Ok(l) => l,
            Err(DecodeError::Compression) => return Err(H2Error::conn(ErrorCode::CompressionError, "invalid HPACK block")),
            Err(DecodeError::TooLarge) => return Err(H2Error::Flood(Flood::HpackBomb)),
        };
        match b.purpose {
            BlockFor::Ignore => Ok(()),
            BlockFor::Refuse(code) => self.stream_error(b.stream, code),
            BlockFor::Request => self.on_request(b.stream, list, b.end_stream),
            BlockFor::Trailers => self.on_trailers(b.stream, list, b.end_stream),
        }
    }

    fn on_request(&mut self, stream: u32, list: Vec<Field>, end_stream: bool) -> Result<(), H2Error> {
        let head = match head::request(list) {
            Ok(h) => h,
            Err(m) => {
                log::debug!("HTTP/2 stream {stream}: malformed request: {m}");
                return self.stream_error(stream, ErrorCode::ProtocolError);
            }
        };
        if end_stream && head.content_length.is_some_and(|c| c > 0) {
            log::debug!("HTTP/2 stream {stream}: content-length without DATA");
            return self.stream_error(stream, ErrorCode::ProtocolError);
        }
        let mut s = Stream::new(self.peer.initial_window_size, self.cfg.local.initial_window_size);
        s.content_length = head.content_length;
        if end_stream {
            s.recv_end();
        }
        self.streams.insert(stream, s);
        self.events.push_back(Event::Request { stream, head, end_stream });
        Ok(())
    }

    fn on_trailers(&mut self, stream: u32, list: Vec<Field>, end_stream: bool) -> Result<(), H2Error> {
        // §8.1: a second HEADERS must end the stream.
        let fields = match head::trailers(list) {
            Ok(f) if end_stream => f,
            _ => return self.stream_error(stream, ErrorCode::ProtocolError),
        };
        let Some(s) = self.streams.get_mut(&stream) else { return Ok(()) };
        if s.content_length.is_some_and(|c| c != s.received) {
            return self.stream_error(stream, ErrorCode::ProtocolError);
        }
        s.recv_end();
        self.events.push_back(Event::Trailers { stream, fields });
        self.close_if_done(stream);
        Ok(())
    }

    fn on_rst(&mut self, stream: u32, code: u32, now: Instant) -> Result<(), H2Error> {
        if self.is_idle(stream) {
            return Err(H2Error::conn(ErrorCode::ProtocolError, "RST_STREAM on an idle stream"));
        }
        if self.streams.contains_key(&stream) {
            self.forget(stream);
            self.events.push_back(Event::Reset { stream, code: ErrorCode::from_u32(code) });
            // CVE-2023-44487: a stream opened and reset before its end, many times a second.
            if self.guards.resets.hit(now, self.cfg.limits.resets_per_sec) {
                return Err(H2Error::Flood(Flood::RapidReset));
            }
        }
        Ok(())
    }

    fn on_settings(&mut self, ack: bool, payload: &[u8], now: Instant) -> Result<(), H2Error> {
        if ack {
            return Ok(());
        }
        if self.guards.settings.hit(now, self.cfg.limits.settings_per_sec) {
            return Err(H2Error::Flood(Flood::Settings));
        }
        let before = self.peer.initial_window_size;
        self.peer.apply(payload)?;
        let delta = i64::from(self.peer.initial_window_size) - i64::from(before);
        if delta != 0 {
            // §6.9.2: the change applies to every stream's send window.
            for s in self.streams.values_mut() {
                s.send.adjust(delta).map_err(|c| H2Error::conn(c, "SETTINGS_INITIAL_WINDOW_SIZE overflows a window"))?;
            }
            if delta > 0 {
                self.wake_blocked();
            }
        }
        frame::encode_settings_ack(&mut self.out);
        self.check_backlog()
    }

    fn on_window_update(&mut self, stream: u32, increment: u32, now: Instant) -> Result<(), H2Error> {
        if stream == 0 {
            if increment == 0 {
                return Err(H2Error::conn(ErrorCode::ProtocolError, "WINDOW_UPDATE of 0"));
            }
            self.conn_send.increase(increment).map_err(|c| H2Error::conn(c, "connection window above 2^31-1"))?;
            self.wake_blocked();
            return Ok(());
        }
        if self.is_idle(stream) {
            return Err(H2Error::conn(ErrorCode::ProtocolError, "WINDOW_UPDATE on an idle stream"));
        }
        let Some(s) = self.streams.get_mut(&stream) else {
            return self.glitch(now);
        };
        if increment == 0 {
            return self.stream_error(stream, ErrorCode::ProtocolError);
        }
        if s.send.increase(increment).is_err() {
            return self.stream_error(stream, ErrorCode::FlowControlError);
        }
        if s.blocked_since.take().is_some() {
            self.events.push_back(Event::Writable { stream });
        }
        Ok(())
    }

    fn wake_blocked(&mut self) {
        if self.conn_send.available() == 0 {
            return;
        }
        let mut ids: Vec<u32> =
            self.streams.iter().filter(|(_, s)| s.blocked_since.is_some() && s.send.available() > 0).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(s) = self.streams.get_mut(&id) {
                s.blocked_since = None;
            }
            self.events.push_back(Event::Writable { stream: id });
        }
    }

    fn close_if_done(&mut self, stream: u32) {
        if self.streams.get(&stream).is_some_and(|s| s.state == State::Closed) {
            self.forget(stream);
        }
    }

    fn release_conn(&mut self, n: u32) {
        if let Some(inc) = self.conn_recv.release(n) {
            frame::encode_window_update(&mut self.out, 0, inc);
        }
    }

    /// The upper layer consumed `n` bytes of a stream's body: the windows open again.
    pub fn release(&mut self, stream: u32, n: u32) {
        if n == 0 || self.failed.is_some() {
            return;
        }
        self.release_conn(n);
        if let Some(s) = self.streams.get_mut(&stream) {
            if s.can_recv() {
                if let Some(inc) = s.recv.release(n) {
                    frame::encode_window_update(&mut self.out, stream, inc);
                }
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// What is waiting to be written to the client.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of the output were written.
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
        if self.out.is_empty() {
            // All written: an idle connection holds no buffer.
            self.out = Vec::new();
        }
    }

    fn sendable(&self, stream: u32) -> Result<&Stream, SendError> {
        self.streams.get(&stream).filter(|s| s.can_send() && self.failed.is_none()).ok_or(SendError::NotOpen(stream))
    }

    /// A response head (`:status` first, names lowercase, no connection-specific field).
    pub fn send_headers(&mut self, stream: u32, fields: &[(&[u8], &[u8])], end_stream: bool) -> Result<(), SendError> {
        self.sendable(stream)?;
        if self.out.capacity() == 0 {
            // The output was given back when last written: room for a batch of responses at
            // once rather than growing from nothing.
            self.out.reserve(OUT_START);
        }
        let block = hpack::encode(fields.iter().copied());
        frame::encode_headers(&mut self.out, stream, &block, end_stream, self.peer.max_frame_size as usize);
        if end_stream {
            self.end_local(stream);
        }
        Ok(())
    }

    /// Trailers, which end the response.
    pub fn send_trailers(&mut self, stream: u32, fields: &[(&[u8], &[u8])]) -> Result<(), SendError> {
        self.send_headers(stream, fields, true)
    }

    /// Body bytes: as many as the windows and the output allow; returns how many were taken.
    /// `end_stream` applies only if all of `data` was taken. When fewer are taken because of
    /// a window, an [`Event::Writable`] follows once the client opens it.
    pub fn send_data(&mut self, stream: u32, data: &[u8], end_stream: bool, now: Instant) -> Result<usize, SendError> {
        let s = self.sendable(stream)?;
        let room = OUT_HIGH_WATER.saturating_sub(self.out.len());
        let window = self.conn_send.available().min(s.send.available());
        let n = data.len().min(window).min(room);
        let max_frame = self.peer.max_frame_size as usize;
        for chunk in data[..n].chunks(max_frame) {
            frame::encode_data(&mut self.out, stream, chunk, false);
        }
        self.conn_send.consume(n);
        let all = n == data.len();
        if let Some(s) = self.streams.get_mut(&stream) {
            s.send.consume(n);
            if !all && window <= n && s.blocked_since.is_none() {
                s.blocked_since = Some(now);
            }
        }
        if all && end_stream {
            frame::encode_data(&mut self.out, stream, &[], true);
            self.end_local(stream);
        }
        Ok(n)
    }

    fn end_local(&mut self, stream: u32) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.send_end();
        }
        self.close_if_done(stream);
    }

    /// Ends a stream from our side (the server failed, the transaction was aborted).
    pub fn reset(&mut self, stream: u32, code: ErrorCode) {
        if self.streams.contains_key(&stream) && self.failed.is_none() {
            frame::encode_rst_stream(&mut self.out, stream, code);
            self.forget(stream);
        }
    }

    /// Graceful shutdown (reload, stop), in two steps as RFC 9113 §6.8 advises: a first
    /// GOAWAY(NO_ERROR) with the largest stream id and a PING; at the next call, which the
    /// driver makes shortly after the PING came back (`goaway_acked`) or when it will not wait
    /// longer, the final GOAWAY names the last stream accepted. Requests the client sent before it saw the first one are thus served,
    /// not dropped; those that follow the final one are ignored and the client retries them
    /// on a new connection.
    pub fn goaway(&mut self) {
        if self.goaway_sent.is_some() || self.failed.is_some() {
            return;
        }
        if !self.goaway_announced {
            self.goaway_announced = true;
            frame::encode_goaway(&mut self.out, MAX_WINDOW, ErrorCode::NoError);
            frame::encode_ping(&mut self.out, &GOAWAY_PING);
            return;
        }
        self.goaway_sent = Some(self.last_peer_stream);
        frame::encode_goaway(&mut self.out, self.last_peer_stream, ErrorCode::NoError);
    }

    /// The client answered the PING of the first GOAWAY: it has seen it.
    pub fn goaway_acked(&self) -> bool {
        self.goaway_acked
    }

    /// Nothing left to do once the output is written: failed, or gone away with no stream.
    pub fn is_done(&self) -> bool {
        self.failed.is_some() || (self.goaway_sent.is_some() && self.streams.is_empty())
    }

    /// The earliest time a response started waiting for a window (for `timeout client`).
    pub fn send_blocked_since(&self) -> Option<Instant> {
        self.streams.values().filter_map(|s| s.blocked_since).min()
    }

    /// Ends the connection (GOAWAY(ENHANCE_YOUR_CALM), counted and logged) when a response has
    /// waited for a window for `limit` or more: the driver calls it with `timeout client`.
    pub fn check_stall(&mut self, now: Instant, limit: std::time::Duration) -> Result<(), H2Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.send_blocked_since() {
            Some(since) if now.saturating_duration_since(since) >= limit => {
                let e = H2Error::Flood(Flood::ZeroWindow);
                self.fail(e.clone());
                Err(e)
            }
            _ => Ok(()),
        }
    }

    pub fn active_streams(&self) -> usize {
        self.streams.len()
    }

    pub fn floods(&self) -> FloodCounts {
        self.floods
    }
}
