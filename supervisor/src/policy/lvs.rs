//! LVS virtual services: the checker's verdicts on their real servers go to vrrpd (which
//! programs nftables), one whole service per message, and are replayed to a restarted vrrpd;
//! an operator's MAINT takes a real server out (IPVS has no such state: keepalived's operators
//! removed it by hand), DRAIN and weight overrides set its weight (IPVS weight 0 quiesces it).
//! vrrpd's quorum flips run `quorum_up` / `quorum_down` through the checker, as keepalived's
//! checker runs them; its counters are kept for `hakeeper ctl show lvs` and passed to the
//! workers for `/metrics`.

use super::{Output, Policy};
use crate::child::Role;
use hakeeper_common::ctl::{CtlReply, LvsView};
use hakeeper_common::ipc::{AdminState, LvsServerState, ServerName, ToChecker, ToVrrp, ToWorker, LVS_NOTIFY_PREFIX};
use log::Level;

impl Policy {
    /// The real servers of `Config::lvs[service]` as vrrpd should balance them now.
    pub(super) fn lvs_states(&self, service: usize) -> Vec<LvsServerState> {
        let Some(s) = self.config.lvs.get(service) else { return Vec::new() };
        let backend = self.config.backends.get(s.backend).map_or("", |b| b.name.as_str());
        s.real_servers
            .iter()
            .map(|r| {
                let key = ServerName::new(backend, &r.name);
                let up = self.server_health.get(&key).copied().unwrap_or(true);
                let admin = self.server_admin.get(&key).copied();
                let weight = match admin {
                    Some((AdminState::Drain, _)) => 0,
                    Some((_, Some(w))) => w,
                    _ => self.server_weights.get(&key).copied().unwrap_or(r.weight),
                };
                match admin {
                    Some((AdminState::Maint, _)) => LvsServerState::Down,
                    _ if !up => LvsServerState::Down,
                    _ => LvsServerState::Up { weight },
                }
            })
            .collect()
    }

    /// The services (and their servers' states) for vrrpd `pid`: at its start and after a
    /// reload that changed them or the instances carrying their VIPs.
    pub(super) fn parent_to_vrrp_lvs(&mut self, pid: i32) {
        self.send_vrrp(pid, ToVrrp::Lvs(self.config.lvs.clone()));
        for service in 0..self.config.lvs.len() {
            let servers = self.lvs_states(service);
            self.send_vrrp(pid, ToVrrp::LvsServers { service, servers });
        }
    }

    /// A server of backend `backend` changed (health, weight, operator state): vrrpd gets the
    /// services balanced over that backend.
    pub(super) fn lvs_backend_changed(&mut self, backend: usize) {
        let services: Vec<usize> = (0..self.config.lvs.len()).filter(|s| self.config.lvs[*s].backend == backend).collect();
        for service in services {
            let servers = self.lvs_states(service);
            for pid in self.pids_of(Role::Vrrpd) {
                self.send_vrrp(pid, ToVrrp::LvsServers { service, servers: servers.clone() });
            }
        }
    }

    /// As [`Self::lvs_backend_changed`], by backend name.
    pub(super) fn lvs_backend_named(&mut self, backend: &str) {
        if let Some(b) = self.config.backends.iter().position(|b| b.name == backend) {
            self.lvs_backend_changed(b);
        }
    }

    /// vrrpd's quorum verdict: keepalived runs `quorum_up` / `quorum_down` when it flips. A
    /// restarted vrrpd reports afresh; a state already known runs nothing.
    pub(super) fn lvs_quorum(&mut self, service: usize, up: bool) {
        let Some(s) = self.config.lvs.get(service) else {
            self.log(Level::Warn, format!("vrrpd reported the quorum of unknown LVS service {service}"));
            return;
        };
        let (name, command) = (s.name.clone(), if up { s.quorum_up.clone() } else { s.quorum_down.clone() });
        let was = self.lvs_quorum.insert(name.clone(), up).unwrap_or(true);
        if was == up {
            return;
        }
        self.log(if up { Level::Info } else { Level::Warn }, format!("LVS service {name}: quorum {}", if up { "gained" } else { "lost" }));
        let Some(command) = command else { return };
        // The current checker runs it as `script_user`, in order with the service's others.
        let checkers: Vec<i32> =
            self.pids_of(Role::Checker).into_iter().filter(|p| self.procs.get(p).is_some_and(|p| !p.draining)).collect();
        for pid in checkers {
            let instance = format!("{LVS_NOTIFY_PREFIX}{name}");
            self.send_checker(pid, ToChecker::Notify { instance, command: command.clone(), args: Vec::new() });
        }
    }

    /// vrrpd's latest view of the services and their counters.
    pub(super) fn lvs_stats(&mut self, views: Vec<LvsView>) {
        self.lvs_views = views;
        for pid in self.pids_of(Role::Worker) {
            self.send_worker(pid, ToWorker::LvsStates(self.lvs_views.clone()));
        }
    }

    /// `hakeeper ctl show lvs`.
    pub(super) fn show_lvs(&mut self, id: u64) {
        let reply = if self.config.lvs.is_empty() {
            CtlReply::Lvs(Vec::new())
        } else if self.lvs_views.is_empty() {
            CtlReply::Error(if self.root {
                "vrrpd has not reported the LVS services yet".into()
            } else {
                "the LVS data plane needs root: no LVS service is programmed".into()
            })
        } else {
            CtlReply::Lvs(self.lvs_views.clone())
        };
        self.out.push(Output::CtlAnswer { id, reply });
    }
}
