//! Hash functions shared by the hashing algorithms, as HAProxy computes them.

use std::net::IpAddr;

/// HAProxy's `balance source` key: the XOR of the address's 32-bit words (an IPv4-mapped IPv6
/// address hashes as its IPv4 address).
pub fn source_key(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(v4) => u32::from(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u32::from(v4),
            None => v6.segments().chunks(2).fold(0u32, |h, w| h ^ ((u32::from(w[0]) << 16) | u32::from(w[1]))),
        },
    }
}

/// HAProxy's `full_hash()` (Bob Jenkins' 32-bit integer mix): spreads neighbouring keys apart.
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mapped_hashes_like_ipv4() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(source_key(v4), 0x0a01_0203);
        assert_eq!(source_key(mapped), source_key(v4));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(source_key(v6), 0x2001_0db8 ^ 1);
    }

    #[test]
    fn full_hash_spreads_neighbours() {
        assert_ne!(full_hash(1) >> 24, full_hash(2) >> 24);
        assert_eq!(full_hash(7), full_hash(7));
    }
}
