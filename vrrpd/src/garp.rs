//! Gratuitous ARP: a broadcast ARP request with sender IP = target IP = the VIP, from the
//! interface's own MAC (keepalived without `use_vmac`). Neighbours update their caches to the
//! new master. Sent on an AF_PACKET socket opened with protocol 0, so it receives nothing.

use crate::error::VrrpError;
use nix::errno::Errno;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

pub const FRAME_LEN: usize = 42;
const ETH_P_ARP: u16 = 0x0806;
const BROADCAST: [u8; 6] = [0xff; 6];

/// Ethernet + ARP request announcing `ip` at `mac`.
pub fn announcement(mac: [u8; 6], ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    // htype Ethernet, ptype IPv4, hlen 6, plen 4, op request.
    f[14..22].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    // Target hardware address stays zero (unknown), as in a normal request.
    f[38..42].copy_from_slice(&ip.octets());
    f
}

pub struct GarpSocket {
    fd: OwnedFd,
}

impl GarpSocket {
    pub fn open() -> Result<GarpSocket, VrrpError> {
        // SAFETY: plain socket(2); protocol 0 = send only. The result is checked before it is owned.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
        if raw < 0 {
            return Err(VrrpError::Socket { what: "AF_PACKET socket for gratuitous ARP", iface: "*".into(), source: Errno::last() });
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        Ok(GarpSocket { fd: unsafe { OwnedFd::from_raw_fd(raw) } })
    }

    pub fn send(&self, ifindex: u32, frame: &[u8]) -> Result<(), Errno> {
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ARP.to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&BROADCAST);
        // SAFETY: valid descriptor, buffer and address of the stated sizes.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Errno::last());
        }
        Ok(())
    }
}

/// Spaces the packets of a burst by `vrrp_garp_interval` (0 = all at once).
#[derive(Debug, Default)]
pub struct GarpPacer {
    pending: u32,
    next: Option<Instant>,
}

impl GarpPacer {
    pub fn schedule(&mut self, count: u32, now: Instant) {
        self.pending = self.pending.saturating_add(count);
        if self.next.is_none() {
            self.next = Some(now);
        }
    }

    pub fn cancel(&mut self) {
        self.pending = 0;
        self.next = None;
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.next
    }

    /// How many rounds (one packet per VIP each) are due now.
    pub fn due(&mut self, now: Instant, interval: Duration) -> u32 {
        match self.next {
            Some(t) if t <= now && self.pending > 0 => {
                let n = if interval.is_zero() { self.pending } else { 1 };
                self.pending -= n;
                self.next = if self.pending > 0 { Some(now + interval) } else { None };
                n
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcement_matches_a_captured_gratuitous_arp() {
        let mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
        let f = announcement(mac, Ipv4Addr::new(192, 0, 2, 100));
        let expected: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x08, 0x06, // Ethernet
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // ARP request
            0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 192, 0, 2, 100, // sender
            0, 0, 0, 0, 0, 0, 192, 0, 2, 100, // target
        ];
        assert_eq!(f, expected);
    }

    #[test]
    fn pacer_sends_a_burst_at_once_without_interval() {
        let t = Instant::now();
        let mut p = GarpPacer::default();
        p.schedule(5, t);
        assert_eq!(p.due(t, Duration::ZERO), 5);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn pacer_spaces_packets_by_the_interval() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut p = GarpPacer::default();
        p.schedule(3, t);
        assert_eq!(p.due(t, ms(100)), 1);
        assert_eq!(p.due(t + ms(50), ms(100)), 0);
        assert_eq!(p.due(t + ms(100), ms(100)), 1);
        assert_eq!(p.due(t + ms(200), ms(100)), 1);
        assert_eq!(p.deadline(), None);
        p.schedule(2, t);
        p.cancel();
        assert_eq!(p.due(t + ms(300), ms(100)), 0);
    }
}
