//! Detaching from the terminal for `hakeeper run` without `--foreground`, after everything that
//! can fail at start-up (config, users, binding) has been done, so errors reach the caller.

use std::os::fd::AsRawFd;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot detach: {0}")]
    Fork(nix::Error),
    #[error("cannot write pid file {path}: {source}")]
    Pidfile { path: String, source: std::io::Error },
}

/// Forks; the parent exits 0, the child continues in a new session with stdio on /dev/null.
pub fn detach() -> Result<(), DaemonError> {
    // SAFETY: the supervisor is single-threaded at this point (no threads have been started).
    match unsafe { nix::unistd::fork() }.map_err(DaemonError::Fork)? {
        nix::unistd::ForkResult::Parent { .. } => std::process::exit(0),
        nix::unistd::ForkResult::Child => {}
    }
    nix::unistd::setsid().map_err(DaemonError::Fork)?;
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..=2 {
            // SAFETY: dup2 onto the standard descriptors, which this process owns.
            unsafe { nix::libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let _ = std::env::set_current_dir("/");
    Ok(())
}

pub fn write_pidfile(path: &Path) -> Result<(), DaemonError> {
    std::fs::write(path, format!("{}\n", std::process::id()))
        .map_err(|source| DaemonError::Pidfile { path: path.display().to_string(), source })
}
