//! Runs the checker in-process the way the supervisor does: `run()` on a thread with one end of
//! a socketpair, Start sent on the other, FromChecker messages read back with a deadline.
#![allow(dead_code)]

use hakeeper_common::config::{Backend, Balance, Check, HashType, HealthCheck, Mode, ScriptAction, Server, VrrpScript};
use hakeeper_common::ipc::{send, CheckerConfig, FrameReader, FromChecker, IpcError, ReadOutcome, ToChecker};
#[allow(unused_imports)] // each test binary uses a part of the support
pub use hakeeper_testkit::{free_port, refused_port};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub struct CheckerUnderTest {
    supervisor: OwnedFd,
    reader: FrameReader,
    thread: Option<JoinHandle<Result<(), hakeeper_checker::CheckerError>>>,
    /// The verdicts of checks that changed nothing (set aside by `recv`).
    pub results: Vec<(usize, usize, String)>,
}

impl CheckerUnderTest {
    pub fn start(config: CheckerConfig) -> Self {
        Self::start_with_limits(config, hakeeper_checker::NotifyLimits::default())
    }

    /// Like `start`, with other notify script limits.
    pub fn start_with_limits(config: CheckerConfig, limits: hakeeper_checker::NotifyLimits) -> Self {
        capture_logs();
        let (supervisor, child) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC).expect("socketpair");
        let thread = std::thread::spawn(move || hakeeper_checker::run_with_limits(child, limits));
        send(supervisor.as_fd(), &ToChecker::Start(config), &[]).expect("send Start");
        CheckerUnderTest { supervisor, reader: FrameReader::new(), thread: Some(thread), results: Vec::new() }
    }

    /// The next message, or None when `timeout` passes first. Verdicts of checks that changed
    /// nothing (`CheckResult`) go to `results` instead.
    pub fn recv(&mut self, timeout: Duration) -> Option<FromChecker> {
        let end = Instant::now() + timeout;
        loop {
            if let Some((msg, _)) = self.reader.next::<FromChecker>().expect("decodable message") {
                if let FromChecker::CheckResult { backend, server, reason, .. } = msg {
                    self.results.push((backend, server, reason));
                    continue;
                }
                return Some(msg);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let mut fds = [PollFd::new(self.supervisor.as_fd(), PollFlags::POLLIN)];
            let wait = PollTimeout::try_from(left.as_millis().max(1) as i32).unwrap_or(PollTimeout::MAX);
            match poll(&mut fds, wait) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => panic!("poll: {e}"),
            }
            match self.reader.read_from(self.supervisor.as_fd()) {
                Ok(ReadOutcome::Data) | Ok(ReadOutcome::WouldBlock) => {}
                Err(IpcError::Closed) => return None,
                Err(e) => panic!("reading from the checker: {e}"),
            }
        }
    }

    /// The next ServerHealth message: (backend, server, up, reason, duration), with its arrival time.
    pub fn server_change(&mut self, timeout: Duration) -> Option<(usize, usize, bool, String, Duration, Instant)> {
        match self.recv(timeout)? {
            FromChecker::ServerHealth { backend, server, up, reason, duration } => {
                Some((backend, server, up, reason, duration, Instant::now()))
            }
            other => panic!("expected ServerHealth, got {other:?}"),
        }
    }

    /// The next ScriptState message: (script, ok).
    pub fn script_change(&mut self, timeout: Duration) -> Option<(usize, bool)> {
        match self.recv(timeout)? {
            FromChecker::ScriptState { script, ok } => Some((script, ok)),
            other => panic!("expected ScriptState, got {other:?}"),
        }
    }

    /// Asks the checker to run a notify script, as the supervisor does for vrrpd.
    pub fn notify(&self, instance: &str, command: &str, args: &[&str]) {
        let msg =
            ToChecker::Notify { instance: instance.into(), command: command.into(), args: args.iter().map(|a| a.to_string()).collect() };
        send(self.supervisor.as_fd(), &msg, &[]).expect("send Notify");
    }

    /// Sends Stop and checks that the checker returned Ok promptly.
    pub fn stop(mut self) {
        self.finish();
    }

    /// Sends Stop; how long the checker took to return (Ok) after it.
    pub fn stop_timed(mut self) -> Duration {
        let start = Instant::now();
        self.finish();
        start.elapsed()
    }

    fn finish(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let _ = send(self.supervisor.as_fd(), &ToChecker::Stop, &[]);
        let end = Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() {
            assert!(Instant::now() < end, "checker did not stop within 5 s of Stop");
            std::thread::sleep(ms(10));
        }
        let result = thread.join().expect("checker thread panicked");
        assert!(result.is_ok(), "checker returned {result:?}");
    }
}

impl Drop for CheckerUnderTest {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.finish();
        } else if let Some(thread) = self.thread.take() {
            let _ = send(self.supervisor.as_fd(), &ToChecker::Stop, &[]);
            let _ = thread.join();
        }
    }
}

pub fn check(inter: Duration, rise: u32, fall: u32, port: u16) -> Check {
    Check { inter, fastinter: inter, downinter: inter, rise, fall, port, initial_up: true }
}

pub fn server(name: &str, addr: SocketAddr, check: Option<Check>) -> Server {
    Server {
        name: name.into(),
        id: 1,
        addr,
        weight: 1,
        maxconn: 0,
        backup: false,
        disabled: false,
        cookie: None,
        check,
        pool: Default::default(),
        send_proxy: None,
        check_send_proxy: false,
        proxy_v2: Default::default(),
        tls: None,
        check_tls: None,
    }
}

pub fn backend(name: &str, health_check: HealthCheck, servers: Vec<Server>) -> Backend {
    Backend {
        name: name.into(),
        mode: Mode::Tcp,
        balance: Balance::Roundrobin,
        hash_type: HashType::MapBased,
        retries: 3,
        redispatch: false,
        abortonclose: false,
        allbackups: false,
        timeout_connect: Duration::from_secs(5),
        timeout_server: Duration::from_secs(50),
        timeout_queue: Duration::from_secs(5),
        timeout_check: None,
        stick: None,
        health_check,
        servers,
    }
}

pub fn script(name: &str, command: &str, interval: Duration, timeout: Duration, rise: u32, fall: u32) -> VrrpScript {
    VrrpScript { name: name.into(), action: ScriptAction::Command(command.into()), interval, timeout, weight: 0, rise, fall, user: None }
}

pub fn backends_only(backends: Vec<Backend>) -> CheckerConfig {
    CheckerConfig { backends, scripts: Vec::new(), script_user: None, enable_script_security: false }
}

pub fn scripts_only(scripts: Vec<VrrpScript>, enable_script_security: bool) -> CheckerConfig {
    CheckerConfig { backends: Vec::new(), scripts, script_user: None, enable_script_security }
}

static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if let Some(lines) = LINES.get() {
            if let Ok(mut lines) = lines.lock() {
                lines.push(format!("{}: {}", record.level(), record.args()));
            }
        }
    }
    fn flush(&self) {}
}

static LOGGER: Capture = Capture;

/// Keeps the checker's log lines (this process has no other logger).
pub fn capture_logs() {
    LINES.get_or_init(|| Mutex::new(Vec::new()));
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

/// Log lines containing `needle`, as `LEVEL: text`.
pub fn logged(needle: &str) -> Vec<String> {
    LINES
        .get()
        .map(|l| l.lock().map(|l| l.iter().filter(|x| x.contains(needle)).cloned().collect()).unwrap_or_default())
        .unwrap_or_default()
}
