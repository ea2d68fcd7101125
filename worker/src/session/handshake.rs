//! `accept-proxy`: a session's first step on such a bind is the client's PROXY header, before
//! its protocol starts (HAProxy's `conn_recv_proxy()` as a connection handshake).
//!
//! The header is peeked (`MSG_PEEK`), parsed, then exactly its bytes are consumed, so what
//! follows stays in the socket for the protocol. Its source address replaces the client's
//! address for everything after it (ACLs, logs, stick tables, `X-Forwarded-For`, a PROXY header
//! sent on), its destination the local one. As in HAProxy 2.6:
//!
//! - the header must be complete in what the first read finds (no reassembly);
//! - it must come within `timeout client` of the accept;
//! - a failure closes the connection with no backend touched, and is logged as HAProxy's
//!   `session_kill_embryonic()` logs it (`ip:port [date] frontend/listener: reason`), except
//!   that under `option dontlognull` a client that closed or reset before sending anything is
//!   not logged. HAProxy counts such failures nowhere else; hakeeper also counts them as request
//!   errors (`ereq`) of the frontend and listener, so that the stats page shows them.

use super::{Ctx, Session, Step};
use crate::counters::Counters;
use crate::termination::{Cause, Phase, Termination};
use hakeeper_common::proxy_protocol::{self, ProxyError};
use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

/// What a session on an `accept-proxy` bind carries.
#[derive(Debug, Clone)]
pub struct Proxied {
    /// Waiting for the header: until when, and the backend to start with afterwards.
    pub waiting: Option<Waiting>,
    /// Why the header was refused (the session is closing).
    pub failed: Option<ProxyError>,
    /// The destination the header named (`None`: `UNKNOWN`/`LOCAL`, the socket's own).
    pub dst: Option<SocketAddr>,
    /// A `tcp-request session` rule refused the session (or silently dropped it) after the
    /// header: it ends without a log line, as HAProxy's rejected sessions do.
    pub denied: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    pub deadline: Instant,
    pub backend: Option<usize>,
}

impl Proxied {
    pub fn new(deadline: Instant, backend: Option<usize>) -> Self {
        Proxied { waiting: Some(Waiting { deadline, backend }), failed: None, dst: None, denied: false }
    }
}

impl Session {
    /// Whether the session still waits for its PROXY header.
    #[inline]
    pub fn awaits_proxy_header(&self) -> bool {
        self.proxied.as_ref().is_some_and(|p| p.waiting.is_some())
    }

    /// The deadline of the header, while it is awaited.
    pub(crate) fn proxy_deadline(&self) -> Option<Instant> {
        self.proxied.as_ref().and_then(|p| p.waiting).map(|w| w.deadline)
    }

    /// The header's refusal, when the session ends because of it.
    pub fn proxy_failure(&self) -> Option<ProxyError> {
        self.proxied.as_ref().and_then(|p| p.failed)
    }

    /// Reads the header if it is there; once it is, the protocol starts.
    pub(crate) fn proxy_handshake(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if !self.client_ready.readable {
            return Step::Continue;
        }
        let fd = self.client.as_raw_fd();
        let mut buf = [0u8; proxy_protocol::MAX_HEADER];
        let n = loop {
            match recv(fd, &mut buf, MsgFlags::MSG_PEEK) {
                Ok(n) => break n,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => {
                    self.client_ready.readable = false;
                    return Step::Continue;
                }
                Err(_) => return self.proxy_failed(ctx, ProxyError::Abort),
            }
        };
        let parsed = match proxy_protocol::parse(&buf[..n]) {
            Ok(p) => p,
            Err(e) => return self.proxy_failed(ctx, e),
        };
        // Consume exactly the header; anything else means the socket changed under us.
        let eaten = loop {
            match recv(fd, &mut buf[..parsed.len], MsgFlags::empty()) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        if eaten != Ok(parsed.len) {
            return self.proxy_failed(ctx, ProxyError::Abort);
        }
        let Some(p) = self.proxied.as_mut() else { return self.proxy_failed(ctx, ProxyError::Abort) };
        let backend = p.waiting.take().and_then(|w| w.backend);
        if let Some((src, dst)) = parsed.addrs {
            self.client_addr = src;
            p.dst = Some(dst);
        }
        self.proxy_accepted(ctx, backend)
    }

    /// Whether a `tcp-request session` rule refused the session.
    pub fn session_denied(&self) -> bool {
        self.proxied.as_ref().is_some_and(|p| p.denied)
    }

    /// `tcp-request session` rules, which run once the header's addresses are known (HAProxy
    /// evaluates them when the session is made, after the PROXY handshake).
    fn session_rules_deny(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(h) = crate::tcp_rules::session_rules(ctx.shared, self.frontend) else { return false };
        let fe = &ctx.shared.config.frontends[self.frontend];
        let dst = if crate::tcp_rules::reads_dst(&h.acls) { self.local_addr(ctx.shared) } else { None };
        let view = crate::tcp_rules::ConnView::at_accept(self.client_addr, dst, &fe.name, self.listener, ctx.shared);
        let action = crate::tcp_rules::connection_verdict(&h.tcp_session, &h.acls, &view);
        if action == hakeeper_common::config::TcpAction::Accept {
            return false;
        }
        crate::deny::deny_session(ctx.shared, &self.client, self.client_addr, self.frontend, self.listener, action);
        if let Some(p) = self.proxied.as_mut() {
            p.denied = true;
        }
        true
    }

    /// The header is in: the session is what a plain accept would have made, with the
    /// header's addresses.
    fn proxy_accepted(&mut self, ctx: &mut Ctx<'_>, backend: Option<usize>) -> Step {
        if self.session_rules_deny(ctx) {
            return Step::Close(Termination::new(Cause::Proxy, Phase::Request));
        }
        let shared = ctx.shared;
        let fe = &shared.config.frontends[self.frontend];
        if let (Some(be), false) = (backend, crate::tcp_rules::tcp_switching(shared, self.frontend)) {
            shared.stats.backends[be].counters.session_opened();
        }
        self.up.backend = backend;
        if fe.log && fe.log_format.is_none() {
            let local = self.local_addr(shared).map(|a| a.to_string()).unwrap_or_default();
            log::info!("Connect from {} to {local} ({}/TCP)", self.client_addr, fe.name);
        }
        self.start(ctx)
    }

    /// The header was refused, or never came: count it and end the session.
    pub(crate) fn proxy_failed(&mut self, ctx: &mut Ctx<'_>, e: ProxyError) -> Step {
        let stats = &ctx.shared.stats.frontends[self.frontend];
        Counters::add(&stats.counters.request_errors, 1);
        Counters::add(&stats.listeners[self.listener].counters.request_errors, 1);
        if let Some(p) = self.proxied.as_mut() {
            p.failed = Some(e);
        }
        let cause = if e == ProxyError::Timeout { Cause::ClientTimeout } else { Cause::Proxy };
        Step::Close(Termination::new(cause, Phase::Request))
    }

    /// The header's deadline fired.
    pub(crate) fn proxy_on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.proxy_deadline() {
            Some(d) if ctx.now >= d => self.proxy_failed(ctx, ProxyError::Timeout),
            _ => Step::Continue,
        }
    }

    /// The address the client connected to: the PROXY header's destination when it named one.
    pub fn local_addr(&self, shared: &crate::shared::Shared) -> Option<SocketAddr> {
        let known = || shared.config.frontends.get(self.frontend).and_then(|fe| fe.bind_local(self.listener));
        self.proxied.as_ref().and_then(|p| p.dst).or_else(known).or_else(|| self.client.local_addr().ok())
    }

    /// HAProxy's embryonic-session log line for a refused header, or `None` when it is not
    /// logged (`option dontlognull` and nothing was received, or logging is off).
    pub fn proxy_failure_log(&self, shared: &crate::shared::Shared) -> Option<String> {
        let e = self.proxy_failure()?;
        let fe = &shared.config.frontends[self.frontend];
        if !fe.log || (fe.dontlognull && matches!(e, ProxyError::Empty | ProxyError::Abort)) {
            return None;
        }
        Some(format!(
            "{}:{} [{}] {}/{}: {e}",
            self.client_addr.ip(),
            self.client_addr.port(),
            crate::tcplog::accept_date(self.accepted_wall),
            fe.name,
            self.listener + 1
        ))
    }
}
