//! A child that (re)starts learns what the supervisor knows: a worker its config, listeners and
//! every server's health, weight and operator override (as HAProxy's seamless reload keeps server
//! states through `server-state-file`); a checker the servers' configured initial states; vrrpd
//! the proxy's health, the switchover and every track's state.

use super::{Policy, Proc, SpawnWhy};
use crate::child::Role;
use crate::listeners::worker_listeners;
use hakeeper_common::ipc::{CheckerConfig, ScriptId, ServerName, ToChecker, ToVrrp, ToWorker, WorkerConfig};
use std::collections::HashMap;

impl Policy {
    /// The child asked for runs as `pid`: it gets its start messages.
    pub(super) fn spawned(&mut self, role: Role, pid: i32, why: SpawnWhy) {
        self.log(log::Level::Info, format!("started {} (pid {pid})", role.name()));
        let proc = Proc { role, pid, open: true, generation: self.generation, draining: false, ready_since: None };
        self.procs.insert(pid, proc);
        match role {
            Role::Worker => {
                self.parent_to_new_worker(pid);
                self.send_process_view();
            }
            Role::Checker => self.parent_to_new_checker(pid),
            Role::Vrrpd => self.parent_to_new_vrrp(pid),
        }
        if role == Role::Worker && why == SpawnWhy::Reload {
            self.reload_started();
        }
    }

    /// A new worker gets its config, the listening sockets and the server states known so far.
    fn parent_to_new_worker(&mut self, pid: i32) {
        let c = &self.config;
        let start = ToWorker::Start {
            config: WorkerConfig {
                global: c.global.clone(),
                frontends: c.frontends.clone(),
                backends: c.backends.clone(),
                stats: c.stats.clone(),
                http: c.http.clone(),
                peers: crate::listeners::shared_peers(c),
            },
            generation: self.generation,
        };
        let listeners = worker_listeners(&self.config);
        let mut replay = Vec::new();
        for (b, backend) in self.config.backends.iter().enumerate() {
            for (s, server) in backend.servers.iter().enumerate() {
                let key = ServerName::new(&backend.name, &server.name);
                if let Some(up) = self.server_health.get(&key) {
                    replay.push(ToWorker::ServerHealth { backend: b, server: s, up: *up });
                }
                if let Some(weight) = self.server_weights.get(&key) {
                    replay.push(ToWorker::SetWeight { backend: b, server: s, weight: *weight });
                }
                if let Some((state, weight)) = self.server_admin.get(&key) {
                    replay.push(ToWorker::ServerAdmin { backend: b, server: s, state: *state });
                    if let Some(weight) = weight {
                        replay.push(ToWorker::SetWeight { backend: b, server: s, weight: *weight });
                    }
                }
            }
        }
        replay.push(ToWorker::VrrpStates(self.vrrp_views()));
        if !self.lvs_views.is_empty() {
            replay.push(ToWorker::LvsStates(self.lvs_views.clone()));
        }
        self.send_worker(pid, start);
        if self.procs.get(&pid).is_some_and(|p| p.open) {
            self.out.push(super::Output::SendListeners { pid, listeners });
        }
        for msg in replay {
            self.send_worker(pid, msg);
        }
    }

    /// A new checker starts every server in its configured initial state (UP unless
    /// `initial: down`, as HAProxy) and reports only changes, so the workers are told that
    /// starting point, or a server recovered meanwhile would stay DOWN.
    fn parent_to_new_checker(&mut self, pid: i32) {
        let mut changes = Vec::new();
        let mut health = HashMap::new();
        // After a binary upgrade the first checker starts from the previous one's verdicts.
        let carried = std::mem::take(&mut self.carried_health);
        let mut backends = self.config.backends.clone();
        for be in backends.iter_mut() {
            for sv in be.servers.iter_mut() {
                if let (Some(up), Some(check)) = (carried.get(&ServerName::new(&be.name, &sv.name)), sv.check.as_mut()) {
                    check.initial_up = *up;
                }
            }
        }
        for (b, be) in backends.iter().enumerate() {
            for (s, sv) in be.servers.iter().enumerate() {
                let key = ServerName::new(&be.name, &sv.name);
                let initial = sv.check.as_ref().is_none_or(|c| c.initial_up);
                if self.server_health.get(&key).copied().unwrap_or(true) != initial {
                    changes.push(ToWorker::ServerHealth { backend: b, server: s, up: initial });
                }
                if !initial {
                    health.insert(key, false);
                }
            }
        }
        self.server_health = health;
        // A new checker starts from the configured weights and reports changes from there.
        self.server_weights.clear();
        for worker in self.pids_of(Role::Worker) {
            for msg in &changes {
                self.send_worker(worker, msg.clone());
            }
        }
        // vrrpd balances from that starting point too.
        for backend in 0..self.config.backends.len() {
            self.lvs_backend_changed(backend);
        }
        self.send_builtin_script_states(false);
        let c = &self.config;
        let msg = ToChecker::Start(CheckerConfig {
            backends,
            scripts: c.vrrp.scripts.clone(),
            script_user: c.vrrp.script_user.clone(),
            enable_script_security: c.vrrp.enable_script_security,
        });
        self.send_checker(pid, msg);
    }

    /// A new vrrpd gets the VRRP config, the proxy's health, a switchover in force and every
    /// track's last state.
    fn parent_to_new_vrrp(&mut self, pid: i32) {
        // Before `Start`: the instances carry on from a handed-over state instead of starting.
        self.parent_to_vrrp_resume(pid);
        self.send_vrrp(pid, ToVrrp::Start(self.config.vrrp.clone()));
        // A new vrrpd holds nothing: the announcement is sent again when the input ends.
        self.announce.sent = None;
        self.announce.held = false;
        if !self.config.lvs.is_empty() {
            self.parent_to_vrrp_lvs(pid);
        }
        self.send_vrrp(pid, ToVrrp::ProxyHealth { up: self.proxy_up });
        if self.switched_over {
            self.send_vrrp(pid, ToVrrp::Switchover { on: true });
        }
        let mut states: Vec<(ScriptId, bool)> = self.script_states.iter().map(|(k, v)| (*k, *v)).collect();
        states.sort_unstable();
        for (script, ok) in states {
            self.send_vrrp(pid, ToVrrp::ScriptState { script, ok });
        }
        self.send_builtin_script_states(true);
    }
}
