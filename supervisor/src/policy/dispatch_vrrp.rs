//! vrrpd → supervisor: instance transitions (logged, told to systemd and the stats page, notify
//! scripts run through the checker as keepalived's notify_*), the states a reload kept, packet
//! counters, watchdog pongs.

use super::Policy;
use crate::child::Role;
use hakeeper_common::ipc::{FromVrrp, ToWorker, VrrpState};
use log::Level;

impl Policy {
    pub(super) fn parent_dispatch_vrrp(&mut self, pid: i32, msg: FromVrrp) {
        match msg {
            FromVrrp::Pong(seq) => self.pong(pid, seq),
            FromVrrp::InstanceState { instance, state, priority } => {
                let Some(name) = self.config.vrrp.instances.get(instance.0).map(|i| i.name.clone()) else {
                    self.log(Level::Warn, format!("vrrpd reported unknown instance {}", instance.0));
                    return;
                };
                self.log(Level::Info, format!("VRRP instance {name} is {state} (priority {priority})"));
                let previous = self.vrrp_states.insert(instance, (state, priority));
                self.notify_systemd("");
                self.send_vrrp_views();
                if previous.map(|(s, _)| s) != Some(state) && state != VrrpState::Init {
                    self.notify(instance, state.name(), priority);
                }
            }
            FromVrrp::ReloadKept { instances } => {
                // Unchanged instances carried on through a reload: record, no notify is due.
                for (instance, state, priority) in instances {
                    self.vrrp_states.insert(instance, (state, priority));
                }
                self.send_vrrp_views();
            }
            FromVrrp::HandedOver { instances } => self.vrrp_handed_over(pid, instances),
            FromVrrp::LvsQuorum { service, up } => self.lvs_quorum(service, up),
            FromVrrp::LvsStats(views) => self.lvs_stats(views),
            FromVrrp::Announce { held, error } => self.announce_held(held, error),
            FromVrrp::Counters { instance, received, dropped } => {
                let name = self.config.vrrp.instances.get(instance.0).map(|i| i.name.clone()).unwrap_or_else(|| "?".into());
                if !dropped.is_empty() {
                    let reasons: Vec<String> = dropped.iter().map(|(r, n)| format!("{r}={n}")).collect();
                    self.log(Level::Info, format!("VRRP instance {name}: {received} adverts received, dropped: {}", reasons.join(" ")));
                }
            }
        }
    }

    fn send_vrrp_views(&mut self) {
        let views = ToWorker::VrrpStates(self.vrrp_views());
        for worker in self.pids_of(Role::Worker) {
            self.send_worker(worker, views.clone());
        }
    }
}
