//! `announce` → [`Announce`]: active-active behind ECMP. hakeeper decides when this host may
//! carry the VIPs; a routing daemon (BIRD 2's `direct` protocol, FRR's `redistribute
//! connected`) announces the addresses it finds on the announce device. Each VIP is a host
//! route (/32 or /128), as operators announce anycast service addresses; an address that
//! VRRP also moves would be held by two mechanisms at once, so it is refused.

use super::{parse_vip, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashSet;
use std::time::Duration;

/// Default name of the device vrrpd creates (at most 15 bytes, IFNAMSIZ - 1).
pub const DEFAULT_INTERFACE: &str = "hk-announce";
/// Default wait between the withdrawal and the drain on stop: a BGP UPDATE and the router's
/// FIB change take milliseconds on a LAN (a withdrawal is not delayed by MRAI, RFC 4271
/// §9.2.1.1); the rest is margin.
pub const DEFAULT_WITHDRAW_WAIT: Duration = Duration::from_secs(1);
/// The longest `withdraw_wait`: the stop sequence (4.5 s) grows by it, and must stay within
/// the packaged unit's `TimeoutStopSec=15s`.
pub const MAX_WITHDRAW_WAIT: Duration = Duration::from_secs(10);

pub(super) fn announce(c: &mut Checker, raw: &RawConfig, backends: &[Backend], vrrp: &Vrrp) -> Option<Announce> {
    let a = raw.announce.as_ref()?;
    let interface = a.interface.clone().unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
    if interface.is_empty()
        || interface.len() > 15
        || interface == "lo"
        || !interface.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        c.error("announce.interface", format!("invalid interface name {interface:?}: 1 to 15 letters, digits, '-', '_', '.', not lo"));
    }
    if vrrp.instances.iter().any(|i| i.interface == interface) {
        c.error("announce.interface", format!("{interface:?} carries a VRRP instance: the announce device is hakeeper's own"));
    }
    let vips = vips(c, a, vrrp);
    let mut min_servers_up = Vec::new();
    for (i, m) in a.min_servers_up.iter().enumerate() {
        let p = format!("announce.min_servers_up[{i}]");
        match backends.iter().position(|b| b.name == m.backend) {
            Some(b) if m.servers as usize > backends[b].servers.len() => c.error(
                format!("{p}.servers"),
                format!("backend {:?} has {} servers: {} can never be UP", m.backend, backends[b].servers.len(), m.servers),
            ),
            Some(b) => min_servers_up.push((b, m.servers)),
            None => c.error(format!("{p}.backend"), format!("no backend named {:?}", m.backend)),
        }
    }
    let withdraw_wait = c.duration("announce.withdraw_wait", a.withdraw_wait.as_ref(), DEFAULT_WITHDRAW_WAIT);
    if withdraw_wait > MAX_WITHDRAW_WAIT {
        c.error("announce.withdraw_wait", format!("at most {}s: the stop sequence waits this long", MAX_WITHDRAW_WAIT.as_secs()));
    }
    Some(Announce { interface, vips, min_servers_up, withdraw_wait, hold_on_lo: a.hold_on_lo.unwrap_or(true) })
}

fn vips(c: &mut Checker, a: &RawAnnounce, vrrp: &Vrrp) -> Vec<VipAddr> {
    if a.vips.is_empty() {
        c.error("announce.vips", "announce needs at least one VIP");
    }
    let vrrp_vips: HashSet<_> = vrrp.instances.iter().flat_map(|i| i.vips.iter().map(|v| v.addr)).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, text) in a.vips.iter().enumerate() {
        let p = format!("announce.vips[{i}]");
        let vip = match parse_vip(text) {
            Ok(v) => v,
            Err(e) => {
                c.error(p, e);
                continue;
            }
        };
        let host = if vip.addr.is_ipv4() { 32 } else { 128 };
        if vip.prefix_len != host {
            c.error(p, format!("{text:?}: an announced VIP is a host route, /{host}"));
        } else if vip.addr.is_unspecified() || vip.addr.is_loopback() || vip.addr.is_multicast() {
            c.error(p, format!("{text:?}: not a unicast service address"));
        } else if !seen.insert(vip.addr) {
            c.error(p, format!("{} is listed twice", vip.addr));
        } else if vrrp_vips.contains(&vip.addr) {
            c.error(p, format!("{} is also a VRRP VIP: an address is either moved by VRRP or announced, not both", vip.addr));
        } else {
            out.push(vip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, ConfigError};
    use std::time::Duration;

    const BACKEND: &str = r#"listen: [(name: "web", bind: ["192.0.2.200:80"], servers: [(name: "a", addr: "192.0.2.130:80"), (name: "b", addr: "192.0.2.131:80")])],"#;

    fn text(announce: &str) -> String {
        format!("({BACKEND}\n announce: ({announce}))")
    }

    fn errors(announce: &str) -> Vec<(usize, String, String)> {
        match load_str("t.ron", &text(announce)) {
            Err(ConfigError::Invalid(d)) => d.into_iter().map(|d| (d.line, d.field, d.message)).collect(),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("valid: {announce}"),
        }
    }

    #[test]
    fn defaults_and_backends_resolve() {
        let c = load_str("t.ron", &text(r#"vips: ["192.0.2.200", "2001:db8::200/128"], min_servers_up: [(backend: "web", servers: 1)]"#))
            .unwrap_or_else(|e| panic!("{e}"))
            .config;
        let a = c.vrrp.announce.expect("announce");
        assert_eq!(a.interface, "hk-announce");
        assert_eq!(a.vips.len(), 2);
        assert_eq!(a.min_servers_up, vec![(0, 1)]);
        assert_eq!(a.withdraw_wait, Duration::from_secs(1));
        assert!(a.hold_on_lo);
    }

    #[test]
    fn absent_section_announces_nothing() {
        assert!(load_str("t.ron", &format!("({BACKEND})")).unwrap_or_else(|e| panic!("{e}")).config.vrrp.announce.is_none());
    }

    #[test]
    fn bad_values_are_named_by_field_and_line() {
        let found = errors(
            "vips: [\"192.0.2.0/24\", \"192.0.2.200\", \"192.0.2.200\", \"nope\"],\n interface: \"this-name-is-too-long\",\n \
             min_servers_up: [(backend: \"db\", servers: 1), (backend: \"web\", servers: 3)], withdraw_wait: \"1m\"",
        );
        let fields: Vec<&str> = found.iter().map(|(_, f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "announce.interface",
                "announce.vips[0]",
                "announce.vips[2]",
                "announce.vips[3]",
                "announce.min_servers_up[0].backend",
                "announce.min_servers_up[1].servers",
                "announce.withdraw_wait"
            ]
        );
        assert!(found[1].2.contains("host route, /32"), "{found:?}");
        assert!(found[2].2.contains("listed twice"), "{found:?}");
        assert_eq!(found[0].0, 3, "the interface is on line 3: {found:?}");
    }

    #[test]
    fn empty_vips_and_a_vrrp_vip_are_refused() {
        assert_eq!(errors("vips: []")[0].1, "announce.vips");
        let text = format!(
            "({BACKEND} vrrp: (instances: [(name: \"v\", interface: \"eth0\", vrid: 1, priority: 100, vips: [\"192.0.2.200\"])]),\n \
             announce: (vips: [\"192.0.2.200\"]))"
        );
        match load_str("t.ron", &text) {
            Err(ConfigError::Invalid(d)) => assert!(d[0].message.contains("also a VRRP VIP"), "{d:?}"),
            _ => panic!("a VIP both announced and moved by VRRP was accepted"),
        }
    }
}
