//! What vrrpd needs to know about a network interface: index, MAC, addresses, link state.
//! Read with getifaddrs (netlink underneath), in whatever namespace vrrpd runs.

use crate::error::VrrpError;
use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceInfo {
    pub index: u32,
    pub mac: Option<[u8; 6]>,
    /// In the kernel's order: the first is the primary address.
    pub v4: Vec<Ipv4Addr>,
    pub v6_link_local: Option<Ipv6Addr>,
    /// Administratively up with carrier.
    pub up: bool,
}

/// Every interface of the namespace, by name.
pub fn snapshot() -> Result<HashMap<String, IfaceInfo>, VrrpError> {
    let addrs = getifaddrs().map_err(|e| VrrpError::Interface { name: "*".into(), reason: format!("getifaddrs: {e}") })?;
    let mut out: HashMap<String, IfaceInfo> = HashMap::new();
    for a in addrs {
        let info = out.entry(a.interface_name.clone()).or_default();
        info.up = a.flags.contains(InterfaceFlags::IFF_UP) && a.flags.contains(InterfaceFlags::IFF_RUNNING);
        let Some(addr) = a.address else { continue };
        if let Some(sin) = addr.as_sockaddr_in() {
            info.v4.push(sin.ip());
        } else if let Some(sin6) = addr.as_sockaddr_in6() {
            let ip = sin6.ip();
            if ip.segments()[0] & 0xffc0 == 0xfe80 && info.v6_link_local.is_none() {
                info.v6_link_local = Some(ip);
            }
        } else if let Some(link) = addr.as_link_addr() {
            info.index = link.ifindex() as u32;
            info.mac = link.addr();
        }
    }
    Ok(out)
}

/// One interface, which must exist.
pub fn lookup(name: &str) -> Result<IfaceInfo, VrrpError> {
    snapshot()?
        .remove(name)
        .filter(|i| i.index != 0)
        .ok_or_else(|| VrrpError::Interface { name: name.into(), reason: "no such interface".into() })
}
