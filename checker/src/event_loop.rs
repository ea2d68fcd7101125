//! The checker's single event loop: every server check and every script run of the config is
//! multiplexed on one mio `Poll` with one deadline queue, so hundreds of servers cost no threads.
//!
//! Tokens: 0 is the supervisor channel, then one per checked server (its probe's socket), then one
//! per script (the running process's pidfd), and from NOTIFY_TOKENS on one per notify lane (the
//! pidfd of its running notify script).
//!
//! Notify scripts (`ToChecker::Notify`) run beside the checks, never blocking them; `Stop` ends
//! the checks at once and lets queued notify scripts finish within a bound.

use crate::checks::probe::Readiness;
use crate::checks::report::{no_server_line, transition_line, ServerCounts, Transition};
use crate::checks::server_check::{Conclusion, ServerCheck, Step};
use crate::checks::status::CheckResult;
use crate::error::CheckerError;
use crate::notify::notify_lanes::{Lanes, NotifyJob};
use crate::rng::Rng;
use crate::scripts::run_as::{drop_script_caps, Credentials, RunAs};
use crate::scripts::script_check::{ScriptCheck, KILL_GRACE};
use crate::scripts::script_process::Outcome;
use crate::scripts::security::command_security_problem;

/// Longest a healthy server's unchanged check verdict goes untold to the stats page.
const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
use crate::timers::TimerQueue;
use hakeeper_common::config::ScriptAction;
use hakeeper_common::ipc::{send, CheckerConfig, FrameReader, FromChecker, IpcError, ReadOutcome, ToChecker};
use hakeeper_common::logging::NOTICE;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

mod notify_runs;

pub use notify_runs::NotifyLimits;
use notify_runs::RunningNotify;

const CHANNEL: Token = Token(0);
const FIRST_SERVER: usize = 1;
/// The first notify lane's token, far above any server or script.
const NOTIFY_TOKENS: usize = usize::MAX / 2;
/// How often a script's end is polled on kernels without pidfd.
const SCRIPT_POLL: Duration = Duration::from_millis(100);
/// Deadlines may fire this much late (never early), so that checks due within the same few
/// milliseconds share one wake-up: with 1,000 checks a second spread at random, this cuts the
/// loop's wake-ups (and about a quarter of its CPU time) while no interval gets shorter.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// `wait` rounded up to a multiple of TIMER_SLACK.
fn coalesced(wait: Duration) -> Duration {
    let slack = TIMER_SLACK.as_micros();
    let micros = wait.as_micros().div_ceil(slack) * slack;
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TimerKey {
    /// The next check of server i, or the deadline of the one in flight.
    Server(usize),
    /// Server i's check script's exit poll (no pidfd).
    ServerPoll(usize),
    /// Script j's next run.
    ScriptTick(usize),
    /// Script j's timeout, then its SIGKILL escalation.
    ScriptDeadline(usize),
    /// Script j's exit poll (no pidfd).
    ScriptPoll(usize),
    /// The timeout of notify lane k's running script.
    NotifyDeadline(usize),
    /// Notify lane k's exit poll (no pidfd).
    NotifyPoll(usize),
    /// After Stop: notify scripts still queued or running then are abandoned.
    StopBound,
}

impl TimerKey {
    /// Timers of the health checks, which end at Stop.
    fn is_check(self) -> bool {
        matches!(
            self,
            TimerKey::Server(_) | TimerKey::ServerPoll(_) | TimerKey::ScriptTick(_) | TimerKey::ScriptDeadline(_) | TimerKey::ScriptPoll(_)
        )
    }
}

/// One server as the "N active and M backup servers" count sees it.
struct Member {
    backup: bool,
    /// Not disabled and weight > 0 (HAProxy's `srv_willbe_usable`).
    usable: bool,
    /// Index into `Checker::servers` when checked; unchecked servers are always UP.
    check: Option<usize>,
}

enum Flow {
    Continue,
    Stop,
}

pub struct Checker {
    poll: Poll,
    channel: OwnedFd,
    reader: FrameReader,
    backends: Vec<Vec<Member>>,
    servers: Vec<ServerCheck>,
    scripts: Vec<ScriptCheck>,
    timers: TimerQueue<TimerKey>,
    rng: Rng,
    notify: Lanes<RunningNotify>,
    notify_limits: NotifyLimits,
    /// From the config: `enable_script_security` and `script_user` also apply to notify scripts.
    script_security: bool,
    /// Whom notify scripts run as, or why they may not run.
    notify_run_as: Result<RunAs, String>,
    /// The checker's user and whether it may still switch to another one for a script.
    creds: Credentials,
    /// Set by Stop (or a closed channel): checks have ended, notify scripts may finish until then.
    stopping: Option<Instant>,
}

impl Checker {
    pub fn new(channel: OwnedFd, reader: FrameReader) -> Result<Self, CheckerError> {
        let poll = Poll::new().map_err(CheckerError::Poll)?;
        poll.registry().register(&mut SourceFd(&channel.as_raw_fd()), CHANNEL, Interest::READABLE).map_err(CheckerError::Poll)?;
        Ok(Checker {
            poll,
            channel,
            reader,
            backends: Vec::new(),
            servers: Vec::new(),
            scripts: Vec::new(),
            timers: TimerQueue::new(),
            rng: Rng::from_entropy(),
            notify: Lanes::new(),
            notify_limits: NotifyLimits::default(),
            script_security: false,
            notify_run_as: Ok(RunAs::Own),
            creds: Credentials::current(),
            stopping: None,
        })
    }

    /// Other notify timeouts than keepalived-like defaults (tests).
    pub fn with_notify_limits(mut self, limits: NotifyLimits) -> Self {
        self.notify_limits = limits;
        self
    }

    /// Checks `config` until the supervisor says Stop or goes away; `early` are notify requests
    /// that came before Start.
    pub fn run(&mut self, config: CheckerConfig, early: Vec<NotifyJob>) -> Result<(), CheckerError> {
        let mut events = Events::with_capacity(256);
        if let Flow::Stop = self.configure(config, Instant::now())? {
            return Ok(());
        }
        for job in early {
            self.queue_notify(job, Instant::now());
        }
        // Messages may have arrived together with Start.
        if let Flow::Stop = self.dispatch_parent_messages(Instant::now())? {
            return Ok(());
        }
        loop {
            if self.stopping.is_some() && self.notify.idle() {
                return Ok(());
            }
            let timeout = self.timers.next_deadline().map(|at| coalesced(at.saturating_duration_since(Instant::now())));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(CheckerError::Poll(e));
            }
            let now = Instant::now();
            for event in events.iter() {
                let flow = match event.token() {
                    CHANNEL => self.read_channel(now)?,
                    Token(t) => self.on_event(t, Readiness::of(event), now)?,
                };
                if let Flow::Stop = flow {
                    return Ok(());
                }
            }
            while let Some(key) = self.timers.pop_due(now) {
                if let Flow::Stop = self.on_timer(key, now)? {
                    return Ok(());
                }
            }
        }
    }

    /// Replaces every check with those of `config` (at start, or on a later Start): servers
    /// start UP as HAProxy starts them, scripts undecided as keepalived starts them.
    fn configure(&mut self, config: CheckerConfig, now: Instant) -> Result<Flow, CheckerError> {
        self.stop_all();
        self.script_security = config.enable_script_security;
        self.timers.retain(|key| !key.is_check());
        self.backends.clear();
        self.servers.clear();
        self.scripts.clear();
        for (b, backend) in config.backends.iter().enumerate() {
            let mut members = Vec::new();
            for (s, server) in backend.servers.iter().enumerate() {
                let check = match &server.check {
                    // HAProxy does not check a server in maintenance.
                    Some(check) if !server.disabled => {
                        let i = self.servers.len();
                        let mut checked = ServerCheck::new(b, backend, s, server, check);
                        if let Some(script) = checked.script_mut() {
                            match self.creds.run_as(config.script_user.as_ref()) {
                                Ok(run_as) => script.run_as = run_as,
                                Err(why) => script.refused = Some(why),
                            }
                            if config.enable_script_security && script.refused.is_none() {
                                script.refused = command_security_problem(&script.command)
                                    .map(|why| format!("refused by enable_script_security: {why}"));
                            }
                            if let Some(why) = &script.refused {
                                log::error!("check script of server {}/{}: {why}", backend.name, server.name);
                            }
                        }
                        self.servers.push(checked);
                        // Spread the first checks over `inter` so they do not all fire at once.
                        let first = now + self.rng.below(check.inter);
                        self.timers.schedule(TimerKey::Server(i), first);
                        Some(i)
                    }
                    _ => None,
                };
                members.push(Member { backup: server.backup, usable: !server.disabled && server.weight > 0, check });
            }
            self.backends.push(members);
        }
        self.notify_run_as = self.creds.run_as(config.script_user.as_ref());
        let mut unapplied = self.creds.unapplied(config.script_user.as_ref()).cloned();
        for (index, script) in config.scripts.iter().enumerate() {
            // Builtin checks (proxy_alive) are answered by the supervisor itself.
            let ScriptAction::Command(command) = &script.action else {
                continue;
            };
            let user = script.user.as_ref().or(config.script_user.as_ref());
            unapplied = unapplied.or_else(|| self.creds.unapplied(user).cloned());
            let j = self.scripts.len();
            let mut check = ScriptCheck::new(index, script, command);
            match self.creds.run_as(user) {
                Ok(run_as) => check.run_as = run_as,
                Err(why) => check.refused = Some(why),
            }
            if config.enable_script_security && check.refused.is_none() {
                check.refused = command_security_problem(command).map(|why| format!("refused by enable_script_security: {why}"));
            }
            self.scripts.push(check);
            match self.scripts[j].refused.clone() {
                Some(why) => {
                    log::error!("VRRP_Script({}) {why}", script.name);
                    if let Flow::Stop = self.script_result(j, Outcome::Lost)? {
                        return Ok(Flow::Stop);
                    }
                }
                None => self.timers.schedule(TimerKey::ScriptTick(j), now),
            }
        }
        if let Some(user) = unapplied {
            log::warn!(
                "script user {:?} is not applied: hakeeper was not started as root, so scripts run as the checker's own user (uid {})",
                user.name,
                self.creds.own.uid
            );
        }
        self.settle_script_caps();
        log::info!("checking {} servers and {} scripts", self.servers.len(), self.scripts.len());
        Ok(Flow::Continue)
    }

    fn read_channel(&mut self, now: Instant) -> Result<Flow, CheckerError> {
        let mut closed = false;
        loop {
            match self.reader.read_from(self.channel.as_fd()) {
                Ok(ReadOutcome::Data) => {}
                Ok(ReadOutcome::WouldBlock) => break,
                Err(IpcError::Closed) => {
                    closed = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Flow::Stop = self.dispatch_parent_messages(now)? {
            return Ok(Flow::Stop);
        }
        if closed {
            log::info!("the supervisor closed the channel; stopping");
            let _ = self.poll.registry().deregister(&mut SourceFd(&self.channel.as_raw_fd()));
            return Ok(self.begin_stop(now));
        }
        Ok(Flow::Continue)
    }

    fn dispatch_parent_messages(&mut self, now: Instant) -> Result<Flow, CheckerError> {
        while let Some((msg, _fds)) = self.reader.next::<ToChecker>()? {
            if let Flow::Stop = self.checker_dispatch_parent(msg, now)? {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    fn checker_dispatch_parent(&mut self, msg: ToChecker, now: Instant) -> Result<Flow, CheckerError> {
        match msg {
            ToChecker::Stop => {
                log::info!("stopping on the supervisor's request");
                Ok(self.begin_stop(now))
            }
            ToChecker::Start(_) if self.stopping.is_some() => {
                log::info!("new checks from the supervisor while stopping; ignored");
                Ok(Flow::Continue)
            }
            ToChecker::Start(config) => {
                log::info!("new checks from the supervisor; starting over");
                self.configure(config, now)
            }
            ToChecker::Notify { instance, command, args } => {
                self.queue_notify(NotifyJob { instance, command, args }, now);
                Ok(Flow::Continue)
            }
            ToChecker::Ping(n) => self.checker_to_parent(&FromChecker::Pong(n)),
        }
    }

    fn checker_to_parent(&mut self, msg: &FromChecker) -> Result<Flow, CheckerError> {
        match send(self.channel.as_fd(), msg, &[]) {
            Ok(()) => Ok(Flow::Continue),
            Err(IpcError::Closed) => {
                log::info!("the supervisor closed the channel; stopping");
                Ok(Flow::Stop)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn on_event(&mut self, token: usize, ready: Readiness, now: Instant) -> Result<Flow, CheckerError> {
        if let Some(lane) = token.checked_sub(NOTIFY_TOKENS) {
            self.reap_notify(lane, now);
            return Ok(Flow::Continue);
        }
        if self.stopping.is_some() {
            return Ok(Flow::Continue);
        }
        let Some(i) = token.checked_sub(FIRST_SERVER) else {
            return Ok(Flow::Continue);
        };
        if i < self.servers.len() {
            return match self.servers[i].on_event(ready, now) {
                Step::Waiting => {
                    if self.servers[i].needs_poll() {
                        self.timers.schedule(TimerKey::ServerPoll(i), now + SCRIPT_POLL);
                    }
                    Ok(Flow::Continue)
                }
                Step::Deadline(at) => {
                    self.timers.schedule(TimerKey::Server(i), at);
                    Ok(Flow::Continue)
                }
                Step::Done(result) => self.server_result(i, result, now),
            };
        }
        match i.checked_sub(self.servers.len()) {
            Some(j) if j < self.scripts.len() => self.reap_script(j, now),
            _ => Ok(Flow::Continue),
        }
    }

    fn on_timer(&mut self, key: TimerKey, now: Instant) -> Result<Flow, CheckerError> {
        if self.stopping.is_some() && key.is_check() {
            return Ok(Flow::Continue);
        }
        match key {
            TimerKey::Server(i) => self.server_timer(i, now),
            TimerKey::ServerPoll(i) => {
                let ready = Readiness { writable: false, error: false };
                self.on_event(FIRST_SERVER + i, ready, now)
            }
            TimerKey::ScriptTick(j) => self.script_tick(j, now),
            TimerKey::ScriptDeadline(j) => {
                self.script_deadline(j, now);
                Ok(Flow::Continue)
            }
            TimerKey::ScriptPoll(j) => self.reap_script(j, now),
            TimerKey::NotifyDeadline(lane) => {
                self.notify_deadline(lane, now);
                Ok(Flow::Continue)
            }
            TimerKey::NotifyPoll(lane) => {
                self.reap_notify(lane, now);
                Ok(Flow::Continue)
            }
            TimerKey::StopBound => {
                self.abandon_notifies();
                Ok(Flow::Stop)
            }
        }
    }

    fn server_timer(&mut self, i: usize, now: Instant) -> Result<Flow, CheckerError> {
        let server = &mut self.servers[i];
        if server.in_flight() {
            return match server.on_timeout(now) {
                Step::Done(result) => self.server_result(i, result, now),
                Step::Deadline(at) => {
                    self.timers.schedule(TimerKey::Server(i), at);
                    Ok(Flow::Continue)
                }
                Step::Waiting => Ok(Flow::Continue),
            };
        }
        match server.begin(self.poll.registry(), Token(FIRST_SERVER + i), now) {
            Ok(deadline) => {
                if server.needs_poll() {
                    self.timers.schedule(TimerKey::ServerPoll(i), now + SCRIPT_POLL);
                }
                self.timers.schedule(TimerKey::Server(i), deadline);
                Ok(Flow::Continue)
            }
            Err(result) => self.server_result(i, result, now),
        }
    }

    /// Counts a finished check, schedules the next one (HAProxy: the interval starts when the
    /// check ends), and reports a state change.
    fn server_result(&mut self, i: usize, result: CheckResult, now: Instant) -> Result<Flow, CheckerError> {
        let server = &mut self.servers[i];
        let Conclusion { change, next, weight } = server.conclude(&result);
        self.timers.cancel(TimerKey::ServerPoll(i));
        self.timers.schedule(TimerKey::Server(i), now + next);
        log::debug!(
            "Health check for server {}/{} {}, reason: {}, check duration: {}ms, status: {}.",
            server.backend_name,
            server.server_name,
            if result.passed() { "succeeded" } else { "failed" },
            result.reason(),
            result.duration_ms(),
            server.counter.status_text()
        );
        if let Some(weight) = weight {
            // Before the health change, so that a server coming UP serves with its new weight.
            if let Flow::Stop = self.server_weight(i, weight)? {
                return Ok(Flow::Stop);
            }
        }
        let reason = result.reason();
        let server = &mut self.servers[i];
        let stale = server.reported.as_ref().is_none_or(|(last, at)| *last != reason || now.duration_since(*at) >= REPORT_EVERY);
        server.reported = Some((reason.clone(), now));
        let Some(up) = change else {
            if stale {
                let msg = FromChecker::CheckResult { backend: server.backend, server: server.server, reason, duration: result.duration };
                return self.checker_to_parent(&msg);
            }
            return Ok(Flow::Continue);
        };
        let server = &self.servers[i];
        let counts = self.counts(server.backend);
        let line = transition_line(&Transition {
            backend: &server.backend_name,
            server: &server.server_name,
            backup: server.backup,
            up,
            result: &result,
            counts,
        });
        // BACKEND and SERVER fields for the journal (`journalctl BACKEND=webserver`).
        let (be, srv) = (server.backend_name.as_str(), server.server_name.as_str());
        if up {
            log::info!(target: NOTICE, backend = be, server = srv; "{line}");
        } else {
            log::warn!(backend = be, server = srv; "{line}");
            if counts.active + counts.backup == 0 {
                log::error!(backend = be; "{}", no_server_line(be));
            }
        }
        let msg = FromChecker::ServerHealth {
            backend: server.backend,
            server: server.server,
            up,
            reason: result.reason(),
            duration: result.duration,
        };
        self.checker_to_parent(&msg)
    }

    /// A `dynamic` check script set server i's weight (keepalived's misc_dynamic).
    fn server_weight(&mut self, i: usize, weight: u32) -> Result<Flow, CheckerError> {
        let server = &self.servers[i];
        log::info!("Server {}/{} weight set to {weight} by its check script.", server.backend_name, server.server_name);
        let (backend, index) = (server.backend, server.server);
        if let Some(member) = self.backends.get_mut(backend).and_then(|m| m.get_mut(index)) {
            member.usable = weight > 0;
        }
        self.checker_to_parent(&FromChecker::ServerWeight { backend, server: index, weight })
    }

    fn counts(&self, backend: usize) -> ServerCounts {
        let mut counts = ServerCounts { active: 0, backup: 0 };
        for m in self.backends.get(backend).map(Vec::as_slice).unwrap_or(&[]) {
            let up = m.check.map(|i| self.servers[i].counter.is_up()).unwrap_or(true);
            if m.usable && up {
                if m.backup {
                    counts.backup += 1;
                } else {
                    counts.active += 1;
                }
            }
        }
        counts
    }

    /// keepalived runs a script every `interval` from the previous start, skipping a run while
    /// the previous one is still going.
    fn script_tick(&mut self, j: usize, now: Instant) -> Result<Flow, CheckerError> {
        let script = &mut self.scripts[j];
        self.timers.schedule(TimerKey::ScriptTick(j), now + script.interval);
        match script.launch() {
            Ok(false) => Ok(Flow::Continue),
            Ok(true) => {
                let timeout = script.timeout;
                let pidfd = script.running.as_ref().and_then(|p| p.pidfd());
                let token = Token(FIRST_SERVER + self.servers.len() + j);
                let registered = match pidfd {
                    Some(fd) => match self.poll.registry().register(&mut SourceFd(&fd), token, Interest::READABLE) {
                        Ok(()) => true,
                        Err(e) => {
                            log::warn!("cannot watch script {} through its pidfd ({e}); polling it", self.scripts[j].name);
                            false
                        }
                    },
                    None => false,
                };
                if !registered {
                    self.timers.schedule(TimerKey::ScriptPoll(j), now + SCRIPT_POLL);
                }
                self.timers.schedule(TimerKey::ScriptDeadline(j), now + timeout);
                Ok(Flow::Continue)
            }
            Err(e) => {
                log::error!("VRRP_Script({}) cannot be started: {e}", script.name);
                self.script_result(j, Outcome::Lost)
            }
        }
    }

    /// The timeout: SIGTERM to the script's group, then SIGKILL every KILL_GRACE until it is gone.
    fn script_deadline(&mut self, j: usize, now: Instant) {
        let script = &mut self.scripts[j];
        let Some(process) = script.running.as_mut() else {
            return;
        };
        if process.timed_out() {
            log::warn!("VRRP_Script({}) still running after SIGTERM; killing process group {}", script.name, process.pid());
            process.signal_group(Signal::SIGKILL);
        } else {
            log::warn!(
                "VRRP_Script({}) timed out after {}; terminating process group {}",
                script.name,
                hakeeper_common::duration::format_duration(script.timeout),
                process.pid()
            );
            process.time_out();
        }
        self.timers.schedule(TimerKey::ScriptDeadline(j), now + KILL_GRACE);
    }

    fn reap_script(&mut self, j: usize, now: Instant) -> Result<Flow, CheckerError> {
        let script = &mut self.scripts[j];
        let Some(process) = script.running.as_mut() else {
            return Ok(Flow::Continue);
        };
        let outcome = match process.try_finish() {
            Ok(None) => {
                if process.pidfd().is_none() {
                    self.timers.schedule(TimerKey::ScriptPoll(j), now + SCRIPT_POLL);
                }
                return Ok(Flow::Continue);
            }
            Ok(Some(outcome)) => outcome,
            Err(e) => {
                log::error!("VRRP_Script({}): cannot learn how process {} ended: {e}", script.name, process.pid());
                Outcome::Lost
            }
        };
        if let Some(fd) = process.pidfd() {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        script.running = None;
        self.timers.cancel(TimerKey::ScriptDeadline(j));
        self.timers.cancel(TimerKey::ScriptPoll(j));
        self.script_result(j, outcome)
    }

    fn script_result(&mut self, j: usize, outcome: Outcome) -> Result<Flow, CheckerError> {
        let script = &mut self.scripts[j];
        match script.record(outcome) {
            Some(ok) => {
                let msg = FromChecker::ScriptState { script: script.index, ok };
                self.checker_to_parent(&msg)
            }
            None => Ok(Flow::Continue),
        }
    }

    /// Keeps CAP_SETUID/SETGID/KILL only while a script runs as another user.
    fn settle_script_caps(&mut self) {
        let switching = |r: &RunAs| matches!(r, RunAs::User(_));
        let needed = self.scripts.iter().any(|s| s.refused.is_none() && switching(&s.run_as))
            || self.servers.iter_mut().filter_map(ServerCheck::script_mut).any(|s| s.refused.is_none() && switching(&s.run_as))
            || self.notify_run_as.as_ref().is_ok_and(switching);
        if needed || !self.creds.can_switch {
            return;
        }
        match drop_script_caps() {
            Ok(()) => {
                self.creds.can_switch = false;
                log::debug!("no script runs as another user: capabilities dropped");
            }
            Err(e) => log::warn!("cannot drop the capabilities kept for script_user: {e}"),
        }
    }

    /// Closes every probe and kills every running script (shutdown, reconfiguration).
    fn stop_all(&mut self) {
        for server in &mut self.servers {
            server.abandon();
        }
        for script in &mut self.scripts {
            if let Some(process) = script.running.take() {
                if let Some(fd) = process.pidfd() {
                    let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
                }
                process.kill_and_reap();
            }
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.stop_all();
        self.abandon_notifies();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_rounded_up_to_the_slack_never_down() {
        assert_eq!(coalesced(Duration::ZERO), Duration::ZERO);
        assert_eq!(coalesced(Duration::from_micros(1)), TIMER_SLACK);
        assert_eq!(coalesced(TIMER_SLACK), TIMER_SLACK);
        assert_eq!(coalesced(Duration::from_millis(995)), Duration::from_millis(1000));
    }
}
