//! The tables `hakeeper ctl` shows (`show info`, `show stat`, `show servers`), rendered from a
//! [`Snapshot`] like the page's outputs; [`crate::runtime`] answers with them.

use super::snapshot::{RowKind, Snapshot};
use super::{csv, VERSION};
use hakeeper_common::ctl::ServerRow;
use hakeeper_common::ipc::WorkerConfig;

/// `show stat`: HAProxy's CSV, as the page's `;csv`.
pub fn stat(snapshot: &Snapshot) -> String {
    csv::render(snapshot)
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
