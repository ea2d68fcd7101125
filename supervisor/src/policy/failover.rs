//! What moves the VIPs: the proxy's health (crash loop, `proxy_alive`), the built-in
//! `min_servers_up` track, a planned switchover, and keepalived's notify scripts at each
//! transition.

use super::Policy;
use crate::child::Role;
use hakeeper_common::config::{BuiltinCheck, ScriptAction};
use hakeeper_common::ctl::CtlReply;
use hakeeper_common::duration::format_duration;
use hakeeper_common::ipc::{InstanceId, ScriptId, ServerName, ToChecker, ToVrrp};
use log::Level;
use std::time::Instant;

impl Policy {
    /// Runs keepalived's notify scripts for a transition, through the checker (which runs
    /// scripts unprivileged, one at a time per instance): the state's own script with its
    /// configured arguments, then the generic `notify` with INSTANCE NAME STATE PRIORITY.
    pub(super) fn notify(&mut self, instance: InstanceId, state: &str, priority: u8) {
        let Some(inst) = self.config.vrrp.instances.get(instance.0) else { return };
        let specific = match state {
            "MASTER" => &inst.notify_master,
            "BACKUP" => &inst.notify_backup,
            "FAULT" => &inst.notify_fault,
            _ => &inst.notify_stop,
        };
        let mut runs = Vec::new();
        if let Some(cmd) = specific {
            runs.push(ToChecker::Notify { instance: inst.name.clone(), command: cmd.clone(), args: Vec::new() });
        }
        if let Some(cmd) = &inst.notify {
            let args = vec!["INSTANCE".to_string(), inst.name.clone(), state.to_string(), priority.to_string()];
            runs.push(ToChecker::Notify { instance: inst.name.clone(), command: cmd.clone(), args });
        }
        // Only the current checker: one being replaced may not live to run them.
        let checkers: Vec<i32> =
            self.pids_of(Role::Checker).into_iter().filter(|p| self.procs.get(p).is_some_and(|p| !p.draining)).collect();
        for pid in checkers {
            for msg in &runs {
                self.send_checker(pid, msg.clone());
            }
        }
    }

    /// Built-in tracks are answered here: `proxy_alive` from the worker's health,
    /// `min_servers_up` from the checker's reports (a server never reported is UP, as the
    /// checker starts it). Only changes are sent, unless `all` (a new vrrpd).
    pub(super) fn send_builtin_script_states(&mut self, all: bool) {
        let mut states = Vec::new();
        for (i, script) in self.config.vrrp.scripts.iter().enumerate() {
            let i = ScriptId(i);
            let ok = match &script.action {
                ScriptAction::Builtin(BuiltinCheck::ProxyAlive) => self.proxy_up,
                ScriptAction::Builtin(BuiltinCheck::MinServersUp { backend, servers }) => {
                    let Some(b) = self.config.backends.get(*backend) else { continue };
                    let up = b
                        .servers
                        .iter()
                        .filter(|s| !s.disabled && self.server_health.get(&ServerName::new(&b.name, &s.name)).copied().unwrap_or(true))
                        .count();
                    up >= *servers as usize
                }
                ScriptAction::Command(_) => continue,
            };
            if all || self.builtin_sent.get(&i) != Some(&ok) {
                states.push((i, ok));
            }
            self.builtin_sent.insert(i, ok);
        }
        if !all {
            for (script, ok) in &states {
                let name = self.config.vrrp.scripts.get(script.0).map_or_else(String::new, |s| s.name.clone());
                self.log(Level::Warn, format!("track {name} is now {}", if *ok { "OK" } else { "KO" }));
            }
        }
        if !states.is_empty() && !all {
            self.send_process_view();
        }
        for pid in self.pids_of(Role::Vrrpd) {
            for (script, ok) in &states {
                self.send_vrrp(pid, ToVrrp::ScriptState { script: *script, ok: *ok });
            }
        }
    }

    /// `hakeeper ctl switchover`: this host gives up its VIPs (FAULT: priority-0 adverts; a
    /// pair's backup takes over at once, others after their skew time) while the worker keeps
    /// serving, on the VIPs too until vrrpd hears the new master (vrrpd `state.rs`, `release`).
    /// `switchback` undoes it.
    pub(super) fn switchover(&mut self, release: bool, now: Instant) -> CtlReply {
        let verb = if release { "switchover" } else { "switchback" };
        // An `announce` host takes part too: a switchover withdraws its routes (`announce.rs`).
        let nothing = self.config.vrrp.instances.is_empty() && self.config.vrrp.announce.is_none();
        if self.pids_of(Role::Vrrpd).is_empty() || nothing {
            self.log(Level::Info, format!("ctl {verb}: refused: no VRRP instance runs on this host"));
            return CtlReply::Error("no VRRP instance runs on this host".into());
        }
        if release {
            self.log(Level::Warn, "planned switchover: releasing this host's VIPs; established connections continue".into());
            self.set_switchover(true);
            CtlReply::Done(
                "switchover: VIPs released (FAULT, priority 0), handed over once the new master advertises; \
                 `hakeeper ctl switchback` takes part in VRRP again"
                    .into(),
            )
        } else {
            let failing = self.policies.get_mut(Role::Worker.name()).is_some_and(|p| p.failing(now));
            if failing {
                self.log(Level::Info, format!("ctl {verb}: refused: the worker is still failing"));
                return CtlReply::Error("the worker is still failing; the VIPs come back once it is healthy".into());
            }
            self.log(Level::Warn, "switchback: this host takes part in VRRP again".into());
            self.set_switchover(false);
            CtlReply::Done("switchback: VRRP instances leave FAULT; preempt brings the VIPs back".into())
        }
    }

    /// A switchover is a FAULT cause of its own in vrrpd (not a proxy down): the proxy serves
    /// on, so vrrpd hands the VIPs over instead of dropping them (vrrpd `state.rs`, `release`).
    fn set_switchover(&mut self, on: bool) {
        self.switched_over = on;
        for pid in self.pids_of(Role::Vrrpd) {
            self.send_vrrp(pid, ToVrrp::Switchover { on });
        }
    }

    pub(super) fn set_proxy_health(&mut self, up: bool) {
        if self.proxy_up == up {
            return;
        }
        self.proxy_up = up;
        if up {
            let rise = format_duration(self.config.global.worker_crash_limit.rise);
            self.log(Level::Warn, format!("worker healthy for {rise}: proxy UP, VRRP priority restored"));
        } else {
            let l = self.config.global.worker_crash_limit;
            self.log(
                Level::Error,
                format!("worker exited {} times within {}: proxy DOWN, this node gives up its VIPs", l.exits, format_duration(l.window)),
            );
        }
        for pid in self.pids_of(Role::Vrrpd) {
            self.send_vrrp(pid, ToVrrp::ProxyHealth { up });
        }
        self.send_builtin_script_states(false);
    }
}
