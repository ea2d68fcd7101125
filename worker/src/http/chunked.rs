//! The chunked transfer coding (RFC 9112 section 7.1), checked as it streams past: the proxy
//! forwards chunks unchanged, in place, and only needs to know where the message ends and that
//! every chunk size line, chunk end and trailer is well formed.
//!
//! Trailer lines are header fields (RFC 9112 section 7.1.2, RFC 9110 section 5): a token, a
//! colon, a value without controls. HAProxy 2.6 refuses a line without a colon (so a request
//! line in the trailers) and an empty name; hakeeper also refuses what HAProxy forwards there
//! and RFC 9110 forbids in a field: a blank or control in the name, a control in the value,
//! obs-fold, and (RFC 9110 section 6.5.1) fields that frame, route or steer the connection,
//! which a server merging trailers into its headers would act on.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```

use super::head::MAX_HEAD;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("invalid chunk size")]
    BadSize,
    #[error("chunk size too large")]
    SizeOverflow,
    #[error("invalid chunk extension")]
    BadExtension,
    #[error("missing CRLF after a chunk")]
    MissingCrlf,
    #[error("invalid trailer line")]
    BadTrailer,
    #[error("trailer field not allowed in trailers (framing, routing or connection)")]
    ForbiddenTrailer,
    #[error("trailers larger than {MAX_HEAD} bytes")]
    TrailersTooLarge,
}

/// Largest chunk accepted (2^60 bytes): guards the arithmetic, not the memory.
const MAX_CHUNK: u64 = 1 << 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size; `digits` so far.
    Size {
        digits: u8,
        size: u64,
    },
    /// Blanks after the size.
    SizeBlank {
        size: u64,
    },
    /// Inside `;ext` up to CR.
    Ext {
        size: u64,
    },
    /// Saw CR after the size line.
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// At the start of a trailer line or of the final CRLF.
    LineStart,
    /// Inside a trailer field's name, `len` bytes so far.
    TrailerName {
        len: usize,
    },
    /// After the colon, up to CR.
    TrailerValue,
    TrailerLf,
    /// Saw the CR of the final empty line.
    EndLf,
    Done,
}

/// Fields that may not come as trailers: they frame the message, route it or steer the
/// connection, and are only valid in the header section (RFC 9110 section 6.5.1).
const FORBIDDEN_TRAILERS: &[&[u8]] =
    &[b"content-length", b"transfer-encoding", b"trailer", b"host", b"connection", b"keep-alive", b"upgrade", b"te", b"expect"];

/// Longest name in [`FORBIDDEN_TRAILERS`]; longer names need not be kept.
const NAME_KEPT: usize = 17;

#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    trailer_bytes: usize,
    /// The current trailer name's first bytes, lowercased.
    name: [u8; NAME_KEPT],
    /// Payload bytes seen (chunk data only).
    payload: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder { state: State::Size { digits: 0, size: 0 }, trailer_bytes: 0, name: [0; NAME_KEPT], payload: 0 }
    }
}

fn hex(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(b - b'A' + 10)),
        _ => None,
    }
}

/// Bytes allowed in extensions and field values: visible, blanks, obs-text.
fn is_text(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// A token byte (RFC 9110 section 5.6.2): what a field name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl ChunkedDecoder {
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Chunk data bytes seen so far.
    pub fn payload(&self) -> u64 {
        self.payload
    }

    /// Reads as much of `data` as belongs to this message. Returns the bytes consumed (they
    /// may be forwarded) and whether the message is complete; after completion the rest of
    /// `data` is the next message's.
    pub fn feed(&mut self, data: &[u8]) -> Result<(usize, bool), ChunkError> {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            self.state = match self.state {
                State::Done => return Ok((i, true)),
                State::Data { left } => {
                    let take = (data.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    i += take;
                    self.payload += take as u64;
                    let left = left - take as u64;
                    self.state = if left == 0 { State::DataCr } else { State::Data { left } };
                    continue;
                }
                State::Size { digits, size } => match hex(b) {
                    Some(d) => {
                        if digits >= 15 {
                            return Err(ChunkError::SizeOverflow);
                        }
                        let size = size * 16 + d;
                        if size > MAX_CHUNK {
                            return Err(ChunkError::SizeOverflow);
                        }
                        State::Size { digits: digits + 1, size }
                    }
                    None if digits == 0 => return Err(ChunkError::BadSize),
                    None => self.after_size(b, size)?,
                },
                State::SizeBlank { size } => self.after_size(b, size)?,
                State::Ext { size } => match b {
                    b'\r' => State::SizeLf { size },
                    b if is_text(b) => State::Ext { size },
                    _ => return Err(ChunkError::BadExtension),
                },
                State::SizeLf { size } => {
                    if b != b'\n' {
                        return Err(ChunkError::MissingCrlf);
                    }
                    if size == 0 {
                        State::LineStart
                    } else {
                        State::Data { left: size }
                    }
                }
                State::DataCr => match b {
                    b'\r' => State::DataLf,
                    _ => return Err(ChunkError::MissingCrlf),
                },
                State::DataLf => match b {
                    b'\n' => State::Size { digits: 0, size: 0 },
                    _ => return Err(ChunkError::MissingCrlf),
                },
                State::LineStart => match b {
                    b'\r' => State::EndLf,
                    // A trailer line starts with its name: not a blank (obs-fold), not a colon.
                    b if is_tchar(b) => self.name_byte(0, b)?,
                    _ => return Err(ChunkError::BadTrailer),
                },
                State::TrailerName { len } => match b {
                    b':' => self.name_end(len)?,
                    b if is_tchar(b) => self.name_byte(len, b)?,
                    _ => return Err(ChunkError::BadTrailer),
                },
                State::TrailerValue => match b {
                    b'\r' => State::TrailerLf,
                    b if is_text(b) => {
                        self.count_trailer_byte()?;
                        State::TrailerValue
                    }
                    _ => return Err(ChunkError::BadTrailer),
                },
                State::TrailerLf => match b {
                    b'\n' => State::LineStart,
                    _ => return Err(ChunkError::BadTrailer),
                },
                State::EndLf => match b {
                    b'\n' => {
                        self.state = State::Done;
                        return Ok((i + 1, true));
                    }
                    _ => return Err(ChunkError::MissingCrlf),
                },
            };
            i += 1;
        }
        Ok((i, self.state == State::Done))
    }

    fn after_size(&self, b: u8, size: u64) -> Result<State, ChunkError> {
        Ok(match b {
            b' ' | b'\t' => State::SizeBlank { size },
            b';' => State::Ext { size },
            b'\r' => State::SizeLf { size },
            _ => return Err(ChunkError::BadSize),
        })
    }

    fn count_trailer_byte(&mut self) -> Result<(), ChunkError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > MAX_HEAD {
            return Err(ChunkError::TrailersTooLarge);
        }
        Ok(())
    }

    /// Byte `len` of a trailer name.
    fn name_byte(&mut self, len: usize, b: u8) -> Result<State, ChunkError> {
        self.count_trailer_byte()?;
        if let Some(slot) = self.name.get_mut(len) {
            *slot = b.to_ascii_lowercase();
        }
        Ok(State::TrailerName { len: len + 1 })
    }

    /// The colon after a trailer name of `len` bytes.
    fn name_end(&mut self, len: usize) -> Result<State, ChunkError> {
        self.count_trailer_byte()?;
        if len <= NAME_KEPT && FORBIDDEN_TRAILERS.contains(&&self.name[..len]) {
            return Err(ChunkError::ForbiddenTrailer);
        }
        Ok(State::TrailerValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(body: &[u8]) -> Result<(usize, bool), ChunkError> {
        ChunkedDecoder::default().feed(body)
    }

    /// Feeds `body` one byte at a time; returns consumed and done.
    fn bytewise(body: &[u8]) -> Result<(usize, bool), ChunkError> {
        let mut d = ChunkedDecoder::default();
        let mut used = 0;
        for i in 0..body.len() {
            let (n, done) = d.feed(&body[i..i + 1])?;
            used += n;
            if done {
                return Ok((used, true));
            }
        }
        Ok((used, false))
    }

    #[test]
    fn a_chunked_body_ends_where_it_says() {
        let body = b"5\r\nhello\r\nA;name=val\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let end = body.len() - "GET / HTTP/1.1\r\n".len();
        assert_eq!(whole(body), Ok((end, true)));
        assert_eq!(bytewise(body), Ok((end, true)));
        let mut d = ChunkedDecoder::default();
        d.feed(body).unwrap();
        assert_eq!(d.payload(), 15);
    }

    #[test]
    fn trailers_and_size_blanks() {
        let body = b"3  \r\nabc\r\n000\r\nX-Checksum: 1\r\nX-B:2\r\nContent-Length-Ish: \xe9\r\nX-Empty:\r\n\r\n";
        assert_eq!(whole(body), Ok((body.len(), true)));
        assert_eq!(bytewise(body), Ok((body.len(), true)));
    }

    #[test]
    fn incomplete_bodies_wait() {
        assert_eq!(whole(b"5\r\nhel"), Ok((6, false)));
        assert_eq!(whole(b"0\r\n"), Ok((3, false)));
        assert_eq!(whole(b"0\r\n\r"), Ok((4, false)));
    }

    #[test]
    fn invalid_sizes_are_errors() {
        for (bad, err) in [
            (&b"\r\n"[..], ChunkError::BadSize),
            (b"-1\r\n", ChunkError::BadSize),
            (b"0x5\r\n", ChunkError::BadSize),
            (b" 5\r\n", ChunkError::BadSize),
            (b"5 5\r\n", ChunkError::BadSize),
            (b"g\r\n", ChunkError::BadSize),
            (b"5\n", ChunkError::BadSize),
            (b"5\rx", ChunkError::MissingCrlf),
            (b"fffffffffffffffff\r\n", ChunkError::SizeOverflow),
            (b"2000000000000000\r\n", ChunkError::SizeOverflow),
            (b"5\r\nhelloX\r\n", ChunkError::MissingCrlf),
            (b"5\r\nhello\rX", ChunkError::MissingCrlf),
            (b"1;a\x01b\r\n", ChunkError::BadExtension),
            (b"1;a\nb\r\n", ChunkError::BadExtension),
            (b"0\r\n folded: x\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX: a\x00\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX: a\n\r\n", ChunkError::BadTrailer),
            (b"0\r\n\rX", ChunkError::MissingCrlf),
            (b"0\r\nbadtrailer\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX-T: 1\r\n 2\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\n: 1\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX T: 1\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX-T : 1\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX-T: a\x01b\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX-T: a\x7fb\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nContent-Length: 5\r\n\r\n", ChunkError::ForbiddenTrailer),
            (b"0\r\nTRANSFER-ENCODING: chunked\r\n\r\n", ChunkError::ForbiddenTrailer),
            (b"0\r\nX: 1\r\nHost: evil\r\n\r\n", ChunkError::ForbiddenTrailer),
            (b"0\r\nConnection: close\r\n\r\n", ChunkError::ForbiddenTrailer),
        ] {
            assert_eq!(whole(bad), Err(err), "{:?}", String::from_utf8_lossy(bad));
            assert_eq!(bytewise(bad), Err(err), "bytewise {:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn huge_trailers_are_refused() {
        let mut body = b"0\r\nX: ".to_vec();
        body.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        body.extend_from_slice(b"\r\n\r\n");
        assert_eq!(whole(&body), Err(ChunkError::TrailersTooLarge));
    }

    #[test]
    fn a_large_chunk_streams_through() {
        let mut d = ChunkedDecoder::default();
        assert_eq!(d.feed(b"100000\r\n"), Ok((8, false)));
        let block = vec![b'x'; 4096];
        for _ in 0..256 {
            assert_eq!(d.feed(&block), Ok((4096, false)));
        }
        assert_eq!(d.feed(b"\r\n0\r\n\r\n"), Ok((7, true)));
        assert_eq!(d.payload(), 1 << 20);
    }
}
