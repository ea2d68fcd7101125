//! `stats`: the stats page's listener, authentication and limits.

use super::{parse_bind, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub(super) fn stats(c: &mut Checker, s: &RawStats) -> Stats {
    let bind_proto = super::h2::stats_bind_proto(&s.bind);
    let field = if s.bind.ssl.is_some() { "stats.bind.addr" } else { "stats.bind" };
    let bind = match parse_bind(&s.bind.addr) {
        Ok(a) => a,
        Err(e) => {
            c.error(field, e);
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1)
        }
    };
    let tls = s.bind.ssl.as_ref().map(|ssl| {
        let mut f = crate::tls::spec::Findings::default();
        let t = crate::tls::spec::check(ssl, "stats.bind.ssl", true, &mut f);
        c.errors.extend(f.errors);
        c.warnings.extend(f.warnings);
        t
    });
    let uri = s.uri.clone().unwrap_or_else(|| "/haproxy?stats".into());
    if !uri.starts_with('/') {
        c.error("stats.uri", format!("uri {uri:?} must start with '/'"));
    }
    for (i, (user, _)) in s.auth.iter().enumerate() {
        if user.is_empty() || user.contains(':') {
            c.error(format!("stats.auth[{i}]"), format!("invalid user name {user:?}"));
        }
    }
    if s.admin && s.auth.is_empty() {
        c.warn("stats.admin", "admin actions are enabled without any auth user: anyone who reaches the page can change server states");
    }
    let t = s.timeout.clone().unwrap_or_default();
    let timeout_client = c.duration("stats.timeout.client", t.client.as_ref(), STATS_TIMEOUT_CLIENT);
    let timeout_http_request = c.duration("stats.timeout.http_request", t.http_request.as_ref(), STATS_TIMEOUT_HTTP_REQUEST);
    for (path, d) in [("stats.timeout.client", timeout_client), ("stats.timeout.http_request", timeout_http_request)] {
        if d.is_zero() {
            c.error(path, "must be more than 0: an endless wait lets idle clients hold the stats page");
        }
    }
    let maxconn = s.maxconn.unwrap_or(STATS_MAXCONN);
    if !(1..=STATS_MAX_MAXCONN).contains(&maxconn) {
        c.error("stats.maxconn", format!("{maxconn} is out of range 1..={STATS_MAX_MAXCONN}"));
    }
    Stats {
        bind,
        uri,
        realm: s.realm.clone().unwrap_or_else(|| "HAProxy Statistics".into()),
        auth: s.auth.clone(),
        refresh: c.opt_duration("stats.refresh", s.refresh.as_ref()),
        hide_version: s.hide_version,
        admin: s.admin,
        maxconn,
        timeout_http_request,
        timeout_client,
        tls,
        bind_proto,
    }
}
