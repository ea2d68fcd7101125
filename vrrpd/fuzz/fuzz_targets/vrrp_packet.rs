//! libFuzzer target for the VRRP packet decoder (`packet::Advert::decode`) and the receive-side
//! validation (`validate::parse_ipv4`, `validate::check`).
//!
//! The first input byte chooses how the rest is read:
//! - bits 0-1: checksum scope: 0 message only (v2, or v3 with routers that omit the
//!   pseudo-header), 1 v3 over IPv4, 2 v3 over IPv6, 3 the rest is a whole IPv4 datagram as the
//!   raw socket delivers it (through `parse_ipv4`);
//! - bit 2: fix the checksum up before decoding, so that mutations reach past the checksum test;
//! - bit 3: sent to the multicast group (else unicast); bit 4: the instance expects multicast;
//! - bit 5: the instance's expectations are taken from the decoded advert (so that accepted
//!   packets are reached), else from a fixed keepalived-like instance; bit 6: TTL 255.
//!
//! Properties, beyond "no panic": an accepted advert encodes and decodes back to itself, and to
//! the very input bytes unless it carried bytes ignored on receipt; the address count matches the
//! announced one; `parse_ipv4` hands back a slice of its input; `check` accepts only what
//! `decode` accepts, and reports the advert's priority.

#![no_main]

use hakeeper_vrrpd::checksum::{ipv4_pseudo, ipv6_pseudo, Sum};
use hakeeper_vrrpd::packet::{Advert, Auth, ChecksumScope, Version, MULTICAST_V4, MULTICAST_V6};
use hakeeper_vrrpd::validate::{check, parse_ipv4, Expect, Incoming};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const PEER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
const LOCAL4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 12);
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x11);
const LOCAL6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x12);

/// Writes the checksum the packet would need under `scope` (as the sender computes it).
fn fix_checksum(msg: &mut [u8], scope: ChecksumScope) {
    if msg.len() < 8 {
        return;
    }
    msg[6] = 0;
    msg[7] = 0;
    let v3 = msg[0] >> 4 == 3;
    let sum = match scope {
        ChecksumScope::V4 { src, dst } if v3 => Sum::default().feed(&ipv4_pseudo(src, dst, msg.len())),
        ChecksumScope::V6 { src, dst } if v3 => Sum::default().feed(&ipv6_pseudo(src, dst, msg.len())),
        _ => Sum::default(),
    };
    let ck = sum.feed(msg).finish();
    msg[6..8].copy_from_slice(&ck.to_be_bytes());
}

fn check_decode(msg: &[u8], scope: ChecksumScope) -> Option<Advert> {
    let adv = Advert::decode(msg, scope).ok()?;
    assert_eq!(adv.addrs.len(), usize::from(msg[3]), "address count differs from the announced one");
    let again = match adv.encode(scope) {
        Ok(b) => b,
        Err(e) => panic!("an accepted advert does not encode: {e}: {adv:?}"),
    };
    assert_eq!(Advert::decode(&again, scope).as_ref(), Ok(&adv), "decode(encode(advert)) != advert");
    // Bytes ignored on receipt cannot come back: the v3 reserved nibble (RFC 5798 §5.2.4)
    // and v2 authentication data under type 0 (RFC 3768 §5.3.10, "ignored on reception").
    let ignored = match adv.version {
        Version::V3 => msg[4] >> 4 != 0,
        Version::V2 => adv.auth == Auth::None && msg[msg.len() - 8..].iter().any(|b| *b != 0),
    };
    if !ignored {
        assert_eq!(again, msg, "encode(decode(bytes)) != bytes");
    }
    Some(adv)
}

fn expect_from(adv: Option<&Advert>, fixed_from_advert: bool, multicast: bool, pseudo_header: bool) -> Expect {
    match adv {
        Some(a) if fixed_from_advert => {
            Expect { version: a.version, multicast, auth: a.auth, interval: a.interval, vips: a.addrs.clone(), pseudo_header }
        }
        _ => Expect { version: Version::V2, multicast, auth: Auth::pass("s3cret"), interval: 1, vips: vec![VIP4.into()], pseudo_header },
    }
}

fn check_validation(pkt: &Incoming<'_>, exp: &Expect) {
    let Ok(got) = check(pkt, exp) else { return };
    assert_eq!(got.src, pkt.src);
    let scope = match (pkt.src, pkt.dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => ChecksumScope::V6 { src, dst },
        (IpAddr::V4(src), IpAddr::V4(dst)) if exp.pseudo_header => ChecksumScope::V4 { src, dst },
        _ => ChecksumScope::MessageOnly,
    };
    let adv = match Advert::decode(pkt.payload, scope) {
        Ok(a) => a,
        Err(e) => panic!("check accepted a packet that decode refuses: {e}"),
    };
    assert_eq!(got.priority, adv.priority);
    assert_eq!(adv.version, exp.version);
    assert_eq!(adv.addrs.len(), exp.vips.len());
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let fix = flags & 0x04 != 0;
    let to_group = flags & 0x08 != 0;
    let multicast = flags & 0x10 != 0;
    let from_advert = flags & 0x20 != 0;
    let ttl = if flags & 0x40 != 0 { 255 } else { 64 };
    let pseudo_header = flags & 0x80 == 0;
    if flags & 0x03 == 3 {
        // A whole datagram: the header comes from the input.
        let mut datagram = rest.to_vec();
        let parsed =
            parse_ipv4(&datagram).ok().map(|p| (p.src, p.dst, p.payload.as_ptr() as usize - datagram.as_ptr() as usize, p.payload.len()));
        let Some((src, dst, start, len)) = parsed else { return };
        assert!(start >= 20 && start + len <= datagram.len(), "parse_ipv4 gave bytes outside its input");
        let scope = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) if pseudo_header => ChecksumScope::V4 { src: s, dst: d },
            _ => ChecksumScope::MessageOnly,
        };
        if fix {
            fix_checksum(&mut datagram[start..start + len], scope);
        }
        let Ok(pkt) = parse_ipv4(&datagram) else { panic!("parse_ipv4 depends on the payload") };
        let adv = check_decode(pkt.payload, scope);
        check_validation(&pkt, &expect_from(adv.as_ref(), from_advert, multicast, pseudo_header));
        return;
    }
    let (src, dst, scope): (IpAddr, IpAddr, ChecksumScope) = match flags & 0x03 {
        0 => {
            let dst = if to_group { MULTICAST_V4 } else { LOCAL4 };
            (PEER4.into(), dst.into(), ChecksumScope::MessageOnly)
        }
        1 => {
            let dst = if to_group { MULTICAST_V4 } else { LOCAL4 };
            (PEER4.into(), dst.into(), ChecksumScope::V4 { src: PEER4, dst })
        }
        _ => {
            let dst = if to_group { MULTICAST_V6 } else { LOCAL6 };
            (PEER6.into(), dst.into(), ChecksumScope::V6 { src: PEER6, dst })
        }
    };
    let mut msg = rest.to_vec();
    if fix {
        fix_checksum(&mut msg, scope);
    }
    let adv = check_decode(&msg, scope);
    let pkt = Incoming { src, dst, ttl, payload: &msg };
    // With the message-only scope, `check` reads an IPv4 v3 packet with the pseudo-header unless
    // told otherwise: say so, so that both agree on the checksum.
    let pseudo = pseudo_header && !matches!(scope, ChecksumScope::MessageOnly);
    check_validation(&pkt, &expect_from(adv.as_ref(), from_advert, multicast, pseudo));
});
