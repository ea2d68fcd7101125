//! The connection as HTTP ACLs see it: `src_port`, `dst`, `dst_port`, `fe_name`, `so_id`,
//! `nbsrv`, `srv_is_up`, `connslots` read it, as in HAProxy, where every layer-4 fetch is
//! valid in `http-request`, `http-response` and `use_backend` rules. Built only for proxies
//! whose ACLs read it, so that others pay nothing per request; `getsockname` only when `dst`
//! or `dst_port` is read.

use crate::http::acl::reads_connection;
use crate::session::Session;
use crate::shared::Shared;
use crate::tcp_rules::{self, ConnView};
use hakeeper_common::config::Acl;

impl Session {
    /// A view for rules reading `acls` (the frontend's, the backend's or both), or `None` when
    /// none of them reads the connection.
    pub(crate) fn http_conn_view<'s>(&self, shared: &'s Shared, acls: &[&[Acl]]) -> Option<ConnView<'s>> {
        // Stick tables: `track-sc` actions and `sc_*` fetches need the session's counters.
        if !acls.iter().any(|a| reads_connection(a)) && shared.tables.is_empty() {
            return None;
        }
        let fe = shared.config.frontends.get(self.frontend)?;
        let dst = if acls.iter().any(|a| tcp_rules::reads_dst(a)) { self.local_addr(shared) } else { None };
        let mut view = ConnView::at_accept(self.client_addr, dst, &fe.name, self.listener, shared);
        view.tls = self.tls_facts.clone();
        Some(view)
    }

    /// As [`Self::http_conn_view`], with the session's sticky counters for `track-sc` actions
    /// and `sc*_` fetches (request rules; response rules see none, which no pattern matches).
    pub(crate) fn http_conn_view_tracked<'s>(&'s self, shared: &'s Shared, acls: &[&[Acl]]) -> Option<ConnView<'s>> {
        let mut view = self.http_conn_view(shared, acls)?;
        view.track = self.track.as_deref();
        Some(view)
    }
}
