//! Typed messages between the supervisor and its children: one enum per direction, named after
//! who talks to whom. Children never talk to each other; the supervisor forwards.

use crate::config::http::HttpConfig;
use crate::config::model::LvsService;
use crate::config::{Backend, Frontend, Global, ScriptUser, Stats, Vrrp, VrrpScript};
use crate::ctl::{CtlReply, CtlRequest, LvsView, VrrpView};
use crate::ipc::ids::{InstanceId, ScriptId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The worker's slice of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerConfig {
    pub global: Global,
    pub frontends: Vec<Frontend>,
    pub backends: Vec<Backend>,
    pub stats: Option<Stats>,
    /// The L7 settings, indexed like `frontends` / `backends`.
    #[serde(default)]
    pub http: HttpConfig,
    /// The `peers` sections this host takes part in whose listener was passed
    /// ([`ListenerTag::Peers`] indexes them).
    #[serde(default)]
    pub peers: Vec<crate::config::PeersSection>,
}

/// One backend's stick table: (client address, server name, remaining lifetime) per entry.
/// Names, not indexes, so that entries survive a reload that reorders servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StickEntries {
    pub backend: String,
    pub entries: Vec<(std::net::IpAddr, String, Duration)>,
}

/// Names one listening socket passed with [`ToWorker::Listeners`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListenerTag {
    /// `Config::frontends[frontend].binds[bind]`.
    Frontend {
        frontend: usize,
        bind: usize,
    },
    Stats,
    /// The local peer's address of `WorkerConfig::peers[section]`.
    Peers {
        section: usize,
    },
}

/// Operator-set state of a server (HAProxy's READY / DRAIN / MAINT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminState {
    Ready,
    Drain,
    Maint,
}

impl AdminState {
    /// As HAProxy's stats page and runtime API write them.
    pub fn name(self) -> &'static str {
        match self {
            AdminState::Ready => "READY",
            AdminState::Drain => "DRAIN",
            AdminState::Maint => "MAINT",
        }
    }
}

impl std::fmt::Display for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

// Start carries a whole config slice and is sent once per worker; boxing it buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// First message: the config to serve; `generation` counts reloads.
    Start {
        config: WorkerConfig,
        generation: u64,
    },
    /// The listening sockets, one descriptor per tag, in order.
    Listeners(Vec<ListenerTag>),
    /// A health transition from the checker.
    ServerHealth {
        backend: usize,
        server: usize,
        up: bool,
    },
    ServerAdmin {
        backend: usize,
        server: usize,
        state: AdminState,
    },
    SetWeight {
        backend: usize,
        server: usize,
        weight: u32,
    },
    /// Stop accepting, finish connections within `grace`, then exit 0.
    Drain {
        grace: Duration,
    },
    /// This host's VRRP instances, for the stats page (the whole list, after each change).
    VrrpStates(Vec<VrrpView>),
    /// A `hakeeper ctl` command; answered with [`FromWorker::CtlReply`] carrying the same `id`.
    Ctl {
        id: u64,
        request: CtlRequest,
    },
    /// The checker's verdict at a health transition (sent next to `ServerHealth`), for the
    /// stats page's check columns.
    CheckResult {
        backend: usize,
        server: usize,
        reason: String,
        duration: Duration,
    },
    /// Stick-table entries from a worker that is draining (a reload), to carry on in this one.
    StickTables(Vec<StickEntries>),
    /// A part of a `stick_table` (its entries with their data) from a draining worker.
    StickData(crate::stick_data::StickTableDump),
    /// The process summary for the stats page (sent when it changes).
    Process(crate::ctl::ProcessView),
    /// Are you there? Answered with `FromWorker::Pong` (the supervisor feeds systemd's
    /// watchdog only while every child answers).
    Ping(u64),
    /// This host's LVS virtual services and their counters, for `/metrics` (sent when they
    /// change).
    LvsStates(Vec<LvsView>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// Listeners registered; the worker is serving.
    Ready {
        generation: u64,
    },
    /// An operator changed a server from the stats page or `hakeeper ctl`: its admin state and,
    /// when it differs from the configured one, its weight, now. The supervisor keeps these and
    /// replays them (`ServerAdmin`, `SetWeight`) to the workers it starts later.
    AdminChanged {
        backend: String,
        server: String,
        state: AdminState,
        weight: Option<u32>,
    },
    /// The answer to `ToWorker::Ctl { id, .. }`.
    CtlReply {
        id: u64,
        reply: CtlReply,
    },
    /// This worker's stick tables, sent when it starts draining so that a reload keeps them.
    StickTables(Vec<StickEntries>),
    /// A part of one of this worker's `stick_table`s, sent when it starts draining (as
    /// HAProxy's old process pushes its tables to the new one): a few messages per table,
    /// each well under the frame limit.
    StickData(crate::stick_data::StickTableDump),
    Pong(u64),
}

/// The checker's slice of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerConfig {
    pub backends: Vec<Backend>,
    pub scripts: Vec<VrrpScript>,
    pub script_user: Option<ScriptUser>,
    pub enable_script_security: bool,
}

/// Marks a [`ToChecker::Notify`] for an LVS service's quorum script (its own lane, its own
/// name in the log).
pub const LVS_NOTIFY_PREFIX: &str = "lvs:";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToChecker {
    Start(CheckerConfig),
    /// Run a VRRP notify script (keepalived's notify_* and generic `notify`): `command` is the
    /// configured command line, `args` are appended. Scripts of one `instance` run in order,
    /// one at a time; different instances do not wait for each other. An LVS service's
    /// `quorum_up` / `quorum_down` come as `instance` [`LVS_NOTIFY_PREFIX`] + its name.
    Notify {
        instance: String,
        command: String,
        args: Vec<String>,
    },
    /// Finish queued notify scripts (bounded), then exit.
    Stop,
    /// Are you there? Answered with `FromChecker::Pong`.
    Ping(u64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromChecker {
    /// A server crossed its rise/fall threshold.
    ServerHealth {
        backend: usize,
        server: usize,
        up: bool,
        reason: String,
        duration: Duration,
    },
    /// A tracked script's state changed (after its own rise/fall).
    ScriptState {
        script: usize,
        ok: bool,
    },
    /// A script check with `dynamic` set the server's weight (keepalived's `misc_dynamic`);
    /// the supervisor forwards it as `ToWorker::SetWeight`.
    ServerWeight {
        backend: usize,
        server: usize,
        weight: u32,
    },
    /// The verdict of a check that changed no state: sent when its text differs from the last
    /// one sent for the server, or every 10 s at most while it does not, so that the stats page
    /// shows the last check (`L7OK/200 in 1ms`) of a healthy server too.
    CheckResult {
        backend: usize,
        server: usize,
        reason: String,
        duration: Duration,
    },
    Pong(u64),
}

/// A VRRP instance's state, as keepalived names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VrrpState {
    Init,
    Backup,
    Master,
    Fault,
}

impl VrrpState {
    /// As keepalived writes them (`Entering MASTER STATE`).
    pub fn name(self) -> &'static str {
        match self {
            VrrpState::Init => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Fault => "FAULT",
        }
    }
}

impl std::fmt::Display for VrrpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToVrrp {
    Start(Vrrp),
    ScriptState {
        script: ScriptId,
        ok: bool,
    },
    /// The local proxy is serving (`true`) or has given up (`false`).
    ProxyHealth {
        up: bool,
    },
    /// `hakeeper ctl switchover` (`true`) or `switchback`: FAULT for a planned hand-over while
    /// the proxy keeps serving.
    Switchover {
        on: bool,
    },
    /// Release every VIP (priority 0 adverts) and exit.
    Shutdown,
    /// A binary upgrade (`hakeeper ctl upgrade`, SIGUSR2): stop at once without a priority-0
    /// advert and without removing any VIP or LVS table, answer `FromVrrp::HandedOver` with the
    /// instances' states, and exit. The next vrrpd carries on from those states (`Resume`).
    HandOver,
    /// Sent before `Start` to a vrrpd that follows a binary upgrade: the states the previous
    /// vrrpd handed over, by instance index in this `Start`'s config. A MASTER carries on as
    /// master at once (VIPs kept, advert sent, no gratuitous ARP burst); the others start as usual.
    Resume(Vec<(InstanceId, VrrpState)>),
    /// Are you there? Answered with `FromVrrp::Pong`.
    Ping(u64),
    /// The LVS virtual services (`Config::lvs`), sent after each `Start` (also a reload's).
    /// vrrpd programs the kernel for those whose VIP this host holds; every real server is
    /// up at its configured weight until an `LvsServers` says otherwise.
    Lvs(Vec<LvsService>),
    /// The checker's view of the real servers of `Lvs[service]`, one per `real_servers`, in
    /// order: the whole service each time (replayed to a restarted vrrpd).
    LvsServers {
        service: usize,
        servers: Vec<LvsServerState>,
    },
    /// `announce`: hold the announced VIPs on the announce device (`true`), for the routing
    /// daemon to export, or withdraw them. Answered with `FromVrrp::Announce`.
    Announce {
        on: bool,
    },
}

/// A real server as the checker last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsServerState {
    /// Alive, at this weight (the configured one, or a MISC_CHECK's dynamic one).
    Up {
        weight: u32,
    },
    Down,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromVrrp {
    InstanceState {
        instance: InstanceId,
        state: VrrpState,
        priority: u8,
    },
    /// After a reload (a later `ToVrrp::Start`): every instance that carried on unchanged, by
    /// its index in the new config, with its state and priority now. Not a transition: no notify
    /// script is due. Instances the reload started report their transitions as usual.
    ReloadKept {
        instances: Vec<(InstanceId, VrrpState, u8)>,
    },
    /// Received-packet counters of `Vrrp::instances[instance]`, sent every 10 s when they
    /// changed: packets for its VRID (accepted or not), and the drops among them by reason
    /// (`ttl`, `checksum`, `password`, `address_list`, …; only reasons seen so far).
    Counters {
        instance: InstanceId,
        received: u64,
        dropped: Vec<(String, u64)>,
    },
    /// keepalived's quorum of `Lvs[service]` was gained (`up`) or lost: the supervisor runs
    /// its `quorum_up` / `quorum_down` script through the checker.
    LvsQuorum {
        service: usize,
        up: bool,
    },
    /// The LVS services with their real servers' packet and byte counters, read from
    /// nftables; sent every few seconds when they changed.
    LvsStats(Vec<LvsView>),
    /// The answer to `ToVrrp::HandOver`: every instance's state and priority when it stopped;
    /// vrrpd exits right after it, its VIPs and adverts left to its successor.
    HandedOver {
        instances: Vec<(InstanceId, VrrpState, u8)>,
    },
    /// The announced VIPs are on the announce device (`held`) or not, after a
    /// `ToVrrp::Announce` or a change vrrpd saw; `error` says what failed.
    Announce {
        held: bool,
        error: Option<String>,
    },
    Pong(u64),
}
