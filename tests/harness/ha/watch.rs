//! Watchers for a binary upgrade of the master: a thread in a host's namespace that samples
//! whether the VIP is on its eth0 every 2 ms (getifaddrs, netlink, no process spawned), and one
//! that receives every VRRP advert on a host (raw socket, IP protocol 112) with its time,
//! source and priority.

use super::backends::enter_netns;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the VIP sampler saw: how many samples, and the stretches without the VIP.
#[derive(Debug, Default)]
pub struct VipSamples {
    pub samples: u64,
    pub absent: u64,
    /// The longest stretch without the VIP.
    pub longest_gap: Duration,
}

/// One advert received: when, from where, with which priority.
#[derive(Debug, Clone, Copy)]
pub struct Advert {
    pub at: Instant,
    pub src: Ipv4Addr,
    pub priority: u8,
}

/// Samples `vip` on `ns`'s interfaces every 2 ms until `stop` (bounded by `limit`).
pub fn sample_vip(ns: &str, vip: Ipv4Addr, stop: Arc<AtomicBool>, limit: Duration) -> JoinHandle<Result<VipSamples, String>> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter_netns(&ns).map_err(|e| format!("setns {ns}: {e}"))?;
        let end = Instant::now() + limit;
        let mut s = VipSamples::default();
        let mut absent_since: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            let now = Instant::now();
            let held = nix::ifaddrs::getifaddrs()
                .map_err(|e| format!("getifaddrs: {e}"))?
                .any(|a| a.address.and_then(|x| x.as_sockaddr_in().map(|i| i.ip())) == Some(vip));
            s.samples += 1;
            match (held, absent_since) {
                (false, None) => {
                    s.absent += 1;
                    absent_since = Some(now);
                }
                (false, Some(_)) => s.absent += 1,
                (true, Some(t)) => {
                    s.longest_gap = s.longest_gap.max(now - t);
                    absent_since = None;
                }
                (true, None) => {}
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(t) = absent_since {
            s.longest_gap = s.longest_gap.max(Instant::now() - t);
        }
        Ok(s)
    })
}

/// Receives VRRP adverts in `ns` until `stop` (bounded by `limit`).
pub fn capture_adverts(ns: &str, stop: Arc<AtomicBool>, limit: Duration) -> JoinHandle<Result<Vec<Advert>, String>> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter_netns(&ns).map_err(|e| format!("setns {ns}: {e}"))?;
        // SOCK_RAW for protocol 112: every VRRP packet this host receives, IP header included.
        // SAFETY: socket(2) with constant arguments; the descriptor is owned below.
        let fd = unsafe { nix::libc::socket(nix::libc::AF_INET, nix::libc::SOCK_RAW, 112) };
        if fd < 0 {
            return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let tv = nix::sys::time::TimeVal::new(0, 50_000);
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReceiveTimeout, &tv).map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
        let end = Instant::now() + limit;
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            // SAFETY: recv into a buffer we own, of its length.
            let n = unsafe { nix::libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                continue;
            }
            let pkt = &buf[..n as usize];
            let ihl = usize::from(pkt[0] & 0x0f) * 4;
            if pkt.len() < ihl + 4 {
                continue;
            }
            let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
            seen.push(Advert { at: Instant::now(), src, priority: pkt[ihl + 2] });
        }
        Ok(seen)
    })
}
