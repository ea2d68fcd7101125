//! Reuse of idle server connections by an HTTP session's requests (HAProxy's `http-reuse`,
//! `max-reuse`, `option prefer-last-server`): taking one instead of connecting, and giving a
//! connection back once its request is done.

use super::conns::NotKept;
use crate::session::{Ctx, Session};
use hakeeper_common::config::{Balance, HttpReuse};

impl Session {
    /// Takes an idle connection to `server` when the request's hints allow one: the session's
    /// own (`http-reuse never`), else one of the thread's shared ones.
    /// Only a connection opened with the same SNI (`sni`) fits.
    pub(super) fn take_idle(&mut self, ctx: &mut Ctx<'_>, be: usize, server: usize, sni: Option<&str>) -> bool {
        let Some(hints) = self.up.hints else { return false };
        let reuse = Session::reuse_for(ctx, be, server, hints.reuse);
        let private = self.up.private.take();
        let mut key = private.and_then(|r| ctx.conns.take_private(r, be, server, ctx.key, sni, &ctx.shared.stats));
        if key.is_none() {
            if let Some(r) = private {
                // One private connection per session: the one to another server goes.
                ctx.conns.close_private(r, &ctx.shared.stats);
            }
            key = ctx.conns.take(be, server, reuse, hints.first, ctx.key, sni, &ctx.shared.stats);
        }
        self.up.conn = key;
        key.is_some()
    }

    /// The request on the session's connection is done and the server keeps it open: keep it
    /// for later requests, shared with the thread's sessions or (`never`) for this session's
    /// next one. `unread`: bytes or a FIN may wait on it; `keep_client`: the client stays.
    pub(crate) fn park_conn(&mut self, ctx: &mut Ctx<'_>, keep_client: bool) {
        let (Some(key), Some(be), Some(server)) = (self.up.conn.take(), self.up.backend, self.up.target) else { return };
        let reuse = Session::reuse_for(ctx, be, server, self.up.hints.map(|h| h.reuse).unwrap_or_default());
        let Some(c) = ctx.conns.get_mut(key) else { return };
        let unread = c.unread();
        c.requests += 1;
        if unread || (reuse == HttpReuse::Never && !keep_client) {
            ctx.conns.close(key, &ctx.shared.stats);
            return;
        }
        if reuse == HttpReuse::Never {
            self.close_private(ctx);
        }
        let cfg = &ctx.shared.config.backends[be];
        match ctx.conns.park(key, reuse, self.id, &cfg.servers[server].pool, &ctx.shared.stats, ctx.now) {
            Ok(()) if reuse == HttpReuse::Never => self.up.private = ctx.conns.reference(key),
            Ok(()) => {}
            Err(why) => log::debug!("connection to {}/{} not kept idle: {}", cfg.name, cfg.servers[server].name, not_kept(why)),
        }
    }

    /// Closes the session's private idle connection, if any (`http-reuse never`).
    pub(crate) fn close_private(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(r) = self.up.private.take() {
            ctx.conns.close_private(r, &ctx.shared.stats);
        }
    }

    /// `option prefer-last-server`: the server of the session's own idle connection, for a
    /// request of `be` balanced by a non-deterministic algorithm.
    pub(crate) fn last_server(&self, ctx: &Ctx<'_>, be: usize) -> Option<usize> {
        let r = self.up.private?;
        let cfg = &ctx.shared.config;
        let wanted = cfg.http.backends.get(be).is_some_and(|b| b.prefer_last_server)
            && !matches!(cfg.backends[be].balance, Balance::Source | Balance::Uri | Balance::Hdr(_) | Balance::UrlParam(_));
        match ctx.conns.private_target(r) {
            Some((b, s)) if wanted && b == be => Some(s),
            _ => None,
        }
    }
}

fn not_kept(why: NotKept) -> &'static str {
    match why {
        NotKept::MaxReuse => "max-reuse reached",
        NotKept::PoolFull => "pool-max-conn reached",
        NotKept::ServerStopped => "the server stopped",
        NotKept::FdsLow => "tune.pool-low-fd-ratio/pool-high-fd-ratio or the server's estimated need reached",
    }
}
