//! HAProxy's variable-length integer (`intencode()`/`intdecode()` in `src/peers.c`, described in
//! `doc/peers-v2.0.txt` §I): values below 240 take one byte; above, the first byte carries the
//! low 4 bits ORed with 0xF0, then 7 bits per byte, bit 7 set on every byte but the last.
//!
//! ```text
//!        0 <= X < 240        : 1 byte   [ XXXX XXXX ]
//!      240 <= X < 2288       : 2 bytes  [ 1111 XXXX ] [ 0XXX XXXX ]
//!     2288 <= X < 264432     : 3 bytes  [ 1111 XXXX ] [ 1XXX XXXX ] [ 0XXX XXXX ]
//!     ...                      up to 10 bytes for a 64-bit value
//! ```
//!
//! Departure on purpose: HAProxy's decoder shifts past 64 bits on an endless run of
//! continuation bytes; here an encoding longer than 10 bytes, or one that overflows 64 bits, is
//! an error.

use super::error::DecodeError;

const TWO_BYTES_MIN: u64 = 0xf0;
const TWO_BYTES_MIN_BITS: u32 = 4;
const STOP_BYTE: u64 = 0x80;
const STOP_BIT: u32 = 7;
/// The longest encoding of a 64-bit value.
pub const MAX_LEN: usize = 10;

/// Appends the encoding of `value` to `out`.
pub fn encode(mut value: u64, out: &mut Vec<u8>) {
    if value < TWO_BYTES_MIN {
        out.push(value as u8);
        return;
    }
    out.push((value as u8) | TWO_BYTES_MIN as u8);
    value = (value - TWO_BYTES_MIN) >> TWO_BYTES_MIN_BITS;
    while value >= STOP_BYTE {
        out.push((value as u8) | STOP_BYTE as u8);
        value = (value - STOP_BYTE) >> STOP_BIT;
    }
    out.push(value as u8);
}

/// The encoding of `value`, as a new vector.
pub fn to_vec(value: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(MAX_LEN);
    encode(value, &mut v);
    v
}

/// Decodes one integer at the start of `buf`: the value and the bytes it took.
/// `Truncated` when `buf` ends inside the encoding.
pub fn decode(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    let first = *buf.first().ok_or(DecodeError::Truncated)?;
    let mut value = u64::from(first);
    if value < TWO_BYTES_MIN {
        return Ok((value, 1));
    }
    let mut shift = TWO_BYTES_MIN_BITS;
    let mut at = 1;
    loop {
        let byte = *buf.get(at).ok_or(DecodeError::Truncated)?;
        at += 1;
        if at > MAX_LEN {
            return Err(DecodeError::VarintTooLong);
        }
        let part = u64::from(byte).checked_shl(shift).filter(|p| p >> shift == u64::from(byte));
        value = part.and_then(|p| value.checked_add(p)).ok_or(DecodeError::VarintOverflow)?;
        shift += STOP_BIT;
        if u64::from(byte) < STOP_BYTE {
            return Ok((value, at));
        }
    }
}

/// A cursor over a message body that reads HAProxy's wire types and never reads past the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }

    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let (v, n) = decode(&self.buf[self.at..])?;
        self.at += n;
        Ok(v)
    }

    /// A varint that must fit `limit` (a length or a count taken from the wire).
    pub fn bounded(&mut self, limit: u64, what: &'static str) -> Result<usize, DecodeError> {
        let v = self.varint()?;
        if v > limit {
            return Err(DecodeError::TooLarge { what, value: v, limit });
        }
        Ok(v as usize)
    }

    pub fn u32_be(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(DecodeError::Truncated)?;
        let b = &self.buf[self.at..end];
        self.at = end;
        Ok(b)
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_take_the_documented_lengths() {
        // The table of doc/peers-v2.0.txt §I and PEER_ENC_*BYTES_MIN in peers.c.
        for (value, len) in [
            (0u64, 1),
            (239, 1),
            (240, 2),
            (2287, 2),
            (2288, 3),
            (264_431, 3),
            (264_432, 4),
            (33_818_863, 4),
            (33_818_864, 5),
            (4_328_786_159, 5),
            (4_328_786_160, 6),
            (u64::MAX, 10),
        ] {
            let enc = to_vec(value);
            assert_eq!(enc.len(), len, "{value}");
            assert_eq!(decode(&enc), Ok((value, len)), "{value}");
        }
    }

    #[test]
    fn known_bytes() {
        assert_eq!(to_vec(240), [0xf0, 0x00]);
        assert_eq!(to_vec(255), [0xff, 0x00]);
        assert_eq!(to_vec(256), [0xf0, 0x01]);
        assert_eq!(to_vec(1000), [0xf8, 0x2f]);
    }

    #[test]
    fn truncations_and_garbage_are_errors() {
        for value in [240u64, 5000, 1 << 40, u64::MAX] {
            let enc = to_vec(value);
            for cut in 0..enc.len() {
                assert_eq!(decode(&enc[..cut]), Err(DecodeError::Truncated), "{value} cut at {cut}");
            }
        }
        assert!(decode(&[0xff; 11]).is_err());
        // Ten bytes whose last one overflows 64 bits.
        let mut over = vec![0xff; 9];
        over.push(0x7f);
        assert_eq!(decode(&over), Err(DecodeError::VarintOverflow));
    }

    #[test]
    fn pseudo_random_round_trips() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = x >> (x % 64);
            let enc = to_vec(v);
            assert_eq!(decode(&enc), Ok((v, enc.len())));
        }
    }
}
