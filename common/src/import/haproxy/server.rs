//! `server` and `default-server` lines: the address and the parameters RawServer can hold;
//! everything else is listed in one warning per line.

use crate::config::raw::{RawCheck, RawProxyV2Option, RawProxyVersion, RawServer, RawServerSsl, RawVerify};
use crate::import::units::{haproxy_time, number};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Server parameters, as given by `default-server` and overridden by `server`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerParams {
    pub weight: Option<u32>,
    pub maxconn: Option<u32>,
    pub backup: bool,
    pub disabled: bool,
    pub cookie: Option<String>,
    pub id: Option<u32>,
    pub check: bool,
    pub inter: Option<String>,
    pub fastinter: Option<String>,
    pub downinter: Option<String>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub port: Option<u16>,
    pub pool_max_conn: Option<u32>,
    pub pool_purge_delay: Option<String>,
    pub pool_low_conn: Option<u32>,
    pub max_reuse: Option<u32>,
    /// `send-proxy` / `send-proxy-v2` (v2 wins when both are set, as in HAProxy's
    /// `make_proxy_line()`).
    pub send_proxy_v1: bool,
    pub send_proxy_v2: bool,
    pub check_send_proxy: bool,
    /// `proxy-v2-options`, `send-proxy-v2-ssl`, `send-proxy-v2-ssl-cn`.
    pub proxy_v2: crate::proxy_protocol::V2Options,
    /// `ssl` / `no-ssl`.
    pub ssl: Option<bool>,
    pub verify: Option<RawVerify>,
    pub ca_file: Option<String>,
    pub verifyhost: Option<String>,
    pub sni: Option<String>,
    pub crt: Option<String>,
    pub alpn: Option<Vec<String>>,
    pub ssl_min_ver: Option<String>,
    /// `check-ssl` / `no-check-ssl`.
    pub check_ssl: Option<bool>,
    pub check_sni: Option<String>,
}

/// TLS settings of `global` that servers inherit: `ssl-server-verify`, the minimum version of
/// `ssl-default-server-options ssl-min-ver`, and the directories of relative `ca-file`/`crt`
/// paths (`ca-base`, `crt-base`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsGlobals {
    pub verify: Option<RawVerify>,
    pub min_ver: Option<String>,
    pub ca_base: Option<String>,
    pub crt_base: Option<String>,
    /// Global TLS directives for servers that cannot be kept (line, directive, why): lossy once a
    /// server uses TLS, ordinary warnings otherwise.
    pub lossy: Vec<(usize, String, &'static str)>,
}

/// Why a global `ssl-default-server-*` setting cannot be kept, or `None` when it is translated.
pub fn global_tls_why(kw: &str) -> &'static str {
    match kw {
        "ssl-default-server-ciphers"
        | "ssl-default-server-ciphersuites"
        | "ssl-default-server-curves"
        | "ssl-default-server-sigalgs"
        | "ssl-default-server-client-sigalgs" => tls_lossy_why("ciphers"),
        _ => "hakeeper has no equivalent",
    }
}

/// `ssl-default-server-options`: the version options translate, the others are lossy.
pub fn default_server_options(g: &mut TlsGlobals, n: usize, words: &[String]) {
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "no-sslv3" | "no-tlsv10" | "no-tlsv11" | "ssl-reuse" | "tls-tickets" => {}
            "no-tlsv12" | "force-tlsv13" => g.min_ver = Some("TLSv1.3".into()),
            "ssl-min-ver" => {
                i += 1;
                match words.get(i).map(String::as_str) {
                    Some("TLSv1.3") => g.min_ver = Some("TLSv1.3".into()),
                    Some("SSLv3" | "TLSv1.0" | "TLSv1.1" | "TLSv1.2") => {}
                    other => g.lossy.push((
                        n,
                        format!("ssl-default-server-options ssl-min-ver {}", other.unwrap_or_default()),
                        "unknown TLS version",
                    )),
                }
            }
            "ssl-max-ver" => {
                i += 1;
                let v = words.get(i).map(String::as_str).unwrap_or_default();
                if v != "TLSv1.3" {
                    g.lossy.push((n, format!("ssl-default-server-options ssl-max-ver {v}"), tls_lossy_why("ssl-max-ver")));
                }
            }
            _ => g.lossy.push((n, format!("ssl-default-server-options {w}"), tls_lossy_why(w))),
        }
        i += 1;
    }
}

/// Server TLS keywords hakeeper cannot honour: dropping them would weaken or change the
/// encryption towards the server, so the import fails on them (a lossy warning).
const TLS_LOSSY_WITH_VALUE: &[&str] =
    &["ciphers", "ciphersuites", "crl-file", "ssl-max-ver", "curves", "sigalgs", "client-sigalgs", "npn", "check-alpn"];
const TLS_LOSSY_FLAGS: &[&str] = &["force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "no-tlsv13"];

/// Why a TLS keyword cannot be kept.
fn tls_lossy_why(kw: &str) -> &'static str {
    match kw {
        "crl-file" => "hakeeper does not check revocation lists: revoked server certificates would be accepted",
        "ciphers" | "ciphersuites" | "curves" | "sigalgs" | "client-sigalgs" => {
            "hakeeper offers rustls' fixed set of algorithms and cannot restrict them as configured"
        }
        "force-sslv3" | "force-tlsv10" | "force-tlsv11" => "hakeeper speaks TLSv1.2 and TLSv1.3 only",
        "force-tlsv12" | "no-tlsv13" | "ssl-max-ver" => "hakeeper cannot cap the TLS version below TLSv1.3",
        _ => "hakeeper has no equivalent",
    }
}

impl ServerParams {
    fn has_timings(&self) -> bool {
        self.inter.is_some() || self.fastinter.is_some() || self.downinter.is_some() || self.rise.is_some() || self.fall.is_some()
    }
}

/// Server keywords without an argument that are not translated (so that the word after them is
/// not taken for their argument).
const FLAGS: &[&str] = &[
    "agent-check",
    "no-agent-check",
    "allow-0rtt",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-tlsv13",
    "no-ssl-reuse",
    "no-tls-tickets",
    "non-stick",
    "stick",
    "ssl-reuse",
    "tfo",
    "no-tfo",
    "tls-tickets",
];

/// What one `server`/`default-server` line left untranslated, and notes about it.
#[derive(Debug, Default)]
pub struct ParseOutcome {
    pub untranslated: Vec<String>,
    pub errors: Vec<String>,
    /// TLS keywords (with their value) whose loss weakens encryption, and why they are lost.
    pub lossy: Vec<(String, &'static str)>,
}

/// Reads the parameters after the address into `p`.
pub fn parse_params(p: &mut ServerParams, words: &[String], allow_server_only: bool) -> ParseOutcome {
    let mut out = ParseOutcome::default();
    let mut i = 0;
    while i < words.len() {
        let kw = words[i].as_str();
        let arg = words.get(i + 1).map(String::as_str);
        let mut used = 1;
        let needs_arg = |out: &mut ParseOutcome| {
            if arg.is_none() {
                out.errors.push(format!("`{kw}` needs a value"));
            }
        };
        match kw {
            "backup" => p.backup = true,
            "no-backup" => p.backup = false,
            "disabled" => p.disabled = true,
            "enabled" => p.disabled = false,
            "check" => p.check = true,
            "no-check" => p.check = false,
            "send-proxy" => p.send_proxy_v1 = true,
            "no-send-proxy" => p.send_proxy_v1 = false,
            "send-proxy-v2" => p.send_proxy_v2 = true,
            "no-send-proxy-v2" => p.send_proxy_v2 = false,
            "check-send-proxy" => p.check_send_proxy = true,
            // HAProxy's `srv_parse_send_proxy_v2_ssl[_cn]()`: version 2 with the SSL TLV (and
            // the client certificate's CN).
            "send-proxy-v2-ssl" => {
                p.send_proxy_v2 = true;
                p.proxy_v2.ssl = true;
            }
            "send-proxy-v2-ssl-cn" => {
                p.send_proxy_v2 = true;
                p.proxy_v2.ssl = true;
                p.proxy_v2.cert_cn = true;
            }
            "no-send-proxy-v2-ssl" => p.proxy_v2.ssl = false,
            "no-send-proxy-v2-ssl-cn" => p.proxy_v2.cert_cn = false,
            "proxy-v2-options" => {
                needs_arg(&mut out);
                used = 2;
                for opt in arg.unwrap_or_default().split(',') {
                    match opt {
                        "ssl" => p.proxy_v2.ssl = true,
                        "cert-cn" => p.proxy_v2.cert_cn = true,
                        "ssl-cipher" => p.proxy_v2.ssl_cipher = true,
                        "cert-sig" => p.proxy_v2.cert_sig = true,
                        "cert-key" => p.proxy_v2.cert_key = true,
                        "authority" => p.proxy_v2.authority = true,
                        "crc32c" => p.proxy_v2.crc32c = true,
                        // It needs `unique-id-format`, which hakeeper does not have.
                        "unique-id" => out.untranslated.push("proxy-v2-options unique-id".into()),
                        other => out.errors.push(format!("`proxy-v2-options {other}`: not a proxy v2 option (HAProxy refuses it too)")),
                    }
                }
            }
            "ssl" => p.ssl = Some(true),
            "no-ssl" => p.ssl = Some(false),
            "check-ssl" => p.check_ssl = Some(true),
            "no-check-ssl" => p.check_ssl = Some(false),
            "no-verifyhost" => p.verifyhost = None,
            // hakeeper never offers these versions anyway.
            "no-sslv3" | "no-tlsv10" | "no-tlsv11" => {}
            "no-tlsv12" | "force-tlsv13" => p.ssl_min_ver = Some("TLSv1.3".into()),
            _ if TLS_LOSSY_FLAGS.contains(&kw) => out.lossy.push((kw.to_string(), tls_lossy_why(kw))),
            _ if TLS_LOSSY_WITH_VALUE.contains(&kw) => {
                used = 2;
                out.lossy.push((format!("{kw} {}", arg.unwrap_or_default()), tls_lossy_why(kw)));
            }
            "verify" | "ca-file" | "verifyhost" | "sni" | "crt" | "alpn" | "ssl-min-ver" | "check-sni" => {
                needs_arg(&mut out);
                used = 2;
                if let Some(v) = arg {
                    match set_tls(p, kw, v) {
                        Ok(()) => {}
                        Err(why) => out.lossy.push((format!("{kw} {v}"), why)),
                    }
                }
            }
            "weight" | "maxconn" | "id" | "rise" | "fall" | "port" | "cookie" | "inter" | "fastinter" | "downinter" | "pool-max-conn"
            | "pool-purge-delay" | "pool-low-conn" | "max-reuse" => {
                needs_arg(&mut out);
                used = 2;
                if let Some(v) = arg {
                    if let Err(e) = set_valued(p, kw, v, allow_server_only) {
                        out.errors.push(e);
                    }
                }
            }
            _ if FLAGS.contains(&kw) => out.untranslated.push(kw.to_string()),
            _ => {
                // Untranslated keyword with a value (or an unknown word): keep both in the message.
                match arg {
                    Some(v) if !is_known(v) => {
                        out.untranslated.push(format!("{kw} {v}"));
                        used = 2;
                    }
                    _ => out.untranslated.push(kw.to_string()),
                }
            }
        }
        i += used;
    }
    out
}

fn is_known(word: &str) -> bool {
    FLAGS.contains(&word)
        || TLS_LOSSY_FLAGS.contains(&word)
        || TLS_LOSSY_WITH_VALUE.contains(&word)
        || matches!(
            word,
            "ssl"
                | "no-ssl"
                | "check-ssl"
                | "no-check-ssl"
                | "no-verifyhost"
                | "no-sslv3"
                | "no-tlsv10"
                | "no-tlsv11"
                | "no-tlsv12"
                | "force-tlsv13"
                | "verify"
                | "ca-file"
                | "verifyhost"
                | "sni"
                | "crt"
                | "alpn"
                | "ssl-min-ver"
                | "check-sni"
        )
        || matches!(
            word,
            "backup"
                | "no-backup"
                | "disabled"
                | "enabled"
                | "check"
                | "no-check"
                | "send-proxy"
                | "no-send-proxy"
                | "send-proxy-v2"
                | "no-send-proxy-v2"
                | "check-send-proxy"
                | "send-proxy-v2-ssl"
                | "send-proxy-v2-ssl-cn"
                | "no-send-proxy-v2-ssl"
                | "no-send-proxy-v2-ssl-cn"
                | "proxy-v2-options"
                | "weight"
                | "maxconn"
                | "id"
                | "rise"
                | "fall"
                | "port"
                | "cookie"
                | "inter"
                | "fastinter"
                | "downinter"
                | "pool-max-conn"
                | "pool-purge-delay"
                | "pool-low-conn"
                | "max-reuse"
        )
}

fn set_valued(p: &mut ServerParams, kw: &str, v: &str, allow_server_only: bool) -> Result<(), String> {
    match kw {
        "weight" => p.weight = Some(number(v, "weight")?),
        "maxconn" => p.maxconn = Some(number(v, "maxconn")?),
        "rise" => p.rise = Some(number(v, "rise")?),
        "fall" => p.fall = Some(number(v, "fall")?),
        "port" => p.port = Some(number(v, "port")?),
        "inter" => p.inter = Some(haproxy_time(v)?),
        "fastinter" => p.fastinter = Some(haproxy_time(v)?),
        "downinter" => p.downinter = Some(haproxy_time(v)?),
        // -1 is HAProxy's "no limit".
        "pool-max-conn" => p.pool_max_conn = unlimited_or(v, kw)?,
        "max-reuse" => p.max_reuse = unlimited_or(v, kw)?,
        "pool-low-conn" => p.pool_low_conn = Some(number(v, kw)?),
        "pool-purge-delay" => p.pool_purge_delay = Some(haproxy_time(v)?),
        "id" | "cookie" if !allow_server_only => return Err(format!("`{kw}` is not allowed on default-server")),
        "id" => p.id = Some(number(v, "id")?),
        _ => p.cookie = Some(v.to_string()),
    }
    Ok(())
}

/// The server TLS keywords with a value that translate; `Err` says why one cannot.
fn set_tls(p: &mut ServerParams, kw: &str, v: &str) -> Result<(), &'static str> {
    match kw {
        "verify" => {
            p.verify = Some(match v {
                "required" => RawVerify::Required,
                "none" => RawVerify::None,
                _ => return Err("verify takes `none` or `required`"),
            })
        }
        "ca-file" => p.ca_file = Some(v.to_string()),
        "verifyhost" => p.verifyhost = Some(v.to_string()),
        "sni" => {
            let supported = ["str(", "req.hdr(", "hdr("].iter().any(|f| v.starts_with(f)) && v.ends_with(')') && !v.contains(',');
            if !supported {
                return Err("hakeeper's sni is str(NAME) or req.hdr(NAME); this expression is not translated");
            }
            p.sni = Some(v.to_string());
        }
        "crt" => p.crt = Some(v.to_string()),
        // hakeeper speaks HTTP/1.x to servers: h2 is not offered (HAProxy would use it if the
        // server picked it; the server then gets HTTP/1.1, which any h2 server also speaks).
        "alpn" => {
            let offered: Vec<String> = v.split(',').filter(|p| !p.is_empty() && *p != "h2").map(String::from).collect();
            if offered.is_empty() {
                return Err("hakeeper speaks HTTP/1.x to servers and cannot offer only h2");
            }
            p.alpn = Some(offered);
        }
        "ssl-min-ver" => match v {
            "SSLv3" | "TLSv1.0" | "TLSv1.1" | "TLSv1.2" => p.ssl_min_ver = None,
            "TLSv1.3" => p.ssl_min_ver = Some(v.to_string()),
            _ => return Err("unknown TLS version"),
        },
        _ => p.check_sni = Some(v.to_string()),
    }
    Ok(())
}

/// A count where HAProxy's -1 means "no limit" (`None`).
fn unlimited_or(v: &str, kw: &str) -> Result<Option<u32>, String> {
    if v == "-1" {
        return Ok(None);
    }
    number(v, kw).map(Some)
}

/// A server's address as RawServer wants it (`IP:PORT`), or why it cannot be.
pub enum Address {
    Exact(String),
    /// Resolved or completed by the importer; the note says how.
    Approximated(String, String),
    Invalid(String),
}

/// Translates `ADDR[:PORT]`; `bind_port` is the section's only listening port, which HAProxy
/// uses when a server has no port.
pub fn address(text: &str, bind_port: Option<u16>) -> Address {
    let t = text.strip_prefix("ipv4@").or_else(|| text.strip_prefix("ipv6@")).unwrap_or(text);
    if t.starts_with('/') || t.contains('@') {
        return Address::Invalid(format!("address {text:?} is not a TCP address; hakeeper servers are IP:PORT"));
    }
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Address::Exact(sa.to_string());
    }
    let (host, port) = split_host_port(t);
    let no_port = |ip: IpAddr| match bind_port {
        // HAProxy connects to the port the client connected to.
        Some(port) => Address::Approximated(
            SocketAddr::new(ip, port).to_string(),
            format!("address {text:?} has no port: HAProxy uses the port the client connected to, translated as {port}"),
        ),
        None => Address::Invalid(format!(
            "address {text:?} has no port: HAProxy uses the port the client connected to, which hakeeper cannot do"
        )),
    };
    let port: Option<u16> = match port {
        None | Some("") => None,
        // HAProxy's `+N`/`-N` are offsets from the client's port, not ports.
        Some(p) => match p.parse().ok().filter(|_| p.bytes().all(|b| b.is_ascii_digit())) {
            Some(p) => Some(p),
            None => {
                return Address::Invalid(format!("address {text:?}: port {p:?} is not a number (offsets and ranges are not translated)"))
            }
        },
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match port {
            Some(port) => Address::Exact(SocketAddr::new(ip, port).to_string()),
            None => no_port(ip),
        };
    }
    let Some(port) = port else {
        return Address::Invalid(format!("address {text:?} has no port"));
    };
    // A host name: HAProxy resolves it at start-up (libc); the importer resolves it now.
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            match addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()) {
                Some(a) => Address::Approximated(
                    a.to_string(),
                    format!("host name {host:?} resolved now to {}; HAProxy resolves it each time it starts", a.ip()),
                ),
                None => Address::Invalid(format!("host name {host:?} does not resolve")),
            }
        }
        Err(e) => Address::Invalid(format!("host name {host:?} does not resolve: {e}")),
    }
}

/// Splits `HOST[:PORT]` as HAProxy does: `[v6]:port`, or else at the last colon (so `:::80` is
/// IPv6 any, port 80).
pub fn split_host_port(t: &str) -> (&str, Option<&str>) {
    if let Some(rest) = t.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (t, None),
        };
    }
    match t.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (t, None),
    }
}

/// Builds the RawServer; returns a lint when check timings are given without `check`.
/// The server's `ssl` section, when its traffic or its checks use TLS (TLS keywords without
/// `ssl` or `check-ssl`, often from `default-server`, configure nothing HAProxy uses).
fn build_ssl(p: &ServerParams, g: &TlsGlobals) -> Option<RawServerSsl> {
    if p.ssl != Some(true) && p.check_ssl != Some(true) {
        return None;
    }
    let based = |path: &Option<String>, base: &Option<String>| {
        path.as_ref().map(|f| match base {
            // HAProxy's `ca-base`/`crt-base` prefix relative paths.
            Some(b) if !f.starts_with('/') && f != "@system-ca" => format!("{}/{f}", b.trim_end_matches('/')),
            _ => f.clone(),
        })
    };
    Some(RawServerSsl {
        enabled: (p.ssl != Some(true)).then_some(false),
        verify: p.verify.or(g.verify),
        ca_file: based(&p.ca_file, &g.ca_base),
        verifyhost: p.verifyhost.clone(),
        sni: p.sni.clone(),
        crt: based(&p.crt, &g.crt_base),
        alpn: p.alpn.clone().unwrap_or_default(),
        min_version: p.ssl_min_ver.clone().or_else(|| g.min_ver.clone()),
    })
}

pub fn build(name: &str, addr: String, p: &ServerParams, g: &TlsGlobals) -> (RawServer, Option<String>) {
    let check = p.check.then(|| RawCheck {
        inter: p.inter.clone(),
        fastinter: p.fastinter.clone(),
        downinter: p.downinter.clone(),
        rise: p.rise,
        fall: p.fall,
        port: p.port,
        initial: None,
    });
    let lint = (!p.check && p.has_timings())
        .then(|| format!("server {name} has check timings but no `check`: HAProxy does not check it either, so they are dropped"));
    let server = RawServer {
        name: name.to_string(),
        addr,
        id: p.id,
        weight: p.weight,
        maxconn: p.maxconn,
        backup: p.backup,
        disabled: p.disabled,
        cookie: p.cookie.clone(),
        check,
        pool_max_conn: p.pool_max_conn,
        pool_purge_delay: p.pool_purge_delay.clone(),
        pool_low_conn: p.pool_low_conn,
        max_reuse: p.max_reuse,
        send_proxy: if p.send_proxy_v2 { Some(RawProxyVersion::V2) } else { p.send_proxy_v1.then_some(RawProxyVersion::V1) },
        proxy_v2_options: if p.send_proxy_v2 { proxy_v2_options(&p.proxy_v2) } else { Vec::new() },
        check_send_proxy: p.check_send_proxy,
        ssl: build_ssl(p, g),
        check_ssl: p.check_ssl,
        check_sni: p.check_sni.clone(),
        mac: None,
    };
    (server, lint)
}

/// The native words for `proxy-v2-options` (none without `send-proxy-v2`, where HAProxy sends
/// no TLV either).
fn proxy_v2_options(o: &crate::proxy_protocol::V2Options) -> Vec<RawProxyV2Option> {
    [
        (o.ssl, RawProxyV2Option::Ssl),
        (o.cert_cn, RawProxyV2Option::CertCn),
        (o.ssl_cipher, RawProxyV2Option::SslCipher),
        (o.cert_sig, RawProxyV2Option::CertSig),
        (o.cert_key, RawProxyV2Option::CertKey),
        (o.authority, RawProxyV2Option::Authority),
        (o.crc32c, RawProxyV2Option::Crc32c),
    ]
    .into_iter()
    .filter_map(|(on, w)| on.then_some(w))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn seed_server_parameters() {
        let mut p = ServerParams::default();
        let out = parse_params(&mut p, &w("cookie 1 weight 5 check inter 2000 rise 2 fall 3"), true);
        assert!(out.untranslated.is_empty() && out.errors.is_empty());
        let (s, lint) = build("web1", "10.0.0.1:8066".into(), &p, &TlsGlobals::default());
        assert!(lint.is_none());
        assert_eq!(s.cookie.as_deref(), Some("1"));
        assert_eq!(s.weight, Some(5));
        let c = s.check.unwrap();
        assert_eq!((c.inter.as_deref(), c.rise, c.fall), (Some("2s"), Some(2), Some(3)));
    }

    #[test]
    fn untranslated_options_are_listed_with_their_values() {
        let mut p = ServerParams::default();
        let out = parse_params(&mut p, &w("check tfo slowstart 10s backup observe layer4 maxconn 7"), true);
        assert_eq!(out.untranslated, ["tfo", "slowstart 10s", "observe layer4"]);
        assert!(p.backup && p.check);
        assert_eq!(p.maxconn, Some(7));
    }

    #[test]
    fn connection_pool_parameters() {
        let mut p = ServerParams::default();
        let out = parse_params(&mut p, &w("pool-max-conn 20 pool-purge-delay 10s pool-low-conn 2 max-reuse -1"), true);
        assert!(out.untranslated.is_empty() && out.errors.is_empty(), "{out:?}");
        let (s, _) = build("web1", "10.0.0.1:80".into(), &p, &TlsGlobals::default());
        assert_eq!((s.pool_max_conn, s.pool_purge_delay.as_deref(), s.pool_low_conn, s.max_reuse), (Some(20), Some("10s"), Some(2), None));
        let out = parse_params(&mut p, &w("pool-max-conn -1 max-reuse 0"), true);
        assert!(out.errors.is_empty());
        assert_eq!((p.pool_max_conn, p.max_reuse), (None, Some(0)));
    }

    #[test]
    fn bad_values_are_errors() {
        let mut p = ServerParams::default();
        let out = parse_params(&mut p, &w("weight heavy inter 1x rise"), true);
        assert_eq!(out.errors.len(), 3, "{:?}", out.errors);
        let out = parse_params(&mut p, &w("id 3"), false);
        assert_eq!(out.errors.len(), 1);
    }

    #[test]
    fn addresses() {
        assert!(matches!(address("10.0.0.1:8066", None), Address::Exact(a) if a == "10.0.0.1:8066"));
        assert!(matches!(address("ipv6@[::1]:80", None), Address::Exact(a) if a == "[::1]:80"));
        assert!(matches!(address("10.0.0.1", Some(80)), Address::Approximated(a, _) if a == "10.0.0.1:80"));
        assert!(matches!(address("10.0.0.1", None), Address::Invalid(_)));
        assert!(matches!(address("/var/run/app.sock", None), Address::Invalid(_)));
        assert!(matches!(address("10.0.0.1:+1", None), Address::Invalid(_)));
        assert!(matches!(address("localhost:8080", None), Address::Approximated(a, _) if a.ends_with(":8080")));
        assert!(matches!(address("fe80::1:8080", None), Address::Exact(a) if a == "[fe80::1]:8080"));
        assert!(matches!(address("[fe80::1]", Some(443)), Address::Approximated(a, _) if a == "[fe80::1]:443"));
    }
}
