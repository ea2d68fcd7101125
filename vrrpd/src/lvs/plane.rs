//! What vrrpd knows about its LVS services, with no I/O: the services, the checker's verdicts
//! on their real servers, keepalived's quorum state, and which VRRP instance carries each VIP.
//! From these it says which services this host programs now (those whose VIP it holds as
//! MASTER; all of them when no instance carries the VIP, as keepalived's checker programs IPVS
//! whatever VRRP does), and describes them for `hakeeper ctl show lvs` and `/metrics`.

use super::applier::RsCounter;
use super::membership::{live_weight, quorum_state, Membership, ServerState};
use hakeeper_common::config::model::{LvsKind, LvsProtocol, LvsScheduler, LvsService};
use hakeeper_common::config::VrrpInstance;
use hakeeper_common::ctl::{LvsServerView, LvsView};
use std::collections::HashSet;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plane {
    services: Vec<LvsService>,
    membership: Membership,
    /// For each service, the VRRP instances whose VIPs include its VIP (empty: none does).
    holders: Vec<Vec<String>>,
}

impl Plane {
    pub fn services(&self) -> &[LvsService] {
        &self.services
    }

    /// New services (start or reload) and the VRRP instances that may carry their VIPs. A real
    /// server that stays (same service and server name) keeps its last known state; a new one
    /// starts up at its configured weight (keepalived's start without `alpha`).
    pub fn configure(&mut self, services: Vec<LvsService>, instances: &[VrrpInstance]) {
        let old = std::mem::take(&mut self.services);
        let old_m = std::mem::take(&mut self.membership.services);
        let mut m = Membership::all_up(&services);
        for (s, sm) in services.iter().zip(m.services.iter_mut()) {
            if let Some(oi) = old.iter().position(|o| o.name == s.name) {
                for (ri, r) in s.real_servers.iter().enumerate() {
                    let kept = old[oi].real_servers.iter().position(|o| o.name == r.name).and_then(|k| old_m.get(oi)?.servers.get(k));
                    if let Some(state) = kept {
                        sm.servers[ri] = *state;
                    }
                }
                if let Some(prev) = old_m.get(oi) {
                    sm.quorum_up = prev.quorum_up;
                }
            }
            sm.quorum_up = quorum_state(sm.quorum_up, live_weight(sm), s.quorum, s.hysteresis);
        }
        self.holders = services
            .iter()
            .map(|s| instances.iter().filter(|i| i.vips.iter().any(|v| v.addr == s.vip.ip())).map(|i| i.name.clone()).collect())
            .collect();
        self.membership.services = m.services;
        self.services = services;
    }

    /// The checker's view of `service`'s real servers. `Err` names what does not fit the
    /// config; `Ok(Some(up))` when keepalived's quorum state flipped.
    pub fn set_servers(&mut self, service: usize, states: Vec<ServerState>) -> Result<Option<bool>, String> {
        let (Some(s), Some(sm)) = (self.services.get(service), self.membership.services.get_mut(service)) else {
            return Err(format!("no LVS service {service}"));
        };
        if states.len() != s.real_servers.len() {
            return Err(format!("{}: {} server states for {} real servers", s.name, states.len(), s.real_servers.len()));
        }
        sm.servers = states;
        let was = sm.quorum_up;
        sm.quorum_up = quorum_state(was, live_weight(sm), s.quorum, s.hysteresis);
        Ok((sm.quorum_up != was).then_some(sm.quorum_up))
    }

    /// Whether service `si` is programmed while `masters` are the instances in MASTER state.
    pub fn active(&self, si: usize, masters: &HashSet<String>) -> bool {
        self.holders.get(si).is_none_or(|h| h.is_empty() || h.iter().any(|n| masters.contains(n)))
    }

    /// The membership to program: services this host does not carry are left out.
    pub fn membership(&self, masters: &HashSet<String>) -> Membership {
        let mut m = self.membership.clone();
        m.standby = (0..self.services.len()).filter(|si| !self.active(*si, masters)).collect();
        m
    }

    /// The DR interfaces of the services programmed now.
    pub fn dr_interfaces(&self, masters: &HashSet<String>) -> Vec<String> {
        let mut out: Vec<String> = (0..self.services.len())
            .filter(|si| self.active(*si, masters))
            .filter_map(|si| self.services.get(si).filter(|s| s.kind == LvsKind::Dr)?.interface.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The services as `show lvs` lists them, with the counters read last.
    pub fn views(&self, masters: &HashSet<String>, counters: &[RsCounter]) -> Vec<LvsView> {
        self.services
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let sm = self.membership.services.get(si);
                let count = |server: &str| {
                    counters.iter().find(|c| c.service == s.name && c.server == server).map_or((0, 0), |c| (c.packets, c.bytes))
                };
                let mut servers: Vec<LvsServerView> = s
                    .real_servers
                    .iter()
                    .enumerate()
                    .map(|(ri, r)| {
                        let state = sm.and_then(|m| m.servers.get(ri)).copied().unwrap_or(ServerState::Up { weight: r.weight });
                        let (up, weight) = match state {
                            ServerState::Up { weight } => (true, weight),
                            ServerState::Down => (false, 0),
                        };
                        let (packets, bytes) = count(&r.name);
                        LvsServerView { name: r.name.clone(), addr: r.addr.to_string(), up, weight, packets, bytes }
                    })
                    .collect();
                if let Some(sorry) = s.sorry_server {
                    let (packets, bytes) = count("sorry_server");
                    let takes = sm.is_some_and(|m| !m.quorum_up);
                    servers.push(LvsServerView {
                        name: "sorry_server".into(),
                        addr: sorry.to_string(),
                        up: true,
                        weight: u32::from(takes),
                        packets,
                        bytes,
                    });
                }
                LvsView {
                    name: s.name.clone(),
                    vip: s.vip.to_string(),
                    protocol: match s.protocol {
                        LvsProtocol::Tcp => "tcp",
                        LvsProtocol::Udp => "udp",
                    }
                    .into(),
                    kind: match s.kind {
                        LvsKind::Nat => "nat",
                        LvsKind::Dr => "dr",
                        LvsKind::Tun => "tun",
                    }
                    .into(),
                    scheduler: match s.scheduler {
                        LvsScheduler::Rr => "rr",
                        LvsScheduler::Wrr => "wrr",
                        LvsScheduler::Sh => "sh",
                    }
                    .into(),
                    active: self.active(si, masters),
                    quorum_up: sm.is_none_or(|m| m.quorum_up),
                    servers,
                }
            })
            .collect()
    }
}

/// A service's membership as the checker reported it.
pub fn from_wire(states: &[hakeeper_common::ipc::LvsServerState]) -> Vec<ServerState> {
    use hakeeper_common::ipc::LvsServerState;
    states
        .iter()
        .map(|s| match s {
            LvsServerState::Up { weight } => ServerState::Up { weight: *weight },
            LvsServerState::Down => ServerState::Down,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> hakeeper_common::config::Config {
        hakeeper_common::config::load_str("t.ron", text).unwrap_or_else(|e| panic!("{e}")).config
    }

    const RON: &str = r#"(
        listen: [(name: "vs", bind: ["192.0.2.100:80"], lvs: (quorum: 2, hysteresis: 0, sorry_server: "192.0.2.20:80"),
                  servers: [(name: "a", addr: "192.0.2.11:80"), (name: "b", addr: "192.0.2.12:80", weight: 3)]),
                 (name: "free", bind: ["192.0.2.200:53"], lvs: (protocol: udp), servers: [(name: "c", addr: "192.0.2.13:53")])],
        vrrp: (instances: [(name: "VI_1", interface: "eth0", vrid: 1, priority: 100, vips: ["192.0.2.100/24"])]),
    )"#;

    #[test]
    fn a_service_follows_the_instance_holding_its_vip_and_one_without_is_always_programmed() {
        let c = config(RON);
        let mut p = Plane::default();
        p.configure(c.lvs.clone(), &c.vrrp.instances);
        let none = HashSet::new();
        let master: HashSet<String> = ["VI_1".to_string()].into();
        assert!(!p.active(0, &none));
        assert!(p.active(0, &master));
        assert!(p.active(1, &none), "no instance carries 192.0.2.200");
        assert_eq!(p.membership(&none).standby, HashSet::from([0]));
        assert!(p.membership(&master).standby.is_empty());
    }

    #[test]
    fn quorum_flips_are_reported_once_and_states_survive_a_reload() {
        let c = config(RON);
        let mut p = Plane::default();
        p.configure(c.lvs.clone(), &c.vrrp.instances);
        // Live weight 4 ≥ quorum 2: up. b down → 1 < 2: lost, once.
        assert_eq!(p.set_servers(0, vec![ServerState::Up { weight: 1 }, ServerState::Down]), Ok(Some(false)));
        assert_eq!(p.set_servers(0, vec![ServerState::Up { weight: 1 }, ServerState::Down]), Ok(None));
        assert!(p.set_servers(0, vec![ServerState::Down]).is_err(), "wrong length");
        assert!(p.set_servers(7, Vec::new()).is_err());
        let views = p.views(&HashSet::new(), &[]);
        assert_eq!(
            views[0].servers.iter().map(|s| (s.name.as_str(), s.up, s.weight)).collect::<Vec<_>>(),
            [("a", true, 1), ("b", false, 0), ("sorry_server", true, 1)]
        );
        assert!(!views[0].quorum_up && !views[0].active);
        assert_eq!((views[1].protocol.as_str(), views[1].kind.as_str(), views[1].scheduler.as_str()), ("udp", "nat", "wrr"));
        // A reload keeps b DOWN and the lost quorum.
        p.configure(c.lvs.clone(), &c.vrrp.instances);
        assert_eq!(p.membership(&HashSet::new()).services[0].servers[1], ServerState::Down);
        assert!(!p.membership(&HashSet::new()).services[0].quorum_up);
        assert_eq!(p.set_servers(0, vec![ServerState::Up { weight: 1 }, ServerState::Up { weight: 3 }]), Ok(Some(true)));
    }
}
