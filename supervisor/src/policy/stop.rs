//! SIGTERM/SIGINT, within 5 s in all: vrrpd releases the VIPs first (priority-0 adverts, as
//! keepalived on shutdown) and exits once the new master holds them (or its bound passed); the
//! workers serve until then, then drain (HAProxy's soft-stop, bounded); notify_stop scripts run;
//! stragglers are killed at the deadline.

use super::{Output, Policy, StopState};
use crate::child::Role;
use hakeeper_common::ipc::{InstanceId, ToChecker, ToVrrp, ToWorker};
use log::Level;
use std::time::{Duration, Instant};

/// How long the stop sequence may take before stragglers are killed (the promise is 5 s).
pub const STOP_DEADLINE: Duration = Duration::from_millis(4500);
/// Longest wait for vrrpd to release the VIPs before the worker drains anyway: above vrrpd's
/// hand-over bound (timing.rs `release_hold`, 1.1 s at most), so the worker serves on the VIPs
/// until the new master holds them.
pub const VRRP_RELEASE_WAIT: Duration = Duration::from_millis(1500);
/// Longest drain on SIGTERM, leaving room for vrrpd's release within the 5 s promise.
pub const STOP_DRAIN: Duration = Duration::from_secs(2);
/// How long the shell reaps after the deadline's kills before it exits.
const KILL_LINGER: Duration = Duration::from_millis(50);

impl Policy {
    pub(super) fn begin_stop(&mut self, now: Instant) {
        self.log(Level::Info, "stopping: releasing VIPs, then draining connections".into());
        self.notify_systemd("STOPPING=1");
        self.restarts.clear();
        // `announce`: the route is withdrawn first (vrrpd on Shutdown, at once); the worker
        // serves on for `withdraw_wait`, while the router moves new flows to the other hosts,
        // then drains; the whole stop grows by that wait.
        let withdraw = self.config.vrrp.announce.as_ref().map(|a| a.withdraw_wait);
        let withdrawn_until = withdraw.map(|w| now + w);
        let extra = withdraw.unwrap_or_default();
        self.stop = Some(StopState {
            deadline: now + STOP_DEADLINE + extra,
            vrrp_wait_until: now + VRRP_RELEASE_WAIT.max(extra),
            withdrawn_until,
            workers_drained: false,
        });
        let vrrpds = self.pids_of(Role::Vrrpd);
        if vrrpds.is_empty() && withdrawn_until.is_none() {
            self.drain_workers_for_stop(now);
        }
        for pid in vrrpds {
            self.send_vrrp(pid, ToVrrp::Shutdown);
        }
    }

    /// The VIPs are released (or vrrpd took too long): run notify_stop, then let the checker
    /// finish its queued scripts and exit, and the workers drain.
    pub(super) fn drain_workers_for_stop(&mut self, now: Instant) {
        let Some(stop) = &mut self.stop else { return };
        if stop.workers_drained || stop.withdrawn_until.is_some_and(|t| now < t) {
            return;
        }
        stop.workers_drained = true;
        let deadline = stop.deadline;
        let mut instances: Vec<(InstanceId, u8)> = self.vrrp_states.iter().map(|(i, (_, p))| (*i, *p)).collect();
        instances.sort_unstable();
        for (instance, priority) in instances {
            self.notify(instance, "STOP", priority);
        }
        for pid in self.pids_of(Role::Checker) {
            self.send_checker(pid, ToChecker::Stop);
        }
        let remaining = deadline.saturating_duration_since(now).saturating_sub(Duration::from_millis(500));
        // A stop is bounded (5 s in all); a reload's drain is what hard_stop_after is for.
        let grace = self.config.global.hard_stop_after.min(remaining).min(STOP_DRAIN);
        for pid in self.pids_of(Role::Worker) {
            if let Some(p) = self.procs.get_mut(&pid) {
                p.draining = true;
            }
            self.send_worker(pid, ToWorker::Drain { grace });
        }
    }

    pub(super) fn stop_timers(&mut self, now: Instant) {
        let Some(stop) = &self.stop else { return };
        // vrrpd gone (it withdrew and released) and withdraw_wait over: no reason to wait longer.
        let withdrawn = stop.withdrawn_until.is_some_and(|t| now >= t) && self.pids_of(Role::Vrrpd).is_empty();
        if !stop.workers_drained && (now >= stop.vrrp_wait_until || withdrawn) {
            self.drain_workers_for_stop(now);
        }
        if self.stop.as_ref().is_some_and(|s| now >= s.deadline) && !self.exited {
            let mut late: Vec<(i32, Role)> = self.procs.values().map(|p| (p.pid, p.role)).collect();
            late.sort_unstable_by_key(|(pid, _)| *pid);
            for (pid, role) in late {
                self.log(Level::Warn, format!("{} (pid {pid}) did not stop in time; killing it", role.name()));
                self.out.push(Output::Kill { pid });
            }
            self.exited = true;
            self.out.push(Output::Exit { linger: KILL_LINGER });
            // After the shell reaped what the kills ended.
            self.log(Level::Info, "all children stopped; exiting".into());
        }
    }
}
