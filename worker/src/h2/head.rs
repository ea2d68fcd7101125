//! Request heads and trailers of HTTP/2 (RFC 9113 §8.1–§8.3), checked as HAProxy 2.6's
//! `h2_make_htx_request()` and `h2_make_htx_trailers()` check them, or more strictly: a
//! malformed request is a stream error of type PROTOCOL_ERROR (§8.1.1).
//!
//! - names: lowercase, tokens (§8.2.1, RFC 9110 §5.1); values: no NUL, CR or LF, no leading or
//!   trailing space or tab (§8.2.1);
//! - pseudo-headers first, each once, only the request ones (`:protocol` is refused: extended
//!   CONNECT is not announced); none in trailers (§8.3);
//! - no connection-specific field (`connection`, `proxy-connection`, `keep-alive`,
//!   `transfer-encoding`, `upgrade`), `te` only `trailers` (§8.2.2);
//! - `:method`, `:scheme`, `:path` present (non-empty `:path`, `/…` or `*` for OPTIONS) except
//!   for CONNECT, which has `:authority` only (§8.3.1, §8.5);
//! - a `host` that differs from `:authority` is refused (§8.3.1 "SHOULD treat as malformed");
//! - `content-length`: digits, all copies equal (§8.1.1).

use super::hpack::Field;

/// A valid request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Vec<u8>,
    pub scheme: Option<Vec<u8>>,
    pub authority: Option<Vec<u8>>,
    pub path: Option<Vec<u8>>,
    /// The regular fields, in order.
    pub fields: Vec<Field>,
    pub content_length: Option<u64>,
}

/// Why a head or trailer block is malformed (logged; the client gets RST_STREAM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("invalid field name")]
    Name,
    #[error("invalid field value")]
    Value,
    #[error("unknown or repeated pseudo-header")]
    Pseudo,
    #[error("pseudo-header after a regular field")]
    PseudoAfterField,
    #[error("connection-specific field")]
    ConnectionSpecific,
    #[error("te other than trailers")]
    Te,
    #[error("missing or invalid :method, :scheme or :path")]
    Required,
    #[error("host differs from :authority")]
    Host,
    #[error("invalid content-length")]
    ContentLength,
    #[error("pseudo-header in trailers")]
    PseudoInTrailers,
}

const CONNECTION_SPECIFIC: [&[u8]; 5] = [b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"];

/// RFC 9110 §5.6.2 `tchar`, without uppercase letters (§8.2.1).
fn is_name_char(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

fn check_value(v: &[u8]) -> Result<(), Malformed> {
    if v.iter().any(|&c| c == 0 || c == b'\r' || c == b'\n') {
        return Err(Malformed::Value);
    }
    if matches!(v.first(), Some(b' ' | b'\t')) || matches!(v.last(), Some(b' ' | b'\t')) {
        return Err(Malformed::Value);
    }
    Ok(())
}

/// Checks a regular field (name and value) of a head or trailers.
fn check_field(name: &[u8], value: &[u8]) -> Result<(), Malformed> {
    if name.is_empty() || !name.iter().all(|&c| is_name_char(c)) {
        return Err(Malformed::Name);
    }
    check_value(value)?;
    if CONNECTION_SPECIFIC.contains(&name) {
        return Err(Malformed::ConnectionSpecific);
    }
    if name == b"te" && !value.eq_ignore_ascii_case(b"trailers") {
        return Err(Malformed::Te);
    }
    Ok(())
}

fn parse_content_length(v: &[u8]) -> Result<u64, Malformed> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(Malformed::ContentLength);
    }
    std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()).ok_or(Malformed::ContentLength)
}

/// Builds and checks a request head from a decoded field list.
pub fn request(list: Vec<Field>) -> Result<RequestHead, Malformed> {
    let mut head = RequestHead { method: Vec::new(), scheme: None, authority: None, path: None, fields: Vec::new(), content_length: None };
    let mut method = None;
    let mut regular_seen = false;
    for (name, value) in list {
        if name.first() == Some(&b':') {
            if regular_seen {
                return Err(Malformed::PseudoAfterField);
            }
            check_value(&value)?;
            let slot = match &name[..] {
                b":method" => &mut method,
                b":scheme" => &mut head.scheme,
                b":authority" => &mut head.authority,
                b":path" => &mut head.path,
                _ => return Err(Malformed::Pseudo),
            };
            if slot.replace(value).is_some() {
                return Err(Malformed::Pseudo);
            }
            continue;
        }
        regular_seen = true;
        check_field(&name, &value)?;
        if name == b"content-length" {
            let n = parse_content_length(&value)?;
            if head.content_length.is_some_and(|c| c != n) {
                return Err(Malformed::ContentLength);
            }
            head.content_length = Some(n);
        }
        head.fields.push((name, value));
    }
    let method = method.ok_or(Malformed::Required)?;
    if method.is_empty() || !method.iter().all(|&c| c.is_ascii_alphanumeric() || is_name_char(c)) {
        return Err(Malformed::Required);
    }
    if method == b"CONNECT" {
        // §8.5: only :authority.
        if head.scheme.is_some() || head.path.is_some() || head.authority.as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Malformed::Required);
        }
    } else {
        let path = head.path.as_deref().ok_or(Malformed::Required)?;
        let scheme = head.scheme.as_deref().ok_or(Malformed::Required)?;
        if scheme.is_empty() || path.is_empty() {
            return Err(Malformed::Required);
        }
        if (scheme == b"http" || scheme == b"https") && !(path[0] == b'/' || (path == b"*" && method == b"OPTIONS")) {
            return Err(Malformed::Required);
        }
        if path.iter().any(|&c| c <= b' ' || c == 0x7f) {
            return Err(Malformed::Required);
        }
    }
    if let Some(a) = &head.authority {
        if a.iter().any(|&c| c <= b' ' || c == 0x7f || c == b'@' || c == b'/') {
            return Err(Malformed::Required);
        }
        for (n, v) in &head.fields {
            if n == b"host" && !v.eq_ignore_ascii_case(a) {
                return Err(Malformed::Host);
            }
        }
    }
    head.method = method;
    Ok(head)
}

/// Checks a trailer block (§8.1: it ends the stream; §8.3: no pseudo-header).
pub fn trailers(list: Vec<Field>) -> Result<Vec<Field>, Malformed> {
    for (name, value) in &list {
        if name.first() == Some(&b':') {
            return Err(Malformed::PseudoInTrailers);
        }
        check_field(name, value)?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> Vec<Field> {
        pairs.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    const BASE: [(&str, &str); 4] = [(":method", "GET"), (":scheme", "https"), (":authority", "a.test"), (":path", "/x")];

    fn with(extra: &[(&str, &str)]) -> Result<RequestHead, Malformed> {
        let mut l = BASE.to_vec();
        l.extend_from_slice(extra);
        request(list(&l))
    }

    #[test]
    fn a_plain_request_is_accepted() {
        let h = with(&[("accept", "*/*"), ("content-length", "3"), ("te", "trailers"), ("host", "A.test")]).unwrap();
        assert_eq!(h.method, b"GET");
        assert_eq!(h.path.as_deref(), Some(&b"/x"[..]));
        assert_eq!(h.content_length, Some(3));
        assert_eq!(h.fields.len(), 4);
    }

    #[test]
    fn each_malformation_of_rfc9113_8_is_refused() {
        assert_eq!(with(&[("Accept", "x")]), Err(Malformed::Name));
        assert_eq!(with(&[("a b", "x")]), Err(Malformed::Name));
        assert_eq!(with(&[("x", "a\r\nb")]), Err(Malformed::Value));
        assert_eq!(with(&[("x", " a")]), Err(Malformed::Value));
        assert_eq!(with(&[("x", "a\0")]), Err(Malformed::Value));
        assert_eq!(with(&[("x", "1"), (":status", "200")]), Err(Malformed::PseudoAfterField));
        assert_eq!(with(&[(":status", "200")]), Err(Malformed::Pseudo));
        assert_eq!(with(&[(":path", "/y")]), Err(Malformed::Pseudo));
        assert_eq!(with(&[(":protocol", "websocket")]), Err(Malformed::Pseudo));
        for f in ["connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"] {
            assert_eq!(with(&[(f, "x")]), Err(Malformed::ConnectionSpecific), "{f}");
        }
        assert_eq!(with(&[("te", "gzip")]), Err(Malformed::Te));
        assert_eq!(with(&[("host", "b.test")]), Err(Malformed::Host));
        assert_eq!(with(&[("content-length", "1x")]), Err(Malformed::ContentLength));
        assert_eq!(with(&[("content-length", "1"), ("content-length", "2")]), Err(Malformed::ContentLength));
        assert_eq!(with(&[("content-length", "")]), Err(Malformed::ContentLength));
    }

    #[test]
    fn required_pseudo_headers() {
        assert_eq!(request(list(&[(":scheme", "https"), (":path", "/")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "GET"), (":path", "/")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "GET"), (":scheme", "https")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "GET"), (":scheme", "https"), (":path", "")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "GET"), (":scheme", "https"), (":path", "x")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "GET"), (":scheme", "https"), (":path", "*")])), Err(Malformed::Required));
        assert!(request(list(&[(":method", "OPTIONS"), (":scheme", "https"), (":path", "*")])).is_ok());
        assert_eq!(request(list(&[(":method", "GET"), (":scheme", "http"), (":path", "/a b")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "G T"), (":scheme", "http"), (":path", "/")])), Err(Malformed::Required));
    }

    #[test]
    fn connect_has_authority_only() {
        assert!(request(list(&[(":method", "CONNECT"), (":authority", "a.test:443")])).is_ok());
        assert_eq!(request(list(&[(":method", "CONNECT"), (":authority", "a:1"), (":path", "/")])), Err(Malformed::Required));
        assert_eq!(request(list(&[(":method", "CONNECT")])), Err(Malformed::Required));
    }

    #[test]
    fn trailers_refuse_pseudo_headers_and_connection_fields() {
        assert!(trailers(list(&[("x-checksum", "1")])).is_ok());
        assert_eq!(trailers(list(&[(":path", "/")])), Err(Malformed::PseudoInTrailers));
        assert_eq!(trailers(list(&[("connection", "close")])), Err(Malformed::ConnectionSpecific));
    }
}
