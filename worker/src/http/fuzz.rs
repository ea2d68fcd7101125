//! The fuzz target for the head parsers and body framing, shared by the cargo-fuzz target
//! (`worker/fuzz/fuzz_targets/http_parse.rs`, libFuzzer, needs nightly) and a stable test that
//! runs it over a deterministic pseudo-random and mutated corpus (5 s by default,
//! `HAKEEPER_FUZZ_SECS` to change).
//!
//! Beyond "no panic", it checks properties a smuggling bug would break: a parsed head written
//! back parses to the same message with the same framing, and body framing ends at the same
//! byte whether the bytes arrive at once or in pieces.

use super::body::BodyCursor;
use super::chunked::ChunkedDecoder;
use super::framing::{response_framing, RequestKind};
use super::head::{parse_request, parse_response, MAX_HEAD};

/// Runs every check on one input; panics on a property violation.
pub fn fuzz_one(data: &[u8]) {
    let split = data.first().map_or(1, |b| usize::from(*b % 7) + 1);
    check_request(data, split);
    check_response(data, split);
    check_chunked(data, split);
}

fn check_request(data: &[u8], split: usize) {
    let Ok(Some(head)) = parse_request(data) else { return };
    assert!(head.head_len <= data.len() && head.head_len <= MAX_HEAD);
    let mut out = Vec::new();
    head.write(&mut out);
    if out.len() <= MAX_HEAD {
        let again = match parse_request(&out) {
            Ok(Some(h)) => h,
            other => panic!("a written request head does not parse back: {other:?}\n{}", String::from_utf8_lossy(&out)),
        };
        assert_eq!(again.method(), head.method());
        assert_eq!(again.target(), head.target());
        assert_eq!(again.version, head.version);
        assert_eq!(again.framing, head.framing, "framing changed when written back");
        assert_eq!(again.head_len, out.len());
        assert_eq!(again.headers.len(), head.headers.len());
    }
    check_body(BodyCursor::new(head.framing), &data[head.head_len..], split);
}

fn check_response(data: &[u8], split: usize) {
    let Ok(Some(head)) = parse_response(data) else { return };
    assert!(head.head_len <= data.len());
    let mut out = Vec::new();
    head.write(&mut out);
    if out.len() <= MAX_HEAD {
        match parse_response(&out) {
            Ok(Some(again)) => {
                assert_eq!(again.status, head.status);
                assert_eq!(again.framing_headers, head.framing_headers);
            }
            other => panic!("a written response head does not parse back: {other:?}\n{}", String::from_utf8_lossy(&out)),
        }
    }
    for kind in [
        RequestKind::default(),
        RequestKind { head: true, ..RequestKind::default() },
        RequestKind { upgrade: true, ..RequestKind::default() },
    ] {
        if let Ok(framing) = response_framing(head.status, head.framing_headers, kind) {
            check_body(BodyCursor::new(framing), &data[head.head_len..], split);
        }
    }
}

/// The body ends at the same byte (or fails the same way) read at once or in `split`-byte
/// pieces.
fn check_body(cursor: BodyCursor, rest: &[u8], split: usize) {
    let mut whole = cursor.clone();
    let at_once = whole.advance(rest);
    let mut piecewise = cursor;
    let mut used = 0;
    let mut outcome = None;
    // An empty read first: a body that needs no bytes is done at once either way.
    for piece in std::iter::once(&rest[..0]).chain(rest.chunks(split)) {
        match piecewise.advance(piece) {
            Ok(p) => {
                assert!(p.consumed <= piece.len());
                used += p.consumed;
                if p.done {
                    outcome = Some(Ok((used, true)));
                    break;
                }
            }
            Err(e) => {
                outcome = Some(Err(e));
                break;
            }
        }
    }
    let outcome = outcome.unwrap_or(Ok((used, false)));
    match (at_once, outcome) {
        (Ok(p), Ok((n, done))) => assert_eq!((p.consumed, p.done), (n, done), "framing depends on how bytes arrive"),
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("whole {a:?} vs pieces {b:?}"),
    }
}

fn check_chunked(data: &[u8], split: usize) {
    let mut whole = ChunkedDecoder::default();
    let at_once = whole.feed(data);
    let mut pieces = ChunkedDecoder::default();
    let mut used = 0;
    let mut result = Ok((0, false));
    for piece in data.chunks(split) {
        match pieces.feed(piece) {
            Ok((n, done)) => {
                used += n;
                result = Ok((used, done));
                if done {
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    assert_eq!(at_once, result, "chunked decoding depends on how bytes arrive");
}

/// A small deterministic generator (xorshift64*), so runs are repeatable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// One to four mutations of `data`: a byte changed, up to 8 bytes removed, one of `tokens`
    /// inserted, a byte appended, and (`duplicate`) a slice repeated, e.g. a header line.
    pub fn mutate(&mut self, data: &mut Vec<u8>, tokens: &[&[u8]], duplicate: bool) {
        for _ in 0..=self.below(4) {
            let at = self.below(data.len() + 1);
            match self.below(if duplicate { 5 } else { 4 }) {
                0 if !data.is_empty() => {
                    let i = at.min(data.len() - 1);
                    data[i] = self.next_u64() as u8;
                }
                1 if !data.is_empty() => {
                    let end = (at + self.below(8)).min(data.len());
                    data.drain(at.min(end)..end);
                }
                2 => {
                    let t = tokens[self.below(tokens.len())];
                    data.splice(at..at, t.iter().copied());
                }
                3 if duplicate && !data.is_empty() => {
                    let start = at.min(data.len() - 1);
                    let end = (start + self.below(24)).min(data.len());
                    let copy = data[start..end].to_vec();
                    data.splice(start..start, copy);
                }
                _ => data.push(self.next_u64() as u8),
            }
        }
    }
}

/// The stable stand-in for cargo-fuzz: `target` over inputs from `generate`, in batches, for
/// `HAKEEPER_FUZZ_SECS` seconds (default 5); returns how many ran (at least one batch).
#[cfg(test)]
pub fn run_generated(seed: u64, batch: u64, mut generate: impl FnMut(&mut Rng) -> Vec<u8>, target: impl Fn(&[u8])) -> u64 {
    use std::time::{Duration, Instant};
    let secs = std::env::var("HAKEEPER_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut rng = Rng::new(seed);
    let mut runs = 0u64;
    while runs == 0 || Instant::now() < deadline {
        for _ in 0..batch {
            target(&generate(&mut rng));
        }
        runs += batch;
    }
    runs
}

/// Inputs the mutations start from: valid and nearly valid messages.
pub const SEEDS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: www.abc.com\r\n\r\n",
    b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
    b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET / HTTP/1.0\nConnection: keep-alive\nX-A: 1, 2\n\n",
    b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.0 404 Not Found\r\n\r\ngone",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
];

/// One input: a seed mutated a few times, or random bytes.
pub fn generate(rng: &mut Rng) -> Vec<u8> {
    if rng.below(10) == 0 {
        let len = rng.below(64);
        return (0..len).map(|_| rng.next_u64() as u8).collect();
    }
    let mut data = SEEDS[rng.below(SEEDS.len())].to_vec();
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b" ",
        b"\t",
        b":",
        b",",
        b";",
        b"0",
        b"chunked",
        b"Content-Length: ",
        b"Transfer-Encoding: ",
        b"\r\n\r\n",
        b"ffffffff",
        b"\x00",
        b"\xff",
    ];
    rng.mutate(&mut data, TOKENS, true);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_pass() {
        for s in SEEDS {
            fuzz_one(s);
        }
    }

    /// The stable stand-in for cargo-fuzz: the same target over generated inputs.
    #[test]
    fn fuzz_target_survives_generated_inputs() {
        let runs = run_generated(0x6861_6b65_6570_6572, 1000, generate, fuzz_one);
        eprintln!("fuzz: {runs} inputs");
    }
}
