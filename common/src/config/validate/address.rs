//! The address forms of the config: a bind address, a server address, a VRRP virtual address.

use crate::config::model::VipAddr;
use std::net::{IpAddr, SocketAddr};

/// Parses a listening address as HAProxy writes it: `*:80`, `:80`, `1.2.3.4:80`, `[::1]:80`.
pub fn parse_bind(text: &str) -> Result<SocketAddr, String> {
    let fixed = if let Some(port) = text.strip_prefix("*:") {
        format!("0.0.0.0:{port}")
    } else if let Some(port) = text.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else {
        text.to_string()
    };
    let addr: SocketAddr = fixed.parse().map_err(|_| format!("invalid address {text:?}: expected IP:PORT, *:PORT or [IPv6]:PORT"))?;
    if addr.port() == 0 {
        return Err(format!("invalid address {text:?}: port 0"));
    }
    Ok(addr)
}

pub(super) fn parse_server_addr(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.parse().map_err(|_| format!("invalid server address {text:?}: expected IP:PORT or [IPv6]:PORT"))?;
    if addr.port() == 0 {
        return Err(format!("invalid server address {text:?}: port 0"));
    }
    if addr.ip().is_unspecified() {
        return Err(format!("invalid server address {text:?}: unspecified IP"));
    }
    Ok(addr)
}

/// Settings a proxy inherits from `defaults` unless it sets them itself.
pub(super) fn parse_vip(text: &str) -> Result<VipAddr, String> {
    let (ip, prefix) = match text.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = ip.trim().parse().map_err(|_| format!("invalid virtual address {text:?}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match prefix {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|n| *n <= max).ok_or_else(|| format!("invalid prefix length in {text:?}"))?,
    };
    Ok(VipAddr { addr, prefix_len })
}
