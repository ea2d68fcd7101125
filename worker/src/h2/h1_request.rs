//! A stream's request as an HTTP/1.1 request (RFC 9113 §8.3.1 to RFC 9112), the way HAProxy
//! 2.6 turns an H2 request into HTX and then into HTTP/1.1 for a server:
//!
//! - the request line from `:method` and `:path` (the authority for CONNECT);
//! - `host` from `:authority` first (a `host` field is dropped: `head.rs` made sure it was the
//!   same), else the `host` field as sent;
//! - `cookie` fields joined into one with `"; "` (§8.2.3);
//! - body framing: `content-length` kept when the client sent it; no body when the HEADERS
//!   frame ended the stream; otherwise `transfer-encoding: chunked`, and trailers go in the
//!   last chunk.
//!
//! The bytes are then read by `http::head::parse_request`, so every HTTP/1.1 rule, ACL, header
//! rule, cookie and log applies to a stream exactly as to an HTTP/1.1 request — and nothing
//! reaches a server that an HTTP/1.1 client could not have sent.

use super::head::RequestHead;
use super::hpack::Field;

/// How the body of the converted request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    Length(u64),
    Chunked,
}

/// The HTTP/1.1 head of a request, and how its body follows.
pub fn request_head(head: &RequestHead, end_stream: bool) -> (Vec<u8>, BodyFraming) {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&head.method);
    out.push(b' ');
    if head.method == b"CONNECT" {
        out.extend_from_slice(head.authority.as_deref().unwrap_or_default());
    } else {
        out.extend_from_slice(head.path.as_deref().unwrap_or(b"/"));
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let line = |out: &mut Vec<u8>, n: &[u8], v: &[u8]| {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    };
    if let Some(a) = head.authority.as_deref().filter(|a| !a.is_empty()) {
        line(&mut out, b"host", a);
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    for (n, v) in &head.fields {
        match &n[..] {
            b"host" if head.authority.is_some() => {}
            b"cookie" => cookies.push(v),
            _ => line(&mut out, n, v),
        }
    }
    if !cookies.is_empty() {
        line(&mut out, b"cookie", &cookies.join(&b"; "[..]));
    }
    let framing = match head.content_length {
        Some(n) => BodyFraming::Length(n),
        None if end_stream => BodyFraming::None,
        None => {
            line(&mut out, b"transfer-encoding", b"chunked");
            BodyFraming::Chunked
        }
    };
    out.extend_from_slice(b"\r\n");
    (out, framing)
}

/// One DATA frame's bytes as a chunk (nothing for an empty frame: a zero chunk would end the
/// body).
pub fn chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk, with the trailers if any (RFC 9112 §7.1.2).
pub fn last_chunk(trailers: &[Field], out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n");
    for (n, v) in trailers {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::head;

    fn req(pairs: &[(&str, &str)]) -> RequestHead {
        head::request(pairs.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()).unwrap()
    }

    fn parsed(bytes: &[u8]) -> crate::http::head::RequestHead {
        crate::http::head::parse_request(bytes).unwrap().unwrap()
    }

    #[test]
    fn host_from_authority_and_cookies_joined() {
        let h = req(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "a.test"),
            (":path", "/p?q=1"),
            ("cookie", "a=1"),
            ("accept", "*/*"),
            ("cookie", "b=2"),
            ("host", "a.test"),
        ]);
        let (bytes, framing) = request_head(&h, true);
        assert_eq!(framing, BodyFraming::None);
        assert_eq!(String::from_utf8_lossy(&bytes), "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n");
        let p = parsed(&bytes);
        assert_eq!((p.method(), p.target(), p.headers.get("host")), (&b"GET"[..], &b"/p?q=1"[..], Some(&b"a.test"[..])));
    }

    #[test]
    fn a_body_of_unknown_length_is_chunked_with_its_trailers() {
        let h = req(&[(":method", "POST"), (":scheme", "http"), (":authority", "a.test"), (":path", "/up")]);
        let (mut bytes, framing) = request_head(&h, false);
        assert_eq!(framing, BodyFraming::Chunked);
        let head_len = bytes.len();
        chunk(b"hello", &mut bytes);
        chunk(b"", &mut bytes);
        last_chunk(&[(b"x-sum".to_vec(), b"5".to_vec())], &mut bytes);
        assert_eq!(&bytes[head_len..], b"5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n");
        let p = parsed(&bytes);
        assert!(matches!(p.framing, crate::http::framing::BodyFraming::Chunked));
    }

    #[test]
    fn a_declared_length_is_kept() {
        let h = req(&[(":method", "PUT"), (":scheme", "http"), (":authority", "a.test"), (":path", "/"), ("content-length", "3")]);
        let (bytes, framing) = request_head(&h, false);
        assert_eq!(framing, BodyFraming::Length(3));
        assert!(!String::from_utf8_lossy(&bytes).contains("chunked"));
        assert!(matches!(parsed(&bytes).framing, crate::http::framing::BodyFraming::Length(3)));
    }

    #[test]
    fn connect_uses_the_authority_form() {
        let h = req(&[(":method", "CONNECT"), (":authority", "b.test:443")]);
        let (bytes, _) = request_head(&h, false);
        assert!(bytes.starts_with(b"CONNECT b.test:443 HTTP/1.1\r\nhost: b.test:443\r\n"));
    }
}
