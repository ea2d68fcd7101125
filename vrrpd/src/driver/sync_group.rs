//! keepalived's `vrrp_sync_group`: the members of a group move together.

use super::Node;
use crate::state::{Event, State};
use std::time::Instant;

/// A `vrrp_sync_group`: indexes of its member instances, and whether it is in FAULT.
pub(super) struct Group {
    pub(super) name: String,
    pub(super) members: Vec<usize>,
    pub(super) faulted: bool,
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

    /// A sync group is in FAULT while any member has a fault of its own.
    pub(super) fn sync_group_faults(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let faulted = members.iter().any(|&m| self.instances.get(m).is_some_and(|inst| inst.machine.own_fault()));
            if faulted == self.groups[g].faulted {
                continue;
            }
            self.groups[g].faulted = faulted;
            log::info!("VRRP_Group({}) {}", self.groups[g].name, if faulted { "entering FAULT" } else { "leaving FAULT" });
            self.following = true;
            for &m in &members {
                if m < self.instances.len() {
                    let actions = self.instances[m].machine.handle(Event::GroupFault { on: faulted }, now);
                    self.execute(m, actions, now);
                }
            }
            self.following = false;
        }
    }
}
