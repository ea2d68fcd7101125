//! One network check in flight: a non-blocking connection driven by the event loop's readiness
//! events, from connect to verdict. It never blocks and never sleeps; deadlines are the loop's.

use crate::checks::http::{parse_status_line, status_passes, StatusLine};
use crate::checks::mysql::{decode_greeting, decode_login_reply, split_packet, DecodeError, Reply};
use crate::checks::probe_tls::{failure_text, TlsLayer};
use crate::checks::status::{os_error_text, CheckResult, CheckStatus};
use hakeeper_common::proxy_protocol::{self, Version};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

/// Enough for an HTTP status line or one MySQL packet; a peer sending more is not answering.
const MAX_INPUT: usize = crate::checks::mysql::MAX_PACKET + 16 * 1024;

/// What a check does once connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// The connection is the check.
    Tcp,
    /// Send `request`, judge the status line.
    Http { request: Vec<u8>, expect: Option<(u16, u16)> },
    /// Read the greeting, send `login` (login + COM_QUIT), judge the reply.
    Mysql { login: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Connecting,
    /// `check-ssl`: connected, the TLS handshake runs (still under the connect deadline, as
    /// HAProxy's check connection is established once its SSL layer is).
    Handshake,
    HttpResponse,
    MysqlGreeting,
    MysqlReply {
        version: String,
    },
}

/// What an event said about the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub writable: bool,
    /// Error or hang-up.
    pub error: bool,
}

impl Readiness {
    pub fn of(event: &mio::event::Event) -> Self {
        Readiness { writable: event.is_writable(), error: event.is_error() || event.is_write_closed() }
    }
}

/// What one readiness event led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    Waiting,
    /// The connection was just established and the check goes on (the read timeout starts).
    Connected,
    Done(CheckResult),
}

pub struct Probe {
    stream: TcpStream,
    started: Instant,
    stage: Stage,
    out: Vec<u8>,
    out_pos: usize,
    input: Vec<u8>,
    /// `check-send-proxy`: the header written first once connected.
    proxy: Option<Version>,
    /// `check-ssl`: the TLS layer, set up when connected (after any PROXY header).
    tls: Option<Box<TlsLayer>>,
    pending_tls: Option<Box<rustls::ClientConnection>>,
}

impl Probe {
    /// Starts connecting; an immediate failure is already the check's result.
    pub fn start(
        addr: SocketAddr,
        protocol: &Protocol,
        proxy: Option<Version>,
        tls: Option<rustls::ClientConnection>,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Result<Probe, CheckResult> {
        let fail = |status, e: &std::io::Error| CheckResult::new(status, now.elapsed()).with_info(os_error_text(e));
        let mut stream = connect(addr, protocol).map_err(|(status, e)| fail(status, &e))?;
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE).map_err(|e| fail(CheckStatus::SocketError, &e))?;
        Ok(Probe {
            stream,
            started: now,
            stage: Stage::Connecting,
            out: Vec::new(),
            out_pos: 0,
            input: Vec::new(),
            proxy,
            tls: None,
            pending_tls: tls.map(Box::new),
        })
    }

    fn result(&self, status: CheckStatus, now: Instant) -> CheckResult {
        CheckResult::new(status, now.saturating_duration_since(self.started))
    }

    /// Handles a readiness event.
    pub fn on_ready(&mut self, ready: Readiness, protocol: &Protocol, now: Instant) -> Progress {
        if self.stage == Stage::Handshake {
            return match self.advance(protocol, now) {
                Progress::Waiting if self.stage != Stage::Handshake => Progress::Connected,
                other => other,
            };
        }
        if self.stage != Stage::Connecting {
            return self.advance(protocol, now);
        }
        // A connecting socket turns writable once established; an error or hang-up means it
        // failed. Judging from the event spares two system calls per check (SO_ERROR,
        // getpeername) in the common case.
        if ready.error || !ready.writable {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => return Progress::Done(self.result(CheckStatus::L4Connection, now).with_info(os_error_text(&e))),
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(_) => {}
                // A wake-up before the handshake finished.
                Err(e) if e.kind() == ErrorKind::NotConnected => return Progress::Waiting,
                Err(e) => return Progress::Done(self.result(CheckStatus::L4Connection, now).with_info(os_error_text(&e))),
            }
        }
        self.out = match self.proxy_header() {
            Ok(h) => h,
            Err(e) => return Progress::Done(self.result(CheckStatus::SocketError, now).with_info(os_error_text(&e))),
        };
        if let Some(conn) = self.pending_tls.take() {
            // The PROXY header goes first, in clear (HAProxy sends it before the handshake).
            self.tls = Some(Box::new(TlsLayer::new(*conn)));
            self.stage = Stage::Handshake;
            return match self.advance(protocol, now) {
                Progress::Waiting if self.stage != Stage::Handshake => Progress::Connected,
                other => other,
            };
        }
        match protocol {
            // The connection is the check; a PROXY header goes out first, in one write on a
            // fresh socket (as HAProxy's conn_send_proxy() completes before the check ends).
            Protocol::Tcp => {
                return match self.flush() {
                    Ok(()) if self.out_pos == self.out.len() => Progress::Done(self.result(CheckStatus::L4Ok, now)),
                    Ok(()) => Progress::Done(self.result(CheckStatus::SocketError, now).with_info("PROXY header not sent whole")),
                    Err(e) => Progress::Done(self.result(CheckStatus::SocketError, now).with_info(os_error_text(&e))),
                };
            }
            Protocol::Http { request, .. } => {
                self.out.extend_from_slice(request);
                self.stage = Stage::HttpResponse;
            }
            Protocol::Mysql { .. } => self.stage = Stage::MysqlGreeting,
        }
        match self.advance(protocol, now) {
            Progress::Waiting => Progress::Connected,
            other => other,
        }
    }

    /// The PROXY header a check starts with, as HAProxy makes it for a connection it opens
    /// itself: v1 names the check connection's own addresses, v2 is a `LOCAL` header.
    fn proxy_header(&self) -> std::io::Result<Vec<u8>> {
        Ok(match self.proxy {
            None => Vec::new(),
            Some(Version::V1) => proxy_protocol::v1(self.stream.local_addr()?, self.stream.peer_addr()?).into_bytes(),
            Some(Version::V2) => proxy_protocol::v2_local(),
        })
    }

    /// The verdict when the loop's deadline passes first.
    pub fn on_timeout(&self, now: Instant) -> CheckResult {
        let status = match self.stage {
            Stage::Connecting => CheckStatus::L4Timeout,
            Stage::Handshake => CheckStatus::L6Timeout,
            _ => CheckStatus::L7Timeout,
        };
        self.result(status, now)
    }

    /// Closes the connection. Closing the descriptor removes it from epoll, so no separate
    /// deregistration (one system call less per check).
    pub fn close(self) {
        drop(self.stream);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads what is available; `Ok(true)` at end of stream.
    fn fill(&mut self) -> std::io::Result<bool> {
        if let Some(tls) = self.tls.as_mut() {
            return Ok(tls.read_plain(&mut self.input, MAX_INPUT));
        }
        let mut chunk = [0u8; 4096];
        while self.input.len() < MAX_INPUT {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    fn advance(&mut self, protocol: &Protocol, now: Instant) -> Progress {
        // An I/O error on an established connection is HAProxy's "Socket error".
        let io = |p: &Probe, e: std::io::Error| Progress::Done(p.result(CheckStatus::SocketError, now).with_info(os_error_text(&e)));
        if let Err(e) = self.flush() {
            return io(self, e);
        }
        if let Some(tls) = self.tls.as_mut() {
            if let Err(f) = tls.drive(&mut self.stream) {
                let why = failure_text(&f, tls.handshaking());
                return Progress::Done(self.result(CheckStatus::L6Response, now).with_info(why));
            }
        }
        if self.stage == Stage::Handshake {
            return self.after_handshake(protocol, now);
        }
        let eof = match self.fill() {
            Ok(eof) => eof,
            Err(e) => return io(self, e),
        };
        let invalid = |p: &Probe, why: &str| Progress::Done(p.result(CheckStatus::L7Response, now).with_info(why));
        match &self.stage {
            Stage::Connecting | Stage::Handshake => Progress::Waiting,
            Stage::HttpResponse => {
                let expect = match protocol {
                    Protocol::Http { expect, .. } => *expect,
                    _ => None,
                };
                match parse_status_line(&self.input) {
                    StatusLine::Complete { code, reason } => {
                        let status = if status_passes(code, expect) { CheckStatus::L7Ok } else { CheckStatus::L7Status };
                        let mut r = self.result(status, now).with_code(code.into());
                        if status == CheckStatus::L7Status {
                            r = r.with_info(reason);
                        }
                        Progress::Done(r)
                    }
                    StatusLine::Invalid(why) => invalid(self, &why),
                    StatusLine::Incomplete if eof => {
                        invalid(self, if self.input.is_empty() { "empty response" } else { "truncated response" })
                    }
                    StatusLine::Incomplete => Progress::Waiting,
                }
            }
            Stage::MysqlGreeting => match split_packet(&self.input) {
                Ok((_, payload, used)) => match decode_greeting(payload) {
                    Ok(Reply::Greeting(g)) => {
                        self.input.drain(..used);
                        if let Protocol::Mysql { login } = protocol {
                            self.out = login.clone();
                            self.out_pos = 0;
                        }
                        self.stage = Stage::MysqlReply { version: g.version };
                        self.advance(protocol, now)
                    }
                    Ok(Reply::Error(e)) => {
                        Progress::Done(self.result(CheckStatus::L7Status, now).with_code(e.code.into()).with_info(e.message))
                    }
                    Ok(Reply::Accepted) => invalid(self, "not a MySQL greeting"),
                    Err(e) => invalid(self, &decode_problem(&e)),
                },
                Err(DecodeError::Incomplete) if eof => invalid(self, "connection closed before the server greeting"),
                Err(DecodeError::Incomplete) => Progress::Waiting,
                Err(e) => invalid(self, &decode_problem(&e)),
            },
            Stage::MysqlReply { version } => match split_packet(&self.input) {
                Ok((_, payload, _)) => match decode_login_reply(payload) {
                    Ok(Reply::Error(e)) => {
                        Progress::Done(self.result(CheckStatus::L7Status, now).with_code(e.code.into()).with_info(e.message))
                    }
                    Ok(_) => Progress::Done(self.result(CheckStatus::L7Ok, now).with_info(version.clone())),
                    Err(e) => invalid(self, &decode_problem(&e)),
                },
                Err(DecodeError::Incomplete) if eof => invalid(self, "connection closed before the login reply"),
                Err(DecodeError::Incomplete) => Progress::Waiting,
                Err(e) => invalid(self, &decode_problem(&e)),
            },
        }
    }
}

impl Probe {
    /// While the handshake runs: wait, or judge it, or go on with the check's protocol.
    fn after_handshake(&mut self, protocol: &Protocol, now: Instant) -> Progress {
        let Some(tls) = self.tls.as_mut() else { return Progress::Waiting };
        if tls.handshaking() {
            if tls.socket_eof() {
                let why = "SSL handshake failure: connection closed by the server";
                return Progress::Done(self.result(CheckStatus::L6Response, now).with_info(why));
            }
            return Progress::Waiting;
        }
        match protocol {
            // HAProxy's check-ssl on a TCP check: the handshake is the check.
            Protocol::Tcp => return Progress::Done(self.result(CheckStatus::L6Ok, now)),
            Protocol::Http { request, .. } => {
                if let Err(e) = tls.write_plain(request) {
                    return Progress::Done(self.result(CheckStatus::SocketError, now).with_info(os_error_text(&e)));
                }
                self.stage = Stage::HttpResponse;
            }
            Protocol::Mysql { .. } => self.stage = Stage::MysqlGreeting,
        }
        self.advance(protocol, now)
    }
}

/// Opens a non-blocking connection set up as HAProxy sets up its check connections.
/// - Closing resets (SO_LINGER 0) rather than FIN: no TIME_WAIT pile-up on our side at hundreds
///   of checks a second. MySQL gets a COM_QUIT and a FIN instead.
/// - When we speak first or not at all (TCP, HTTP), the handshake's final ACK is delayed
///   (TCP_QUICKACK 0, HAProxy's CONNECT_DELACK_ALWAYS / CONNECT_HAS_DATA): a TCP check is then
///   SYN, SYN-ACK, RST, and the server never has to accept a connection; an HTTP request carries
///   the ACK. MySQL servers speak first, so they get their ACK at once.
fn connect(addr: SocketAddr, protocol: &Protocol) -> Result<TcpStream, (CheckStatus, std::io::Error)> {
    use nix::sys::socket::{self, setsockopt, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
    let local = |e: nix::Error| (CheckStatus::SocketError, std::io::Error::from(e));
    let family = if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None).map_err(local)?;
    if !matches!(protocol, Protocol::Mysql { .. }) {
        setsockopt(&fd, sockopt::Linger, &nix::libc::linger { l_onoff: 1, l_linger: 0 }).map_err(local)?;
        set_quickack_off(&fd).map_err(|e| (CheckStatus::SocketError, e))?;
    }
    match socket::connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrStorage::from(addr)) {
        Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
        Err(e) => return Err((CheckStatus::L4Connection, e.into())),
    }
    Ok(TcpStream::from_std(std::net::TcpStream::from(fd)))
}

fn set_quickack_off(fd: &std::os::fd::OwnedFd) -> std::io::Result<()> {
    let off: nix::libc::c_int = 0;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a valid, live c_int.
    let rc = unsafe {
        nix::libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(fd),
            nix::libc::IPPROTO_TCP,
            nix::libc::TCP_QUICKACK,
            (&off as *const nix::libc::c_int).cast(),
            std::mem::size_of::<nix::libc::c_int>() as nix::libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn decode_problem(e: &DecodeError) -> String {
    match e {
        DecodeError::Incomplete => "truncated packet".into(),
        DecodeError::TooLarge(n) => format!("packet of {n} bytes"),
        DecodeError::Malformed(why) => why.to_string(),
    }
}
