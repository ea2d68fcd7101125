//! The keys the HTTP hashing algorithms hash, taken from a request as HAProxy takes them, and
//! HAProxy's default string hash (sdbm). A request without its key (no such header or
//! parameter) is balanced round-robin instead, as HAProxy does.

use super::head::RequestHead;
use super::uri;
use hakeeper_common::config::Balance;

/// `balance uri`: the target up to `?`.
pub fn uri_key(head: &RequestHead) -> &[u8] {
    uri::without_query(head.target())
}

/// `balance hdr(name)`: the whole value of the first `name` line.
pub fn hdr_key<'a>(head: &'a RequestHead, name: &str) -> Option<&'a [u8]> {
    head.headers.get(name).filter(|v| !v.is_empty())
}

/// `balance url_param name`: the value of `name=` in the query string (up to `&`).
pub fn url_param_key<'a>(head: &'a RequestHead, name: &str) -> Option<&'a [u8]> {
    let q = uri::query(head.target())?;
    q.split(|&b| b == b'&').find_map(|pair| {
        let rest = pair.strip_prefix(name.as_bytes())?;
        let value = rest.strip_prefix(b"=")?;
        (!value.is_empty()).then_some(value)
    })
}

/// HAProxy's `hash_sdbm`, its default for map-based hashing.
pub fn sdbm(key: &[u8]) -> u32 {
    key.iter().fold(0u32, |h, &c| u32::from(c).wrapping_add(h << 6).wrapping_add(h << 16).wrapping_sub(h))
}

/// The hash a backend's HTTP algorithm balances this request on; `None` for the algorithms
/// that do not look at the request, and for a request that lacks the key.
pub fn request_hash(balance: &Balance, head: &RequestHead) -> Option<u32> {
    match balance {
        Balance::Uri => Some(sdbm(uri_key(head))),
        Balance::Hdr(name) => hdr_key(head, name).map(sdbm),
        Balance::UrlParam(name) => url_param_key(head, name).map(sdbm),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_request;

    fn head(text: &str) -> RequestHead {
        parse_request(text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn keys_come_from_the_request() {
        let h = head("GET /a/b?user=42&x=1 HTTP/1.1\r\nHost: h\r\nX-Tenant: blue\r\n\r\n");
        assert_eq!(uri_key(&h), b"/a/b");
        assert_eq!(hdr_key(&h, "x-tenant"), Some(&b"blue"[..]));
        assert_eq!(hdr_key(&h, "x-none"), None);
        assert_eq!(url_param_key(&h, "user"), Some(&b"42"[..]));
        assert_eq!(url_param_key(&h, "use"), None);
        assert_eq!(url_param_key(&h, "x"), Some(&b"1"[..]));
        assert_eq!(url_param_key(&head("GET /?user= HTTP/1.1\r\n\r\n"), "user"), None);
        assert_eq!(url_param_key(&head("GET /user=1 HTTP/1.1\r\n\r\n"), "user"), None);
    }

    #[test]
    fn sdbm_matches_haproxy() {
        // hash = c + (hash << 6) + (hash << 16) - hash, over the bytes.
        assert_eq!(sdbm(b""), 0);
        assert_eq!(sdbm(b"a"), 97);
        assert_eq!(sdbm(b"ab"), 98u32.wrapping_add(97 << 6).wrapping_add(97 << 16).wrapping_sub(97));
    }

    #[test]
    fn request_hash_by_algorithm() {
        let h = head("GET /a?k=v HTTP/1.1\r\n\r\n");
        assert_eq!(request_hash(&Balance::Uri, &h), Some(sdbm(b"/a")));
        assert_eq!(request_hash(&Balance::UrlParam("k".into()), &h), Some(sdbm(b"v")));
        assert_eq!(request_hash(&Balance::Hdr("host".into()), &h), None);
        assert_eq!(request_hash(&Balance::Roundrobin, &h), None);
    }
}
