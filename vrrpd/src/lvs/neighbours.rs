//! DR needs the MACs of the real servers and of the interface: read from the interface's
//! neighbour table (`ip -j neigh show dev IFACE`) and its link (`ip -j link show dev IFACE`),
//! as IPVS' DR transmitter resolves the real server through the neighbour layer. Health checks
//! run from this host keep those entries fresh; an entry not (yet) resolved leaves its real
//! server out of the ruleset with a note, until a later resolution.

use super::applier::{Applier, ApplyError};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// A link-layer address.
pub type Mac = [u8; 6];

/// An interface's own MAC and its IPv4 neighbours'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub own: Mac,
    pub neighbours: HashMap<Ipv4Addr, Mac>,
}

/// `aa:bb:cc:dd:ee:ff` → bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// IPv4 neighbours with a usable link-layer address (not FAILED nor INCOMPLETE) from
/// `ip -j neigh show` output.
pub fn parse_neighbours(json: &str) -> Result<HashMap<Ipv4Addr, [u8; 6]>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let list = v.as_array().ok_or("not a JSON array")?;
    let mut out = HashMap::new();
    for n in list {
        let states: Vec<&str> =
            n.get("state").and_then(|s| s.as_array()).map(|a| a.iter().filter_map(|s| s.as_str()).collect()).unwrap_or_default();
        if states.iter().any(|s| matches!(*s, "FAILED" | "INCOMPLETE")) {
            continue;
        }
        let ip = n.get("dst").and_then(|d| d.as_str()).and_then(|d| d.parse::<Ipv4Addr>().ok());
        let mac = n.get("lladdr").and_then(|m| m.as_str()).and_then(parse_mac);
        if let (Some(ip), Some(mac)) = (ip, mac) {
            out.insert(ip, mac);
        }
    }
    Ok(out)
}

/// The interface's own MAC from `ip -j link show dev IFACE` output.
pub fn parse_link_mac(json: &str) -> Result<[u8; 6], String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    v.as_array()
        .and_then(|a| a.first())
        .and_then(|l| l.get("address"))
        .and_then(|a| a.as_str())
        .and_then(parse_mac)
        .ok_or_else(|| "no link-layer address".to_string())
}

/// Runs `ip` (or a command ending with it, e.g. `ip netns exec NS ip`).
#[derive(Debug, Clone)]
pub struct Resolver {
    runner: Applier,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver { runner: Applier::with_command(vec!["ip".into()]) }
    }
}

impl Resolver {
    pub fn with_command(command: Vec<String>) -> Resolver {
        Resolver { runner: Applier::with_command(command) }
    }

    /// The interface's MAC and its IPv4 neighbours.
    pub fn resolve(&self, iface: &str) -> Result<Segment, ApplyError> {
        let link = self.runner.output(&["-j", "link", "show", "dev", iface])?;
        let neigh = self.runner.output(&["-j", "-4", "neigh", "show", "dev", iface])?;
        let bad = |reason: String| ApplyError::Output { command: format!("ip -j … dev {iface}"), reason };
        Ok(Segment { own: parse_link_mac(&link).map_err(bad)?, neighbours: parse_neighbours(&neigh).map_err(bad)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_neighbours_are_read_and_failed_ones_skipped() {
        let json = r#"[{"dst":"192.0.2.11","dev":"eth0","lladdr":"02:00:00:00:03:0b","state":["REACHABLE"]},
            {"dst":"192.0.2.12","dev":"eth0","lladdr":"02:00:00:00:03:0c","state":["STALE"]},
            {"dst":"192.0.2.13","dev":"eth0","state":["FAILED"]},
            {"dst":"192.0.2.14","dev":"eth0","state":["INCOMPLETE"]},
            {"dst":"fe80::1","dev":"eth0","lladdr":"02:00:00:00:03:01","state":["STALE"]}]"#;
        let n = parse_neighbours(json).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n.get(&Ipv4Addr::new(192, 0, 2, 12)), Some(&[2, 0, 0, 0, 3, 0x0c]));
        assert!(parse_neighbours("{").is_err());
    }

    #[test]
    fn macs_and_link_addresses_parse() {
        assert_eq!(parse_mac("02:00:c0:00:02:0b"), Some([2, 0, 0xc0, 0, 2, 0x0b]));
        assert_eq!(parse_mac("02:00:c0:00:02"), None);
        assert_eq!(parse_mac("02:00:c0:00:02:0b:01"), None);
        assert_eq!(parse_mac("zz:00:c0:00:02:0b"), None);
        assert_eq!(parse_link_mac(r#"[{"ifname":"eth0","address":"02:00:00:00:03:01"}]"#), Ok([2, 0, 0, 0, 3, 1]));
        assert!(parse_link_mac("[]").is_err());
    }
}
