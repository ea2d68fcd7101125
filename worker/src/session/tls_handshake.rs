//! A TLS bind's handshake, the session's step before its protocol starts (after a PROXY
//! header when the bind has both), as HAProxy's embryonic session: bounded by `timeout client`
//! from the accept, and on failure logged as `session_kill_embryonic()` logs it
//! (`ip:port [date] frontend/bind: SSL handshake failure`), counted in the frontend's and
//! listener's request errors (`ereq`), and closed with nothing sent to a server.
//!
//! Once the handshake is done the protocols read and write through [`Session::client_end`].

use super::{Ctx, Session, Step};
use crate::counters::Counters;
use crate::termination::{Cause, Phase, Termination};
use crate::tls::conn::{Handshake, HandshakeFailure};
use std::time::Instant;

impl Session {
    /// Whether the session still runs its TLS handshake.
    #[inline]
    pub fn awaits_tls_handshake(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking()) && self.tls_failed.is_none()
    }

    /// When the handshake must be over.
    pub(crate) fn tls_deadline(&self, shared: &crate::shared::Shared) -> Option<Instant> {
        crate::deadline::after(self.accepted, shared.config.frontends[self.frontend].timeout_client)
    }

    /// Moves the handshake on; once done, the protocol starts.
    pub(crate) fn tls_handshake(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(tls) = self.tls.as_mut() else { return self.start_proto(ctx) };
        match tls.handshake(&self.client, &mut self.client_ready) {
            Handshake::Pending => Step::Continue,
            Handshake::Failed(f) => self.tls_failed(ctx, f),
            Handshake::Done => {
                let local = ctx.shared.tls.local_cert(self.frontend, self.listener, tls.server_name());
                self.tls_facts = Some(std::sync::Arc::new(crate::tls::TlsFacts::of(tls, local)));
                match &mut self.proto {
                    super::Proto::Http(h) => h.restart_wait(ctx.now),
                    super::Proto::Tcp(t) => t.client_active(ctx.now),
                    super::Proto::Http2(_) => {}
                }
                self.start_proto(ctx)
            }
        }
    }

    pub(crate) fn tls_on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.tls_deadline(ctx.shared) {
            Some(d) if ctx.now >= d => self.tls_failed(ctx, HandshakeFailure::Timeout),
            _ => Step::Continue,
        }
    }

    fn tls_failed(&mut self, ctx: &mut Ctx<'_>, f: HandshakeFailure) -> Step {
        let stats = &ctx.shared.stats.frontends[self.frontend];
        Counters::add(&stats.counters.request_errors, 1);
        Counters::add(&stats.listeners[self.listener].counters.request_errors, 1);
        self.tls_failed = Some(f);
        let cause = if f == HandshakeFailure::Timeout { Cause::ClientTimeout } else { Cause::ClientAbort };
        Step::Close(Termination::new(cause, Phase::Request))
    }

    /// HAProxy's embryonic-session log line for a failed handshake, or `None` when there was
    /// none or it is not logged (logging off; `option dontlognull` and the client closed
    /// without a word, as HAProxy skips such "null" connections).
    pub fn tls_failure_log(&self, shared: &crate::shared::Shared) -> Option<String> {
        let f = self.tls_failed?;
        let fe = &shared.config.frontends[self.frontend];
        if !fe.log || (fe.dontlognull && f == HandshakeFailure::Closed) {
            return None;
        }
        Some(format!(
            "{}:{} [{}] {}/{}: {}",
            self.client_addr.ip(),
            self.client_addr.port(),
            crate::tcplog::accept_date(self.accepted_wall),
            fe.name,
            self.listener + 1,
            f.message()
        ))
    }

    /// Whether the handshake failed (the session is closing because of it).
    pub fn tls_failure(&self) -> Option<HandshakeFailure> {
        self.tls_failed
    }

    /// Whether reading the client may find something: the socket is readable, or decrypted
    /// bytes wait in the TLS connection.
    pub(crate) fn client_readable(&mut self) -> bool {
        self.client_ready.readable || self.tls.as_mut().is_some_and(|t| t.has_plaintext())
    }

    /// Ends the write direction towards the client (close_notify first on TLS).
    pub(crate) fn shut_client_write(&mut self) {
        match self.tls.as_mut() {
            Some(t) => t.close(&self.client, &mut self.client_ready),
            None => {
                let _ = self.client.shutdown(std::net::Shutdown::Write);
            }
        }
    }
}
