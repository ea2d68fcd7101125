//! LVS `virtual_server IP PORT { … real_server IP PORT { … } }` as a `listen` with an `lvs`
//! block: the kernel balances it (nftables) as IPVS would, with the listen's servers, weights
//! and checks. With `lvs_as_proxy` (the importer's `--lvs-as-proxy`), as before: an L4 listener
//! through which hakeeper proxies the connections.

use super::tree::Node;
use super::{words_text, Ctx};
use crate::config::raw::{
    RawBalance, RawCheck, RawConfig, RawHealthCheck, RawHttpCheck, RawInitialHealth, RawLvs, RawLvsKind, RawLvsProtocol, RawMode, RawProxy,
    RawScriptCheck, RawServer, RawServerSsl, RawStick, RawTimeouts, RawVerify,
};
use crate::duration::format_duration;
use crate::import::units::{keepalived_duration, number};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// IPVS NAT rewrites only the destination, so real servers see the client's address; a proxy
/// connects from its own.
const NAT_NOTE: &str = "lb_kind NAT: hakeeper proxies the connections instead of rewriting them: real servers see connections from \
                        this host, not the client's address (their logs and any access rule by client address see the load balancer)";

/// keepalived's `status_code N` or `status_code LO-HI`.
fn status_code(text: &str) -> Option<(u16, u16)> {
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (lo, hi) = (lo.parse::<u16>().ok()?, hi.parse::<u16>().ok()?);
    ((100..=599).contains(&lo) && (lo..=599).contains(&hi)).then_some((lo, hi))
}

/// Checker timings, inherited virtual_server → real_server → checker (keepalived's defaults).
#[derive(Debug, Clone, Copy)]
struct Timings {
    delay_loop: Duration,
    connect_timeout: Duration,
    retry: u32,
    delay_before_retry: Duration,
    /// `alpha`: servers start DOWN until a check passes.
    alpha: bool,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            delay_loop: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            alpha: false,
        }
    }
}

/// Reads a timing keyword into `t`; false when `n` is not one.
fn timing(ctx: &mut Ctx, t: &mut Timings, n: &Node) -> bool {
    if n.keyword() == "alpha" && n.arg(0).is_none() {
        t.alpha = true;
        return true;
    }
    let Some(v) = n.arg(0) else { return false };
    let what = words_text(&n.words);
    let result = match n.keyword() {
        "delay_loop" => keepalived_duration(v).map(|d| t.delay_loop = d),
        "connect_timeout" => keepalived_duration(v).map(|d| t.connect_timeout = d),
        "delay_before_retry" => keepalived_duration(v).map(|d| t.delay_before_retry = d),
        "retry" | "nb_get_retry" => number(v, "retry").map(|r| t.retry = r),
        _ => return false,
    };
    if let Err(e) = result {
        ctx.untranslated(n, format!("`{what}`: {e}; not translated"));
    }
    true
}

/// What one real_server's checker translates to.
struct ServerCheck {
    kind: RawHealthCheck,
    check: RawCheck,
    connect_timeout: Duration,
    /// SSL_GET: the check runs over TLS.
    tls: bool,
}

/// `as_proxy`: the importer's `--lvs-as-proxy`, hakeeper proxies instead of the kernel.
pub fn virtual_server(ctx: &mut Ctx, node: &Node, as_proxy: bool) -> Option<RawProxy> {
    let (Some(ip), Some(port)) = (node.arg(0), node.arg(1)) else {
        ctx.not_translated(node, ": only `virtual_server IP PORT` is translated (not fwmark or group)");
        return None;
    };
    let (Ok(ip), Ok(port)) = (ip.parse::<IpAddr>(), port.parse::<u16>()) else {
        ctx.not_translated(node, ": only `virtual_server IP PORT` is translated (not fwmark or group)");
        return None;
    };
    let addr = SocketAddr::new(ip, port);
    let mut p = RawProxy {
        name: format!("vs_{}_{}", ip, port)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.:".contains(c) { c } else { '_' })
            .collect(),
        bind: vec![addr.to_string().into()],
        mode: Some(RawMode::Tcp),
        // keepalived's default scheduler, wlc, has no kernel equivalent here: wrr (see
        // `kernel_balance`), as the proxy's roundrobin.
        balance: Some(RawBalance::Roundrobin),
        // IPVS forgets an idle established TCP connection after 15 minutes (`ipvsadm --set`),
        // not after a proxy's usual client/server timeouts.
        timeout: as_proxy.then(|| RawTimeouts { client: Some("15m".into()), server: Some("15m".into()), ..RawTimeouts::default() }),
        lvs: (!as_proxy).then(RawLvs::default),
        ..RawProxy::default()
    };
    let mut timings = Timings::default();
    // Timings may follow the real servers in the block; read them first.
    for n in node.children() {
        if n.block.is_none() {
            timing(ctx, &mut timings, n);
        }
    }
    let mut algo: Option<(String, &Node)> = None;
    let mut kind_seen = false;
    let mut checks: Vec<(&Node, Option<ServerCheck>)> = Vec::new();
    for n in node.children() {
        let arg = n.arg(0);
        match (n.keyword(), arg) {
            ("delay_loop" | "connect_timeout" | "delay_before_retry" | "retry" | "nb_get_retry", Some(_)) | ("alpha", None) => {}
            ("lb_algo" | "lvs_sched", Some(a)) if !as_proxy => p.balance = Some(kernel_balance(ctx, n, a)),
            ("lb_kind" | "lvs_method", Some(kind)) if !as_proxy => {
                kind_seen = true;
                let kind = match kind {
                    "NAT" => RawLvsKind::Nat,
                    "DR" => RawLvsKind::Dr,
                    "TUN" => RawLvsKind::Tun,
                    _ => {
                        ctx.not_translated(n, ": expected NAT, DR or TUN; NAT is used");
                        RawLvsKind::Nat
                    }
                };
                lvs(&mut p).kind = (kind != RawLvsKind::Nat).then_some(kind);
            }
            ("protocol", Some(proto)) if !as_proxy => match proto {
                "TCP" => {}
                "UDP" => lvs(&mut p).protocol = Some(RawLvsProtocol::Udp),
                _ => {
                    ctx.not_translated(n, ": hakeeper's LVS balances TCP and UDP; the virtual server is not translated");
                    return None;
                }
            },
            ("persistence_granularity", Some(mask)) if !as_proxy => lvs(&mut p).persistence_granularity = Some(mask.to_string()),
            ("inhibit_on_failure", None) if !as_proxy => lvs(&mut p).inhibit_on_failure = true,
            ("quorum" | "hysteresis", Some(v)) if !as_proxy => match number::<u32>(v, n.keyword()) {
                Ok(v) if n.keyword() == "quorum" => lvs(&mut p).quorum = Some(v),
                Ok(v) => lvs(&mut p).hysteresis = Some(v),
                Err(e) => ctx.untranslated(n, format!("`{}`: {e}; not translated", words_text(&n.words))),
            },
            ("quorum_up" | "quorum_down", Some(_)) if !as_proxy => {
                let command = match &n.words[1..] {
                    [one] => one.clone(),
                    more => words_text(more),
                };
                if n.keyword() == "quorum_up" {
                    lvs(&mut p).quorum_up = Some(command);
                } else {
                    lvs(&mut p).quorum_down = Some(command);
                }
            }
            ("sorry_server", Some(sip)) if !as_proxy => {
                if let Some(s) = sorry_server(ctx, n, sip) {
                    lvs(&mut p).sorry_server = Some(s.addr);
                }
            }
            ("lb_algo" | "lvs_sched", Some(a)) => {
                p.balance = balance(ctx, n, a);
                algo = Some((a.to_string(), n));
            }
            ("lb_kind" | "lvs_method", Some("NAT")) => {
                kind_seen = true;
                ctx.replaced(n, NAT_NOTE);
            }
            ("lb_kind" | "lvs_method", Some(kind)) => {
                kind_seen = true;
                ctx.replaced(
                    n,
                    format!(
                        "lb_kind {kind}: hakeeper proxies the connections (NAT-like) instead: real servers see connections from this host, \
                         not the client, and need no VIP on their loopback nor arp_ignore/arp_announce settings"
                    ),
                )
            }
            ("protocol", Some("TCP")) => {}
            ("protocol", Some(_)) => {
                ctx.not_translated(n, ": hakeeper balances TCP only; the virtual server is not translated");
                return None;
            }
            ("persistence_timeout", v) => {
                let expire = match v {
                    None => Ok(Duration::from_secs(360)),
                    Some(v) => keepalived_duration(v),
                };
                match expire {
                    Ok(d) if !as_proxy => lvs(&mut p).persistence_timeout = Some(format_duration(d)),
                    Ok(d) => p.stick = Some(RawStick { expire: format_duration(d), size: None }),
                    Err(e) => ctx.untranslated(n, format!("`{}`: {e}; not translated", words_text(&n.words))),
                }
            }
            ("sorry_server", Some(sip)) => {
                if let Some(s) = sorry_server(ctx, n, sip) {
                    p.servers.push(s);
                    checks.push((n, None));
                }
            }
            ("real_server", Some(_)) if n.block.is_some() || n.words.len() == 3 => {
                if let Some((server, check)) = real_server(ctx, n, timings, &mut p, as_proxy) {
                    p.servers.push(server);
                    checks.push((n, check));
                }
            }
            _ => ctx.not_translated(n, ""),
        }
    }
    if !kind_seen && as_proxy {
        ctx.replaced(node, format!("no lb_kind (NAT by default): {NAT_NOTE}"));
    }
    if !as_proxy {
        same_port_for_dr(ctx, node, &mut p, addr);
    }
    apply_checks(ctx, &mut p, &checks);
    if let Some((a, n)) = algo {
        let weights: Vec<u32> = p.servers.iter().filter(|s| !s.backup).map(|s| s.weight.unwrap_or(1)).collect();
        if matches!(a.as_str(), "rr" | "lc") && weights.windows(2).any(|w| w[0] != w[1]) {
            ctx.lint(
                n,
                format!(
                    "lb_algo {a} ignores the real servers' weights in IPVS; hakeeper's {} honours them",
                    if a == "rr" { "roundrobin" } else { "leastconn" }
                ),
            );
        }
    }
    Some(p)
}

/// The `lvs` block of a listen being built for the kernel.
fn lvs(p: &mut RawProxy) -> &mut RawLvs {
    p.lvs.get_or_insert_with(RawLvs::default)
}

/// `lb_algo` for the kernel data plane: `rr` → static_rr (a weight only says 0 or not, as in
/// IPVS rr), `wrr` → roundrobin, `sh` → source; the others have no equivalent there.
fn kernel_balance(ctx: &mut Ctx, n: &Node, algo: &str) -> RawBalance {
    match algo {
        "rr" => RawBalance::StaticRr,
        "wrr" => RawBalance::Roundrobin,
        "sh" => {
            if n.words.len() > 2 {
                ctx.untranslated(n, format!("lb_algo flags `{}` not translated", words_text(&n.words[2..])));
            }
            RawBalance::Source
        }
        _ => {
            ctx.lossy(
                n,
                format!("lb_algo {algo}"),
                "the kernel data plane schedules rr, wrr and sh only; wrr (roundrobin) is used. \
                 Without the `lvs` block hakeeper proxies the virtual server, and `balance: leastconn` is available",
            );
            RawBalance::Roundrobin
        }
    }
}

/// IPVS DR and TUN keep the packet's destination port: a real server's own port is unused.
fn same_port_for_dr(ctx: &mut Ctx, node: &Node, p: &mut RawProxy, vip: SocketAddr) {
    let dr = matches!(p.lvs.as_ref().and_then(|l| l.kind), Some(RawLvsKind::Dr | RawLvsKind::Tun));
    if !dr {
        return;
    }
    for s in &mut p.servers {
        if let Ok(addr) = s.addr.parse::<SocketAddr>() {
            if addr.port() != vip.port() {
                ctx.replaced(
                    node,
                    format!("real_server {}: with lb_kind DR/TUN packets keep the VIP's port {}, as IPVS sends them", s.addr, vip.port()),
                );
                s.addr = SocketAddr::new(addr.ip(), vip.port()).to_string();
            }
        }
    }
    if let Some(sorry) = p.lvs.as_mut().and_then(|l| l.sorry_server.as_mut()) {
        if let Ok(addr) = sorry.parse::<SocketAddr>() {
            if addr.port() != vip.port() {
                ctx.replaced(node, format!("sorry_server {sorry}: with lb_kind DR/TUN packets keep the VIP's port {}", vip.port()));
                *sorry = SocketAddr::new(addr.ip(), vip.port()).to_string();
            }
        }
    }
}

/// DR and TUN need the interface of the segment shared with the real servers: keepalived
/// finds it from routing; hakeeper takes that of the VRRP instance holding the VIP.
pub fn dr_interfaces(ctx: &mut Ctx, config: &mut RawConfig, origins: &[(String, usize)]) {
    for (listen, (file, line)) in config.listen.iter_mut().zip(origins) {
        let Some(l) = listen.lvs.as_mut() else { continue };
        if !matches!(l.kind, Some(RawLvsKind::Dr | RawLvsKind::Tun)) || l.interface.is_some() {
            continue;
        }
        let Some(vip) = listen.bind.first().and_then(|b| b.addr.parse::<SocketAddr>().ok()).map(|a| a.ip()) else { continue };
        let holder = config
            .vrrp
            .instances
            .iter()
            .find(|i| i.vips.iter().any(|v| v.split('/').next().and_then(|ip| ip.parse::<IpAddr>().ok()) == Some(vip)));
        match holder {
            Some(i) => l.interface = Some(i.interface.clone()),
            None => ctx.notes.untranslated(
                file,
                *line,
                format!("virtual_server {}: lb_kind DR/TUN needs lvs.interface (the real servers' segment); no vrrp_instance holds {vip} to take it from", listen.bind[0]),
            ),
        }
    }
}

fn balance(ctx: &mut Ctx, n: &Node, algo: &str) -> Option<RawBalance> {
    match algo {
        "rr" | "wrr" => Some(RawBalance::Roundrobin),
        "lc" | "wlc" => Some(RawBalance::Leastconn),
        "sh" => {
            if n.words.len() > 2 {
                ctx.untranslated(n, format!("lb_algo flags `{}` not translated", words_text(&n.words[2..])));
            }
            Some(RawBalance::Source)
        }
        _ => {
            ctx.not_translated(n, ": hakeeper balances rr/wrr, lc/wlc and sh; roundrobin is used");
            Some(RawBalance::Roundrobin)
        }
    }
}

/// `sorry_server IP PORT`: used when every real server is down, as HAProxy's backup server.
fn sorry_server(ctx: &mut Ctx, n: &Node, ip: &str) -> Option<RawServer> {
    let addr = ip.parse::<IpAddr>().ok().zip(n.arg(1).and_then(|p| p.parse::<u16>().ok())).map(|(ip, port)| SocketAddr::new(ip, port));
    let Some(addr) = addr else {
        ctx.not_translated(n, ": expected IP PORT");
        return None;
    };
    Some(RawServer { name: "sorry_server".into(), addr: addr.to_string(), backup: true, ..RawServer::default() })
}

fn real_server(
    ctx: &mut Ctx,
    node: &Node,
    inherited: Timings,
    p: &mut RawProxy,
    as_proxy: bool,
) -> Option<(RawServer, Option<ServerCheck>)> {
    let addr = node.arg(0).and_then(|ip| ip.parse::<IpAddr>().ok()).zip(node.arg(1).and_then(|p| p.parse::<u16>().ok()));
    let Some((ip, port)) = addr else {
        ctx.not_translated(node, ": expected `real_server IP PORT`");
        return None;
    };
    let addr = SocketAddr::new(ip, port);
    let name: String =
        format!("rs_{}_{}", ip, port).chars().map(|c| if c.is_ascii_alphanumeric() || "-_.:".contains(c) { c } else { '_' }).collect();
    let mut server = RawServer { name, addr: addr.to_string(), ..RawServer::default() };
    let mut timings = inherited;
    for n in node.children() {
        if n.block.is_none() {
            timing(ctx, &mut timings, n);
        }
    }
    let mut check = None;
    for n in node.children() {
        let what = words_text(&n.words);
        match (n.keyword(), n.arg(0)) {
            ("delay_loop" | "connect_timeout" | "delay_before_retry" | "retry" | "nb_get_retry", Some(_)) | ("alpha", None) => {}
            ("weight", Some(w)) => match number(w, "weight") {
                Ok(w) => server.weight = Some(w),
                Err(e) => ctx.untranslated(n, format!("`{what}`: {e}; not translated")),
            },
            ("uthreshold", Some(_)) if !as_proxy => {
                ctx.not_translated(n, ": the kernel data plane has no connection limit per real server")
            }
            ("inhibit_on_failure", None) if !as_proxy => {
                // keepalived sets it per real server; hakeeper per virtual server.
                if !lvs(p).inhibit_on_failure {
                    ctx.replaced(n, "inhibit_on_failure applies to every real server of this virtual server in hakeeper");
                }
                lvs(p).inhibit_on_failure = true;
            }
            ("uthreshold", Some(v)) => match number(v, "uthreshold") {
                Ok(v) => server.maxconn = Some(v),
                Err(e) => ctx.untranslated(n, format!("`{what}`: {e}; not translated")),
            },
            (
                "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" | "SMTP_CHECK" | "DNS_CHECK" | "UDP_CHECK" | "PING_CHECK"
                | "FILE_CHECK" | "BFD_CHECK",
                None,
            ) => {
                if check.is_some() {
                    ctx.not_translated(n, ": hakeeper runs one check per server; the first one is used");
                } else {
                    check = Some(checker(ctx, n, timings, addr));
                }
            }
            ("inhibit_on_failure", None) => {
                ctx.not_translated(n, ": a DOWN server gets no new connections and keeps its established ones, without weight 0")
            }
            _ => ctx.not_translated(n, ""),
        }
    }
    Some((server, check))
}

/// One checker block.
fn checker(ctx: &mut Ctx, node: &Node, inherited: Timings, server: SocketAddr) -> ServerCheck {
    let port = server.port();
    let mut t = inherited;
    let mut check_port = None;
    // The block of a checker hakeeper lacks is reported once, as a whole.
    let known = matches!(node.keyword(), "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK");
    // SSL_GET is HTTP_GET over TLS, with the same url blocks and options.
    let http_like = matches!(node.keyword(), "HTTP_GET" | "SSL_GET");
    let mut http = RawHttpCheck { method: Some("GET".into()), ..RawHttpCheck::default() };
    let mut url_seen = false;
    let mut misc = RawScriptCheck::default();
    for n in node.children() {
        if n.block.is_none() && timing(ctx, &mut t, n) {
            continue;
        }
        match (n.keyword(), n.arg(0)) {
            ("connect_port", Some(p)) => match number::<u16>(p, "connect_port") {
                Ok(p) if p != port => check_port = Some(p),
                Ok(_) => {}
                Err(e) => ctx.untranslated(n, format!("`{}`: {e}; not translated", words_text(&n.words))),
            },
            ("url", None) if n.block.is_some() && http_like => {
                if url_seen {
                    ctx.not_translated(n, ": hakeeper checks one URL per server; the first one is used");
                    continue;
                }
                url_seen = true;
                for u in n.children() {
                    match (u.keyword(), u.arg(0)) {
                        ("path", Some(path)) => http.uri = Some(path.to_string()),
                        ("status_code", Some(code)) => match status_code(code) {
                            Some((lo, hi)) if lo == hi => http.expect_status = Some(lo),
                            Some(range) => http.expect_status_range = Some(range),
                            None => ctx.not_translated(u, ": expected a status or a range LO-HI; 2xx pass"),
                        },
                        _ => ctx.not_translated(u, ""),
                    }
                }
            }
            ("http_protocol", Some(v)) if http_like => http.version = Some(format!("HTTP/{}", v.trim_end_matches('C'))),
            ("misc_path", Some(_)) if node.keyword() == "MISC_CHECK" => {
                let (command, substituted) = misc_command(&n.words[1..], server);
                if substituted {
                    ctx.replaced(
                        n,
                        "the real server's address in misc_path becomes $HAPROXY_SERVER_ADDR (and its port $HAPROXY_SERVER_PORT): \
                         hakeeper runs one command, through /bin/sh, for all servers of a listener",
                    );
                }
                misc.command = command;
            }
            ("misc_timeout", Some(v)) if node.keyword() == "MISC_CHECK" => match keepalived_duration(v) {
                Ok(d) => misc.timeout = Some(format_duration(d)),
                Err(e) => ctx.untranslated(n, format!("`{}`: {e}; not translated", words_text(&n.words))),
            },
            ("misc_dynamic", None) if node.keyword() == "MISC_CHECK" => misc.dynamic = true,
            ("user", Some(_)) if node.keyword() == "MISC_CHECK" => {
                ctx.untranslated(n, format!("`{}` not translated: check scripts run as global_defs' script_user", words_text(&n.words)))
            }
            _ if known => ctx.not_translated(n, ""),
            _ => {}
        }
    }
    // keepalived's HTTP_GET passes 2xx only without `status_code` (HAProxy's httpchk: 2xx and 3xx).
    if http.expect_status.is_none() && http.expect_status_range.is_none() {
        http.expect_status_range = Some((200, 299));
    }
    let kind = match node.keyword() {
        "TCP_CHECK" => RawHealthCheck::Tcp,
        "HTTP_GET" | "SSL_GET" => RawHealthCheck::Http(http),
        "MISC_CHECK" if misc.command.is_empty() => {
            ctx.untranslated(node, "MISC_CHECK without misc_path: the server is checked by a TCP connect to its port instead");
            RawHealthCheck::Tcp
        }
        "MISC_CHECK" => RawHealthCheck::Script(misc),
        other => {
            ctx.untranslated(
                node,
                format!("{other} not translated yet: the server is checked by a TCP connect to its port instead, with the same timings"),
            );
            RawHealthCheck::Tcp
        }
    };
    // keepalived: DOWN after retry+1 failed attempts, retried every delay_before_retry; UP after one success.
    let check = RawCheck {
        inter: Some(format_duration(t.delay_loop)),
        fastinter: Some(format_duration(t.delay_before_retry)),
        downinter: None,
        rise: Some(1),
        fall: Some(t.retry + 1),
        port: check_port,
        initial: t.alpha.then_some(RawInitialHealth::Down),
    };
    ServerCheck { kind, check, connect_timeout: t.connect_timeout, tls: node.keyword() == "SSL_GET" }
}

/// misc_path's command, with the real server's address (and the port after it) replaced by
/// HAProxy's external-check variables so that the servers of a listener share one command;
/// whether anything was replaced.
fn misc_command(words: &[String], server: SocketAddr) -> (String, bool) {
    let text = match words {
        [one] => one.clone(),
        _ => words_text(words),
    };
    let (ip, port) = (server.ip().to_string(), server.port().to_string());
    let mut out = Vec::new();
    let mut substituted = false;
    let mut after_ip = false;
    for token in text.split(' ') {
        let replaced = if token == ip {
            Some("$HAPROXY_SERVER_ADDR")
        } else if token == format!("{ip}:{port}") {
            Some("$HAPROXY_SERVER_ADDR:$HAPROXY_SERVER_PORT")
        } else if after_ip && token == port {
            Some("$HAPROXY_SERVER_PORT")
        } else {
            None
        };
        after_ip = token == ip;
        substituted |= replaced.is_some();
        out.push(replaced.unwrap_or(token).to_string());
    }
    (out.join(" "), substituted)
}

/// Puts each server's check timings on it, and the check kind and timeout on the listener
/// (where the RON config keeps them); servers that disagree on those are reported.
fn apply_checks(ctx: &mut Ctx, p: &mut RawProxy, checks: &[(&Node, Option<ServerCheck>)]) {
    let mut first: Option<(&RawHealthCheck, Duration)> = None;
    for ((node, check), server) in checks.iter().zip(p.servers.iter_mut()) {
        let Some(c) = check else { continue };
        server.check = Some(c.check.clone());
        if c.tls {
            // keepalived's SSL_GET judges the HTTP answer (status, digest), not the server's
            // certificate: no CA is configured per check, so none is verified here either.
            // Traffic stays plain, as with LVS.
            server.check_ssl = Some(true);
            server.ssl = Some(RawServerSsl { enabled: Some(false), verify: Some(RawVerify::None), ..RawServerSsl::default() });
            ctx.replaced(
                node,
                "SSL_GET: an HTTP check over TLS (check_ssl) with `verify: none`: keepalived's SSL_GET judges the answer, not \
                 the certificate; set ssl.ca_file and `verify: required` to verify it",
            );
        }
        match first {
            None => first = Some((&c.kind, c.connect_timeout)),
            Some((kind, timeout)) => {
                if *kind != c.kind {
                    ctx.untranslated(
                        node,
                        "this real_server's check kind differs from the first one's; hakeeper checks a listener's servers alike",
                    );
                }
                if timeout != c.connect_timeout {
                    ctx.untranslated(
                        node,
                        "this real_server's connect_timeout differs from the first one's; hakeeper uses the first for all",
                    );
                }
            }
        }
    }
    if let Some((kind, timeout)) = first {
        p.health_check = Some(kind.clone());
        p.timeout.get_or_insert_with(RawTimeouts::default).check = Some(format_duration(timeout));
    }
}

/// A listener on an address that no VRRP instance holds (nor, probably, the host).
pub fn lint_vips(ctx: &mut Ctx, config: &RawConfig, origins: &[(String, usize)]) {
    let vips: Vec<IpAddr> =
        config.vrrp.instances.iter().flat_map(|i| &i.vips).filter_map(|v| v.split('/').next().and_then(|ip| ip.parse().ok())).collect();
    for (listen, (file, line)) in config.listen.iter().zip(origins) {
        for b in &listen.bind {
            if let Ok(sa) = b.addr.parse::<SocketAddr>() {
                if !vips.contains(&sa.ip()) {
                    ctx.notes.lint(
                        file,
                        *line,
                        format!(
                            "virtual_server {b}: no vrrp_instance in this file holds {}; the listener needs that address on this host",
                            sa.ip()
                        ),
                    );
                }
            }
        }
    }
}
