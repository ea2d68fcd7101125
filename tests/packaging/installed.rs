//! The installed .deb: a guard that purges it whatever happens to the test, and the service
//! started from the installed unit's own command lines (systemd is not PID 1 on CI).

use super::commands::run;
use crate::harness::process::{alive, children_of, signal, wait_until};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PACKAGE: &str = "hakeeper";
pub const DPKG_TIMEOUT: Duration = Duration::from_secs(180);

/// dpkg's state of the package: "installed", "config-files", … or "" when dpkg does not know it.
pub fn dpkg_status() -> String {
    let q = run("dpkg-query", &["-W", "-f=${db:Status-Status}", PACKAGE], Duration::from_secs(30));
    if q.ok() {
        q.stdout.trim().to_string()
    } else {
        String::new()
    }
}

pub fn dpkg_field(field: &str) -> String {
    run("dpkg-query", &["-W", &format!("-f=${{{field}}}"), PACKAGE], Duration::from_secs(30)).expect_ok().stdout
}

/// Purges the package on drop, also when an assertion failed half-way, and removes the stamp
/// that `systemd-analyze verify` leaves if it was not there before.
pub struct PurgeOnDrop {
    pub units_load_stamp_existed: bool,
}

pub const UNITS_LOAD_STAMP: &str = "/run/systemd/systemd-units-load";

impl PurgeOnDrop {
    pub fn new() -> PurgeOnDrop {
        PurgeOnDrop { units_load_stamp_existed: Path::new(UNITS_LOAD_STAMP).exists() }
    }
}

impl Drop for PurgeOnDrop {
    fn drop(&mut self) {
        if !dpkg_status().is_empty() {
            let purge = run("dpkg", &["--purge", PACKAGE], DPKG_TIMEOUT);
            if !purge.ok() {
                eprintln!("cleanup: dpkg --purge {PACKAGE} failed:\n{}{}", purge.stdout, purge.stderr);
            }
        }
        if !self.units_load_stamp_existed {
            let _ = std::fs::remove_file(UNITS_LOAD_STAMP);
        }
    }
}

/// Every value of `key=` in a systemd unit, in order.
pub fn unit_values(unit: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    unit.lines().filter_map(|l| l.trim().strip_prefix(&prefix)).map(str::to_string).collect()
}

/// A unit's command line as systemd runs it: `${VAR}` and `$VAR` replaced from its `Environment=`
/// lines, then from its `EnvironmentFile=` files in order (a leading `-`: optional), later
/// assignments winning; an unbraced variable that is empty disappears, as a word.
pub fn expand_command(unit: &str, command_line: &str) -> String {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.trim_matches('"').to_string()));
    };
    for line in unit_values(unit, "Environment") {
        for pair in line.split_whitespace() {
            if let Some((k, v)) = pair.split_once('=') {
                set(k, v);
            }
        }
    }
    for file in unit_values(unit, "EnvironmentFile") {
        let Ok(text) = std::fs::read_to_string(file.trim_start_matches('-')) else { continue };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once('=') {
                set(k.trim(), v.trim());
            }
        }
    }
    let mut words = Vec::new();
    for word in command_line.split_whitespace() {
        let mut out = word.to_string();
        for (k, v) in &env {
            out = out.replace(&format!("${{{k}}}"), v);
            if out == format!("${k}") {
                out = v.clone();
            }
        }
        if !out.is_empty() {
            words.push(out);
        }
    }
    words.join(" ")
}

/// A service process started from a unit's ExecStart= line, stopped and reaped on drop.
pub struct Service {
    child: Child,
    pub pid: i32,
    seen: Vec<i32>,
    log: PathBuf,
}

impl Service {
    pub fn start(command_line: &str, log: &Path) -> Service {
        let words: Vec<&str> = command_line.split_whitespace().collect();
        let (program, args) = words.split_first().expect("an ExecStart command");
        let log_file = std::fs::File::create(log).expect("create service log");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log fd"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command_line}: {e}"));
        let pid = child.id() as i32;
        Service { child, pid, seen: Vec::new(), log: log.to_path_buf() }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The supervisor's children by role once all of `roles` run.
    pub fn wait_for_children(&mut self, roles: &[&str], timeout: Duration) -> Vec<(String, i32)> {
        let mut found = Vec::new();
        let ok = wait_until(timeout, || {
            found = children_of(self.pid);
            roles.iter().all(|r| found.iter().any(|(role, _)| role == r))
        });
        self.seen.extend(found.iter().map(|(_, p)| *p));
        assert!(ok, "children {roles:?} not all running after {timeout:?}: {found:?}\nlog:\n{}", self.log_text());
        found
    }

    /// SIGTERM, as `systemctl stop` sends it; how long the supervisor took to exit, if it did.
    pub fn stop(&mut self, timeout: Duration) -> Option<Duration> {
        self.seen.extend(children_of(self.pid).iter().map(|(_, p)| *p));
        let start = Instant::now();
        signal(self.pid, Signal::SIGTERM);
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.seen.extend(children_of(self.pid).iter().map(|(_, p)| *p));
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in &self.seen {
            if alive(*pid) {
                signal(*pid, Signal::SIGKILL);
            }
        }
    }
}
