//! Binary upgrade without a restart (SIGUSR2 or `hakeeper ctl upgrade`), as HAProxy's master
//! re-exec (`-x`, master-worker SIGUSR2): the shell first has the binary now on disk check the
//! config (a refusal changes nothing); then vrrpd hands over (stops without a priority-0 advert,
//! leaving the VIPs in place, and reports its states), and the supervisor re-executes the new
//! binary in place (same PID, so systemd's MainPID stays valid) with its listeners, its
//! workers' channels and this state. The next supervisor ([`Policy::inherit`]) adopts the
//! workers as an older generation, starts a new checker, worker and vrrpd (which carries on in
//! the handed-over states), and the old workers drain once the new one serves, as after a
//! reload. Server health (the new checker starts from the old one's verdicts, as HAProxy's
//! `server-state-file`) and operator overrides set by `hakeeper ctl` or the stats page are kept;
//! `misc_dynamic` weights come back with the new checker's first results.

use super::{Output, PendingUpgrade, Policy, Proc};
use crate::child::Role;
use hakeeper_common::ctl::CtlReply;
use hakeeper_common::ipc::{AdminState, InstanceId, ServerName, ToVrrp, VrrpState};
use log::Level;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How long vrrpd may take to answer `HandOver` before the upgrade is abandoned.
pub const HANDOVER_WAIT: Duration = Duration::from_secs(1);

/// A worker the next supervisor adopts (its channel travels beside this record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedWorker {
    pub pid: i32,
    pub generation: u64,
    pub draining: bool,
    /// It had reported `Ready`.
    pub serving: bool,
}

/// What the policy carries across the exec. Its layout is versioned by the shell's record
/// (`upgrade.rs`): a binary that does not know the version starts clean, keeping only the
/// listeners and workers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpgradeState {
    pub generation: u64,
    /// The checker's last verdict on each server, by name: the new checker starts each one in
    /// it (as HAProxy's `load-server-state-from-file`), so a DOWN server is not sent traffic
    /// until it passes `rise` checks.
    #[serde(default)]
    pub server_health: Vec<(ServerName, bool)>,
    /// Operator overrides (admin state, weight) by server name.
    pub server_admin: Vec<(ServerName, AdminState, Option<u32>)>,
    /// The VRRP instances' states when vrrpd handed over, by instance name.
    pub vrrp: Vec<(String, VrrpState)>,
    pub switched_over: bool,
    pub proxy_up: bool,
}

/// What the next supervisor inherits: the workers it adopted (those whose channel it could
/// take) and, unless the record's version was unknown, the state.
#[derive(Debug, Clone, Default)]
pub struct Inherited {
    pub workers: Vec<CarriedWorker>,
    pub state: Option<UpgradeState>,
    /// The `hakeeper ctl upgrade` client (taken over by the shell's ctl server): answered once
    /// the new worker serves.
    pub ctl: Option<u64>,
}

impl Policy {
    /// The shell checked the config with the new binary (`outcome`): on success vrrpd is asked
    /// to hand over, then the shell re-executes.
    pub(super) fn upgrade(&mut self, ctl: Option<u64>, outcome: Result<String, String>, now: Instant) {
        let busy = if self.stop.is_some() {
            Some("the service is stopping")
        } else if self.pending_upgrade.is_some() {
            Some("an upgrade is already under way")
        } else if self.pending_reload.is_some() {
            Some("a reload is under way")
        } else {
            None
        };
        let refusal = match (&outcome, busy) {
            (_, Some(why)) => Some(why.to_string()),
            (Err(why), None) => Some(why.clone()),
            (Ok(_), None) => None,
        };
        if let Some(why) = refusal {
            self.log(Level::Error, format!("upgrade refused, the running binary keeps serving: {why}"));
            if let Some(id) = ctl {
                self.out.push(Output::CtlAnswer {
                    id,
                    reply: CtlReply::Error(format!("upgrade refused, the running binary keeps serving: {why}")),
                });
            }
            return;
        }
        let binary = outcome.unwrap_or_default();
        self.log(Level::Info, format!("upgrading to {binary}: it accepts the configuration"));
        self.out.push(Output::NotifyReloading);
        let vrrpds: Vec<i32> =
            self.pids_of(Role::Vrrpd).into_iter().filter(|p| self.procs.get(p).is_some_and(|p| p.open && !p.draining)).collect();
        if vrrpds.is_empty() {
            self.exec_upgrade(ctl, binary);
            return;
        }
        for pid in vrrpds {
            self.log(Level::Info, format!("vrrpd (pid {pid}) hands over its instances, keeping the VIPs"));
            if let Some(p) = self.procs.get_mut(&pid) {
                // Its exit is expected; its successor starts from what it hands over.
                p.draining = true;
            }
            self.send_vrrp(pid, ToVrrp::HandOver);
        }
        self.pending_upgrade = Some(PendingUpgrade { ctl, binary, deadline: now + HANDOVER_WAIT });
    }

    /// vrrpd stopped and reported its instances' states.
    pub(super) fn vrrp_handed_over(&mut self, pid: i32, instances: Vec<(InstanceId, VrrpState, u8)>) {
        let mut carried = Vec::new();
        for (instance, state, priority) in instances {
            self.vrrp_states.insert(instance, (state, priority));
            if let Some(cfg) = self.config.vrrp.instances.get(instance.0) {
                carried.push((cfg.name.clone(), state));
            }
        }
        self.log(Level::Info, format!("vrrpd (pid {pid}) handed over {} instance(s)", carried.len()));
        self.vrrp_resume = carried;
        if let Some(PendingUpgrade { ctl, binary, .. }) = self.pending_upgrade.take() {
            self.exec_upgrade(ctl, binary);
        }
        // Otherwise the upgrade was abandoned meanwhile: the replacement started on its exit
        // (a draining vrrpd) carries on from these states.
    }

    /// vrrpd did not answer in time: nothing is executed; it carries on if it never got the
    /// message, or is replaced (resuming its states) if it handed over late.
    pub(super) fn upgrade_timer(&mut self, now: Instant) {
        let Some(pending) = &self.pending_upgrade else { return };
        if now < pending.deadline {
            return;
        }
        let ctl = pending.ctl;
        self.pending_upgrade = None;
        let why = "vrrpd did not hand over in time";
        self.log(Level::Error, format!("upgrade abandoned, the running binary keeps serving: {why}"));
        self.notify_systemd("READY=1");
        if let Some(id) = ctl {
            self.out.push(Output::CtlAnswer {
                id,
                reply: CtlReply::Error(format!("upgrade abandoned, the running binary keeps serving: {why}")),
            });
        }
    }

    pub(super) fn upgrade_deadline(&self) -> Option<Instant> {
        self.pending_upgrade.as_ref().map(|p| p.deadline)
    }

    fn exec_upgrade(&mut self, ctl: Option<u64>, binary: String) {
        let mut workers: Vec<CarriedWorker> = self
            .procs
            .values()
            .filter(|p| p.role == Role::Worker && p.open)
            .map(|p| CarriedWorker { pid: p.pid, generation: p.generation, draining: p.draining, serving: p.ready_since.is_some() })
            .collect();
        workers.sort_unstable_by_key(|w| w.pid);
        let mut server_admin: Vec<(ServerName, AdminState, Option<u32>)> =
            self.server_admin.iter().map(|(name, (state, weight))| (name.clone(), *state, *weight)).collect();
        server_admin.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut server_health: Vec<(ServerName, bool)> = self.server_health.iter().map(|(n, up)| (n.clone(), *up)).collect();
        server_health.sort_unstable();
        let state = UpgradeState {
            generation: self.generation,
            server_health,
            server_admin,
            vrrp: self.vrrp_resume.clone(),
            switched_over: self.switched_over,
            proxy_up: self.proxy_up,
        };
        self.log(Level::Info, format!("re-executing {binary} (pid {}); {} worker(s) carry on", self.parent, workers.len()));
        // The ctl client travels with the exec: the next supervisor answers it once it serves.
        self.exec_ctl = ctl;
        self.out.push(Output::Exec { binary, workers, state, ctl });
    }

    /// The shell could not execute the new binary: this one keeps serving, and a vrrpd that
    /// handed over is replaced at once, carrying on from its states.
    pub(super) fn exec_failed(&mut self, error: String, now: Instant) {
        self.log(Level::Error, format!("upgrade failed, the running binary keeps serving: {error}"));
        self.notify_systemd("READY=1");
        if let Some(id) = self.exec_ctl.take() {
            let reply = CtlReply::Error(format!("upgrade failed, the running binary keeps serving: {error}"));
            self.out.push(Output::CtlAnswer { id, reply });
        }
        let running = self.procs.values().any(|p| p.role == Role::Vrrpd && !p.draining);
        if self.root && !running && !self.restarts.iter().any(|(r, _)| *r == Role::Vrrpd) {
            self.restarts.push((Role::Vrrpd, now));
        }
    }

    /// After an upgrade's exec, before `Boot`: the adopted workers (an older generation, so
    /// that the new worker's `Ready` drains them) and the carried state.
    pub fn inherit(&mut self, inherited: Inherited, now: Instant) {
        let newest = inherited.workers.iter().map(|w| w.generation).max().unwrap_or(0);
        for w in &inherited.workers {
            let proc = Proc {
                role: Role::Worker,
                pid: w.pid,
                open: true,
                generation: w.generation,
                draining: w.draining,
                ready_since: w.serving.then_some(now),
            };
            self.procs.insert(w.pid, proc);
        }
        match inherited.state {
            Some(state) => {
                self.generation = state.generation.max(newest) + 1;
                self.server_admin = state.server_admin.into_iter().map(|(name, s, w)| (name, (s, w))).collect();
                self.server_health = state.server_health.into_iter().collect();
                self.carried_health = self.server_health.clone();
                // Known as they were: the resumed instances' first reports are no transitions, so
                // no notify script runs again (keepalived's reload does not re-run them either).
                for (name, vrrp_state) in &state.vrrp {
                    if let Some(i) = self.config.vrrp.instances.iter().position(|i| &i.name == name) {
                        self.vrrp_states.insert(InstanceId(i), (*vrrp_state, 0));
                    }
                }
                self.vrrp_resume = state.vrrp;
                self.switched_over = state.switched_over;
                self.proxy_up = state.proxy_up;
            }
            None => self.generation = newest + 1,
        }
        if let Some(id) = inherited.ctl {
            self.reload_waiters.push((id, self.generation));
        }
        self.log(
            Level::Info,
            format!(
                "carrying on after a binary upgrade: {} worker(s) adopted, generation {} next",
                inherited.workers.len(),
                self.generation
            ),
        );
    }

    /// A new vrrpd after an upgrade (or a failed one) learns the states to carry on from,
    /// before its `Start`.
    pub(super) fn parent_to_vrrp_resume(&mut self, pid: i32) {
        if self.vrrp_resume.is_empty() {
            return;
        }
        let resume: Vec<(InstanceId, VrrpState)> = std::mem::take(&mut self.vrrp_resume)
            .into_iter()
            .filter_map(|(name, state)| self.config.vrrp.instances.iter().position(|i| i.name == name).map(|i| (InstanceId(i), state)))
            .collect();
        if !resume.is_empty() {
            self.send_vrrp(pid, ToVrrp::Resume(resume));
        }
    }
}
