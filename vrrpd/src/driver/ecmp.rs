//! `announce` (active-active behind ECMP): vrrpd owns the announce device (`tundev.rs`) and puts
//! the announced VIPs on it while the supervisor says this host may carry them; the routing
//! daemon exports what it finds there. With `hold_on_lo` the VIPs also stay on `lo`, so the
//! host keeps accepting on them whatever the announcement (a withdrawal moves new flows, it does
//! not drop the ones still arriving). Withdrawal comes first on every way out: `Shutdown`, the
//! supervisor gone, and (by the kernel) vrrpd's death.

use super::Node;
use crate::iface::IfaceInfo;
use crate::tundev::TunDevice;
use crate::vip::AddrControl;
use hakeeper_common::config::{Announce, VipAddr};
use hakeeper_common::ipc::{send, FromVrrp};
use std::collections::HashMap;
use std::os::fd::AsFd;

pub(super) struct Announcer {
    cfg: Announce,
    dev: Option<TunDevice>,
    /// What the supervisor last asked for.
    on: bool,
    /// The VIPs are on the device.
    held: bool,
    error: Option<String>,
}

impl Announcer {
    fn new(cfg: Announce, addrs: &mut AddrControl) -> Announcer {
        let mut error = None;
        if cfg.hold_on_lo {
            if let Err(e) = hold_on_lo(addrs, &cfg.vips) {
                error = Some(e);
            }
        }
        let dev = match TunDevice::create(&cfg.interface) {
            Ok(d) => {
                log::info!("announce device {} (index {}) created, nothing announced yet", d.name, d.index);
                Some(d)
            }
            Err(e) => {
                error = Some(format!("cannot create the announce device: {e}"));
                None
            }
        };
        Announcer { cfg, dev, on: false, held: false, error }
    }

    /// Puts the VIPs on the device (`on`) or takes them off; whether they are all there.
    fn apply(&mut self, addrs: &mut AddrControl, on: bool) {
        self.on = on;
        let Some(dev) = &self.dev else {
            self.held = false;
            return;
        };
        let mut failed = Vec::new();
        for vip in &self.cfg.vips {
            let r = if on { addrs.add(dev.index, vip) } else { addrs.remove(dev.index, vip) };
            if let Err(e) = r {
                failed.push(e.to_string());
            }
        }
        let verb = if on { "announcing" } else { "withdrew" };
        let list: Vec<String> = self.cfg.vips.iter().map(|v| v.addr.to_string()).collect();
        log::warn!("{verb} {} on {}", list.join(" "), dev.name);
        if failed.is_empty() {
            self.held = on;
            self.error = None;
        } else {
            // A partial add is withdrawn again: announce all the VIPs or none.
            self.held = false;
            if on {
                for vip in &self.cfg.vips {
                    let _ = addrs.remove(dev.index, vip);
                }
            }
            self.error = Some(failed.join("; "));
        }
    }
}

/// Adds the VIPs to `lo` (left there: they are this host's service addresses).
fn hold_on_lo(addrs: &mut AddrControl, vips: &[VipAddr]) -> Result<(), String> {
    let lo = nix::net::if_::if_nametoindex("lo").map_err(|e| format!("no lo: {e}"))?;
    let failed: Vec<String> = vips.iter().filter_map(|v| addrs.add(lo, v).err().map(|e| e.to_string())).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("cannot hold the VIPs on lo: {}", failed.join("; ")))
    }
}

impl Node {
    /// At start and on each config: creates, replaces or removes the announcer.
    pub(super) fn announce_configure(&mut self, cfg: Option<Announce>) {
        if self.announcer.as_ref().map(|a| &a.cfg) == cfg.as_ref() {
            return;
        }
        let on = self.announcer.as_ref().is_some_and(|a| a.on);
        match (self.announcer.take(), cfg) {
            (Some(mut old), Some(new)) if old.cfg.interface == new.interface && old.dev.is_some() => {
                // Same device: only the VIPs the reload dropped are withdrawn; the others stay
                // announced without a flap (adding one already there changes nothing).
                if let Some(dev) = &old.dev {
                    for vip in old.cfg.vips.iter().filter(|v| !new.vips.contains(v)) {
                        if let Err(e) = self.addrs.remove(dev.index, vip) {
                            log::warn!("cannot withdraw {} from {}: {e}", vip.addr, dev.name);
                        }
                    }
                }
                if new.hold_on_lo {
                    if let Err(e) = hold_on_lo(&mut self.addrs, &new.vips) {
                        old.error = Some(e);
                    }
                }
                old.cfg = new;
                if on {
                    old.apply(&mut self.addrs, true);
                }
                self.announcer = Some(old);
            }
            // Another device, none any more, or one that could not be created: start afresh.
            (old, new) => {
                if let Some(mut old) = old {
                    old.apply(&mut self.addrs, false);
                    // Dropped here: the old device goes with its fd.
                }
                self.announcer = new.map(|cfg| {
                    let mut a = Announcer::new(cfg, &mut self.addrs);
                    if on {
                        a.apply(&mut self.addrs, true);
                    }
                    a
                });
            }
        }
        self.announce_report();
    }

    /// `ToVrrp::Announce`.
    pub(super) fn announce_set(&mut self, on: bool) {
        let Some(a) = &mut self.announcer else {
            log::warn!("told to announce, but the config has no announce section");
            return;
        };
        a.apply(&mut self.addrs, on);
        self.announce_report();
    }

    /// A link changed: the announce device must still be ours and up. Deleted by hand (or
    /// replaced), it is created again with the announcement it had; set down, it is set up.
    pub(super) fn announce_links_changed(&mut self, snapshot: &HashMap<String, IfaceInfo>) {
        let Some(a) = &mut self.announcer else { return };
        let Some(dev) = &a.dev else { return };
        // By name: getifaddrs gives no index for a device without a link-layer address (TUN).
        if nix::net::if_::if_nametoindex(dev.name.as_str()).ok() == Some(dev.index) {
            if snapshot.get(&dev.name).is_some_and(|info| !info.up) {
                log::warn!("announce device {} was set down; setting it up again", dev.name);
                if let Err(e) = dev.set_up() {
                    log::error!("announce device: {e}");
                }
            }
            return;
        }
        log::error!("announce device {} (index {}) is gone; creating it again", dev.name, dev.index);
        let (cfg, on) = (a.cfg.clone(), a.on);
        // The old descriptor goes first: its name must be free for the new device.
        self.announcer = None;
        let mut fresh = Announcer::new(cfg, &mut self.addrs);
        if on {
            fresh.apply(&mut self.addrs, true);
        }
        self.announcer = Some(fresh);
        self.announce_report();
    }

    /// Withdraws before anything else on the way out.
    pub(super) fn announce_withdraw(&mut self) {
        if let Some(a) = &mut self.announcer {
            if a.held {
                a.apply(&mut self.addrs, false);
            }
        }
    }

    fn announce_report(&self) {
        let Some(a) = &self.announcer else { return };
        let msg = FromVrrp::Announce { held: a.held, error: a.error.clone() };
        if let Err(e) = send(self.channel.as_fd(), &msg, &[]) {
            log::warn!("cannot report the announcement to the supervisor: {e}");
        }
    }
}
