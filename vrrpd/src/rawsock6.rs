//! The raw IPv6 socket (next header 112) for VRRPv3 over IPv6 on one interface.
//!
//! IPv6 raw sockets deliver no header, so the hop limit and destination come as control
//! messages (IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO). With IPV6_CHECKSUM the kernel fills in the
//! checksum (pseudo-header included) on send and drops bad ones on receipt.

use crate::checksum::IPPROTO_VRRP;
use crate::error::VrrpError;
use crate::packet::MULTICAST_V6;
use crate::rawsock::sock_err;
use crate::sockopt;
use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, setsockopt, sockopt as nixopt, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6};
use std::ffi::OsString;
use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// Offset of the checksum in a VRRP message, for IPV6_CHECKSUM.
const CHECKSUM_OFFSET: libc::c_int = 6;

pub struct VrrpSocketV6 {
    fd: OwnedFd,
    ifindex: u32,
}

/// One received message with what the IPv6 layer told us.
#[derive(Debug, Clone, Copy)]
pub struct Received6 {
    pub len: usize,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
}

fn in6(addr: Ipv6Addr) -> libc::in6_addr {
    libc::in6_addr { s6_addr: addr.octets() }
}

impl VrrpSocketV6 {
    pub fn open(iface: &str, ifindex: u32, join_multicast: bool) -> Result<VrrpSocketV6, VrrpError> {
        let fd = sockopt::raw_socket(libc::AF_INET6, libc::c_int::from(IPPROTO_VRRP)).map_err(sock_err("raw VRRP IPv6 socket", iface))?;
        setsockopt(&fd, nixopt::BindToDevice, &OsString::from(iface)).map_err(sock_err("SO_BINDTODEVICE", iface))?;
        let int = |option: libc::c_int, value: libc::c_int| sockopt::set(&fd, libc::IPPROTO_IPV6, option, &value);
        int(libc::IPV6_CHECKSUM, CHECKSUM_OFFSET).map_err(sock_err("IPV6_CHECKSUM", iface))?;
        int(libc::IPV6_UNICAST_HOPS, 255).map_err(sock_err("IPV6_UNICAST_HOPS", iface))?;
        int(libc::IPV6_MULTICAST_HOPS, 255).map_err(sock_err("IPV6_MULTICAST_HOPS", iface))?;
        int(libc::IPV6_MULTICAST_LOOP, 0).map_err(sock_err("IPV6_MULTICAST_LOOP", iface))?;
        int(libc::IPV6_MULTICAST_IF, ifindex as libc::c_int).map_err(sock_err("IPV6_MULTICAST_IF", iface))?;
        int(libc::IPV6_RECVHOPLIMIT, 1).map_err(sock_err("IPV6_RECVHOPLIMIT", iface))?;
        int(libc::IPV6_RECVPKTINFO, 1).map_err(sock_err("IPV6_RECVPKTINFO", iface))?;
        if join_multicast {
            let mreq = libc::ipv6_mreq { ipv6mr_multiaddr: in6(MULTICAST_V6), ipv6mr_interface: ifindex };
            sockopt::set(&fd, libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)
                .map_err(sock_err("IPV6_ADD_MEMBERSHIP ff02::12", iface))?;
        }
        Ok(VrrpSocketV6 { fd, ifindex })
    }

    /// Sends one VRRP message from `src` (normally the link-local address) to `dst`.
    pub fn send(&self, src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Result<(), Errno> {
        let info = libc::in6_pktinfo { ipi6_addr: in6(src), ipi6_ifindex: self.ifindex };
        let iov = [IoSlice::new(payload)];
        let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
        let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, self.ifindex));
        loop {
            match sendmsg(self.fd.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&to)) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    /// One message, or `None` when nothing is queued. A message without its control data
    /// reports hop limit 0 and destination `::`, which validation rejects.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<Received6>, Errno> {
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        loop {
            let mut iov = [IoSliceMut::new(buf)];
            match recvmsg::<SockaddrIn6>(self.fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()) {
                Ok(msg) => {
                    let mut out = Received6 {
                        len: msg.bytes,
                        src: msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED),
                        dst: Ipv6Addr::UNSPECIFIED,
                        hop_limit: 0,
                    };
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            match c {
                                ControlMessageOwned::Ipv6HopLimit(h) => out.hop_limit = u8::try_from(h).unwrap_or(0),
                                ControlMessageOwned::Ipv6PacketInfo(info) => out.dst = Ipv6Addr::from(info.ipi6_addr.s6_addr),
                                _ => {}
                            }
                        }
                    }
                    return Ok(Some(out));
                }
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsFd for VrrpSocketV6 {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
