//! HTTP/2 frame codec (RFC 9113 §4 and §6): the 9-byte frame header, the payload of each frame
//! type decoded into a typed [`Frame`], and the encoders for the frames a server sends.
//!
//! ```text
//!  +-----------------------------------------------+
//!  |                 Length (24)                   |
//!  +---------------+---------------+---------------+
//!  |   Type (8)    |   Flags (8)   |
//!  +-+-------------+---------------+-------------------------------+
//!  |R|                 Stream Identifier (31)                      |
//!  +=+=============================================================+
//!  |                   Frame Payload (0...)                      ...
//!  +---------------------------------------------------------------+
//! ```
//!
//! Decoding checks what the RFC ties to the frame itself (fixed lengths, padding, stream 0 or
//! not); what depends on the connection's state (stream states, windows) is `conn.rs`'s.

use super::error::{ErrorCode, H2Error};

/// Length of the frame header.
pub const HEADER_LEN: usize = 9;
/// RFC 9113 §3.4: the client connection preface.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const FLAG_END_STREAM: u8 = 0x1;
pub const FLAG_ACK: u8 = 0x1;
pub const FLAG_END_HEADERS: u8 = 0x4;
pub const FLAG_PADDED: u8 = 0x8;
pub const FLAG_PRIORITY: u8 = 0x20;

/// Frame types of RFC 9113 §6; any other value is an extension frame, ignored (§4.1, §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    Unknown(u8),
}

impl Kind {
    pub fn from_u8(v: u8) -> Kind {
        match v {
            0 => Kind::Data,
            1 => Kind::Headers,
            2 => Kind::Priority,
            3 => Kind::RstStream,
            4 => Kind::Settings,
            5 => Kind::PushPromise,
            6 => Kind::Ping,
            7 => Kind::GoAway,
            8 => Kind::WindowUpdate,
            9 => Kind::Continuation,
            other => Kind::Unknown(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Kind::Data => 0,
            Kind::Headers => 1,
            Kind::Priority => 2,
            Kind::RstStream => 3,
            Kind::Settings => 4,
            Kind::PushPromise => 5,
            Kind::Ping => 6,
            Kind::GoAway => 7,
            Kind::WindowUpdate => 8,
            Kind::Continuation => 9,
            Kind::Unknown(v) => v,
        }
    }
}

/// The 9-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub length: u32,
    pub kind: Kind,
    pub flags: u8,
    /// The reserved bit is ignored on receipt (§4.1).
    pub stream: u32,
}

impl FrameHeader {
    /// Decodes the header from the first 9 bytes of `buf`; `None` if fewer are there.
    pub fn decode(buf: &[u8]) -> Option<FrameHeader> {
        let b: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
        Some(FrameHeader {
            length: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: Kind::from_u8(b[3]),
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let l = self.length.to_be_bytes();
        out.extend_from_slice(&l[1..]);
        out.push(self.kind.to_u8());
        out.push(self.flags);
        out.extend_from_slice(&(self.stream & 0x7fff_ffff).to_be_bytes());
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Stream dependency of a HEADERS or PRIORITY frame (§5.3.2 is deprecated by RFC 9113, but the
/// fields are still parsed and a stream depending on itself is still an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub exclusive: bool,
    pub dependency: u32,
    pub weight: u8,
}

/// A decoded frame; payload slices borrow from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Data { stream: u32, data: &'a [u8], end_stream: bool, flow_len: u32 },
    Headers { stream: u32, fragment: &'a [u8], end_stream: bool, end_headers: bool, priority: Option<Priority> },
    Priority { stream: u32, priority: Priority },
    RstStream { stream: u32, code: u32 },
    Settings { ack: bool, payload: &'a [u8] },
    PushPromise { stream: u32 },
    Ping { ack: bool, data: [u8; 8] },
    GoAway { last_stream: u32, code: u32, debug: &'a [u8] },
    WindowUpdate { stream: u32, increment: u32 },
    Continuation { stream: u32, fragment: &'a [u8], end_headers: bool },
    Unknown { stream: u32 },
}

fn conn_err(code: ErrorCode, reason: &'static str) -> H2Error {
    H2Error::Connection { code, reason }
}

/// Removes the padding of a PADDED frame (§6.1, §6.2): padding as long as or longer than the
/// rest of the payload is a connection error of type PROTOCOL_ERROR.
fn unpad<'a>(h: &FrameHeader, payload: &'a [u8]) -> Result<&'a [u8], H2Error> {
    if !h.has(FLAG_PADDED) {
        return Ok(payload);
    }
    let (&pad, rest) = payload.split_first().ok_or(conn_err(ErrorCode::FrameSizeError, "padded frame without pad length"))?;
    let pad = usize::from(pad);
    if pad >= payload.len() || pad > rest.len() {
        return Err(conn_err(ErrorCode::ProtocolError, "padding longer than the payload"));
    }
    Ok(&rest[..rest.len() - pad])
}

fn priority_fields(b: &[u8]) -> Priority {
    let dep = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Priority { exclusive: dep & 0x8000_0000 != 0, dependency: dep & 0x7fff_ffff, weight: b[4] }
}

/// Decodes the payload of a frame whose header is `h`. Errors that concern only one stream
/// are `H2Error::Stream`; the rest are connection errors.
pub fn decode<'a>(h: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    let s = h.stream;
    let need_stream = |what: &'static str| if s == 0 { Err(conn_err(ErrorCode::ProtocolError, what)) } else { Ok(()) };
    let need_zero = |what: &'static str| if s != 0 { Err(conn_err(ErrorCode::ProtocolError, what)) } else { Ok(()) };
    Ok(match h.kind {
        Kind::Data => {
            need_stream("DATA on stream 0")?;
            Frame::Data { stream: s, data: unpad(h, payload)?, end_stream: h.has(FLAG_END_STREAM), flow_len: h.length }
        }
        Kind::Headers => {
            need_stream("HEADERS on stream 0")?;
            let mut rest = unpad(h, payload)?;
            let mut priority = None;
            if h.has(FLAG_PRIORITY) {
                if rest.len() < 5 {
                    return Err(conn_err(ErrorCode::FrameSizeError, "HEADERS too short for its priority"));
                }
                priority = Some(priority_fields(rest));
                rest = &rest[5..];
            }
            Frame::Headers { stream: s, fragment: rest, end_stream: h.has(FLAG_END_STREAM), end_headers: h.has(FLAG_END_HEADERS), priority }
        }
        Kind::Priority => {
            need_stream("PRIORITY on stream 0")?;
            if payload.len() != 5 {
                return Err(H2Error::Stream { stream: s, code: ErrorCode::FrameSizeError, reason: "PRIORITY length is not 5" });
            }
            Frame::Priority { stream: s, priority: priority_fields(payload) }
        }
        Kind::RstStream => {
            need_stream("RST_STREAM on stream 0")?;
            let b: [u8; 4] = payload.try_into().map_err(|_| conn_err(ErrorCode::FrameSizeError, "RST_STREAM length is not 4"))?;
            Frame::RstStream { stream: s, code: u32::from_be_bytes(b) }
        }
        Kind::Settings => {
            need_zero("SETTINGS on a stream")?;
            let ack = h.has(FLAG_ACK);
            if ack && !payload.is_empty() {
                return Err(conn_err(ErrorCode::FrameSizeError, "SETTINGS ack with a payload"));
            }
            if !payload.len().is_multiple_of(6) {
                return Err(conn_err(ErrorCode::FrameSizeError, "SETTINGS length not a multiple of 6"));
            }
            Frame::Settings { ack, payload }
        }
        // §8.4: a client cannot push.
        Kind::PushPromise => return Err(conn_err(ErrorCode::ProtocolError, "PUSH_PROMISE from a client")),
        Kind::Ping => {
            need_zero("PING on a stream")?;
            let data: [u8; 8] = payload.try_into().map_err(|_| conn_err(ErrorCode::FrameSizeError, "PING length is not 8"))?;
            Frame::Ping { ack: h.has(FLAG_ACK), data }
        }
        Kind::GoAway => {
            need_zero("GOAWAY on a stream")?;
            if payload.len() < 8 {
                return Err(conn_err(ErrorCode::FrameSizeError, "GOAWAY shorter than 8"));
            }
            let last_stream = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) & 0x7fff_ffff;
            let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
            Frame::GoAway { last_stream, code, debug: &payload[8..] }
        }
        Kind::WindowUpdate => {
            let b: [u8; 4] = payload.try_into().map_err(|_| conn_err(ErrorCode::FrameSizeError, "WINDOW_UPDATE length is not 4"))?;
            Frame::WindowUpdate { stream: s, increment: u32::from_be_bytes(b) & 0x7fff_ffff }
        }
        Kind::Continuation => {
            need_stream("CONTINUATION on stream 0")?;
            Frame::Continuation { stream: s, fragment: payload, end_headers: h.has(FLAG_END_HEADERS) }
        }
        Kind::Unknown(_) => Frame::Unknown { stream: s },
    })
}

fn put(out: &mut Vec<u8>, kind: Kind, flags: u8, stream: u32, payload: &[u8]) {
    FrameHeader { length: payload.len() as u32, kind, flags, stream }.encode(out);
    out.extend_from_slice(payload);
}

pub fn encode_settings(out: &mut Vec<u8>, pairs: &[(u16, u32)]) {
    let mut p = Vec::with_capacity(pairs.len() * 6);
    for (id, v) in pairs {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    put(out, Kind::Settings, 0, 0, &p);
}

pub fn encode_settings_ack(out: &mut Vec<u8>) {
    put(out, Kind::Settings, FLAG_ACK, 0, &[]);
}

pub fn encode_ping(out: &mut Vec<u8>, data: &[u8; 8]) {
    put(out, Kind::Ping, 0, 0, data);
}

pub fn encode_ping_ack(out: &mut Vec<u8>, data: &[u8; 8]) {
    put(out, Kind::Ping, FLAG_ACK, 0, data);
}

pub fn encode_goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode) {
    let mut p = [0u8; 8];
    p[..4].copy_from_slice(&(last_stream & 0x7fff_ffff).to_be_bytes());
    p[4..].copy_from_slice(&code.to_u32().to_be_bytes());
    put(out, Kind::GoAway, 0, 0, &p);
}

pub fn encode_rst_stream(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    put(out, Kind::RstStream, 0, stream, &code.to_u32().to_be_bytes());
}

pub fn encode_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put(out, Kind::WindowUpdate, 0, stream, &(increment & 0x7fff_ffff).to_be_bytes());
}

pub fn encode_data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool) {
    put(out, Kind::Data, if end_stream { FLAG_END_STREAM } else { 0 }, stream, data);
}

/// A field block split into HEADERS + CONTINUATION frames of at most `max_frame` bytes each.
pub fn encode_headers(out: &mut Vec<u8>, stream: u32, block: &[u8], end_stream: bool, max_frame: usize) {
    let max_frame = max_frame.max(1);
    let mut chunks = block.chunks(max_frame).peekable();
    let first = chunks.next().unwrap_or(&[]);
    let mut flags = if end_stream { FLAG_END_STREAM } else { 0 };
    if chunks.peek().is_none() {
        flags |= FLAG_END_HEADERS;
    }
    put(out, Kind::Headers, flags, stream, first);
    while let Some(c) = chunks.next() {
        let last = chunks.peek().is_none();
        put(out, Kind::Continuation, if last { FLAG_END_HEADERS } else { 0 }, stream, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        FrameHeader { length: payload.len() as u32, kind: Kind::from_u8(kind), flags, stream }.encode(&mut v);
        v.extend_from_slice(payload);
        v
    }

    fn dec(bytes: &[u8]) -> Result<Frame<'_>, H2Error> {
        let h = FrameHeader::decode(bytes).unwrap();
        decode(&h, &bytes[HEADER_LEN..])
    }

    fn conn_code(r: Result<Frame<'_>, H2Error>) -> ErrorCode {
        match r {
            Err(H2Error::Connection { code, .. }) => code,
            other => panic!("expected a connection error, got {other:?}"),
        }
    }

    #[test]
    fn header_round_trips_and_ignores_the_reserved_bit() {
        let mut v = Vec::new();
        FrameHeader { length: 0x123456, kind: Kind::Headers, flags: 5, stream: 7 }.encode(&mut v);
        assert_eq!(v, [0x12, 0x34, 0x56, 1, 5, 0, 0, 0, 7]);
        v[5] |= 0x80;
        assert_eq!(FrameHeader::decode(&v).unwrap(), FrameHeader { length: 0x123456, kind: Kind::Headers, flags: 5, stream: 7 });
        assert!(FrameHeader::decode(&v[..8]).is_none());
    }

    #[test]
    fn data_padding_is_removed_and_bad_padding_is_a_protocol_error() {
        let f = frame(0, FLAG_PADDED | FLAG_END_STREAM, 1, &[2, b'h', b'i', 0, 0]);
        assert_eq!(dec(&f).unwrap(), Frame::Data { stream: 1, data: b"hi", end_stream: true, flow_len: 5 });
        assert_eq!(conn_code(dec(&frame(0, FLAG_PADDED, 1, &[4, b'h', 0, 0]))), ErrorCode::ProtocolError);
        assert_eq!(conn_code(dec(&frame(0, 0, 0, b"x"))), ErrorCode::ProtocolError);
    }

    #[test]
    fn headers_with_priority_and_padding() {
        let f = frame(1, FLAG_PADDED | FLAG_PRIORITY | FLAG_END_HEADERS, 3, &[1, 0x80, 0, 0, 1, 15, 0x82, 0]);
        let want = Frame::Headers {
            stream: 3,
            fragment: &[0x82],
            end_stream: false,
            end_headers: true,
            priority: Some(Priority { exclusive: true, dependency: 1, weight: 15 }),
        };
        assert_eq!(dec(&f).unwrap(), want);
        assert_eq!(conn_code(dec(&frame(1, FLAG_PRIORITY, 3, &[0, 0]))), ErrorCode::FrameSizeError);
        assert_eq!(conn_code(dec(&frame(1, 0, 0, &[0x82]))), ErrorCode::ProtocolError);
    }

    #[test]
    fn priority_of_bad_length_is_a_stream_error() {
        assert!(matches!(dec(&frame(2, 0, 1, &[0; 4])), Err(H2Error::Stream { stream: 1, code: ErrorCode::FrameSizeError, .. })));
        assert_eq!(conn_code(dec(&frame(2, 0, 0, &[0; 5]))), ErrorCode::ProtocolError);
        assert_eq!(
            dec(&frame(2, 0, 1, &[0, 0, 0, 3, 7])).unwrap(),
            Frame::Priority { stream: 1, priority: Priority { exclusive: false, dependency: 3, weight: 7 } }
        );
    }

    #[test]
    fn rst_stream_settings_ping_goaway_window_update_lengths() {
        assert_eq!(dec(&frame(3, 0, 1, &[0, 0, 0, 8])).unwrap(), Frame::RstStream { stream: 1, code: 8 });
        assert_eq!(conn_code(dec(&frame(3, 0, 1, &[0, 0, 8]))), ErrorCode::FrameSizeError);
        assert_eq!(conn_code(dec(&frame(3, 0, 0, &[0, 0, 0, 8]))), ErrorCode::ProtocolError);
        assert_eq!(conn_code(dec(&frame(4, 0, 0, &[0; 5]))), ErrorCode::FrameSizeError);
        assert_eq!(conn_code(dec(&frame(4, FLAG_ACK, 0, &[0; 6]))), ErrorCode::FrameSizeError);
        assert_eq!(conn_code(dec(&frame(4, 0, 1, &[]))), ErrorCode::ProtocolError);
        assert_eq!(dec(&frame(4, FLAG_ACK, 0, &[])).unwrap(), Frame::Settings { ack: true, payload: &[] });
        assert_eq!(dec(&frame(6, 0, 0, b"12345678")).unwrap(), Frame::Ping { ack: false, data: *b"12345678" });
        assert_eq!(conn_code(dec(&frame(6, 0, 0, b"1234567"))), ErrorCode::FrameSizeError);
        assert_eq!(conn_code(dec(&frame(6, 0, 1, b"12345678"))), ErrorCode::ProtocolError);
        assert_eq!(
            dec(&frame(7, 0, 0, &[0x80, 0, 0, 5, 0, 0, 0, 2, b'x'])).unwrap(),
            Frame::GoAway { last_stream: 5, code: 2, debug: b"x" }
        );
        assert_eq!(conn_code(dec(&frame(7, 0, 0, &[0; 7]))), ErrorCode::FrameSizeError);
        assert_eq!(conn_code(dec(&frame(7, 0, 1, &[0; 8]))), ErrorCode::ProtocolError);
        assert_eq!(dec(&frame(8, 0, 1, &[0x80, 0, 1, 0])).unwrap(), Frame::WindowUpdate { stream: 1, increment: 256 });
        assert_eq!(conn_code(dec(&frame(8, 0, 1, &[0; 3]))), ErrorCode::FrameSizeError);
    }

    #[test]
    fn push_promise_from_a_client_and_unknown_types() {
        assert_eq!(conn_code(dec(&frame(5, 0, 1, &[0; 4]))), ErrorCode::ProtocolError);
        assert_eq!(dec(&frame(0x42, 0xff, 9, b"whatever")).unwrap(), Frame::Unknown { stream: 9 });
        assert_eq!(conn_code(dec(&frame(9, 0, 0, &[]))), ErrorCode::ProtocolError);
    }

    #[test]
    fn encoders_produce_what_the_decoder_reads() {
        let mut v = Vec::new();
        encode_goaway(&mut v, 7, ErrorCode::EnhanceYourCalm);
        assert_eq!(dec(&v).unwrap(), Frame::GoAway { last_stream: 7, code: 0xb, debug: &[] });
        v.clear();
        encode_window_update(&mut v, 3, 1000);
        assert_eq!(dec(&v).unwrap(), Frame::WindowUpdate { stream: 3, increment: 1000 });
        v.clear();
        encode_rst_stream(&mut v, 3, ErrorCode::Cancel);
        assert_eq!(dec(&v).unwrap(), Frame::RstStream { stream: 3, code: 8 });
        v.clear();
        encode_settings(&mut v, &[(3, 100), (4, 65535)]);
        assert_eq!(v.len(), HEADER_LEN + 12);
        v.clear();
        encode_headers(&mut v, 1, &[1, 2, 3, 4, 5], true, 2);
        // HEADERS(2) + CONTINUATION(2) + CONTINUATION(1, END_HEADERS)
        assert_eq!(v.len(), 3 * HEADER_LEN + 5);
        assert_eq!(v[4], FLAG_END_STREAM);
        assert_eq!(v[HEADER_LEN + 2 + 3], Kind::Continuation.to_u8());
        assert_eq!(v[2 * HEADER_LEN + 4 + 4], FLAG_END_HEADERS);
    }
}
