//! The stats page's admin actions on their way to event-loop thread 0: a queue checked each
//! turn without locking, and the page's handle on it that also wakes the thread.

use super::AdminCommand;
use crate::locking::lock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct AdminQueue {
    commands: Mutex<Vec<AdminCommand>>,
    /// Something waits in `commands`: checked by thread 0 each turn without locking.
    pending: AtomicBool,
}

impl AdminQueue {
    pub fn push(&self, cmd: AdminCommand) {
        lock(&self.commands).push(cmd);
        self.pending.store(true, Ordering::Release);
    }

    /// Everything queued, oldest first; empty (without locking) when nothing is.
    pub fn take(&self) -> Vec<AdminCommand> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *lock(&self.commands))
    }
}

/// How the page hands admin actions to event-loop thread 0: the queue plus a wake-up of that
/// thread's `mio::Waker`.
#[derive(Clone)]
pub struct AdminLink {
    queue: Arc<AdminQueue>,
    wake: Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>,
}

impl AdminLink {
    pub fn new(queue: Arc<AdminQueue>, wake: Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>) -> Self {
        AdminLink { queue, wake }
    }

    pub fn submit(&self, cmd: AdminCommand) {
        self.queue.push(cmd);
        if let Err(e) = (self.wake)() {
            log::error!("stats: cannot wake the event loop for an admin action: {e}");
        }
    }
}
