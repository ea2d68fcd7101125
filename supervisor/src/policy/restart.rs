//! A child that exits is restarted with a doubling, capped backoff (`backoff.rs`); an exit code
//! of 2 means "this config cannot run" and is not retried. A worker that keeps exiting
//! (`worker_crash_limit`: so many exits within a window) makes this node give up its VIPs
//! (proxy DOWN to vrrpd, what the seed's haproxy_check.sh did, measured rather than polled),
//! and gets them back once a worker serves for `rise`.

use super::{Output, Policy, Proc, SpawnWhy};
use crate::child::{Role, EXIT_NO_RESTART};
use hakeeper_common::ctl::CtlReply;
use hakeeper_common::duration::format_duration;
use log::Level;
use std::time::{Duration, Instant};

impl Policy {
    pub(super) fn child_exited(&mut self, proc: Proc, how: String, code: Option<i32>, now: Instant) {
        let role = proc.role;
        if self.stop.is_some() {
            self.log(Level::Info, format!("{} (pid {}) {how}", role.name(), proc.pid));
            if role == Role::Vrrpd {
                self.drain_workers_for_stop(now);
            }
            return;
        }
        if proc.draining && role != Role::Worker {
            // Told to stop for a reload or an upgrade: its replacement starts now, without
            // counting a crash, unless one runs or is due already.
            let replaced = self.procs.values().any(|p| p.role == role && !p.draining) || self.restarts.iter().any(|(r, _)| *r == role);
            if replaced {
                self.log(Level::Info, format!("{} (pid {}) {how}; its replacement runs", role.name(), proc.pid));
            } else {
                self.log(Level::Info, format!("{} (pid {}) {how}; starting its replacement", role.name(), proc.pid));
                self.restarts.push((role, now));
            }
            return;
        }
        if proc.draining {
            self.log(Level::Info, format!("old worker (pid {}) finished draining ({how})", proc.pid));
            return;
        }
        if role == Role::Worker && proc.ready_since.is_none() {
            self.answer_reload_waiters(proc.generation, |g| CtlReply::Error(format!("the worker of generation {g} {how} before serving")));
        }
        if role == Role::Worker && proc.generation < self.generation {
            // An older generation that had not been told to drain yet: the newer one serves.
            self.log(Level::Info, format!("old worker (pid {}) {how}", proc.pid));
            return;
        }
        self.log(Level::Error, format!("{} (pid {}) {how}", role.name(), proc.pid));
        let Some(policy) = self.policies.get_mut(role.name()) else { return };
        let delay = policy.on_exit(now);
        let failing = policy.failing(now);
        if code == Some(EXIT_NO_RESTART as i32) {
            self.log(Level::Error, format!("{} cannot run with this config; not restarting it", role.name()));
            if role == Role::Worker {
                self.set_proxy_health(false);
            }
            return;
        }
        if role == Role::Worker && failing {
            self.set_proxy_health(false);
        }
        self.log(Level::Info, format!("restarting {} in {}", role.name(), format_duration(delay)));
        self.restarts.push((role, now + delay));
        *self.restart_counts.entry(role.name()).or_default() += 1;
        self.send_process_view();
    }

    /// A child could not be started: at boot that ends the supervisor; a reload's worker is
    /// reported; a restart is tried again after the backoff.
    pub(super) fn spawn_failed(&mut self, role: Role, why: SpawnWhy, error: String, now: Instant) {
        match why {
            SpawnWhy::Boot => self.out.push(Output::Abort(error)),
            SpawnWhy::Reload => self.reload_spawn_failed(&error),
            SpawnWhy::Restart => {
                self.log(Level::Error, error);
                let delay = self.policies.get_mut(role.name()).map(|p| p.on_exit(now)).unwrap_or(Duration::from_secs(1));
                self.restarts.push((role, now + delay.max(Duration::from_millis(100))));
            }
        }
    }

    /// Starts the children whose restart time came.
    pub(super) fn restart_due(&mut self, now: Instant) {
        let due: Vec<Role> = self.restarts.iter().filter(|(_, t)| *t <= now).map(|(r, _)| *r).collect();
        self.restarts.retain(|(_, t)| *t > now);
        for role in due {
            self.spawn(role, SpawnWhy::Restart);
        }
    }

    /// After a crash loop: proxy UP again once a worker served for `rise` and the exits aged
    /// out of the window.
    pub(super) fn proxy_recovery(&mut self, now: Instant) {
        if self.proxy_up {
            return;
        }
        let rise = self.config.global.worker_crash_limit.rise;
        let serving = self.procs.values().any(|p| p.role == Role::Worker && p.ready_since.is_some_and(|t| now.duration_since(t) >= rise));
        let failing = self.policies.get_mut(Role::Worker.name()).is_some_and(|p| p.failing(now));
        if serving && !failing {
            self.set_proxy_health(true);
        }
    }
}
