//! The supervisor: single-threaded, root when started as root. It binds the listeners, starts
//! the worker, checker and vrrpd, routes their messages (children never talk to each other),
//! restarts them when they exit, and handles SIGHUP (reload) and SIGTERM/SIGINT (stop).
//! It never parses network input.

use crate::child::{ChildSpec, Role, EXIT_NO_RESTART};
use crate::ctl_server::CtlServer;
use crate::listeners::Listeners;
use crate::privileges::{self, Privileges};
use crate::restart::RestartPolicy;
use crate::sd_notify::{self, Notifier};
use crate::signals::Signals;
use crate::spawn::{spawn, SpawnError};
use crate::watchdog::Watchdog;
use hakeeper_common::config::{self, BuiltinCheck, Config, ConfigError, ScriptAction};
use hakeeper_common::ctl::{vrrp_views, CtlReply, CtlRequest};
use hakeeper_common::duration::format_duration;
use hakeeper_common::ipc::*;
use hakeeper_common::logging::LogSpec;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SIGNAL_TOKEN: Token = Token(usize::MAX);
/// How long the stop sequence may take before stragglers are killed (the promise is 5 s).
const STOP_DEADLINE: Duration = Duration::from_millis(4500);
/// Longest wait for vrrpd to release the VIPs before the worker drains anyway: above vrrpd's
/// hand-over bound (timing.rs `release_hold`, 1.1 s at most), so the worker serves on the VIPs
/// until the new master holds them.
const VRRP_RELEASE_WAIT: Duration = Duration::from_millis(1500);
/// Longest drain on SIGTERM, leaving room for vrrpd's release within the 5 s promise.
const STOP_DRAIN: Duration = Duration::from_secs(2);

/// Where the config comes from: a file, or text built into the binary (the demo).
#[derive(Clone)]
pub enum ConfigSource {
    File(PathBuf),
    Embedded { name: &'static str, text: &'static str },
}

impl ConfigSource {
    pub fn load(&self) -> Result<config::Loaded, ConfigError> {
        match self {
            ConfigSource::File(path) => config::load_file(path),
            ConfigSource::Embedded { name, text } => config::load_str(name, text),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(transparent)]
    Privileges(#[from] privileges::PrivError),
    #[error(transparent)]
    Bind(#[from] crate::listeners::BindError),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("event loop: {0}")]
    Io(#[from] std::io::Error),
}

/// One running child and its channel.
struct Proc {
    role: Role,
    pid: i32,
    channel: mio::net::UnixStream,
    reader: FrameReader,
    open: bool,
    /// Workers: the config generation it serves.
    generation: u64,
    draining: bool,
    ready_since: Option<Instant>,
}

pub struct Supervisor {
    source: ConfigSource,
    config: Config,
    generation: u64,
    foreground: bool,
    root: bool,
    /// uid/gid/chroot for the worker and checker when root.
    worker_privs: Privileges,
    checker_privs: Privileges,
    listeners: Listeners,
    poll: Poll,
    signals: Signals,
    procs: HashMap<i32, Proc>,
    policies: HashMap<&'static str, RestartPolicy>,
    restarts: Vec<(Role, Instant)>,
    /// Health reported by the checker, by (backend, server) name, replayed to new workers.
    server_health: HashMap<(String, String), bool>,
    /// Weights set by the checker (`misc_dynamic`), by (backend, server) name, replayed too.
    server_weights: HashMap<(String, String), u32>,
    script_states: HashMap<usize, bool>,
    /// Last state vrrpd reported for each instance.
    vrrp_states: HashMap<usize, (VrrpState, u8)>,
    /// Last state sent to vrrpd for each built-in track.
    builtin_sent: HashMap<usize, bool>,
    /// Operator overrides (admin state, weight) by (backend, server) name, from the stats page
    /// and `hakeeper ctl`, replayed to new workers.
    server_admin: HashMap<(String, String), (AdminState, Option<u32>)>,
    /// `hakeeper ctl`'s socket; None when it could not be created.
    ctl: Option<CtlServer>,
    proxy_up: bool,
    /// Set by `hakeeper ctl switchover`: vrrpd holds every instance in FAULT until `switchback`
    /// (replayed to a restarted vrrpd).
    switched_over: bool,
    stop: Option<StopState>,
    /// systemd's notifications, when it asked for them.
    notifier: Option<Notifier>,
    watchdog: Option<Watchdog>,
    /// `hakeeper ctl reload` clients waiting for the worker of a generation to serve.
    reload_waiters: Vec<(u64, u64)>,
    /// Restarts of each child role, for the stats page.
    restart_counts: HashMap<&'static str, u32>,
    started_wall: std::time::SystemTime,
}

struct StopState {
    deadline: Instant,
    vrrp_wait_until: Instant,
    workers_drained: bool,
}

impl Supervisor {
    pub fn new(source: ConfigSource, config: Config, foreground: bool) -> Result<Supervisor, SupervisorError> {
        let root = nix::unistd::geteuid().is_root();
        let (worker_privs, checker_privs) = if root {
            let id = privileges::resolve_identity(config.global.user.as_deref(), config.global.group.as_deref())?;
            let chroot = privileges::chroot_dir(config.global.chroot.as_deref())?;
            log::info!(
                "worker and checker run as user {} (uid {}, gid {}); worker chrooted to {}",
                id.name,
                id.uid,
                id.gid,
                chroot.display()
            );
            (
                Privileges::DropTo { uid: id.uid, gid: id.gid, chroot: Some(chroot) },
                Privileges::DropTo { uid: id.uid, gid: id.gid, chroot: None },
            )
        } else {
            log::warn!(
                "not running as root: skipping privilege separation (every process runs as uid {}, no chroot) and VRRP (vrrpd is not started; it needs CAP_NET_RAW and CAP_NET_ADMIN)",
                nix::unistd::geteuid()
            );
            (Privileges::Unprivileged, Privileges::Unprivileged)
        };
        let mut listeners = Listeners::default();
        listeners.sync(&config)?;
        let poll = Poll::new()?;
        let mut signals = Signals::install()?;
        poll.registry().register(&mut signals.wake, SIGNAL_TOKEN, Interest::READABLE)?;
        let ctl = match CtlServer::bind(&config.global.ctl_socket) {
            Ok(mut c) => match c.register(poll.registry()) {
                Ok(()) => Some(c),
                Err(e) => {
                    log::warn!("ctl socket {}: {e}; `hakeeper ctl` is unavailable", c.path().display());
                    None
                }
            },
            Err(e) => {
                log::warn!("{e}; `hakeeper ctl` is unavailable");
                None
            }
        };
        let notifier = Notifier::from_env();
        let limit = config.global.worker_crash_limit;
        let mut policies = HashMap::new();
        for role in [Role::Worker, Role::Checker, Role::Vrrpd] {
            policies.insert(role.name(), RestartPolicy::new(limit.exits, limit.window));
        }
        Ok(Supervisor {
            source,
            config,
            generation: 1,
            foreground,
            root,
            worker_privs,
            checker_privs,
            listeners,
            poll,
            signals,
            procs: HashMap::new(),
            policies,
            restarts: Vec::new(),
            server_health: HashMap::new(),
            server_weights: HashMap::new(),
            script_states: HashMap::new(),
            builtin_sent: HashMap::new(),
            server_admin: HashMap::new(),
            vrrp_states: HashMap::new(),
            ctl,
            proxy_up: true,
            switched_over: false,
            stop: None,
            watchdog: notifier.as_ref().and_then(Notifier::watchdog).map(|every| Watchdog::new(every, Instant::now())),
            notifier,
            reload_waiters: Vec::new(),
            restart_counts: HashMap::new(),
            started_wall: std::time::SystemTime::now(),
        })
    }

    /// Starts the children and runs until stopped. Returns when every child has exited.
    pub fn run(mut self) -> Result<(), SupervisorError> {
        // The checker first: starting it settles each server's initial health, which the
        // worker then receives with its config (no request reaches an `initial: down` server).
        self.start(Role::Checker)?;
        self.start(Role::Worker)?;
        if self.root {
            self.start(Role::Vrrpd)?;
        }
        let mut events = Events::with_capacity(64);
        loop {
            let timeout = self.next_timer().map(|t| t.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e.into());
                }
            }
            for ev in events.iter() {
                let token = ev.token();
                if self.ctl.as_ref().is_some_and(|c| c.owns(token)) {
                    self.ctl_ready(token);
                } else if token != SIGNAL_TOKEN {
                    self.read_child(token.0 as i32);
                }
            }
            let pending = self.signals.take();
            if pending.child {
                self.reap();
            }
            if pending.stop && self.stop.is_none() {
                self.begin_stop();
            }
            if pending.reload && self.stop.is_none() {
                // The outcome is logged (and told to systemd); nobody waits for it.
                let _ = self.reload();
            }
            self.run_timers(Instant::now());
            if self.stop.is_some() && self.procs.is_empty() {
                log::info!("all children stopped; exiting");
                return Ok(());
            }
        }
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
            parent: std::process::id() as i32,
        }
    }

    fn start(&mut self, role: Role) -> Result<(), SupervisorError> {
        let spawned = spawn(role, &self.spec(role))?;
        let std_stream = std::os::unix::net::UnixStream::from(spawned.channel);
        let mut channel = mio::net::UnixStream::from_std(std_stream);
        self.poll.registry().register(&mut channel, Token(spawned.pid as usize), Interest::READABLE)?;
        log::info!("started {} (pid {})", role.name(), spawned.pid);
        let proc = Proc {
            role,
            pid: spawned.pid,
            channel,
            reader: FrameReader::new(),
            open: true,
            generation: self.generation,
            draining: false,
            ready_since: None,
        };
        self.procs.insert(spawned.pid, proc);
        let pid = spawned.pid;
        match role {
            Role::Worker => {
                self.parent_to_new_worker(pid);
                self.send_process_view();
            }
            Role::Checker => {
                // A new checker starts every server in its configured initial state (UP unless
                // `initial: down`, as HAProxy) and reports only changes, so the workers are told
                // that starting point, or a server recovered meanwhile would stay DOWN.
                let mut changes = Vec::new();
                let mut health = HashMap::new();
                for (b, be) in self.config.backends.iter().enumerate() {
                    for (s, sv) in be.servers.iter().enumerate() {
                        let key = (be.name.clone(), sv.name.clone());
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
                for pid in self.pids_of(Role::Worker) {
                    for msg in &changes {
                        self.send(pid, msg, &[]);
                    }
                }
                self.send_builtin_script_states(false);
                let c = &self.config;
                let msg = ToChecker::Start(CheckerConfig {
                    backends: c.backends.clone(),
                    scripts: c.vrrp.scripts.clone(),
                    script_user: c.vrrp.script_user.clone(),
                    enable_script_security: c.vrrp.enable_script_security,
                });
                self.send(pid, &msg, &[]);
            }
            Role::Vrrpd => {
                self.send(pid, &ToVrrp::Start(self.config.vrrp.clone()), &[]);
                self.send(pid, &ToVrrp::ProxyHealth { up: self.proxy_up }, &[]);
                if self.switched_over {
                    self.send(pid, &ToVrrp::Switchover { on: true }, &[]);
                }
                let states: Vec<(usize, bool)> = self.script_states.iter().map(|(k, v)| (*k, *v)).collect();
                for (script, ok) in states {
                    self.send(pid, &ToVrrp::ScriptState { script, ok }, &[]);
                }
                self.send_builtin_script_states(true);
            }
        }
        Ok(())
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
            },
            generation: self.generation,
        };
        let (tags, fds) = self.listeners.for_worker(&self.config);
        let mut replay = Vec::new();
        for (b, backend) in self.config.backends.iter().enumerate() {
            for (s, server) in backend.servers.iter().enumerate() {
                let key = (backend.name.clone(), server.name.clone());
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
        self.send(pid, &start, &[]);
        self.send(pid, &ToWorker::Listeners(tags), &fds);
        for msg in replay {
            self.send(pid, &msg, &[]);
        }
    }

    fn send<T: serde::Serialize>(&mut self, pid: i32, msg: &T, fds: &[std::os::fd::RawFd]) {
        let Some(proc) = self.procs.get_mut(&pid) else { return };
        if !proc.open {
            return;
        }
        if let Err(e) = send(proc.channel.as_fd(), msg, fds) {
            log::warn!("cannot send to {} (pid {pid}): {e}", proc.role.name());
        }
    }

    fn pids_of(&self, role: Role) -> Vec<i32> {
        self.procs.values().filter(|p| p.role == role).map(|p| p.pid).collect()
    }

    fn read_child(&mut self, pid: i32) {
        let Some(proc) = self.procs.get_mut(&pid) else { return };
        loop {
            match proc.reader.read_from(proc.channel.as_fd()) {
                Ok(ReadOutcome::Data) => continue,
                Ok(ReadOutcome::WouldBlock) => break,
                Err(e) => {
                    if !matches!(e, IpcError::Closed) {
                        log::warn!("{} (pid {pid}) channel: {e}", proc.role.name());
                    }
                    proc.open = false;
                    let _ = self.poll.registry().deregister(&mut proc.channel);
                    break;
                }
            }
        }
        match proc.role {
            Role::Worker => self.drain_frames(pid, Self::worker_to_parent),
            Role::Checker => self.drain_frames(pid, Self::checker_to_parent),
            Role::Vrrpd => self.drain_frames(pid, Self::vrrpd_to_parent),
        }
    }

    /// Decodes every buffered frame from `pid` and hands it to `handle`. A child that sends
    /// something undecodable is killed (and restarted) rather than trusted further.
    fn drain_frames<T: serde::de::DeserializeOwned>(&mut self, pid: i32, handle: fn(&mut Self, i32, T)) {
        loop {
            let Some(proc) = self.procs.get_mut(&pid) else { return };
            match proc.reader.next::<T>() {
                Ok(Some((msg, _fds))) => handle(self, pid, msg),
                Ok(None) => return,
                Err(e) => {
                    log::error!("{} (pid {pid}) sent a bad message: {e}; killing it", proc.role.name());
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    return;
                }
            }
        }
    }

    fn worker_to_parent(&mut self, pid: i32, msg: FromWorker) {
        match msg {
            FromWorker::Ready { generation } => {
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.ready_since = Some(Instant::now());
                }
                log::info!("worker (pid {pid}) serving config generation {generation}");
                if generation == self.generation {
                    // Started, or a reload done: systemd may consider the service ready again.
                    self.notify_systemd("READY=1");
                }
                self.answer_reload_waiters(generation, |g| CtlReply::Done(format!("configuration generation {g} loaded and serving")));
                // A reload's new worker is up: the older ones stop accepting and drain.
                let grace = self.config.global.hard_stop_after;
                let older: Vec<i32> = self
                    .procs
                    .values()
                    .filter(|p| p.role == Role::Worker && p.generation < generation && !p.draining)
                    .map(|p| p.pid)
                    .collect();
                for old in older {
                    if let Some(p) = self.procs.get_mut(&old) {
                        p.draining = true;
                    }
                    log::info!("worker (pid {old}) draining (up to {})", format_duration(grace));
                    self.send(old, &ToWorker::Drain { grace }, &[]);
                }
            }
            FromWorker::AdminChanged { backend, server, state, weight } => {
                let shown = weight.map_or_else(|| "none".to_string(), |w| w.to_string());
                // The worker logged the action and its outcome; this is its report.
                log::debug!("worker (pid {pid}): server {backend}/{server} is {state} (weight override {shown})");
                if state == AdminState::Ready && weight.is_none() {
                    self.server_admin.remove(&(backend, server));
                } else {
                    self.server_admin.insert((backend, server), (state, weight));
                }
            }
            FromWorker::StickTables(tables) => {
                // A draining worker's persistence carries on in its successors.
                let successors: Vec<i32> =
                    self.procs.values().filter(|p| p.role == Role::Worker && p.pid != pid && !p.draining).map(|p| p.pid).collect();
                for to in successors {
                    self.send(to, &ToWorker::StickTables(tables.clone()), &[]);
                }
            }
            FromWorker::Pong(seq) => {
                self.pong(pid, seq);
            }
            FromWorker::CtlReply { id, reply } => {
                if let Some(ctl) = self.ctl.as_mut() {
                    ctl.answer(self.poll.registry(), id, &reply);
                }
            }
        }
    }

    fn checker_to_parent(&mut self, pid: i32, msg: FromChecker) {
        match msg {
            FromChecker::Pong(seq) => {
                self.pong(pid, seq);
            }
            FromChecker::CheckResult { backend, server, reason, duration } => {
                for pid in self.pids_of(Role::Worker) {
                    self.send(pid, &ToWorker::CheckResult { backend, server, reason: reason.clone(), duration }, &[]);
                }
            }
            FromChecker::ServerHealth { backend, server, up, reason, duration } => {
                let names = self.config.backends.get(backend).and_then(|b| b.servers.get(server).map(|s| (b.name.clone(), s.name.clone())));
                let Some(key) = names else {
                    log::warn!("checker reported unknown server {backend}/{server}");
                    return;
                };
                self.server_health.insert(key, up);
                // Every worker, draining ones included, stops using a DOWN server.
                for pid in self.pids_of(Role::Worker) {
                    self.send(pid, &ToWorker::ServerHealth { backend, server, up }, &[]);
                    self.send(pid, &ToWorker::CheckResult { backend, server, reason: reason.clone(), duration }, &[]);
                }
                self.send_builtin_script_states(false);
            }
            FromChecker::ServerWeight { backend, server, weight } => {
                let names = self.config.backends.get(backend).and_then(|b| b.servers.get(server).map(|s| (b.name.clone(), s.name.clone())));
                let Some(key) = names else {
                    log::warn!("checker reported a weight for unknown server {backend}/{server}");
                    return;
                };
                self.server_weights.insert(key, weight);
                for pid in self.pids_of(Role::Worker) {
                    self.send(pid, &ToWorker::SetWeight { backend, server, weight }, &[]);
                }
            }
            FromChecker::ScriptState { script, ok } => {
                self.script_states.insert(script, ok);
                for pid in self.pids_of(Role::Vrrpd) {
                    self.send(pid, &ToVrrp::ScriptState { script, ok }, &[]);
                }
                self.send_process_view();
            }
        }
    }

    fn vrrpd_to_parent(&mut self, pid: i32, msg: FromVrrp) {
        match msg {
            FromVrrp::Pong(seq) => {
                self.pong(pid, seq);
            }
            FromVrrp::InstanceState { instance, state, priority } => {
                let Some(name) = self.config.vrrp.instances.get(instance).map(|i| i.name.clone()) else {
                    log::warn!("vrrpd reported unknown instance {instance}");
                    return;
                };
                log::info!("VRRP instance {name} is {state} (priority {priority})");
                let previous = self.vrrp_states.insert(instance, (state, priority));
                self.notify_systemd("");
                let views = ToWorker::VrrpStates(self.vrrp_views());
                for pid in self.pids_of(Role::Worker) {
                    self.send(pid, &views, &[]);
                }
                if previous.map(|(s, _)| s) != Some(state) && state != VrrpState::Init {
                    self.notify(instance, state.name(), priority);
                }
            }
            FromVrrp::ReloadKept { instances } => {
                // Unchanged instances carried on through a reload: record, no notify is due.
                for (instance, state, priority) in instances {
                    self.vrrp_states.insert(instance, (state, priority));
                }
                let views = ToWorker::VrrpStates(self.vrrp_views());
                for pid in self.pids_of(Role::Worker) {
                    self.send(pid, &views, &[]);
                }
            }
            FromVrrp::Counters { instance, received, dropped } => {
                let name = self.config.vrrp.instances.get(instance).map(|i| i.name.as_str()).unwrap_or("?");
                if !dropped.is_empty() {
                    let reasons: Vec<String> = dropped.iter().map(|(r, n)| format!("{r}={n}")).collect();
                    log::info!("VRRP instance {name}: {received} adverts received, dropped: {}", reasons.join(" "));
                }
            }
        }
    }

    fn vrrp_views(&self) -> Vec<hakeeper_common::ctl::VrrpView> {
        let states: Vec<(usize, VrrpState, u8)> = self.vrrp_states.iter().map(|(i, (s, p))| (*i, *s, *p)).collect();
        vrrp_views(&self.config.vrrp, &states)
    }

    /// Readiness on the ctl socket or one of its clients: complete commands go to the worker.
    fn ctl_ready(&mut self, token: Token) {
        let Some(ctl) = self.ctl.as_mut() else { return };
        let requests = ctl.ready(self.poll.registry(), token, Instant::now());
        for (id, request) in requests {
            self.parent_to_worker_ctl(id, request);
        }
    }

    /// The newest serving worker answers; without one, the client is told so at once. A planned
    /// switchover is the supervisor's own: it concerns vrrpd, not the worker.
    fn parent_to_worker_ctl(&mut self, id: u64, request: CtlRequest) {
        if request == CtlRequest::Reload {
            match self.reload() {
                Ok(generation) => self.reload_waiters.push((id, generation)),
                Err(why) => {
                    if let Some(ctl) = self.ctl.as_mut() {
                        ctl.answer(self.poll.registry(), id, &CtlReply::Error(why));
                    }
                }
            }
            return;
        }
        if matches!(request, CtlRequest::Switchover | CtlRequest::Switchback) {
            let reply = self.switchover(request == CtlRequest::Switchover);
            if let Some(ctl) = self.ctl.as_mut() {
                ctl.answer(self.poll.registry(), id, &reply);
            }
            return;
        }
        let serving = self
            .procs
            .values()
            .filter(|p| p.role == Role::Worker && p.open && !p.draining && p.ready_since.is_some())
            .max_by_key(|p| p.generation)
            .map(|p| p.pid);
        match serving {
            Some(pid) => self.send(pid, &ToWorker::Ctl { id, request }, &[]),
            None => {
                if let Some(ctl) = self.ctl.as_mut() {
                    ctl.answer(self.poll.registry(), id, &CtlReply::Error("no worker is serving".into()));
                }
            }
        }
    }

    /// Runs keepalived's notify scripts for a transition, through the checker (which runs
    /// scripts unprivileged, one at a time per instance): the state's own script with its
    /// configured arguments, then the generic `notify` with INSTANCE NAME STATE PRIORITY.
    fn notify(&mut self, instance: usize, state: &str, priority: u8) {
        let Some(inst) = self.config.vrrp.instances.get(instance) else { return };
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
        let checkers: Vec<i32> = self.procs.values().filter(|p| p.role == Role::Checker && !p.draining).map(|p| p.pid).collect();
        for pid in checkers {
            for msg in &runs {
                self.send(pid, msg, &[]);
            }
        }
    }

    /// Built-in tracks are answered here: `proxy_alive` from the worker's health,
    /// `min_servers_up` from the checker's reports (a server never reported is UP, as the
    /// checker starts it). Only changes are sent, unless `all` (a new vrrpd).
    fn send_builtin_script_states(&mut self, all: bool) {
        let mut states = Vec::new();
        for (i, script) in self.config.vrrp.scripts.iter().enumerate() {
            let ok = match &script.action {
                ScriptAction::Builtin(BuiltinCheck::ProxyAlive) => self.proxy_up,
                ScriptAction::Builtin(BuiltinCheck::MinServersUp { backend, servers }) => {
                    let Some(b) = self.config.backends.get(*backend) else { continue };
                    let up = b
                        .servers
                        .iter()
                        .filter(|s| !s.disabled && self.server_health.get(&(b.name.clone(), s.name.clone())).copied().unwrap_or(true))
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
        for (script, ok) in &states {
            if !all {
                let name = &self.config.vrrp.scripts[*script].name;
                log::warn!("track {name} is now {}", if *ok { "OK" } else { "KO" });
            }
        }
        if !states.is_empty() && !all {
            self.send_process_view();
        }
        for pid in self.pids_of(Role::Vrrpd) {
            for (script, ok) in &states {
                self.send(pid, &ToVrrp::ScriptState { script: *script, ok: *ok }, &[]);
            }
        }
    }

    /// `hakeeper ctl switchover`: this host gives up its VIPs (FAULT: priority-0 adverts; a
    /// pair's backup takes over at once, others after their skew time) while the worker keeps
    /// serving, on the VIPs too until vrrpd hears the new master (vrrpd `state.rs`, `release`).
    /// `switchback` undoes it.
    fn switchover(&mut self, release: bool) -> CtlReply {
        let verb = if release { "switchover" } else { "switchback" };
        if self.pids_of(Role::Vrrpd).is_empty() || self.config.vrrp.instances.is_empty() {
            log::info!("ctl {verb}: refused: no VRRP instance runs on this host");
            return CtlReply::Error("no VRRP instance runs on this host".into());
        }
        if release {
            log::warn!("planned switchover: releasing this host's VIPs; established connections continue");
            self.set_switchover(true);
            CtlReply::Done(
                "switchover: VIPs released (FAULT, priority 0), handed over once the new master advertises; \
                 `hakeeper ctl switchback` takes part in VRRP again"
                    .into(),
            )
        } else {
            let failing = self.policies.get_mut(Role::Worker.name()).is_some_and(|p| p.failing(Instant::now()));
            if failing {
                log::info!("ctl {verb}: refused: the worker is still failing");
                return CtlReply::Error("the worker is still failing; the VIPs come back once it is healthy".into());
            }
            log::warn!("switchback: this host takes part in VRRP again");
            self.set_switchover(false);
            CtlReply::Done("switchback: VRRP instances leave FAULT; preempt brings the VIPs back".into())
        }
    }

    /// A switchover is a FAULT cause of its own in vrrpd (not a proxy down): the proxy serves
    /// on, so vrrpd hands the VIPs over instead of dropping them (vrrpd `state.rs`, `release`).
    fn set_switchover(&mut self, on: bool) {
        self.switched_over = on;
        for pid in self.pids_of(Role::Vrrpd) {
            self.send(pid, &ToVrrp::Switchover { on }, &[]);
        }
    }

    fn set_proxy_health(&mut self, up: bool) {
        if self.proxy_up == up {
            return;
        }
        self.proxy_up = up;
        if up {
            log::warn!(
                "worker healthy for {}: proxy UP, VRRP priority restored",
                format_duration(self.config.global.worker_crash_limit.rise)
            );
        } else {
            let l = self.config.global.worker_crash_limit;
            log::error!("worker exited {} times within {}: proxy DOWN, this node gives up its VIPs", l.exits, format_duration(l.window));
        }
        for pid in self.pids_of(Role::Vrrpd) {
            self.send(pid, &ToVrrp::ProxyHealth { up }, &[]);
        }
        self.send_builtin_script_states(false);
    }

    fn reap(&mut self) {
        loop {
            let (pid, how, code) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), format!("exited with code {code}"), Some(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid.as_raw(), format!("killed by {sig:?}"), None),
                Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return,
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    log::error!("waitpid: {e}");
                    return;
                }
            };
            let Some(mut proc) = self.procs.remove(&pid) else { continue };
            if let Some(w) = self.watchdog.as_mut() {
                w.gone(pid);
            }
            if proc.open {
                let _ = self.poll.registry().deregister(&mut proc.channel);
            }
            self.child_exited(proc, how, code);
        }
    }

    fn child_exited(&mut self, proc: Proc, how: String, code: Option<i32>) {
        let role = proc.role;
        if self.stop.is_some() {
            log::info!("{} (pid {}) {how}", role.name(), proc.pid);
            if role == Role::Vrrpd {
                self.drain_workers_for_stop();
            }
            return;
        }
        if proc.draining && role != Role::Worker {
            // Told to stop for a reload: its replacement starts now, without counting a crash.
            log::info!("{} (pid {}) {how}; starting its replacement", role.name(), proc.pid);
            self.restarts.push((role, Instant::now()));
            return;
        }
        if proc.draining {
            log::info!("old worker (pid {}) finished draining ({how})", proc.pid);
            return;
        }
        if role == Role::Worker && proc.ready_since.is_none() {
            self.answer_reload_waiters(proc.generation, |g| CtlReply::Error(format!("the worker of generation {g} {how} before serving")));
        }
        if role == Role::Worker && proc.generation < self.generation {
            // An older generation that had not been told to drain yet: the newer one serves.
            log::info!("old worker (pid {}) {how}", proc.pid);
            return;
        }
        log::error!("{} (pid {}) {how}", role.name(), proc.pid);
        let now = Instant::now();
        let Some(policy) = self.policies.get_mut(role.name()) else { return };
        let delay = policy.on_exit(now);
        let failing = policy.failing(now);
        if code == Some(EXIT_NO_RESTART as i32) {
            log::error!("{} cannot run with this config; not restarting it", role.name());
            if role == Role::Worker {
                self.set_proxy_health(false);
            }
            return;
        }
        if role == Role::Worker && failing {
            self.set_proxy_health(false);
        }
        log::info!("restarting {} in {}", role.name(), format_duration(delay));
        self.restarts.push((role, now + delay));
        *self.restart_counts.entry(role.name()).or_default() += 1;
        self.send_process_view();
    }

    fn next_timer(&self) -> Option<Instant> {
        let mut next = self.restarts.iter().map(|(_, t)| *t).min();
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(stop) = &self.stop {
            consider(stop.deadline);
            if !stop.workers_drained {
                consider(stop.vrrp_wait_until);
            }
        }
        if !self.proxy_up {
            // Re-check recovery once a second.
            consider(Instant::now() + Duration::from_secs(1));
        }
        if let Some(t) = self.ctl.as_ref().and_then(|c| c.next_deadline()) {
            consider(t);
        }
        if let Some(w) = &self.watchdog {
            consider(w.next());
        }
        next
    }

    fn run_timers(&mut self, now: Instant) {
        if let Some(ctl) = self.ctl.as_mut() {
            ctl.expire(self.poll.registry(), now);
        }
        self.watchdog_round(now);
        if let Some(stop) = &self.stop {
            if !stop.workers_drained && now >= stop.vrrp_wait_until {
                self.drain_workers_for_stop();
            }
            if self.stop.as_ref().is_some_and(|s| now >= s.deadline) {
                for (pid, p) in &self.procs {
                    log::warn!("{} (pid {pid}) did not stop in time; killing it", p.role.name());
                    let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                }
                // Give the kills a moment to land, then reap whatever is gone.
                std::thread::sleep(Duration::from_millis(50));
                self.reap();
                if !self.procs.is_empty() {
                    self.procs.clear();
                }
            }
            return;
        }
        let due: Vec<Role> = self.restarts.iter().filter(|(_, t)| *t <= now).map(|(r, _)| *r).collect();
        self.restarts.retain(|(_, t)| *t > now);
        for role in due {
            if let Err(e) = self.start(role) {
                log::error!("{e}");
                let delay = self.policies.get_mut(role.name()).map(|p| p.on_exit(now)).unwrap_or(Duration::from_secs(1));
                self.restarts.push((role, now + delay.max(Duration::from_millis(100))));
            }
        }
        if !self.proxy_up {
            let serving = self.procs.values().any(|p| {
                p.role == Role::Worker && p.ready_since.is_some_and(|t| now.duration_since(t) >= self.config.global.worker_crash_limit.rise)
            });
            let failing = self.policies.get_mut(Role::Worker.name()).is_some_and(|p| p.failing(now));
            if serving && !failing {
                self.set_proxy_health(true);
            }
        }
    }

    /// SIGTERM/SIGINT: vrrpd releases the VIPs first (priority 0) and exits once the new master
    /// holds them (or its bound passed); the workers serve until then, then drain.
    fn begin_stop(&mut self) {
        log::info!("stopping: releasing VIPs, then draining connections");
        self.notify_systemd("STOPPING=1");
        let now = Instant::now();
        self.restarts.clear();
        self.stop = Some(StopState { deadline: now + STOP_DEADLINE, vrrp_wait_until: now + VRRP_RELEASE_WAIT, workers_drained: false });
        let vrrpds = self.pids_of(Role::Vrrpd);
        if vrrpds.is_empty() {
            self.drain_workers_for_stop();
        }
        for pid in vrrpds {
            self.send(pid, &ToVrrp::Shutdown, &[]);
        }
    }

    fn drain_workers_for_stop(&mut self) {
        let Some(stop) = &mut self.stop else { return };
        if stop.workers_drained {
            return;
        }
        stop.workers_drained = true;
        let deadline = stop.deadline;
        // The VIPs are released (or vrrpd took too long): run notify_stop, then let the checker
        // finish its queued scripts and exit.
        let instances: Vec<(usize, u8)> = self.vrrp_states.iter().map(|(i, (_, p))| (*i, *p)).collect();
        for (instance, priority) in instances {
            self.notify(instance, "STOP", priority);
        }
        for pid in self.pids_of(Role::Checker) {
            self.send(pid, &ToChecker::Stop, &[]);
        }
        let remaining = deadline.saturating_duration_since(Instant::now()).saturating_sub(Duration::from_millis(500));
        // A stop is bounded (5 s in all); a reload's drain is what hard_stop_after is for.
        let grace = self.config.global.hard_stop_after.min(remaining).min(STOP_DRAIN);
        for pid in self.pids_of(Role::Worker) {
            if let Some(p) = self.procs.get_mut(&pid) {
                p.draining = true;
            }
            self.send(pid, &ToWorker::Drain { grace }, &[]);
        }
    }

    /// SIGHUP: a config that fails validation changes nothing; a good one starts a new worker on
    /// the same (or newly bound) listeners, and the old one drains once the new one is ready.
    /// Returns the new generation (serving once its worker says Ready), or why the running
    /// config stays.
    fn reload(&mut self) -> Result<u64, String> {
        log::info!("reloading configuration");
        if let Some(n) = &self.notifier {
            n.send(&sd_notify::reloading());
        }
        let loaded = match self.source.load() {
            Ok(l) => l,
            Err(e) => {
                for line in e.lines() {
                    log::error!("reload refused, keeping the running config: {line}");
                }
                self.reload_refused(e.lines().first().map_or("", String::as_str));
                return Err(format!("reload refused, the running configuration stays:\n{}", e.report()));
            }
        };
        for w in &loaded.warnings {
            log::warn!("{w}");
        }
        let new = loaded.config;
        if let Err(e) = self.listeners.sync(&new) {
            log::error!("reload refused, keeping the running config: {e}");
            self.reload_refused(&e.to_string());
            return Err(format!("reload refused, the running configuration stays: {e}"));
        }
        let old = std::mem::replace(&mut self.config, new);
        self.generation += 1;
        if let Err(e) = self.start(Role::Worker) {
            log::error!("reload: {e}");
            self.notify_systemd("READY=1");
            return Err(format!("the new configuration is loaded but its worker did not start: {e}"));
        }
        // The checker's capabilities and its scripts' user are fixed when it starts.
        let checker_changed = old.backends != self.config.backends
            || old.vrrp.scripts != self.config.vrrp.scripts
            || old.vrrp.script_user != self.config.vrrp.script_user
            || old.vrrp.enable_script_security != self.config.vrrp.enable_script_security;
        if checker_changed {
            for pid in self.pids_of(Role::Checker) {
                log::info!("restarting the checker (pid {pid}) with the new checks");
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.draining = true;
                }
                self.send(pid, &ToChecker::Stop, &[]);
            }
        }
        if old.vrrp != self.config.vrrp {
            // Instance indexes may have moved: vrrpd reports the new ones afresh.
            self.vrrp_states.clear();
            for pid in self.pids_of(Role::Vrrpd) {
                self.send(pid, &ToVrrp::Start(self.config.vrrp.clone()), &[]);
            }
        }
        log::info!("configuration generation {} loaded", self.generation);
        Ok(self.generation)
    }

    /// Answers the `ctl reload` clients waiting for `generation`.
    fn answer_reload_waiters(&mut self, generation: u64, reply: impl Fn(u64) -> CtlReply) {
        let (due, rest): (Vec<_>, Vec<_>) = self.reload_waiters.drain(..).partition(|(_, g)| *g == generation);
        self.reload_waiters = rest;
        for (id, g) in due {
            if let Some(ctl) = self.ctl.as_mut() {
                ctl.answer(self.poll.registry(), id, &reply(g));
            }
        }
    }

    /// Tells systemd `state` (may be empty) with the current status line: what this host serves
    /// and its VRRP states (`serving generation 3, VI_1 MASTER`).
    fn notify_systemd(&self, state: &str) {
        let Some(n) = &self.notifier else { return };
        let mut status = if self.stop.is_some() { "stopping".to_string() } else { format!("serving generation {}", self.generation) };
        let mut instances: Vec<_> = self.vrrp_states.iter().collect();
        instances.sort_by_key(|(i, _)| **i);
        for (i, (vrrp_state, _)) in instances {
            if let Some(inst) = self.config.vrrp.instances.get(*i) {
                status.push_str(&format!(", {} {vrrp_state}", inst.name));
            }
        }
        let head = if state.is_empty() { String::new() } else { format!("{state}\n") };
        n.send(&format!("{head}STATUS={status}"));
    }

    /// A refused reload: still serving the previous config, and systemd hears so.
    fn reload_refused(&self, why: &str) {
        if let Some(n) = &self.notifier {
            n.send(&format!("READY=1\nSTATUS=reload refused ({why}); serving generation {}", self.generation));
        }
    }

    /// A child answered the watchdog's ping `seq`.
    fn pong(&mut self, pid: i32, seq: u64) {
        if let Some(w) = self.watchdog.as_mut() {
            w.pong(pid, seq);
        }
    }

    /// Pings the children and feeds systemd's watchdog if they all answered the last round.
    fn watchdog_round(&mut self, now: Instant) {
        let pids: Vec<i32> = self.procs.keys().copied().collect();
        let Some(round) = self.watchdog.as_mut().and_then(|w| w.tick(now, &pids)) else { return };
        if round.feed {
            if let Some(n) = &self.notifier {
                n.send("WATCHDOG=1");
            }
        }
        for pid in pids {
            let Some(role) = self.procs.get(&pid).map(|p| p.role) else { continue };
            match role {
                Role::Worker => self.send(pid, &ToWorker::Ping(round.ping), &[]),
                Role::Checker => self.send(pid, &ToChecker::Ping(round.ping), &[]),
                Role::Vrrpd => self.send(pid, &ToVrrp::Ping(round.ping), &[]),
            }
        }
    }

    /// The stats page's process summary: this host, the generation, the restarts, the tracks.
    fn send_process_view(&mut self) {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let started_unix = self.started_wall.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let restarts = [Role::Worker, Role::Checker, Role::Vrrpd]
            .into_iter()
            .map(|r| (r.name().to_string(), self.restart_counts.get(r.name()).copied().unwrap_or(0)))
            .collect();
        let tracks = self
            .config
            .vrrp
            .scripts
            .iter()
            .enumerate()
            .map(|(i, script)| {
                let (what, ok) = match &script.action {
                    ScriptAction::Command(cmd) => (format!("script: {cmd}"), self.script_states.get(&i).copied()),
                    ScriptAction::Builtin(BuiltinCheck::ProxyAlive) => {
                        ("builtin: proxy_alive".to_string(), self.builtin_sent.get(&i).copied())
                    }
                    ScriptAction::Builtin(BuiltinCheck::MinServersUp { backend, servers }) => {
                        let name = self.config.backends.get(*backend).map_or("?", |b| b.name.as_str());
                        (format!("builtin: min_servers_up({name}, {servers})"), self.builtin_sent.get(&i).copied())
                    }
                };
                hakeeper_common::ctl::TrackView { name: script.name.clone(), what, weight: script.weight, ok }
            })
            .collect();
        let view = hakeeper_common::ctl::ProcessView { host, generation: self.generation, started_unix, restarts, tracks };
        for pid in self.pids_of(Role::Worker) {
            self.send(pid, &ToWorker::Process(view.clone()), &[]);
        }
    }
}
