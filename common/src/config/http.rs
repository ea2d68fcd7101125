//! The validated layer-7 settings of `mode http` proxies: their ACLs (see [`super::acl`]),
//! `use_backend` rules, `http-request` / `http-response` rules, cookie persistence,
//! `option forwardfor`, the connection mode and `errorfile` responses.
//!
//! They live in [`HttpConfig`], beside `Config::frontends` / `Config::backends` and indexed the
//! same way, so that the L4 structs keep their shape.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The L7 settings of every proxy: `frontends[i]` belongs to `Config::frontends[i]`, and
/// `backends[j]` to `Config::backends[j]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpConfig {
    pub frontends: Vec<FrontendHttp>,
    pub backends: Vec<BackendHttp>,
    /// Every section's `stick_table`, named after its section.
    #[serde(default)]
    pub stick_tables: Vec<super::stick_table::StickTableDef>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrontendHttp {
    /// Named, predefined and anonymous ACLs that this frontend's conditions refer to by index.
    pub acls: Vec<Acl>,
    pub use_backend: Vec<UseBackend>,
    pub request_rules: Vec<HttpRule<RequestAction>>,
    pub response_rules: Vec<HttpRule<ResponseAction>>,
    pub forwardfor: Option<ForwardFor>,
    pub connection: HttpConnMode,
    pub errorfiles: Vec<ErrorFile>,
    /// For a `listen`: the backend made from the same section. Its rules are these very rules,
    /// which must not run twice when the request stays in it.
    pub listen_backend: Option<usize>,
    /// How long `http-request tarpit` in this section's rules holds a client (`timeout tarpit`,
    /// else `timeout connect`).
    #[serde(default)]
    pub timeout_tarpit: std::time::Duration,
    /// `tcp-request connection` rules (any mode), run on each accepted connection before
    /// anything is allocated for it.
    #[serde(default)]
    pub tcp_connection: Vec<super::tcp::TcpRule>,
    /// `tcp-request session` rules (any mode), run after the PROXY header if any, before data.
    #[serde(default)]
    pub tcp_session: Vec<super::tcp::TcpRule>,
    /// `tcp-request content` rules (mode tcp), evaluated as the request's first bytes arrive.
    #[serde(default)]
    pub tcp_content: Vec<super::tcp::TcpRule>,
    /// `tcp-request inspect-delay`: how long content rules may wait for data (zero: they
    /// decide at once on what has arrived).
    #[serde(default)]
    pub inspect_delay: std::time::Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackendHttp {
    pub acls: Vec<Acl>,
    /// `stick match|on|store-request|store-response` rules, in order.
    #[serde(default)]
    pub stick_rules: Vec<super::stick_rule::StickRule>,
    pub request_rules: Vec<HttpRule<RequestAction>>,
    pub response_rules: Vec<HttpRule<ResponseAction>>,
    pub forwardfor: Option<ForwardFor>,
    pub connection: HttpConnMode,
    pub errorfiles: Vec<ErrorFile>,
    pub cookie: Option<CookiePersistence>,
    /// `option persist`: a cookie naming a DOWN server still goes to it.
    pub persist: bool,
    /// How long `http-request tarpit` in this backend's rules holds a client (`timeout tarpit`,
    /// else `timeout connect`).
    #[serde(default)]
    pub timeout_tarpit: std::time::Duration,
    /// `timeout tunnel`: the inactivity timeout of both sides once the connection is a tunnel
    /// (after `101 Switching Protocols`); `None`: the client and server timeouts apply.
    #[serde(default)]
    pub timeout_tunnel: Option<std::time::Duration>,
    #[serde(default)]
    pub reuse: HttpReuse,
    /// `option prefer-last-server`: a request goes back to the server the client's previous
    /// request used while the session still holds a connection to it.
    #[serde(default)]
    pub prefer_last_server: bool,
    /// `tcp-response content` rules (mode tcp backends and listens), evaluated as the server's
    /// first bytes arrive, before they are forwarded.
    #[serde(default)]
    pub tcp_response: Vec<super::tcp::TcpRule>,
    /// `tcp-response inspect-delay`: how long those rules may hold the response (zero: they
    /// decide at once, when the server connection is established).
    #[serde(default)]
    pub response_inspect_delay: std::time::Duration,
}

/// HAProxy's `http-reuse`: which idle server connections a request may be sent over. An idle
/// connection is "safe" once it has carried a request that was not its first (it proved the
/// server keeps connections alive), else it is merely "idle".
///
/// | mode | first request of a client connection | later requests |
/// | --- | --- | --- |
/// | never | a connection of its own | the session's own connection only |
/// | safe | safe, else a new connection | idle, else safe |
/// | aggressive | safe only | idle, else safe |
/// | always | safe, else idle | idle, else safe |
///
/// HAProxy 2.6's `safe` sends a first request over a new connection even when a safe one is
/// idle; hakeeper's lets it take a safe one, as `aggressive` does (see KNOWN-DIFFERENCES.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpReuse {
    Never,
    #[default]
    Safe,
    Aggressive,
    Always,
}

/// HAProxy's `option http-keep-alive` (default), `option http-server-close`, `option httpclose`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HttpConnMode {
    #[default]
    KeepAlive,
    ServerClose,
    Close,
}

impl HttpConnMode {
    /// The mode in force for a frontend/backend pair: the more closing of the two, as HAProxy
    /// combines the options of both proxies.
    pub fn combine(self, other: HttpConnMode) -> HttpConnMode {
        self.max(other)
    }
}

pub use super::acl::{Acl, AclRef, AclTest, Cond, TlsFetch};
pub use super::pattern::{IpNet, StrMatch, StrMatcher};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseBackend {
    /// Index into `Config::backends`.
    pub backend: usize,
    pub cond: Option<Cond>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRule<A> {
    pub action: A,
    pub cond: Option<Cond>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestAction {
    /// Stops evaluating the http-request rules; the request goes on.
    Allow,
    /// Answers with the error response for `status` (403 by default).
    Deny {
        status: u16,
    },
    /// `tarpit [deny_status N]`: holds the client for the section's `timeout tarpit`, then
    /// answers with the error response for `status` (500 by default).
    Tarpit {
        status: u16,
    },
    Redirect(Redirect),
    /// `track-scN KEY [table T]`: the request is counted in the key's entry.
    Track(super::stick_syntax::Track),
    /// `sc-inc-gpc0(N)`: adds one to gpc0 (and its rate) of the entry tracked on counter N.
    ScIncGpc0 {
        sc: u8,
    },
    /// `sc-set-gpt0(N) VALUE`: sets gpt0 of the entry tracked on counter N.
    ScSetGpt0 {
        sc: u8,
        value: i64,
    },
    SetHeader {
        name: String,
        value: String,
    },
    AddHeader {
        name: String,
        value: String,
    },
    DelHeader {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseAction {
    Allow,
    /// Replaces the server's response with the error response for `status` (502 by default).
    Deny {
        status: u16,
    },
    SetHeader {
        name: String,
        value: String,
    },
    AddHeader {
        name: String,
        value: String,
    },
    DelHeader {
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedirectKind {
    /// `Location:` is the target as written.
    Location,
    /// The target followed by the request's URI.
    Prefix,
    /// `target://host` followed by the request's URI.
    Scheme,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub target: String,
    /// 301, 302 (default), 303, 307 or 308.
    pub code: u16,
    pub drop_query: bool,
    pub append_slash: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CookieMode {
    /// `insert`: the proxy sets the cookie on responses.
    Insert,
    /// `prefix`: the server's own cookie carries `SERVER~` in front of its value.
    Prefix,
    /// `rewrite`: the server sets the cookie and the proxy rewrites its value.
    Rewrite,
    /// No mode keyword: the cookie is only read.
    Passive,
}

/// `cookie NAME insert|prefix|rewrite [indirect] [nocache] [preserve] [httponly] [secure] [domain D]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookiePersistence {
    pub name: String,
    pub mode: CookieMode,
    pub indirect: bool,
    pub nocache: bool,
    pub preserve: bool,
    pub httponly: bool,
    pub secure: bool,
    pub domain: Option<String>,
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardFor {
    pub except: Option<IpNet>,
    /// `X-Forwarded-For` unless set.
    pub header: String,
    pub if_none: bool,
}

/// `errorfile CODE FILE`: a complete raw HTTP response sent instead of the built-in one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFile {
    pub code: u16,
    pub path: PathBuf,
    /// The config field it came from (`defaults.errorfiles[0].file`), for messages.
    pub field: String,
    /// The file's bytes, once [`super::errorfile::read_errorfiles`] has run (they may be none:
    /// `/dev/null`).
    pub response: Option<Vec<u8>>,
}

/// Status codes HAProxy 2.6 accepts in `errorfile` and `deny_status`, plus 431.
pub const ERROR_CODES: &[u16] = &[200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 431, 500, 501, 502, 503, 504];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses() {
        let net = IpNet { addr: "10.1.0.0".parse().unwrap(), prefix_len: 16 };
        assert!(net.contains("10.1.255.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let all = IpNet { addr: "0.0.0.0".parse().unwrap(), prefix_len: 0 };
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        let v6 = IpNet { addr: "2001:db8::".parse().unwrap(), prefix_len: 32 };
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    }

    #[test]
    fn the_more_closing_mode_wins() {
        assert_eq!(HttpConnMode::KeepAlive.combine(HttpConnMode::Close), HttpConnMode::Close);
        assert_eq!(HttpConnMode::ServerClose.combine(HttpConnMode::KeepAlive), HttpConnMode::ServerClose);
    }
}
