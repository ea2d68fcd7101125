//! Running the packaging tools with a time bound, keeping what they print for failure messages.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished command printed, and how it exited (-1: killed by a signal).
pub struct Ran {
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// Panics with everything the command printed unless it exited 0.
    pub fn expect_ok(self) -> Ran {
        assert!(self.ok(), "{} exited {}\nstdout:\n{}\nstderr:\n{}", self.what, self.code, self.stdout, self.stderr);
        self
    }
}

/// Runs `program args` with stdin closed; see `run_command`.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Ran {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(cmd, timeout)
}

/// Runs `cmd` in a process group of its own, so that a command that overruns `timeout` is
/// killed together with everything it started (cargo's rustc children), by that group's id.
pub fn run_command(mut cmd: Command, timeout: Duration) -> Ran {
    let what = format!("{cmd:?}");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let readers = [child.stdout.take().map(drain), child.stderr.take().map(drain)];
    let end = Instant::now() + timeout;
    let mut timed_out = false;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code().unwrap_or(-1),
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let group = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                timed_out = true;
                break -1;
            }
        }
    };
    let [stdout, stderr] = readers.map(|r| r.and_then(|t| t.join().ok()).unwrap_or_default());
    assert!(!timed_out, "{what} did not finish within {timeout:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    Ran { what, code, stdout, stderr }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// True when `program` is on PATH (or in /usr/sbin, which a non-login root shell may lack).
pub fn have(program: &str) -> bool {
    let in_path = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    in_path || std::path::Path::new("/usr/sbin").join(program).is_file()
}
