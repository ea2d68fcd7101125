//! `option httplog` lines, exactly in HAProxy's format so that existing parsers keep working:
//!
//! `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
//!
//! Timers of phases not reached are `-1`. No captures are configured, so `%CC`/`%CS` are `-`
//! and `%hr`/`%hs` print nothing, their separators collapsing as HAProxy's do. Dates are UTC.

use super::head::RequestHead;
use crate::tcplog::{accept_date, ms, LogCounts};
use crate::termination::Termination;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::SystemTime;

pub struct HttpLog<'a> {
    pub client: SocketAddr,
    /// `%tr`: when the first byte of the request arrived.
    pub request_date: SystemTime,
    pub frontend: &'a str,
    /// The client connection is TLS: `%ft` shows the frontend name followed by `~`.
    pub tls: bool,
    /// The frontend's name when no backend was chosen, as HAProxy logs it.
    pub backend: &'a str,
    /// `None` prints `<NOSRV>`.
    pub server: Option<&'a str>,
    /// `%TR`: ms to receive the whole request head.
    pub request_ms: Option<u64>,
    /// `%Tw`: ms in queues.
    pub queue_ms: Option<u64>,
    /// `%Tc`: ms to connect.
    pub connect_ms: Option<u64>,
    /// `%Tr`: ms from connected to the complete response head.
    pub response_ms: Option<u64>,
    /// `%Ta`: ms from `%tr` to the end.
    pub active_ms: u64,
    /// `%ST`; `None` prints -1.
    pub status: Option<u16>,
    /// `%B`: bytes sent to the client, head included.
    pub bytes: u64,
    pub termination: Termination,
    pub counts: LogCounts,
    /// `%r`: the request line; `None` (no valid request) prints `<BADREQ>`.
    pub request_line: Option<&'a [u8]>,
}

/// `method target version`, as logged.
pub fn request_line(head: &RequestHead) -> Vec<u8> {
    let mut line = Vec::with_capacity(head.method().len() + head.target().len() + 10);
    line.extend_from_slice(head.method());
    line.push(b' ');
    line.extend_from_slice(head.target());
    line.push(b' ');
    line.extend_from_slice(head.version.as_str().as_bytes());
    line
}

/// HAProxy's URL log encoding: control bytes, bytes above 126, `"` and `#` become `#XX`.
fn push_encoded(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if !(0x20..0x7f).contains(&b) || b == b'"' || b == b'#' {
            let _ = write!(out, "#{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
}

impl HttpLog<'_> {
    pub fn line(&self) -> String {
        let mut s = String::with_capacity(200);
        let _ = write!(
            s,
            "{}:{} [{}] {}{} {}/{} {}/{}/{}/{}/{} {} {} - - {} {} \"",
            self.client.ip(),
            self.client.port(),
            accept_date(self.request_date),
            self.frontend,
            if self.tls { "~" } else { "" },
            self.backend,
            self.server.unwrap_or("<NOSRV>"),
            ms(self.request_ms),
            ms(self.queue_ms),
            ms(self.connect_ms),
            ms(self.response_ms),
            self.active_ms,
            self.status.map_or(-1, i32::from),
            self.bytes,
            self.termination.http(),
            self.counts,
        );
        match self.request_line {
            Some(r) => push_encoded(&mut s, r),
            None => s.push_str("<BADREQ>"),
        }
        s.push('"');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::cookie::{RequestCookie, ResponseCookie};
    use crate::http::head::parse_request;
    use crate::termination::{Cause, Phase};
    use std::time::{Duration, UNIX_EPOCH};

    /// HAProxy's httplog format as a regex, one named group per field.
    const HTTPLOG: &str = r#"^(?P<ci>[0-9a-fA-F.:]+):(?P<cp>\d+) \[(?P<tr>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (?P<ft>\S+) (?P<b>\S+)/(?P<s>\S+) (?P<TR>-1|\d+)/(?P<Tw>-1|\d+)/(?P<Tc>-1|\d+)/(?P<Tr>-1|\d+)/(?P<Ta>\+?\d+) (?P<ST>-1|\d{3}) (?P<B>\d+) (?P<CC>\S+) (?P<CS>\S+) (?P<tsc>[-CSPLRIDKUcs][-RQCHDLT][-NIDVEOU][-NPDIRU]) (?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) (?P<sq>\d+)/(?P<bq>\d+) (?:\{(?P<hr>[^}]*)\} )?(?:\{(?P<hs>[^}]*)\} )?"(?P<r>[^"]*)"$"#;

    fn sample() -> HttpLog<'static> {
        HttpLog {
            client: "10.0.1.2:33317".parse().unwrap(),
            request_date: UNIX_EPOCH + Duration::from_millis(1_233_922_454_655),
            frontend: "http-in",
            tls: false,
            backend: "static",
            server: Some("srv1"),
            request_ms: Some(10),
            queue_ms: Some(0),
            connect_ms: Some(30),
            response_ms: Some(69),
            active_ms: 109,
            status: Some(200),
            bytes: 2750,
            termination: Termination::NORMAL,
            counts: LogCounts {
                actconn: 1,
                feconn: 1,
                beconn: 1,
                srvconn: 1,
                retries: 0,
                redispatched: false,
                srv_queue: 0,
                backend_queue: 0,
            },
            request_line: Some(b"GET /index.html HTTP/1.1"),
        }
    }

    #[test]
    fn line_is_haproxys_example() {
        // The example of HAProxy's configuration manual, section 8.2.3, without captures.
        assert_eq!(
            sample().line(),
            "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET /index.html HTTP/1.1\""
        );
    }

    #[test]
    fn regex_matches_field_by_field() {
        let re = regex::Regex::new(HTTPLOG).unwrap();
        let line = sample().line();
        let c = re.captures(&line).unwrap_or_else(|| panic!("no match: {line}"));
        let expect = [
            ("ci", "10.0.1.2"),
            ("cp", "33317"),
            ("tr", "06/Feb/2009:12:14:14.655"),
            ("ft", "http-in"),
            ("b", "static"),
            ("s", "srv1"),
            ("TR", "10"),
            ("Tw", "0"),
            ("Tc", "30"),
            ("Tr", "69"),
            ("Ta", "109"),
            ("ST", "200"),
            ("B", "2750"),
            ("CC", "-"),
            ("CS", "-"),
            ("tsc", "----"),
            ("ac", "1"),
            ("fc", "1"),
            ("bc", "1"),
            ("sc", "1"),
            ("rc", "0"),
            ("sq", "0"),
            ("bq", "0"),
            ("r", "GET /index.html HTTP/1.1"),
        ];
        for (field, want) in expect {
            assert_eq!(c.name(field).map(|m| m.as_str()), Some(want), "field %{field} of {line}");
        }
        assert!(c.name("hr").is_none() && c.name("hs").is_none());
        // The same regex accepts HAProxy's own example line, with captures.
        let haproxy = "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"";
        let c = re.captures(haproxy).unwrap();
        assert_eq!(c.name("hr").map(|m| m.as_str()), Some("1wt.eu"));
    }

    #[test]
    fn failed_requests_log_minus_one_and_badreq() {
        let re = regex::Regex::new(HTTPLOG).unwrap();
        let log = HttpLog {
            backend: "http-in",
            server: None,
            request_ms: None,
            queue_ms: None,
            connect_ms: None,
            response_ms: None,
            active_ms: 10001,
            status: Some(408),
            bytes: 212,
            termination: Termination::new(Cause::ClientTimeout, Phase::Request),
            request_line: None,
            ..sample()
        };
        let line = log.line();
        assert!(line.ends_with("http-in http-in/<NOSRV> -1/-1/-1/-1/10001 408 212 - - cR-- 1/1/1/1/0 0/0 \"<BADREQ>\""), "{line}");
        assert!(re.is_match(&line));
        let base = sample();
        let redispatched = HttpLog {
            counts: LogCounts { retries: 2, redispatched: true, ..base.counts },
            status: None,
            termination: Termination::new(Cause::ServerTimeout, Phase::Headers)
                .with_cookies(RequestCookie::Valid.code(), ResponseCookie::Inserted.code()),
            ..sample()
        };
        let line = redispatched.line();
        assert!(line.contains(" -1 2750 - - sHVI 1/1/1/1/+2 0/0 "), "{line}");
        assert!(re.is_match(&line));
    }

    #[test]
    fn request_lines_are_encoded() {
        let head = parse_request(b"GET /a\"b#c?\xff HTTP/1.0\r\n\r\n");
        let line = match head {
            Ok(Some(h)) => request_line(&h),
            // httparse may refuse the raw byte; encode the bytes directly then.
            _ => b"GET /a\"b#c?\xff HTTP/1.0".to_vec(),
        };
        let log = HttpLog { request_line: Some(&line), ..sample() };
        assert!(log.line().ends_with("\"GET /a#22b#23c?#FF HTTP/1.0\""), "{}", log.line());
        let ok = parse_request(b"POST /x HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(request_line(&ok), b"POST /x HTTP/1.1");
    }
}
