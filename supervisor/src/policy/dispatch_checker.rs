//! Checker → supervisor: health transitions and check verdicts (to every worker, and kept for
//! replay), `misc_dynamic` weights, track script states (to vrrpd), watchdog pongs.

use super::Policy;
use crate::child::Role;
use hakeeper_common::ipc::{FromChecker, ScriptId, ServerName, ToVrrp, ToWorker};
use log::Level;

impl Policy {
    pub(super) fn parent_dispatch_checker(&mut self, pid: i32, msg: FromChecker) {
        match msg {
            FromChecker::Pong(seq) => self.pong(pid, seq),
            FromChecker::CheckResult { backend, server, reason, duration } => {
                for worker in self.pids_of(Role::Worker) {
                    self.send_worker(worker, ToWorker::CheckResult { backend, server, reason: reason.clone(), duration });
                }
            }
            FromChecker::ServerHealth { backend, server, up, reason, duration } => {
                let Some(key) = self.server_key(backend, server) else {
                    self.log(Level::Warn, format!("checker reported unknown server {backend}/{server}"));
                    return;
                };
                self.server_health.insert(key, up);
                // Every worker, draining ones included, stops using a DOWN server.
                for worker in self.pids_of(Role::Worker) {
                    self.send_worker(worker, ToWorker::ServerHealth { backend, server, up });
                    self.send_worker(worker, ToWorker::CheckResult { backend, server, reason: reason.clone(), duration });
                }
                self.send_builtin_script_states(false);
                self.lvs_backend_changed(backend);
            }
            FromChecker::ServerWeight { backend, server, weight } => {
                let Some(key) = self.server_key(backend, server) else {
                    self.log(Level::Warn, format!("checker reported a weight for unknown server {backend}/{server}"));
                    return;
                };
                self.server_weights.insert(key, weight);
                for worker in self.pids_of(Role::Worker) {
                    self.send_worker(worker, ToWorker::SetWeight { backend, server, weight });
                }
                self.lvs_backend_changed(backend);
            }
            FromChecker::ScriptState { script, ok } => {
                let script = ScriptId(script);
                self.script_states.insert(script, ok);
                for vrrpd in self.pids_of(Role::Vrrpd) {
                    self.send_vrrp(vrrpd, ToVrrp::ScriptState { script, ok });
                }
                self.send_process_view();
            }
        }
    }

    /// The names of the server at the checker's indexes in the current config.
    fn server_key(&self, backend: usize, server: usize) -> Option<ServerName> {
        self.config.backends.get(backend).and_then(|b| b.servers.get(server).map(|s| ServerName::new(&b.name, &s.name)))
    }
}
