//! A server's HTTP/1.1 response head as an HTTP/2 field list (RFC 9113 §8.2.2, §8.3.2):
//! `:status` first, names lowercase, and no connection-specific field — `connection`,
//! `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, and every field the
//! `connection` header names (RFC 9110 §7.6.1) — as HAProxy's `h2_make_htx_response()`
//! counterpart `h2s_frt_make_resp_headers()` leaves them out.

use crate::http::head::ResponseHead;

const HOP_BY_HOP: [&[u8]; 5] = [b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"];

/// The field list of a response head.
pub fn response_fields(resp: &ResponseHead) -> Vec<(Vec<u8>, Vec<u8>)> {
    let named: Vec<Vec<u8>> = resp.headers.elements("connection").map(|e| e.to_ascii_lowercase()).collect();
    let mut out = vec![(b":status".to_vec(), resp.status.to_string().into_bytes())];
    for (n, v) in resp.headers.iter() {
        let n = n.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&&n[..]) || named.contains(&n) {
            continue;
        }
        out.push((n, v.to_vec()));
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
        let names: Vec<&[u8]> = f.iter().map(|(n, _)| &n[..]).collect();
        assert_eq!(names, [&b":status"[..], b"content-type", b"set-cookie", b"set-cookie"]);
        assert_eq!(f[0].1, b"200");
    }
}
