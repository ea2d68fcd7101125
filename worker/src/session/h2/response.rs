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
                    let refs: Vec<(&[u8], &[u8])> = fields.iter().collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Pools;
    use crate::h2::conn::Config;
    use crate::h2::frame::{self, FrameHeader, Kind, HEADER_LEN, PREFACE};

    /// A connection with stream 1 open (a GET from the client).
    fn open() -> Connection {
        let mut c = Connection::new(Config::default());
        let mut input = PREFACE.to_vec();
        frame::encode_settings(&mut input, &[]);
        // :method GET, :scheme http, :path /, :authority a.test (RFC 7541 appendix A).
        let block = [&[0x82, 0x86, 0x84, 0x41, 6][..], b"a.test"].concat();
        frame::encode_headers(&mut input, 1, &block, true, 16_384);
        c.recv(&input, Instant::now()).expect("a valid request");
        let out = c.output().len();
        c.consume_output(out);
        c
    }

    /// The frames written for stream 1: (kind, flags, payload).
    fn frames(c: &mut Connection) -> Vec<(Kind, u8, Vec<u8>)> {
        let bytes = c.output().to_vec();
        c.consume_output(bytes.len());
        let mut v = Vec::new();
        let mut p = 0;
        while let Some(h) = FrameHeader::decode(&bytes[p..]) {
            let end = p + HEADER_LEN + h.length as usize;
            if h.stream == 1 {
                v.push((h.kind, h.flags, bytes[p + HEADER_LEN..end].to_vec()));
            }
            p = end;
        }
        v
    }

    fn body(f: &[(Kind, u8, Vec<u8>)]) -> Vec<u8> {
        f.iter().filter(|(k, _, _)| *k == Kind::Data).flat_map(|(_, _, p)| p.clone()).collect()
    }

    fn ends(f: &[(Kind, u8, Vec<u8>)]) -> bool {
        f.last().is_some_and(|(_, flags, _)| flags & 0x1 != 0)
    }

    fn run(kind: RequestKind, response: &[u8]) -> (ResponseOut, Vec<(Kind, u8, Vec<u8>)>) {
        let mut c = open();
        let mut pools = Pools::default();
        let mut out = Buf::default();
        out.extend(response, &mut pools);
        let mut r = ResponseOut::new(kind);
        r.pump(&mut out, &mut c, 1, Instant::now()).expect("pumped");
        assert!(out.is_empty() || !r.is_done(), "bytes left after the end");
        let f = frames(&mut c);
        (r, f)
    }

    #[test]
    fn chunks_are_unwrapped_and_the_last_one_ends_the_stream() {
        let (r, f) = run(
            RequestKind::default(),
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
        );
        assert!(r.is_done());
        assert_eq!(f.iter().filter(|(k, _, _)| *k == Kind::Headers).count(), 1, "the 100 is not forwarded");
        assert_eq!(body(&f), b"hello world");
        assert!(ends(&f));
    }

    #[test]
    fn a_chunked_body_split_anywhere_comes_out_the_same() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n";
        for cut in 1..raw.len() {
            let mut c = open();
            let mut pools = Pools::default();
            let mut out = Buf::default();
            let mut r = ResponseOut::new(RequestKind::default());
            out.extend(&raw[..cut], &mut pools);
            r.pump(&mut out, &mut c, 1, Instant::now()).expect("first part");
            out.extend(&raw[cut..], &mut pools);
            r.pump(&mut out, &mut c, 1, Instant::now()).expect("second part");
            let f = frames(&mut c);
            assert!(r.is_done(), "cut at {cut}");
            assert_eq!(body(&f), b"0123456789abc", "cut at {cut}");
        }
    }

    #[test]
    fn content_length_head_and_no_body_responses() {
        let (r, f) = run(RequestKind::default(), b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
        assert!(r.is_done() && ends(&f));
        assert_eq!(body(&f), b"abc");
        // HEAD: the length is announced, no body follows; END_STREAM on the HEADERS.
        let (r, f) = run(RequestKind { head: true, ..Default::default() }, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
        assert!(r.is_done() && ends(&f));
        assert_eq!(f.len(), 1);
        let (r, f) = run(RequestKind::default(), b"HTTP/1.1 204 No Content\r\n\r\n");
        assert!(r.is_done() && ends(&f) && f.len() == 1);
    }

    #[test]
    fn a_body_until_close_ends_with_the_transaction_and_bad_framing_is_an_error() {
        let mut c = open();
        let (mut pools, mut out) = (Pools::default(), Buf::default());
        out.extend(b"HTTP/1.0 200 OK\r\n\r\npartial", &mut pools);
        let mut r = ResponseOut::new(RequestKind::default());
        r.pump(&mut out, &mut c, 1, Instant::now()).expect("pumped");
        assert!(!r.is_done());
        r.finish(&mut c, 1, Instant::now()).expect("finished");
        let f = frames(&mut c);
        assert!(r.is_done() && ends(&f));
        assert_eq!(body(&f), b"partial");

        let mut c = open();
        out.extend(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &mut pools);
        let mut r = ResponseOut::new(RequestKind::default());
        assert!(matches!(r.pump(&mut out, &mut c, 1, Instant::now()), Err(ResponseError::Chunk)));
        let mut out = Buf::default();
        out.extend(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", &mut pools);
        let mut r = ResponseOut::new(RequestKind { upgrade: true, ..Default::default() });
        assert!(matches!(r.pump(&mut out, &mut open(), 1, Instant::now()), Err(ResponseError::Tunnel)));
    }
}
