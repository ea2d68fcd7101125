//! The worker's side of `hakeeper ctl`: answers a [`CtlRequest`] from the live state. Runs on
//! event-loop thread 0 (state changes are applied there), called from [`super::event_loop_turn`].

use super::admin::{self, AdminAction};
use super::hub::StatsHub;
use super::snapshot::{RowKind, Snapshot};
use super::{csv, VERSION};
use crate::backend::Grant;
use crate::shared::Shared;
use hakeeper_common::ctl::{CtlReply, CtlRequest, ServerRow};
use hakeeper_common::ipc::{FromWorker, WorkerConfig};
use std::time::Instant;

/// Indexes of `backend`/`server` by name.
pub fn resolve(config: &WorkerConfig, backend: &str, server: &str) -> Result<(usize, usize), String> {
    let b = config.backends.iter().position(|b| b.name == backend).ok_or_else(|| format!("no such backend {backend:?}"))?;
    let s = config.backends[b].servers.iter().position(|s| s.name == server).ok_or_else(|| format!("no such server {backend}/{server}"))?;
    Ok((b, s))
}

pub fn info(config: &WorkerConfig, snapshot: &Snapshot) -> Vec<(String, String)> {
    let servers: usize = config.backends.iter().map(|b| b.servers.len()).sum();
    let pairs: Vec<(&str, String)> = vec![
        ("Name", "hakeeper".into()),
        ("Version", VERSION.into()),
        ("Pid", std::process::id().to_string()),
        ("Uptime", super::html::human_time(snapshot.uptime_secs)),
        ("Uptime_sec", snapshot.uptime_secs.to_string()),
        ("Maxconn", config.global.maxconn.to_string()),
        ("CurrConns", snapshot.process_cur.to_string()),
        ("MaxConnsSeen", snapshot.process_max.to_string()),
        ("CumConns", snapshot.process_total.to_string()),
        ("Nbthread", config.global.nbthread.to_string()),
        ("Frontends", config.frontends.len().to_string()),
        ("Backends", config.backends.len().to_string()),
        ("Servers", servers.to_string()),
        ("DroppedLogs", hakeeper_common::logging::DROPPED_LINES.load(std::sync::atomic::Ordering::Relaxed).to_string()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub fn servers(snapshot: &Snapshot) -> Vec<ServerRow> {
    snapshot
        .rows
        .iter()
        .filter(|r| r.kind == RowKind::Server)
        .filter_map(|r| {
            let s = r.server.as_ref()?;
            Some(ServerRow {
                backend: r.pxname.clone(),
                server: r.svname.clone(),
                addr: s.addr.clone(),
                status: r.status.clone(),
                admin: s.admin,
                up: s.up,
                weight: r.weight.unwrap_or(0) as u32,
                configured_weight: s.configured_weight,
                backup: s.backup,
                sessions: r.scur,
                total: r.stot,
                queued: r.qcur.unwrap_or(0),
                last_change: r.lastchg.unwrap_or(0),
                check: match (s.check_code, s.check_ms) {
                    (Some(code), Some(ms)) => Some(format!("{code} in {ms}ms")),
                    _ => None,
                },
            })
        })
        .collect()
}

/// The reply, and the report for the supervisor when the request changed a server.
pub fn answer(shared: &Shared, hub: &StatsHub, request: &CtlRequest, grants: &mut Vec<Grant>) -> (CtlReply, Option<FromWorker>) {
    let snapshot = || Snapshot::take(&shared.config, &shared.stats, hub, Instant::now());
    let change = |backend: &str, server: &str, action: AdminAction, grants: &mut Vec<Grant>| {
        let (b, s) = match resolve(&shared.config, backend, server) {
            Ok(found) => found,
            Err(e) => {
                log::info!("ctl set server {backend}/{server} {}: refused: {e}", admin::describe(action));
                return (CtlReply::Error(e), None);
            }
        };
        match admin::apply(shared, b, s, action, "ctl", grants) {
            Ok((done, report)) => (CtlReply::Done(done), report),
            Err(e) => (CtlReply::Error(e), None),
        }
    };
    match request {
        CtlRequest::ShowInfo => (CtlReply::Info(info(&shared.config, &snapshot())), None),
        CtlRequest::ShowStat => (CtlReply::Stat(csv::render(&snapshot())), None),
        CtlRequest::ShowServers => (CtlReply::Servers(servers(&snapshot())), None),
        CtlRequest::ShowVrrp => (CtlReply::Vrrp(hub.vrrp()), None),
        CtlRequest::ShowTable { .. } | CtlRequest::ClearTable { .. } | CtlRequest::SetTable { .. } => {
            (crate::stick::ctl::answer(shared, request).unwrap_or_else(|| CtlReply::Error("not a table request".into())), None)
        }
        CtlRequest::SetState { backend, server, state } => change(backend, server, AdminAction::State(*state), grants),
        CtlRequest::SetWeight { backend, server, weight } => change(backend, server, AdminAction::Weight(*weight), grants),
        // VRRP is the supervisor's business; it answers these itself and never forwards them.
        CtlRequest::Switchover | CtlRequest::Switchback | CtlRequest::Reload | CtlRequest::ShowLvs => {
            (CtlReply::Error(format!("`{request}` is handled by the supervisor")), None)
        }
    }
}
