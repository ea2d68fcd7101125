//! VRRP advertisements: version 2 (RFC 3768 §5.1) and version 3 (RFC 5798 §5.1), as bytes and back.
//!
//! Decoding checks everything that is a property of the bytes alone (version, type, length,
//! checksum); what depends on the instance (VRID, password, interval, addresses) is checked by
//! [`crate::validate`].

use crate::checksum::{ipv4_pseudo, ipv6_pseudo, Sum};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The only VRRP packet type (RFC 3768 §5.3.2, RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed header, common to both versions.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data that follows the addresses.
pub const AUTH_DATA_LEN: usize = 8;
/// IPv4 multicast group for VRRP (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group for VRRP (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    pub fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// v2 authentication (RFC 2338 §5.3.6; RFC 3768 keeps only the field). v3 has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Type 0.
    None,
    /// Type 1: a password of up to 8 bytes, zero-padded (keepalived's `auth_type PASS`).
    Pass([u8; AUTH_DATA_LEN]),
    /// Type 2 (IP AH) or an unknown type: kept so validation can name it.
    Other { kind: u8, data: [u8; AUTH_DATA_LEN] },
}

impl Auth {
    /// A PASS password as keepalived sends it: cut to 8 bytes, zero-padded.
    pub fn pass(password: &str) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(password.as_bytes()) {
            *d = *s;
        }
        Auth::Pass(data)
    }

    pub fn kind(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Other { kind, .. } => *kind,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Pass(d) | Auth::Other { data: d, .. } => *d,
        }
    }
}

/// What the checksum covers besides the VRRP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumScope {
    /// The message alone: always for v2; for v3 only to talk to routers that omit the
    /// pseudo-header (Cisco, old FRR). Addresses are IPv4.
    MessageOnly,
    /// v3 over IPv4 with the pseudo-header (RFC 5798 §5.2.8; keepalived 2.2.7 does this).
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    /// v3 over IPv6 with the RFC 8200 §8.1 pseudo-header.
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl ChecksumScope {
    fn ipv6(&self) -> bool {
        matches!(self, ChecksumScope::V6 { .. })
    }
}

/// One VRRP advertisement.
///
/// Version 2 (RFC 3768 §5.1):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Auth Type   |   Adver Int   |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         IP Address (1)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                            .                                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         IP Address (n)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (1)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (2)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Version 3 (RFC 5798 §5.1):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |(rsvd) |     Max Adver Int     |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                                                               +
/// |                       IPvX Address(es)                        |
/// +                                                               +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// In the packet's own unit: whole seconds for v2 (8 bits), centiseconds for v3 (12 bits).
    pub interval: u16,
    /// Always [`Auth::None`] for v3.
    pub auth: Auth,
    /// All IPv4, or (v3 over IPv6 only) all IPv6.
    pub addrs: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} bytes is shorter than a VRRP header")]
    Truncated(usize),
    #[error("unsupported VRRP version {0}")]
    Version(u8),
    #[error("packet type {0} is not an advertisement")]
    Type(u8),
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
    #[error("length {actual} does not match the {expected} bytes announced by the address count")]
    Length { expected: usize, actual: usize },
    #[error("bad checksum {received:#06x}, expected {computed:#06x}")]
    Checksum { received: u16, computed: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{0} addresses do not fit the 8-bit count")]
    TooManyAddresses(usize),
    #[error("address {0} does not match the checksum scope's family")]
    Family(IpAddr),
    #[error("interval {0} is out of range for this version")]
    Interval(u16),
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
}

impl Advert {
    /// The advertisement interval as a duration.
    pub fn interval_duration(&self) -> Duration {
        match self.version {
            Version::V2 => Duration::from_secs(u64::from(self.interval)),
            Version::V3 => Duration::from_millis(u64::from(self.interval) * 10),
        }
    }

    /// The interval field for `d`: whole seconds (v2) or centiseconds (v3), saturating.
    pub fn interval_field(version: Version, d: Duration) -> u16 {
        match version {
            Version::V2 => d.as_secs().min(255) as u16,
            Version::V3 => (d.as_millis() / 10).min(0x0fff) as u16,
        }
    }

    fn expected_len(version: Version, count: usize, ipv6: bool) -> usize {
        let addr = if ipv6 { 16 } else { 4 };
        let auth = if version == Version::V2 { AUTH_DATA_LEN } else { 0 };
        HEADER_LEN + count * addr + auth
    }

    /// Encodes with the checksum filled in.
    pub fn encode(&self, scope: ChecksumScope) -> Result<Vec<u8>, EncodeError> {
        let ipv6 = scope.ipv6();
        if self.version == Version::V2 && ipv6 {
            return Err(EncodeError::V2OverIpv6);
        }
        if self.addrs.len() > 255 {
            return Err(EncodeError::TooManyAddresses(self.addrs.len()));
        }
        let max = if self.version == Version::V2 { 0xff } else { 0x0fff };
        if self.interval > max {
            return Err(EncodeError::Interval(self.interval));
        }
        let mut out = Vec::with_capacity(Self::expected_len(self.version, self.addrs.len(), ipv6));
        out.push(self.version.number() << 4 | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(self.addrs.len() as u8);
        match self.version {
            Version::V2 => {
                out.push(self.auth.kind());
                out.push(self.interval as u8);
            }
            Version::V3 => out.extend_from_slice(&self.interval.to_be_bytes()),
        }
        out.extend_from_slice(&[0, 0]);
        for addr in &self.addrs {
            match (addr, ipv6) {
                (IpAddr::V4(a), false) => out.extend_from_slice(&a.octets()),
                (IpAddr::V6(a), true) => out.extend_from_slice(&a.octets()),
                _ => return Err(EncodeError::Family(*addr)),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth.data());
        }
        let ck = checksum(self.version, scope, &out);
        out[6..8].copy_from_slice(&ck.to_be_bytes());
        Ok(out)
    }

    /// Decodes and verifies one advertisement (the VRRP message, without the IP header).
    pub fn decode(bytes: &[u8], scope: ChecksumScope) -> Result<Advert, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(bytes.len()));
        }
        let version = Version::from_number(bytes[0] >> 4).ok_or(DecodeError::Version(bytes[0] >> 4))?;
        let kind = bytes[0] & 0x0f;
        if kind != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(kind));
        }
        let ipv6 = scope.ipv6();
        if version == Version::V2 && ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let count = usize::from(bytes[3]);
        // An exact length also rejects CARP, which shares protocol 112.
        let expected = Self::expected_len(version, count, ipv6);
        if bytes.len() != expected {
            return Err(DecodeError::Length { expected, actual: bytes.len() });
        }
        let received = u16::from_be_bytes([bytes[6], bytes[7]]);
        let mut zeroed = bytes.to_vec();
        zeroed[6] = 0;
        zeroed[7] = 0;
        let computed = checksum(version, scope, &zeroed);
        if received != computed {
            return Err(DecodeError::Checksum { received, computed });
        }
        let (interval, auth_kind) = match version {
            Version::V2 => (u16::from(bytes[5]), bytes[4]),
            // The top 4 bits are reserved and ignored on receipt.
            Version::V3 => (u16::from_be_bytes([bytes[4], bytes[5]]) & 0x0fff, 0),
        };
        let body = &bytes[HEADER_LEN..];
        let addrs: Vec<IpAddr> = if ipv6 {
            body.chunks_exact(16).take(count).map(|c| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(c).unwrap_or([0; 16])))).collect()
        } else {
            body.chunks_exact(4).take(count).map(|c| IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3]))).collect()
        };
        let auth = match version {
            Version::V3 => Auth::None,
            Version::V2 => {
                let mut data = [0u8; AUTH_DATA_LEN];
                data.copy_from_slice(&body[count * 4..count * 4 + AUTH_DATA_LEN]);
                match auth_kind {
                    0 => Auth::None,
                    1 => Auth::Pass(data),
                    kind => Auth::Other { kind, data },
                }
            }
        };
        Ok(Advert { version, vrid: bytes[1], priority: bytes[2], interval, auth, addrs })
    }
}

/// The checksum of `msg` (whose checksum field must be zero) under `scope`.
fn checksum(version: Version, scope: ChecksumScope, msg: &[u8]) -> u16 {
    let sum = Sum::default();
    let sum = match (version, scope) {
        (Version::V2, _) | (Version::V3, ChecksumScope::MessageOnly) => sum,
        (Version::V3, ChecksumScope::V4 { src, dst }) => sum.feed(&ipv4_pseudo(src, dst, msg.len())),
        (Version::V3, ChecksumScope::V6 { src, dst }) => sum.feed(&ipv6_pseudo(src, dst, msg.len())),
    };
    sum.feed(msg).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    const LB1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

    /// Captured from keepalived 2.2.7 (VRRP-NOTES §1): v2, PASS "s3cret", VRID 51, priority 150.
    const V2_PASS: &str = "21 33 96 01 01 01 49 4b c0 00 02 64 73 33 63 72 65 74 00 00";
    /// keepalived 2.2.7, v3 over IPv4 from 192.0.2.11 to 224.0.0.18, VRID 51, priority 100, 1 s.
    const V3_V4: &str = "31 33 64 01 00 64 05 68 c0 00 02 64";

    fn v2_pass() -> Advert {
        Advert { version: Version::V2, vrid: 51, priority: 150, interval: 1, auth: Auth::pass("s3cret"), addrs: vec![VIP.into()] }
    }

    fn v3_v4() -> Advert {
        Advert { version: Version::V3, vrid: 51, priority: 100, interval: 100, auth: Auth::None, addrs: vec![VIP.into()] }
    }

    fn v4_scope() -> ChecksumScope {
        ChecksumScope::V4 { src: LB1, dst: MULTICAST_V4 }
    }

    #[test]
    fn v2_pass_capture_decodes() {
        assert_eq!(Advert::decode(&hex(V2_PASS), v4_scope()), Ok(v2_pass()));
    }

    #[test]
    fn v2_pass_encodes_to_the_captured_bytes() {
        assert_eq!(v2_pass().encode(v4_scope()).unwrap(), hex(V2_PASS));
    }

    #[test]
    fn v2_checksum_ignores_the_pseudo_header() {
        assert_eq!(v2_pass().encode(ChecksumScope::MessageOnly).unwrap(), hex(V2_PASS));
    }

    #[test]
    fn v3_ipv4_capture_decodes_with_the_pseudo_header() {
        let a = Advert::decode(&hex(V3_V4), v4_scope()).unwrap();
        assert_eq!(a, v3_v4());
        assert_eq!(a.interval_duration(), Duration::from_secs(1));
    }

    #[test]
    fn v3_ipv4_encodes_to_the_captured_bytes() {
        assert_eq!(v3_v4().encode(v4_scope()).unwrap(), hex(V3_V4));
    }

    #[test]
    fn v3_without_pseudo_header_has_the_older_checksum() {
        let bytes = v3_v4().encode(ChecksumScope::MessageOnly).unwrap();
        assert_eq!(&bytes[6..8], &[0xa8, 0x02]);
        assert_eq!(Advert::decode(&bytes, ChecksumScope::MessageOnly), Ok(v3_v4()));
        // A router that expects the pseudo-header rejects it, and the reverse.
        assert!(matches!(Advert::decode(&bytes, v4_scope()), Err(DecodeError::Checksum { .. })));
        assert!(matches!(Advert::decode(&hex(V3_V4), ChecksumScope::MessageOnly), Err(DecodeError::Checksum { .. })));
    }

    #[test]
    fn v3_pseudo_header_binds_the_source_address() {
        let other = ChecksumScope::V4 { src: Ipv4Addr::new(192, 0, 2, 12), dst: MULTICAST_V4 };
        assert_eq!(Advert::decode(&hex(V3_V4), other), Err(DecodeError::Checksum { received: 0x0568, computed: 0x0567 }));
    }

    #[test]
    fn v3_ipv6_round_trips_with_the_reference_checksum() {
        let src: Ipv6Addr = "fe80::8c72:bdff:fec9:57cd".parse().unwrap();
        let scope = ChecksumScope::V6 { src, dst: MULTICAST_V6 };
        let a = Advert {
            version: Version::V3,
            vrid: 52,
            priority: 100,
            interval: 100,
            auth: Auth::None,
            addrs: vec!["fe80::52".parse().unwrap(), "2001:db8::100".parse().unwrap()],
        };
        let bytes = a.encode(scope).unwrap();
        assert_eq!(bytes.len(), 8 + 32);
        assert_eq!(&bytes[..8], &hex("31 34 64 02 00 64 9d a1")[..]);
        assert_eq!(Advert::decode(&bytes, scope), Ok(a));
    }

    #[test]
    fn corrupted_byte_is_a_checksum_error() {
        let mut bytes = hex(V2_PASS);
        bytes[2] = 0x97;
        assert!(matches!(Advert::decode(&bytes, v4_scope()), Err(DecodeError::Checksum { received: 0x494b, .. })));
    }

    #[test]
    fn short_long_and_foreign_packets_are_typed_errors() {
        let bytes = hex(V2_PASS);
        assert_eq!(Advert::decode(&bytes[..5], v4_scope()), Err(DecodeError::Truncated(5)));
        assert_eq!(Advert::decode(&bytes[..19], v4_scope()), Err(DecodeError::Length { expected: 20, actual: 19 }));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Advert::decode(&long, v4_scope()), Err(DecodeError::Length { expected: 20, actual: 21 }));
        let mut v4 = bytes.clone();
        v4[0] = 0x41;
        assert_eq!(Advert::decode(&v4, v4_scope()), Err(DecodeError::Version(4)));
        let mut kind = bytes.clone();
        kind[0] = 0x22;
        assert_eq!(Advert::decode(&kind, v4_scope()), Err(DecodeError::Type(2)));
        let v6 = ChecksumScope::V6 { src: Ipv6Addr::LOCALHOST, dst: MULTICAST_V6 };
        assert_eq!(Advert::decode(&bytes, v6), Err(DecodeError::V2OverIpv6));
    }

    #[test]
    fn v3_reserved_bits_are_ignored() {
        let mut a = v3_v4().encode(v4_scope()).unwrap();
        a[4] |= 0xf0;
        // Fix the checksum for the changed reserved bits.
        a[6] = 0;
        a[7] = 0;
        let ck = checksum(Version::V3, v4_scope(), &a);
        a[6..8].copy_from_slice(&ck.to_be_bytes());
        assert_eq!(Advert::decode(&a, v4_scope()).unwrap().interval, 100);
    }

    #[test]
    fn unknown_auth_type_is_kept_for_validation() {
        let mut a = v2_pass();
        a.auth = Auth::Other { kind: 2, data: [1; 8] };
        let bytes = a.encode(v4_scope()).unwrap();
        assert_eq!(bytes[4], 2);
        assert_eq!(Advert::decode(&bytes, v4_scope()), Ok(a));
    }

    #[test]
    fn password_is_cut_to_eight_bytes() {
        assert_eq!(Auth::pass("0123456789"), Auth::Pass(*b"01234567"));
    }

    #[test]
    fn encode_refuses_what_the_wire_cannot_carry() {
        let mut a = v2_pass();
        a.interval = 256;
        assert_eq!(a.encode(v4_scope()), Err(EncodeError::Interval(256)));
        let v6 = ChecksumScope::V6 { src: Ipv6Addr::LOCALHOST, dst: MULTICAST_V6 };
        assert_eq!(v2_pass().encode(v6), Err(EncodeError::V2OverIpv6));
        let mut b = v3_v4();
        b.addrs = vec![Ipv6Addr::LOCALHOST.into()];
        assert_eq!(b.encode(v4_scope()), Err(EncodeError::Family(Ipv6Addr::LOCALHOST.into())));
    }

    #[test]
    fn interval_fields_follow_each_version_unit() {
        assert_eq!(Advert::interval_field(Version::V2, Duration::from_secs(3)), 3);
        assert_eq!(Advert::interval_field(Version::V3, Duration::from_millis(1500)), 150);
        assert_eq!(Advert::interval_field(Version::V3, Duration::from_secs(100)), 0x0fff);
    }
}
