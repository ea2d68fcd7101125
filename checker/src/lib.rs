//! The checker role: health checks of backend servers (TCP connect, HTTP status, MySQL
//! handshake, any of them over TLS with `check-ssl`) and keepalived `vrrp_script` commands, all
//! in one mio event loop. TLS material (CAs, client certificate) comes inside the config, read
//! by the supervisor: the checker opens no file for it. Only state
//! changes go to the supervisor, which forwards server states to the worker and script states
//! to vrrpd. It also runs vrrpd's notify scripts (the supervisor forwards them), unprivileged.

mod checks;
mod error;
mod event_loop;
mod notify;
mod rng;
mod scripts;
mod timers;

pub use error::CheckerError;
pub use event_loop::NotifyLimits;
pub use scripts::security::{command_security_problem, script_security_problem};

use hakeeper_common::ipc::{send, FrameReader, FromChecker, IpcError, ToChecker};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use notify::notify_lanes::NotifyJob;
use std::os::fd::{AsFd, OwnedFd};

/// The checker's entry point: waits for its Start message, then checks until Stop.
pub fn run(channel: OwnedFd) -> Result<(), CheckerError> {
    run_with_limits(channel, NotifyLimits::default())
}

/// [`run`] with other notify script limits than the defaults (10 s per script, 1.5 s after Stop).
pub fn run_with_limits(channel: OwnedFd, limits: NotifyLimits) -> Result<(), CheckerError> {
    // Scripts must not inherit the supervisor channel (dup2 to a fixed fd clears close-on-exec).
    fcntl(channel.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(CheckerError::ChannelSetup)?;
    let mut reader = FrameReader::new();
    // Notify requests that come first run once the config (and its script security) is known.
    let mut early = Vec::new();
    let config = loop {
        match reader.recv_blocking::<ToChecker>(channel.as_fd()) {
            Ok((ToChecker::Start(config), _)) => break config,
            Ok((ToChecker::Notify { instance, command, args }, _)) => early.push(NotifyJob { instance, command, args }),
            Ok((ToChecker::Ping(n), _)) => send(channel.as_fd(), &FromChecker::Pong(n), &[])?,
            Ok((ToChecker::Stop, _)) | Err(IpcError::Closed) => {
                for job in early {
                    log::warn!("VRRP_Instance({}) notify script `{}` not run: stopped before the config came", job.instance, job.command);
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    };
    let flags = fcntl(channel.as_fd(), FcntlArg::F_GETFL).map_err(CheckerError::ChannelSetup)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(channel.as_fd(), FcntlArg::F_SETFL(flags)).map_err(CheckerError::ChannelSetup)?;
    event_loop::Checker::new(channel, reader)?.with_notify_limits(limits).run(config, early)
}
