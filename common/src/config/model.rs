//! The validated config: addresses parsed, names resolved to indexes, durations typed, defaults
//! applied. Children receive slices of it over IPC, hence `Serialize`/`Deserialize`.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use super::http::*;
pub use super::raw::RawMode as Mode;
pub use super::server_tls::*;
pub use super::tcp::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The file it was read from (for messages).
    pub source: PathBuf,
    pub global: Global,
    pub frontends: Vec<Frontend>,
    pub backends: Vec<Backend>,
    /// L7 settings, indexed as `frontends` and `backends`.
    pub http: HttpConfig,
    pub stats: Option<Stats>,
    pub vrrp: Vrrp,
    /// LVS virtual servers (listens with an `lvs` block), balanced by the kernel.
    #[serde(default)]
    pub lvs: Vec<LvsService>,
    /// `peers` sections that name this host (the others are dropped with a warning, as HAProxy
    /// drops them).
    #[serde(default)]
    pub peers: Vec<PeersSection>,
}

/// A `peers` section as this host takes part in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersSection {
    pub name: String,
    /// This host: its peer name and the address its peers listener binds.
    pub local: Peer,
    /// The other peers, each connected to and accepted from.
    pub remotes: Vec<Peer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub name: String,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Global {
    pub user: Option<String>,
    pub group: Option<String>,
    pub chroot: Option<PathBuf>,
    pub maxconn: u32,
    /// 0 = one per core.
    pub nbthread: u32,
    pub log: LogConfig,
    /// Further syslog targets (never stderr), each with its own facility and level.
    pub additional_logs: Vec<LogConfig>,
    pub hard_stop_after: Duration,
    pub worker_crash_limit: CrashLimit,
    /// Where the supervisor listens for `hakeeper ctl` (mode 0600, owned by root).
    pub ctl_socket: PathBuf,
    /// `tune.pool-low-fd-ratio` / `tune.pool-high-fd-ratio`: percentages of the descriptors the
    /// worker may use (two per `maxconn`) above which idle server connections are kept sparingly
    /// / not at all.
    #[serde(default = "default_pool_fd_ratios")]
    pub pool_fd_ratios: (u32, u32),
    /// HTTP/2 towards clients (`tune.h2.*`).
    #[serde(default)]
    pub h2: H2Settings,
}

/// HAProxy's `tune.h2.*`, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct H2Settings {
    pub header_table_size: u32,
    pub initial_window_size: u32,
    pub max_concurrent_streams: u32,
    pub max_frame_size: u32,
}

impl Default for H2Settings {
    fn default() -> Self {
        H2Settings { header_table_size: 4096, initial_window_size: 65_535, max_concurrent_streams: 100, max_frame_size: 16_384 }
    }
}

/// The protocol of a bind's connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindProto {
    /// HTTP/1.1, or what ALPN picks on a TLS bind.
    #[default]
    Auto,
    /// HTTP/1.1 whatever ALPN says (`proto h1`).
    H1,
    /// HTTP/2 with prior knowledge, whatever ALPN says (`proto h2`).
    H2,
}

/// HAProxy's defaults for `tune.pool-low-fd-ratio` and `tune.pool-high-fd-ratio`.
pub fn default_pool_fd_ratios() -> (u32, u32) {
    (20, 25)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogTarget {
    Udp(SocketAddr),
    Unix(PathBuf),
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    pub target: LogTarget,
    /// Facility name as syslog spells it (`local1`).
    pub facility: String,
    /// Lowest severity sent, as a syslog level name.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashLimit {
    pub exits: u32,
    pub window: Duration,
    /// Serving this long after giving up the VIPs restores the proxy's health (hysteresis).
    pub rise: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogFormat {
    Tcplog,
    Httplog,
}

/// A listening proxy. A `listen` section becomes a frontend plus a backend of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frontend {
    pub name: String,
    pub binds: Vec<SocketAddr>,
    pub mode: Mode,
    pub maxconn: u32,
    pub timeout_client: Duration,
    pub timeout_http_request: Duration,
    pub timeout_http_keep_alive: Duration,
    /// Index into `Config::backends`.
    pub default_backend: Option<usize>,
    pub log: bool,
    pub log_format: Option<LogFormat>,
    pub dontlognull: bool,
    /// HAProxy's `accept-proxy` on the binds: each client first sends a PROXY header (v1 or
    /// v2), whose source address is the client's for everything after it.
    #[serde(default)]
    pub accept_proxy: bool,
    /// TLS termination per bind, indexed like `binds` (`None`: plaintext).
    #[serde(default)]
    pub tls: Vec<Option<crate::tls::BindTls>>,
    /// The protocol per bind, indexed like `binds`.
    #[serde(default)]
    pub bind_proto: Vec<BindProto>,
}

impl Frontend {
    /// The local address of every connection accepted on bind `bind`, when the bind names one
    /// address (not 0.0.0.0 or ::): then no getsockname(2) is needed to know `dst`.
    pub fn bind_local(&self, bind: usize) -> Option<SocketAddr> {
        self.binds.get(bind).copied().filter(|a| !a.ip().is_unspecified() && a.port() != 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Balance {
    Roundrobin,
    StaticRr,
    Leastconn,
    First,
    Source,
    Random,
    Uri,
    Hdr(String),
    UrlParam(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HashType {
    MapBased,
    Consistent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    pub name: String,
    pub mode: Mode,
    pub balance: Balance,
    pub hash_type: HashType,
    pub retries: u32,
    pub redispatch: bool,
    pub abortonclose: bool,
    pub allbackups: bool,
    pub timeout_connect: Duration,
    pub timeout_server: Duration,
    pub timeout_queue: Duration,
    pub timeout_check: Option<Duration>,
    pub stick: Option<Stick>,
    pub health_check: HealthCheck,
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stick {
    pub expire: Duration,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthCheck {
    Tcp,
    Http {
        method: String,
        uri: String,
        version: String,
        /// Statuses that pass, inclusive (one code: both ends equal); `None`: 2xx and 3xx.
        expect_status: Option<(u16, u16)>,
    },
    Mysql {
        user: String,
    },
    /// `command` through `/bin/sh -c`, killed at `timeout` (default: the server's `inter`);
    /// `dynamic`: exit codes 2..255 pass and set the weight to code - 2.
    Script {
        command: String,
        timeout: Option<Duration>,
        dynamic: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    /// HAProxy's server id (1-based position unless set).
    pub id: u32,
    pub addr: SocketAddr,
    pub weight: u32,
    /// 0 = unlimited.
    pub maxconn: u32,
    pub backup: bool,
    pub disabled: bool,
    pub cookie: Option<String>,
    pub check: Option<Check>,
    #[serde(default)]
    pub pool: ServerPool,
    /// `send-proxy` / `send-proxy-v2`: the header each new connection to the server starts with.
    #[serde(default)]
    pub send_proxy: Option<crate::proxy_protocol::Version>,
    /// `proxy-v2-options`: the TLVs a version 2 header carries.
    #[serde(default)]
    pub proxy_v2: crate::proxy_protocol::V2Options,
    /// `check-send-proxy`: health checks start with a header too (of `send_proxy`'s version,
    /// v1 when unset).
    #[serde(default)]
    pub check_send_proxy: bool,
    /// TLS settings, when traffic or checks use TLS.
    #[serde(default)]
    pub tls: Option<ServerTls>,
    /// Health checks run over TLS with `tls`'s settings.
    #[serde(default)]
    pub check_tls: Option<CheckTls>,
}

/// How idle connections to a server are kept (HAProxy's `pool-max-conn`, `pool-purge-delay`,
/// `pool-low-conn`, `max-reuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerPool {
    /// Most idle connections kept to the server by the whole worker; `None`: no limit.
    pub max_conn: Option<u32>,
    /// Idle connections unused this long are closed.
    pub purge_delay: Duration,
    /// Idle connections each thread keeps when purging.
    pub low_conn: u32,
    /// Most requests sent on one connection after its first; `None`: no limit.
    pub max_reuse: Option<u32>,
}

impl Default for ServerPool {
    fn default() -> Self {
        ServerPool { max_conn: None, purge_delay: Duration::from_secs(5), low_conn: 0, max_reuse: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub inter: Duration,
    pub fastinter: Duration,
    pub downinter: Duration,
    pub rise: u32,
    pub fall: u32,
    pub port: u16,
    /// Whether the server counts as UP before its first check.
    pub initial_up: bool,
}

/// The stats page's defaults: few connections and short waits, since it is an operator's page
/// served by the process that carries the traffic (HAProxy would fall back to `timeout client`).
pub const STATS_MAXCONN: u32 = 10;
pub const STATS_TIMEOUT_HTTP_REQUEST: Duration = Duration::from_secs(10);
pub const STATS_TIMEOUT_CLIENT: Duration = Duration::from_secs(30);
/// Each connection may hold a 15 KiB head buffer: this bounds what stats clients can take.
pub const STATS_MAX_MAXCONN: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub bind: SocketAddr,
    pub uri: String,
    pub realm: String,
    pub auth: Vec<(String, String)>,
    pub refresh: Option<Duration>,
    pub hide_version: bool,
    pub admin: bool,
    /// Connections served at once; more wait in the listener's backlog, as on a frontend.
    pub maxconn: u32,
    /// `timeout http-request`: the whole request head must arrive within it, else 408.
    pub timeout_http_request: Duration,
    /// `timeout client`: the request body and each write of the response.
    pub timeout_client: Duration,
    /// The page served over TLS (`bind` with `ssl`).
    #[serde(default)]
    pub tls: Option<crate::tls::BindTls>,
    /// The protocol of the page's connections (`bind` with `proto`; else ALPN on TLS).
    #[serde(default)]
    pub bind_proto: BindProto,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vrrp {
    pub router_id: String,
    pub script_user: Option<ScriptUser>,
    pub enable_script_security: bool,
    pub garp: Garp,
    pub scripts: Vec<VrrpScript>,
    pub instances: Vec<VrrpInstance>,
    pub sync_groups: Vec<SyncGroup>,
    /// The top-level `announce` section: vrrpd holds these VIPs while the supervisor says so.
    /// Boxed: `ToVrrp::Start` carries it, and most configs have none.
    #[serde(default)]
    pub announce: Option<Box<Announce>>,
}

/// Active-active announcement (`announce`): see `validate/announce.rs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announce {
    /// Name of the TUN device vrrpd creates; its addresses are what the routing daemon exports.
    pub interface: String,
    /// Each a /32 or /128.
    pub vips: Vec<VipAddr>,
    /// (index into `Config::backends`, servers that must be UP).
    pub min_servers_up: Vec<(usize, u32)>,
    pub withdraw_wait: Duration,
    pub hold_on_lo: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Garp {
    pub master_repeat: u32,
    pub master_delay: Duration,
    pub master_refresh: Option<Duration>,
    pub interval: Duration,
}

impl Default for Garp {
    /// keepalived's defaults: 5 GARPs, 5 more after 5 s, no refresh, no spacing.
    fn default() -> Self {
        Garp { master_repeat: 5, master_delay: Duration::from_secs(5), master_refresh: None, interval: Duration::ZERO }
    }
}

/// A track that hakeeper evaluates itself instead of running a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuiltinCheck {
    /// The local worker is serving (it has not exited `worker_crash_limit` times).
    ProxyAlive,
    /// At least `servers` servers of `Config::backends[backend]` are UP.
    MinServersUp { backend: usize, servers: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptAction {
    Command(String),
    Builtin(BuiltinCheck),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpScript {
    pub name: String,
    pub action: ScriptAction,
    pub interval: Duration,
    pub timeout: Duration,
    pub weight: i32,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<ScriptUser>,
}

/// Who scripts run as (keepalived's `script_user`, a script's `user`): the name, and its uid and
/// primary gid as this host resolved them when the config was validated (`None`: no such user
/// here, so the scripts are refused rather than run as someone else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptUser {
    pub name: String,
    pub ids: Option<UserIds>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIds {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VrrpAuth {
    None,
    /// At most 8 bytes, as keepalived truncates it.
    Pass(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackScript {
    /// Index into `Vrrp::scripts`.
    pub script: usize,
    pub weight: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub initial_state: InitialState,
    pub version: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub advert_int: Duration,
    pub auth: VrrpAuth,
    pub vips: Vec<VipAddr>,
    pub track: Vec<TrackScript>,
    pub track_interface: Vec<String>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub notify_stop: Option<String>,
    pub notify: Option<String>,
    pub proxy_down: ProxyDown,
    /// VRRPv3 over IPv4: checksum with the IPv4 pseudo-header (sent and expected).
    pub v3_checksum_pseudo_header: bool,
    /// The only two routers of the virtual router (an explicit `pair`, or one unicast peer): a
    /// backup takes over at once on a priority-0 advert.
    pub pair: bool,
}

/// What an instance does while the local proxy is down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyDown {
    /// FAULT: priority-0 adverts, VIPs released (the default).
    #[default]
    Fault,
    /// Priority lowered by this much (1..=253), clamped to 1..=254 like track weights.
    Weight(u8),
}

/// A virtual address with its prefix length (keepalived's default is /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipAddr {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncGroup {
    pub name: String,
    /// Indexes into `Vrrp::instances`.
    pub instances: Vec<usize>,
}

/// keepalived's LVS virtual server (a `listen` with an `lvs` block): the kernel balances the
/// VIP through hakeeper's nftables tables; no user-space listener is bound for it, so it is
/// not among `Config::frontends`. Its servers are checked as those of `Config::backends[backend]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LvsService {
    pub name: String,
    /// Index into `Config::backends` (the listen's backend: servers, checks).
    pub backend: usize,
    pub vip: SocketAddr,
    pub protocol: LvsProtocol,
    pub kind: LvsKind,
    /// DR/TUN: the segment shared with the real servers.
    pub interface: Option<String>,
    pub scheduler: LvsScheduler,
    pub persistence: Option<LvsPersistence>,
    pub inhibit_on_failure: bool,
    pub sorry_server: Option<SocketAddr>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    /// The backend's non-backup servers, in config order.
    pub real_servers: Vec<RealServer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServer {
    pub name: String,
    pub addr: SocketAddr,
    pub weight: u32,
    /// DR: the configured MAC (`None`: from the neighbour table).
    #[serde(default)]
    pub mac: Option<[u8; 6]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsProtocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsKind {
    Nat,
    Dr,
    Tun,
}

/// IPVS schedulers hakeeper reproduces: `rr` (weights only say 0 or not), `wrr`, `sh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsScheduler {
    Rr,
    Wrr,
    Sh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsPersistence {
    pub timeout: Duration,
    /// `persistence_granularity` as a prefix length (32 = one client address).
    pub prefix_len: u8,
}
