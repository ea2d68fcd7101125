//! The real HAProxy from Debian, run in the foreground (`-db`) and killed by PID on drop.

use super::process::{in_ci, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The haproxy binary, or `None` (a skip) when it is missing outside CI; under CI=true a
/// missing binary fails the test.
pub fn binary(test: &str) -> Option<PathBuf> {
    let found = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"].iter().map(PathBuf::from).find(|p| p.is_file());
    if found.is_none() {
        assert!(!in_ci(), "{test}: haproxy is not installed (tests/install-deps installs it) and CI=true: failing instead of skipping");
        eprintln!("skipping {test}: haproxy is not installed (run tests/install-deps as root)");
    }
    found
}

pub struct Haproxy {
    child: Child,
    pub log: PathBuf,
}

impl Haproxy {
    pub fn start(binary: &Path, config: &Path, log: &Path) -> Haproxy {
        let log_file = std::fs::File::create(log).expect("create haproxy log");
        let child = Command::new(binary)
            .arg("-f")
            .arg(config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log fd"))
            .stderr(log_file)
            .spawn()
            .expect("spawn haproxy");
        Haproxy { child, log: log.to_path_buf() }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it exited (a config error, a port taken).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            super::process::signal(self.child.id() as i32, nix::sys::signal::Signal::SIGTERM);
            wait_until(Duration::from_secs(3), || !matches!(self.child.try_wait(), Ok(None)));
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Whether a TCP socket listens on 127.0.0.1:`port` (read from /proc/net/tcp, so that waiting
/// for a proxy opens no connection that its balancing would count).
pub fn listening(port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else { return false };
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")
    })
}
