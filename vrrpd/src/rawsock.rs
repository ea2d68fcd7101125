//! The raw IPv4 socket (protocol 112) that carries one interface's adverts, both ways.
//!
//! The kernel builds the IP header; the socket options make it VRRP's: TTL 255 for unicast and
//! multicast (a kernel default of 1 for multicast makes keepalived drop us), TOS 0xc0 as
//! keepalived, no multicast loopback, bound to the device. The source address is chosen per
//! packet with IP_PKTINFO: binding the socket to it would filter out adverts sent to 224.0.0.18.

use crate::checksum::IPPROTO_VRRP;
use crate::error::VrrpError;
use crate::packet::MULTICAST_V4;
use crate::sockopt;
use nix::errno::Errno;
use nix::sys::socket::{recv, sendmsg, setsockopt, sockopt as nixopt, ControlMessage, MsgFlags, SockaddrIn};
use std::ffi::OsString;
use std::io::IoSlice;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub struct VrrpSocketV4 {
    fd: OwnedFd,
    ifindex: u32,
}

pub(crate) fn sock_err<'a>(what: &'static str, iface: &'a str) -> impl FnOnce(Errno) -> VrrpError + 'a {
    move |source| VrrpError::Socket { what, iface: iface.to_string(), source }
}

/// Sets an IPv4 option whose value is an `ip_mreqn` naming the interface by index.
fn set_mreqn(fd: &OwnedFd, option: libc::c_int, group: Ipv4Addr, ifindex: u32) -> Result<(), Errno> {
    let mreq = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: u32::from(group).to_be() },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as libc::c_int,
    };
    sockopt::set(fd, libc::IPPROTO_IP, option, &mreq)
}

impl VrrpSocketV4 {
    /// Opens the socket on `iface`; joins 224.0.0.18 there when some instance uses multicast.
    pub fn open(iface: &str, ifindex: u32, join_multicast: bool) -> Result<VrrpSocketV4, VrrpError> {
        let fd = sockopt::raw_socket(libc::AF_INET, libc::c_int::from(IPPROTO_VRRP)).map_err(sock_err("raw VRRP socket", iface))?;
        setsockopt(&fd, nixopt::BindToDevice, &OsString::from(iface)).map_err(sock_err("SO_BINDTODEVICE", iface))?;
        setsockopt(&fd, nixopt::Ipv4Ttl, &255).map_err(sock_err("IP_TTL", iface))?;
        setsockopt(&fd, nixopt::IpMulticastTtl, &255).map_err(sock_err("IP_MULTICAST_TTL", iface))?;
        setsockopt(&fd, nixopt::IpMulticastLoop, &false).map_err(sock_err("IP_MULTICAST_LOOP", iface))?;
        setsockopt(&fd, nixopt::Ipv4Tos, &0xc0).map_err(sock_err("IP_TOS", iface))?;
        set_mreqn(&fd, libc::IP_MULTICAST_IF, Ipv4Addr::UNSPECIFIED, ifindex).map_err(sock_err("IP_MULTICAST_IF", iface))?;
        if join_multicast {
            set_mreqn(&fd, libc::IP_ADD_MEMBERSHIP, MULTICAST_V4, ifindex).map_err(sock_err("IP_ADD_MEMBERSHIP 224.0.0.18", iface))?;
        }
        Ok(VrrpSocketV4 { fd, ifindex })
    }

    /// Sends one VRRP message from `src` to `dst`.
    pub fn send(&self, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Result<(), Errno> {
        let info = libc::in_pktinfo {
            ipi_ifindex: self.ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr { s_addr: u32::from(src).to_be() },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let iov = [IoSlice::new(payload)];
        let cmsg = [ControlMessage::Ipv4PacketInfo(&info)];
        let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
        loop {
            match sendmsg(self.fd.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&to)) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    /// One datagram (IP header included), or `None` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        loop {
            match recv(self.fd.as_raw_fd(), buf, MsgFlags::empty()) {
                Ok(n) => return Ok(Some(n)),
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsFd for VrrpSocketV4 {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
