//! What the policy core asks of the I/O shell.

use super::input::SpawnWhy;
use super::upgrade::{CarriedWorker, UpgradeState};
use crate::child::{ChildSpec, Role};
use hakeeper_common::ctl::CtlReply;
use hakeeper_common::ipc::{ListenerTag, ToChecker, ToVrrp, ToWorker};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A message for one child, typed by its role.
// ToWorker::Start carries a config slice and is sent once per worker; boxing it buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ToChild {
    Worker(ToWorker),
    Checker(ToChecker),
    Vrrp(ToVrrp),
}

// A child's start (config slice, spec) is the large variant and is rare; boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Fork+exec `role`; answer with `Input::Spawned` or `Input::SpawnFailed` (echoing `why`)
    /// before carrying out the next output.
    Spawn {
        role: Role,
        spec: ChildSpec,
        why: SpawnWhy,
    },
    /// Queue `msg` in the child's outbox.
    Send {
        pid: i32,
        msg: ToChild,
    },
    /// Queue `ToWorker::Listeners` with the sockets bound for these addresses (those the
    /// shell holds, in this order) attached.
    SendListeners {
        pid: i32,
        listeners: Vec<(ListenerTag, SocketAddr)>,
    },
    /// SIGKILL the child (its exit comes back as `Input::Exited`).
    Kill {
        pid: i32,
    },
    /// sd_notify(3) these assignments (dropped when systemd did not ask for them).
    Notify(String),
    /// sd_notify `RELOADING=1` with the monotonic clock.
    NotifyReloading,
    Log {
        level: log::Level,
        text: String,
    },
    /// Answer `hakeeper ctl` client `id` and close its connection.
    CtlAnswer {
        id: u64,
        reply: CtlReply,
    },
    /// Wake up (with `Input::Timer`) at this instant at the latest; `None`: no timer is due.
    ArmTimer(Option<Instant>),
    /// Every child is gone (or was killed at the stop deadline): reap for `linger`, then exit.
    Exit {
        linger: Duration,
    },
    /// Re-execute `binary` in place (a binary upgrade) handing over the listeners, the
    /// channels of these workers and `state`; answer with `Input::ExecFailed` if it fails.
    Exec {
        binary: String,
        workers: Vec<CarriedWorker>,
        state: UpgradeState,
        /// The waiting `hakeeper ctl upgrade` client, whose connection goes along.
        ctl: Option<u64>,
    },
    /// Starting up failed; the supervisor exits with this error.
    Abort(String),
}
