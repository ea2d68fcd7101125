//! keepalived's `vrrp_sync_group`: the members of a group move together.

use super::Node;
use crate::instance::Instance;
use crate::state::{Event, State};
use hakeeper_common::config::Vrrp;
use std::time::Instant;

/// A `vrrp_sync_group`: positions of its member instances in the driver's list, and whether it
/// is in FAULT.
pub(super) struct Group {
    pub(super) name: String,
    pub(super) members: Vec<usize>,
    pub(super) faulted: bool,
}

/// The sync groups of `vrrp` over the running `instances` (a member that could not be started
/// is left out); a group of `old` with the same name keeps its FAULT flag.
pub(super) fn groups(vrrp: &Vrrp, instances: &[Instance], old: &[Group]) -> Vec<Group> {
    vrrp.sync_groups
        .iter()
        .map(|g| Group {
            name: g.name.clone(),
            members: g.instances.iter().filter_map(|id| instances.iter().position(|i| i.id == *id)).collect(),
            faulted: old.iter().any(|o| o.name == g.name && o.faulted),
        })
        .collect()
}

impl Node {
    /// keepalived's `vrrp_sync_group`: when a member becomes master the others follow, and
    /// when a master member yields to a higher priority the other masters yield too.
    pub(super) fn sync_group_follow(&mut self, i: usize, from: State, to: State, now: Instant) {
        if self.following {
            return;
        }
        let event = match (from, to) {
            (_, State::Master) => Event::GroupMaster,
            (State::Master, State::Backup) => Event::GroupBackup,
            _ => return,
        };
        let Some(g) = self.groups.iter().position(|g| g.members.contains(&i)) else { return };
        log::info!("VRRP_Group({}) following {} to {to}", self.groups[g].name, self.instances[i].tag());
        self.following = true;
        for m in self.groups[g].members.clone() {
            if m != i && m < self.instances.len() {
                let actions = self.instances[m].machine.handle(event.clone(), now);
                self.execute(m, actions, now);
            }
        }
        self.following = false;
    }

    /// A sync group is in FAULT while any member has a fault of its own; every member holds
    /// that FAULT, and an instance in no faulted group holds none (a reload may have moved it).
    pub(super) fn sync_group_faults(&mut self, now: Instant) {
        let mut held = vec![false; self.instances.len()];
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let faulted = members.iter().any(|&m| self.instances.get(m).is_some_and(|inst| inst.machine.own_fault()));
            if faulted != self.groups[g].faulted {
                self.groups[g].faulted = faulted;
                log::info!("VRRP_Group({}) {}", self.groups[g].name, if faulted { "entering FAULT" } else { "leaving FAULT" });
            }
            for m in members {
                if let Some(h) = held.get_mut(m) {
                    *h = faulted;
                }
            }
        }
        self.following = true;
        for (m, on) in held.into_iter().enumerate() {
            if self.instances[m].machine.group_fault() != on {
                let actions = self.instances[m].machine.handle(Event::GroupFault { on }, now);
                self.execute(m, actions, now);
            }
        }
        self.following = false;
    }
}
