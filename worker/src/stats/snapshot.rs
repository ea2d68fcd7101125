//! One consistent-enough reading of every counter and state, as rows in HAProxy's model
//! (FRONTEND, BACKEND, one per server). The CSV, JSON, Prometheus and HTML outputs and the ctl
//! answers are all rendered from it.

use crate::counters::{Counters, Stats};
use crate::status::StatsHub;
use hakeeper_common::config::{Backend, Balance, Mode};
use hakeeper_common::ipc::{AdminState, WorkerConfig};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Frontend,
    Backend,
    Server,
}

impl RowKind {
    /// The CSV's `type` column.
    pub fn code(self) -> u8 {
        match self {
            RowKind::Frontend => 0,
            RowKind::Backend => 1,
            RowKind::Server => 2,
        }
    }
}

/// Per-server details that FRONTEND/BACKEND rows lack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Index of the backend and server in the config.
    pub backend: usize,
    pub server: usize,
    pub addr: String,
    pub up: bool,
    pub admin: AdminState,
    pub backup: bool,
    pub checked: bool,
    pub configured_weight: u32,
    /// HAProxy check status code (`L4OK`, `L4CON`, ...) and the full verdict, if reported.
    pub check_code: Option<&'static str>,
    pub check_desc: Option<String>,
    pub check_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub pxname: String,
    pub svname: String,
    /// Proxy id (`iid`), 1-based; a `listen` section's frontend and backend share it.
    pub iid: usize,
    /// Server id (`sid`), 0 for FRONTEND/BACKEND.
    pub sid: u32,
    pub mode: Mode,
    pub qcur: Option<u64>,
    pub qmax: Option<u64>,
    pub scur: u64,
    pub smax: u64,
    pub slim: Option<u64>,
    pub stot: u64,
    pub bin: u64,
    pub bout: u64,
    pub econ: Option<u64>,
    /// Frontends only: requests refused as invalid, PROXY headers refused included (`ereq`).
    pub ereq: Option<u64>,
    /// Frontends only: connections refused by `tcp-request connection` rules (`dcon`).
    pub dcon: Option<u64>,
    /// Frontends only: sessions refused by `tcp-request session` rules (`dses`).
    pub dses: Option<u64>,
    /// Frontends only: requests refused by `tcp-request content` rules (`dreq`).
    pub dreq: Option<u64>,
    /// Responses refused by `tcp-response content` rules (`dresp`).
    pub dresp: u64,
    pub wretr: Option<u64>,
    pub wredis: Option<u64>,
    pub status: String,
    pub weight: Option<u64>,
    pub act: Option<u64>,
    pub bck: Option<u64>,
    pub chkdown: Option<u64>,
    pub lastchg: Option<u64>,
    pub downtime: Option<u64>,
    pub lbtot: Option<u64>,
    pub rate: u64,
    pub rate_max: u64,
    pub algo: Option<&'static str>,
    pub server: Option<ServerInfo>,
}

impl Row {
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
        }
    }

    /// The state class the HTML page colours the row by.
    pub fn running(&self) -> bool {
        !matches!(self.status.as_str(), "DOWN" | "MAINT" | "STOP")
    }
}

pub struct Snapshot {
    pub rows: Vec<Row>,
    /// Sessions open in this worker.
    pub process_cur: u64,
    pub process_max: u64,
    pub process_total: u64,
    pub uptime_secs: u64,
    /// Each `mode http` frontend and the HTTP/2 connections its flood guards ended, per kind.
    pub h2_floods: Vec<(String, crate::h2::limits::FloodCounts)>,
}

fn algo(b: &Balance) -> &'static str {
    match b {
        Balance::Roundrobin => "roundrobin",
        Balance::StaticRr => "static-rr",
        Balance::Leastconn => "leastconn",
        Balance::First => "first",
        Balance::Source => "source",
        Balance::Random => "random",
        Balance::Uri => "uri",
        Balance::Hdr(_) => "hdr",
        Balance::UrlParam(_) => "url_param",
    }
}

/// HAProxy's `HCHK_STATUS_*` short name for the checker's description.
pub fn check_code(reason: &str) -> &'static str {
    const CODES: [(&str, &str); 11] = [
        ("Layer4 check passed", "L4OK"),
        ("Layer4 timeout", "L4TOUT"),
        ("Layer4 connection problem", "L4CON"),
        // check-ssl.
        ("Layer6 check passed", "L6OK"),
        ("Layer6 timeout", "L6TOUT"),
        ("Layer6 invalid response", "L6RSP"),
        ("Layer7 check passed", "L7OK"),
        ("Layer7 timeout", "L7TOUT"),
        ("Layer7 invalid response", "L7RSP"),
        ("Layer7 wrong status", "L7STS"),
        ("Socket error", "SOCKERR"),
    ];
    CODES.iter().find(|(desc, _)| reason.starts_with(desc)).map_or("UNK", |(_, code)| code)
}

/// The CSV `status` of a server, as HAProxy words it.
pub fn server_status(up: bool, admin: AdminState, checked: bool) -> &'static str {
    match admin {
        AdminState::Maint => "MAINT",
        _ if !up => "DOWN",
        AdminState::Drain => "DRAIN",
        _ if !checked => "no check",
        _ => "UP",
    }
}

fn get(c: &std::sync::atomic::AtomicU64) -> u64 {
    Counters::get(c)
}

/// Proxy ids: one per distinct name, frontends first, in config order.
fn proxy_ids(config: &WorkerConfig) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in config.frontends.iter().map(|f| &f.name).chain(config.backends.iter().map(|b| &b.name)) {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

fn server_rows(config: &Backend, b: usize, iid: usize, stats: &Stats, hub: &StatsHub, now: Instant) -> Vec<Row> {
    let be = &stats.backends[b];
    config
        .servers
        .iter()
        .enumerate()
        .map(|(s, srv)| {
            let st = &be.servers[s];
            let c = &st.counters;
            let up = st.up.load(Relaxed);
            let admin = st.admin_state();
            let checked = srv.check.is_some();
            let (rate, rate_max) = (c.rate.rate(), c.rate.max());
            let (lastchg, downtime, chkdown) = hub.with_tracker(|t| match t.server(b, s) {
                Some(h) => {
                    (Some(now.saturating_duration_since(h.last_change).as_secs()), Some(h.downtime(now).as_secs()), Some(h.went_down))
                }
                None => (None, None, None),
            });
            let check = hub.check(b, s);
            Row {
                kind: RowKind::Server,
                pxname: config.name.clone(),
                svname: srv.name.clone(),
                iid,
                sid: srv.id,
                mode: config.mode,
                qcur: Some(get(&c.queue_cur)),
                qmax: Some(get(&c.queue_max)),
                scur: get(&c.cur),
                smax: get(&c.max),
                slim: (srv.maxconn > 0).then_some(u64::from(srv.maxconn)),
                stot: get(&c.total),
                bin: get(&c.bytes_in),
                bout: get(&c.bytes_out),
                econ: Some(get(&c.connect_errors)),
                ereq: None,
                dcon: None,
                dses: None,
                dreq: None,
                dresp: get(&c.denied_responses),
                wretr: Some(get(&c.retries)),
                wredis: Some(get(&c.redispatches)),
                status: server_status(up, admin, checked).to_string(),
                weight: Some(u64::from(st.weight.load(Relaxed))),
                act: Some(u64::from(!srv.backup)),
                bck: Some(u64::from(srv.backup)),
                chkdown: if checked { chkdown } else { None },
                lastchg,
                downtime: if checked { downtime } else { None },
                lbtot: Some(get(&c.lb_total)),
                rate,
                rate_max,
                algo: None,
                server: Some(ServerInfo {
                    backend: b,
                    server: s,
                    addr: srv.addr.to_string(),
                    up,
                    admin,
                    backup: srv.backup,
                    checked,
                    configured_weight: srv.weight,
                    check_code: check.as_ref().map(|c| check_code(&c.reason)),
                    check_ms: check.as_ref().map(|c| c.duration.as_millis() as u64),
                    check_desc: check.map(|c| c.reason),
                }),
            }
        })
        .collect()
}

fn backend_row(config: &Backend, b: usize, iid: usize, servers: &[Row], stats: &Stats, hub: &StatsHub, now: Instant) -> Row {
    let c = &stats.backends[b].counters;
    let usable = |backup: bool| {
        servers.iter().filter(move |r| r.server.as_ref().is_some_and(|i| i.backup == backup && i.up && i.admin == AdminState::Ready))
    };
    let (act, bck) = (usable(false).count() as u64, usable(true).count() as u64);
    // HAProxy's backend weight: the active servers', or the backups' when none is active.
    let weight: u64 = if act > 0 { usable(false).filter_map(|r| r.weight).sum() } else { usable(true).filter_map(|r| r.weight).sum() };
    let running = servers.iter().any(|r| r.server.as_ref().is_some_and(|i| i.up && i.admin != AdminState::Maint));
    let (rate, rate_max) = (c.rate.rate(), c.rate.max());
    let (lastchg, downtime, chkdown) = hub.with_tracker(|t| match t.backend(b) {
        Some(h) => (Some(now.saturating_duration_since(h.last_change).as_secs()), Some(h.downtime(now).as_secs()), Some(h.went_down)),
        None => (None, None, None),
    });
    Row {
        ereq: None,
        dcon: None,
        dses: None,
        dreq: None,
        dresp: get(&c.denied_responses),
        kind: RowKind::Backend,
        pxname: config.name.clone(),
        svname: "BACKEND".into(),
        iid,
        sid: 0,
        mode: config.mode,
        qcur: Some(get(&c.queue_cur)),
        qmax: Some(get(&c.queue_max)),
        scur: get(&c.cur),
        smax: get(&c.max),
        slim: None,
        stot: get(&c.total),
        bin: get(&c.bytes_in),
        bout: get(&c.bytes_out),
        econ: Some(get(&c.connect_errors)),
        wretr: Some(get(&c.retries)),
        wredis: Some(get(&c.redispatches)),
        status: if running { "UP" } else { "DOWN" }.into(),
        weight: Some(weight),
        act: Some(act),
        bck: Some(bck),
        chkdown,
        lastchg,
        downtime,
        lbtot: Some(get(&c.lb_total)),
        rate,
        rate_max,
        algo: Some(algo(&config.balance)),
        server: None,
    }
}

impl Snapshot {
    pub fn take(config: &WorkerConfig, stats: &Stats, hub: &StatsHub, now: Instant) -> Snapshot {
        hub.scan_states(stats, now);
        let ids = proxy_ids(config);
        let iid = |name: &str| ids.iter().position(|n| n == name).map_or(0, |p| p + 1);
        let mut rows = Vec::new();
        for (f, fe) in config.frontends.iter().enumerate() {
            let Some(fs) = stats.frontends.get(f) else { continue };
            let c = &fs.counters;
            let (rate, rate_max) = (c.rate.rate(), c.rate.max());
            rows.push(Row {
                kind: RowKind::Frontend,
                pxname: fe.name.clone(),
                svname: "FRONTEND".into(),
                iid: iid(&fe.name),
                sid: 0,
                mode: fe.mode,
                qcur: None,
                qmax: None,
                scur: get(&c.cur),
                smax: get(&c.max),
                // The limit enforced at accept: the frontend's, within the process's.
                slim: Some(u64::from(fe.maxconn.min(config.global.maxconn))),
                stot: get(&c.total),
                bin: get(&c.bytes_in),
                bout: get(&c.bytes_out),
                econ: None,
                ereq: Some(get(&c.request_errors)),
                dcon: Some(get(&c.denied_conns)),
                dses: Some(get(&c.denied_sessions)),
                dreq: Some(get(&c.denied_requests)),
                dresp: get(&c.denied_responses),
                wretr: None,
                wredis: None,
                status: "OPEN".into(),
                weight: None,
                act: None,
                bck: None,
                chkdown: None,
                lastchg: None,
                downtime: None,
                lbtot: None,
                rate,
                rate_max,
                algo: None,
                server: None,
            });
        }
        for (b, be) in config.backends.iter().enumerate() {
            if stats.backends.get(b).is_none_or(|s| s.servers.len() != be.servers.len()) {
                continue;
            }
            let servers = server_rows(be, b, iid(&be.name), stats, hub, now);
            let backend = backend_row(be, b, iid(&be.name), &servers, stats, hub, now);
            rows.extend(servers);
            rows.push(backend);
        }
        let h2_floods = config
            .frontends
            .iter()
            .zip(&stats.frontends)
            .filter(|(fe, _)| fe.mode == Mode::Http)
            .map(|(fe, fs)| (fe.name.clone(), crate::h2::limits::FloodCounts::from_array(fs.h2_floods.get())))
            .collect();
        Snapshot {
            rows,
            h2_floods,
            process_cur: get(&stats.process.cur),
            process_max: get(&stats.process.max),
            process_total: get(&stats.process.total),
            uptime_secs: now.saturating_duration_since(hub.started).as_secs(),
        }
    }

    /// Rows grouped by proxy name, in first-appearance order (a `listen` is one group).
    pub fn proxies(&self) -> Vec<(&str, Vec<&Row>)> {
        let mut groups: Vec<(&str, Vec<&Row>)> = Vec::new();
        for row in &self.rows {
            match groups.iter_mut().find(|(n, _)| *n == row.pxname) {
                Some((_, rows)) => rows.push(row),
                None => groups.push((&row.pxname, vec![row])),
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_status_words_match_haproxy() {
        assert_eq!(server_status(true, AdminState::Ready, true), "UP");
        assert_eq!(server_status(false, AdminState::Ready, true), "DOWN");
        assert_eq!(server_status(true, AdminState::Ready, false), "no check");
        assert_eq!(server_status(true, AdminState::Drain, true), "DRAIN");
        assert_eq!(server_status(false, AdminState::Drain, true), "DOWN");
        assert_eq!(server_status(true, AdminState::Maint, true), "MAINT");
        assert_eq!(server_status(false, AdminState::Maint, false), "MAINT");
    }

    #[test]
    fn check_reasons_map_to_haproxy_codes() {
        assert_eq!(check_code("Layer4 connection problem, info: \"Connection refused\""), "L4CON");
        assert_eq!(check_code("Layer7 wrong status, code: 500"), "L7STS");
        assert_eq!(check_code("Layer4 check passed"), "L4OK");
        assert_eq!(check_code("Layer6 invalid response, info: \"SSL handshake failure: x\""), "L6RSP");
        assert_eq!(check_code("Layer6 timeout"), "L6TOUT");
        assert_eq!(check_code("something else"), "UNK");
    }
}
