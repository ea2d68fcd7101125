//! Responses the proxy writes itself: HAProxy 2.6's built-in error pages (same status lines,
//! headers and bodies, so monitoring that greps them keeps working), replaced by the backend's
//! or else the frontend's `errorfile` when one is configured; and redirects.

use super::head::RequestHead;
use super::uri;
use hakeeper_common::config::{ErrorFile, Redirect, RedirectKind};
use std::borrow::Cow;

/// HAProxy's `http_err_msgs`, byte for byte; 431 (which 2.6 lacks) is 2.9's without its stray `>`,
/// closing the connection as 400 and 408 do.
const BUILTIN: &[(u16, &str)] = &[
    (200, "HTTP/1.1 200 OK\r\nContent-length: 58\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n"),
    (400, "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"),
    (401, "HTTP/1.1 401 Unauthorized\r\nContent-length: 112\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"),
    (403, "HTTP/1.1 403 Forbidden\r\nContent-length: 93\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"),
    (404, "HTTP/1.1 404 Not Found\r\nContent-length: 83\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n"),
    (405, "HTTP/1.1 405 Method Not Allowed\r\nContent-length: 146\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n"),
    (407, "HTTP/1.1 407 Unauthorized\r\nContent-length: 112\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"),
    (408, "HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"),
    (410, "HTTP/1.1 410 Gone\r\nContent-length: 114\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n"),
    (413, "HTTP/1.1 413 Payload Too Large\r\nContent-length: 106\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n"),
    (425, "HTTP/1.1 425 Too Early\r\nContent-length: 80\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n"),
    (429, "HTTP/1.1 429 Too Many Requests\r\nContent-length: 117\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n"),
    (431, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-length: 105\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>431 Request Header Fields Too Large</h1>\nRequest Header Fields Too Large.\n</body></html>\n"),
    (500, "HTTP/1.1 500 Internal Server Error\r\nContent-length: 97\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"),
    (501, "HTTP/1.1 501 Not Implemented\r\nContent-length: 136\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n"),
    (502, "HTTP/1.1 502 Bad Gateway\r\nContent-length: 107\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"),
    (503, "HTTP/1.1 503 Service Unavailable\r\nContent-length: 107\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"),
    (504, "HTTP/1.1 504 Gateway Time-out\r\nContent-length: 92\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"),
];

/// The built-in response for `status`; HAProxy falls back to its 500 page for a status it has
/// none for.
pub fn builtin(status: u16) -> &'static [u8] {
    let find = |s| BUILTIN.iter().find(|(c, _)| *c == s).map(|(_, t)| t.as_bytes());
    find(status).or_else(|| find(500)).unwrap_or(b"HTTP/1.1 500 Internal Server Error\r\nContent-length: 0\r\n\r\n")
}

/// The response for `status`: the backend's errorfile, else the frontend's, else the built-in
/// page. An errorfile not read yet is skipped; an empty one (`errorfile 408 /dev/null`, an
/// idiom of HAProxy's manual) answers nothing: the connection just closes.
pub fn error_response<'a>(status: u16, backend: &'a [ErrorFile], frontend: &'a [ErrorFile]) -> &'a [u8] {
    backend.iter().chain(frontend).find_map(|e| e.response.as_deref().filter(|_| e.code == status)).unwrap_or_else(|| builtin(status))
}

/// The status code a response's bytes carry (for the log), `None` if unreadable.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let code = response.get(9..12)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

fn reason(code: u16) -> &'static str {
    match code {
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        _ => "Redirection",
    }
}

/// The `Location` a redirect rule sends this request to.
pub fn location<'a>(rule: &'a Redirect, req: &RequestHead) -> Cow<'a, [u8]> {
    let target = uri::origin_form(req.target());
    let path = if rule.drop_query { uri::without_query(target) } else { target };
    let slash = rule.append_slash && !uri::without_query(path).ends_with(b"/");
    let mut out = Vec::with_capacity(rule.target.len() + path.len() + 8);
    match rule.kind {
        RedirectKind::Location => return Cow::Borrowed(rule.target.as_bytes()),
        RedirectKind::Prefix => {
            // A bare "/" prefix adds nothing, rather than a double slash.
            if rule.target != "/" {
                out.extend_from_slice(rule.target.as_bytes());
            }
        }
        RedirectKind::Scheme => {
            out.extend_from_slice(rule.target.as_bytes());
            out.extend_from_slice(b"://");
            out.extend_from_slice(req.headers.get("host").unwrap_or(b""));
        }
    }
    out.extend_from_slice(path);
    if slash {
        out.push(b'/');
    }
    Cow::Owned(out)
}

/// A redirect response, as HAProxy builds it; `close` adds `Connection: close`.
pub fn redirect(rule: &Redirect, req: &RequestHead, close: bool) -> Vec<u8> {
    let loc = location(rule, req);
    let mut out = Vec::with_capacity(loc.len() + 128);
    out.extend_from_slice(format!("HTTP/1.1 {} {}\r\nContent-length: 0\r\nLocation: ", rule.code, reason(rule.code)).as_bytes());
    out.extend_from_slice(&loc);
    out.extend_from_slice(b"\r\n");
    if matches!(rule.code, 302 | 303 | 307) {
        out.extend_from_slice(b"Cache-Control: no-cache\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_request, parse_response};
    use std::path::PathBuf;

    #[test]
    fn builtin_pages_are_well_formed_with_exact_lengths() {
        for (code, text) in BUILTIN {
            let resp = parse_response(text.as_bytes()).unwrap().unwrap();
            assert_eq!(resp.status, *code);
            let body = &text.as_bytes()[resp.head_len..];
            assert_eq!(resp.framing_headers.content_length, Some(body.len() as u64), "{code}");
            assert_eq!(status_of(text.as_bytes()), Some(*code));
        }
        let page = std::str::from_utf8(builtin(503)).unwrap();
        assert!(page
            .ends_with("<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"));
        assert_eq!(status_of(builtin(418)), Some(500));
    }

    #[test]
    fn errorfiles_override_backend_first() {
        let file = |code, text: &str| ErrorFile {
            code,
            path: PathBuf::from("/x"),
            field: String::new(),
            response: Some(text.as_bytes().to_vec()),
        };
        let fe = vec![file(503, "HTTP/1.1 503 FE\r\n\r\n"), file(403, "HTTP/1.1 403 FE\r\n\r\n")];
        let be = vec![file(503, "HTTP/1.1 503 BE\r\n\r\n")];
        assert_eq!(error_response(503, &be, &fe), b"HTTP/1.1 503 BE\r\n\r\n");
        assert_eq!(error_response(403, &be, &fe), b"HTTP/1.1 403 FE\r\n\r\n");
        assert_eq!(error_response(502, &be, &fe), builtin(502));
        let unread = vec![ErrorFile { code: 502, path: PathBuf::from("/x"), field: String::new(), response: None }];
        assert_eq!(error_response(502, &unread, &[]), builtin(502));
        // `errorfile 408 /dev/null`: nothing is sent, the connection just closes.
        let silent = vec![file(408, "")];
        assert_eq!(error_response(408, &[], &silent), b"");
    }

    fn rule(kind: RedirectKind, target: &str, code: u16, drop_query: bool, append_slash: bool) -> Redirect {
        Redirect { kind, target: target.into(), code, drop_query, append_slash }
    }

    #[test]
    fn redirect_locations() {
        let req = parse_request(b"GET /a/b?x=1 HTTP/1.1\r\nHost: www.abc.com\r\n\r\n").unwrap().unwrap();
        let loc = |r: Redirect| String::from_utf8(location(&r, &req).into_owned()).unwrap();
        assert_eq!(loc(rule(RedirectKind::Location, "/moved", 301, false, false)), "/moved");
        assert_eq!(loc(rule(RedirectKind::Prefix, "https://new.abc.com", 302, false, false)), "https://new.abc.com/a/b?x=1");
        assert_eq!(loc(rule(RedirectKind::Prefix, "/", 302, true, true)), "/a/b/");
        assert_eq!(loc(rule(RedirectKind::Scheme, "https", 302, false, false)), "https://www.abc.com/a/b?x=1");
        assert_eq!(loc(rule(RedirectKind::Scheme, "https", 302, true, false)), "https://www.abc.com/a/b");
    }

    #[test]
    fn redirect_responses_look_like_haproxys() {
        let req = parse_request(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap().unwrap();
        let r = redirect(&rule(RedirectKind::Scheme, "https", 302, false, false), &req, false);
        assert_eq!(r, b"HTTP/1.1 302 Found\r\nContent-length: 0\r\nLocation: https://h/\r\nCache-Control: no-cache\r\n\r\n");
        let r = redirect(&rule(RedirectKind::Location, "/x", 301, false, false), &req, true);
        assert_eq!(r, b"HTTP/1.1 301 Moved Permanently\r\nContent-length: 0\r\nLocation: /x\r\nConnection: close\r\n\r\n");
    }
}
