//! A server's HTTP/1.1 response head as an HTTP/2 field list (RFC 9113 §8.2.2, §8.3.2):
//! `:status` first, names lowercase, and no connection-specific field — `connection`,
//! `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, and every field the
//! `connection` header names (RFC 9110 §7.6.1) — as HAProxy's `h2_make_htx_response()`
//! counterpart `h2s_frt_make_resp_headers()` leaves them out.

use crate::http::head::ResponseHead;

const HOP_BY_HOP: [&[u8]; 5] = [b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"];

/// A field list in one buffer (names lowercase), so that a response head costs two
/// allocations rather than two per field.
#[derive(Debug, Default)]
pub struct FieldList {
    bytes: Vec<u8>,
    /// Where each field's name and value end in `bytes`; a name starts where the previous
    /// value ended.
    ends: Vec<(usize, usize)>,
}

impl FieldList {
    fn with_capacity(bytes: usize, fields: usize) -> FieldList {
        FieldList { bytes: Vec::with_capacity(bytes), ends: Vec::with_capacity(fields) }
    }

    /// Appends a field, its name lowered.
    fn push(&mut self, name: &[u8], value: &[u8]) {
        self.bytes.extend(name.iter().map(u8::to_ascii_lowercase));
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((name_end, self.bytes.len()));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(_, v)| v));
        starts.zip(&self.ends).map(|(start, &(n, v))| (&self.bytes[start..n], &self.bytes[n..v]))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The field list of a response head.
pub fn response_fields(resp: &ResponseHead) -> FieldList {
    let size: usize = resp.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    let mut out = FieldList::with_capacity(size + 10, resp.headers.iter().count() + 1);
    let st = resp.status;
    if (100..1000).contains(&st) {
        out.push(b":status", &[b'0' + (st / 100) as u8, b'0' + (st / 10 % 10) as u8, b'0' + (st % 10) as u8]);
    } else {
        out.push(b":status", st.to_string().as_bytes());
    }
    for (n, v) in resp.headers.iter() {
        let hop = HOP_BY_HOP.iter().any(|h| n.eq_ignore_ascii_case(h));
        if hop || resp.headers.elements("connection").any(|e| e.eq_ignore_ascii_case(n)) {
            continue;
        }
        out.push(n, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_fields_are_dropped() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
        let resp = crate::http::head::parse_response(raw).unwrap().unwrap();
        let f = response_fields(&resp);
        let names: Vec<&[u8]> = f.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b":status"[..], b"content-type", b"set-cookie", b"set-cookie"]);
        let values: Vec<&[u8]> = f.iter().map(|(_, v)| v).collect();
        assert_eq!(values, [&b"200"[..], b"text/plain", b"a=1", b"b=2"]);
        assert_eq!(f.len(), 4);
    }
}
