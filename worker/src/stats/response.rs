//! A stats page response and its bytes. Every answer closes the connection (`Connection:
//! close`), so that a client holds a `maxconn` slot for one request only.

use crate::http::reply;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Headers beyond Server, Content-Type, Cache-Control, Content-Length and Connection.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: String) -> Response {
        Response { status, content_type, headers: Vec::new(), body }
    }

    /// A short plain-text answer.
    pub fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    pub fn with(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }

    /// The bytes sent: a HEAD request gets the head alone, with the body's length.
    pub fn encode(&self, server: &str, head_only: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        let fixed = [("Server", server), ("Content-Type", self.content_type), ("Cache-Control", "no-cache")];
        for (name, value) in fixed.into_iter().chain(self.headers.iter().map(|(n, v)| (*n, v.as_str()))) {
            // A value from the config that would split the head is left out.
            if !value.contains(['\r', '\n']) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", self.body.len()));
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(self.body.as_bytes());
        }
        bytes
    }
}

/// What the front sends when it refuses a request: HAProxy's own pages for the statuses it has
/// (400, 408, 413, 431 as the proxy sends them), plain text for 411.
pub fn refusal(status: u16, server: &str) -> Vec<u8> {
    match status {
        400 | 408 | 413 | 431 => reply::builtin(status).to_vec(),
        _ => Response::text(status, reason(status)).encode(server, false),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_states_its_length_and_closes() {
        let r = Response::text(303, "DONE").with("Location", "/admin;st=DONE".into());
        let bytes = String::from_utf8(r.encode("hakeeper", false)).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 303 See Other\r\nServer: hakeeper\r\n"), "{bytes}");
        assert!(
            bytes.contains("\r\nLocation: /admin;st=DONE\r\n")
                && bytes.contains("\r\nContent-Length: 5\r\nConnection: close\r\n\r\nDONE\n")
        );
        let head = String::from_utf8(r.encode("hakeeper", true)).unwrap();
        assert!(head.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n"), "{head}");
    }

    #[test]
    fn a_value_with_a_line_break_is_left_out() {
        let r = Response::text(200, "x").with("Refresh", "1\r\nSet-Cookie: a=b".into());
        assert!(!String::from_utf8(r.encode("s", false)).unwrap().contains("Set-Cookie"));
    }

    #[test]
    fn refusals_are_haproxy_pages_where_it_has_one() {
        assert!(refusal(408, "s").starts_with(b"HTTP/1.1 408 Request Time-out\r\n"));
        assert!(refusal(431, "s").starts_with(b"HTTP/1.1 431 "));
        assert!(refusal(411, "s").starts_with(b"HTTP/1.1 411 Length Required\r\n"));
    }
}
