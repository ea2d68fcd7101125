//! Unsolicited neighbour advertisements (RFC 4861 §7.2.6), IPv6's gratuitous ARP: sent to
//! ff02::1 with hop limit 255 and the Override flag, so neighbours repoint the VIP at our MAC.

use crate::error::VrrpError;
use crate::sockopt;
use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn6};
use std::io::IoSlice;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};

pub const NA_LEN: usize = 32;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const TYPE_NEIGHBOUR_ADVERTISEMENT: u8 = 136;
const FLAG_OVERRIDE: u8 = 0x20;
const OPTION_TARGET_LINK_ADDRESS: u8 = 2;

/// The ICMPv6 message (the kernel fills in the checksum).
pub fn advertisement(mac: [u8; 6], target: Ipv6Addr) -> [u8; NA_LEN] {
    let mut m = [0u8; NA_LEN];
    m[0] = TYPE_NEIGHBOUR_ADVERTISEMENT;
    // Not Solicited, not Router: Override only.
    m[4] = FLAG_OVERRIDE;
    m[8..24].copy_from_slice(&target.octets());
    m[24] = OPTION_TARGET_LINK_ADDRESS;
    m[25] = 1; // length in units of 8 bytes
    m[26..32].copy_from_slice(&mac);
    m
}

pub struct NaSocket {
    fd: OwnedFd,
}

impl NaSocket {
    pub fn open() -> Result<NaSocket, VrrpError> {
        let err = |what: &'static str| move |source| VrrpError::Socket { what, iface: "*".into(), source };
        let fd = sockopt::raw_socket(libc::AF_INET6, libc::IPPROTO_ICMPV6).map_err(err("ICMPv6 socket for neighbour advertisements"))?;
        // Neighbours ignore neighbour discovery that did not arrive with hop limit 255.
        sockopt::set(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, &255i32).map_err(err("IPV6_MULTICAST_HOPS"))?;
        Ok(NaSocket { fd })
    }

    pub fn send(&self, ifindex: u32, src: Ipv6Addr, message: &[u8]) -> Result<(), Errno> {
        let info = libc::in6_pktinfo { ipi6_addr: libc::in6_addr { s6_addr: src.octets() }, ipi6_ifindex: ifindex };
        let iov = [IoSlice::new(message)];
        let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
        let to = SockaddrIn6::from(SocketAddrV6::new(ALL_NODES, 0, 0, ifindex));
        sendmsg(self.fd.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&to)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertisement_layout() {
        let mac = [0x02, 0, 0xc0, 0, 0x02, 0x0b];
        let m = advertisement(mac, "2001:db8::100".parse().unwrap());
        assert_eq!(&m[..8], &[136, 0, 0, 0, 0x20, 0, 0, 0]);
        assert_eq!(&m[8..24], &"2001:db8::100".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(&m[24..], &[2, 1, 0x02, 0, 0xc0, 0, 0x02, 0x0b]);
    }
}
