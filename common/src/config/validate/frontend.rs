//! A `frontend` or `listen` section's listening side: binds (with TLS), client timeouts,
//! `maxconn`, logging.

use super::defaults::{inherit, inherit_timeouts};
use super::{parse_bind, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::time::Duration;

pub(super) fn frontend(c: &mut Checker, path: &str, p: &RawProxy, d: &RawProxy, default_backend: Option<usize>) -> Frontend {
    if p.bind.is_empty() {
        c.error(format!("{path}.bind"), "at least one bind address is needed");
    }
    let mut binds = Vec::new();
    let mut tls = Vec::new();
    let http = inherit(&p.mode, &d.mode) == Some(Mode::Http);
    let bind_proto = p.bind.iter().enumerate().map(|(i, b)| super::h2::bind_proto(c, path, i, b, http)).collect();
    for (i, b) in p.bind.iter().enumerate() {
        let field = if b.ssl.is_some() { format!("{path}.bind[{i}].addr") } else { format!("{path}.bind[{i}]") };
        match parse_bind(&b.addr) {
            Ok(a) => binds.push(a),
            Err(e) => c.error(field, e),
        }
        tls.push(b.ssl.as_ref().map(|ssl| {
            let mut f = crate::tls::spec::Findings::default();
            let t = crate::tls::spec::check(ssl, &format!("{path}.bind[{i}].ssl"), http, &mut f);
            c.errors.extend(f.errors);
            c.warnings.extend(f.warnings);
            t
        }));
    }
    let t = inherit_timeouts(&p.timeout, &d.timeout);
    let timeout_client = c.duration(&format!("{path}.timeout.client"), t.client.as_ref(), Duration::from_secs(50));
    let timeout_http_request = c.duration(&format!("{path}.timeout.http_request"), t.http_request.as_ref(), timeout_client);
    let timeout_http_keep_alive = c.duration(&format!("{path}.timeout.http_keep_alive"), t.http_keep_alive.as_ref(), timeout_http_request);
    let maxconn = inherit(&p.maxconn, &d.maxconn).unwrap_or(2000);
    if maxconn == 0 {
        c.error(format!("{path}.maxconn"), "maxconn must be at least 1");
    }
    let log_format = inherit(&p.log_format, &d.log_format).map(|f| match f {
        RawLogFormat::Tcplog => LogFormat::Tcplog,
        RawLogFormat::Httplog => LogFormat::Httplog,
    });
    Frontend {
        name: p.name.clone(),
        binds,
        mode: inherit(&p.mode, &d.mode).unwrap_or(Mode::Tcp),
        maxconn,
        timeout_client,
        timeout_http_request,
        timeout_http_keep_alive,
        default_backend,
        log: inherit(&p.log, &d.log).unwrap_or(true),
        log_format,
        dontlognull: inherit(&p.dontlognull, &d.dontlognull).unwrap_or(false),
        // Per section, never inherited: `bind` options do not live in defaults.
        accept_proxy: p.accept_proxy.unwrap_or(false),
        bind_proto,
        tls,
    }
}
