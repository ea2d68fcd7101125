//! One run of a script in a process group of its own, so a timeout can signal the script and
//! everything it started: a check script as `/bin/sh -c COMMAND`, a notify script exec'd
//! directly with its arguments (as keepalived runs both). Its exit is noticed through a pidfd in
//! the event loop (no SIGCHLD handler, no thread).

use crate::scripts::run_as::{switch_user, RunAs};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    /// Killed by us at its timeout.
    TimedOut,
    /// Could not be started, or its end could not be observed.
    Lost,
}

impl Outcome {
    pub fn ok(self) -> bool {
        self == Outcome::Exited(0)
    }

    /// keepalived's wording after "failed".
    pub fn describe(self) -> String {
        match self {
            Outcome::Exited(code) => format!("exited with status {code}"),
            Outcome::Signaled(sig) => format!("killed by signal {sig}"),
            Outcome::TimedOut => "timed out".to_string(),
            Outcome::Lost => "could not be run".to_string(),
        }
    }
}

pub struct ScriptProcess {
    child: Child,
    pid: Pid,
    /// Readable once the script has exited; `None` on kernels without pidfd_open (< 5.3),
    /// where the loop polls instead.
    pidfd: Option<OwnedFd>,
    timed_out: bool,
}

impl ScriptProcess {
    pub fn spawn(command: &str, env: &[(&str, String)], run_as: RunAs) -> io::Result<ScriptProcess> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(command);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        Self::start(cmd, run_as)
    }

    /// Execs `program` with `args`, no shell. A file without a `#!` line (ENOEXEC) is run by
    /// /bin/sh, as execvp and keepalived (which then uses system()) do.
    pub fn spawn_program(program: &Path, args: &[String], run_as: RunAs) -> io::Result<ScriptProcess> {
        let mut cmd = Command::new(program);
        cmd.args(args);
        match Self::start(cmd, run_as) {
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOEXEC) => {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg(program).args(args);
                Self::start(cmd, run_as)
            }
            other => other,
        }
    }

    fn start(mut cmd: Command, run_as: RunAs) -> io::Result<ScriptProcess> {
        if let RunAs::User(ids) = run_as {
            switch_user(&mut cmd, ids);
        }
        let child = cmd.process_group(0).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        let raw = i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
        let pid = Pid::from_raw(raw);
        let pidfd = match pidfd_open(pid) {
            Ok(fd) => Some(fd),
            Err(e) => {
                log::debug!("pidfd_open({pid}) failed ({e}); polling the script instead");
                None
            }
        };
        Ok(ScriptProcess { child, pid, pidfd, timed_out: false })
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    pub fn pidfd(&self) -> Option<RawFd> {
        use std::os::fd::AsRawFd;
        self.pidfd.as_ref().map(|fd| fd.as_raw_fd())
    }

    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Signals the whole group. The leader is not reaped before we have looked at its exit (see
    /// `try_finish`), so the group id still names this script's group.
    pub fn signal_group(&self, signal: Signal) {
        if let Err(e) = killpg(self.pid, signal) {
            if e != nix::errno::Errno::ESRCH {
                log::warn!("cannot signal script process group {}: {e}", self.pid);
            }
        }
    }

    /// The timeout passed: ask the group to stop; `try_finish` will count it as a failure.
    pub fn time_out(&mut self) {
        self.timed_out = true;
        self.signal_group(Signal::SIGTERM);
    }

    /// The timeout passed and no grace is given: kill the whole group now.
    pub fn kill_timed_out(&mut self) {
        self.timed_out = true;
        self.signal_group(Signal::SIGKILL);
    }

    /// Reaps the script if it has exited. Before reaping a timed-out script, whatever is left of
    /// its group is killed: the unreaped leader still holds the group id, so it cannot yet have
    /// been reused for another group.
    pub fn try_finish(&mut self) -> io::Result<Option<Outcome>> {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(self.pid), flags) {
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(None),
            Err(e) => return Err(io::Error::from_raw_os_error(e as i32)),
        }
        if self.timed_out {
            self.signal_group(Signal::SIGKILL);
        }
        Ok(self.child.try_wait()?.map(|status| self.outcome(status)))
    }

    fn outcome(&self, status: ExitStatus) -> Outcome {
        if self.timed_out {
            Outcome::TimedOut
        } else if let Some(code) = status.code() {
            Outcome::Exited(code)
        } else {
            Outcome::Signaled(status.signal().unwrap_or(0))
        }
    }

    /// Shutdown: kill the group and reap the leader.
    pub fn kill_and_reap(mut self) {
        self.signal_group(Signal::SIGKILL);
        if let Err(e) = self.child.wait() {
            log::warn!("cannot reap script process {}: {e}", self.pid);
        }
    }
}

fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: a plain system call with integer arguments; on success the kernel returns a new
    // descriptor (close-on-exec) that nothing else owns.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("descriptor out of range"))?;
    // SAFETY: see above; `fd` is a fresh descriptor owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
