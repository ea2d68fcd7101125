//! Starting a child: fork + exec of our own binary (`/proc/self/exe`: the binary this supervisor
//! runs, even after a package upgrade replaced the file) under the title `hakeeper: ROLE`, its
//! end of a socketpair and a pipe holding its start-up spec placed at fixed descriptors. Between
//! fork and exec only fcntl and dup2 run (async-signal-safe).

use crate::child::{ChildSpec, Role};
use hakeeper_common::ipc::{CHILD_CHANNEL_FD, CHILD_SPEC_FD, CHILD_TITLE_PREFIX};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::io::Write;
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
    // The spec goes through a pipe, whole before the child starts: it is far below the pipe's
    // capacity, so this write cannot block.
    if spec_text.len() > 16 * 1024 {
        return Err(SpawnError::Spec { role: name, reason: format!("{} bytes is more than a pipe holds at once", spec_text.len()) });
    }
    let (spec_read, spec_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|source| SpawnError::Channel { role: name, source })?;
    std::fs::File::from(spec_write).write_all(spec_text.as_bytes()).map_err(|source| SpawnError::Exec { role: name, source })?;
    // Both above the fixed numbers, so that placing one cannot overwrite the other.
    let theirs = above_fixed(theirs).map_err(|source| SpawnError::Channel { role: name, source })?;
    let spec_read = above_fixed(spec_read).map_err(|source| SpawnError::Channel { role: name, source })?;
    let child_fd = theirs.as_raw_fd();
    let spec_fd = spec_read.as_raw_fd();
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0(format!("{CHILD_TITLE_PREFIX}{name}")).stdin(Stdio::null());
    // systemd's notification socket is the supervisor's alone.
    for var in crate::sd_notify::ENV {
        cmd.env_remove(var);
    }
    // SAFETY: the closure only calls fcntl and dup2, which are async-signal-safe. dup2 onto a
    // different descriptor clears close-on-exec on the copy, so both survive exec.
    unsafe {
        cmd.pre_exec(move || {
            place_fd(child_fd, CHILD_CHANNEL_FD)?;
            place_fd(spec_fd, CHILD_SPEC_FD)
        });
    }
    let child = cmd.spawn().map_err(|source| SpawnError::Exec { role: name, source })?;
    drop(theirs);
    drop(spec_read);
    Ok(Spawned { pid: child.id() as i32, channel: ours })
}

/// `fd` moved to a number above [`CHILD_CHANNEL_FD`] and [`CHILD_SPEC_FD`] (close-on-exec).
fn above_fixed(fd: OwnedFd) -> Result<OwnedFd, nix::Error> {
    if fd.as_raw_fd() > CHILD_SPEC_FD {
        return Ok(fd);
    }
    let moved = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(CHILD_SPEC_FD + 1))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(moved) })
}

/// In the forked child: `fd` at `target`, open across exec. Only async-signal-safe calls.
fn place_fd(fd: i32, target: i32) -> std::io::Result<()> {
    if fd == target {
        // Not reached (see `above_fixed`), kept for safety: dup2 onto itself would keep
        // close-on-exec set.
        // SAFETY: fcntl on a descriptor this process owns.
        let flags = unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) };
        // SAFETY: as above.
        if flags < 0 || unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, flags & !nix::libc::FD_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    // SAFETY: dup2 of a descriptor this process owns onto a fixed number.
    } else if unsafe { nix::libc::dup2(fd, target) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
