//! `defaults`: what a proxy inherits, and the checks of the values only ever inherited.

use super::Checker;
use crate::config::raw::*;

pub(super) fn inherit<T: Clone>(own: &Option<T>, defaults: &Option<T>) -> Option<T> {
    own.clone().or_else(|| defaults.clone())
}

pub(super) fn inherit_timeouts(own: &Option<RawTimeouts>, defaults: &Option<RawTimeouts>) -> RawTimeouts {
    let own = own.clone().unwrap_or_default();
    let d = defaults.clone().unwrap_or_default();
    RawTimeouts {
        connect: own.connect.or(d.connect),
        client: own.client.or(d.client),
        server: own.server.or(d.server),
        queue: own.queue.or(d.queue),
        check: own.check.or(d.check),
        http_request: own.http_request.or(d.http_request),
        http_keep_alive: own.http_keep_alive.or(d.http_keep_alive),
        tunnel: own.tunnel.or(d.tunnel),
        tarpit: own.tarpit.or(d.tarpit),
    }
}

/// The `defaults` section itself: no name, no listening or server fields, and its values
/// checked here, since they are only ever inherited and a typo would go unnoticed.
pub(super) fn defaults(c: &mut Checker, d: &RawProxy) {
    if !d.name.is_empty() {
        c.error("defaults.name", "defaults takes no name");
    }
    for (field, set) in [
        ("bind", !d.bind.is_empty()),
        ("servers", !d.servers.is_empty()),
        ("default_backend", d.default_backend.is_some()),
        ("accept_proxy", d.accept_proxy.is_some()),
        ("lvs", d.lvs.is_some()),
    ] {
        if set {
            c.error(format!("defaults.{field}"), format!("`{field}` is not allowed in defaults"));
        }
    }
    if let Some(t) = &d.timeout {
        for (field, value) in [
            ("connect", &t.connect),
            ("client", &t.client),
            ("server", &t.server),
            ("queue", &t.queue),
            ("check", &t.check),
            ("http_request", &t.http_request),
            ("http_keep_alive", &t.http_keep_alive),
            ("tunnel", &t.tunnel),
            ("tarpit", &t.tarpit),
        ] {
            c.opt_duration(&format!("defaults.timeout.{field}"), value.as_ref());
        }
    }
}
