//! HPACK (RFC 7541). Decoding uses the `loona-hpack` crate (the maintained fork of `hpack`,
//! with a bounded dynamic table and errors instead of panics on bad input) and adds the bounds
//! of `limits.rs`: a decoded list larger than `max_list` or with more than `max_fields` fields
//! is an HPACK bomb. The whole block is still decoded so that the dynamic table stays in step.
//!
//! Encoding is ours and, like HAProxy's `hpack-enc.c`, uses only the static table: fields are
//! sent as "literal without indexing" (with the static name index where there is one). No
//! dynamic table means no state to keep in step with the client's SETTINGS_HEADER_TABLE_SIZE,
//! and nothing for a client to make us remember.

use loona_hpack::Decoder as LoonaDecoder;

/// A decoded field: name and value, as bytes.
pub type Field = (Vec<u8>, Vec<u8>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Bad HPACK: a COMPRESSION_ERROR of the connection (RFC 9113 §4.3).
    Compression,
    /// The decoded list passes the bound.
    TooLarge,
}

pub struct Decoder {
    inner: LoonaDecoder<'static>,
    max_list: usize,
    max_fields: usize,
}

impl Decoder {
    /// `table_size` is our SETTINGS_HEADER_TABLE_SIZE; a size update above it is an error.
    pub fn new(table_size: u32, max_list: usize, max_fields: usize) -> Decoder {
        let mut inner = LoonaDecoder::new();
        let size = table_size as usize;
        inner.set_max_allowed_table_size(size);
        inner.set_max_table_size(size);
        Decoder { inner, max_list, max_fields }
    }

    /// Decodes one complete field block. The size of a field is counted as RFC 9113 §6.5.2
    /// counts it for SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32.
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, DecodeError> {
        // A request's usual handful of fields without growing.
        let mut fields = Vec::with_capacity(16);
        let mut size = 0usize;
        let mut over = false;
        let (max_list, max_fields) = (self.max_list, self.max_fields);
        self.inner
            .decode_with_cb(block, |n, v| {
                size = size.saturating_add(n.len() + v.len() + 32);
                if over || size > max_list || fields.len() >= max_fields {
                    over = true;
                    return;
                }
                fields.push((n.into_owned(), v.into_owned()));
            })
            .map_err(|_| DecodeError::Compression)?;
        if over {
            return Err(DecodeError::TooLarge);
        }
        Ok(fields)
    }
}

/// RFC 7541 Appendix A: the static table, index 1..=61.
const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// RFC 7541 §5.1: an integer with an N-bit prefix; `first` holds the pattern bits above it.
fn put_int(out: &mut Vec<u8>, first: u8, prefix_bits: u8, mut v: usize) {
    let max = (1usize << prefix_bits) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// RFC 7541 §5.2, without Huffman coding.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// Encodes a field list (names already lowercase) into a field block.
pub fn encode<'a>(fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    // Room for most blocks at once: literals are their bytes and a few of prefix.
    let mut out = Vec::with_capacity(256);
    for (name, value) in fields {
        if let Some(i) = STATIC.iter().position(|(n, v)| n.as_bytes() == name && !v.is_empty() && v.as_bytes() == value) {
            // §6.1 indexed field.
            put_int(&mut out, 0x80, 7, i + 1);
            continue;
        }
        // §6.2.2 literal without indexing.
        match STATIC.iter().position(|(n, _)| n.as_bytes() == name) {
            Some(i) => put_int(&mut out, 0x00, 4, i + 1),
            None => {
                out.push(0x00);
                put_str(&mut out, name);
            }
        }
        put_str(&mut out, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7541_c3_requests_decode_with_the_dynamic_table() {
        // RFC 7541 C.3.1 and C.3.2 (requests without Huffman coding).
        let mut d = Decoder::new(4096, 16384, 101);
        let a = d
            .decode(&[
                0x82, 0x86, 0x84, 0x41, 0x0f, b'w', b'w', b'w', b'.', b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c', b'o', b'm',
            ])
            .unwrap();
        assert_eq!(a[3], (b":authority".to_vec(), b"www.example.com".to_vec()));
        let b = d.decode(&[0x82, 0x86, 0x84, 0xbe, 0x58, 0x08, b'n', b'o', b'-', b'c', b'a', b'c', b'h', b'e']).unwrap();
        assert_eq!(b[3], (b":authority".to_vec(), b"www.example.com".to_vec()));
        assert_eq!(b[4], (b"cache-control".to_vec(), b"no-cache".to_vec()));
    }

    #[test]
    fn bad_index_and_size_update_above_our_setting_are_compression_errors() {
        let mut d = Decoder::new(4096, 16384, 101);
        assert_eq!(d.decode(&[0x80 | 70]), Err(DecodeError::Compression));
        let mut d = Decoder::new(4096, 16384, 101);
        // Dynamic table size update to 8192 (001 prefix, 5 bits): 0x3f 0xe1 0x3f.
        assert_eq!(d.decode(&[0x3f, 0xe1, 0x3f, 0x82]), Err(DecodeError::Compression));
        // Truncated literal.
        assert_eq!(Decoder::new(4096, 16384, 101).decode(&[0x00, 0x05, b'a']), Err(DecodeError::Compression));
    }

    #[test]
    fn h2spec_hpack_cases_are_compression_errors() {
        let d = || Decoder::new(4096, 16384, 101);
        // Index 0 (RFC 7541 §6.1).
        assert_eq!(d().decode(&[0x80]), Err(DecodeError::Compression));
        // A dynamic table size update at the end of a block (§4.2).
        assert_eq!(d().decode(&[0x82, 0x20]), Err(DecodeError::Compression));
        // Huffman: padding longer than 7 bits, and padding that is not EOS's prefix (§5.2).
        assert_eq!(d().decode(&[0x00, 0x81, b'a', 0x82, 0x1c, 0xff]), Err(DecodeError::Compression));
        assert_eq!(d().decode(&[0x00, 0x81, b'a', 0x81, 0x00]), Err(DecodeError::Compression));
        // A string length past the block.
        assert_eq!(d().decode(&[0x00, 0x81, b'a', 0x7f, 0x80, 0x01]), Err(DecodeError::Compression));
        // An integer of too many octets.
        assert_eq!(d().decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Err(DecodeError::Compression));
    }

    #[test]
    fn an_hpack_bomb_is_refused_after_decoding_the_whole_block() {
        // One 4000-byte value stored in the dynamic table, then referenced 100 times: 100 bytes
        // on the wire that would decode to 400 kB.
        let mut d = Decoder::new(4096, 16384, 1000);
        let mut block = vec![0x40, 0x01, b'x', 0x7f];
        let mut len = Vec::new();
        put_int(&mut len, 0, 7, 4000);
        block.truncate(3);
        block.extend_from_slice(&len);
        block.extend(std::iter::repeat_n(b'a', 4000));
        assert_eq!(d.decode(&block).unwrap().len(), 1);
        let refs = vec![0x80 | 62; 100];
        assert_eq!(d.decode(&refs), Err(DecodeError::TooLarge));
        // The table is still in step: one reference still decodes.
        assert_eq!(d.decode(&[0x80 | 62]).unwrap()[0].1.len(), 4000);
    }

    #[test]
    fn too_many_fields_is_too_large() {
        let mut d = Decoder::new(4096, 1 << 20, 3);
        assert_eq!(d.decode(&[0x82, 0x86, 0x84, 0x82]), Err(DecodeError::TooLarge));
    }

    #[test]
    fn our_encoding_uses_the_static_table_only_and_decodes_back() {
        let fields: Vec<(&[u8], &[u8])> =
            vec![(b":status", b"200"), (b":status", b"302"), (b"content-type", b"text/plain"), (b"x-long", &[b'v'; 300])];
        let block = encode(fields.iter().copied());
        assert_eq!(block[0], 0x88);
        // Decoded by a decoder whose dynamic table is 0: nothing of ours indexes.
        let got = Decoder::new(0, 1 << 20, 101).decode(&block).unwrap();
        let want: Vec<Field> = fields.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn integers_follow_rfc7541_c1() {
        let mut v = Vec::new();
        put_int(&mut v, 0, 5, 10);
        assert_eq!(v, [10]);
        v.clear();
        put_int(&mut v, 0, 5, 1337);
        assert_eq!(v, [31, 154, 10]);
    }
}
