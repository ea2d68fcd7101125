//! One configured VRRP instance at run time: its state machine, what it accepts, and how its
//! adverts look on the wire.

use crate::error::VrrpError;
use crate::garp::GarpPacer;
use crate::packet::{Advert, Auth, Version, MULTICAST_V4};
use crate::state::{Machine, Params};
use crate::validate::{DropCounters, Expect};
use hakeeper_common::config::{Garp, VrrpAuth, VrrpInstance};
use std::net::{IpAddr, Ipv4Addr};

pub struct Instance {
    /// Index in `Vrrp::instances` (the id the supervisor knows).
    pub id: usize,
    pub cfg: VrrpInstance,
    /// Index into the driver's interfaces.
    pub iface: usize,
    /// Source of our adverts: `unicast_src_ip` or the interface's primary address.
    pub local: Ipv4Addr,
    pub machine: Machine,
    pub expect: Expect,
    pub drops: DropCounters,
    pub garp: GarpPacer,
    /// Last known state of `watched_links` (all up).
    pub links_up: bool,
}

impl Instance {
    pub fn new(id: usize, cfg: VrrpInstance, iface: usize, local: Ipv4Addr, garp: &Garp) -> Result<Instance, VrrpError> {
        let unsupported = |reason: &str| VrrpError::Unsupported { instance: cfg.name.clone(), reason: reason.into() };
        let version = Version::from_number(cfg.version).ok_or_else(|| unsupported("VRRP version must be 2 or 3"))?;
        if cfg.vips.iter().any(|v| v.addr.is_ipv6()) {
            return Err(unsupported("IPv6 virtual addresses are not supported yet"));
        }
        if cfg.unicast_peers.iter().any(|p| p.is_ipv6()) {
            return Err(unsupported("IPv6 unicast peers need IPv6 virtual addresses"));
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
            pseudo_header: true,
        };
        let machine = Machine::new(Params {
            version,
            priority: cfg.priority,
            advert_int: cfg.advert_int,
            preempt: cfg.preempt,
            preempt_delay: cfg.preempt_delay,
            local_addr: IpAddr::V4(local),
            garp: garp.clone(),
            track: cfg.track.clone(),
        });
        Ok(Instance { id, cfg, iface, local, machine, expect, drops: DropCounters::default(), garp: GarpPacer::default(), links_up: true })
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

    /// Where adverts go: 224.0.0.18, or each unicast peer.
    pub fn destinations(&self) -> Vec<Ipv4Addr> {
        if self.expect.multicast {
            return vec![MULTICAST_V4];
        }
        self.cfg
            .unicast_peers
            .iter()
            .filter_map(|p| match p {
                IpAddr::V4(a) => Some(*a),
                IpAddr::V6(_) => None,
            })
            .collect()
    }

    /// The interfaces whose links this instance depends on.
    pub fn watched_links(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.cfg.interface.as_str()).chain(self.cfg.track_interface.iter().map(String::as_str))
    }
}
