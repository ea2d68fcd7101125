//! `hakeeper ctl [--socket PATH] [--json] COMMAND...`: sends one command to the running
//! supervisor's ctl socket and prints the answer, as tables for people or JSON for scripts.
//! Exit codes: 0 done, 1 the command was refused, 2 bad usage or no answer.

use hakeeper_common::ctl::{admin_state_name, vrrp_state_name, CtlReply, CtlRequest, DEFAULT_CTL_SOCKET};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Longer than the supervisor's own wait for the worker, so that its error arrives first.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// A `show stat` of thousands of servers is a few MB; anything beyond is not an answer.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
enum ClientError {
    #[error("cannot connect to {path}: {source} (is `hakeeper run` running, and are you root?)")]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: unreadable answer: {detail}")]
    Answer { path: PathBuf, detail: String },
}

/// The socket to use: `--socket`, else the config's `ctl_socket`, else the default.
fn socket_path(socket: Option<&Path>, config: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(s) = socket {
        return Ok(s.to_path_buf());
    }
    let Some(file) = config else { return Ok(PathBuf::from(DEFAULT_CTL_SOCKET)) };
    match hakeeper_common::config::load_file(file) {
        Ok(loaded) => Ok(loaded.config.global.ctl_socket),
        Err(e) => Err(e.lines().join("\n")),
    }
}

fn ask(path: &Path, request: &CtlRequest) -> Result<CtlReply, ClientError> {
    let io = |source| ClientError::Io { path: path.to_path_buf(), source };
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect { path: path.to_path_buf(), source })?;
    stream.set_read_timeout(Some(ANSWER_WAIT)).map_err(io)?;
    stream.set_write_timeout(Some(ANSWER_WAIT)).map_err(io)?;
    stream.write_all(format!("{request}\n").as_bytes()).map_err(io)?;
    let mut answer = String::new();
    stream.take(MAX_ANSWER).read_to_string(&mut answer).map_err(io)?;
    serde_json::from_str(answer.trim_end()).map_err(|e| ClientError::Answer { path: path.to_path_buf(), detail: e.to_string() })
}

/// Left-aligned columns, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The human-readable form of a reply.
pub fn human(reply: &CtlReply) -> String {
    match reply {
        CtlReply::Info(pairs) => pairs.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(),
        CtlReply::Stat(csv) => csv.clone(),
        CtlReply::Tables(tables) => hakeeper_common::ctl_table::render(tables),
        CtlReply::Servers(rows) => {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.backend.clone(),
                        r.server.clone(),
                        r.addr.clone(),
                        r.status.clone(),
                        admin_state_name(r.admin).to_string(),
                        if r.weight == r.configured_weight {
                            r.weight.to_string()
                        } else {
                            format!("{} (cfg {})", r.weight, r.configured_weight)
                        },
                        if r.backup { "backup" } else { "active" }.to_string(),
                        r.sessions.to_string(),
                        r.total.to_string(),
                        r.queued.to_string(),
                        format!("{}s", r.last_change),
                        r.check.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                &["BACKEND", "SERVER", "ADDRESS", "STATUS", "ADMIN", "WEIGHT", "ROLE", "SESS", "TOTAL", "QUEUE", "LASTCHG", "CHECK"],
                &rows,
            )
        }
        CtlReply::Vrrp(views) => {
            if views.is_empty() {
                return "no VRRP instance on this host\n".into();
            }
            let rows: Vec<Vec<String>> = views
                .iter()
                .map(|v| {
                    vec![
                        v.name.clone(),
                        v.interface.clone(),
                        v.vrid.to_string(),
                        vrrp_state_name(v.state).to_string(),
                        v.priority.to_string(),
                        v.base_priority.to_string(),
                        v.vips.join(" "),
                    ]
                })
                .collect();
            table(&["INSTANCE", "INTERFACE", "VRID", "STATE", "PRIORITY", "BASE", "VIPS"], &rows)
        }
        CtlReply::Lvs(views) => {
            if views.is_empty() {
                return "no LVS virtual service on this host\n".into();
            }
            // One row per real server under its service, as `ipvsadm -L --stats` groups them.
            let mut rows: Vec<Vec<String>> = Vec::new();
            for v in views {
                let state = format!("{}{}", if v.active { "active" } else { "standby" }, if v.quorum_up { "" } else { ", quorum lost" });
                rows.push(vec![
                    v.name.clone(),
                    format!("{} {}", v.protocol.to_ascii_uppercase(), v.vip),
                    format!("{} {}", v.kind, v.scheduler),
                    state,
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                for s in &v.servers {
                    rows.push(vec![
                        format!("  {}", s.name),
                        format!("  -> {}", s.addr),
                        String::new(),
                        if s.up { "UP".into() } else { "DOWN".into() },
                        s.weight.to_string(),
                        s.packets.to_string(),
                        s.bytes.to_string(),
                    ]);
                }
            }
            table(&["SERVICE", "ADDRESS", "KIND", "STATE", "WEIGHT", "PACKETS", "BYTES"], &rows)
        }
        CtlReply::Announce(rows) => {
            if rows.is_empty() {
                return "no announce section on this host\n".into();
            }
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| vec![r.vip.clone(), r.interface.clone(), if r.held { "yes" } else { "no" }.into(), r.state.clone()])
                .collect();
            table(&["VIP", "INTERFACE", "HELD", "STATE"], &rows)
        }
        CtlReply::Peers(sections) => {
            if sections.is_empty() {
                return "no peers section shared by a stick table on this host\n".into();
            }
            let counters: Vec<Vec<String>> = sections
                .iter()
                .map(|p| {
                    vec![
                        p.section.clone(),
                        p.local.clone(),
                        p.addr.clone(),
                        p.established.to_string(),
                        p.disconnects.to_string(),
                        p.updates_sent.to_string(),
                        p.updates_received.to_string(),
                        p.proto_err.to_string(),
                        p.refused.to_string(),
                    ]
                })
                .collect();
            let remotes: Vec<Vec<String>> = sections
                .iter()
                .flat_map(|p| {
                    p.remotes.iter().map(|(name, addr, up)| {
                        vec![p.section.clone(), name.clone(), addr.clone(), if *up { "established" } else { "none" }.into()]
                    })
                })
                .collect();
            table(&["SECTION", "LOCAL", "ADDRESS", "ESTABLISHED", "DISCONNECTS", "SENT", "RECEIVED", "PROTO_ERR", "REFUSED"], &counters)
                + "\n"
                + &table(&["SECTION", "PEER", "ADDRESS", "SESSION"], &remotes)
        }
        CtlReply::Done(msg) => format!("{msg}\n"),
        CtlReply::Error(msg) => format!("error: {msg}\n"),
        CtlReply::Batch(replies) => replies.iter().map(human).collect(),
    }
}

pub fn main(socket: Option<&Path>, config: Option<&Path>, json: bool, words: &[String]) -> ExitCode {
    let request = match CtlRequest::parse(&words.join(" ")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hakeeper ctl: {e}");
            return ExitCode::from(2);
        }
    };
    let path = match socket_path(socket, config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hakeeper ctl: {e}");
            return ExitCode::from(2);
        }
    };
    let reply = match ask(&path, &request) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hakeeper ctl: {e}");
            return ExitCode::from(2);
        }
    };
    let refused = match &reply {
        CtlReply::Batch(replies) => replies.iter().any(|r| matches!(r, CtlReply::Error(_))),
        r => matches!(r, CtlReply::Error(_)),
    };
    if json {
        match serde_json::to_string_pretty(&reply) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("hakeeper ctl: {e}");
                return ExitCode::from(2);
            }
        }
    } else if refused {
        eprint!("{}", human(&reply));
    } else {
        print!("{}", human(&reply));
    }
    if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::ctl::{ServerRow, VrrpView};
    use hakeeper_common::ipc::{AdminState, VrrpState};

    #[test]
    fn servers_print_as_an_aligned_table() {
        let row = |name: &str, status: &str, admin| ServerRow {
            backend: "proxy_status".into(),
            server: name.into(),
            addr: "10.0.0.1:8066".into(),
            status: status.into(),
            admin,
            up: true,
            weight: 1,
            configured_weight: 1,
            backup: false,
            sessions: 0,
            total: 12,
            queued: 0,
            last_change: 30,
            check: Some("L4OK in 1ms".into()),
        };
        let text = human(&CtlReply::Servers(vec![row("server_1", "UP", AdminState::Ready), row("s2", "MAINT", AdminState::Maint)]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("BACKEND       SERVER    ADDRESS        STATUS  ADMIN"), "{text}");
        assert!(lines[2].starts_with("proxy_status  s2        10.0.0.1:8066  MAINT   MAINT"), "{text}");
        // Columns line up: STATUS starts at the same offset on every line.
        let at = lines[0].find("STATUS").expect("column");
        assert_eq!(&lines[1][at..at + 2], "UP");
    }

    #[test]
    fn vrrp_prints_state_and_priorities() {
        let text = human(&CtlReply::Vrrp(vec![VrrpView {
            name: "VI_1".into(),
            interface: "eth1".into(),
            vrid: 35,
            state: VrrpState::Master,
            priority: 122,
            base_priority: 120,
            vips: vec!["10.0.0.5/32".into()],
        }]));
        assert_eq!(text.lines().nth(1), Some("VI_1      eth1       35    MASTER  122       120   10.0.0.5/32"));
        assert_eq!(human(&CtlReply::Vrrp(Vec::new())), "no VRRP instance on this host\n");
    }

    #[test]
    fn lvs_lists_each_service_then_its_real_servers() {
        use hakeeper_common::ctl::{LvsServerView, LvsView};
        let text = human(&CtlReply::Lvs(vec![LvsView {
            name: "vs".into(),
            vip: "192.0.2.100:80".into(),
            protocol: "tcp".into(),
            kind: "nat".into(),
            scheduler: "wrr".into(),
            active: true,
            quorum_up: true,
            servers: vec![
                LvsServerView { name: "rs1".into(), addr: "192.0.2.11:8080".into(), up: true, weight: 2, packets: 10, bytes: 600 },
                LvsServerView { name: "rs2".into(), addr: "192.0.2.12:8080".into(), up: false, weight: 0, packets: 0, bytes: 0 },
            ],
        }]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[1].starts_with("vs ")
                && lines[1].contains("TCP 192.0.2.100:80")
                && lines[1].contains("nat wrr")
                && lines[1].ends_with("active"),
            "{text}"
        );
        assert!(lines[2].contains("-> 192.0.2.11:8080") && lines[2].contains("UP") && lines[2].ends_with("2       10       600"), "{text}");
        assert!(lines[3].contains("DOWN"), "{text}");
        assert_eq!(human(&CtlReply::Lvs(Vec::new())), "no LVS virtual service on this host\n");
    }

    #[test]
    fn the_socket_comes_from_the_flag_then_the_default() {
        assert_eq!(socket_path(Some(Path::new("/tmp/x.sock")), None), Ok(PathBuf::from("/tmp/x.sock")));
        assert_eq!(socket_path(None, None), Ok(PathBuf::from(DEFAULT_CTL_SOCKET)));
    }
}
