//! A `listen` with an `lvs` block → [`LvsService`]: keepalived's `virtual_server` (check/
//! check_parser.c), balanced by the kernel instead of proxied. What IPVS cannot do with a
//! setting is an error here rather than a silent difference.

use super::defaults::inherit;
use super::{parse_server_addr, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use crate::duration::parse_duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

/// Whether this kernel can encapsulate IP in IP (IPVS TUN needs the `ipip` module): loaded (or
/// built in with its parameters visible), or present to be loaded.
pub fn kernel_has_ipip() -> bool {
    if Path::new("/sys/module/ipip").exists() {
        return true;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = Path::new("/lib/modules").join(release.trim()).join("kernel/net/ipv4");
    ["ipip.ko", "ipip.ko.xz", "ipip.ko.zst", "ipip.ko.gz"].iter().any(|f| dir.join(f).exists())
}

/// `persistence_granularity`: a dotted IPv4 netmask (keepalived's form) or a prefix length.
fn granularity(text: &str) -> Result<u8, String> {
    if let Ok(n) = text.trim_start_matches('/').parse::<u8>() {
        return if n <= 32 { Ok(n) } else { Err(format!("persistence_granularity {text:?}: prefix length above 32")) };
    }
    let mask: Ipv4Addr = text.parse().map_err(|_| format!("persistence_granularity {text:?}: expected a netmask such as 255.255.255.0"))?;
    let bits = u32::from(mask);
    let len = bits.leading_ones();
    if bits.checked_shl(len).unwrap_or(0) != 0 {
        return Err(format!("persistence_granularity {text:?}: the netmask's ones are not contiguous"));
    }
    Ok(len as u8)
}

/// The listen at `path`, whose backend is `backends[backend]`, as an LVS service.
pub(super) fn lvs_service(
    c: &mut Checker,
    path: &str,
    p: &RawProxy,
    d: &RawProxy,
    backend: usize,
    b: &Backend,
    ipip: bool,
) -> Option<LvsService> {
    let l = p.lvs.as_ref()?;
    let lp = format!("{path}.lvs");
    let vip = vip(c, path, p);
    if inherit(&p.mode, &d.mode) == Some(Mode::Http) {
        c.error(format!("{path}.mode"), "an LVS virtual server forwards packets: mode tcp only");
    }
    let scheduler = scheduler(c, path, b);
    if b.hash_type == HashType::Consistent {
        c.error(format!("{path}.hash_type"), "IPVS sh is map-based: hash_type consistent is not available with lvs");
    }
    packets_only(c, path, p);
    let (kind, interface) = kind(c, &lp, l, ipip);
    let protocol = match l.protocol.unwrap_or(RawLvsProtocol::Tcp) {
        RawLvsProtocol::Tcp => LvsProtocol::Tcp,
        RawLvsProtocol::Udp => LvsProtocol::Udp,
    };
    let persistence = persistence(c, &lp, l);
    let same_port = matches!(kind, LvsKind::Dr | LvsKind::Tun);
    let sorry_server = sorry_server(c, &lp, l, vip, same_port);
    let (quorum, hysteresis) = quorum(c, &lp, l);
    let real_servers = real_servers(c, path, p, b, kind, vip, sorry_server);
    if real_servers.is_empty() && sorry_server.is_none() {
        c.error(format!("{path}.servers"), "an LVS virtual server needs real servers or a sorry_server");
    }
    Some(LvsService {
        name: p.name.clone(),
        backend,
        vip: vip.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        protocol,
        kind,
        interface,
        scheduler,
        persistence,
        inhibit_on_failure: l.inhibit_on_failure,
        sorry_server,
        quorum,
        hysteresis,
        quorum_up: l.quorum_up.clone(),
        quorum_down: l.quorum_down.clone(),
        real_servers,
    })
}

/// The one bind of an LVS virtual server: its VIP:PORT, IPv4, no TLS.
fn vip(c: &mut Checker, path: &str, p: &RawProxy) -> Option<SocketAddr> {
    match p.bind.as_slice() {
        [bind] if bind.ssl.is_some() => {
            c.error(format!("{path}.bind[0].ssl"), "the kernel balances an LVS virtual server's packets: it cannot terminate TLS");
            None
        }
        [bind] => match super::parse_bind(&bind.addr) {
            Ok(a) if a.ip().is_unspecified() || a.port() == 0 => {
                c.error(
                    format!("{path}.bind[0]"),
                    format!("{:?}: an LVS virtual server needs one VIP and a port, not a wildcard", bind.addr),
                );
                None
            }
            Ok(a) if a.is_ipv6() => {
                c.error(format!("{path}.bind[0]"), format!("{:?}: IPv6 LVS virtual servers are not supported yet", bind.addr));
                None
            }
            Ok(a) => Some(a),
            Err(e) => {
                c.error(format!("{path}.bind[0]"), e);
                None
            }
        },
        _ => {
            c.error(format!("{path}.bind"), "an LVS virtual server has exactly one bind, its VIP:PORT");
            None
        }
    }
}

/// IPVS schedulers: `rr` ignores weights but 0, `wrr` follows them, `sh` hashes the source.
fn scheduler(c: &mut Checker, path: &str, b: &Backend) -> LvsScheduler {
    match &b.balance {
        Balance::Roundrobin => LvsScheduler::Wrr,
        Balance::StaticRr => LvsScheduler::Rr,
        Balance::Source => LvsScheduler::Sh,
        other => {
            c.error(
                format!("{path}.balance"),
                format!("balance {other:?} has no LVS scheduler here: use roundrobin (IPVS wrr), static_rr (IPVS rr) or source (IPVS sh)"),
            );
            LvsScheduler::Wrr
        }
    }
}

/// The kernel sees packets, not streams: proxy-side settings would be silently ignored.
fn packets_only(c: &mut Checker, path: &str, p: &RawProxy) {
    for (field, set) in [
        ("acls", !p.acls.is_empty()),
        ("tcp_request_connection", !p.tcp_request_connection.is_empty()),
        ("tcp_request_session", !p.tcp_request_session.is_empty()),
        ("tcp_request_content", !p.tcp_request_content.is_empty()),
        ("http_request", !p.http_request.is_empty()),
        ("http_response", !p.http_response.is_empty()),
        ("accept_proxy", p.accept_proxy.is_some()),
        ("cookie", p.cookie.is_some()),
        ("forwardfor", p.forwardfor.is_some()),
    ] {
        if set {
            c.error(
                format!("{path}.{field}"),
                format!("`{field}` is not available in an LVS virtual server: the kernel forwards its packets"),
            );
        }
    }
    if p.stick.is_some() {
        c.error(format!("{path}.stick"), "use lvs.persistence_timeout: the kernel keeps the persistence, not a stick table");
    }
}

/// `lvs.kind` (keepalived's `lb_kind`) and the interface dr and tun need.
fn kind(c: &mut Checker, lp: &str, l: &RawLvs, ipip: bool) -> (LvsKind, Option<String>) {
    let kind = match l.kind.unwrap_or(RawLvsKind::Nat) {
        RawLvsKind::Nat => LvsKind::Nat,
        RawLvsKind::Dr => LvsKind::Dr,
        RawLvsKind::Tun => LvsKind::Tun,
    };
    let interface = l.interface.clone();
    match (kind, &interface) {
        (LvsKind::Dr | LvsKind::Tun, None) => {
            c.error(format!("{lp}.interface"), "kind dr and tun need the interface of the segment shared with the real servers")
        }
        (_, Some(i)) if i.is_empty() || i.len() > 15 || !i.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.@".contains(ch)) => {
            c.error(format!("{lp}.interface"), format!("invalid interface name {i:?}"))
        }
        (LvsKind::Nat, Some(_)) => {
            c.warn(format!("{lp}.interface"), "kind nat rewrites the destination wherever the packet arrives; the interface is not used")
        }
        _ => {}
    }
    if kind == LvsKind::Tun {
        let reason = if ipip {
            "kind tun (IP-in-IP to the real servers) is not implemented yet; use nat or dr"
        } else {
            "kind tun needs the kernel's ipip tunnel support, which this kernel lacks (no ipip module); use nat or dr"
        };
        c.error(format!("{lp}.kind"), reason);
    }
    (kind, interface)
}

/// `lvs.persistence_timeout` and `persistence_granularity` (keepalived's `persistence_*`).
fn persistence(c: &mut Checker, lp: &str, l: &RawLvs) -> Option<LvsPersistence> {
    let persistence = l.persistence_timeout.as_ref().and_then(|t| match parse_duration(t) {
        Ok(d) if d.as_secs() == 0 => {
            c.error(format!("{lp}.persistence_timeout"), "persistence_timeout must be at least 1s");
            None
        }
        Ok(d) => Some(LvsPersistence { timeout: d, prefix_len: 32 }),
        Err(e) => {
            c.error(format!("{lp}.persistence_timeout"), e);
            None
        }
    });
    let prefix_len = match l.persistence_granularity.as_deref().map(granularity) {
        None => 32,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            c.error(format!("{lp}.persistence_granularity"), e);
            32
        }
    };
    if l.persistence_granularity.is_some() && l.persistence_timeout.is_none() {
        c.warn(format!("{lp}.persistence_granularity"), "persistence_granularity has no effect without persistence_timeout");
    }
    persistence.map(|p| LvsPersistence { prefix_len, ..p })
}

/// `lvs.sorry_server`: IPv4, on the VIP's port with kind dr or tun.
fn sorry_server(c: &mut Checker, lp: &str, l: &RawLvs, vip: Option<SocketAddr>, same_port: bool) -> Option<SocketAddr> {
    l.sorry_server.as_ref().and_then(|s| match parse_server_addr(s) {
        Ok(a) if a.is_ipv6() => {
            c.error(format!("{lp}.sorry_server"), format!("{s:?}: IPv6 is not supported yet"));
            None
        }
        Ok(a) if same_port && vip.is_some_and(|v| v.port() != a.port()) => {
            c.error(
                format!("{lp}.sorry_server"),
                "with kind dr or tun the packet keeps the VIP's port: the sorry server must listen on it",
            );
            None
        }
        Ok(a) => Some(a),
        Err(e) => {
            c.error(format!("{lp}.sorry_server"), e);
            None
        }
    })
}

/// `lvs.quorum` and `hysteresis` (keepalived's), and their commands.
fn quorum(c: &mut Checker, lp: &str, l: &RawLvs) -> (u32, u32) {
    let quorum = l.quorum.unwrap_or(1);
    let hysteresis = l.hysteresis.unwrap_or(0);
    if quorum == 0 {
        c.error(format!("{lp}.quorum"), "quorum must be at least 1");
    } else if hysteresis >= quorum {
        c.error(format!("{lp}.hysteresis"), format!("hysteresis {hysteresis} must be below quorum {quorum}"));
    }
    for (field, cmd) in [("quorum_up", &l.quorum_up), ("quorum_down", &l.quorum_down)] {
        if cmd.as_ref().is_some_and(|c| c.trim().is_empty()) {
            c.error(format!("{lp}.{field}"), format!("{field} needs a command"));
        }
    }
    (quorum, hysteresis)
}

/// The backend's servers as IPVS destinations.
fn real_servers(
    c: &mut Checker,
    path: &str,
    p: &RawProxy,
    b: &Backend,
    kind: LvsKind,
    vip: Option<SocketAddr>,
    sorry_server: Option<SocketAddr>,
) -> Vec<RealServer> {
    let same_port = matches!(kind, LvsKind::Dr | LvsKind::Tun);
    let mut real_servers: Vec<RealServer> = Vec::new();
    for (i, (s, raw)) in b.servers.iter().zip(&p.servers).enumerate() {
        let sp = format!("{path}.servers[{i}]");
        // IPVS refuses a destination twice in one service (ipvsadm: "Destination already exists").
        if let Some(prev) = real_servers.iter().position(|r| r.addr == s.addr) {
            c.error(format!("{sp}.addr"), format!("{} is already servers[{prev}] of this LVS virtual server", s.addr));
        } else if sorry_server == Some(s.addr) {
            c.error(format!("{sp}.addr"), format!("{} is also the sorry_server", s.addr));
        }
        if s.backup {
            c.error(format!("{sp}.backup"), "LVS has no backup servers: use lvs.sorry_server");
        }
        if raw.maxconn.is_some() {
            c.error(format!("{sp}.maxconn"), "the LVS data plane does not enforce a connection limit per real server");
        }
        if s.addr.is_ipv6() {
            c.error(format!("{sp}.addr"), "IPv6 real servers are not supported yet");
        }
        if same_port && vip.is_some_and(|v| v.port() != s.addr.port()) {
            c.error(
                format!("{sp}.addr"),
                format!(
                    "with kind dr or tun the packet keeps the VIP's port ({}): the real server must listen on it",
                    vip.map_or(0, |v| v.port())
                ),
            );
        }
        let mac = raw.mac.as_ref().and_then(|m| match parse_mac(m) {
            Some(_) if kind != LvsKind::Dr => {
                c.error(format!("{sp}.mac"), "a real server's MAC is used by kind dr only");
                None
            }
            Some(mac) => Some(mac),
            None => {
                c.error(format!("{sp}.mac"), format!("invalid MAC address {m:?}: expected six hex bytes such as 02:00:00:00:00:0b"));
                None
            }
        });
        real_servers.push(RealServer { name: s.name.clone(), addr: s.addr, weight: s.weight, mac });
    }
    real_servers
}

/// `aa:bb:cc:dd:ee:ff` → bytes.
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for b in &mut out {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The data plane follows the VRRP instance whose `vips` include a service's VIP (vrrpd
/// programs it while that instance is MASTER). With VRRP instances configured but none carrying
/// the VIP, the service is programmed on every host running this config, whatever VRRP does.
pub(super) fn vip_carriers(c: &mut Checker, raw: &RawConfig, services: &[LvsService], vrrp: &Vrrp) {
    if vrrp.instances.is_empty() {
        return;
    }
    for s in services {
        if vrrp.instances.iter().any(|i| i.vips.iter().any(|v| v.addr == s.vip.ip())) {
            continue;
        }
        let Some(i) = raw.listen.iter().position(|p| p.name == s.name) else { continue };
        c.warn(
            format!("listen[{i}].bind[0]"),
            format!(
                "no VRRP instance has {} among its vips: this virtual server is programmed on every host running this config, whatever VRRP does",
                s.vip.ip()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::granularity;

    #[test]
    fn granularity_reads_netmasks_and_prefix_lengths() {
        assert_eq!(granularity("255.255.255.0"), Ok(24));
        assert_eq!(granularity("255.255.255.255"), Ok(32));
        assert_eq!(granularity("0.0.0.0"), Ok(0));
        assert_eq!(granularity("/16"), Ok(16));
        assert!(granularity("255.0.255.0").is_err());
        assert!(granularity("33").is_err());
        assert!(granularity("wide").is_err());
    }
}
