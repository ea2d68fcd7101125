//! The outcome of one check, named and worded as HAProxy's `HCHK_STATUS_*` (src/check.c), so
//! log lines and the stats page read the same as HAProxy's.

use std::fmt::Write;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Could not create or use the socket (`SOCKERR`).
    SocketError,
    /// TCP connection established (`L4OK`).
    L4Ok,
    /// No connection within the connect timeout (`L4TOUT`).
    L4Timeout,
    /// Connection refused, unreachable, reset before established (`L4CON`).
    L4Connection,
    /// `check-ssl`: the TLS handshake completed (`L6OK`).
    L6Ok,
    /// `check-ssl`: connected, but the TLS handshake did not finish in time (`L6TOUT`).
    L6Timeout,
    /// `check-ssl`: the TLS handshake or layer failed (`L6RSP`).
    L6Response,
    /// Connected, but no complete answer in time (`L7TOUT`).
    L7Timeout,
    /// The answer is not the protocol expected (`L7RSP`).
    L7Response,
    /// The answer is good (`L7OKD`).
    L7Ok,
    /// The answer is well formed but reports an error or an unwanted status (`L7STS`).
    L7Status,
    /// A check script exited with a failing status (`PROCERR`).
    ProcError,
    /// A check script ran past its timeout and was killed (`PROCTOUT`).
    ProcTimeout,
    /// A check script passed (`PROCOK`).
    ProcOk,
}

impl CheckStatus {
    /// HAProxy's `get_check_status_description`.
    pub fn description(self) -> &'static str {
        match self {
            CheckStatus::SocketError => "Socket error",
            CheckStatus::L4Ok => "Layer4 check passed",
            CheckStatus::L4Timeout => "Layer4 timeout",
            CheckStatus::L4Connection => "Layer4 connection problem",
            CheckStatus::L6Ok => "Layer6 check passed",
            CheckStatus::L6Timeout => "Layer6 timeout",
            CheckStatus::L6Response => "Layer6 invalid response",
            CheckStatus::L7Timeout => "Layer7 timeout",
            CheckStatus::L7Response => "Layer7 invalid response",
            CheckStatus::L7Ok => "Layer7 check passed",
            CheckStatus::L7Status => "Layer7 wrong status",
            CheckStatus::ProcError => "External check error",
            CheckStatus::ProcTimeout => "External check timeout",
            CheckStatus::ProcOk => "External check passed",
        }
    }

    pub fn passed(self) -> bool {
        matches!(self, CheckStatus::L4Ok | CheckStatus::L6Ok | CheckStatus::L7Ok | CheckStatus::ProcOk)
    }

    /// HAProxy prints `code:` for statuses at or above `L57DATA`: layer-7 verdicts and
    /// external checks (the script's exit status).
    fn shows_code(self) -> bool {
        matches!(self, CheckStatus::L7Ok | CheckStatus::L7Status | CheckStatus::ProcError | CheckStatus::ProcTimeout | CheckStatus::ProcOk)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub status: CheckStatus,
    /// HTTP status or MySQL error number; 0 when the protocol gave none.
    pub code: u32,
    /// Free text (`info: "..."`): the error, the HTTP reason phrase, the MySQL version.
    pub info: String,
    pub duration: Duration,
}

impl CheckResult {
    pub fn new(status: CheckStatus, duration: Duration) -> Self {
        CheckResult { status, code: 0, info: String::new(), duration }
    }

    pub fn with_code(mut self, code: u32) -> Self {
        self.code = code;
        self
    }

    pub fn with_info(mut self, info: impl Into<String>) -> Self {
        self.info = info.into();
        self
    }

    pub fn passed(&self) -> bool {
        self.status.passed()
    }

    /// `Layer7 wrong status, code: 500, info: "Internal Server Error"` (HAProxy's
    /// `check_append_info` without the duration).
    pub fn reason(&self) -> String {
        let mut s = self.status.description().to_string();
        if self.status.shows_code() {
            let _ = write!(s, ", code: {}", self.code);
        }
        if !self.info.is_empty() {
            let _ = write!(s, ", info: \"{}\"", escape(&self.info));
        }
        s
    }

    pub fn duration_ms(&self) -> u128 {
        self.duration.as_millis()
    }
}

/// Keeps a peer's text printable on one log line (HAProxy's `chunk_escape` spirit).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The text for an OS error without Rust's " (os error N)" suffix, as HAProxy's `strerror`.
pub fn os_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_like_haproxy() {
        let d = Duration::from_millis(3);
        let refused = CheckResult::new(CheckStatus::L4Connection, d).with_info("Connection refused");
        assert_eq!(refused.reason(), "Layer4 connection problem, info: \"Connection refused\"");
        assert_eq!(CheckResult::new(CheckStatus::L4Ok, d).reason(), "Layer4 check passed");
        assert_eq!(CheckResult::new(CheckStatus::L7Ok, d).with_code(200).reason(), "Layer7 check passed, code: 200");
        let wrong = CheckResult::new(CheckStatus::L7Status, d).with_code(500).with_info("Internal Server Error");
        assert_eq!(wrong.reason(), "Layer7 wrong status, code: 500, info: \"Internal Server Error\"");
        assert_eq!(CheckResult::new(CheckStatus::L4Timeout, d).reason(), "Layer4 timeout");
    }

    #[test]
    fn info_is_escaped() {
        let r = CheckResult::new(CheckStatus::L7Response, Duration::ZERO).with_info("a\"b\r\n");
        assert_eq!(r.reason(), "Layer7 invalid response, info: \"a\\\"b\\x0d\\x0a\"");
    }

    #[test]
    fn os_errors_lose_the_rust_suffix() {
        let e = std::io::Error::from_raw_os_error(nix::libc::ECONNREFUSED);
        assert_eq!(os_error_text(&e), "Connection refused");
    }
}
