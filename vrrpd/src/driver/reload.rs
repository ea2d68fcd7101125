//! A second `ToVrrp::Start` is a reload, applied in place. Instances are matched by name: one
//! whose config did not change keeps running untouched (state, timers, VIPs, counters); a
//! removed one stops as at shutdown (a master sends priority 0 and removes its VIPs); a changed
//! one stops that way and starts again from INIT; a new one starts as at startup.
//!
//! keepalived (vrrp_daemon.c, `reload_vrrp_thread`) instead carries a changed instance's state
//! over and only adds or removes the VIPs that differ; hakeeper restarts it, so a changed
//! instance waits one Master_Down_Interval in BACKUP before it takes its VIPs back.

use super::{attach, links_up, sync_group, wire_state, Node};
use crate::garp::GarpSocket;
use crate::iface;
use crate::instance::Instance;
use crate::ndisc::NaSocket;
use crate::state::{Event, State};
use crate::vip::Outcome;
use hakeeper_common::config::{TrackScript, Vrrp, VrrpInstance, VrrpScript};
use hakeeper_common::ipc::{send, FromVrrp, InstanceId};
use std::collections::HashMap;
use std::os::fd::AsFd;
use std::time::Instant;

/// What a reload does with each instance.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// (position in the running list, index in the new config) of unchanged instances.
    pub keep: Vec<(usize, usize)>,
    /// Running positions to stop: removed from the config, or changed.
    pub stop: Vec<usize>,
    /// New config indexes to start: added, or changed.
    pub start: Vec<usize>,
}

/// The tracks of an instance by script name, so that renumbered scripts are no change.
fn tracks_by_name<'a>(track: &[TrackScript], scripts: &'a [VrrpScript]) -> Vec<(Option<&'a str>, i32)> {
    track.iter().map(|t| (scripts.get(t.script).map(|s| s.name.as_str()), t.weight)).collect()
}

fn unchanged(old: &VrrpInstance, old_scripts: &[VrrpScript], new: &VrrpInstance, new_scripts: &[VrrpScript]) -> bool {
    let untracked = |i: &VrrpInstance| VrrpInstance { track: Vec::new(), ..i.clone() };
    untracked(old) == untracked(new) && tracks_by_name(&old.track, old_scripts) == tracks_by_name(&new.track, new_scripts)
}

/// Matches the running instances (`old`, configured with `old_scripts`) to `new` by name.
pub(super) fn plan(old_scripts: &[VrrpScript], old: &[&VrrpInstance], new: &Vrrp) -> Plan {
    let mut p = Plan::default();
    for (pos, o) in old.iter().enumerate() {
        match new.instances.iter().position(|n| n.name == o.name) {
            Some(id) if unchanged(o, old_scripts, &new.instances[id], &new.scripts) => p.keep.push((pos, id)),
            _ => p.stop.push(pos),
        }
    }
    p.start = (0..new.instances.len()).filter(|id| !p.keep.iter().any(|(_, k)| k == id)).collect();
    p
}

impl Node {
    /// Applies a new VRRP config without disturbing the instances it does not change.
    pub(super) fn reload(&mut self, new: Vrrp) {
        let now = Instant::now();
        let old: Vec<&VrrpInstance> = self.instances.iter().map(|i| &i.cfg).collect();
        let plan = plan(&self.vrrp.scripts, &old, &new);
        log::info!(
            "reloading the VRRP config: {} instance(s) unchanged, {} to stop, {} to start",
            plan.keep.len(),
            plan.stop.len(),
            plan.start.len()
        );
        // Removed and changed instances go first: a master releases (priority 0) and removes
        // its VIPs before a new instance may claim them.
        for &pos in &plan.stop {
            let changed = new.instances.iter().any(|c| c.name == self.instances[pos].cfg.name);
            log::info!("{} {}; stopping it", self.instances[pos].tag(), if changed { "changed" } else { "was removed" });
            let actions = self.instances[pos].machine.handle(Event::Delete, now);
            self.execute(pos, actions, now);
        }
        let snapshot = iface::snapshot().unwrap_or_else(|e| {
            log::error!("cannot read the interfaces for the new instances: {e}");
            HashMap::new()
        });
        let mut running: Vec<Option<Instance>> = std::mem::take(&mut self.instances).into_iter().map(Some).collect();
        let (mut kept, mut fresh) = (Vec::new(), Vec::new());
        for (id, cfg) in new.instances.iter().enumerate() {
            let carried = plan.keep.iter().find(|(_, n)| *n == id).and_then(|(pos, _)| running.get_mut(*pos).and_then(Option::take));
            if let Some(mut inst) = carried {
                inst.machine.reconfigure(&cfg.track, &new.garp);
                inst.cfg = cfg.clone();
                if inst.id != id {
                    inst.id = id;
                    inst.counters_sent = None;
                }
                kept.push(self.instances.len());
                self.instances.push(inst);
                continue;
            }
            let started = attach(&mut self.ifaces, &snapshot, &new.instances, cfg)
                .and_then(|(k, local)| Instance::new(id, cfg.clone(), k, local, &new.garp));
            match started {
                Ok(inst) => {
                    fresh.push(self.instances.len());
                    self.instances.push(inst);
                }
                Err(e) => log::error!("VRRP_Instance({}) not started: {e}", cfg.name),
            }
        }
        drop(running);
        self.close_unused_sockets();
        self.open_announce_sockets();
        self.groups = sync_group::groups(&new, &self.instances, &self.groups);
        self.script_states = self
            .script_states
            .iter()
            .filter_map(|(old, ok)| {
                let name = &self.vrrp.scripts.get(*old)?.name;
                Some((new.scripts.iter().position(|s| &s.name == name)?, *ok))
            })
            .collect();
        self.vrrp = new;
        // The supervisor knows instances by index, which a reload may change: it hears where
        // the unchanged ones are now, and that no notify script is due for them.
        let carried = kept
            .iter()
            .filter_map(|&i| {
                let inst = &self.instances[i];
                Some((InstanceId(inst.id), wire_state(inst.reported)?, inst.machine.priority()))
            })
            .collect();
        if let Err(e) = send(self.channel.as_fd(), &FromVrrp::ReloadKept { instances: carried }, &[]) {
            log::warn!("cannot tell the supervisor which instances the reload kept: {e}");
        }
        // A stopped instance may have shared a VIP with a master that carries on.
        if !plan.stop.is_empty() {
            for &i in &kept {
                if self.instances[i].machine.state() == State::Master {
                    self.reassert_vips(i);
                }
            }
        }
        for &i in &fresh {
            self.start_fresh(i, &snapshot, now);
        }
        self.sync_group_faults(now);
    }

    /// A new instance starts as at startup, with the link, script and proxy states known now.
    fn start_fresh(&mut self, i: usize, snapshot: &HashMap<String, iface::IfaceInfo>, now: Instant) {
        let up = links_up(snapshot, self.instances[i].watched_links());
        self.instances[i].links_up = up;
        let mut events = vec![Event::Links { up }];
        for t in &self.instances[i].cfg.track {
            if let Some(&ok) = self.script_states.get(&t.script) {
                events.push(Event::Script { script: t.script, ok });
            }
        }
        events.push(Event::Proxy { up: self.proxy_up });
        events.push(Event::Switchover { on: self.switched_over });
        events.push(Event::Startup);
        for event in events {
            let actions = self.instances[i].machine.handle(event, now);
            self.execute(i, actions, now);
        }
    }

    /// Adds back any of a master's VIPs that went missing, saying so only when one did.
    fn reassert_vips(&mut self, i: usize) {
        let inst = &self.instances[i];
        let index = self.ifaces[inst.iface].index;
        for vip in &inst.cfg.vips {
            match self.addrs.add(index, vip) {
                Ok(Outcome::Done) => {
                    log::info!("{} re-added {}/{} after a stopped instance removed it", inst.tag(), vip.addr, vip.prefix_len)
                }
                Ok(Outcome::Unchanged) => {}
                Err(e) => log::error!("{} {e}", inst.tag()),
            }
        }
    }

    /// Sockets no instance uses any more are closed (their packets would only count as strays).
    fn close_unused_sockets(&mut self) {
        for (k, f) in self.ifaces.iter_mut().enumerate() {
            if !self.instances.iter().any(|i| i.iface == k && !i.ipv6) {
                f.sock4 = None;
                f.joined4 = false;
            }
            if !self.instances.iter().any(|i| i.iface == k && i.ipv6) {
                f.sock6 = None;
                f.joined6 = false;
            }
        }
    }

    /// The first IPv4 (IPv6) instance needs the gratuitous ARP (neighbour advertisement) socket.
    fn open_announce_sockets(&mut self) {
        if self.garp_sock.is_none() && self.instances.iter().any(|i| !i.ipv6) {
            match GarpSocket::open() {
                Ok(s) => self.garp_sock = Some(s),
                Err(e) => log::error!("cannot open the gratuitous ARP socket: {e}"),
            }
        }
        if self.na_sock.is_none() && self.instances.iter().any(|i| i.ipv6) {
            match NaSocket::open() {
                Ok(s) => self.na_sock = Some(s),
                Err(e) => log::error!("cannot open the neighbour advertisement socket: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::config::load_str;

    /// A config with the given instances (RON tuples) and two scripts.
    fn vrrp(instances: &[&str]) -> Vrrp {
        vrrp_with_scripts(&["chk_a", "chk_b"], instances)
    }

    fn vrrp_with_scripts(scripts: &[&str], instances: &[&str]) -> Vrrp {
        let scripts: Vec<String> = scripts.iter().map(|s| format!("(name: \"{s}\", script: \"true\")")).collect();
        let text = format!("(vrrp: (scripts: [{}], instances: [{}]))", scripts.join(", "), instances.join(", "));
        load_str("t.ron", &text).unwrap_or_else(|e| panic!("{e}\n{text}")).config.vrrp
    }

    fn inst(name: &str, vrid: u8, vips: &str, extra: &str) -> String {
        format!("(name: \"{name}\", interface: \"eth0\", vrid: {vrid}, priority: 100, vips: [{vips}], {extra})")
    }

    fn plan_between(old: &Vrrp, new: &Vrrp) -> Plan {
        let running: Vec<&VrrpInstance> = old.instances.iter().collect();
        plan(&old.scripts, &running, new)
    }

    #[test]
    fn the_same_config_keeps_everything() {
        let a = vrrp(&[&inst("VI_1", 51, "\"192.0.2.100\"", ""), &inst("VI_2", 52, "\"192.0.2.101\"", "")]);
        assert_eq!(plan_between(&a, &a), Plan { keep: vec![(0, 0), (1, 1)], stop: vec![], start: vec![] });
    }

    #[test]
    fn added_removed_and_changed_instances_are_told_apart_by_name() {
        let old = vrrp(&[
            &inst("VI_1", 51, "\"192.0.2.100\"", ""),
            &inst("VI_2", 52, "\"192.0.2.101\"", ""),
            &inst("VI_3", 53, "\"192.0.2.102\"", ""),
        ]);
        // VI_1 removed, VI_2 unchanged but now first, VI_3 gets a VIP more, VI_4 is new.
        let new = vrrp(&[
            &inst("VI_2", 52, "\"192.0.2.101\"", ""),
            &inst("VI_3", 53, "\"192.0.2.102\", \"192.0.2.103\"", ""),
            &inst("VI_4", 54, "\"192.0.2.104\"", ""),
        ]);
        assert_eq!(plan_between(&old, &new), Plan { keep: vec![(1, 0)], stop: vec![0, 2], start: vec![1, 2] });
    }

    #[test]
    fn any_instance_setting_is_a_change() {
        let base = vrrp(&[&inst("VI_1", 51, "\"192.0.2.100\"", "")]);
        for extra in
            ["advert_int: \"2s\"", "preempt: false", "notify: \"/bin/true\"", "proxy_down: weight(10)", "track: [(script: \"chk_a\")]"]
        {
            let new = vrrp(&[&inst("VI_1", 51, "\"192.0.2.100\"", extra)]);
            assert_eq!(plan_between(&base, &new), Plan { keep: vec![], stop: vec![0], start: vec![0] }, "{extra}");
        }
    }

    #[test]
    fn a_renumbered_script_is_no_change_but_another_script_is() {
        let old =
            vrrp_with_scripts(&["chk_a", "chk_b"], &[&inst("VI_1", 51, "\"192.0.2.100\"", "track: [(script: \"chk_b\", weight: 5)]")]);
        assert_eq!(old.instances[0].track[0].script, 1);
        let moved = vrrp_with_scripts(
            &["chk_x", "chk_y", "chk_b"],
            &[&inst("VI_1", 51, "\"192.0.2.100\"", "track: [(script: \"chk_b\", weight: 5)]")],
        );
        assert_eq!(moved.instances[0].track[0].script, 2);
        assert_eq!(plan_between(&old, &moved).keep, vec![(0, 0)], "same script name at another index");
        let other = vrrp(&[&inst("VI_1", 51, "\"192.0.2.100\"", "track: [(script: \"chk_a\", weight: 5)]")]);
        assert_eq!(plan_between(&old, &other).stop, vec![0]);
    }
}
