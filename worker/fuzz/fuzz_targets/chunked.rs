//! libFuzzer target for the chunked transfer coding (`hakeeper_worker::http::chunked`), the
//! decoder that decides where a chunked request or response body ends (RFC 9112 §7.1).
//!
//! The first input byte chooses the mode and seeds the split pattern:
//! - bit 0 clear: the rest is fed as it is, whole and in pieces of varying sizes;
//! - bit 0 set: the rest describes chunks (a length byte, then that many data bytes, repeated);
//!   the harness writes them as a valid chunked body, with sizes in mixed-case hex with leading
//!   zeros, extensions and trailers chosen by the input, which must be accepted exactly.
//!
//! Properties: the outcome (bytes consumed, done, payload size, or the error) does not depend on
//! how the bytes arrive; no call consumes more than it was given; once done, the decoder takes
//! nothing more; the payload count never exceeds the bytes consumed (no overflow, no chunk size
//! trusted beyond the data seen); a well-formed body ends exactly at its last CRLF with the
//! payload it carries.

#![no_main]

use hakeeper_worker::http::chunked::{ChunkError, ChunkedDecoder};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<(usize, bool), ChunkError>,
    payload: u64,
}

/// Piece lengths from a small xorshift seeded by the input: 1 to 64 bytes, with empty reads.
struct Splits(u32);

impl Splits {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 % 65) as usize
    }
}

fn feed_whole(data: &[u8]) -> Outcome {
    let mut d = ChunkedDecoder::default();
    let result = d.feed(data);
    if let Ok((n, done)) = result {
        assert!(n <= data.len(), "consumed {n} of {} bytes", data.len());
        assert!(d.payload() <= n as u64, "payload {} beyond the {n} bytes consumed", d.payload());
        if done {
            assert_eq!(d.feed(&data[n..]), Ok((0, true)), "a finished body took more bytes");
            assert_eq!(d.feed(b"0\r\n\r\n"), Ok((0, true)));
        } else {
            assert_eq!(n, data.len(), "an unfinished body left bytes unread");
        }
    }
    Outcome { result, payload: d.payload() }
}

fn feed_pieces(data: &[u8], seed: u32) -> Outcome {
    let mut d = ChunkedDecoder::default();
    let mut splits = Splits(seed | 1);
    let mut at = 0;
    let mut result = Ok((0, false));
    // Bytes handed to the decoder so far (an error does not say how many it took).
    let mut given = 0;
    while at < data.len() || at == 0 {
        let end = (at + splits.next()).min(data.len());
        let piece = &data[at..end];
        given = at + piece.len();
        match d.feed(piece) {
            Ok((n, done)) => {
                assert!(n <= piece.len(), "consumed {n} of a {}-byte piece", piece.len());
                at += n;
                result = Ok((at, done));
                if done {
                    break;
                }
                assert_eq!(n, piece.len(), "an unfinished body left bytes of a piece unread");
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        if data.is_empty() {
            break;
        }
    }
    assert!(d.payload() <= given as u64, "payload {} beyond the {given} bytes given", d.payload());
    Outcome { result, payload: d.payload() }
}

/// A valid chunked body carrying the chunks described by `spec`; returns it with its payload size.
fn build_body(spec: &[u8]) -> (Vec<u8>, u64) {
    let mut body = Vec::new();
    let mut payload = 0u64;
    let mut rest = spec;
    let mut style = 0u8;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (data, tail) = tail.split_at(len);
        rest = tail;
        style = style.wrapping_add(len as u8).wrapping_mul(31).wrapping_add(7);
        if data.is_empty() {
            continue;
        }
        let zeros = "0".repeat(usize::from(style % 4));
        let size = if style & 4 != 0 { format!("{zeros}{len:X}") } else { format!("{zeros}{len:x}") };
        body.extend_from_slice(size.as_bytes());
        if style & 8 != 0 {
            body.extend_from_slice(b"  ");
        }
        if style & 16 != 0 {
            body.extend_from_slice(b";name=\"v a\";x");
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
        payload += len as u64;
    }
    body.extend_from_slice(if style & 32 != 0 { b"000;last\r\n" } else { b"0\r\n" });
    if style & 64 != 0 {
        body.extend_from_slice(b"X-Checksum: abc\r\nX-Other:\t\x80v\r\n");
    }
    body.extend_from_slice(b"\r\n");
    (body, payload)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let seed = u32::from(mode) << 8 | u32::from(rest.first().copied().unwrap_or(0));
    let input;
    let expected;
    if mode & 1 == 0 {
        input = rest.to_vec();
        expected = None;
    } else {
        let (mut body, payload) = build_body(rest);
        let end = body.len();
        // What follows the body belongs to the next message and must be left alone.
        body.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        input = body;
        expected = Some(Outcome { result: Ok((end, true)), payload });
    }
    let whole = feed_whole(&input);
    let pieces = feed_pieces(&input, seed);
    assert_eq!(whole, pieces, "chunked decoding depends on how the bytes arrive");
    if let Some(expected) = expected {
        assert_eq!(whole, expected, "a well-formed chunked body was not read exactly\n{}", String::from_utf8_lossy(&input));
    }
});
