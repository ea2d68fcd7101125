//! Starting the real `hakeeper` binary and cleaning up after it, by PID.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// Each test binary uses a part of the harness; these are the workspace's shared helpers.
#[allow(unused_imports)]
pub use hakeeper_testkit::{free_port, in_ci, is_root, refused_port, require_root, wait_until};

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_hakeeper")
}

/// A private scratch directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("hakeeper-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        // Children that dropped privileges still need to read nothing here; logs are ours.
        TempDir { path }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs `hakeeper ARGS` to completion with a time bound; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], timeout: Duration) -> (i32, String, String) {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hakeeper");
    let mut out = String::new();
    let mut err = String::new();
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + timeout;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hakeeper {args:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    out.push_str(&t_out.join().unwrap_or_default());
    err.push_str(&t_err.join().unwrap_or_default());
    (code, out, err)
}

/// Runs `cmd` with its output captured, killing it (by its PID) if it has not finished within
/// `timeout`.
pub fn output_within(mut cmd: Command, timeout: Duration) -> std::io::Result<std::process::Output> {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(out) => out,
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = rx.recv_timeout(Duration::from_secs(5));
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("did not finish within {timeout:?}")))
        }
    }
}

/// Children of `pid` as (role, pid), read from /proc.
pub fn children_of(pid: i32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // Field 4 (after the parenthesised command) is the parent PID.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok());
        if ppid != Some(pid) {
            continue;
        }
        // A child's title is its argv[0]: `hakeeper: worker`.
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        let title = String::from_utf8_lossy(cmdline.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
        if let Some(role) = title.strip_prefix("hakeeper: ") {
            out.push((role.to_string(), child));
        }
    }
    out.sort();
    out
}

pub fn alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; look at its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()), Some("Z") | Some("X")),
        Err(_) => false,
    }
}

pub fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
}

/// A running `hakeeper run --foreground`, killed (with its children) on drop.
pub struct Appliance {
    pub child: Child,
    pub pid: i32,
    pub log: PathBuf,
    known: Vec<i32>,
}

impl Appliance {
    /// Starts `hakeeper run -c config --foreground`, stderr to `log`.
    pub fn start(config: &Path, log: &Path) -> Appliance {
        Appliance::start_with_env(config, log, &[])
    }

    /// As [`Appliance::start`], with stderr passed off as systemd's journal stream
    /// (`JOURNAL_STREAM` names the log file) and the journal's socket at `socket`.
    pub fn start_under_journal(config: &Path, log: &Path, socket: &Path) -> Appliance {
        use std::os::unix::fs::MetadataExt;
        std::fs::File::create(log).expect("create log file");
        let meta = std::fs::metadata(log).expect("log file metadata");
        let stream = format!("{}:{}", meta.dev(), meta.ino());
        let socket = socket.to_str().expect("utf8").to_string();
        Appliance::start_with_env(config, log, &[("JOURNAL_STREAM", stream), ("HAKEEPER_JOURNAL_SOCKET", socket)])
    }

    pub fn start_with_env(config: &Path, log: &Path, env: &[(&str, String)]) -> Appliance {
        Appliance::start_program(Path::new(binary()), config, log, env)
    }

    /// As [`Appliance::start_with_env`], running the binary at `program` (a copy, say, that a
    /// binary upgrade test replaces).
    pub fn start_program(program: &Path, config: &Path, log: &Path, env: &[(&str, String)]) -> Appliance {
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("open log file");
        log_file.set_len(0).expect("truncate log file");
        let spawn = || {
            Command::new(program)
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .args(["run", "-c"])
                .arg(config)
                .arg("--foreground")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log fd"))
                .stderr(log_file.try_clone().expect("log fd"))
                .spawn()
        };
        // A binary this test process just copied may be "busy" for a moment: a child another
        // test thread forks meanwhile holds the copy's write descriptor until its exec.
        let end = Instant::now() + Duration::from_secs(5);
        let child = loop {
            match spawn() {
                Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) && Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                other => break other.expect("spawn hakeeper run"),
            }
        };
        let pid = child.id() as i32;
        Appliance { child, pid, log: log.to_path_buf(), known: Vec::new() }
    }

    /// Waits until the roles in `roles` are all running; returns their (role, pid).
    pub fn wait_for_children(&mut self, roles: &[&str], timeout: Duration) -> Vec<(String, i32)> {
        let mut found = Vec::new();
        let ok = wait_until(timeout, || {
            found = children_of(self.pid);
            roles.iter().all(|r| found.iter().any(|(role, _)| role == r))
        });
        assert!(ok, "children {roles:?} not all running after {timeout:?}: {found:?}\nlog:\n{}", self.log_text());
        self.known.extend(found.iter().map(|(_, p)| *p));
        found
    }

    pub fn child_pid(&mut self, role: &str) -> Option<i32> {
        let found = children_of(self.pid);
        self.known.extend(found.iter().map(|(_, p)| *p));
        found.into_iter().find(|(r, _)| r == role).map(|(_, p)| p)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log_text().contains(needle))
    }

    /// Sends SIGTERM and waits for the supervisor to exit; returns how long it took.
    pub fn terminate(&mut self, timeout: Duration) -> Option<Duration> {
        let start = Instant::now();
        self.known.extend(children_of(self.pid).iter().map(|(_, p)| *p));
        signal(self.pid, nix::sys::signal::Signal::SIGTERM);
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// PIDs of every child seen during the test.
    pub fn known_children(&self) -> Vec<i32> {
        self.known.clone()
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        self.known.extend(children_of(self.pid).iter().map(|(_, p)| *p));
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(self.pid, nix::sys::signal::Signal::SIGTERM);
            let end = Instant::now() + Duration::from_secs(6);
            while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in &self.known {
            if alive(*pid) {
                signal(*pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}
