//! Worker → supervisor: a worker serves (a reload's older workers then drain), an operator
//! changed a server (kept for replay), a draining worker's stick tables (handed to its
//! successors), a ctl answer, a watchdog pong.

use super::{Output, Policy};
use crate::child::Role;
use hakeeper_common::ctl::CtlReply;
use hakeeper_common::duration::format_duration;
use hakeeper_common::ipc::{AdminState, FromWorker, ServerName, ToWorker};
use log::Level;
use std::time::Instant;

impl Policy {
    pub(super) fn parent_dispatch_worker(&mut self, pid: i32, msg: FromWorker, now: Instant) {
        match msg {
            FromWorker::Ready { generation } => self.worker_ready(pid, generation, now),
            FromWorker::AdminChanged { backend, server, state, weight } => {
                let shown = weight.map_or_else(|| "none".to_string(), |w| w.to_string());
                // The worker logged the action and its outcome; this is its report.
                let name = ServerName::new(backend, server);
                let backend = name.backend.clone();
                self.log(Level::Debug, format!("worker (pid {pid}): server {name} is {state} (weight override {shown})"));
                if state == AdminState::Ready && weight.is_none() {
                    self.server_admin.remove(&name);
                } else {
                    self.server_admin.insert(name, (state, weight));
                }
                self.lvs_backend_named(&backend);
            }
            FromWorker::StickTables(tables) => {
                // A draining worker's persistence carries on in its successors.
                for to in self.successors_of(pid) {
                    self.send_worker(to, ToWorker::StickTables(tables.clone()));
                }
            }
            FromWorker::StickData(part) => {
                for to in self.successors_of(pid) {
                    self.send_worker(to, ToWorker::StickData(part.clone()));
                }
            }
            FromWorker::Pong(seq) => self.pong(pid, seq),
            FromWorker::CtlReply { id, reply } => self.out.push(Output::CtlAnswer { id, reply }),
        }
    }

    fn worker_ready(&mut self, pid: i32, generation: u64, now: Instant) {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.ready_since = Some(now);
        }
        self.worker_served = true;
        self.log(Level::Info, format!("worker (pid {pid}) serving config generation {generation}"));
        if generation == self.generation {
            // Started, or a reload done: systemd may consider the service ready again.
            self.notify_systemd("READY=1");
        }
        self.answer_reload_waiters(generation, |g| CtlReply::Done(format!("configuration generation {g} loaded and serving")));
        // A reload's new worker is up: the older ones stop accepting and drain.
        let grace = self.config.global.hard_stop_after;
        let older: Vec<i32> = self
            .pids_of(Role::Worker)
            .into_iter()
            .filter(|p| self.procs.get(p).is_some_and(|p| p.generation < generation && !p.draining))
            .collect();
        for old in older {
            if let Some(p) = self.procs.get_mut(&old) {
                p.draining = true;
            }
            self.log(Level::Info, format!("worker (pid {old}) draining (up to {})", format_duration(grace)));
            self.send_worker(old, ToWorker::Drain { grace });
        }
    }

    /// The workers that are not draining, other than `pid`: who takes over a draining worker's
    /// stick tables.
    fn successors_of(&self, pid: i32) -> Vec<i32> {
        self.pids_of(Role::Worker).into_iter().filter(|p| *p != pid && self.procs.get(p).is_some_and(|p| !p.draining)).collect()
    }
}
