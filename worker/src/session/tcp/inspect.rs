//! `tcp-request inspect-delay` and `tcp-request content accept|reject`: before a mode tcp
//! session picks its backend, its first bytes are read and the content rules evaluated again
//! each time data arrives (HAProxy's `tcp_inspect_request()` analyser):
//!
//! - a rule whose condition cannot be decided on the data present (`req.len`, a payload not
//!   arrived yet) makes the session wait, until the delay expires, the client closes, or the
//!   buffer is full; then the data present decides (`SMP_OPT_FINAL`);
//! - the first rule that applies decides; none means accept;
//! - accept: `use_backend` rules run next and see the same bytes, then the server connection
//!   starts and the bytes are forwarded first;
//! - reject: the connection is closed, the frontend's and listener's `dreq` count it
//!   (`denied_req`), and the session is logged with the termination state `PR`
//!   (`SF_ERR_PRXCOND`, `SF_FINST_R`) and the frontend as its backend. HAProxy 2.6 closes it
//!   with a FIN when it has read everything the client sent (checked against 2.6.12), unlike
//!   `tcp-request connection reject`'s reset; so does hakeeper.
//!
//! Only frontends with content rules get here ([`crate::tcp_rules::content_inspection`]).

use super::{Proto, Session};
use crate::counters::Counters;
use crate::session::{Ctx, Step};
use crate::tcp_rules::{self, ConnView, ContentVerdict};
use crate::termination::{Cause, Phase, Termination};
use std::time::{Duration, Instant};

/// A session under inspection: its request (before the backend is chosen) or, once the server
/// is connected, its response ([`super::response_inspect`]).
#[derive(Debug, Clone, Copy)]
pub struct Inspect {
    /// The end of the inspect delay: the rules decide on what has arrived by then.
    pub deadline: Instant,
    pub of: Inspected,
}

/// Which direction is held for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inspected {
    /// `tcp-request content`; `backend` is the one the session starts with once accepted (the
    /// frontend's default, or a PROXY header's choice), not counted in it before then.
    Request { backend: Option<usize> },
    /// `tcp-response content`.
    Response,
}

impl Session {
    /// Whether the session's request is still being inspected.
    #[inline]
    pub(crate) fn inspecting(&self) -> bool {
        matches!(&self.proto, Proto::Tcp(t) if matches!(t.inspect, Some(Inspect { of: Inspected::Request { .. }, .. })))
    }

    /// Starts the inspection of a new session.
    pub(crate) fn tcp_start_inspect(&mut self, ctx: &mut Ctx<'_>, delay: Duration) -> Step {
        let backend = self.up.backend.take();
        if let Proto::Tcp(t) = &mut self.proto {
            t.inspect = Some(Inspect { deadline: ctx.now + delay, of: Inspected::Request { backend } });
        }
        self.tcp_inspect(ctx)
    }

    /// Reads what the client sent and runs the content rules on everything received so far.
    pub(crate) fn tcp_inspect(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if let step @ Step::Close(_) = self.tcp_progress(ctx) {
            return step;
        }
        if self.track.is_none() && !ctx.shared.tables.is_empty() {
            self.track = Some(Box::default());
        }
        let verdict = {
            let Proto::Tcp(t) = &self.proto else { return Step::Continue };
            let Some(inspect) = t.inspect.filter(|i| matches!(i.of, Inspected::Request { .. })) else { return Step::Continue };
            let Some(h) = ctx.shared.config.http.frontends.get(self.frontend) else { return Step::Continue };
            let dst = if tcp_rules::reads_dst(&h.acls) { self.local_addr(ctx.shared) } else { None };
            let closed = t.req.eof || t.req.is_full();
            let fe = &ctx.shared.config.frontends[self.frontend];
            let view = ConnView {
                src: self.client_addr,
                dst,
                frontend: &fe.name,
                so_id: tcp_rules::so_id(self.listener),
                shared: ctx.shared,
                data: t.req.peek(),
                closed,
                final_: closed || ctx.now >= inspect.deadline,
                tls: self.tls_facts.clone(),
                track: self.track.as_deref(),
            };
            tcp_rules::content_verdict(&h.tcp_content, &h.acls, &view)
        };
        match verdict {
            ContentVerdict::Wait => Step::Continue,
            // `close` is a tcp-response action; validation keeps it out of these rules.
            ContentVerdict::Reject | ContentVerdict::Close => self.content_rejected(ctx),
            ContentVerdict::SilentDrop => {
                let how = crate::silent_drop::prepare(&self.client, self.client_addr);
                log::debug!("session {} from {} silently dropped by tcp-request content ({how:?})", self.id, self.client_addr);
                self.content_rejected(ctx)
            }
            ContentVerdict::Accept => {
                if let Proto::Tcp(t) = &mut self.proto {
                    self.up.backend = match t.inspect.take() {
                        Some(Inspect { of: Inspected::Request { backend }, .. }) => backend,
                        _ => None,
                    };
                }
                self.tcp_connect_backend(ctx)
            }
        }
    }

    /// The inspect delay, while inspecting.
    pub(crate) fn inspect_deadline(&self) -> Option<Instant> {
        match &self.proto {
            Proto::Tcp(t) => t.inspect.map(|i| i.deadline),
            Proto::Http(_) | Proto::Http2(_) => None,
        }
    }

    /// `tcp-request content reject` or `silent-drop`: count, close, log `PR` (HAProxy's
    /// silent-drop sets SF_ERR_PRXCOND and SF_FINST_R too).
    fn content_rejected(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let stats = &ctx.shared.stats.frontends[self.frontend];
        Counters::add(&stats.counters.denied_requests, 1);
        Counters::add(&stats.listeners[self.listener].counters.denied_requests, 1);
        log::debug!("session {} from {} rejected by tcp-request content", self.id, self.client_addr);
        Step::Close(Termination::new(Cause::Proxy, Phase::Request))
    }
}
