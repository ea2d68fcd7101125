//! A `backend` or `listen` section's server side: timeouts, balancing, stickiness, the health
//! check, and its servers ([`super::server`]).

use super::defaults::{inherit, inherit_timeouts};
use super::server::servers;
use super::Checker;
use crate::config::model::*;
use crate::config::raw::*;
use std::time::Duration;

pub(super) fn backend(c: &mut Checker, path: &str, p: &RawProxy, d: &RawProxy) -> Backend {
    let t = inherit_timeouts(&p.timeout, &d.timeout);
    let timeout_connect = c.duration(&format!("{path}.timeout.connect"), t.connect.as_ref(), Duration::from_secs(5));
    let timeout_server = c.duration(&format!("{path}.timeout.server"), t.server.as_ref(), Duration::from_secs(50));
    let timeout_queue = c.duration(&format!("{path}.timeout.queue"), t.queue.as_ref(), timeout_connect);
    let timeout_check = c.opt_duration(&format!("{path}.timeout.check"), t.check.as_ref());
    let mode = inherit(&p.mode, &d.mode).unwrap_or(Mode::Tcp);
    let balance = balance(c, path, inherit(&p.balance, &d.balance).unwrap_or(RawBalance::Roundrobin), mode);
    let stick = inherit(&p.stick, &d.stick).map(|s| Stick {
        expire: c.duration(&format!("{path}.stick.expire"), Some(&s.expire), Duration::from_secs(1800)),
        size: s.size.unwrap_or(100_000),
    });
    let health_check = health_check(c, path, inherit(&p.health_check, &d.health_check).unwrap_or(RawHealthCheck::Tcp));
    let servers = servers(c, path, p, mode);
    Backend {
        name: p.name.clone(),
        mode,
        balance,
        hash_type: match inherit(&p.hash_type, &d.hash_type).unwrap_or(RawHashType::MapBased) {
            RawHashType::MapBased => HashType::MapBased,
            RawHashType::Consistent => HashType::Consistent,
        },
        retries: inherit(&p.retries, &d.retries).unwrap_or(3),
        redispatch: inherit(&p.redispatch, &d.redispatch).unwrap_or(false),
        abortonclose: inherit(&p.abortonclose, &d.abortonclose).unwrap_or(false),
        allbackups: inherit(&p.allbackups, &d.allbackups).unwrap_or(false),
        timeout_connect,
        timeout_server,
        timeout_queue,
        timeout_check,
        stick,
        health_check,
        servers,
    }
}

/// `balance`: the algorithms that read the request need mode http.
fn balance(c: &mut Checker, path: &str, raw: RawBalance, mode: Mode) -> Balance {
    let balance = match raw {
        RawBalance::Roundrobin => Balance::Roundrobin,
        RawBalance::StaticRr => Balance::StaticRr,
        RawBalance::Leastconn => Balance::Leastconn,
        RawBalance::First => Balance::First,
        RawBalance::Source => Balance::Source,
        RawBalance::Random => Balance::Random,
        RawBalance::Uri => Balance::Uri,
        RawBalance::Hdr(h) => Balance::Hdr(h),
        RawBalance::UrlParam(u) => Balance::UrlParam(u),
    };
    if mode == Mode::Tcp && matches!(balance, Balance::Uri | Balance::Hdr(_) | Balance::UrlParam(_)) {
        c.error(format!("{path}.balance"), "this balance algorithm needs mode http");
    }
    balance
}

/// `health_check`: TCP connect (the default), HTTP, MySQL or a script.
fn health_check(c: &mut Checker, path: &str, raw: RawHealthCheck) -> HealthCheck {
    match raw {
        RawHealthCheck::Tcp => HealthCheck::Tcp,
        RawHealthCheck::Http(h) => HealthCheck::Http {
            method: h.method.unwrap_or_else(|| "OPTIONS".into()),
            uri: h.uri.unwrap_or_else(|| "/".into()),
            version: h.version.unwrap_or_else(|| "HTTP/1.0".into()),
            expect_status: expect_status(c, path, h.expect_status, h.expect_status_range),
        },
        RawHealthCheck::Mysql(m) => HealthCheck::Mysql { user: m.user },
        RawHealthCheck::Script(sc) => {
            if sc.command.trim().is_empty() {
                c.error(format!("{path}.health_check"), "a script check needs a command");
            }
            let timeout = c.opt_duration(&format!("{path}.health_check.timeout"), sc.timeout.as_ref());
            HealthCheck::Script { command: sc.command, timeout, dynamic: sc.dynamic }
        }
    }
}

/// The statuses an HTTP check accepts: one (`http-check expect status`), a range, or any 2xx
/// and 3xx (`None`).
fn expect_status(c: &mut Checker, path: &str, status: Option<u16>, range: Option<(u16, u16)>) -> Option<(u16, u16)> {
    match (status, range) {
        (Some(code), None) => Some((code, code)),
        (None, Some((lo, hi))) if (100..=599).contains(&lo) && (lo..=599).contains(&hi) => Some((lo, hi)),
        (None, Some((lo, hi))) => {
            c.error(format!("{path}.health_check"), format!("expect_status_range ({lo}, {hi}) is not a range of statuses 100-599"));
            None
        }
        (Some(_), Some(_)) => {
            c.error(format!("{path}.health_check"), "give expect_status or expect_status_range, not both");
            None
        }
        (None, None) => None,
    }
}
