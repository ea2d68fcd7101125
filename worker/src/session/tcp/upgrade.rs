//! A mode tcp frontend whose chosen backend is in mode http: the connection is upgraded to
//! HTTP, as HAProxy 2.6 does (the H1 multiplexer replaces the raw one once the backend is
//! known). The bytes already read (those `tcp-request content` waited for) are the start of the
//! first request; from then on the session is an HTTP session whose backend is fixed: the
//! frontend has no HTTP rules, so every request on the connection goes to that backend, with
//! the backend's HTTP rules, cookies, `option forwardfor` and connection mode. A client that
//! does not speak HTTP gets a 400. Each request is logged in the frontend's format: `tcplog`
//! gives one tcplog line per request, as HAProxy 2.6 writes one per stream.

use super::super::http::HttpState;
use super::Proto;
use crate::session::{Ctx, Session, Step};
use hakeeper_common::config::Mode;

impl Session {
    /// Whether the session's backend is served as HTTP while its frontend is mode tcp.
    pub(crate) fn tcp_backend_is_http(&self, ctx: &Ctx<'_>) -> bool {
        self.up.backend.and_then(|b| ctx.shared.config.backends.get(b)).is_some_and(|b| b.mode == Mode::Http)
    }

    /// Turns a TCP session that chose an HTTP backend into an HTTP session with what it read.
    pub(crate) fn tcp_upgrade_to_http(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let mut http = HttpState::new(ctx.now);
        if let Proto::Tcp(t) = &mut self.proto {
            let (read, eof) = (t.req.peek(), t.req.eof);
            http.take_upgraded(read, eof, ctx.pools);
            t.req.discard(ctx.pools);
            t.res.discard(ctx.pools);
        }
        self.proto = Proto::Http(Box::new(http));
        self.http_start(ctx)
    }

    /// An HTTP session whose frontend is mode tcp (upgraded): its backend is fixed.
    pub(crate) fn upgraded_backend(&self, ctx: &Ctx<'_>) -> Option<Option<usize>> {
        (ctx.shared.config.frontends[self.frontend].mode == Mode::Tcp).then_some(self.up.backend)
    }
}
