//! The supervisor's policy, with no I/O (as `vrrpd/src/state.rs`): inputs in (a child's
//! message or exit, a signal, a reload's config, a ctl request, a timer), outputs out (send to a
//! child, start or kill one, sd_notify, a log line, a ctl answer, the next timer). The shell in
//! `supervisor.rs` does what the outputs say and feeds back what happened.
//!
//! What the policy holds: which children run and what each serves, the state to replay to a
//! restarted child (server health and weights, operator overrides, track states, VRRP states,
//! the LVS services' real-server states for vrrpd), the restart backoff and the crash-loop
//! demotion (`worker_crash_limit`: a proxy that keeps dying gives up the VIPs, what keepalived
//! did with the seed's haproxy_check.sh), the reload, the binary upgrade (`upgrade.rs`: vrrpd's
//! hand-over, the state carried across the exec, the adopted workers) and the stop sequence,
//! and the LVS services' quorum (its scripts) and counters (`show lvs`).

mod announce;
#[cfg(test)]
mod announce_tests;
mod backoff;
mod ctl;
mod dispatch_checker;
mod dispatch_vrrp;
mod dispatch_worker;
mod failover;
mod health_replay;
pub mod input;
mod lvs;
#[cfg(test)]
mod lvs_tests;
pub mod output;
mod reload;
mod restart;
mod status;
mod stop;
#[cfg(test)]
mod tests;
mod upgrade;

use crate::child::{ChildSpec, Role};
use crate::privileges::Privileges;
use crate::watchdog::Watchdog;
use backoff::RestartPolicy;
use hakeeper_common::config::Config;
use hakeeper_common::ctl::LvsView;
use hakeeper_common::ipc::{AdminState, InstanceId, ScriptId, ServerName, ToChecker, ToVrrp, ToWorker, VrrpState};
use hakeeper_common::logging::LogSpec;
pub use input::{Input, Loaded, Refused, SpawnWhy};
pub use output::{Output, ToChild};
use std::collections::HashMap;
use std::time::{Duration, Instant};
pub use upgrade::{CarriedWorker, Inherited, UpgradeState};

/// Frames queued for one child beyond what its socket buffer took, before it counts as wedged
/// and is killed: this base, plus [`OUTBOX_PER_SERVER`] per configured server. The largest
/// legitimate bursts are a new worker's start (4 frames, then at most 4 per server: health,
/// weight, admin state, admin weight) and a mass health flip (2 per server per worker); the base
/// covers minutes of pings, ctl requests and VRRP changes at any rate an operator produces.
pub const OUTBOX_BASE: usize = 4096;
pub const OUTBOX_PER_SERVER: usize = 8;

/// What the supervisor learns at start-up and the policy needs to start children.
pub struct Setup {
    pub config: Config,
    pub foreground: bool,
    /// Root: vrrpd runs (with its network capabilities), the others drop privileges.
    pub root: bool,
    pub worker_privs: Privileges,
    pub checker_privs: Privileges,
    /// The supervisor's PID, for the children's parent-death check.
    pub parent: i32,
    /// This host's name and start time, for the stats page.
    pub host: String,
    pub started_unix: u64,
    /// systemd's `WatchdogSec`, when it asked for one.
    pub watchdog: Option<Duration>,
}

/// One running child, as the policy sees it.
#[derive(Debug)]
struct Proc {
    role: Role,
    pid: i32,
    /// Its channel is still open (nothing is sent once it is not).
    open: bool,
    /// Workers: the config generation it serves.
    generation: u64,
    draining: bool,
    ready_since: Option<Instant>,
}

/// A reload whose new worker is being started.
struct PendingReload {
    old: Config,
    ctl: Option<u64>,
}

/// An upgrade waiting for vrrpd's hand-over before the exec.
struct PendingUpgrade {
    ctl: Option<u64>,
    /// The binary to execute (for the log and the ctl answer).
    binary: String,
    deadline: Instant,
}

struct StopState {
    deadline: Instant,
    vrrp_wait_until: Instant,
    /// `announce`: the workers do not drain before this, even once vrrpd is gone.
    withdrawn_until: Option<Instant>,
    workers_drained: bool,
}

pub struct Policy {
    config: Config,
    generation: u64,
    foreground: bool,
    root: bool,
    worker_privs: Privileges,
    checker_privs: Privileges,
    parent: i32,
    host: String,
    started_unix: u64,
    procs: HashMap<i32, Proc>,
    policies: HashMap<&'static str, RestartPolicy>,
    restarts: Vec<(Role, Instant)>,
    /// Health reported by the checker, by (backend, server) name, replayed to new workers.
    server_health: HashMap<ServerName, bool>,
    /// Weights set by the checker (`misc_dynamic`), by (backend, server) name, replayed too.
    server_weights: HashMap<ServerName, u32>,
    script_states: HashMap<ScriptId, bool>,
    /// Last state vrrpd reported for each instance.
    vrrp_states: HashMap<InstanceId, (VrrpState, u8)>,
    /// Last state sent to vrrpd for each built-in track.
    builtin_sent: HashMap<ScriptId, bool>,
    /// Operator overrides (admin state, weight) by (backend, server) name, from the stats page
    /// and `hakeeper ctl`, replayed to new workers.
    server_admin: HashMap<ServerName, (AdminState, Option<u32>)>,
    proxy_up: bool,
    /// Set by `hakeeper ctl switchover`: vrrpd holds every instance in FAULT until `switchback`
    /// (replayed to a restarted vrrpd).
    switched_over: bool,
    stop: Option<StopState>,
    exited: bool,
    watchdog: Option<Watchdog>,
    /// `hakeeper ctl reload` clients waiting for the worker of a generation to serve.
    reload_waiters: Vec<(u64, u64)>,
    pending_reload: Option<PendingReload>,
    pending_upgrade: Option<PendingUpgrade>,
    /// The ctl client of an upgrade being executed (answered here only if the exec fails).
    exec_ctl: Option<u64>,
    /// After a binary upgrade: the previous checker's verdicts, the first checker's starting
    /// states (`parent_to_new_checker`).
    carried_health: HashMap<ServerName, bool>,
    /// The VRRP states a vrrpd handed over (by instance name), for the next vrrpd.
    vrrp_resume: Vec<(String, hakeeper_common::ipc::VrrpState)>,
    /// Restarts of each child role, for the stats page.
    restart_counts: HashMap<&'static str, u32>,
    /// The last quorum state of each LVS service by name (its scripts run when it flips).
    lvs_quorum: HashMap<String, bool>,
    /// vrrpd's last report of the LVS services and their counters.
    lvs_views: Vec<LvsView>,
    /// A worker has reported ready since start (`announce` waits for it).
    worker_served: bool,
    /// The `announce` decision and vrrpd's report of it.
    announce: announce::AnnounceState,
    /// Outputs of the input being handled.
    out: Vec<Output>,
}

impl Policy {
    pub fn new(setup: Setup, now: Instant) -> Policy {
        let limit = setup.config.global.worker_crash_limit;
        let mut policies = HashMap::new();
        for role in [Role::Worker, Role::Checker, Role::Vrrpd] {
            policies.insert(role.name(), RestartPolicy::new(limit.exits, limit.window));
        }
        Policy {
            config: setup.config,
            generation: 1,
            foreground: setup.foreground,
            root: setup.root,
            worker_privs: setup.worker_privs,
            checker_privs: setup.checker_privs,
            parent: setup.parent,
            host: setup.host,
            started_unix: setup.started_unix,
            procs: HashMap::new(),
            policies,
            restarts: Vec::new(),
            server_health: HashMap::new(),
            server_weights: HashMap::new(),
            script_states: HashMap::new(),
            vrrp_states: HashMap::new(),
            builtin_sent: HashMap::new(),
            server_admin: HashMap::new(),
            proxy_up: true,
            switched_over: false,
            stop: None,
            exited: false,
            watchdog: setup.watchdog.map(|every| Watchdog::new(every, now)),
            reload_waiters: Vec::new(),
            pending_reload: None,
            pending_upgrade: None,
            exec_ctl: None,
            vrrp_resume: Vec::new(),
            carried_health: HashMap::new(),
            restart_counts: HashMap::new(),
            lvs_quorum: HashMap::new(),
            lvs_views: Vec::new(),
            worker_served: false,
            announce: announce::AnnounceState::default(),
            out: Vec::new(),
        }
    }

    /// Handles one input; returns what the shell must do, in order, ending with the timer to arm.
    pub fn on(&mut self, input: Input, now: Instant) -> Vec<Output> {
        match input {
            Input::Boot => {
                // The checker first: starting it settles each server's initial health, which the
                // worker then receives with its config (no request reaches an `initial: down` server).
                self.spawn(Role::Checker, SpawnWhy::Boot);
                self.spawn(Role::Worker, SpawnWhy::Boot);
                if self.root {
                    self.spawn(Role::Vrrpd, SpawnWhy::Boot);
                } else if self.config.vrrp.announce.is_some() {
                    self.log(log::Level::Error, "announce: the announce device needs root (vrrpd); nothing is announced".into());
                }
            }
            Input::Spawned { role, pid, why } => self.spawned(role, pid, why),
            Input::SpawnFailed { role, why, error } => self.spawn_failed(role, why, error, now),
            Input::FromWorker { pid, msg } => self.parent_dispatch_worker(pid, msg, now),
            Input::FromChecker { pid, msg } => self.parent_dispatch_checker(pid, msg),
            Input::FromVrrp { pid, msg } => self.parent_dispatch_vrrp(pid, msg),
            Input::ChannelClosed { pid } => {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.open = false;
                }
            }
            Input::BadMessage { pid, error } => {
                let Some(role) = self.procs.get(&pid).map(|p| p.role) else { return self.finish(now) };
                self.log(log::Level::Error, format!("{} (pid {pid}) sent a bad message: {error}; killing it", role.name()));
                self.out.push(Output::Kill { pid });
            }
            Input::Wedged { pid, queued } => self.wedged(pid, queued),
            Input::CannotSend { pid, error } => {
                let Some(role) = self.procs.get(&pid).map(|p| p.role) else { return self.finish(now) };
                self.log(log::Level::Error, format!("cannot send to {} (pid {pid}): {error}; killing it", role.name()));
                self.out.push(Output::Kill { pid });
            }
            Input::Exited { pid, how, code } => {
                if let Some(proc) = self.procs.remove(&pid) {
                    if let Some(w) = self.watchdog.as_mut() {
                        w.gone(pid);
                    }
                    if proc.role == Role::Vrrpd {
                        // Its announce device went with it.
                        self.announce.sent = None;
                        self.announce.held = false;
                    }
                    self.child_exited(proc, how, code, now);
                }
            }
            Input::Stop => {
                if self.stop.is_none() {
                    self.begin_stop(now);
                }
            }
            Input::Reload { ctl, outcome } => self.reload(ctl, outcome),
            Input::Upgrade { ctl, outcome } => self.upgrade(ctl, outcome, now),
            Input::ExecFailed { error } => self.exec_failed(error, now),
            Input::Ctl { id, request } => self.parent_dispatch_ctl(id, request, now),
            Input::Timer => self.run_timers(now),
        }
        self.finish(now)
    }

    /// The supervisor's PID changed (it detached after `new`): children get this one.
    pub fn set_parent(&mut self, parent: i32) {
        self.parent = parent;
    }

    /// Whether the stop sequence runs (a SIGHUP is then ignored).
    pub fn stopping(&self) -> bool {
        self.stop.is_some()
    }

    /// The outbox bound for this config (see [`OUTBOX_BASE`]).
    pub fn outbox_bound(&self) -> usize {
        let servers: usize = self.config.backends.iter().map(|b| b.servers.len()).sum();
        OUTBOX_BASE + OUTBOX_PER_SERVER * servers
    }

    fn finish(&mut self, now: Instant) -> Vec<Output> {
        self.update_announce();
        if self.stop.is_some() && self.procs.is_empty() && !self.exited {
            self.exited = true;
            self.log(log::Level::Info, "all children stopped; exiting".into());
            self.out.push(Output::Exit { linger: Duration::ZERO });
        }
        let next = self.next_timer(now);
        self.out.push(Output::ArmTimer(next));
        std::mem::take(&mut self.out)
    }

    fn log(&mut self, level: log::Level, text: String) {
        self.out.push(Output::Log { level, text });
    }

    fn spec(&self, role: Role) -> ChildSpec {
        let privileges = match role {
            Role::Worker => self.worker_privs.clone(),
            Role::Checker => self.checker_privs.clone(),
            Role::Vrrpd if self.root => Privileges::NetworkCapsOnly,
            Role::Vrrpd => Privileges::Unprivileged,
        };
        ChildSpec {
            privileges,
            log: LogSpec {
                config: self.config.global.log.clone(),
                additional: self.config.global.additional_logs.clone(),
                foreground: self.foreground,
            },
            parent: self.parent,
        }
    }

    fn spawn(&mut self, role: Role, why: SpawnWhy) {
        let spec = self.spec(role);
        self.out.push(Output::Spawn { role, spec, why });
    }

    /// Queues `msg` for `pid`, unless it is gone or its channel closed.
    fn send(&mut self, pid: i32, msg: ToChild) {
        if self.procs.get(&pid).is_some_and(|p| p.open) {
            self.out.push(Output::Send { pid, msg });
        }
    }

    fn send_worker(&mut self, pid: i32, msg: ToWorker) {
        self.send(pid, ToChild::Worker(msg));
    }

    fn send_checker(&mut self, pid: i32, msg: ToChecker) {
        self.send(pid, ToChild::Checker(msg));
    }

    fn send_vrrp(&mut self, pid: i32, msg: ToVrrp) {
        self.send(pid, ToChild::Vrrp(msg));
    }

    fn pids_of(&self, role: Role) -> Vec<i32> {
        let mut pids: Vec<i32> = self.procs.values().filter(|p| p.role == role).map(|p| p.pid).collect();
        // In PID order, so that outputs do not depend on a hash map's order.
        pids.sort_unstable();
        pids
    }

    /// A child stopped reading: it is killed (and restarted as after a crash), never waited on.
    fn wedged(&mut self, pid: i32, queued: usize) {
        let Some(proc) = self.procs.get_mut(&pid) else { return };
        proc.open = false;
        let role = proc.role;
        self.log(
            log::Level::Error,
            format!("{} (pid {pid}) stopped reading its channel ({queued} messages queued); killing it", role.name()),
        );
        self.out.push(Output::Kill { pid });
    }

    fn next_timer(&self, now: Instant) -> Option<Instant> {
        if self.exited {
            return None;
        }
        let mut next = self.restarts.iter().map(|(_, t)| *t).min();
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(stop) = &self.stop {
            consider(stop.deadline);
            if !stop.workers_drained {
                consider(stop.vrrp_wait_until);
                // Once past, vrrpd's exit drains at once (`restart.rs`): no timer needed.
                if let Some(t) = stop.withdrawn_until.filter(|t| *t > now) {
                    consider(t);
                }
            }
        }
        if !self.proxy_up {
            // Re-check recovery once a second.
            consider(now + Duration::from_secs(1));
        }
        if let Some(w) = &self.watchdog {
            consider(w.next());
        }
        if let Some(t) = self.upgrade_deadline() {
            consider(t);
        }
        next
    }

    fn run_timers(&mut self, now: Instant) {
        self.watchdog_round(now);
        if self.stop.is_some() {
            self.stop_timers(now);
            return;
        }
        self.upgrade_timer(now);
        self.restart_due(now);
        self.proxy_recovery(now);
    }
}
