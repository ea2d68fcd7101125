//! `hakeeper ctl`: the runtime commands an operator sends over the supervisor's Unix socket, and
//! the answers. The supervisor parses the line, the worker (which holds the live state) answers;
//! both directions travel inside `ToWorker::Ctl` / `FromWorker::CtlReply`.
//!
//! Wire protocol on the socket: the client writes one command line (UTF-8, `\n`-terminated,
//! at most [`MAX_LINE`] bytes), the server answers with one line of JSON (a [`CtlReply`]) and
//! closes the connection.

use crate::config::Vrrp;
use crate::ipc::{AdminState, VrrpState};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const DEFAULT_CTL_SOCKET: &str = "/run/hakeeper/ctl.sock";

/// Longest command line accepted.
pub const MAX_LINE: usize = 4096;

/// The commands, in the syntax `CtlRequest::parse` accepts.
pub const USAGE: &str = "commands:
  show info                              process information
  show stat                              HAProxy-compatible CSV statistics
  show servers                           one line per server: state, weight, sessions
  show vrrp                              this host's VRRP instances
  show lvs                               LVS virtual services: real servers, packets, bytes
  show announce                          announced VIPs (active-active): held or withdrawn, why
  show peers                             peers sections: sessions with each peer, updates sent and received
  enable server BACKEND/SERVER           leave maintenance (state READY)
  disable server BACKEND/SERVER          enter maintenance (state MAINT)
  set server BACKEND/SERVER state ready|drain|maint
  set server BACKEND/SERVER weight N     0..256
  switchover                             planned handover: give up this host's VIPs (FAULT,
                                         priority 0), serving on them until the new master
                                         advertises; established connections carry on
  switchback                             take part in VRRP again (the VIPs come back by preempt)
  reload                                 load the config file again; answers once the new
                                         worker serves, or with the file:line:col errors
  upgrade                                binary upgrade without a restart: check the config
                                         with the binary now on disk, then re-execute it in
                                         place (same PID, listeners and VIPs kept); answers
                                         once its new worker serves, or with why not
  stop                                   stop as SIGTERM does (systemd's stop): release the
                                         VIPs, drain (HTTP/2 clients get a graceful GOAWAY),
                                         exit within 5 s; answers as the stop begins
  show table [NAME [data.TYPE OP VALUE]]  stick tables: summary, or one table's entries
  clear table NAME [key KEY | data.TYPE OP VALUE]
  set table NAME key KEY [data.TYPE VALUE]...  create or refresh an entry, set its values
  CMD; CMD; ...                          table commands joined with `;`, answered in order
                                         (HAProxy's stats socket takes `;`-separated commands)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtlRequest {
    ShowInfo,
    ShowStat,
    ShowServers,
    ShowVrrp,
    /// The LVS virtual services and real servers with their counters (answered by the
    /// supervisor from what vrrpd last reported).
    ShowLvs,
    /// The `announce` VIPs and whether this host announces them (answered by the supervisor).
    ShowAnnounce,
    SetState {
        backend: String,
        server: String,
        state: AdminState,
    },
    SetWeight {
        backend: String,
        server: String,
        weight: u32,
    },
    /// Planned handover (answered by the supervisor): release the VIPs, keep serving what is open.
    Switchover,
    /// Undo `Switchover`.
    Switchback,
    /// Load the config again (as SIGHUP) and answer with the outcome (answered by the supervisor).
    Reload,
    /// Binary upgrade (as SIGUSR2): the supervisor checks the config with the binary now on
    /// disk and re-executes it, keeping its PID, listeners and VIPs (answered by the supervisor).
    Upgrade,
    /// Stop the appliance as SIGTERM does: HAProxy's soft-stop (answered by the supervisor as
    /// the stop begins).
    Stop,
    /// `show peers`: each shared `peers` section, its remote peers and counters (HAProxy's
    /// `show peers`, in short).
    ShowPeers,
    /// `show table [NAME [data.X OP V]]`: every table's summary, or one table's entries.
    ShowTable {
        name: Option<String>,
        filter: Option<crate::ctl_table::DataFilter>,
    },
    /// `clear table NAME [key K | data.X OP V]`: removes entries no session tracks.
    ClearTable {
        name: String,
        key: Option<String>,
        filter: Option<crate::ctl_table::DataFilter>,
    },
    /// `set table NAME key K [data.X V…]`: creates the entry if needed and sets the values.
    SetTable {
        name: String,
        key: String,
        values: Vec<(crate::config::stick_table::StickDataType, i64)>,
    },
    /// `CMD; CMD; …`: several table commands on one line, as HAProxy's stats socket accepts
    /// `;`-separated commands (management.txt, "Unix Socket commands"), answered in order with
    /// one [`CtlReply::Batch`]. Only `show|clear|set table` may be joined: the bulk path to
    /// load or clear a table, never a way around the supervisor's own commands.
    Batch(Vec<CtlRequest>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtlParseError {
    #[error("empty command\n{USAGE}")]
    Empty,
    #[error("unknown command {0:?}\n{USAGE}")]
    Unknown(String),
    #[error("usage: {0}")]
    Usage(&'static str),
    #[error("{0:?} is not BACKEND/SERVER")]
    Target(String),
    #[error("unknown state {0:?}: expected ready, drain or maint")]
    State(String),
    #[error("bad weight {0:?}: expected an integer from 0 to 256")]
    Weight(String),
    #[error("{0}")]
    Table(String),
    #[error("only `show table`, `clear table` and `set table` can be joined with `;`, not {0:?}")]
    NotBatchable(String),
}

fn target(word: &str) -> Result<(String, String), CtlParseError> {
    match word.split_once('/') {
        Some((b, s)) if !b.is_empty() && !s.is_empty() && !s.contains('/') => Ok((b.to_string(), s.to_string())),
        _ => Err(CtlParseError::Target(word.to_string())),
    }
}

fn state(word: &str) -> Result<AdminState, CtlParseError> {
    match word.to_ascii_lowercase().as_str() {
        "ready" => Ok(AdminState::Ready),
        "drain" => Ok(AdminState::Drain),
        "maint" => Ok(AdminState::Maint),
        _ => Err(CtlParseError::State(word.to_string())),
    }
}

fn weight(word: &str) -> Result<u32, CtlParseError> {
    // HAProxy also takes `N%` of the configured weight; only absolute weights here.
    match word.parse::<u32>() {
        Ok(w) if w <= 256 => Ok(w),
        _ => Err(CtlParseError::Weight(word.to_string())),
    }
}

/// Every keyword `CtlRequest::parse` knows, for shell completion (which offers them at any
/// position: clap has no per-position values for one list of words).
pub const KEYWORDS: &[&str] = &[
    "show",
    "info",
    "stat",
    "servers",
    "vrrp",
    "lvs",
    "announce",
    "enable",
    "disable",
    "set",
    "server",
    "state",
    "weight",
    "ready",
    "drain",
    "maint",
    "switchover",
    "switchback",
    "reload",
    "upgrade",
    "stop",
    "table",
    "clear",
    "key",
    "peers",
];

impl CtlRequest {
    /// Parses one command line. Words are separated by any whitespace; keywords are
    /// case-sensitive lowercase as in HAProxy's CLI.
    pub fn parse(line: &str) -> Result<CtlRequest, CtlParseError> {
        if line.contains(';') {
            return Self::parse_batch(line);
        }
        Self::parse_one(line)
    }

    /// `CMD; CMD; …`: empty commands (`;;`, a trailing `;`) are skipped as HAProxy does; one
    /// command left is that command.
    fn parse_batch(line: &str) -> Result<CtlRequest, CtlParseError> {
        let mut list = Vec::new();
        for part in line.split(';').filter(|p| !p.trim().is_empty()) {
            let request = Self::parse_one(part)?;
            if !matches!(request, CtlRequest::ShowTable { .. } | CtlRequest::ClearTable { .. } | CtlRequest::SetTable { .. }) {
                return Err(CtlParseError::NotBatchable(part.trim().to_string()));
            }
            list.push(request);
        }
        match list.len() {
            0 => Err(CtlParseError::Empty),
            1 => Ok(list.remove(0)),
            _ => Ok(CtlRequest::Batch(list)),
        }
    }

    fn parse_one(line: &str) -> Result<CtlRequest, CtlParseError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        const SET_USAGE: &str = "set server BACKEND/SERVER state ready|drain|maint | set server BACKEND/SERVER weight N";
        match words.as_slice() {
            [] => Err(CtlParseError::Empty),
            ["show", "info"] => Ok(CtlRequest::ShowInfo),
            ["show", "stat"] => Ok(CtlRequest::ShowStat),
            ["show", "servers"] => Ok(CtlRequest::ShowServers),
            ["show", "vrrp"] => Ok(CtlRequest::ShowVrrp),
            ["show", "lvs"] => Ok(CtlRequest::ShowLvs),
            ["show", "announce"] => Ok(CtlRequest::ShowAnnounce),
            ["show", "peers"] => Ok(CtlRequest::ShowPeers),
            ["show", "table"] => Ok(CtlRequest::ShowTable { name: None, filter: None }),
            ["show", "table", name] => Ok(CtlRequest::ShowTable { name: Some(name.to_string()), filter: None }),
            ["show", "table", name, rest @ ..] => Ok(CtlRequest::ShowTable {
                name: Some(name.to_string()),
                filter: Some(crate::ctl_table::parse_filter(rest).map_err(CtlParseError::Table)?),
            }),
            ["show", ..] => Err(CtlParseError::Usage("show info|stat|servers|vrrp|lvs|announce|peers|table [NAME [data.TYPE OP VALUE]]")),
            ["clear", "table", name] => Ok(CtlRequest::ClearTable { name: name.to_string(), key: None, filter: None }),
            ["clear", "table", name, "key", k] => {
                Ok(CtlRequest::ClearTable { name: name.to_string(), key: Some(k.to_string()), filter: None })
            }
            ["clear", "table", name, rest @ ..] => Ok(CtlRequest::ClearTable {
                name: name.to_string(),
                key: None,
                filter: Some(crate::ctl_table::parse_filter(rest).map_err(CtlParseError::Table)?),
            }),
            ["clear", ..] => Err(CtlParseError::Usage("clear table NAME [key KEY | data.TYPE OP VALUE]")),
            ["set", "table", name, "key", k, rest @ ..] => Ok(CtlRequest::SetTable {
                name: name.to_string(),
                key: k.to_string(),
                values: crate::ctl_table::parse_values(rest).map_err(CtlParseError::Table)?,
            }),
            ["switchover"] => Ok(CtlRequest::Switchover),
            ["switchback"] => Ok(CtlRequest::Switchback),
            ["switchover" | "switchback", ..] => Err(CtlParseError::Usage("switchover | switchback")),
            ["reload"] => Ok(CtlRequest::Reload),
            ["reload", ..] => Err(CtlParseError::Usage("reload")),
            ["upgrade"] => Ok(CtlRequest::Upgrade),
            ["upgrade", ..] => Err(CtlParseError::Usage("upgrade")),
            ["stop"] => Ok(CtlRequest::Stop),
            ["stop", ..] => Err(CtlParseError::Usage("stop")),
            ["enable", "server", t] => {
                let (backend, server) = target(t)?;
                Ok(CtlRequest::SetState { backend, server, state: AdminState::Ready })
            }
            ["disable", "server", t] => {
                let (backend, server) = target(t)?;
                Ok(CtlRequest::SetState { backend, server, state: AdminState::Maint })
            }
            ["enable" | "disable", ..] => Err(CtlParseError::Usage("enable|disable server BACKEND/SERVER")),
            ["set", "server", t, "state", s] => {
                let (backend, server) = target(t)?;
                Ok(CtlRequest::SetState { backend, server, state: state(s)? })
            }
            ["set", "server", t, "weight", w] => {
                let (backend, server) = target(t)?;
                Ok(CtlRequest::SetWeight { backend, server, weight: weight(w)? })
            }
            ["set", ..] => Err(CtlParseError::Usage(SET_USAGE)),
            [first, ..] => Err(CtlParseError::Unknown(first.to_string())),
        }
    }
}

impl fmt::Display for CtlRequest {
    /// The canonical command line, which `parse` reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CtlRequest::ShowInfo => f.write_str("show info"),
            CtlRequest::ShowStat => f.write_str("show stat"),
            CtlRequest::ShowServers => f.write_str("show servers"),
            CtlRequest::ShowVrrp => f.write_str("show vrrp"),
            CtlRequest::ShowLvs => f.write_str("show lvs"),
            CtlRequest::ShowAnnounce => f.write_str("show announce"),
            CtlRequest::ShowPeers => f.write_str("show peers"),
            CtlRequest::SetState { backend, server, state } => {
                write!(f, "set server {backend}/{server} state {}", admin_state_name(*state).to_ascii_lowercase())
            }
            CtlRequest::SetWeight { backend, server, weight } => write!(f, "set server {backend}/{server} weight {weight}"),
            CtlRequest::Switchover => f.write_str("switchover"),
            CtlRequest::Switchback => f.write_str("switchback"),
            CtlRequest::Reload => f.write_str("reload"),
            CtlRequest::Upgrade => f.write_str("upgrade"),
            CtlRequest::Stop => f.write_str("stop"),
            CtlRequest::ShowTable { name, filter } => {
                f.write_str("show table")?;
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                if let Some(x) = filter {
                    write!(f, " {}", filter_text(x))?;
                }
                Ok(())
            }
            CtlRequest::ClearTable { name, key, filter } => {
                write!(f, "clear table {name}")?;
                if let Some(k) = key {
                    write!(f, " key {k}")?;
                }
                if let Some(x) = filter {
                    write!(f, " {}", filter_text(x))?;
                }
                Ok(())
            }
            CtlRequest::SetTable { name, key, values } => {
                write!(f, "set table {name} key {key}")?;
                values.iter().try_for_each(|(d, v)| write!(f, " data.{} {v}", d.name()))
            }
            CtlRequest::Batch(list) => {
                for (i, r) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

fn filter_text(x: &crate::ctl_table::DataFilter) -> String {
    use crate::config::tcp::IntOp;
    let op = match x.op {
        None => "ne",
        Some(IntOp::Eq) => "eq",
        Some(IntOp::Le) => "le",
        Some(IntOp::Lt) => "lt",
        Some(IntOp::Ge) => "ge",
        Some(IntOp::Gt) => "gt",
    };
    format!("data.{} {op} {}", x.data.name(), x.value)
}

/// HAProxy's spelling of an admin state.
pub fn admin_state_name(state: AdminState) -> &'static str {
    state.name()
}

/// keepalived's spelling of a VRRP state.
pub fn vrrp_state_name(state: VrrpState) -> &'static str {
    state.name()
}

/// One announced VIP as `show announce` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceView {
    /// `ADDR/PREFIX`.
    pub vip: String,
    /// The announce device.
    pub interface: String,
    /// vrrpd holds it on the device (the routing daemon exports it).
    pub held: bool,
    /// `announced`, `withdrawn (REASON)`, `announcing`, `withdrawing (REASON)` or `error: …`.
    pub state: String,
}

/// One server as `show servers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRow {
    pub backend: String,
    pub server: String,
    pub addr: String,
    /// As the CSV's `status` column: `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`.
    pub status: String,
    pub admin: AdminState,
    /// Health as last reported by the checker (true when unchecked).
    pub up: bool,
    pub weight: u32,
    pub configured_weight: u32,
    pub backup: bool,
    pub sessions: u64,
    pub total: u64,
    pub queued: u64,
    /// Seconds since the last state change.
    pub last_change: u64,
    /// The last check verdict and its duration, when the checker reported one.
    pub check: Option<String>,
}

/// The process summary of this host for the stats page: where, what generation, since when,
/// how often children restarted, and the VRRP tracks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProcessView {
    /// This host's name (the stats page says which host it is on).
    pub host: String,
    /// The config generation served (1 at start, one more per reload).
    pub generation: u64,
    /// When the supervisor started (seconds since the Unix epoch).
    pub started_unix: u64,
    /// Restarts of each child role since the supervisor started.
    pub restarts: Vec<(String, u32)>,
    /// The VRRP tracked scripts and built-in tracks.
    pub tracks: Vec<TrackView>,
    /// The `announce` VIPs (active-active) and their state, as `show announce` lists them.
    #[serde(default)]
    pub announce: Vec<AnnounceView>,
}

/// A tracked script or built-in track and its last result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackView {
    pub name: String,
    /// `script: COMMAND`, `builtin: proxy_alive`, `builtin: min_servers_up(BACKEND, N)`.
    pub what: String,
    pub weight: i32,
    /// None until its first result.
    pub ok: Option<bool>,
}

/// One VRRP instance of this host, for the stats page and `show vrrp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpView {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub state: VrrpState,
    /// Effective priority (base + track weights), as vrrpd last reported it.
    pub priority: u8,
    /// Configured priority.
    pub base_priority: u8,
    pub vips: Vec<String>,
}

/// The views of every configured instance; `states` holds `(instance index, state, effective
/// priority)` as vrrpd reported them. Instances not reported yet show as INIT at their base
/// priority.
pub fn vrrp_views(config: &Vrrp, states: &[(crate::ipc::InstanceId, VrrpState, u8)]) -> Vec<VrrpView> {
    config
        .instances
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let reported = states.iter().rev().find(|(id, _, _)| id.0 == i);
            VrrpView {
                name: inst.name.clone(),
                interface: inst.interface.clone(),
                vrid: inst.vrid,
                state: reported.map_or(VrrpState::Init, |r| r.1),
                priority: reported.map_or(inst.priority, |r| r.2),
                base_priority: inst.priority,
                vips: inst.vips.iter().map(|v| format!("{}/{}", v.addr, v.prefix_len)).collect(),
            }
        })
        .collect()
}

/// One LVS virtual service of this host, for `show lvs` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsView {
    pub name: String,
    /// `VIP:PORT`.
    pub vip: String,
    /// `tcp` / `udp`.
    pub protocol: String,
    /// `nat` / `dr` / `tun`.
    pub kind: String,
    /// IPVS' scheduler name: `rr`, `wrr`, `sh`.
    pub scheduler: String,
    /// Programmed on this host now (it holds the VIP).
    pub active: bool,
    /// keepalived's quorum state.
    pub quorum_up: bool,
    /// The real servers, then the sorry server if any.
    pub servers: Vec<LvsServerView>,
}

/// A real server (or the sorry server) of an LVS service and its counters: packets and bytes
/// of its connections, both directions (NAT), or frames forwarded to it (DR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsServerView {
    /// The real server's name, or `sorry_server`.
    pub name: String,
    pub addr: String,
    /// Alive as the checker says (the sorry server: always).
    pub up: bool,
    /// The weight it balances with now (0 when it takes no new connections).
    pub weight: u32,
    pub packets: u64,
    pub bytes: u64,
}

/// One shared `peers` section as `show peers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersView {
    pub section: String,
    /// This host's peer name and listening address.
    pub local: String,
    pub addr: String,
    /// Each remote peer: name, address, whether a session with it is established now.
    pub remotes: Vec<(String, String, bool)>,
    pub established: u64,
    pub disconnects: u64,
    pub updates_sent: u64,
    pub updates_received: u64,
    pub proto_err: u64,
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtlReply {
    /// `show info`: ordered `name: value` pairs, HAProxy's field names where they exist.
    Info(Vec<(String, String)>),
    /// `show stat`: the CSV text, header included.
    Stat(String),
    Servers(Vec<ServerRow>),
    Vrrp(Vec<VrrpView>),
    Lvs(Vec<LvsView>),
    Announce(Vec<AnnounceView>),
    /// `show table`.
    Tables(Vec<crate::ctl_table::TableView>),
    /// `show peers`.
    Peers(Vec<PeersView>),
    /// A state change was applied; the message says what.
    Done(String),
    Error(String),
    /// The answers to a [`CtlRequest::Batch`], in its order.
    Batch(Vec<CtlReply>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One command per form `parse` accepts: each must parse, and its keywords (every word but
    /// the BACKEND/SERVER target and the weight) must be offered to completion, and nothing else.
    #[test]
    fn completion_keywords_are_the_parsed_ones() {
        let commands = [
            "show info",
            "show stat",
            "show servers",
            "show vrrp",
            "show lvs",
            "show announce",
            "switchover",
            "switchback",
            "reload",
            "upgrade",
            "stop",
            "enable server b/s",
            "disable server b/s",
            "set server b/s state ready",
            "set server b/s state drain",
            "set server b/s state maint",
            "set server b/s weight 3",
            "show peers",
            "show table",
            "show table t1",
            "show table t1 data.gpc0 gt 3",
            "clear table t1",
            "clear table t1 key k1",
            "set table t1 key k1 data.gpt0 1",
        ];
        let mut used: Vec<&str> = Vec::new();
        for c in commands {
            assert!(CtlRequest::parse(c).is_ok(), "{c}");
            // Targets, table names, keys, data types and operators are arguments, not keywords.
            let argument = |w: &str| ["b/s", "t1", "k1", "gt"].contains(&w) || w.starts_with("data.") || w.parse::<u32>().is_ok();
            used.extend(c.split_whitespace().filter(|w| !argument(w)));
            assert_eq!(CtlRequest::parse(&CtlRequest::parse(c).unwrap().to_string()), CtlRequest::parse(c), "{c} reads back");
        }
        for k in KEYWORDS {
            assert!(used.contains(k), "keyword {k} is in no command");
        }
        for w in &used {
            assert!(KEYWORDS.contains(w), "{w} is not offered to completion");
        }
    }

    fn set_state(b: &str, s: &str, state: AdminState) -> CtlRequest {
        CtlRequest::SetState { backend: b.into(), server: s.into(), state }
    }

    #[test]
    fn every_command_parses() {
        assert_eq!(CtlRequest::parse("show info"), Ok(CtlRequest::ShowInfo));
        assert_eq!(CtlRequest::parse("  show   stat \n"), Ok(CtlRequest::ShowStat));
        assert_eq!(CtlRequest::parse("show servers"), Ok(CtlRequest::ShowServers));
        assert_eq!(CtlRequest::parse("show vrrp"), Ok(CtlRequest::ShowVrrp));
        assert_eq!(CtlRequest::parse("show lvs"), Ok(CtlRequest::ShowLvs));
        assert_eq!(CtlRequest::parse("enable server web/s1"), Ok(set_state("web", "s1", AdminState::Ready)));
        assert_eq!(CtlRequest::parse("disable server web/s1"), Ok(set_state("web", "s1", AdminState::Maint)));
        assert_eq!(CtlRequest::parse("set server web/s1 state drain"), Ok(set_state("web", "s1", AdminState::Drain)));
        assert_eq!(CtlRequest::parse("set server web/s1 state MAINT"), Ok(set_state("web", "s1", AdminState::Maint)));
        assert_eq!(
            CtlRequest::parse("set server web/s1 weight 0"),
            Ok(CtlRequest::SetWeight { backend: "web".into(), server: "s1".into(), weight: 0 })
        );
        assert_eq!(
            CtlRequest::parse("set server web/s1 weight 256"),
            Ok(CtlRequest::SetWeight { backend: "web".into(), server: "s1".into(), weight: 256 })
        );
    }

    #[test]
    fn bad_commands_say_why() {
        assert_eq!(CtlRequest::parse(""), Err(CtlParseError::Empty));
        assert_eq!(CtlRequest::parse("   "), Err(CtlParseError::Empty));
        assert_eq!(CtlRequest::parse("reboot now"), Err(CtlParseError::Unknown("reboot".into())));
        assert_eq!(CtlRequest::parse("switchover"), Ok(CtlRequest::Switchover));
        assert_eq!(CtlRequest::parse(" switchback "), Ok(CtlRequest::Switchback));
        assert!(matches!(CtlRequest::parse("switchover now"), Err(CtlParseError::Usage(_))));
        assert_eq!(CtlRequest::parse("upgrade"), Ok(CtlRequest::Upgrade));
        assert_eq!(CtlRequest::Upgrade.to_string(), "upgrade");
        assert!(matches!(CtlRequest::parse("upgrade now"), Err(CtlParseError::Usage(_))));
        assert!(matches!(CtlRequest::parse("show"), Err(CtlParseError::Usage(_))));
        assert!(matches!(CtlRequest::parse("show stat extra"), Err(CtlParseError::Usage(_))));
        assert!(matches!(CtlRequest::parse("enable server"), Err(CtlParseError::Usage(_))));
        assert_eq!(CtlRequest::parse("enable server web"), Err(CtlParseError::Target("web".into())));
        assert_eq!(CtlRequest::parse("enable server /s1"), Err(CtlParseError::Target("/s1".into())));
        assert_eq!(CtlRequest::parse("enable server web/"), Err(CtlParseError::Target("web/".into())));
        assert_eq!(CtlRequest::parse("enable server a/b/c"), Err(CtlParseError::Target("a/b/c".into())));
        assert_eq!(CtlRequest::parse("set server web/s1 state up"), Err(CtlParseError::State("up".into())));
        assert_eq!(CtlRequest::parse("set server web/s1 weight 257"), Err(CtlParseError::Weight("257".into())));
        assert_eq!(CtlRequest::parse("set server web/s1 weight -1"), Err(CtlParseError::Weight("-1".into())));
        assert_eq!(CtlRequest::parse("set server web/s1 weight 50%"), Err(CtlParseError::Weight("50%".into())));
        assert!(matches!(CtlRequest::parse("set server web/s1 colour red"), Err(CtlParseError::Usage(_))));
    }

    #[test]
    fn display_round_trips() {
        for line in [
            "show info",
            "show stat",
            "show servers",
            "show vrrp",
            "show lvs",
            "set server b/s state ready",
            "set server b/s state drain",
            "set server b/s state maint",
            "set server b/s weight 7",
        ] {
            let req = CtlRequest::parse(line).expect("parses");
            assert_eq!(req.to_string(), line);
            assert_eq!(CtlRequest::parse(&req.to_string()), Ok(req));
        }
    }

    /// HAProxy's stats socket runs `;`-separated commands in order; only table commands batch.
    #[test]
    fn table_commands_batch_with_semicolons() {
        let line = "set table t key 192.0.2.1 data.http_req_rate 1; set table t key 192.0.2.2 data.http_req_rate 1;show table t;";
        let req = CtlRequest::parse(line).expect("parses");
        let CtlRequest::Batch(list) = &req else { panic!("not a batch: {req:?}") };
        assert_eq!(list.len(), 3);
        assert_eq!(list[2], CtlRequest::ShowTable { name: Some("t".into()), filter: None });
        assert_eq!(CtlRequest::parse(&req.to_string()), Ok(req.clone()));
        assert_eq!(
            req.to_string(),
            "set table t key 192.0.2.1 data.http_req_rate 1; set table t key 192.0.2.2 data.http_req_rate 1; show table t"
        );
        // One command and empty ones around it: that command.
        assert_eq!(CtlRequest::parse(";; show table ;"), Ok(CtlRequest::ShowTable { name: None, filter: None }));
        assert_eq!(CtlRequest::parse(" ; ;"), Err(CtlParseError::Empty));
        // A supervisor command never rides in a batch; a bad part fails the whole line.
        assert_eq!(CtlRequest::parse("show table; reload"), Err(CtlParseError::NotBatchable("reload".into())));
        assert_eq!(
            CtlRequest::parse("clear table t; set server b/s state maint"),
            Err(CtlParseError::NotBatchable("set server b/s state maint".into()))
        );
        assert!(matches!(CtlRequest::parse("show table t; set table t key k data.nope 1"), Err(CtlParseError::Table(_))));
        let reply = CtlReply::Batch(vec![CtlReply::Done("a".into()), CtlReply::Error("b".into())]);
        assert_eq!(ron::from_str::<CtlReply>(&ron::to_string(&reply).expect("encode")).expect("decode"), reply);
    }

    #[test]
    fn replies_survive_the_ipc_encoding() {
        let reply = CtlReply::Servers(vec![ServerRow {
            backend: "b".into(),
            server: "s".into(),
            addr: "127.0.0.1:80".into(),
            status: "no check".into(),
            admin: AdminState::Drain,
            up: true,
            weight: 3,
            configured_weight: 1,
            backup: false,
            sessions: 1,
            total: 2,
            queued: 0,
            last_change: 5,
            check: None,
        }]);
        let text = ron::to_string(&reply).expect("encode");
        assert_eq!(ron::from_str::<CtlReply>(&text).expect("decode"), reply);
    }
}
