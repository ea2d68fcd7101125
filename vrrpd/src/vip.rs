//! Adds and removes virtual addresses with rtnetlink (RTM_NEWADDR / RTM_DELADDR), the way
//! `ip addr add VIP/32 dev IF` does, without running `ip`.

use crate::error::VrrpError;
use hakeeper_common::config::VipAddr;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;
use std::net::IpAddr;

/// What happened to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Already there (add) or already gone (remove): nothing to do.
    Unchanged,
}

pub struct AddrControl {
    sock: Socket,
    seq: u32,
}

impl AddrControl {
    pub fn open() -> Result<AddrControl, VrrpError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| VrrpError::Netlink(format!("cannot open an rtnetlink socket: {e}")))?;
        sock.bind_auto().map_err(|e| VrrpError::Netlink(format!("cannot bind the rtnetlink socket: {e}")))?;
        sock.connect(&SocketAddr::new(0, 0)).map_err(|e| VrrpError::Netlink(format!("cannot connect to the kernel: {e}")))?;
        // The kernel answers at once; the bound only guards the event loop against the unexpected.
        setsockopt(&sock, sockopt::ReceiveTimeout, &TimeVal::new(1, 0))
            .map_err(|e| VrrpError::Netlink(format!("cannot set a receive timeout: {e}")))?;
        Ok(AddrControl { sock, seq: 0 })
    }

    pub fn add(&mut self, ifindex: u32, vip: &VipAddr) -> Result<Outcome, VrrpError> {
        let msg = RouteNetlinkMessage::NewAddress(address_message(ifindex, vip));
        match self.request(msg, NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => Ok(Outcome::Done),
            Err(libc::EEXIST) => Ok(Outcome::Unchanged),
            Err(e) => Err(VrrpError::Netlink(format!("cannot add {}/{}: {}", vip.addr, vip.prefix_len, nix::errno::Errno::from_raw(e)))),
        }
    }

    pub fn remove(&mut self, ifindex: u32, vip: &VipAddr) -> Result<Outcome, VrrpError> {
        let msg = RouteNetlinkMessage::DelAddress(address_message(ifindex, vip));
        match self.request(msg, 0) {
            Ok(()) => Ok(Outcome::Done),
            Err(libc::EADDRNOTAVAIL) | Err(libc::ENODEV) => Ok(Outcome::Unchanged),
            Err(e) => Err(VrrpError::Netlink(format!("cannot remove {}/{}: {}", vip.addr, vip.prefix_len, nix::errno::Errno::from_raw(e)))),
        }
    }

    /// Sends one request and waits for its acknowledgement; `Err(errno)` on a NACK or I/O error.
    fn request(&mut self, inner: RouteNetlinkMessage, flags: u16) -> Result<(), i32> {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = NetlinkMessage::from(inner);
        msg.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        msg.header.sequence_number = self.seq;
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.sock.send(&buf, 0).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        loop {
            let mut rx: Vec<u8> = Vec::with_capacity(32 * 1024);
            let n = self.sock.recv(&mut rx, 0).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
            rx.truncate(n);
            let mut offset = 0;
            while offset < rx.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[offset..]).map_err(|_| libc::EPROTO)?;
                let len = reply.header.length as usize;
                if reply.header.sequence_number == self.seq {
                    if let NetlinkPayload::Error(err) = reply.payload {
                        return match err.code {
                            None => Ok(()),
                            Some(code) => Err(-code.get()),
                        };
                    }
                }
                if len == 0 {
                    break;
                }
                offset += (len + 3) & !3;
            }
        }
    }
}

fn address_message(ifindex: u32, vip: &VipAddr) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = if vip.addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    msg.header.prefix_len = vip.prefix_len;
    msg.header.scope = AddressScope::Universe;
    msg.header.index = ifindex;
    match vip.addr {
        IpAddr::V4(_) => {
            msg.attributes.push(AddressAttribute::Local(vip.addr));
            msg.attributes.push(AddressAttribute::Address(vip.addr));
        }
        IpAddr::V6(_) => {
            // No duplicate address detection: a VIP must work the moment we are master.
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes.push(AddressAttribute::Address(vip.addr));
            msg.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
    }
    msg
}
