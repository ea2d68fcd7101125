//! A stream's response, from the HTTP/1.1 bytes its transaction queued for the client (after
//! every response rule ran) to HEADERS and DATA frames, as HAProxy 2.6's `mux_h2` turns the
//! HTX of an HTTP/1.1 server's response into frames:
//!
//! - interim responses (1xx other than 101) are not forwarded (HAProxy sends `100 Continue`
//!   on; curl and browsers do without it);
//! - the final head becomes a field block without connection-specific fields
//!   (`h2::h1_response`), with END_STREAM when no body follows (HEAD, 204, 304, empty);
//! - the body loses its HTTP/1.1 framing: `content-length` is kept, chunks are unwrapped
//!   (RFC 9112 §7.1) and the last one ends the stream; chunked trailers are dropped;
//! - a body delimited by the server's close ends the stream when the transaction ends.
//!
//! The bytes were checked by the transaction's own body cursor before they were queued, so
//! malformed framing here is an internal error: the stream is reset, nothing panics.

use crate::buffer::Buf;
use crate::h2::conn::{Connection, SendError};
use crate::h2::h1_response::response_fields;
use crate::http::framing::{response_framing, BodyFraming, RequestKind};
use crate::http::head::parse_response;
use crate::http::HeadError;
use std::time::Instant;

/// Why a response cannot go on as frames (the stream is reset).
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("response head: {0}")]
    Head(#[from] HeadError),
    #[error("a protocol switch has no HTTP/2 form")]
    Tunnel,
    #[error("malformed chunk framing")]
    Chunk,
    #[error("{0}")]
    Send(#[from] SendError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// In a chunk-size line: the size so far, whether a digit was seen, whether in an
    /// extension.
    Size { size: u64, digits: bool, ext: bool },
    /// In a chunk's data.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// In the trailer section; `line` bytes of the current line seen.
    Trailer { line: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

/// Where a stream's response is.
#[derive(Debug)]
pub struct ResponseOut {
    kind: RequestKind,
    state: State,
}

impl ResponseOut {
    pub fn new(kind: RequestKind) -> Self {
        ResponseOut { kind, state: State::Head }
    }

    /// END_STREAM went out.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Sends what `out` holds as far as the stream's windows allow; what is not taken stays in
    /// `out` (the transaction stops reading its server meanwhile).
    pub fn pump(&mut self, out: &mut Buf, conn: &mut Connection, stream: u32, now: Instant) -> Result<(), ResponseError> {
        loop {
            match self.state {
                State::Done => {
                    // Nothing may follow the end of a response on a stream.
                    out.clear();
                    return Ok(());
                }
                State::Head => {
                    let Some(resp) = parse_response(out.bytes())? else { return Ok(()) };
                    out.consume(resp.head_len);
                    if resp.is_interim() {
                        continue;
                    }
                    let framing = response_framing(resp.status, resp.framing_headers, self.kind)?;
                    let fields = response_fields(&resp);
                    let refs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
                    let (end, next) = match framing {
                        BodyFraming::None | BodyFraming::Length(0) => (true, State::Done),
                        BodyFraming::Length(n) => (false, State::Length(n)),
                        BodyFraming::Chunked => (false, State::Chunked(Chunk::Size { size: 0, digits: false, ext: false })),
                        BodyFraming::UntilClose => (false, State::UntilClose),
                        BodyFraming::Tunnel => return Err(ResponseError::Tunnel),
                    };
                    conn.send_headers(stream, &refs, end)?;
                    self.state = next;
                }
                State::Length(left) => {
                    let take = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    if take == 0 {
                        return Ok(());
                    }
                    let last = take as u64 == left;
                    let n = conn.send_data(stream, &out.bytes()[..take], last, now)?;
                    out.consume(n);
                    let left = left - n as u64;
                    self.state = if left == 0 { State::Done } else { State::Length(left) };
                    if n < take {
                        return Ok(());
                    }
                }
                State::UntilClose => {
                    if out.is_empty() {
                        return Ok(());
                    }
                    let n = conn.send_data(stream, out.bytes(), false, now)?;
                    let all = n == out.len();
                    out.consume(n);
                    if !all {
                        return Ok(());
                    }
                }
                State::Chunked(c) => return self.unchunk(c, out, conn, stream, now),
            }
        }
    }

    /// Chunked framing off, data on (RFC 9112 §7.1).
    fn unchunk(&mut self, mut c: Chunk, out: &mut Buf, conn: &mut Connection, stream: u32, now: Instant) -> Result<(), ResponseError> {
        let bytes = out.bytes();
        let mut i = 0;
        let result = loop {
            if let Chunk::Data(left) = c {
                let take = (bytes.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                if take == 0 {
                    break Ok(());
                }
                let n = match conn.send_data(stream, &bytes[i..i + take], false, now) {
                    Ok(n) => n,
                    Err(e) => break Err(e.into()),
                };
                i += n;
                let left = left - n as u64;
                c = if left == 0 { Chunk::DataEnd } else { Chunk::Data(left) };
                if n < take {
                    break Ok(());
                }
                continue;
            }
            let Some(&b) = bytes.get(i) else { break Ok(()) };
            i += 1;
            c = match (c, b) {
                (Chunk::Size { digits, .. }, b'\n') if !digits => break Err(ResponseError::Chunk),
                (Chunk::Size { size: 0, .. }, b'\n') => Chunk::Trailer { line: 0 },
                (Chunk::Size { size, .. }, b'\n') => Chunk::Data(size),
                (Chunk::Size { size, ext: false, .. }, b) if b.is_ascii_hexdigit() => {
                    let d = u64::from((b as char).to_digit(16).unwrap_or(0));
                    match size.checked_mul(16).and_then(|s| s.checked_add(d)) {
                        Some(size) => Chunk::Size { size, digits: true, ext: false },
                        None => break Err(ResponseError::Chunk),
                    }
                }
                (Chunk::Size { size, digits, .. }, _) => Chunk::Size { size, digits, ext: true },
                (Chunk::DataEnd, b'\r') => Chunk::DataEnd,
                (Chunk::DataEnd, b'\n') => Chunk::Size { size: 0, digits: false, ext: false },
                (Chunk::DataEnd, _) => break Err(ResponseError::Chunk),
                (Chunk::Trailer { line: 0 }, b'\n') => {
                    // The empty line after the last chunk (and its trailers): the end.
                    self.state = State::Done;
                    if let Err(e) = conn.send_data(stream, &[], true, now) {
                        break Err(e.into());
                    }
                    break Ok(());
                }
                (Chunk::Trailer { .. }, b'\n') => Chunk::Trailer { line: 0 },
                (Chunk::Trailer { line }, b'\r') => Chunk::Trailer { line },
                (Chunk::Trailer { line }, _) => Chunk::Trailer { line: line + 1 },
                (Chunk::Data(_), _) => c,
            };
        };
        out.consume(i);
        if self.state != State::Done {
            self.state = State::Chunked(c);
        }
        result
    }

    /// The transaction is over: a body delimited by the server's close ends here.
    pub fn finish(&mut self, conn: &mut Connection, stream: u32, now: Instant) -> Result<(), ResponseError> {
        if self.state == State::UntilClose {
            conn.send_data(stream, &[], true, now)?;
            self.state = State::Done;
        }
        Ok(())
    }
}
