//! `option httpchk`: the request HAProxy sends and the status line it judges.

/// A status line longer than this without its end is not HTTP.
pub const MAX_STATUS_LINE: usize = 8192;

/// `METHOD URI VERSION\r\n`, then headers. The version may carry extra header lines after a
/// `\r\n` (the pre-2.2 HAProxy idiom `HTTP/1.1\r\nHost:\ www`); they are sent as given. HTTP/1.1
/// requests get `Host` (unless given) and `Connection: close`, so the server answers once and
/// closes; HTTP/1.0 closes by itself.
pub fn request(method: &str, uri: &str, version: &str, host: &str) -> Vec<u8> {
    let (version, extra) = match version.split_once("\r\n") {
        Some((v, rest)) => (v, rest.trim_end_matches("\r\n")),
        None => (version, ""),
    };
    let mut req = format!("{method} {uri} {version}\r\n");
    let has_host = extra.lines().any(|l| l.to_ascii_lowercase().starts_with("host:"));
    if !extra.is_empty() {
        for line in extra.split("\r\n") {
            req.push_str(line);
            req.push_str("\r\n");
        }
    }
    if version.eq_ignore_ascii_case("HTTP/1.1") {
        if !has_host {
            req.push_str(&format!("Host: {host}\r\n"));
        }
        req.push_str("Connection: close\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusLine {
    /// No end of line yet.
    Incomplete,
    /// Not an HTTP status line; the text says what is wrong.
    Invalid(String),
    Complete {
        code: u16,
        reason: String,
    },
}

/// Parses `HTTP/x.y NNN reason` from the start of a response.
pub fn parse_status_line(buf: &[u8]) -> StatusLine {
    let Some(end) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > MAX_STATUS_LINE || (!buf.is_empty() && !b"HTTP/".starts_with(&buf[..buf.len().min(5)])) {
            StatusLine::Invalid("not an HTTP response".into())
        } else {
            StatusLine::Incomplete
        };
    };
    let line = &buf[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return StatusLine::Invalid("status line is not text".into());
    };
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim();
    let version_ok = version
        .strip_prefix("HTTP/")
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()));
    if !version_ok {
        return StatusLine::Invalid("not an HTTP response".into());
    }
    if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) {
        return StatusLine::Invalid(format!("bad status code {code:?}"));
    }
    match code.parse::<u16>() {
        Ok(code) if code >= 100 => StatusLine::Complete { code, reason: reason.to_string() },
        _ => StatusLine::Invalid(format!("bad status code {code:?}")),
    }
}

/// `http-check expect status N` (or keepalived's `status_code` range) when set, else HAProxy's
/// default: 2xx and 3xx pass.
pub fn status_passes(code: u16, expect: Option<(u16, u16)>) -> bool {
    match expect {
        Some((lo, hi)) => (lo..=hi).contains(&code),
        None => (200..400).contains(&code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_is_the_configured_one() {
        assert_eq!(request("OPTIONS", "/", "HTTP/1.0", "10.0.0.1:80"), b"OPTIONS / HTTP/1.0\r\n\r\n");
        assert_eq!(
            request("GET", "/health", "HTTP/1.1", "10.0.0.1:8080"),
            b"GET /health HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nConnection: close\r\n\r\n"
        );
        // The seed's `option httpchk /index.html HTTP/1.0`, as HAProxy reads it.
        assert_eq!(request("/index.html", "HTTP/1.0", "HTTP/1.0", "h"), b"/index.html HTTP/1.0 HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn legacy_headers_in_the_version_are_sent() {
        assert_eq!(
            request("HEAD", "/", "HTTP/1.1\r\nHost: www.example.com", "10.0.0.1:80"),
            b"HEAD / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn status_lines() {
        let ok = StatusLine::Complete { code: 200, reason: "OK".into() };
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\nServer: x\r\n"), ok);
        assert_eq!(parse_status_line(b"HTTP/1.0 200 OK\n"), ok);
        assert_eq!(
            parse_status_line(b"HTTP/1.1 500 Internal Server Error\r\n"),
            StatusLine::Complete { code: 500, reason: "Internal Server Error".into() }
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 204\r\n"), StatusLine::Complete { code: 204, reason: String::new() });
        assert_eq!(parse_status_line(b"HTTP/1.1 20"), StatusLine::Incomplete);
        assert_eq!(parse_status_line(b"HTT"), StatusLine::Incomplete);
        assert_eq!(parse_status_line(b""), StatusLine::Incomplete);
        assert!(matches!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), StatusLine::Invalid(_)));
        assert!(matches!(parse_status_line(b"SSH-2.0"), StatusLine::Invalid(_)), "garbage is refused before its end of line");
        assert!(matches!(parse_status_line(b"HTTP/1.1 2000 OK\r\n"), StatusLine::Invalid(_)));
        assert!(matches!(parse_status_line(b"HTTP/1.1 abc OK\r\n"), StatusLine::Invalid(_)));
        assert!(matches!(parse_status_line(b"HTTP/x 200 OK\r\n"), StatusLine::Invalid(_)));
        assert!(matches!(parse_status_line(b"HTTP/1.1 099 Odd\r\n"), StatusLine::Invalid(_)));
        let long = [b"HTTP/1.1 200 ".as_slice(), &[b'a'; MAX_STATUS_LINE]].concat();
        assert!(matches!(parse_status_line(&long), StatusLine::Invalid(_)));
    }

    #[test]
    fn default_expectation_is_2xx_and_3xx() {
        assert!(status_passes(200, None));
        assert!(status_passes(302, None));
        assert!(status_passes(399, None));
        assert!(!status_passes(404, None));
        assert!(!status_passes(500, None));
        assert!(!status_passes(199, None));
        assert!(status_passes(404, Some((404, 404))));
        assert!(!status_passes(200, Some((204, 204))));
        // keepalived's HTTP_GET default: 2xx only.
        assert!(status_passes(299, Some((200, 299))));
        assert!(!status_passes(302, Some((200, 299))));
    }
}
