//! Making the PROXY header a server gets first (`send-proxy`, `send-proxy-v2`,
//! `check-send-proxy`), as HAProxy 2.6's `make_proxy_line_v1()` / `make_proxy_line_v2()`:
//!
//! - an IPv4 source and an IPv6 destination (or the reverse) are both written as IPv6, the IPv4
//!   one mapped (`::ffff:a.b.c.d`), since a header has one family;
//! - version 2 TLVs (ALPN, and what `proxy-v2-options` asks for) are added by [`super::tlv`];
//! - a connection the proxy opens on its own (a health check) gets a version 2 `LOCAL` header
//!   with no address, or a version 1 line with the check connection's own addresses.

use super::V2_SIGNATURE;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// Which header a server expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    /// `send-proxy`: the text line.
    V1,
    /// `send-proxy-v2`: the binary header.
    V2,
}

/// Both addresses in one family: as they are when they share it, else both IPv6.
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    if src.is_ipv4() == dst.is_ipv4() {
        (src, dst)
    } else {
        (v6(src), v6(dst))
    }
}

/// `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n`.
pub fn v1(src: SocketAddr, dst: SocketAddr) -> String {
    let (src, dst) = same_family(src, dst);
    let proto = if src.is_ipv4() { "TCP4" } else { "TCP6" };
    format!("PROXY {proto} {} {} {} {}\r\n", src.ip(), dst.ip(), src.port(), dst.port())
}

/// A version 2 `PROXY` header over TCP (family 0x11 or 0x21), without TLVs.
pub fn v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let mut h = Vec::with_capacity(52);
    h.extend_from_slice(&V2_SIGNATURE);
    h.push(0x21);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            h.extend_from_slice(&[0x11, 0, 12]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V6(v6) => v6.octets(),
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            };
            h.extend_from_slice(&[0x21, 0, 36]);
            h.extend_from_slice(&v6(s));
            h.extend_from_slice(&v6(d));
        }
    }
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h
}

/// A version 2 `LOCAL` header (family UNSPEC, no address): what HAProxy sends on a
/// connection it opened itself, such as a health check.
pub fn v2_local() -> Vec<u8> {
    let mut h = V2_SIGNATURE.to_vec();
    h.extend_from_slice(&[0x20, 0x00, 0, 0]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_lines() {
        assert_eq!(v1(sa("192.0.2.7:40000"), sa("10.0.0.5:8066")), "PROXY TCP4 192.0.2.7 10.0.0.5 40000 8066\r\n");
        assert_eq!(v1(sa("[2001:db8::7]:1"), sa("[::1]:80")), "PROXY TCP6 2001:db8::7 ::1 1 80\r\n");
        assert_eq!(v1(sa("192.0.2.7:1"), sa("[::1]:80")), "PROXY TCP6 ::ffff:192.0.2.7 ::1 1 80\r\n");
    }

    #[test]
    fn v2_bytes() {
        let h = v2(sa("192.0.2.7:40000"), sa("10.0.0.5:8066"));
        let mut want = V2_SIGNATURE.to_vec();
        want.extend_from_slice(&[0x21, 0x11, 0, 12, 192, 0, 2, 7, 10, 0, 0, 5, 0x9c, 0x40, 0x1f, 0x82]);
        assert_eq!(h, want);
        let h6 = v2(sa("[2001:db8::7]:1"), sa("10.0.0.5:2"));
        assert_eq!(h6.len(), 16 + 36);
        assert_eq!(&h6[13..16], &[0x21, 0, 36]);
        assert_eq!(&h6[32 + 10..32 + 16], &[0xff, 0xff, 10, 0, 0, 5], "the IPv4 destination mapped");
        assert_eq!(v2_local(), [&V2_SIGNATURE[..], &[0x20, 0, 0, 0]].concat());
    }
}
