//! Content switching in mode tcp: `use_backend BACKEND if|unless COND` rules on layer-4 and
//! content ACLs, evaluated when the session starts (after a PROXY header, whose addresses they
//! see) or when `tcp-request content` inspection has accepted it (they then see the bytes it
//! waited for), the first that holds choosing the backend, else `default_backend` (HAProxy's
//! `process_switching_rules()`, which runs after the inspect analyser and decides at once:
//! `SMP_OPT_FINAL`).

use super::Proto;
use crate::session::{Ctx, Session};
use crate::tcp_rules::{self, ConnView};

impl Session {
    /// Picks the backend of a switching frontend and counts the session in it.
    pub(crate) fn tcp_choose_backend(&mut self, ctx: &mut Ctx<'_>) {
        if !tcp_rules::tcp_switching(ctx.shared, self.frontend) {
            return;
        }
        let Some(h) = ctx.shared.config.http.frontends.get(self.frontend) else { return };
        let dst = if tcp_rules::reads_dst(&h.acls) { self.local_addr(ctx.shared) } else { None };
        let fe = &ctx.shared.config.frontends[self.frontend];
        let mut view = ConnView::at_accept(self.client_addr, dst, &fe.name, self.listener, ctx.shared);
        view.tls = self.tls_facts.clone();
        if let Proto::Tcp(t) = &self.proto {
            view.data = t.req.peek();
            view.closed = t.req.eof || t.req.is_full();
        }
        if let Some(be) = tcp_rules::switch_backend(h, &view) {
            self.up.backend = Some(be);
        }
        if let Some(be) = self.up.backend {
            ctx.shared.stats.backends[be].counters.session_opened();
        }
    }
}
