//! Starting a child: fork + exec of our own binary with a role, its end of a socketpair placed
//! at a fixed descriptor. Between fork and exec only dup2 runs (async-signal-safe).

use crate::child::{ChildSpec, Role};
use hakeeper_common::ipc::CHILD_CHANNEL_FD;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot create the {role} channel: {source}")]
    Channel { role: &'static str, source: nix::Error },
    #[error("cannot encode the {role} spec: {reason}")]
    Spec { role: &'static str, reason: String },
    #[error("cannot start the {role}: {source}")]
    Exec { role: &'static str, source: std::io::Error },
}

/// A started child: its PID and the supervisor's end of its channel.
pub struct Spawned {
    pub pid: i32,
    pub channel: OwnedFd,
}

pub fn spawn(role: Role, spec: &ChildSpec) -> Result<Spawned, SpawnError> {
    let name = role.name();
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK)
        .map_err(|source| SpawnError::Channel { role: name, source })?;
    // The child reads its end with blocking calls until its event loop takes over.
    nix::fcntl::fcntl(&theirs, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()))
        .map_err(|source| SpawnError::Channel { role: name, source })?;
    let spec_text = ron::to_string(spec).map_err(|e| SpawnError::Spec { role: name, reason: e.to_string() })?;
    let child_fd = theirs.as_raw_fd();
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("hakeeper").arg("__child").arg(name).arg(spec_text).stdin(Stdio::null());
    // SAFETY: the closure only calls dup2, which is async-signal-safe. dup2 onto a different
    // descriptor clears close-on-exec on the copy, so the channel survives exec at fd 3.
    unsafe {
        cmd.pre_exec(move || {
            if child_fd == CHILD_CHANNEL_FD {
                let flags = nix::libc::fcntl(child_fd, nix::libc::F_GETFD);
                if flags < 0 || nix::libc::fcntl(child_fd, nix::libc::F_SETFD, flags & !nix::libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if nix::libc::dup2(child_fd, CHILD_CHANNEL_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|source| SpawnError::Exec { role: name, source })?;
    drop(theirs);
    Ok(Spawned { pid: child.id() as i32, channel: ours })
}
