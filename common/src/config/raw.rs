//! The config as written in RON, before validation. Every struct rejects unknown fields, so a
//! typo is an error with a position rather than a silently ignored setting. The importer builds
//! these structs too and serialises them, which is why they also derive `Serialize`.

use serde::{Deserialize, Serialize};

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    #[serde(skip_serializing_if = "is_default")]
    pub global: RawGlobal,
    #[serde(skip_serializing_if = "is_default")]
    pub defaults: RawProxy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<RawProxy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frontend: Vec<RawProxy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend: Vec<RawProxy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<RawStats>,
    #[serde(skip_serializing_if = "is_default")]
    pub vrrp: RawVrrp,
    /// Active-active behind ECMP: the VIPs a routing daemon (BIRD, FRR) announces for this host
    /// while it is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announce: Option<RawAnnounce>,
    /// HAProxy `peers` sections: stick tables shared with other hosts (hakeeper or HAProxy 2.6)
    /// over HAProxy's peers protocol. A table names its section in its `peers` field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<RawPeers>,
}

/// `peers NAME` and its `peer NAME ADDR:PORT` lines. The peer whose name is this host's peer
/// name (`global.localpeer`, else the host name) is this host: its address is where it listens.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPeers {
    pub name: String,
    pub peers: Vec<RawPeer>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPeer {
    pub name: String,
    pub addr: String,
}

/// Process-wide settings (HAProxy's `global`, keepalived's process options).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGlobal {
    /// Unprivileged user for the worker and the checker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Empty directory the worker is chrooted to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chroot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// Event-loop threads in the worker; 0 or absent = one per core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbthread: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<RawLog>,
    /// More syslog targets that get the same lines, each with its own facility and level
    /// (HAProxy allows several `log` lines in `global`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_logs: Vec<RawLog>,
    /// Longest an old worker may keep draining after a reload or stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_stop_after: Option<String>,
    /// Worker exits within `window` that make this node give up the VIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_crash_limit: Option<RawCrashLimit>,
    /// Unix socket of `hakeeper ctl` (default `/run/hakeeper/ctl.sock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctl_socket: Option<String>,
    /// HAProxy's `tune.pool-low-fd-ratio` (default 20): above this share of the file
    /// descriptors in use, a server connection is kept idle only as the first of its thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_low_fd_ratio: Option<u32>,
    /// `tune.pool-high-fd-ratio` (default 25): above it, no server connection is kept idle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_high_fd_ratio: Option<u32>,
    /// This host's name in `peers` sections (HAProxy's `localpeer`, or `-L`); default: the host
    /// name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localpeer: Option<String>,
    /// HTTP/2 towards clients (HAProxy's `tune.h2.*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h2: Option<RawH2>,
}

/// HAProxy's `tune.h2.*` settings, announced to HTTP/2 clients.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawH2 {
    /// `tune.h2.header-table-size` (default 4096, at most 65536).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_table_size: Option<u32>,
    /// `tune.h2.initial-window-size` (default 65535).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_window_size: Option<u32>,
    /// `tune.h2.max-concurrent-streams` (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_streams: Option<u32>,
    /// `tune.h2.max-frame-size` (default 16384).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_frame_size: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// `udp://HOST:PORT`, `unix:///dev/log`, or `stderr`.
    pub target: String,
    /// `local0`..`local7`, `daemon`, `user`, ...
    pub facility: String,
    /// Lowest severity sent: `emerg` .. `debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCrashLimit {
    pub exits: u32,
    pub window: String,
    /// How long a restarted worker must serve before this node takes its VIPs back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rise: Option<String>,
}

/// Proxy mode, as HAProxy's `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawMode {
    Tcp,
    Http,
}

/// Balancing algorithm, as HAProxy's `balance`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawBalance {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawHashType {
    MapBased,
    Consistent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawLogFormat {
    Tcplog,
    Httplog,
}

/// Timeouts, each a duration string such as `"5s"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTimeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_keep_alive: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tarpit: Option<String>,
}

/// One proxy section. HAProxy has one proxy type with capabilities (frontend, backend or both);
/// so does this struct: `listen`, `frontend`, `backend` and `defaults` share it, and validation
/// rejects a field that the section cannot use (a `bind` in a backend, say).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProxy {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Each entry is an address string (`"*:80"`) or a struct with `addr` and `ssl`
    /// ([`RawBind`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bind: Vec<RawBind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RawMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<RawBalance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_type: Option<RawHashType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// Extra connection attempts after the first one fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// HAProxy's `option redispatch`: let the last retry go to another server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redispatch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abortonclose: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allbackups: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<RawTimeouts>,
    /// Whether connections are logged (HAProxy's `log global`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<RawLogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dontlognull: Option<bool>,
    /// HAProxy's `accept-proxy`: every client of this section's binds first sends a PROXY
    /// protocol header (v1 or v2); a connection without a valid one is closed after at most
    /// `timeout.client`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_proxy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_backend: Option<String>,
    /// Stick table on the client address (`stick on src`, keepalived `persistence_timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stick: Option<RawStick>,
    /// HAProxy's `stick-table`: a table named after this section that `track-sc` rules,
    /// `sc_*`/`src_*` fetches and `stick` rules use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stick_table: Option<RawStickTable>,
    /// HAProxy's `stick` rules without the word `stick`, in a backend or listen:
    /// `"on req.cook(JSESSIONID)"`, `"store-response res.cook(JSESSIONID)"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stick_rules: Vec<String>,
    /// Health check kind used by servers with `check` (HAProxy `option httpchk` etc.).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawHealthCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<RawServer>,
    /// L7 (`mode http`) settings from here on; see [`RawAcl`] and its neighbours.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acls: Vec<RawAcl>,
    /// `use_backend NAME if COND`: the first rule whose condition holds picks the backend.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub use_backend: Vec<RawUseBackend>,
    /// `tcp-request connection` rules in HAProxy's syntax, run on each connection before
    /// anything is allocated for it: `"reject if badnet"`, `"accept if { src 10.0.0.0/8 }"`.
    /// Their ACLs may use only layer-4 fetches (`src`, `src_port`, `dst`, `dst_port`, `fe_name`,
    /// `nbsrv(BACKEND)`, `always_true`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tcp_request_connection: Vec<String>,
    /// `tcp-request session` rules in HAProxy's syntax, run once a connection is a session:
    /// after a PROXY header (whose addresses they see), before any data. Layer-4 fetches only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tcp_request_session: Vec<String>,
    /// HAProxy's `tcp-request inspect-delay`: how long `tcp_request_content` rules may wait
    /// for the request's first bytes ("5s"); without it they decide on what is there at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_request_inspect_delay: Option<String>,
    /// `tcp-request content` rules in HAProxy's syntax (mode tcp frontends and listens):
    /// `"accept if { req.payload(0,1) -m bin 16 }"`, `"reject if { req.len gt 1000 }"`. They are
    /// evaluated again as data arrives until one decides or the inspect delay expires; their
    /// ACLs may also use `req.len`, `req.payload(OFFSET,LENGTH)` and
    /// `req.payload_lv(OFFSET1,LENGTH1[,OFFSET2])`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tcp_request_content: Vec<String>,
    /// HAProxy's `tcp-response inspect-delay` (backends and listens in mode tcp): how long
    /// `tcp_response_content` rules may hold the server's first bytes ("2s").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_response_inspect_delay: Option<String>,
    /// `tcp-response content` rules in HAProxy's syntax (backends and listens in mode tcp):
    /// `"reject if { res.payload(0,4) -m str -ERR }"`, `"close if { res.len gt 0 }"`. Evaluated
    /// when the server connection is established and again as its bytes arrive, until one
    /// decides or the inspect delay expires; their ACLs may use layer-4 fetches, `res.len`,
    /// `res.payload(OFFSET,LENGTH)` and `res.payload_lv(OFFSET1,LENGTH1[,OFFSET2])`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tcp_response_content: Vec<String>,
    /// `http-request` rules in HAProxy's syntax: `"deny deny_status 403 if bad"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_request: Vec<String>,
    /// `http-response` rules in HAProxy's syntax: `"set-header X-Served-By lb1"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_response: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<RawCookie>,
    /// `option forwardfor`: `forwardfor: ()` or `forwardfor: (except: "127.0.0.0/8")`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwardfor: Option<RawForwardFor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_connection: Option<RawHttpConnection>,
    /// `option persist`: a cookie naming a DOWN server still goes to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persist: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errorfiles: Vec<RawErrorFile>,
    /// HAProxy's `http-reuse`: which idle server connections a request may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_reuse: Option<RawHttpReuse>,
    /// `option prefer-last-server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefer_last_server: Option<bool>,
    /// keepalived's LVS `virtual_server`: the kernel balances this listen's VIP (nftables),
    /// hakeeper proxies nothing. Only in a `listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs: Option<RawLvs>,
}

/// keepalived's `lb_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawLvsKind {
    Nat,
    Dr,
    Tun,
}

/// keepalived's `protocol` of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawLvsProtocol {
    Tcp,
    Udp,
}

/// The LVS part of keepalived's `virtual_server` block; the servers, their weights and checks,
/// and the scheduler (`balance`) are the listen's own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLvs {
    /// `lb_kind`; default `nat` as in keepalived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<RawLvsKind>,
    /// DR/TUN: the interface of the segment shared with the real servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `persistence_timeout`: a client (see `persistence_granularity`) goes back to the same
    /// real server for this long after its last new connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_timeout: Option<String>,
    /// `persistence_granularity`: the netmask applied to the client address for persistence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_granularity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<RawLvsProtocol>,
    /// A DOWN real server keeps weight 0 (no new clients, persistent ones still go to it).
    #[serde(skip_serializing_if = "is_default")]
    pub inhibit_on_failure: bool,
    /// `IP:PORT` used when quorum is lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<String>,
    /// Least sum of the weights of the live real servers for the service to be up (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hysteresis: Option<u32>,
    /// Commands run when quorum is gained / lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_down: Option<String>,
}

/// `http-reuse never|safe|aggressive|always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawHttpReuse {
    Never,
    Safe,
    Aggressive,
    Always,
}

/// `acl NAME CRITERION`: `(name: "web", criterion: "hdr(host) -i www.abc.com")`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAcl {
    pub name: String,
    pub criterion: String,
}

/// `(backend: "webserver", cond: "if web")`; no `cond` = always.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUseBackend {
    pub backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cond: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawCookieMode {
    Insert,
    Prefix,
    Rewrite,
}

/// `cookie NAME insert indirect nocache`: `(name: "SERVERID", mode: insert, indirect: true, nocache: true)`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCookie {
    pub name: String,
    /// Absent: the cookie is only read (HAProxy's `cookie NAME` without a mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RawCookieMode>,
    #[serde(skip_serializing_if = "is_default")]
    pub indirect: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub nocache: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub preserve: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub httponly: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub secure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawForwardFor {
    /// Clients in this network get no header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// Header name instead of `X-Forwarded-For`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Only add the header when the request has none.
    #[serde(skip_serializing_if = "is_default")]
    pub if_none: bool,
}

/// `option http-keep-alive` / `http-server-close` / `httpclose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawHttpConnection {
    KeepAlive,
    ServerClose,
    Close,
}

/// `errorfile CODE FILE`: `(code: 503, file: "/etc/hakeeper/errors/503.http")`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawErrorFile {
    pub code: u16,
    pub file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStick {
    pub expire: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

/// `stick-table type KEY [len N] size N [expire T] [nopurge] [peers P] store …`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStickTable {
    pub key: RawStickKey,
    /// `len` of a `string` or `binary` key (default 32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<u32>,
    pub size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub nopurge: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peers: Option<String>,
    /// Data types as HAProxy writes them: `"conn_cur"`, `"http_req_rate(10s)"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub store: Vec<String>,
}

/// A stick table's key type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawStickKey {
    #[default]
    Ip,
    Ipv6,
    Integer,
    String,
    Binary,
}

/// How a backend's servers are checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawHealthCheck {
    Tcp,
    Http(RawHttpCheck),
    Mysql(RawMysqlCheck),
    /// A command per server (keepalived's MISC_CHECK, HAProxy's external-check).
    Script(RawScriptCheck),
}

/// `command` runs through `/bin/sh -c` as `script_user`, with HAProxy's external-check
/// variables set: HAPROXY_PROXY_NAME, HAPROXY_SERVER_NAME, HAPROXY_SERVER_ADDR,
/// HAPROXY_SERVER_PORT. Exit 0 passes; with `dynamic` (keepalived's `misc_dynamic`), 1 fails and
/// 2..255 pass with weight = code - 2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawScriptCheck {
    pub command: String,
    /// Default: the server's `inter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub dynamic: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHttpCheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// Any status from the first to the second (inclusive) passes: keepalived's HTTP_GET
    /// default is 200-299 (where HAProxy's is 2xx and 3xx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_status_range: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMysqlCheck {
    pub user: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub name: String,
    /// `IP:PORT`.
    pub addr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    #[serde(skip_serializing_if = "is_default")]
    pub backup: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub disabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Present = the server is health checked, with these timings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<RawCheck>,
    /// `pool-max-conn`: most idle connections kept to this server (absent: no limit; 0: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_max_conn: Option<u32>,
    /// `pool-purge-delay` (default 5s): idle connections unused this long are closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_purge_delay: Option<String>,
    /// `pool-low-conn`: idle connections each thread keeps to this server when purging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_low_conn: Option<u32>,
    /// `max-reuse`: most requests sent on one connection after its first (absent: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_reuse: Option<u32>,
    /// `send-proxy` (`v1`) / `send-proxy-v2` (`v2`): each connection to the server starts with
    /// a PROXY header carrying the client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_proxy: Option<RawProxyVersion>,
    /// `proxy-v2-options`: TLVs the version 2 header carries (`send_proxy: v2` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy_v2_options: Vec<RawProxyV2Option>,
    /// `check-send-proxy`: health checks start with a PROXY header too.
    #[serde(skip_serializing_if = "is_default")]
    pub check_send_proxy: bool,
    /// `ssl` and its settings: TLS towards the server (and its checks, see `check_ssl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl: Option<RawServerSsl>,
    /// `check-ssl` (`true`) / `no-check-ssl` (`false`): health checks over TLS. Absent: over TLS
    /// when `ssl` is enabled and the check port is the traffic port, as HAProxy decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_ssl: Option<bool>,
    /// `check-sni`: the server name sent in the TLS handshake of health checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_sni: Option<String>,
    /// LVS DR: the real server's MAC, when it is not to be taken from the neighbour table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// HAProxy's server-side TLS keywords (`ssl verify ca-file verifyhost sni crt alpn ssl-min-ver`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServerSsl {
    /// `false` (HAProxy's `no-ssl`): traffic stays plain; the settings serve `check_ssl` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `required` (the default, as HAProxy's) or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<RawVerify>,
    /// PEM file of the CAs the server's certificate must chain to; required with `verify: required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The name the certificate must carry when no SNI is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifyhost: Option<String>,
    /// The server name sent (and verified): `str(NAME)` or `req.hdr(NAME)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// PEM file with the client certificate (and its chain) and private key shown to the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crt: Option<String>,
    /// ALPN protocols offered, in order of preference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// Lowest TLS version offered: `TLSv1.2` (the default) or `TLSv1.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawVerify {
    Required,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawProxyVersion {
    V1,
    V2,
}

/// One `proxy-v2-options` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawProxyV2Option {
    Ssl,
    CertCn,
    SslCipher,
    CertSig,
    CertKey,
    Authority,
    Crc32c,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fastinter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downinter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
    /// Port to check when it differs from the traffic port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Health before the first check: `up` (HAProxy's behaviour, the default) or `down`
    /// (no traffic until `rise` checks pass, as keepalived's `alpha`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial: Option<RawInitialHealth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawInitialHealth {
    Up,
    Down,
}

/// The stats page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStats {
    /// An address, or a struct with `addr` and `ssl` to serve the page over TLS.
    pub bind: RawBind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// `(user, password)` pairs for basic auth.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub hide_version: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<RawStatsTimeouts>,
}

/// The stats page's timeouts, named as a frontend's.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStatsTimeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// keepalived's VRRP half.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawVrrp {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    /// Who scripts run as: `USER` or `USER:GROUP` (keepalived's `script_user USER [GROUP]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_user: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub enable_script_security: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp: Option<RawGarp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<RawVrrpScript>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<RawVrrpInstance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<RawSyncGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGarp {
    /// Gratuitous ARPs sent on becoming master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_repeat: Option<u32>,
    /// Delay before the second burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_delay: Option<String>,
    /// Periodic refresh while master; absent = off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_refresh: Option<String>,
    /// Spacing between packets of a burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

/// What a tracked script runs: a command, or a check built into hakeeper.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawBuiltinCheck {
    /// The local proxy worker is running and healthy (replaces `haproxy_check.sh`).
    ProxyAlive,
    /// At least `servers` servers of `backend` are UP: a host whose backends are unreachable
    /// should give up the VIP.
    MinServersUp { backend: String, servers: u32 },
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawVrrpScript {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin: Option<RawBuiltinCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
    /// This script's own user, `USER` or `USER:GROUP`, instead of `script_user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawVrrpState {
    Master,
    Backup,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawVrrpAuth {
    None,
    Pass(String),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTrackScript {
    pub script: String,
    /// Overrides the script's own weight for this instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawVrrpInstance {
    pub name: String,
    pub interface: String,
    pub vrid: u32,
    pub priority: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<RawVrrpState>,
    /// VRRP version 2 or 3; default 2 as keepalived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preempt_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advert_int: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<RawVrrpAuth>,
    pub vips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track: Vec<RawTrackScript>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_src_ip: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unicast_peers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// What the instance does while the local proxy is down; absent = `fault`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_down: Option<RawProxyDown>,
    /// VRRPv3 over IPv4: checksum with the IPv4 pseudo-header (RFC 5798, keepalived); `false`
    /// for routers that omit it (Cisco, old FRR). Absent = true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v3_checksum_pseudo_header: Option<bool>,
    /// Whether this router and its one peer are the only two in the virtual router. A backup
    /// of a pair takes over at once on the master's priority-0 advert instead of after
    /// Skew_Time (RFC 5798 §6.4.2), since no other backup can be waiting to win. Absent = true
    /// with exactly one `unicast_peers` entry, false otherwise (multicast, or several peers);
    /// `true` with several unicast peers is an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<bool>,
}

/// An instance's reaction to `ProxyDown` (the local proxy worker keeps dying or cannot start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawProxyDown {
    /// Enter FAULT: priority-0 adverts, VIPs released.
    Fault,
    /// Lower the priority by this much (1..=253) while the proxy is down.
    Weight(i32),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSyncGroup {
    pub name: String,
    pub instances: Vec<String>,
}

/// Active-active: hakeeper holds the VIPs on an interface of its own while this host may carry
/// them; a routing daemon exports that interface's addresses by BGP (BIRD's `direct` protocol,
/// FRR's `redistribute connected`). No BGP speaker of hakeeper's own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAnnounce {
    /// The device vrrpd creates for the announced VIPs (default `hk-announce`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Addresses announced, each a /32 or /128.
    pub vips: Vec<String>,
    /// Backends that must each have at least so many servers UP for this host to announce.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub min_servers_up: Vec<RawMinServersUp>,
    /// On stop, how long the worker keeps serving after the withdrawal before it drains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdraw_wait: Option<String>,
    /// Whether vrrpd also keeps the VIPs on `lo`, so this host accepts on them while withdrawn
    /// (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_on_lo: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMinServersUp {
    pub backend: String,
    pub servers: u32,
}

/// One `bind` of a proxy: written as the address alone (`"*:80"`), or as this struct when it
/// has options (`(addr: "*:443", ssl: (crt: ["/etc/hakeeper/site.pem"]))`). Its serde
/// implementations (both forms) are in `bind_form.rs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawBind {
    pub addr: String,
    /// TLS termination on this bind (HAProxy `bind … ssl`).
    pub ssl: Option<RawBindSsl>,
    /// The protocol spoken on this bind whatever ALPN says (HAProxy `bind … proto`).
    pub proto: Option<RawBindProto>,
}

/// HAProxy's `proto` of a `bind`: the multiplexer used on its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawBindProto {
    /// HTTP/1.1 (`proto h1`).
    H1,
    /// HTTP/2 with prior knowledge (`proto h2`).
    H2,
}

/// HAProxy's `ssl` options of a `bind`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBindSsl {
    /// Certificate files (PEM: chain and key) or directories (every certificate in them); the
    /// first certificate loaded is the default one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crt_list: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphers: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphersuites: Option<String>,
    /// Key exchange groups, OpenSSL names separated by `:` (HAProxy `curves`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curves: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<RawClientVerify>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickets: Option<bool>,
}

/// Client certificates on a TLS bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RawClientVerify {
    None,
    Optional,
    Required,
}
