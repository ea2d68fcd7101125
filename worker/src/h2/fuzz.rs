//! The fuzz target for the HTTP/2 connection, shared by the cargo-fuzz target
//! (`worker/fuzz/fuzz_targets/h2_conn.rs`) and a stable test that runs it over a deterministic
//! pseudo-random corpus (2 s by default, `HAKEEPER_FUZZ_SECS` to change).
//!
//! The input describes frames (type, flags, a small stream id, a payload), with valid request
//! blocks mixed in so that streams open and deeper states are reached. Properties: no panic;
//! the same frames give the same output and events whether they arrive at once or in pieces;
//! the output stays within the control backlog bound; every stream event follows the request
//! that opened the stream; nothing is read after a connection error.

use std::collections::HashSet;
use std::time::Instant;

use super::conn::{Config, Connection, Event};
use super::frame::{FrameHeader, Kind, PREFACE};
use super::hpack;

/// Frames described by `data`, after the preface and an empty SETTINGS.
fn frames(data: &[u8]) -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    FrameHeader { length: 0, kind: Kind::Settings, flags: 0, stream: 0 }.encode(&mut out);
    let mut i = 0;
    while i + 4 <= data.len() {
        let (k, flags, sid, len) = (data[i], data[i + 1], data[i + 2], usize::from(data[i + 3]));
        i += 4;
        let stream = u32::from(sid % 12);
        if k % 16 == 15 {
            // A valid GET or POST head on an odd stream.
            let method: &[u8] = if flags & 2 != 0 { b"POST" } else { b"GET" };
            let block = hpack::encode([(&b":method"[..], method), (b":scheme", b"http"), (b":authority", b"a"), (b":path", b"/")]);
            FrameHeader { length: block.len() as u32, kind: Kind::Headers, flags: (flags & 0x1) | 0x4, stream: stream | 1 }
                .encode(&mut out);
            out.extend_from_slice(&block);
            continue;
        }
        let payload = &data[i..(i + len).min(data.len())];
        i += payload.len();
        let kind = if k % 16 < 10 { Kind::from_u8(k % 16) } else { Kind::from_u8(k) };
        FrameHeader { length: payload.len() as u32, kind, flags, stream }.encode(&mut out);
        out.extend_from_slice(payload);
    }
    out
}

#[derive(Debug, PartialEq)]
struct Outcome {
    output: Vec<u8>,
    events: Vec<Event>,
    failed: bool,
}

fn run(bytes: &[u8], piece: usize) -> Outcome {
    let now = Instant::now();
    let mut c = Connection::new(Config::default());
    let mut events = Vec::new();
    let mut failed = false;
    for chunk in bytes.chunks(piece.max(1)) {
        if c.recv(chunk, now).is_err() {
            failed = true;
            // Nothing more is read after a connection error.
            assert!(c.recv(b"\0\0\0\x04\0\0\0\0\0", now).is_err());
            break;
        }
        events.extend(std::iter::from_fn(|| c.poll_event()));
        assert!(c.output().len() <= 64 * 1024 + 32 * 1024 + 64, "output backlog unbounded");
    }
    events.extend(std::iter::from_fn(|| c.poll_event()));
    let mut open = HashSet::new();
    for e in &events {
        match e {
            Event::Request { stream, .. } => assert!(open.insert(*stream), "stream {stream} opened twice"),
            Event::Data { stream, .. } | Event::Trailers { stream, .. } | Event::Reset { stream, .. } | Event::Writable { stream } => {
                assert!(open.contains(stream), "event for stream {stream} before its request: {e:?}")
            }
            Event::GoAway { .. } => {}
        }
    }
    Outcome { output: c.output().to_vec(), events, failed }
}

/// Runs every check on one input; panics on a property violation.
pub fn fuzz_one(data: &[u8]) {
    let bytes = frames(data);
    let whole = run(&bytes, bytes.len());
    let piece = data.first().map_or(1, |b| usize::from(*b % 13) + 1);
    let split = run(&bytes, piece);
    if split != whole {
        let first = split.events.iter().zip(&whole.events).position(|(a, b)| a != b);
        panic!(
            "outcome depends on how the bytes arrive (pieces of {piece}): failed {} vs {}, events {} vs {} (first difference at {first:?}: {:?} vs {:?}), output {} vs {} bytes",
            split.failed,
            whole.failed,
            split.events.len(),
            whole.events.len(),
            first.map(|i| &split.events[i]),
            first.map(|i| &whole.events[i]),
            split.output.len(),
            whole.output.len()
        );
    }
    // Raw input straight after the preface too: whatever it is, no panic.
    let mut raw = PREFACE.to_vec();
    raw.extend_from_slice(data);
    run(&raw, raw.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2_fuzz_corpus_holds_the_properties() {
        let secs: u64 = std::env::var("HAKEEPER_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
        let end = Instant::now() + std::time::Duration::from_secs(secs);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut runs = 0;
        while Instant::now() < end || runs < 200 {
            let len = (next() % 400) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            fuzz_one(&data);
            runs += 1;
        }
        assert!(runs >= 200);
    }
}
