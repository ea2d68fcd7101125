//! Running VRRP notify scripts from the event loop: one at a time per instance (see
//! `notify_lanes`), each exec'd as keepalived execs it, in its own process group, killed with
//! its group at its timeout. Their ends arrive as pidfd events like check scripts'.

use super::{Checker, Flow, TimerKey, NOTIFY_TOKENS};
use crate::notify::notify_command::prepare;
use crate::notify::notify_lanes::NotifyJob;
use crate::scripts::script_process::{Outcome, ScriptProcess};
use hakeeper_common::duration::format_duration;
use mio::unix::SourceFd;
use mio::{Interest, Token};
use std::time::{Duration, Instant};

/// How long notify scripts may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyLimits {
    /// One script's run; then its process group is killed.
    pub timeout: Duration,
    /// After Stop, how long queued and running scripts may still take in all.
    pub stop_bound: Duration,
}

impl Default for NotifyLimits {
    fn default() -> Self {
        NotifyLimits { timeout: Duration::from_secs(10), stop_bound: Duration::from_millis(1500) }
    }
}

/// A notify script in progress.
pub struct RunningNotify {
    process: ScriptProcess,
    /// The command as exec'd, for the log.
    shown: String,
}

/// Poll interval for a notify script's end on kernels without pidfd.
const NOTIFY_POLL: Duration = Duration::from_millis(50);

fn tag(instance: &str) -> String {
    match instance.strip_prefix(hakeeper_common::ipc::LVS_NOTIFY_PREFIX) {
        Some(service) => format!("LVS service {service}"),
        None => format!("VRRP_Instance({instance})"),
    }
}

impl Checker {
    /// Queues a notify script behind its instance's others and starts it if its lane is free.
    pub(super) fn queue_notify(&mut self, job: NotifyJob, now: Instant) {
        let lane = self.notify.push(job);
        self.start_notify(lane, now);
    }

    /// Starts the next runnable job of `lane`, skipping (and logging) those that may not run.
    fn start_notify(&mut self, lane: usize, now: Instant) {
        while let Some(job) = self.notify.next_job(lane) {
            let who = tag(&job.instance);
            let run_as = match &self.notify_run_as {
                Ok(run_as) => *run_as,
                Err(why) => {
                    log::error!("{who} notify script `{}` not run: {why}", job.command);
                    continue;
                }
            };
            let command = match prepare(&job.command, &job.args, self.script_security) {
                Ok(c) => c,
                Err(why) => {
                    log::error!("{who} notify script `{}` not run: {why}", job.command);
                    continue;
                }
            };
            let shown = command.display();
            let process = match ScriptProcess::spawn_program(&command.program, &command.args, run_as) {
                Ok(p) => p,
                Err(e) => {
                    log::error!("{who} notify script {shown} cannot be started: {e}");
                    continue;
                }
            };
            log::info!("{who} running notify script {shown} (pid {})", process.pid());
            let watched = process.pidfd().is_some_and(|fd| {
                self.poll.registry().register(&mut SourceFd(&fd), Token(NOTIFY_TOKENS + lane), Interest::READABLE).is_ok()
            });
            if !watched {
                self.timers.schedule(TimerKey::NotifyPoll(lane), now + NOTIFY_POLL);
            }
            self.timers.schedule(TimerKey::NotifyDeadline(lane), now + self.notify_limits.timeout);
            self.notify.set_running(lane, RunningNotify { process, shown }, now);
            return;
        }
    }

    /// The running script of `lane` may have ended: log how, then start the next one.
    pub(super) fn reap_notify(&mut self, lane: usize, now: Instant) {
        let who = tag(self.notify.instance(lane));
        let Some(run) = self.notify.running_mut(lane) else { return };
        let outcome = match run.process.try_finish() {
            Ok(None) => {
                if run.process.pidfd().is_none() {
                    self.timers.schedule(TimerKey::NotifyPoll(lane), now + NOTIFY_POLL);
                }
                return;
            }
            Ok(Some(outcome)) => outcome,
            Err(e) => {
                log::error!("{who} notify script {}: cannot learn how process {} ended: {e}", run.shown, run.process.pid());
                Outcome::Lost
            }
        };
        let Some((run, since)) = self.notify.finish(lane) else { return };
        if let Some(fd) = run.process.pidfd() {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        self.timers.cancel(TimerKey::NotifyDeadline(lane));
        self.timers.cancel(TimerKey::NotifyPoll(lane));
        let took = now.saturating_duration_since(since).as_millis();
        match outcome {
            Outcome::Exited(0) => log::info!("{who} notify script {} exited with status 0 after {took} ms", run.shown),
            Outcome::TimedOut => log::warn!(
                "{who} notify script {} timed out after {:?}; its process group was killed",
                run.shown,
                self.notify_limits.timeout
            ),
            other => log::warn!("{who} notify script {} {} after {took} ms", run.shown, other.describe()),
        }
        self.start_notify(lane, now);
    }

    /// `lane`'s script ran past its timeout: kill its whole group; its end is reaped as usual.
    pub(super) fn notify_deadline(&mut self, lane: usize, now: Instant) {
        let who = tag(self.notify.instance(lane));
        let timeout = self.notify_limits.timeout;
        let Some(run) = self.notify.running_mut(lane) else { return };
        log::warn!(
            "{who} notify script {} still running after {}; killing process group {}",
            run.shown,
            format_duration(timeout),
            run.process.pid()
        );
        run.process.kill_timed_out();
        // Should the pidfd never fire, look again.
        self.timers.schedule(TimerKey::NotifyPoll(lane), now + NOTIFY_POLL);
    }

    /// Stop: the checks end now; notify scripts queued or running get `stop_bound` to finish.
    pub(super) fn begin_stop(&mut self, now: Instant) -> Flow {
        if self.stopping.is_none() {
            self.stop_all();
            let bound = now + self.notify_limits.stop_bound;
            self.stopping = Some(bound);
            self.timers.schedule(TimerKey::StopBound, bound);
        }
        if self.notify.idle() {
            Flow::Stop
        } else {
            log::info!("finishing queued notify scripts (at most {})", format_duration(self.notify_limits.stop_bound));
            Flow::Continue
        }
    }

    /// Shutdown: kills every notify script still running and drops those never started.
    pub(super) fn abandon_notifies(&mut self) {
        let (running, queued) = self.notify.drain();
        for (lane, run) in running {
            if let Some(fd) = run.process.pidfd() {
                let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
            }
            log::warn!(
                "{} notify script {} still running at shutdown; killing process group {}",
                tag(self.notify.instance(lane)),
                run.shown,
                run.process.pid()
            );
            run.process.kill_and_reap();
        }
        for job in queued {
            log::warn!("{} notify script `{}` not run: shutting down", tag(&job.instance), job.command);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tag;

    #[test]
    fn lvs_quorum_scripts_are_logged_under_their_service() {
        assert_eq!(tag("VI_1"), "VRRP_Instance(VI_1)");
        assert_eq!(tag("lvs:vs_web"), "LVS service vs_web");
    }
}
