//! Request and response heads, parsed with httparse from the start of a buffer and owned
//! afterwards, so the session can reuse its buffer while it routes and rewrites the head.
//!
//! Limits are HAProxy's defaults: a head must fit in one 16 KiB buffer (`tune.bufsize`; a
//! request over it gets 431) and hold at most 101 lines (`tune.http.maxhdr`; 400).

use super::framing::{framing_headers, request_framing, BodyFraming, FramingHeaders, RequestKind, Transfer};
use super::headers::{Headers, Span};
use super::target::{check_host, classify, without_default_port, TargetError, TargetForm};
use super::HeadError;
use crate::buffer::{Buf, Pools};

/// Largest head accepted, in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header lines in one head.
pub const MAX_HEADERS: usize = 101;

/// HTTP/1.0 or HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }

    fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }
}

/// The `Connection` options that matter to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionTokens {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
}

impl ConnectionTokens {
    fn read(h: &Headers) -> ConnectionTokens {
        let mut t = ConnectionTokens::default();
        for e in h.elements("connection") {
            if e.eq_ignore_ascii_case(b"close") {
                t.close = true;
            } else if e.eq_ignore_ascii_case(b"keep-alive") {
                t.keep_alive = true;
            } else if e.eq_ignore_ascii_case(b"upgrade") {
                t.upgrade = true;
            }
        }
        t
    }
}

#[derive(Debug, Clone)]
pub struct RequestHead {
    pub headers: Headers,
    method: Span,
    target: Span,
    pub version: Version,
    /// Bytes the head took in the buffer it was parsed from.
    pub head_len: usize,
    pub framing: BodyFraming,
    pub connection: ConnectionTokens,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
}

impl RequestHead {
    pub fn method(&self) -> &[u8] {
        self.headers.slice(self.method)
    }

    /// The request target as received (`/path?query`, or absolute-form).
    pub fn target(&self) -> &[u8] {
        self.headers.slice(self.target)
    }

    /// What the response's framing depends on.
    pub fn kind(&self) -> RequestKind {
        RequestKind {
            head: self.method() == b"HEAD",
            connect: self.method() == b"CONNECT",
            upgrade: self.connection.upgrade && self.headers.contains("upgrade") && self.version == Version::Http11,
        }
    }

    /// Whether the client asked to keep its connection open.
    pub fn wants_keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.connection.close,
            Version::Http10 => self.connection.keep_alive && !self.connection.close,
        }
    }

    /// Writes the head as it will be forwarded.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(self.method().len() + self.target().len() + 12 + self.headers.written_len() + 2);
        out.extend_from_slice(self.method());
        out.push(b' ');
        out.extend_from_slice(self.target());
        out.push(b' ');
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        self.headers.write(out);
        out.extend_from_slice(b"\r\n");
    }

    /// Re-reads the Connection tokens after the headers were edited.
    pub fn refresh_connection(&mut self) {
        self.connection = ConnectionTokens::read(&self.headers);
    }
}

#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub headers: Headers,
    pub version: Version,
    pub status: u16,
    reason: Span,
    pub head_len: usize,
    pub framing_headers: FramingHeaders,
    pub connection: ConnectionTokens,
}

impl ResponseHead {
    pub fn reason(&self) -> &[u8] {
        self.headers.slice(self.reason)
    }

    /// A 1xx other than 101: another response head follows it.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// Whether the server will keep its connection open after this response.
    pub fn server_keeps_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.connection.close,
            Version::Http10 => self.connection.keep_alive && !self.connection.close,
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(self.reason().len() + 16 + self.headers.written_len() + 2);
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.push(b' ');
        // Into the output directly, without a string of its own.
        let _ = std::io::Write::write_fmt(out, format_args!("{}", self.status));
        out.push(b' ');
        out.extend_from_slice(self.reason());
        out.extend_from_slice(b"\r\n");
        self.headers.write(out);
        out.extend_from_slice(b"\r\n");
    }

    pub fn refresh_connection(&mut self) {
        self.connection = ConnectionTokens::read(&self.headers);
    }
}

/// Whether `buf` may hold a whole head: it needs an empty line. Saves re-running the parser
/// on every partial read of a slow head.
fn may_be_complete(buf: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
        let at = from + i + 1;
        match buf.get(at) {
            Some(b'\n') => return true,
            Some(b'\r') if buf.get(at + 1) == Some(&b'\n') => return true,
            None => return false,
            _ => from = at,
        }
    }
    false
}

/// Turns an httparse failure into the reason given to the client; obs-fold (a line starting
/// with a blank) is named, as HAProxy rejects it explicitly.
fn syntax_error(buf: &[u8], e: httparse::Error) -> HeadError {
    if e == httparse::Error::TooManyHeaders {
        return HeadError::TooManyHeaders;
    }
    let folded = buf.windows(2).any(|w| w[0] == b'\n' && (w[1] == b' ' || w[1] == b'\t'));
    if folded && matches!(e, httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::Token) {
        HeadError::ObsFold
    } else {
        HeadError::Syntax(e)
    }
}

fn offset(base: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - base.as_ptr() as usize
}

fn span_of(base: &[u8], part: &[u8]) -> Span {
    let start = offset(base, part);
    Span::new(start, start + part.len())
}

/// The header lines' spans in `head` (values trimmed), before the head's bytes are owned.
fn line_spans(head: &[u8], lines: &[httparse::Header<'_>]) -> Vec<(Span, Span)> {
    let mut list = Vec::with_capacity(lines.len() + 4);
    for line in lines {
        let value = super::headers::trim(line.value);
        list.push((span_of(head, line.name.as_bytes()), span_of(head, value)));
    }
    list
}

/// The owned headers of a parsed head: `buf` holds the head's bytes from `at` on, `list` has
/// the lines' spans in the parsed slice.
fn own_headers((buf, at): (Vec<u8>, usize), list: Vec<(Span, Span)>) -> Headers {
    let list = if at == 0 { list } else { list.into_iter().map(|(n, v)| (n.shifted(at), v.shifted(at))).collect() };
    Headers::from_parts(buf, list)
}

/// Checks the target's form and its agreement with `Host` (see [`super::target`]), then
/// normalizes both as HAProxy's `http_scheme_based_normalize` does (the scheme's default port
/// dropped; for CONNECT, Host's port dropped), so that ACLs read what the server will. A
/// missing Host is added from the authority.
fn check_target_and_host(headers: &mut Headers, method: Span, target: &mut Span) -> Result<(), TargetError> {
    let form = classify(headers.slice(method), headers.slice(*target))?;
    let host = headers.get("host");
    if let Some(h) = host {
        check_host(h)?;
    }
    let (authority, default_port) = match form {
        TargetForm::Origin | TargetForm::Asterisk => return Ok(()),
        TargetForm::Absolute { authority, default_port } => (authority, Some(default_port)),
        TargetForm::Authority => ((0, headers.slice(*target).len()), None),
    };
    let full = headers.slice(*target);
    let (from, to) = authority;
    let given = &full[from..to];
    let wanted = without_default_port(given, default_port);
    let Some(host) = host else {
        // RFC 9112 section 3.2.2: the server acts on the target's authority, so the ACLs read
        // it as Host (HAProxy would forward the request without one).
        let (wanted, rewritten) = (wanted.to_vec(), [&full[..from], wanted, &full[to..]].concat());
        if default_port.is_some() {
            *target = headers.store(&rewritten);
        }
        headers.append(b"Host", &wanted);
        return Ok(());
    };
    let host_n = without_default_port(host, default_port);
    let agree = match default_port {
        Some(_) => wanted.eq_ignore_ascii_case(host_n),
        // CONNECT: Host names the authority, with or without its port.
        None => host.eq_ignore_ascii_case(given) || host.eq_ignore_ascii_case(wanted),
    };
    if !agree {
        return Err(TargetError::HostMismatch);
    }
    let new_host = (host_n.len() != host.len()).then(|| host_n.to_vec());
    if default_port.is_some() && wanted.len() != given.len() {
        let rewritten = [&full[..from], wanted, &full[to..]].concat();
        *target = headers.store(&rewritten);
    }
    if let Some(h) = new_host {
        headers.edit_values("host", |_| Some(Some(h.clone())));
    }
    Ok(())
}

/// A request head found in a buffer, before its bytes are owned (spans are in that buffer).
struct ScannedRequest {
    len: usize,
    method: Span,
    target: Span,
    minor: u8,
    lines: Vec<(Span, Span)>,
}

/// A response head found in a buffer, before its bytes are owned.
struct ScannedResponse {
    len: usize,
    status: u16,
    reason: Option<Span>,
    minor: u8,
    lines: Vec<(Span, Span)>,
}

/// Parses a request head at the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse_request(buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
    let Some(scan) = scan_request(buf)? else { return Ok(None) };
    let owned = (buf[..scan.len].to_vec(), 0);
    own_request(scan, owned).map(Some)
}

/// Parses a request head at the start of the session's buffer and takes it out of it: the
/// buffer's vector itself, not a copy, when little follows the head ([`Buf::take_front`]).
pub fn parse_request_in(buf: &mut Buf, pools: &mut Pools) -> Result<Option<RequestHead>, HeadError> {
    let Some(scan) = scan_request(buf.bytes())? else { return Ok(None) };
    let owned = buf.take_front(scan.len, pools);
    own_request(scan, owned).map(Some)
}

fn scan_request(buf: &[u8]) -> Result<Option<ScannedRequest>, HeadError> {
    if !may_be_complete(buf) {
        return if buf.len() >= MAX_HEAD { Err(HeadError::TooLarge) } else { Ok(None) };
    }
    let mut lines = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut lines);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Complete(_)) => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => return if buf.len() >= MAX_HEAD { Err(HeadError::TooLarge) } else { Ok(None) },
        Err(e) => return Err(syntax_error(&buf[..buf.len().min(MAX_HEAD)], e)),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Ok(None);
    };
    let head = &buf[..len];
    Ok(Some(ScannedRequest {
        len,
        method: span_of(head, method.as_bytes()),
        target: span_of(head, target.as_bytes()),
        minor,
        lines: line_spans(head, req.headers),
    }))
}

/// The checks and readings of a request head once its bytes are owned (`owned`: the vector
/// and the head's offset in it).
fn own_request(scan: ScannedRequest, owned: (Vec<u8>, usize)) -> Result<RequestHead, HeadError> {
    let at = owned.1;
    let mut headers = own_headers(owned, scan.lines);
    let (method, mut target) = (scan.method.shifted(at), scan.target.shifted(at));
    let version = Version::from_minor(scan.minor);
    if headers.get_all("host").nth(1).is_some() {
        return Err(HeadError::DuplicateHost);
    }
    check_target_and_host(&mut headers, method, &mut target)?;
    let framing = request_framing(framing_headers(&headers, true, version == Version::Http10)?);
    let expect_continue = headers.get("expect").is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    let connection = ConnectionTokens::read(&headers);
    Ok(RequestHead { method, target, headers, version, head_len: scan.len, framing, connection, expect_continue })
}

/// Parses a response head at the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse_response(buf: &[u8]) -> Result<Option<ResponseHead>, HeadError> {
    let Some(scan) = scan_response(buf)? else { return Ok(None) };
    let owned = (buf[..scan.len].to_vec(), 0);
    own_response(scan, owned).map(Some)
}

/// Parses a response head at the start of the session's buffer and takes it out of it, as
/// [`parse_request_in`].
pub fn parse_response_in(buf: &mut Buf, pools: &mut Pools) -> Result<Option<ResponseHead>, HeadError> {
    let Some(scan) = scan_response(buf.bytes())? else { return Ok(None) };
    let owned = buf.take_front(scan.len, pools);
    own_response(scan, owned).map(Some)
}

fn scan_response(buf: &[u8]) -> Result<Option<ScannedResponse>, HeadError> {
    if !may_be_complete(buf) {
        return if buf.len() >= MAX_HEAD { Err(HeadError::TooLarge) } else { Ok(None) };
    }
    let mut lines = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut lines);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Complete(_)) => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => return if buf.len() >= MAX_HEAD { Err(HeadError::TooLarge) } else { Ok(None) },
        Err(e) => return Err(syntax_error(&buf[..buf.len().min(MAX_HEAD)], e)),
    };
    let (Some(minor), Some(status)) = (resp.version, resp.code) else {
        return Ok(None);
    };
    if !(100..=599).contains(&status) {
        return Err(HeadError::Syntax(httparse::Error::Status));
    }
    let head = &buf[..len];
    let reason = match resp.reason {
        // httparse's reason may hold obs-text; it is a slice of `head` either way.
        Some(r) if !r.is_empty() => Some(span_of(head, r.as_bytes())),
        _ => None,
    };
    Ok(Some(ScannedResponse { len, status, reason, minor, lines: line_spans(head, resp.headers) }))
}

fn own_response(scan: ScannedResponse, owned: (Vec<u8>, usize)) -> Result<ResponseHead, HeadError> {
    let at = owned.1;
    let mut headers = own_headers(owned, scan.lines);
    let reason = scan.reason.map_or(Span::new(0, 0), |r| r.shifted(at));
    let version = Version::from_minor(scan.minor);
    let mut framing_headers = framing_headers(&headers, false, version == Version::Http10)?;
    if framing_headers.transfer != Transfer::Absent && framing_headers.content_length.is_some() {
        // Transfer-Encoding wins; the length must not reach the client (RFC 9112 6.3).
        headers.remove("content-length");
        framing_headers.content_length = None;
    }
    let connection = ConnectionTokens::read(&headers);
    Ok(ResponseHead { headers, version, status: scan.status, reason, head_len: scan.len, framing_headers, connection })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Result<Option<RequestHead>, HeadError> {
        parse_request(text.as_bytes())
    }

    #[test]
    fn a_simple_request_parses_and_round_trips() {
        let text = "GET /a?b=1 HTTP/1.1\r\nHost: www.abc.com\r\nX-Pad:  v  \r\n\r\nBODY";
        let h = req(text).unwrap().unwrap();
        assert_eq!(h.method(), b"GET");
        assert_eq!(h.target(), b"/a?b=1");
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.head_len, text.len() - 4);
        assert_eq!(h.framing, BodyFraming::None);
        assert_eq!(h.headers.get("x-pad"), Some(&b"v"[..]));
        assert!(h.wants_keep_alive());
        let mut out = Vec::new();
        h.write(&mut out);
        assert_eq!(out, b"GET /a?b=1 HTTP/1.1\r\nHost: www.abc.com\r\nX-Pad: v\r\n\r\n");
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert!(req("GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        assert!(req("GET / HT").unwrap().is_none());
        assert!(req("").unwrap().is_none());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").unwrap().is_none());
    }

    #[test]
    fn bare_lf_heads_are_accepted() {
        let h = req("GET / HTTP/1.0\nHost: a\n\n").unwrap().unwrap();
        assert_eq!(h.version, Version::Http10);
        assert!(!h.wants_keep_alive());
    }

    #[test]
    fn oversized_heads_are_refused() {
        let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(req(&big).unwrap_err(), HeadError::TooLarge);
        assert_eq!(req(&format!("{big}\r\n")).unwrap_err(), HeadError::TooLarge);
        assert_eq!(HeadError::TooLarge.request_status(), 431);
        // Just under the limit is fine.
        let fill = MAX_HEAD - "GET / HTTP/1.1\r\nX: \r\n\r\n".len();
        assert!(req(&format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(fill))).unwrap().is_some());
    }

    #[test]
    fn too_many_headers_is_a_bad_request() {
        let mut text = "GET / HTTP/1.1\r\n".to_string();
        for i in 0..=MAX_HEADERS {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(req(&text).unwrap_err(), HeadError::TooManyHeaders);
        assert_eq!(HeadError::TooManyHeaders.request_status(), 400);
    }

    #[test]
    fn bad_bytes_are_refused() {
        for bad in [
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nBad\x01Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nName : x\r\n\r\n",
            "GET / HTTP/1.1\r\n: x\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
        ] {
            let e = req(bad).expect_err(bad);
            assert_eq!(e.request_status(), 400, "{bad:?}: {e}");
        }
    }

    #[test]
    fn obs_fold_is_refused() {
        assert_eq!(req("GET / HTTP/1.1\r\nX-A: a\r\n  b\r\n\r\n").unwrap_err(), HeadError::ObsFold);
        assert_eq!(req("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n").unwrap_err(), HeadError::ObsFold);
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        assert_eq!(
            req("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap_err(),
            HeadError::ContentLengthAndChunked
        );
        assert_eq!(
            req("POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n").unwrap_err(),
            HeadError::ConflictingContentLength
        );
        assert_eq!(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n").unwrap_err(), HeadError::BadTransferEncoding);
        assert_eq!(req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap_err(), HeadError::BadTransferEncoding);
        assert_eq!(req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").unwrap_err(), HeadError::DuplicateHost);
        let ok = req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert_eq!(ok.framing, BodyFraming::Chunked);
    }

    #[test]
    fn hostile_targets_are_bad_requests() {
        for (bad, err) in [
            ("GET /secret.bak#x HTTP/1.1\r\nHost: a\r\n\r\n", TargetError::Fragment),
            ("GET /a\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n", TargetError::BadByte),
            ("GET admin/x HTTP/1.1\r\nHost: a\r\n\r\n", TargetError::UnknownForm),
            ("GET http:/admin/x HTTP/1.1\r\nHost: a\r\n\r\n", TargetError::UnknownForm),
            ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", TargetError::AsteriskNotOptions),
            ("CONNECT /p HTTP/1.1\r\nHost: a\r\n\r\n", TargetError::ConnectNotAuthority),
            ("GET http://img.abc.com/abs HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", TargetError::HostMismatch),
            ("GET http://www.abc.com:8080/ HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", TargetError::HostMismatch),
            ("GET http://www.abc.com/ HTTP/1.1\r\nHost: \r\n\r\n", TargetError::HostMismatch),
            ("CONNECT a.com:443 HTTP/1.1\r\nHost: b.com:443\r\n\r\n", TargetError::HostMismatch),
            ("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:8443\r\n\r\n", TargetError::HostMismatch),
            ("GET http://www.abc.com@img.abc.com/ui HTTP/1.1\r\nHost: img.abc.com\r\n\r\n", TargetError::Userinfo),
            ("GET /p HTTP/1.1\r\nHost: a b\r\n\r\n", TargetError::BadHost),
            ("GET /p HTTP/1.1\r\nHost: a,b\r\n\r\n", TargetError::BadHost),
        ] {
            let e = req(bad).expect_err(bad);
            assert_eq!(e, HeadError::Target(err), "{bad:?}");
            assert_eq!(e.request_status(), 400);
        }
        // httparse refuses DEL itself (HAProxy forwards it).
        assert_eq!(req("GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n").unwrap_err().request_status(), 400);
    }

    #[test]
    fn absolute_form_is_normalized_like_haproxy() {
        let text = |h: &RequestHead| {
            let mut out = Vec::new();
            h.write(&mut out);
            String::from_utf8(out).unwrap()
        };
        let h = req("GET http://WWW.abc.com:80/p?q HTTP/1.1\r\nHost: www.abc.com:80\r\n\r\n").unwrap().unwrap();
        assert_eq!(text(&h), "GET http://WWW.abc.com/p?q HTTP/1.1\r\nHost: www.abc.com\r\n\r\n");
        let h = req("GET https://h:443 HTTP/1.1\r\nHost: h\r\n\r\n").unwrap().unwrap();
        assert_eq!(text(&h), "GET https://h HTTP/1.1\r\nHost: h\r\n\r\n");
        let h = req("GET http://h:8080/ HTTP/1.1\r\nHost: h:8080\r\n\r\n").unwrap().unwrap();
        assert_eq!(text(&h), "GET http://h:8080/ HTTP/1.1\r\nHost: h:8080\r\n\r\n");
        let h = req("GET http://h.com/x HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.headers.get("host"), Some(&b"h.com"[..]), "the ACLs read the authority the server acts on");
        let h = req("CONNECT h.com:443 HTTP/1.1\r\nHost: h.com:443\r\n\r\n").unwrap().unwrap();
        assert_eq!(text(&h), "CONNECT h.com:443 HTTP/1.1\r\nHost: h.com\r\n\r\n");
        let h = req("CONNECT h.com:8443 HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(text(&h), "CONNECT h.com:8443 HTTP/1.1\r\nHost: h.com\r\n\r\n");
        assert!(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").unwrap().is_some());
        assert!(req("GET /p HTTP/1.1\r\nHost: \r\n\r\n").unwrap().is_some(), "an empty Host is valid with origin-form");
    }

    #[test]
    fn upgrade_and_expect_are_noticed() {
        let h = req("GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.kind().upgrade);
        assert!(h.expect_continue);
        let h = req("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").unwrap().unwrap();
        assert!(!h.kind().upgrade, "Upgrade without the Connection token is not a switch request");
    }

    #[test]
    fn responses_parse_and_drop_a_length_beside_chunked() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.reason(), b"OK");
        assert_eq!(r.framing_headers, FramingHeaders { content_length: None, transfer: Transfer::Chunked });
        assert!(!r.headers.contains("content-length"));
        let mut out = Vec::new();
        r.write(&mut out);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let r = parse_response(b"HTTP/1.0 204 \r\n\r\n").unwrap().unwrap();
        assert_eq!((r.status, r.reason(), r.server_keeps_alive()), (204, &b""[..], false));
        assert!(parse_response(b"HTTP/1.1 99 Low\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap().unwrap().is_interim());
    }
}
