//! A stats request read from the bytes a client sent so far, with the proxy's head parser
//! (`http::head`, HAProxy's rules) and the limits of an HAProxy frontend: the head must fit in
//! one buffer and the admin form's body in [`MAX_BODY`]. No I/O here: the front feeds bytes in,
//! and this says whether to read more, answer, or refuse.

use super::form::MAX_BODY;
use crate::http::framing::BodyFraming;
use crate::http::head::{self, RequestHead};

/// HAProxy's `tune.bufsize` (16384) less `tune.maxrewrite` (1024): the largest request head it
/// accepts; a longer one is refused at once.
pub const MAX_HEAD: usize = 16 * 1024 - 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request target as sent (lossy UTF-8).
    pub target: String,
    pub authorization: Option<String>,
    /// A POST's body; empty for other methods, whose body is not read.
    pub body: Vec<u8>,
}

/// What the bytes read so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The head is not complete: read more, at most up to [`MAX_HEAD`] bytes in all.
    Head,
    /// The head is complete (`request`, with no body yet); the request ends at byte `end`.
    Body {
        end: usize,
        expect_continue: bool,
        request: Request,
    },
    Complete(Request),
    /// Answer with this status and close: a malformed or oversized head (400/431, as the proxy
    /// answers), a POST body with no length (411) or over [`MAX_BODY`] (413).
    Refused(u16),
}

/// Reads `buf`, the bytes received on a connection so far.
pub fn read(buf: &[u8]) -> Progress {
    let head = match head::parse_request(buf) {
        Ok(Some(h)) if h.head_len <= MAX_HEAD => h,
        Ok(Some(_)) => return Progress::Refused(431),
        Ok(None) if buf.len() >= MAX_HEAD => return Progress::Refused(431),
        Ok(None) => return Progress::Head,
        Err(e) => return Progress::Refused(e.request_status()),
    };
    let method = match head.method() {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        b"POST" => Method::Post,
        _ => Method::Other,
    };
    let mut request = request(&head, method, Vec::new());
    if method == Method::Post {
        let len = match head.framing {
            BodyFraming::None => 0,
            BodyFraming::Length(n) => match usize::try_from(n) {
                Ok(n) if n <= MAX_BODY => n,
                _ => return Progress::Refused(413),
            },
            // The form is small: a browser sends its length.
            _ => return Progress::Refused(411),
        };
        let end = head.head_len + len;
        match buf.get(head.head_len..end) {
            Some(b) => request.body = b.to_vec(),
            None => return Progress::Body { end, expect_continue: head.expect_continue, request },
        }
    }
    Progress::Complete(request)
}

fn request(head: &RequestHead, method: Method, body: Vec<u8>) -> Request {
    Request {
        method,
        target: String::from_utf8_lossy(head.target()).into_owned(),
        authorization: head.headers.get("authorization").map(|v| String::from_utf8_lossy(v).into_owned()),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(p: Progress) -> Request {
        match p {
            Progress::Complete(r) => r,
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn a_get_is_complete_with_its_target_and_credentials() {
        let r = complete(read(b"GET /admin;csv HTTP/1.1\r\nHost: x\r\nAuthorization: Basic bWxkbjpqYXZh\r\n\r\n"));
        assert_eq!((r.method, r.target.as_str(), r.authorization.as_deref()), (Method::Get, "/admin;csv", Some("Basic bWxkbjpqYXZh")));
        assert_eq!(complete(read(b"HEAD / HTTP/1.0\r\n\r\n")).method, Method::Head);
        assert_eq!(complete(read(b"DELETE / HTTP/1.1\r\n\r\n")).method, Method::Other);
    }

    #[test]
    fn a_partial_head_asks_for_more() {
        assert_eq!(read(b""), Progress::Head);
        assert_eq!(read(b"GET /admin HTTP/1.1\r\nHost: x\r\n"), Progress::Head);
    }

    #[test]
    fn a_post_waits_for_its_whole_body() {
        let head = b"POST /admin HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n";
        let end = head.len() + 10;
        match read(head) {
            Progress::Body { end: e, expect_continue: true, request } => {
                assert_eq!((e, request.method, request.target.as_str(), request.body.len()), (end, Method::Post, "/admin", 0));
            }
            other => panic!("{other:?}"),
        }
        let mut all = head.to_vec();
        all.extend_from_slice(b"b=web&s=a1");
        all.extend_from_slice(b"trailing bytes are not read");
        assert_eq!(complete(read(&all)).body, b"b=web&s=a1");
    }

    #[test]
    fn oversized_or_malformed_heads_are_refused() {
        let mut big = b"GET /admin HTTP/1.1\r\nX-Big: ".to_vec();
        big.resize(MAX_HEAD, b'a');
        assert_eq!(read(&big), Progress::Refused(431), "no end of head within the limit");
        let mut long = b"GET /admin HTTP/1.1\r\nX-Big: ".to_vec();
        long.resize(MAX_HEAD + 10, b'a');
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(read(&long), Progress::Refused(431), "a complete head over the limit");
        let mut fits = b"GET /admin HTTP/1.1\r\nX-Big: ".to_vec();
        fits.resize(MAX_HEAD - 4, b'a');
        fits.extend_from_slice(b"\r\n\r\n");
        assert_eq!(complete(read(&fits)).method, Method::Get, "a head of exactly the limit");
        assert_eq!(read(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"), Progress::Refused(400));
        assert_eq!(read(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), Progress::Refused(400));
    }

    #[test]
    fn post_bodies_need_a_length_within_the_form_limit() {
        assert_eq!(read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Progress::Refused(411));
        let huge = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert_eq!(read(huge.as_bytes()), Progress::Refused(413));
        assert_eq!(read(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), Progress::Refused(400));
        assert_eq!(complete(read(b"POST / HTTP/1.1\r\n\r\n")).body, b"");
        // A GET's body is not read.
        assert_eq!(complete(read(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")).body, b"");
    }
}
