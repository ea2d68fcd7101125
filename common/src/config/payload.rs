//! Content samples of a TCP request: `req.payload(off,len)`, `req.payload_lv(off1,len1[,off2])`
//! (HAProxy's `smp_fetch_payload()` and `smp_fetch_payload_lv()`) and how their bytes are
//! matched (`-m bin` by default, hex patterns; `-m str|beg|end|sub|found` on the raw bytes).
//!
//! A fetch may be "not yet decidable": the bytes it needs have not arrived. HAProxy marks such a
//! sample `SMP_F_MAY_CHANGE`, and a `tcp-request content` rule reading it waits (until the
//! inspect delay expires) instead of taking it as a non-match. [`Slice`] says which case holds.

use super::pattern::StrMatcher;
use serde::{Deserialize, Serialize};

/// HAProxy's `tune.bufsize`: a block beyond it can never be in the buffer, so a fetch for it
/// never matches (and never waits).
pub const HAPROXY_BUFSIZE: usize = 16384;

/// Where a payload fetch takes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadAt {
    /// `req.payload(offset,length)`; a length of 0 means "from offset to the end of what is
    /// there".
    Fixed { offset: usize, length: usize },
    /// `req.payload_lv(offset1,length1[,offset2])`: a big-endian length of `length1` bytes at
    /// `offset1`, then a block of that length at `offset2` (absolute), or right after the
    /// length field shifted by `relative` when `offset2` was written with a sign or omitted.
    Lv { len_offset: usize, len_size: usize, block: BlockOffset },
}

/// `offset2` of `req.payload_lv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockOffset {
    /// After the length field, moved by this many bytes (`+N`, `-N`, or 0 when omitted).
    Relative(i64),
    Absolute(usize),
}

/// The result of a fetch on what has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice<'a> {
    /// The sample, and whether more data could still change it (`SMP_F_MAY_CHANGE`).
    Found(&'a [u8], bool),
    /// Not enough data yet (a later read may bring it).
    TooShort,
    /// Can never be fetched (a block beyond the buffer size, an empty length).
    Never,
}

impl PayloadAt {
    /// Fetches from `data`, the request bytes received so far; `closed` says no more can come
    /// (the client's FIN, or a full buffer).
    pub fn fetch<'a>(&self, data: &'a [u8], closed: bool) -> Slice<'a> {
        match *self {
            PayloadAt::Fixed { offset, length } => {
                if length > HAPROXY_BUFSIZE || offset.saturating_add(length) > HAPROXY_BUFSIZE {
                    return Slice::Never;
                }
                if offset + length > data.len() {
                    return Slice::TooShort;
                }
                if length == 0 {
                    // The rest of the buffer: more may arrive while the client can still send.
                    return Slice::Found(&data[offset..], !closed);
                }
                Slice::Found(&data[offset..offset + length], false)
            }
            PayloadAt::Lv { len_offset, len_size, block } => {
                let Some(field) = data.get(len_offset..len_offset.saturating_add(len_size)) else { return Slice::TooShort };
                // HAProxy shifts the bytes into an unsigned int: longer fields keep the low bytes.
                let size = field.iter().fold(0u32, |acc, b| acc.wrapping_shl(8) | u32::from(*b)) as usize;
                let after = len_offset + len_size;
                let start = match block {
                    BlockOffset::Absolute(o) => Some(o),
                    BlockOffset::Relative(d) => usize::try_from(after as i64 + d).ok(),
                };
                let Some(start) = start else { return Slice::Never };
                if size == 0 || size > HAPROXY_BUFSIZE || start.saturating_add(size) > HAPROXY_BUFSIZE {
                    return Slice::Never;
                }
                match data.get(start..start + size) {
                    Some(block) => Slice::Found(block, false),
                    None => Slice::TooShort,
                }
            }
        }
    }
}

/// How payload bytes are compared with the patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BytesMatcher {
    /// `-m bin` (the default for binary samples): patterns written in hex, equal bytes.
    Bin(Vec<Vec<u8>>),
    /// `-m str|beg|end|sub|found`: patterns written as text.
    Str(StrMatcher),
}

impl BytesMatcher {
    pub fn matches(&self, sample: &[u8]) -> bool {
        match self {
            BytesMatcher::Bin(patterns) => patterns.iter().any(|p| p.as_slice() == sample),
            BytesMatcher::Str(m) => m.matches(sample),
        }
    }
}

/// A hex pattern (`160301`, case-insensitive digits), as HAProxy's `pat_parse_bin()` reads it.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("{text:?} is not a hex string (an even number of 0-9, a-f digits)");
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return Err(bad());
    }
    let digit = |c: u8| (c as char).to_digit(16).ok_or_else(bad);
    text.as_bytes().chunks(2).map(|p| Ok((digit(p[0])? * 16 + digit(p[1])?) as u8)).collect()
}

/// Parses the arguments of `req.payload(offset,length)`.
pub fn parse_payload_args(args: &str) -> Result<PayloadAt, String> {
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let [offset, length] = parts.as_slice() else {
        return Err(format!("req.payload({args}): expected two arguments, an offset and a length"));
    };
    Ok(PayloadAt::Fixed { offset: unsigned(offset, "offset")?, length: unsigned(length, "length")? })
}

/// Parses the arguments of `req.payload_lv(offset1,length1[,offset2])`.
pub fn parse_payload_lv_args(args: &str) -> Result<PayloadAt, String> {
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let (len_offset, len_size, block) = match parts.as_slice() {
        [o, l] => (o, l, BlockOffset::Relative(0)),
        [o, l, b] => {
            let block = if b.starts_with('+') || b.starts_with('-') {
                BlockOffset::Relative(b.parse::<i64>().map_err(|_| format!("req.payload_lv: offset2 {b:?} is not an integer"))?)
            } else {
                BlockOffset::Absolute(unsigned(b, "offset2")?)
            };
            (o, l, block)
        }
        _ => return Err(format!("req.payload_lv({args}): expected offset1,length1[,offset2]")),
    };
    let len_size = unsigned(len_size, "length1")?;
    if len_size == 0 {
        return Err("req.payload_lv: length1 must not be 0".into());
    }
    Ok(PayloadAt::Lv { len_offset: unsigned(len_offset, "offset1")?, len_size, block })
}

fn unsigned(text: &str, what: &str) -> Result<usize, String> {
    text.parse::<usize>().map_err(|_| format!("payload {what} {text:?} is not a non-negative integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_payload_waits_for_its_bytes() {
        let at = parse_payload_args("0,3").unwrap();
        assert_eq!(at.fetch(b"\x16\x03", false), Slice::TooShort);
        assert_eq!(at.fetch(b"\x16\x03\x01\x02", false), Slice::Found(b"\x16\x03\x01", false));
        let rest = parse_payload_args("2,0").unwrap();
        assert_eq!(rest.fetch(b"abcd", false), Slice::Found(b"cd", true), "the rest may still grow");
        assert_eq!(rest.fetch(b"abcd", true), Slice::Found(b"cd", false));
        assert_eq!(rest.fetch(b"a", false), Slice::TooShort);
        assert_eq!(parse_payload_args("16380,10").unwrap().fetch(b"", false), Slice::Never, "beyond the buffer");
        assert!(parse_payload_args("1").is_err() && parse_payload_args("-1,2").is_err() && parse_payload_args("a,2").is_err());
    }

    #[test]
    fn length_value_payload_as_haproxy_reads_it() {
        // A one-byte length at 1, then the block right after it.
        let lv = parse_payload_lv_args("1,1").unwrap();
        assert_eq!(lv.fetch(b"X\x03abcZ", false), Slice::Found(b"abc", false));
        assert_eq!(lv.fetch(b"X\x03ab", false), Slice::TooShort);
        assert_eq!(lv.fetch(b"X", false), Slice::TooShort);
        assert_eq!(lv.fetch(b"X\x00", false), Slice::Never, "an empty block never matches");
        // Two-byte big-endian length, block 1 byte after the field, or at an absolute offset.
        let rel = parse_payload_lv_args("0,2,+1").unwrap();
        assert_eq!(rel.fetch(b"\x00\x02_hi", false), Slice::Found(b"hi", false));
        let abs = parse_payload_lv_args("0,1,4").unwrap();
        assert_eq!(abs.fetch(b"\x02...ok", false), Slice::Found(b"ok", false));
        let back = parse_payload_lv_args("2,1,-3").unwrap();
        assert_eq!(back.fetch(b"ab\x02", false), Slice::Found(b"ab", false));
        assert!(parse_payload_lv_args("0,0").is_err() && parse_payload_lv_args("0").is_err());
    }

    #[test]
    fn hex_patterns() {
        assert_eq!(parse_hex("160301").unwrap(), vec![0x16, 0x03, 0x01]);
        assert_eq!(parse_hex("5353482D").unwrap(), b"SSH-".to_vec());
        assert!(parse_hex("123").is_err() && parse_hex("zz").is_err() && parse_hex("").is_err());
        let m = BytesMatcher::Bin(vec![parse_hex("16").unwrap()]);
        assert!(m.matches(&[0x16]) && !m.matches(&[0x16, 0x03]));
    }
}
