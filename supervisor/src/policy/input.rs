//! What the I/O shell tells the policy core: a child's message, exit or channel state, a
//! signal, a reload's loaded config, a ctl request, or that time passed.

use crate::child::Role;
use hakeeper_common::config::Config;
use hakeeper_common::ctl::CtlRequest;
use hakeeper_common::ipc::{FromChecker, FromVrrp, FromWorker};

/// Why a child is being started; the shell echoes it back with the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnWhy {
    /// At start-up: failing to start a child ends the supervisor.
    Boot,
    /// After an exit (or a reload's replacement of the checker): retried with backoff.
    Restart,
    /// A reload's new worker.
    Reload,
}

/// A reload the shell could not carry out: the config did not load or a listener did not bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What is wrong, one line per problem (`file:line:col: ...`).
    pub lines: Vec<String>,
    /// The answer for a `hakeeper ctl reload` client.
    pub reply: String,
}

/// A config the shell loaded (and whose listeners it bound) for a reload.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

// A reload carries a whole config and happens once per SIGHUP; boxing it buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Input {
    /// Start the children.
    Boot,
    /// The child asked for with `Output::Spawn` runs as `pid`.
    Spawned {
        role: Role,
        pid: i32,
        why: SpawnWhy,
    },
    /// It could not be started.
    SpawnFailed {
        role: Role,
        why: SpawnWhy,
        error: String,
    },
    FromWorker {
        pid: i32,
        msg: FromWorker,
    },
    FromChecker {
        pid: i32,
        msg: FromChecker,
    },
    FromVrrp {
        pid: i32,
        msg: FromVrrp,
    },
    /// The child's channel ended (or failed): nothing more is sent to it.
    ChannelClosed {
        pid: i32,
    },
    /// The child sent something that does not decode.
    BadMessage {
        pid: i32,
        error: String,
    },
    /// What the child needs could not be sent (not for want of room: see `Wedged`).
    CannotSend {
        pid: i32,
        error: String,
    },
    /// The child's outbox passed its bound: it stopped reading.
    Wedged {
        pid: i32,
        queued: usize,
    },
    /// waitpid reported the child gone: `how` for the log, `code` when it exited.
    Exited {
        pid: i32,
        how: String,
        code: Option<i32>,
    },
    /// SIGTERM or SIGINT.
    Stop,
    /// SIGHUP (`ctl: None`) or `hakeeper ctl reload` (`ctl: Some(client)`), with what loading
    /// the config gave.
    Reload {
        ctl: Option<u64>,
        outcome: Result<Loaded, Refused>,
    },
    /// SIGUSR2 (`ctl: None`) or `hakeeper ctl upgrade`: the binary now on disk checked the
    /// config (`Ok(its path)`) or refused it, or could not be run (`Err(why)`).
    Upgrade {
        ctl: Option<u64>,
        outcome: Result<String, String>,
    },
    /// `Output::Exec` failed: this process carries on.
    ExecFailed {
        error: String,
    },
    /// Any other `hakeeper ctl` command.
    Ctl {
        id: u64,
        request: CtlRequest,
    },
    /// Time passed: whatever is due fires.
    Timer,
}
