//! Received adverts: read from the interface sockets, matched to an instance by VRID, validated,
//! then handed to its state machine.

use super::Node;
use crate::state::Event;
use crate::validate::{self, DropReason, Incoming};
use std::time::Instant;

impl Node {
    /// Drains one interface's IPv4 socket.
    pub(super) fn receive4(&mut self, k: usize, buf: &mut [u8]) {
        loop {
            let Some(sock) = &self.ifaces[k].sock4 else { return };
            let n = match sock.recv(buf) {
                Ok(Some(n)) => n,
                Ok(None) => return,
                Err(e) => {
                    log::warn!("receive error on {}: {e}", self.ifaces[k].name);
                    return;
                }
            };
            match validate::parse_ipv4(&buf[..n]) {
                Ok(pkt) => self.dispatch(k, false, &pkt),
                Err(rej) => {
                    if self.stray.count(rej.reason, Instant::now()) {
                        log::warn!("dropped a packet on {}: {} ({})", self.ifaces[k].name, rej.reason, rej.detail);
                    }
                }
            }
        }
    }

    /// Drains one interface's IPv6 socket.
    pub(super) fn receive6(&mut self, k: usize, buf: &mut [u8]) {
        loop {
            let Some(sock) = &self.ifaces[k].sock6 else { return };
            let rx = match sock.recv(buf) {
                Ok(Some(rx)) => rx,
                Ok(None) => return,
                Err(e) => {
                    log::warn!("receive error on {}: {e}", self.ifaces[k].name);
                    return;
                }
            };
            let pkt = Incoming { src: rx.src.into(), dst: rx.dst.into(), ttl: rx.hop_limit, payload: &buf[..rx.len.min(buf.len())] };
            self.dispatch(k, true, &pkt);
        }
    }

    /// Finds the advert's instance by VRID and validates it before the instance sees it.
    fn dispatch(&mut self, k: usize, ipv6: bool, pkt: &Incoming<'_>) {
        let now = Instant::now();
        let vrid = validate::peek_vrid(pkt.payload);
        let Some(i) = self.instances.iter().position(|inst| inst.iface == k && inst.ipv6 == ipv6 && Some(inst.cfg.vrid) == vrid) else {
            self.stray.count(DropReason::UnknownVrid, now);
            return;
        };
        let inst = &mut self.instances[i];
        inst.received += 1;
        if pkt.src == inst.local || self.ifaces[k].owns(pkt.src) {
            inst.drops.count(DropReason::Own, now);
            return;
        }
        match validate::check(pkt, &inst.expect) {
            Ok(adv) => {
                let actions = inst.machine.handle(Event::Advert(adv), now);
                self.execute(i, actions, now);
            }
            Err(rej) => {
                if inst.drops.count(rej.reason, now) {
                    log::warn!(
                        "{} dropped an advert from {}: {} ({}); {} dropped for this reason so far",
                        inst.tag(),
                        pkt.src,
                        rej.reason,
                        rej.detail,
                        inst.drops.get(rej.reason)
                    );
                }
            }
        }
    }
}
