//! `send-proxy` / `send-proxy-v2`: a new server connection starts with a PROXY header naming
//! the client (the address a received PROXY header gave, if any) and the address it connected
//! to, as HAProxy's `conn_send_proxy()` sends it once per connection, before any data.
//!
//! Reused idle HTTP connections already carry a header naming their first client, so HAProxy
//! marks connections with a PROXY header private: only the session that opened one reuses it
//! (doc/configuration.txt, `http-reuse`). [`Session::reuse_for`] applies that here as
//! `http-reuse never` for such servers.

use crate::session::{Ctx, Session};
use hakeeper_common::config::HttpReuse;
use hakeeper_common::proxy_protocol::{self, Version};
use std::io::Write;

impl Session {
    /// Writes the header on the just-established connection when its server wants one; false
    /// when it could not be written whole (the attempt then fails like a refused connect).
    pub(super) fn send_proxy_header(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let (Some(be), Some(server)) = (self.up.backend, self.up.target) else { return true };
        let Some(version) = ctx.shared.config.backends[be].servers[server].send_proxy else { return true };
        let Some(dst) = self.local_addr(ctx.shared) else { return false };
        let header = match version {
            Version::V1 => proxy_protocol::v1(self.client_addr, dst).into_bytes(),
            Version::V2 => {
                let mut h = proxy_protocol::v2(self.client_addr, dst);
                let options = &ctx.shared.config.backends[be].servers[server].proxy_v2;
                let tls = self.tls_facts.as_ref().map(|f| f.for_proxy_header());
                proxy_protocol::tlv::append(&mut h, options, tls.as_ref());
                h
            }
        };
        let Some(conn) = self.up.conn.and_then(|k| ctx.conns.get(k)) else { return false };
        // A fresh connection's send buffer is empty and the header is at most 107 (v1) or 52
        // (v2) bytes plus TLVs of a few hundred: one write takes it whole, or the socket is
        // broken.
        match (&conn.stream).write(&header) {
            Ok(n) if n == header.len() => true,
            Ok(_) | Err(_) => {
                let cfg = &ctx.shared.config.backends[be];
                log::debug!("cannot send the PROXY header to {}/{}", cfg.name, cfg.servers[server].name);
                false
            }
        }
    }

    /// The `http-reuse` mode for a request to `server` of `be`: `never` (private connections)
    /// when the server gets a PROXY header, else the backend's.
    pub(super) fn reuse_for(ctx: &Ctx<'_>, be: usize, server: usize, configured: HttpReuse) -> HttpReuse {
        if ctx.shared.config.backends[be].servers[server].send_proxy.is_some() {
            HttpReuse::Never
        } else {
            configured
        }
    }
}
