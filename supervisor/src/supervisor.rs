//! The supervisor's I/O shell: single-threaded, root when started as root. It binds the
//! listeners, runs the poll loop (children's channels, signals, the ctl socket), reaps with
//! waitpid, forks the children, speaks sd_notify, and otherwise does what the policy core
//! (`policy/`) says, feeding it back what happened. Messages to a child go through its outbox
//! (`outbox.rs`): written when its socket is writable, never waited on. A binary upgrade
//! (`upgrade.rs`) re-executes this process in place; the next one takes over its listeners and
//! workers' channels here (`Supervisor::new`). It never parses network input.

use crate::child::Role;
use crate::ctl_server::CtlServer;
use crate::listeners::Listeners;
use crate::outbox::Outbox;
use crate::policy::{Input, Loaded, Output, Policy, Refused, Setup, ToChild};
use crate::privileges::{self, Privileges};
use crate::sd_notify::{self, Notifier};
use crate::signals::Signals;
use crate::spawn::{spawn, SpawnError};
use crate::upgrade::{self, RecordWorker, Taken};
use hakeeper_common::config::{self, Config, ConfigError};
use hakeeper_common::ctl::CtlRequest;
use hakeeper_common::ipc::*;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::time::Instant;

const SIGNAL_TOKEN: Token = Token(usize::MAX);

/// Where the config comes from: a file, or text built into the binary (the demo).
#[derive(Clone)]
pub enum ConfigSource {
    /// A file, and the peer name given with `-L` (kept for reloads).
    File(PathBuf, Option<String>),
    Embedded {
        name: &'static str,
        text: &'static str,
    },
}

impl ConfigSource {
    pub fn load(&self) -> Result<config::Loaded, ConfigError> {
        match self {
            ConfigSource::File(path, localpeer) => config::load_file_as(path, localpeer.as_deref()),
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
    /// A child could not be started at boot (the spawn error's text).
    #[error("{0}")]
    Boot(String),
    #[error("event loop: {0}")]
    Io(#[from] std::io::Error),
}

/// One running child's channel: what is read from it, and its outbox.
struct Channel {
    role: Role,
    stream: mio::net::UnixStream,
    reader: FrameReader,
    outbox: Outbox,
    open: bool,
    /// Registered for writability too (the outbox holds something).
    writable: bool,
}

pub struct Supervisor {
    source: ConfigSource,
    listeners: Listeners,
    poll: Poll,
    signals: Signals,
    channels: HashMap<i32, Channel>,
    /// `hakeeper ctl`'s socket; None when it could not be created.
    ctl: Option<CtlServer>,
    /// systemd's notifications, when it asked for them.
    notifier: Option<Notifier>,
    policy: Policy,
    timer: Option<Instant>,
    exit: bool,
}

impl Supervisor {
    /// `taken`: what a binary upgrade handed over (this process re-executed itself).
    pub fn new(source: ConfigSource, config: Config, foreground: bool, taken: Option<Taken>) -> Result<Supervisor, SupervisorError> {
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
        let (channels, inherited, ctl_client) = match taken {
            Some(taken) => {
                for note in &taken.notes {
                    log::warn!("upgrade: {note}");
                }
                for (addr, fd) in taken.listeners {
                    listeners.adopt(addr, fd);
                }
                (taken.channels, Some(taken.inherited), taken.ctl_client)
            }
            None => (Vec::new(), None, None),
        };
        // Inherited sockets whose address the config still has are kept; the others close.
        listeners.sync(&config)?;
        let poll = Poll::new()?;
        let mut signals = Signals::install()?;
        poll.registry().register(&mut signals.wake, SIGNAL_TOKEN, Interest::READABLE)?;
        let mut ctl = match CtlServer::bind(&config.global.ctl_socket) {
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
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let started_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let setup = Setup {
            config,
            foreground,
            root,
            worker_privs,
            checker_privs,
            parent: std::process::id() as i32,
            host,
            started_unix,
            watchdog: notifier.as_ref().and_then(Notifier::watchdog),
        };
        let mut policy = Policy::new(setup, Instant::now());
        let mut adopted = HashMap::new();
        if let Some(inherited) = inherited {
            // An old worker carries on on its channel; it drains once the new one serves.
            let mut workers = Vec::new();
            for (pid, fd, pending) in channels {
                let mut stream = mio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(fd));
                if let Err(e) = poll.registry().register(&mut stream, Token(pid as usize), Interest::READABLE) {
                    log::warn!("upgrade: cannot watch the channel of worker pid {pid}: {e}");
                    continue;
                }
                let mut reader = FrameReader::new();
                reader.push_bytes(&pending);
                adopted.insert(pid, Channel { role: Role::Worker, stream, reader, outbox: Outbox::default(), open: true, writable: false });
                workers.extend(inherited.workers.iter().filter(|w| w.pid == pid).cloned());
            }
            // The `hakeeper ctl upgrade` client is answered once the new worker serves.
            let waiting = ctl_client.and_then(|fd| ctl.as_mut().and_then(|c| c.adopt_waiting(poll.registry(), fd, Instant::now())));
            policy.inherit(crate::policy::Inherited { workers, state: inherited.state, ctl: waiting }, Instant::now());
        }
        Ok(Supervisor { source, listeners, poll, signals, channels: adopted, ctl, notifier, policy, timer: None, exit: false })
    }

    /// Starts the children and runs until stopped. Returns when every child has exited.
    pub fn run(mut self) -> Result<(), SupervisorError> {
        // After `daemon::detach` this is the forked process: the children watch for this PID.
        self.policy.set_parent(std::process::id() as i32);
        // After an upgrade's exec: children that ended meanwhile (a vrrpd that handed over, the
        // old checker) signalled a process that had no handler yet.
        self.reap()?;
        self.feed(Input::Boot)?;
        let mut events = Events::with_capacity(64);
        while !self.exit {
            let mut next = self.timer;
            if let Some(t) = self.ctl.as_ref().and_then(|c| c.next_deadline()) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            let timeout = next.map(|t| t.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e.into());
                }
            }
            for ev in events.iter() {
                let token = ev.token();
                if self.ctl.as_ref().is_some_and(|c| c.owns(token)) {
                    self.ctl_ready(token)?;
                } else if token != SIGNAL_TOKEN {
                    let pid = token.0 as i32;
                    if ev.is_writable() {
                        self.flush(pid)?;
                    }
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        self.read_child(pid)?;
                    }
                }
            }
            let pending = self.signals.take();
            if pending.child {
                self.reap()?;
            }
            if pending.stop {
                self.feed(Input::Stop)?;
            }
            if pending.reload && !self.policy.stopping() {
                // The outcome is logged (and told to systemd); nobody waits for it.
                self.reload(None)?;
            }
            if pending.upgrade && !self.policy.stopping() {
                self.upgrade(None)?;
            }
            if let Some(ctl) = self.ctl.as_mut() {
                ctl.expire(self.poll.registry(), Instant::now());
            }
            self.feed(Input::Timer)?;
        }
        Ok(())
    }

    /// Hands `input` to the policy and carries out what it says, in order.
    fn feed(&mut self, input: Input) -> Result<(), SupervisorError> {
        let outputs = self.policy.on(input, Instant::now());
        for output in outputs {
            self.execute(output)?;
        }
        Ok(())
    }

    fn execute(&mut self, output: Output) -> Result<(), SupervisorError> {
        match output {
            Output::Spawn { role, spec, why } => {
                let input = match self.start(role, &spec) {
                    Ok(pid) => Input::Spawned { role, pid, why },
                    Err(e) => Input::SpawnFailed { role, why, error: e.to_string() },
                };
                self.feed(input)?;
            }
            Output::Send { pid, msg } => {
                let frame = match &msg {
                    ToChild::Worker(m) => encode_frame(m, 0),
                    ToChild::Checker(m) => encode_frame(m, 0),
                    ToChild::Vrrp(m) => encode_frame(m, 0),
                };
                self.queue(pid, frame, Vec::new())?;
            }
            Output::SendListeners { pid, listeners } => {
                let (tags, fds) = self.listeners.select(&listeners);
                // Copies travel in the outbox: a reload may close a listener before they go.
                // SAFETY: each descriptor is one of `self.listeners`', open for this call.
                let owned: Result<Vec<OwnedFd>, _> =
                    fds.iter().map(|fd| unsafe { BorrowedFd::borrow_raw(*fd) }.try_clone_to_owned()).collect();
                match owned {
                    Ok(owned) => {
                        let frame = encode_frame(&ToWorker::Listeners(tags), owned.len());
                        self.queue(pid, frame, owned)?;
                    }
                    Err(e) => self.feed(Input::CannotSend { pid, error: format!("cannot copy the listening sockets: {e}") })?,
                }
            }
            Output::Kill { pid } => {
                if let Some(ch) = self.channels.get_mut(&pid) {
                    ch.outbox.clear();
                }
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            Output::Notify(state) => {
                if let Some(n) = &self.notifier {
                    n.send(&state);
                }
            }
            Output::NotifyReloading => {
                if let Some(n) = &self.notifier {
                    n.send(&sd_notify::reloading());
                }
            }
            Output::Log { level, text } => log::log!(level, "{text}"),
            Output::CtlAnswer { id, reply } => {
                if let Some(ctl) = self.ctl.as_mut() {
                    ctl.answer(self.poll.registry(), id, &reply);
                }
            }
            Output::ArmTimer(at) => self.timer = at,
            Output::Exit { linger } => {
                self.exit = true;
                if !linger.is_zero() {
                    // Give the kills a moment to land, then reap whatever is gone.
                    std::thread::sleep(linger);
                    self.reap()?;
                }
            }
            Output::Exec { binary, workers, state, ctl } => {
                // Returns only when the exec failed.
                let error = self.exec(&binary, workers, &state, ctl);
                self.feed(Input::ExecFailed { error: error.to_string() })?;
            }
            Output::Abort(why) => return Err(SupervisorError::Boot(why)),
        }
        Ok(())
    }

    /// Forks `role` and registers its channel.
    fn start(&mut self, role: Role, spec: &crate::child::ChildSpec) -> Result<i32, SupervisorError> {
        let spawned = spawn(role, spec)?;
        let std_stream = std::os::unix::net::UnixStream::from(spawned.channel);
        let mut stream = mio::net::UnixStream::from_std(std_stream);
        self.poll.registry().register(&mut stream, Token(spawned.pid as usize), Interest::READABLE)?;
        let channel = Channel { role, stream, reader: FrameReader::new(), outbox: Outbox::default(), open: true, writable: false };
        self.channels.insert(spawned.pid, channel);
        Ok(spawned.pid)
    }

    /// Queues a frame for `pid` and writes what its socket takes now. A child whose outbox
    /// passes the bound is reported to the policy (which kills it).
    fn queue(&mut self, pid: i32, frame: Result<Vec<u8>, IpcError>, fds: Vec<OwnedFd>) -> Result<(), SupervisorError> {
        let bound = self.policy.outbox_bound();
        let Some(ch) = self.channels.get_mut(&pid) else { return Ok(()) };
        if !ch.open {
            return Ok(());
        }
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                log::warn!("cannot send to {} (pid {pid}): {e}", ch.role.name());
                return Ok(());
            }
        };
        let was_empty = ch.outbox.is_empty();
        if let Err(overflow) = ch.outbox.push(frame, fds, bound) {
            self.close_channel(pid);
            return self.feed(Input::Wedged { pid, queued: overflow.queued });
        }
        if was_empty {
            self.flush(pid)?;
        }
        Ok(())
    }

    /// Writes what `pid`'s socket takes; watches for writability while anything is left.
    fn flush(&mut self, pid: i32) -> Result<(), SupervisorError> {
        let Some(ch) = self.channels.get_mut(&pid) else { return Ok(()) };
        if !ch.open {
            return Ok(());
        }
        match ch.outbox.flush(ch.stream.as_fd()) {
            Ok(done) => {
                if done != ch.writable {
                    return Ok(());
                }
                let interest = if done { Interest::READABLE } else { Interest::READABLE | Interest::WRITABLE };
                match self.poll.registry().reregister(&mut ch.stream, Token(pid as usize), interest) {
                    Ok(()) => ch.writable = !done,
                    Err(e) => log::warn!("{} (pid {pid}) channel: {e}", ch.role.name()),
                }
                Ok(())
            }
            Err(e) => {
                // A child that died is reaped (and restarted) on SIGCHLD; what it was owed is lost.
                log::warn!("cannot send to {} (pid {pid}): {e}", ch.role.name());
                ch.outbox.clear();
                Ok(())
            }
        }
    }

    /// Nothing more is read from or written to `pid`.
    fn close_channel(&mut self, pid: i32) {
        let Some(ch) = self.channels.get_mut(&pid) else { return };
        if ch.open {
            ch.open = false;
            ch.outbox.clear();
            let _ = self.poll.registry().deregister(&mut ch.stream);
        }
    }

    fn read_child(&mut self, pid: i32) -> Result<(), SupervisorError> {
        let Some(ch) = self.channels.get_mut(&pid) else { return Ok(()) };
        if !ch.open {
            return Ok(());
        }
        let mut closed = false;
        loop {
            match ch.reader.read_from(ch.stream.as_fd()) {
                Ok(ReadOutcome::Data) => continue,
                Ok(ReadOutcome::WouldBlock) => break,
                Err(e) => {
                    if !matches!(e, IpcError::Closed) {
                        log::warn!("{} (pid {pid}) channel: {e}", ch.role.name());
                    }
                    closed = true;
                    break;
                }
            }
        }
        let role = ch.role;
        // What arrived before the end is still handled.
        match role {
            Role::Worker => self.drain_frames(pid, |pid, msg| Input::FromWorker { pid, msg })?,
            Role::Checker => self.drain_frames(pid, |pid, msg| Input::FromChecker { pid, msg })?,
            Role::Vrrpd => self.drain_frames(pid, |pid, msg| Input::FromVrrp { pid, msg })?,
        }
        if closed {
            self.close_channel(pid);
            self.feed(Input::ChannelClosed { pid })?;
        }
        Ok(())
    }

    /// Decodes every buffered frame from `pid` for the policy. A child that sends something
    /// undecodable is reported (the policy kills it rather than trust it further).
    fn drain_frames<T: serde::de::DeserializeOwned>(&mut self, pid: i32, input: fn(i32, T) -> Input) -> Result<(), SupervisorError> {
        loop {
            let Some(ch) = self.channels.get_mut(&pid) else { return Ok(()) };
            match ch.reader.next::<T>() {
                Ok(Some((msg, _fds))) => self.feed(input(pid, msg))?,
                Ok(None) => return Ok(()),
                Err(e) => return self.feed(Input::BadMessage { pid, error: e.to_string() }),
            }
        }
    }

    /// Readiness on the ctl socket or one of its clients: complete commands go to the policy;
    /// a reload is loaded here first.
    fn ctl_ready(&mut self, token: Token) -> Result<(), SupervisorError> {
        let Some(ctl) = self.ctl.as_mut() else { return Ok(()) };
        let requests = ctl.ready(self.poll.registry(), token, Instant::now());
        for (id, request) in requests {
            if request == CtlRequest::Reload {
                self.reload(Some(id))?;
            } else if request == CtlRequest::Upgrade {
                self.upgrade(Some(id))?;
            } else {
                self.feed(Input::Ctl { id, request })?;
            }
        }
        Ok(())
    }

    /// Loads the config and binds its listeners for a reload; the policy decides the rest. On
    /// error nothing changed (`Listeners::sync` closes nothing then).
    fn reload(&mut self, ctl: Option<u64>) -> Result<(), SupervisorError> {
        let outcome = match self.source.load() {
            Err(e) => Err(Refused { lines: e.lines(), reply: format!("reload refused, the running configuration stays:\n{}", e.report()) }),
            Ok(loaded) => match self.listeners.sync(&loaded.config) {
                Err(e) => {
                    Err(Refused { lines: vec![e.to_string()], reply: format!("reload refused, the running configuration stays: {e}") })
                }
                Ok(()) => Ok(Loaded { config: loaded.config, warnings: loaded.warnings.iter().map(ToString::to_string).collect() }),
            },
        };
        self.feed(Input::Reload { ctl, outcome })
    }

    /// A binary upgrade: the binary now on disk must accept the config before anything
    /// changes; the policy decides the rest.
    fn upgrade(&mut self, ctl: Option<u64>) -> Result<(), SupervisorError> {
        let outcome = upgrade::new_binary()
            .and_then(|binary| upgrade::check_config(&binary, &self.source).map(|()| binary.display().to_string()))
            .map_err(|e| e.to_string());
        self.feed(Input::Upgrade { ctl, outcome })
    }

    /// Re-executes `binary` with the listeners and these workers' channels; returns the error
    /// when that failed (this process then carries on as it was).
    fn exec(
        &mut self,
        binary: &str,
        workers: Vec<crate::policy::CarriedWorker>,
        state: &crate::policy::UpgradeState,
        ctl: Option<u64>,
    ) -> upgrade::UpgradeError {
        let mut carried = Vec::new();
        for w in workers {
            // What the outbox still holds would be lost half-written: one last try.
            let _ = self.flush(w.pid);
            let Some(ch) = self.channels.get(&w.pid).filter(|c| c.open) else { continue };
            if !ch.outbox.is_empty() {
                log::warn!("upgrade: worker (pid {}) has messages queued that it will not get", w.pid);
            }
            carried.push(RecordWorker {
                pid: w.pid,
                fd: ch.stream.as_raw_fd(),
                generation: w.generation,
                draining: w.draining,
                serving: w.serving,
                pending: ch.reader.pending().to_vec(),
            });
        }
        let client = ctl.and_then(|id| self.ctl.as_ref().and_then(|c| c.waiting_fd(id)));
        upgrade::exec(std::path::Path::new(binary), self.listeners.all(), carried, state, client)
    }

    fn reap(&mut self) -> Result<(), SupervisorError> {
        loop {
            let (pid, how, code) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), format!("exited with code {code}"), Some(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid.as_raw(), format!("killed by {sig:?}"), None),
                Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(()),
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    log::error!("waitpid: {e}");
                    return Ok(());
                }
            };
            if self.channels.contains_key(&pid) {
                // What it wrote before it exited (a draining worker's stick tables, say) is
                // still in the socket: handled before its exit is.
                self.read_child(pid)?;
                self.close_channel(pid);
                self.channels.remove(&pid);
            }
            self.feed(Input::Exited { pid, how, code })?;
        }
    }
}
