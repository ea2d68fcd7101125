//! SIGHUP and `hakeeper ctl reload`, as HAProxy's seamless reload: a config that fails
//! validation (or whose listeners do not bind; the shell tried) changes nothing and is reported;
//! a good one starts a new worker on the same (or newly bound) listeners, the old one drains once
//! the new one serves (`parent_dispatch_worker`, `Ready`) and hands its stick tables over; the
//! checker restarts only when its checks changed, vrrpd gets the new VRRP config in place.

use super::{Loaded, PendingReload, Policy, Refused, SpawnWhy};
use crate::child::Role;
use hakeeper_common::ctl::CtlReply;
use hakeeper_common::ipc::{ToChecker, ToVrrp};
use log::Level;

impl Policy {
    pub(super) fn reload(&mut self, ctl: Option<u64>, outcome: Result<Loaded, Refused>) {
        self.log(Level::Info, "reloading configuration".into());
        self.out.push(super::Output::NotifyReloading);
        // The upgrade's exec re-reads the config anyway; a reload now would race its hand-over.
        let outcome = match outcome {
            Ok(_) if self.pending_upgrade.is_some() => Err(Refused {
                lines: vec!["a binary upgrade is under way (it loads the config file itself)".into()],
                reply: "reload refused, the running configuration stays: a binary upgrade is under way".into(),
            }),
            other => other,
        };
        let loaded = match outcome {
            Ok(l) => l,
            Err(refused) => {
                for line in &refused.lines {
                    self.log(Level::Error, format!("reload refused, keeping the running config: {line}"));
                }
                let why = refused.lines.first().map_or("", String::as_str);
                let status = format!("READY=1\nSTATUS=reload refused ({why}); serving generation {}", self.generation);
                self.out.push(super::Output::Notify(status));
                if let Some(id) = ctl {
                    self.out.push(super::Output::CtlAnswer { id, reply: CtlReply::Error(refused.reply) });
                }
                return;
            }
        };
        for w in loaded.warnings {
            self.log(Level::Warn, w);
        }
        let old = std::mem::replace(&mut self.config, loaded.config);
        self.generation += 1;
        self.pending_reload = Some(PendingReload { old, ctl });
        self.spawn(Role::Worker, SpawnWhy::Reload);
    }

    /// The reload's worker runs: the checker and vrrpd follow the new config.
    pub(super) fn reload_started(&mut self) {
        let Some(PendingReload { old, ctl }) = self.pending_reload.take() else { return };
        // The checker's capabilities and its scripts' user are fixed when it starts.
        let checker_changed = old.backends != self.config.backends
            || old.vrrp.scripts != self.config.vrrp.scripts
            || old.vrrp.script_user != self.config.vrrp.script_user
            || old.vrrp.enable_script_security != self.config.vrrp.enable_script_security;
        if checker_changed {
            for pid in self.pids_of(Role::Checker) {
                self.log(Level::Info, format!("restarting the checker (pid {pid}) with the new checks"));
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.draining = true;
                }
                self.send_checker(pid, ToChecker::Stop);
            }
        }
        if old.vrrp != self.config.vrrp {
            // Instance indexes may have moved: vrrpd reports the new ones afresh.
            self.vrrp_states.clear();
            for pid in self.pids_of(Role::Vrrpd) {
                self.send_vrrp(pid, ToVrrp::Start(self.config.vrrp.clone()));
            }
        }
        let lvs_changed = old.vrrp != self.config.vrrp || old.lvs != self.config.lvs || old.backends != self.config.backends;
        if lvs_changed && !(old.lvs.is_empty() && self.config.lvs.is_empty()) {
            // The services, the instances carrying their VIPs, or their servers changed.
            for pid in self.pids_of(Role::Vrrpd) {
                self.parent_to_vrrp_lvs(pid);
            }
        }
        self.log(Level::Info, format!("configuration generation {} loaded", self.generation));
        if let Some(id) = ctl {
            self.reload_waiters.push((id, self.generation));
        }
    }

    /// The reload's worker did not start: the new config stays loaded (the next restart tries it).
    pub(super) fn reload_spawn_failed(&mut self, error: &str) {
        let Some(PendingReload { ctl, .. }) = self.pending_reload.take() else { return };
        self.log(Level::Error, format!("reload: {error}"));
        self.notify_systemd("READY=1");
        if let Some(id) = ctl {
            let reply = CtlReply::Error(format!("the new configuration is loaded but its worker did not start: {error}"));
            self.out.push(super::Output::CtlAnswer { id, reply });
        }
    }

    /// Answers the `ctl reload` clients waiting for `generation`.
    pub(super) fn answer_reload_waiters(&mut self, generation: u64, reply: impl Fn(u64) -> CtlReply) {
        let (due, rest): (Vec<_>, Vec<_>) = self.reload_waiters.drain(..).partition(|(_, g)| *g == generation);
        self.reload_waiters = rest;
        for (id, g) in due {
            self.out.push(super::Output::CtlAnswer { id, reply: reply(g) });
        }
    }
}
