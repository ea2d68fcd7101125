//! `/metrics`: Prometheus text exposition format 0.0.4, with the metric names of HAProxy's
//! built-in exporter (`haproxy_frontend_*`, `haproxy_backend_*`, `haproxy_server_*`) plus
//! hakeeper's own (`hakeeper_vrrp_*`, `hakeeper_lvs_*`, dropped log lines).

use super::snapshot::{Row, RowKind, Snapshot};
use hakeeper_common::ctl::{vrrp_state_name, LvsView, VrrpView};
use std::fmt::Write;

struct Family {
    name: String,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(String, u64)>,
}

struct Exposition {
    families: Vec<Family>,
}

/// Escapes a label value: backslash, double quote and newline.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Exposition {
    fn add(&mut self, name: &str, help: &'static str, kind: &'static str, labels: String, value: u64) {
        let idx = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.families.push(Family { name: name.to_string(), help, kind, samples: Vec::new() });
                self.families.len() - 1
            }
        };
        self.families[idx].samples.push((labels, value));
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
            for (labels, v) in &f.samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{} {v}", f.name);
                } else {
                    let _ = writeln!(out, "{}{{{labels}}} {v}", f.name);
                }
            }
        }
        out
    }
}

const SERVER_STATES: [&str; 5] = ["UP", "DOWN", "MAINT", "DRAIN", "no check"];

fn row_metrics(e: &mut Exposition, row: &Row) {
    let (prefix, labels) = match row.kind {
        RowKind::Frontend => ("haproxy_frontend", format!("proxy=\"{}\"", label(&row.pxname))),
        RowKind::Backend => ("haproxy_backend", format!("proxy=\"{}\"", label(&row.pxname))),
        RowKind::Server => ("haproxy_server", format!("proxy=\"{}\",server=\"{}\"", label(&row.pxname), label(&row.svname))),
    };
    let mut m = |suffix: &str, help: &'static str, kind: &'static str, v: u64| {
        e.add(&format!("{prefix}_{suffix}"), help, kind, labels.clone(), v);
    };
    m("current_sessions", "Number of current sessions.", "gauge", row.scur);
    m("max_sessions", "Maximum observed number of active sessions.", "gauge", row.smax);
    if let Some(v) = row.slim {
        m("limit_sessions", "Configured session limit.", "gauge", v);
    }
    m("sessions_total", "Total number of sessions.", "counter", row.stot);
    m("bytes_in_total", "Current total of incoming bytes.", "counter", row.bin);
    m("bytes_out_total", "Current total of outgoing bytes.", "counter", row.bout);
    m("current_session_rate", "Current number of sessions per second over last elapsed second.", "gauge", row.rate);
    m("max_session_rate", "Maximum observed number of sessions per second.", "gauge", row.rate_max);
    if let Some(v) = row.qcur {
        m("current_queue", "Current number of queued requests.", "gauge", v);
    }
    if let Some(v) = row.qmax {
        m("max_queue", "Maximum observed number of queued requests.", "gauge", v);
    }
    if let Some(v) = row.econ {
        m("connection_errors_total", "Total number of connection errors.", "counter", v);
    }
    if let Some(v) = row.wretr {
        m("retry_warnings_total", "Total number of retry warnings.", "counter", v);
    }
    if let Some(v) = row.wredis {
        m("redispatch_warnings_total", "Total number of redispatch warnings.", "counter", v);
    }
    if let Some(v) = row.weight {
        m("weight", "Service weight.", "gauge", v);
    }
    if let Some(v) = row.lbtot {
        m("loadbalanced_total", "Total number of times a service was selected.", "counter", v);
    }
    if let Some(v) = row.chkdown {
        m("check_up_down_total", "Total number of UP->DOWN transitions.", "counter", v);
    }
    if let Some(v) = row.downtime {
        m("downtime_seconds_total", "Total downtime (in seconds) for the service.", "counter", v);
    }
    if let Some(v) = row.lastchg {
        m("last_change_seconds", "Seconds since the last state change.", "gauge", v);
    }
    match row.kind {
        RowKind::Frontend => {}
        RowKind::Backend => {
            m("active_servers", "Current number of active servers.", "gauge", row.act.unwrap_or(0));
            m("backup_servers", "Current number of backup servers.", "gauge", row.bck.unwrap_or(0));
            for state in ["UP", "DOWN"] {
                let l = format!("{labels},state=\"{state}\"");
                e.add("haproxy_backend_status", "Current status of the service.", "gauge", l, u64::from(row.status == state));
            }
        }
        RowKind::Server => {
            for state in SERVER_STATES {
                let l = format!("{labels},state=\"{state}\"");
                e.add("haproxy_server_status", "Current status of the service.", "gauge", l, u64::from(row.status == state));
            }
            if let Some(ms) = row.server.as_ref().and_then(|s| s.check_ms) {
                e.add("haproxy_server_check_duration_milliseconds", "Duration of the last health check transition.", "gauge", labels, ms);
            }
        }
    }
}

pub fn render(snapshot: &Snapshot, vrrp: &[VrrpView], lvs: &[LvsView], dropped_log_lines: u64) -> String {
    let mut e = Exposition { families: Vec::new() };
    e.add("haproxy_process_current_connections", "Number of active sessions.", "gauge", String::new(), snapshot.process_cur);
    e.add(
        "haproxy_process_max_connections_observed",
        "Highest number of active sessions seen.",
        "gauge",
        String::new(),
        snapshot.process_max,
    );
    e.add("haproxy_process_connections_total", "Total number of sessions.", "counter", String::new(), snapshot.process_total);
    e.add("haproxy_process_uptime_seconds", "How long ago this worker started.", "gauge", String::new(), snapshot.uptime_secs);
    e.add(
        "hakeeper_log_lines_dropped_total",
        "Log lines dropped because the log target could not keep up.",
        "counter",
        String::new(),
        dropped_log_lines,
    );
    for row in &snapshot.rows {
        row_metrics(&mut e, row);
    }
    for (name, floods) in &snapshot.h2_floods {
        for (kind, n) in floods.kinds() {
            let labels = format!("proxy=\"{}\",kind=\"{kind}\"", label(name));
            e.add("hakeeper_h2_floods_total", "HTTP/2 connections ended by a flood guard (GOAWAY).", "counter", labels, n);
        }
    }
    for v in vrrp {
        let base = format!("instance=\"{}\",interface=\"{}\",vrid=\"{}\"", label(&v.name), label(&v.interface), v.vrid);
        for state in ["INIT", "BACKUP", "MASTER", "FAULT"] {
            let l = format!("{base},state=\"{state}\"");
            e.add(
                "hakeeper_vrrp_instance_state",
                "VRRP state of this host's instance.",
                "gauge",
                l,
                u64::from(vrrp_state_name(v.state) == state),
            );
        }
        e.add(
            "hakeeper_vrrp_effective_priority",
            "Effective VRRP priority (base plus track weights).",
            "gauge",
            base.clone(),
            u64::from(v.priority),
        );
        e.add("hakeeper_vrrp_base_priority", "Configured VRRP priority.", "gauge", base, u64::from(v.base_priority));
    }
    lvs_metrics(&mut e, lvs);
    e.render()
}

/// The `announce` VIPs: 1 while this host holds a VIP on its announce device (the routing
/// daemon announces it), 0 while withdrawn. A block of its own, appended to `render`'s.
pub fn announce_metrics(rows: &[hakeeper_common::ctl::AnnounceView]) -> String {
    let mut e = Exposition { families: Vec::new() };
    for r in rows {
        e.add(
            "hakeeper_announce_held",
            "1 while this host holds the VIP on its announce device, for the routing daemon to announce.",
            "gauge",
            format!("vip=\"{}\",interface=\"{}\"", label(&r.vip), label(&r.interface)),
            u64::from(r.held),
        );
    }
    e.render()
}

/// The LVS virtual services (kernel data plane, read from nftables by vrrpd): per real server,
/// the packets and bytes of its connections, its state and weight, as keepalived's SNMP
/// `realServer*` tables give them.
fn lvs_metrics(e: &mut Exposition, lvs: &[LvsView]) {
    for v in lvs {
        let base = format!("service=\"{}\",vip=\"{}\",protocol=\"{}\"", label(&v.name), label(&v.vip), label(&v.protocol));
        e.add(
            "hakeeper_lvs_service_active",
            "1 while this host programs the LVS virtual service (it holds the VIP).",
            "gauge",
            base.clone(),
            u64::from(v.active),
        );
        e.add(
            "hakeeper_lvs_service_quorum_up",
            "keepalived's quorum state of the LVS virtual service.",
            "gauge",
            base.clone(),
            u64::from(v.quorum_up),
        );
        for s in &v.servers {
            let l = format!("{base},server=\"{}\",addr=\"{}\"", label(&s.name), label(&s.addr));
            e.add("hakeeper_lvs_server_up", "1 while the real server passes its checks.", "gauge", l.clone(), u64::from(s.up));
            e.add("hakeeper_lvs_server_weight", "Weight the real server is balanced with now.", "gauge", l.clone(), u64::from(s.weight));
            e.add(
                "hakeeper_lvs_server_packets_total",
                "Packets of the real server's connections, both directions.",
                "counter",
                l.clone(),
                s.packets,
            );
            e.add("hakeeper_lvs_server_bytes_total", "Bytes of the real server's connections, both directions.", "counter", l, s.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::ctl::LvsServerView;

    #[test]
    fn lvs_real_servers_get_one_sample_per_family_with_escaped_labels() {
        let view = LvsView {
            name: "vs\"x".into(),
            vip: "192.0.2.100:80".into(),
            protocol: "tcp".into(),
            kind: "nat".into(),
            scheduler: "rr".into(),
            active: true,
            quorum_up: false,
            servers: vec![
                LvsServerView { name: "rs1".into(), addr: "192.0.2.11:80".into(), up: true, weight: 2, packets: 7, bytes: 900 },
                LvsServerView { name: "rs2".into(), addr: "192.0.2.12:80".into(), up: false, weight: 0, packets: 0, bytes: 0 },
            ],
        };
        let mut e = Exposition { families: Vec::new() };
        lvs_metrics(&mut e, &[view]);
        let text = e.render();
        let base = r#"service="vs\"x",vip="192.0.2.100:80",protocol="tcp""#;
        assert!(text.contains(&format!("hakeeper_lvs_service_active{{{base}}} 1\n")), "{text}");
        assert!(text.contains(&format!("hakeeper_lvs_service_quorum_up{{{base}}} 0\n")), "{text}");
        assert!(text.contains(&format!("hakeeper_lvs_server_packets_total{{{base},server=\"rs1\",addr=\"192.0.2.11:80\"}} 7\n")), "{text}");
        assert!(text.contains(&format!("hakeeper_lvs_server_bytes_total{{{base},server=\"rs1\",addr=\"192.0.2.11:80\"}} 900\n")), "{text}");
        assert!(text.contains(&format!("hakeeper_lvs_server_up{{{base},server=\"rs2\",addr=\"192.0.2.12:80\"}} 0\n")), "{text}");
        assert_eq!(text.matches("# TYPE hakeeper_lvs_server_bytes_total counter").count(), 1);
    }

    #[test]
    fn announced_vips_are_one_gauge_each() {
        let row = |vip: &str, held| hakeeper_common::ctl::AnnounceView {
            vip: vip.into(),
            interface: "hk-announce".into(),
            held,
            state: String::new(),
        };
        let text = announce_metrics(&[row("192.0.2.200/32", true), row("2001:db8::200/128", false)]);
        assert!(text.contains("hakeeper_announce_held{vip=\"192.0.2.200/32\",interface=\"hk-announce\"} 1\n"), "{text}");
        assert!(text.contains("hakeeper_announce_held{vip=\"2001:db8::200/128\",interface=\"hk-announce\"} 0\n"), "{text}");
        assert_eq!(text.matches("# TYPE hakeeper_announce_held gauge").count(), 1);
        assert_eq!(announce_metrics(&[]), "");
    }
}
