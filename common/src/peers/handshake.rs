//! The handshake (`doc/peers-v2.0.txt` §"Handshake", HAProxy 2.6's `peer_prepare_hellomsg()`,
//! `peer_getline_version()`, `peer_getline_host()`, `peer_getline_last()`).
//!
//! ```text
//!  client → server:  HAProxyS 2.1\n
//!                    <name of the server peer>\n
//!                    <name of the client peer> <pid> <relative pid>\n
//!  server → client:  <status>\n     200 ok, 300 try again, 501 protocol error,
//!                                    502 bad version, 503 bad host name, 504 unknown peer
//! ```
//!
//! Lines end with `\n`, an optional `\r` before it is dropped. Version 2.0 peers ("downgraded")
//! do not understand timed updates; any other major version, or a minor above 1, gets 502.

use super::error::DecodeError;

pub const PROTO_NAME: &str = "HAProxyS";
pub const MAJOR: u32 = 2;
pub const MINOR: u32 = 1;
/// The longest handshake line this side reads (HAProxy reads up to its buffer size; names are
/// short: a longer line is garbage).
pub const MAX_LINE: usize = 1024;

/// Handshake status codes (`PEER_SESS_SC_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    TryAgain,
    ErrProto,
    ErrVersion,
    ErrHost,
    ErrPeer,
    /// Another code, kept as sent.
    Other(u32),
}

impl Status {
    pub fn code(self) -> u32 {
        match self {
            Status::Success => 200,
            Status::TryAgain => 300,
            Status::ErrProto => 501,
            Status::ErrVersion => 502,
            Status::ErrHost => 503,
            Status::ErrPeer => 504,
            Status::Other(c) => c,
        }
    }

    pub fn from_code(c: u32) -> Status {
        match c {
            200 => Status::Success,
            300 => Status::TryAgain,
            501 => Status::ErrProto,
            502 => Status::ErrVersion,
            503 => Status::ErrHost,
            504 => Status::ErrPeer,
            c => Status::Other(c),
        }
    }

    /// The status line.
    pub fn line(self) -> Vec<u8> {
        format!("{}\n", self.code()).into_bytes()
    }

    /// Parses a status line as HAProxy does (`atoi`: leading digits, anything else is 0).
    pub fn parse(line: &str) -> Status {
        let digits: String = line.trim_start().chars().take_while(|c| c.is_ascii_digit()).take(9).collect();
        Status::from_code(digits.parse().unwrap_or(0))
    }
}

/// The client's hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// 1, or 0 for a 2.0 peer (which understands no timed updates).
    pub minor: u32,
    /// The name the client gives the server.
    pub server_name: String,
    /// The client's own name.
    pub client_name: String,
    pub pid: u32,
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        format!("{PROTO_NAME} {MAJOR}.{}\n{}\n{} {} 1\n", self.minor, self.server_name, self.client_name, self.pid).into_bytes()
    }
}

/// Checks the first hello line; the minor version on success.
pub fn check_version_line(line: &str) -> Result<u32, Status> {
    let Some(version) = line.strip_prefix(PROTO_NAME).and_then(|r| r.strip_prefix(' ')) else {
        return Err(Status::ErrProto);
    };
    let (maj, min) = version.split_once('.').ok_or(Status::ErrVersion)?;
    let number = |s: &str| -> Option<u32> { (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten() };
    match (number(maj), number(min)) {
        (Some(MAJOR), Some(min)) if min <= MINOR => Ok(min),
        _ => Err(Status::ErrVersion),
    }
}

/// The client's name from the third hello line (`<name> <pid> <relative pid>`).
pub fn client_name(line: &str) -> Result<&str, Status> {
    line.split_once(' ').map(|(name, _)| name).ok_or(Status::ErrProto)
}

/// Accumulates bytes into `\n`-terminated lines, bounded by [`MAX_LINE`].
#[derive(Debug, Default)]
pub struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line without its `\r\n`/`\n`, `Ok(None)` while incomplete.
    pub fn next_line(&mut self) -> Result<Option<String>, DecodeError> {
        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() > MAX_LINE {
                return Err(DecodeError::LineTooLong(MAX_LINE));
            }
            return Ok(None);
        };
        if nl > MAX_LINE {
            return Err(DecodeError::LineTooLong(MAX_LINE));
        }
        let mut line: Vec<u8> = self.buf.drain(..=nl).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        String::from_utf8(line).map(Some).map_err(|_| DecodeError::LineNotUtf8)
    }

    /// Bytes after the last line read (the first messages may follow the handshake at once).
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_bytes() {
        let h = Hello { minor: 1, server_name: "hap".into(), client_name: "lb2".into(), pid: 42 };
        assert_eq!(h.encode(), b"HAProxyS 2.1\nhap\nlb2 42 1\n");
    }

    #[test]
    fn version_checks_as_haproxy() {
        assert_eq!(check_version_line("HAProxyS 2.1"), Ok(1));
        assert_eq!(check_version_line("HAProxyS 2.0"), Ok(0));
        assert_eq!(check_version_line("HAProxyS 2.2"), Err(Status::ErrVersion));
        assert_eq!(check_version_line("HAProxyS 3.0"), Err(Status::ErrVersion));
        assert_eq!(check_version_line("HAProxyS 2.x"), Err(Status::ErrVersion));
        assert_eq!(check_version_line("HAProxyS 2.1 "), Err(Status::ErrVersion));
        assert_eq!(check_version_line("HAProxyZ 2.1"), Err(Status::ErrProto));
        assert_eq!(check_version_line("GET / HTTP/1.1"), Err(Status::ErrProto));
    }

    #[test]
    fn client_name_needs_a_pid() {
        assert_eq!(client_name("lb2 42 1"), Ok("lb2"));
        assert_eq!(client_name("lb2"), Err(Status::ErrProto));
    }

    #[test]
    fn status_parse() {
        assert_eq!(Status::parse("200"), Status::Success);
        assert_eq!(Status::parse("503"), Status::ErrHost);
        assert_eq!(Status::parse("junk"), Status::Other(0));
        assert_eq!(Status::parse("99999999999999999999"), Status::Other(999_999_999));
    }

    #[test]
    fn lines_strip_cr_and_bound_length() {
        let mut l = Lines::default();
        l.push(b"a\r\nb\nrest");
        assert_eq!(l.next_line(), Ok(Some("a".into())));
        assert_eq!(l.next_line(), Ok(Some("b".into())));
        assert_eq!(l.next_line(), Ok(None));
        assert_eq!(l.take_rest(), b"rest");
        let mut l = Lines::default();
        l.push(&[b'x'; MAX_LINE + 1]);
        assert_eq!(l.next_line(), Err(DecodeError::LineTooLong(MAX_LINE)));
        let mut l = Lines::default();
        l.push(&[0xff, b'\n']);
        assert_eq!(l.next_line(), Err(DecodeError::LineNotUtf8));
    }
}
