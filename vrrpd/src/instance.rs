//! One configured VRRP instance at run time: its state machine, what it accepts, and how its
//! adverts look on the wire.

use crate::error::VrrpError;
use crate::garp::GarpPacer;
use crate::packet::{Advert, Auth, ChecksumScope, Version, MULTICAST_V4, MULTICAST_V6};
use crate::state::{Machine, Params, State};
use crate::validate::{DropCounters, Expect};
use hakeeper_common::config::{Garp, VrrpAuth, VrrpInstance};
use std::net::IpAddr;

pub struct Instance {
    /// Index in `Vrrp::instances` (the id the supervisor knows).
    pub id: usize,
    pub cfg: VrrpInstance,
    /// Index into the driver's interfaces.
    pub iface: usize,
    /// Source of our adverts: `unicast_src_ip`, or the interface's primary IPv4 address or
    /// IPv6 link-local address.
    pub local: IpAddr,
    /// IPv6 VIPs (VRRPv3 over IPv6); IPv4 otherwise.
    pub ipv6: bool,
    pub machine: Machine,
    pub expect: Expect,
    pub drops: DropCounters,
    /// Packets for this instance's VRID on its interface, accepted or dropped.
    pub received: u64,
    /// (received, dropped) when the counters were last sent to the supervisor.
    pub counters_sent: Option<(u64, u64)>,
    pub garp: GarpPacer,
    /// Last known state of `watched_links` (all up).
    pub links_up: bool,
    /// The state last reported (for sync groups, which follow transitions).
    pub reported: State,
}

impl Instance {
    pub fn new(id: usize, cfg: VrrpInstance, iface: usize, local: IpAddr, garp: &Garp) -> Result<Instance, VrrpError> {
        let unsupported = |reason: &str| VrrpError::Unsupported { instance: cfg.name.clone(), reason: reason.into() };
        let version = Version::from_number(cfg.version).ok_or_else(|| unsupported("VRRP version must be 2 or 3"))?;
        let ipv6 = cfg.vips.first().is_some_and(|v| v.addr.is_ipv6());
        if ipv6 && version != Version::V3 {
            return Err(unsupported("IPv6 virtual addresses need VRRP version 3"));
        }
        if cfg.vips.iter().any(|v| v.addr.is_ipv6() != ipv6)
            || cfg.unicast_peers.iter().any(|p| p.is_ipv6() != ipv6)
            || local.is_ipv6() != ipv6
        {
            return Err(unsupported("virtual addresses, unicast peers and the source address must all be IPv4 or all IPv6"));
        }
        let auth = match (&cfg.auth, version) {
            (VrrpAuth::Pass(pw), Version::V2) => Auth::pass(pw),
            // keepalived ignores authentication under v3.
            _ => Auth::None,
        };
        let expect = Expect {
            version,
            multicast: cfg.unicast_peers.is_empty(),
            auth,
            interval: Advert::interval_field(version, cfg.advert_int),
            vips: cfg.vips.iter().map(|v| v.addr).collect(),
            pseudo_header: cfg.v3_checksum_pseudo_header,
        };
        let machine = Machine::new(Params {
            version,
            priority: cfg.priority,
            advert_int: cfg.advert_int,
            preempt: cfg.preempt,
            preempt_delay: cfg.preempt_delay,
            local_addr: local,
            garp: garp.clone(),
            track: cfg.track.clone(),
            proxy_down: cfg.proxy_down,
            pair: cfg.pair,
        });
        Ok(Instance {
            id,
            cfg,
            iface,
            local,
            ipv6,
            machine,
            expect,
            drops: DropCounters::default(),
            received: 0,
            counters_sent: None,
            garp: GarpPacer::default(),
            links_up: true,
            reported: State::Init,
        })
    }

    /// keepalived's log prefix.
    pub fn tag(&self) -> String {
        format!("VRRP_Instance({})", self.cfg.name)
    }

    pub fn advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.expect.version,
            vrid: self.cfg.vrid,
            priority,
            interval: self.expect.interval,
            auth: self.expect.auth,
            addrs: self.expect.vips.clone(),
        }
    }

    /// Where adverts go: 224.0.0.18 or ff02::12, or each unicast peer.
    pub fn destinations(&self) -> Vec<IpAddr> {
        match (self.expect.multicast, self.ipv6) {
            (true, false) => vec![IpAddr::V4(MULTICAST_V4)],
            (true, true) => vec![IpAddr::V6(MULTICAST_V6)],
            (false, _) => self.cfg.unicast_peers.clone(),
        }
    }

    /// The checksum scope of an advert from us to `dst`; v3 over IPv4 leaves out the
    /// pseudo-header when `v3_checksum_pseudo_header` is off (v2 never has one).
    pub fn scope(&self, dst: IpAddr) -> ChecksumScope {
        match (self.local, dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) if !self.expect.pseudo_header => ChecksumScope::MessageOnly,
            (IpAddr::V4(src), IpAddr::V4(dst)) => ChecksumScope::V4 { src, dst },
            (IpAddr::V6(src), IpAddr::V6(dst)) => ChecksumScope::V6 { src, dst },
            _ => ChecksumScope::MessageOnly,
        }
    }

    /// The interfaces whose links this instance depends on.
    pub fn watched_links(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.cfg.interface.as_str()).chain(self.cfg.track_interface.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::MULTICAST_V4;
    use crate::validate::{check, Incoming};
    use hakeeper_common::config::load_str;
    use std::net::Ipv4Addr;

    const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);

    fn instance(extra: &str) -> Instance {
        let text = format!(
            "(vrrp: (instances: [(name: \"VI_1\", interface: \"eth0\", vrid: 51, priority: 100, version: 3, vips: [\"192.0.2.100\"], {extra})]))"
        );
        let vrrp = load_str("t.ron", &text).unwrap_or_else(|e| panic!("{e}")).config.vrrp;
        Instance::new(0, vrrp.instances[0].clone(), 0, LOCAL.into(), &vrrp.garp).unwrap()
    }

    /// What a peer configured like `inst` makes of our advert.
    fn accepted_by(inst: &Instance, bytes: &[u8]) -> bool {
        let pkt = Incoming { src: LOCAL.into(), dst: MULTICAST_V4.into(), ttl: 255, payload: bytes };
        check(&pkt, &inst.expect).is_ok()
    }

    #[test]
    fn v3_checksum_pseudo_header_option_decides_what_is_sent_and_accepted() {
        let with = instance("");
        let without = instance("v3_checksum_pseudo_header: false");
        let dst = IpAddr::V4(MULTICAST_V4);
        assert_eq!(with.scope(dst), ChecksumScope::V4 { src: LOCAL, dst: MULTICAST_V4 });
        assert_eq!(without.scope(dst), ChecksumScope::MessageOnly);
        let ours = with.advert(100).encode(with.scope(dst)).unwrap();
        let bare = without.advert(100).encode(without.scope(dst)).unwrap();
        assert_ne!(ours, bare);
        assert!(accepted_by(&with, &ours) && accepted_by(&without, &bare));
        assert!(!accepted_by(&with, &bare) && !accepted_by(&without, &ours), "the two settings do not interoperate");
    }
}
