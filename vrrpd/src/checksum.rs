//! The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 adds to it (RFC 5798 §5.2.8).

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;

/// Running one's-complement sum; `finish` folds and inverts it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sum(u32);

impl Sum {
    pub fn feed(mut self, bytes: &[u8]) -> Self {
        let mut chunks = bytes.chunks_exact(2);
        for pair in &mut chunks {
            self.0 += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
            self.fold_once();
        }
        if let [last] = chunks.remainder() {
            // An odd byte is padded with a zero on the right.
            self.0 += u32::from(*last) << 8;
            self.fold_once();
        }
        self
    }

    fn fold_once(&mut self) {
        self.0 = (self.0 & 0xffff) + (self.0 >> 16);
    }

    pub fn finish(mut self) -> u16 {
        self.fold_once();
        self.fold_once();
        !(self.0 as u16)
    }
}

/// IPv4 pseudo-header: source, destination, zero, protocol, VRRP length.
pub fn ipv4_pseudo(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0..4].copy_from_slice(&src.octets());
    h[4..8].copy_from_slice(&dst.octets());
    h[9] = IPPROTO_VRRP;
    h[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

/// IPv6 pseudo-header (RFC 8200 §8.1): source, destination, 32-bit length, 3 zero bytes, next header.
pub fn ipv6_pseudo(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> [u8; 40] {
    let mut h = [0u8; 40];
    h[0..16].copy_from_slice(&src.octets());
    h[16..32].copy_from_slice(&dst.octets());
    h[32..36].copy_from_slice(&(len as u32).to_be_bytes());
    h[39] = IPPROTO_VRRP;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_the_published_value() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, so the checksum is !0xddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Sum::default().feed(&bytes).finish(), !0xddf2u16);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(Sum::default().feed(&[0x12]).finish(), Sum::default().feed(&[0x12, 0x00]).finish());
    }

    #[test]
    fn a_buffer_with_its_checksum_sums_to_zero() {
        let mut bytes = vec![0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00];
        let ck = Sum::default().feed(&bytes).finish();
        bytes.extend_from_slice(&ck.to_be_bytes());
        assert_eq!(Sum::default().feed(&bytes).finish(), 0);
    }
}
