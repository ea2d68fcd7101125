//! Checks a received advertisement against the instance it is for, as keepalived does
//! (`vrrp_check_packet`): a packet that fails is dropped and counted by reason. A dropped advert
//! resets no timer, so a mismatched peer becomes a second master, exactly as with keepalived.

use crate::packet::{Advert, Auth, ChecksumScope, DecodeError, Version};
use crate::state::Received;
use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The IP header is malformed or not VRRP.
    IpHeader,
    /// No instance on this interface has the packet's VRID (ignored silently, as keepalived).
    UnknownVrid,
    /// Our own packet (looped back, or echoed by a switch).
    Own,
    Ttl,
    /// Multicast received by a unicast instance, or the reverse.
    Mode,
    Length,
    Version,
    Type,
    Checksum,
    AuthType,
    Password,
    Interval,
    AddressCount,
    AddressList,
}

impl DropReason {
    pub const ALL: [DropReason; 14] = [
        DropReason::IpHeader,
        DropReason::UnknownVrid,
        DropReason::Own,
        DropReason::Ttl,
        DropReason::Mode,
        DropReason::Length,
        DropReason::Version,
        DropReason::Type,
        DropReason::Checksum,
        DropReason::AuthType,
        DropReason::Password,
        DropReason::Interval,
        DropReason::AddressCount,
        DropReason::AddressList,
    ];

    fn index(self) -> usize {
        DropReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// A stable name for counters (stats page, metrics labels).
    pub fn key(self) -> &'static str {
        match self {
            DropReason::IpHeader => "ip_header",
            DropReason::UnknownVrid => "unknown_vrid",
            DropReason::Own => "own",
            DropReason::Ttl => "ttl",
            DropReason::Mode => "mode",
            DropReason::Length => "length",
            DropReason::Version => "version",
            DropReason::Type => "type",
            DropReason::Checksum => "checksum",
            DropReason::AuthType => "auth_type",
            DropReason::Password => "password",
            DropReason::Interval => "interval",
            DropReason::AddressCount => "address_count",
            DropReason::AddressList => "address_list",
        }
    }

    /// Whether an operator should hear about it: misconfigured peers yes, noise no.
    pub fn worth_logging(self) -> bool {
        !matches!(self, DropReason::UnknownVrid | DropReason::Own)
    }

    fn from_decode(e: &DecodeError) -> DropReason {
        match e {
            DecodeError::Truncated(_) | DecodeError::Length { .. } => DropReason::Length,
            DecodeError::Version(_) | DecodeError::V2OverIpv6 => DropReason::Version,
            DecodeError::Type(_) => DropReason::Type,
            DecodeError::Checksum { .. } => DropReason::Checksum,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::IpHeader => "malformed IP header",
            DropReason::UnknownVrid => "unknown VRID",
            DropReason::Own => "own packet",
            DropReason::Ttl => "TTL/hop limit is not 255",
            DropReason::Mode => "unicast/multicast mismatch",
            DropReason::Length => "wrong length",
            DropReason::Version => "wrong VRRP version",
            DropReason::Type => "not an advertisement",
            DropReason::Checksum => "bad checksum",
            DropReason::AuthType => "authentication type mismatch",
            DropReason::Password => "password mismatch",
            DropReason::Interval => "advertisement interval mismatch",
            DropReason::AddressCount => "virtual address count mismatch",
            DropReason::AddressList => "virtual address list mismatch",
        })
    }
}

/// A rejected packet with what an operator needs to find the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub reason: DropReason,
    pub detail: String,
}

impl Rejected {
    fn new(reason: DropReason, detail: impl Into<String>) -> Rejected {
        Rejected { reason, detail: detail.into() }
    }
}

/// Drops per reason, and when each was last logged (so a flood cannot flood the log).
#[derive(Debug, Default)]
pub struct DropCounters {
    counts: [u64; DropReason::ALL.len()],
    logged: [Option<Instant>; DropReason::ALL.len()],
}

impl DropCounters {
    /// Counts one drop; returns true when it should be logged now (at most every 10 s per reason).
    pub fn count(&mut self, reason: DropReason, now: Instant) -> bool {
        let i = reason.index();
        self.counts[i] += 1;
        let due = self.logged[i].is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10));
        if due && reason.worth_logging() {
            self.logged[i] = Some(now);
            return true;
        }
        false
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The reasons seen so far with their counts, by stable name.
    pub fn by_reason(&self) -> Vec<(String, u64)> {
        DropReason::ALL.iter().filter(|r| self.get(**r) > 0).map(|r| (r.key().to_string(), self.get(*r))).collect()
    }
}

/// What an instance accepts.
#[derive(Debug, Clone)]
pub struct Expect {
    pub version: Version,
    pub multicast: bool,
    /// v2 only.
    pub auth: Auth,
    /// In the packet's unit; checked for v2 only (keepalived accepts any v3 interval).
    pub interval: u16,
    pub vips: Vec<IpAddr>,
    /// v3 over IPv4: checksum with the pseudo-header (on by default).
    pub pseudo_header: bool,
}

/// A received packet with what the IP layer told us.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    pub payload: &'a [u8],
}

/// An IPv4 datagram as a raw socket delivers it: header, then the VRRP message.
pub fn parse_ipv4(bytes: &[u8]) -> Result<Incoming<'_>, Rejected> {
    if bytes.len() < 20 || bytes[0] >> 4 != 4 {
        return Err(Rejected::new(DropReason::IpHeader, format!("{} bytes, not an IPv4 datagram", bytes.len())));
    }
    let ihl = usize::from(bytes[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if ihl < 20 || ihl > bytes.len() || total < ihl || total > bytes.len() || bytes[9] != crate::checksum::IPPROTO_VRRP {
        return Err(Rejected::new(DropReason::IpHeader, format!("header length {ihl}, total {total}, protocol {}", bytes[9])));
    }
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    Ok(Incoming { src: src.into(), dst: dst.into(), ttl: bytes[8], payload: &bytes[ihl..total] })
}

/// The VRID byte, to find the instance before the packet is decoded.
pub fn peek_vrid(payload: &[u8]) -> Option<u8> {
    payload.get(1).copied()
}

/// Runs keepalived's checks; the advert the state machine may see, or why it was dropped.
pub fn check(pkt: &Incoming<'_>, exp: &Expect) -> Result<Received, Rejected> {
    // keepalived checks the TTL of multicast adverts only, unless min_ttl/max_ttl are set.
    if exp.multicast && pkt.ttl != 255 {
        return Err(Rejected::new(DropReason::Ttl, format!("TTL {}", pkt.ttl)));
    }
    if exp.multicast != pkt.dst.is_multicast() {
        let expected = if exp.multicast { "multicast" } else { "unicast" };
        return Err(Rejected::new(DropReason::Mode, format!("expected {expected}, got a packet for {}", pkt.dst)));
    }
    let scope = match (pkt.src, pkt.dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => ChecksumScope::V6 { src, dst },
        (IpAddr::V4(src), IpAddr::V4(dst)) if exp.pseudo_header => ChecksumScope::V4 { src, dst },
        _ => ChecksumScope::MessageOnly,
    };
    let adv = Advert::decode(pkt.payload, scope).map_err(|e| Rejected::new(DropReason::from_decode(&e), e.to_string()))?;
    if adv.version != exp.version {
        return Err(Rejected::new(DropReason::Version, format!("version {} instead of {}", adv.version.number(), exp.version.number())));
    }
    if adv.version == Version::V2 {
        if adv.auth.kind() != exp.auth.kind() {
            return Err(Rejected::new(DropReason::AuthType, format!("type {} instead of {}", adv.auth.kind(), exp.auth.kind())));
        }
        if adv.auth != exp.auth {
            return Err(Rejected::new(DropReason::Password, "the password differs"));
        }
        if adv.interval != exp.interval {
            return Err(Rejected::new(DropReason::Interval, format!("{} s instead of {} s", adv.interval, exp.interval)));
        }
    }
    if adv.addrs.len() != exp.vips.len() {
        return Err(Rejected::new(DropReason::AddressCount, format!("{} addresses instead of {}", adv.addrs.len(), exp.vips.len())));
    }
    let ours: HashSet<&IpAddr> = exp.vips.iter().collect();
    if let Some(missing) = adv.addrs.iter().find(|a| !ours.contains(a)) {
        return Err(Rejected::new(DropReason::AddressList, format!("{missing} is not one of ours")));
    }
    Ok(Received { src: pkt.src, priority: adv.priority, interval: adv.interval_duration() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::MULTICAST_V4;

    const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 12);
    const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

    fn expect_v2() -> Expect {
        Expect {
            version: Version::V2,
            multicast: true,
            auth: Auth::pass("s3cret"),
            interval: 1,
            vips: vec![VIP.into()],
            pseudo_header: true,
        }
    }

    fn advert_v2() -> Advert {
        Advert { version: Version::V2, vrid: 51, priority: 150, interval: 1, auth: Auth::pass("s3cret"), addrs: vec![VIP.into()] }
    }

    fn bytes(a: &Advert, dst: Ipv4Addr) -> Vec<u8> {
        a.encode(ChecksumScope::V4 { src: PEER, dst }).unwrap()
    }

    fn incoming(payload: &[u8], ttl: u8, dst: Ipv4Addr) -> Incoming<'_> {
        Incoming { src: PEER.into(), dst: dst.into(), ttl, payload }
    }

    fn reason(r: Result<Received, Rejected>) -> DropReason {
        r.map(|_| ()).unwrap_err().reason
    }

    #[test]
    fn a_good_advert_passes() {
        let b = bytes(&advert_v2(), MULTICAST_V4);
        let r = check(&incoming(&b, 255, MULTICAST_V4), &expect_v2()).unwrap();
        assert_eq!(r, Received { src: PEER.into(), priority: 150, interval: Duration::from_secs(1) });
    }

    #[test]
    fn each_mismatch_is_dropped_with_its_reason() {
        let exp = expect_v2();
        let good = advert_v2();
        let cases: Vec<(&str, Advert, DropReason)> = vec![
            ("wrong password", Advert { auth: Auth::pass("wrong"), ..good.clone() }, DropReason::Password),
            ("no auth", Advert { auth: Auth::None, ..good.clone() }, DropReason::AuthType),
            ("AH auth", Advert { auth: Auth::Other { kind: 2, data: [0; 8] }, ..good.clone() }, DropReason::AuthType),
            ("interval", Advert { interval: 2, ..good.clone() }, DropReason::Interval),
            ("count", Advert { addrs: vec![VIP.into(), LOCAL.into()], ..good.clone() }, DropReason::AddressCount),
            ("list", Advert { addrs: vec![LOCAL.into()], ..good.clone() }, DropReason::AddressList),
            ("version", Advert { version: Version::V3, interval: 100, auth: Auth::None, ..good.clone() }, DropReason::Version),
        ];
        for (name, adv, want) in cases {
            let b = bytes(&adv, MULTICAST_V4);
            assert_eq!(reason(check(&incoming(&b, 255, MULTICAST_V4), &exp)), want, "{name}");
        }
    }

    #[test]
    fn multicast_ttl_must_be_255_unicast_is_not_checked() {
        let b = bytes(&advert_v2(), MULTICAST_V4);
        assert_eq!(reason(check(&incoming(&b, 1, MULTICAST_V4), &expect_v2())), DropReason::Ttl);
        let uni = Expect { multicast: false, ..expect_v2() };
        let b = bytes(&advert_v2(), LOCAL);
        assert!(check(&incoming(&b, 64, LOCAL), &uni).is_ok());
    }

    #[test]
    fn mode_must_match() {
        let uni = Expect { multicast: false, ..expect_v2() };
        let b = bytes(&advert_v2(), MULTICAST_V4);
        assert_eq!(reason(check(&incoming(&b, 255, MULTICAST_V4), &uni)), DropReason::Mode);
        let b = bytes(&advert_v2(), LOCAL);
        assert_eq!(reason(check(&incoming(&b, 255, LOCAL), &expect_v2())), DropReason::Mode);
    }

    #[test]
    fn corrupt_and_short_packets_are_dropped() {
        let mut b = bytes(&advert_v2(), MULTICAST_V4);
        b[9] ^= 1;
        assert_eq!(reason(check(&incoming(&b, 255, MULTICAST_V4), &expect_v2())), DropReason::Checksum);
        assert_eq!(reason(check(&incoming(&b[..10], 255, MULTICAST_V4), &expect_v2())), DropReason::Length);
    }

    #[test]
    fn v3_accepts_another_interval_and_checks_the_pseudo_header_by_default() {
        let exp = Expect { version: Version::V3, auth: Auth::None, interval: 100, ..expect_v2() };
        let adv = Advert { version: Version::V3, interval: 50, auth: Auth::None, ..advert_v2() };
        let b = bytes(&adv, MULTICAST_V4);
        assert_eq!(check(&incoming(&b, 255, MULTICAST_V4), &exp).unwrap().interval, Duration::from_millis(500));
        let bare = adv.encode(ChecksumScope::MessageOnly).unwrap();
        assert_eq!(reason(check(&incoming(&bare, 255, MULTICAST_V4), &exp)), DropReason::Checksum);
        let lenient = Expect { pseudo_header: false, ..exp };
        assert!(check(&incoming(&bare, 255, MULTICAST_V4), &lenient).is_ok());
    }

    #[test]
    fn ipv4_header_is_parsed_and_checked() {
        let payload = bytes(&advert_v2(), MULTICAST_V4);
        let mut dgram = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0];
        dgram.extend_from_slice(&PEER.octets());
        dgram.extend_from_slice(&MULTICAST_V4.octets());
        dgram.extend_from_slice(&payload);
        let len = dgram.len() as u16;
        dgram[2..4].copy_from_slice(&len.to_be_bytes());
        let pkt = parse_ipv4(&dgram).unwrap();
        assert_eq!((pkt.src, pkt.dst, pkt.ttl), (PEER.into(), MULTICAST_V4.into(), 255));
        assert_eq!(pkt.payload, &payload[..]);
        assert_eq!(peek_vrid(pkt.payload), Some(51));
        let mut not_vrrp = dgram.clone();
        not_vrrp[9] = 6;
        assert_eq!(parse_ipv4(&not_vrrp).unwrap_err().reason, DropReason::IpHeader);
        assert_eq!(parse_ipv4(&dgram[..15]).unwrap_err().reason, DropReason::IpHeader);
    }

    #[test]
    fn counters_count_everything_and_rate_limit_logging() {
        let mut c = DropCounters::default();
        let t = Instant::now();
        assert!(c.count(DropReason::Password, t));
        assert!(!c.count(DropReason::Password, t + Duration::from_secs(1)));
        assert!(c.count(DropReason::Password, t + Duration::from_secs(11)));
        assert!(!c.count(DropReason::UnknownVrid, t));
        assert_eq!(c.get(DropReason::Password), 3);
        assert_eq!(c.get(DropReason::UnknownVrid), 1);
        assert_eq!(c.total(), 4);
        assert_eq!(c.by_reason(), [("unknown_vrid".to_string(), 1), ("password".to_string(), 3)]);
    }
}
