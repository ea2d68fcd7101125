//! Ending a session: sockets closed, queue left or slot freed (which may wake a waiter),
//! counters decremented, and the `option tcplog` line written.

use super::EventLoop;
use crate::session::{Proto, Session, Stage};
use crate::tcplog::TcpLog;
use crate::termination::Termination;
use std::time::Duration;

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl EventLoop {
    pub(super) fn close(&mut self, key: usize, term: Termination) {
        // Closing a socket removes it from the epoll set (it is never duplicated), so no
        // deregistration: two syscalls fewer per connection.
        let Some(mut s) = self.sessions.try_remove(key) else { return };
        if let (Stage::Queued { server }, Some(be)) = (s.up.stage, s.up.backend) {
            // False when a grant is already on its way; it is returned when it arrives.
            self.shared.backend(be).withdraw(s.id, server);
        }
        // Logged before the counters drop: HAProxy's counts include the session being logged.
        if s.session_denied() {
            // Refused by `tcp-request session`: counted in `dses` (or `dreq`), not logged.
        } else if s.tls_failure().is_some() {
            if let Some(line) = s.tls_failure_log(&self.shared) {
                log::info!("{line}");
            }
        } else if s.proxy_failure().is_some() {
            if let Some(line) = s.proxy_failure_log(&self.shared) {
                log::info!("{line}");
            }
        } else if s.proto.is_http() {
            s.http_log_on_close(&self.shared, term, self.now);
        } else {
            self.log_session(&s, term);
        }
        let (_, mut ctx) = self.ctx(key);
        // An HTTP/2 connection's streams end with it, each logged.
        s.h2_close_streams(&mut ctx, term);
        // A connection in use mid-request is closed; a private idle one (`http-reuse never`)
        // dies with its session.
        s.close_conn(&mut ctx);
        s.close_private(&mut ctx);
        s.release_slot(&mut ctx);
        s.release_buffers(ctx.pools);
        s.leave_counts(&self.shared);
        if let Some(t) = s.track.take() {
            t.release(&self.shared, crate::stick::now_ms());
        }
    }

    fn log_session(&self, s: &Session, term: Termination) {
        let cfg = &self.shared.config;
        let fe = &cfg.frontends[s.frontend];
        if !fe.log || fe.log_format.is_none() || !log::log_enabled!(log::Level::Info) {
            return;
        }
        let Proto::Tcp(t) = &s.proto else { return };
        if fe.dontlognull && t.req.bytes == 0 {
            return;
        }
        let backend = s.up.backend.map(|b| &cfg.backends[b]);
        let server = match (backend, s.up.target) {
            (Some(b), Some(t)) => Some(b.servers[t].name.as_str()),
            _ => None,
        };
        // A session that timed out in the queue spent all its time there.
        let left_queue = s.up.queue_left.or(matches!(s.up.stage, Stage::Queued { .. }).then_some(self.now));
        let line = TcpLog {
            client: s.client_addr,
            accepted: s.accepted_wall,
            frontend: &fe.name,
            backend: backend.map_or(fe.name.as_str(), |b| b.name.as_str()),
            server,
            queue_ms: left_queue.map(|q| millis(q - s.accepted)),
            connect_ms: match (s.up.queue_left, s.up.established_at) {
                (Some(q), Some(e)) => Some(millis(e - q)),
                _ => None,
            },
            total_ms: millis(self.now.saturating_duration_since(s.accepted)),
            bytes: t.res.bytes,
            termination: term,
            counts: s.log_counts(&self.shared, s.up.backend),
        }
        .line();
        log::info!("{line}");
    }
}
