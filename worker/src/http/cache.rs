//! Whether a response may be stored by a shared cache, as HAProxy judges it for `cookie ...
//! nocache`: a response that carries a persistence cookie must not be cached and served to
//! other clients, so HAProxy marks the cacheable ones `Cache-control: private`.

use super::head::{RequestHead, ResponseHead};

/// Statuses cacheable by default (RFC 9110 section 15.1).
const HEURISTIC: &[u16] = &[200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501];

/// HAProxy 2.6's `http_check_response_for_cacheability()`, directive by directive.
pub fn is_cacheable(req: &RequestHead, resp: &ResponseHead) -> bool {
    if !matches!(req.method(), b"GET" | b"HEAD") || !HEURISTIC.contains(&resp.status) {
        return false;
    }
    if resp.headers.elements("pragma").any(|v| v.eq_ignore_ascii_case(b"no-cache")) {
        return false;
    }
    // Directives apply in order, as HAProxy reads them.
    let mut cacheable = true;
    let mut freshness = false;
    let mut null_max_age = false;
    for directive in resp.headers.elements("cache-control") {
        let lower = directive.to_ascii_lowercase();
        match lower.as_slice() {
            b"public" => cacheable = true,
            // May still be overridden by an s-maxage.
            b"max-age=0" => null_max_age = true,
            b"private" | b"no-cache" | b"no-store" | b"s-maxage=0" => cacheable = false,
            d if d.starts_with(b"private=") || d.starts_with(b"no-cache=") => cacheable = false,
            d if d.starts_with(b"s-maxage") => {
                freshness = true;
                null_max_age = false;
            }
            d if d.starts_with(b"max-age") => freshness = true,
            _ => {}
        }
    }
    if null_max_age {
        cacheable = false;
    }
    freshness = freshness || resp.headers.get("expires").is_some();
    // RFC 7234 section 3, as HAProxy applies it: no explicit lifetime and no validator means no
    // shared cache will store it, so it needs no `Cache-control: private` either.
    let validator = resp.headers.get("etag").is_some() || resp.headers.get("last-modified").is_some();
    cacheable && (freshness || validator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_request, parse_response};

    fn judge(method: &str, resp: &str) -> bool {
        let req = parse_request(format!("{method} / HTTP/1.1\r\n\r\n").as_bytes()).unwrap().unwrap();
        let resp = parse_response(resp.as_bytes()).unwrap().unwrap();
        is_cacheable(&req, &resp)
    }

    #[test]
    fn cacheability() {
        assert!(!judge("GET", "HTTP/1.1 200 OK\r\n\r\n"), "no lifetime and no validator: nothing to protect");
        assert!(judge("GET", "HTTP/1.1 200 OK\r\nLast-Modified: Tue, 24 Nov 2026 10:00:00 GMT\r\n\r\n"));
        assert!(judge("GET", "HTTP/1.1 200 OK\r\nETag: \"x\"\r\n\r\n"));
        assert!(judge("GET", "HTTP/1.1 200 OK\r\nExpires: Tue, 24 Nov 2026 10:00:00 GMT\r\n\r\n"));
        assert!(judge("HEAD", "HTTP/1.1 404 Not Found\r\nETag: \"x\"\r\n\r\n"));
        assert!(!judge("POST", "HTTP/1.1 200 OK\r\nETag: \"x\"\r\n\r\n"));
        assert!(!judge("GET", "HTTP/1.1 302 Found\r\nETag: \"x\"\r\n\r\n"));
        assert!(!judge("GET", "HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\nETag: \"x\"\r\n\r\n"));
        assert!(judge("GET", "HTTP/1.1 200 OK\r\nCache-Control: max-age=0, s-maxage=30\r\n\r\n"), "s-maxage overrides");
        assert!(!judge("GET", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, Private\r\n\r\n"));
        assert!(!judge("GET", "HTTP/1.1 200 OK\r\nCache-Control: no-cache=\"set-cookie\"\r\n\r\n"));
        assert!(!judge("GET", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\n\r\n"));
        assert!(!judge("GET", "HTTP/1.1 200 OK\r\nCache-Control: public, no-cache\r\n\r\n"));
        assert!(!judge("GET", "HTTP/1.1 302 Found\r\nCache-Control: public\r\n\r\n"), "status first");
        assert!(judge("GET", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n"));
    }
}
