//! Announcing the VIPs of a new master: gratuitous ARPs for IPv4, unsolicited neighbour
//! advertisements for IPv6, paced by `vrrp_garp_interval`.

use super::Node;
use crate::{garp, ndisc};
use std::net::IpAddr;
use std::time::Instant;

impl Node {
    /// Sends the gratuitous ARPs / unsolicited NAs that are due.
    pub(super) fn pump_garp(&mut self, i: usize, now: Instant) {
        let rounds = self.instances[i].garp.due(now, self.vrrp.garp.interval);
        if rounds == 0 {
            return;
        }
        let inst = &self.instances[i];
        let iface = &self.ifaces[inst.iface];
        for vip in &inst.cfg.vips {
            let sent = match (vip.addr, &self.garp_sock, &self.na_sock, iface.link_local) {
                (IpAddr::V4(ip), Some(sock), _, _) => {
                    log::info!("{} Sending {rounds} gratuitous ARP(s) on {} for {ip}", inst.tag(), iface.name);
                    let frame = garp::announcement(iface.mac, ip);
                    (0..rounds).try_for_each(|_| sock.send(iface.index, &frame))
                }
                (IpAddr::V6(ip), _, Some(sock), Some(src)) => {
                    log::info!("{} Sending {rounds} unsolicited neighbour advertisement(s) on {} for {ip}", inst.tag(), iface.name);
                    let message = ndisc::advertisement(iface.mac, ip);
                    (0..rounds).try_for_each(|_| sock.send(iface.index, src, &message))
                }
                _ => Ok(()),
            };
            if let Err(e) = sent {
                log::warn!("{} cannot announce {} on {}: {e}", inst.tag(), vip.addr, iface.name);
            }
        }
    }
}
