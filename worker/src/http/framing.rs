//! How a message's body is delimited, decided from its head with HAProxy's (and RFC 9112's)
//! rules, strictly enough that the proxy and the server can never disagree on where a request
//! ends (no request smuggling):
//!
//! - Content-Length must be digits; repeated values (lines or list elements) must all agree.
//! - Transfer-Encoding must end with `chunked`, once; a request may not carry both it and
//!   Content-Length, nor carry it in HTTP/1.0.
//! - A response with Transfer-Encoding loses its Content-Length (TE wins), and without
//!   `chunked` last it runs until the server closes.

use super::headers::Headers;
use super::HeadError;

/// How the body that follows a head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: a request without Content-Length/Transfer-Encoding; a response to HEAD; 1xx,
    /// 204, 304.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, up to and including the last chunk and trailers.
    Chunked,
    /// A response body that ends when the server closes its connection.
    UntilClose,
    /// After `101 Switching Protocols` (or a 2xx answer to CONNECT): bytes flow both ways
    /// unframed until one side closes.
    Tunnel,
}

/// What the Transfer-Encoding lines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    Absent,
    /// `chunked` is the last coding.
    Chunked,
    /// Codings without `chunked` last (only valid in responses: read until close).
    Other,
}

/// The framing headers of a message, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramingHeaders {
    pub content_length: Option<u64>,
    pub transfer: Transfer,
}

/// Reads Content-Length and Transfer-Encoding; `is_request` applies the stricter request rules.
pub fn framing_headers(h: &Headers, is_request: bool, http10: bool) -> Result<FramingHeaders, HeadError> {
    let mut content_length = None;
    for v in h.get_all("content-length") {
        for element in v.split(|&b| b == b',') {
            let n = parse_length(super::headers::trim(element)).ok_or(HeadError::BadContentLength)?;
            match content_length {
                Some(prev) if prev != n => return Err(HeadError::ConflictingContentLength),
                _ => content_length = Some(n),
            }
        }
    }
    let mut transfer = Transfer::Absent;
    let mut chunked_seen = false;
    for coding in h.elements("transfer-encoding") {
        if chunked_seen {
            // Anything after `chunked` (including a second `chunked`) is invalid.
            return Err(HeadError::BadTransferEncoding);
        }
        if coding.eq_ignore_ascii_case(b"chunked") {
            chunked_seen = true;
            transfer = Transfer::Chunked;
        } else {
            transfer = Transfer::Other;
        }
    }
    if transfer == Transfer::Absent && h.contains("transfer-encoding") {
        // Present but empty.
        return Err(HeadError::BadTransferEncoding);
    }
    if transfer != Transfer::Absent {
        if is_request && content_length.is_some() {
            return Err(HeadError::ContentLengthAndChunked);
        }
        if is_request && (transfer == Transfer::Other || http10) {
            return Err(HeadError::BadTransferEncoding);
        }
        if !is_request && http10 {
            return Err(HeadError::BadTransferEncoding);
        }
    }
    Ok(FramingHeaders { content_length, transfer })
}

/// `1*DIGIT`, no sign, no blanks, fitting in 63 bits.
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// A request's body framing.
pub fn request_framing(f: FramingHeaders) -> BodyFraming {
    match (f.transfer, f.content_length) {
        (Transfer::Chunked, _) => BodyFraming::Chunked,
        (_, Some(0)) | (_, None) => BodyFraming::None,
        (_, Some(n)) => BodyFraming::Length(n),
    }
}

/// What a response's framing depends on in its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestKind {
    pub head: bool,
    pub connect: bool,
    /// The request asked for a protocol switch (`Connection: upgrade` and `Upgrade:`).
    pub upgrade: bool,
}

/// A response's body framing (RFC 9112 section 6.3, in order).
pub fn response_framing(status: u16, f: FramingHeaders, req: RequestKind) -> Result<BodyFraming, HeadError> {
    Ok(match status {
        101 if req.upgrade => BodyFraming::Tunnel,
        101 => return Err(HeadError::UnexpectedSwitch),
        100..=199 | 204 | 304 => BodyFraming::None,
        200..=299 if req.connect => BodyFraming::Tunnel,
        _ if req.head => BodyFraming::None,
        _ => match (f.transfer, f.content_length) {
            (Transfer::Chunked, _) => BodyFraming::Chunked,
            (Transfer::Other, _) => BodyFraming::UntilClose,
            (Transfer::Absent, Some(n)) => BodyFraming::Length(n),
            (Transfer::Absent, None) => BodyFraming::UntilClose,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::default();
        for (n, v) in lines {
            h.append(n.as_bytes(), v.as_bytes());
        }
        h
    }

    fn req(lines: &[(&str, &str)]) -> Result<BodyFraming, HeadError> {
        framing_headers(&h(lines), true, false).map(request_framing)
    }

    #[test]
    fn request_lengths() {
        assert_eq!(req(&[]), Ok(BodyFraming::None));
        assert_eq!(req(&[("Content-Length", "0")]), Ok(BodyFraming::None));
        assert_eq!(req(&[("Content-Length", "12")]), Ok(BodyFraming::Length(12)));
        assert_eq!(req(&[("Content-Length", "12"), ("content-length", "12")]), Ok(BodyFraming::Length(12)));
        assert_eq!(req(&[("Content-Length", "12, 12")]), Ok(BodyFraming::Length(12)));
        assert_eq!(req(&[("Content-Length", "12"), ("Content-Length", "13")]), Err(HeadError::ConflictingContentLength));
        assert_eq!(req(&[("Content-Length", "12,13")]), Err(HeadError::ConflictingContentLength));
        for bad in ["", "-1", "+5", "1 2", "0x10", "99999999999999999999", "1.0", "12,"] {
            assert_eq!(req(&[("Content-Length", bad)]), Err(HeadError::BadContentLength), "{bad:?}");
        }
    }

    #[test]
    fn request_transfer_encodings() {
        assert_eq!(req(&[("Transfer-Encoding", "chunked")]), Ok(BodyFraming::Chunked));
        assert_eq!(req(&[("Transfer-Encoding", "gzip, Chunked")]), Ok(BodyFraming::Chunked));
        assert_eq!(req(&[("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]), Ok(BodyFraming::Chunked));
        assert_eq!(req(&[("Transfer-Encoding", "chunked, gzip")]), Err(HeadError::BadTransferEncoding));
        assert_eq!(req(&[("Transfer-Encoding", "chunked, chunked")]), Err(HeadError::BadTransferEncoding));
        assert_eq!(req(&[("Transfer-Encoding", "gzip")]), Err(HeadError::BadTransferEncoding));
        assert_eq!(req(&[("Transfer-Encoding", "xchunked")]), Err(HeadError::BadTransferEncoding));
        assert_eq!(req(&[("Transfer-Encoding", " ")]), Err(HeadError::BadTransferEncoding));
        assert_eq!(req(&[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]), Err(HeadError::ContentLengthAndChunked));
        assert_eq!(framing_headers(&h(&[("Transfer-Encoding", "chunked")]), true, true), Err(HeadError::BadTransferEncoding));
    }

    fn resp(status: u16, lines: &[(&str, &str)], kind: RequestKind) -> Result<BodyFraming, HeadError> {
        response_framing(status, framing_headers(&h(lines), false, false)?, kind)
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        let get = RequestKind::default();
        assert_eq!(resp(200, &[("Content-Length", "5")], get), Ok(BodyFraming::Length(5)));
        assert_eq!(resp(200, &[], get), Ok(BodyFraming::UntilClose));
        assert_eq!(resp(200, &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")], get), Ok(BodyFraming::Chunked));
        assert_eq!(resp(200, &[("Transfer-Encoding", "gzip")], get), Ok(BodyFraming::UntilClose));
        assert_eq!(resp(204, &[("Content-Length", "5")], get), Ok(BodyFraming::None));
        assert_eq!(resp(304, &[("Content-Length", "5")], get), Ok(BodyFraming::None));
        assert_eq!(resp(100, &[], get), Ok(BodyFraming::None));
        let head = RequestKind { head: true, ..get };
        assert_eq!(resp(200, &[("Content-Length", "5")], head), Ok(BodyFraming::None));
        assert_eq!(resp(101, &[], get), Err(HeadError::UnexpectedSwitch));
        assert_eq!(resp(101, &[], RequestKind { upgrade: true, ..get }), Ok(BodyFraming::Tunnel));
        assert_eq!(resp(200, &[], RequestKind { connect: true, ..get }), Ok(BodyFraming::Tunnel));
        assert_eq!(resp(407, &[("Content-Length", "0")], RequestKind { connect: true, ..get }), Ok(BodyFraming::Length(0)));
        assert_eq!(resp(200, &[("Content-Length", "x")], get), Err(HeadError::BadContentLength));
    }
}
