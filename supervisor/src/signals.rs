//! Signals as events in the supervisor's loop: each signal sets a flag and writes a byte to a
//! socket that the loop polls, so handlers do nothing but async-signal-safe writes.

use mio::net::UnixStream;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What arrived since the last look.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub child: bool,
    pub reload: bool,
    pub stop: bool,
    /// SIGUSR2: binary upgrade (HAProxy's master re-executes itself on it).
    pub upgrade: bool,
}

pub struct Signals {
    pub wake: UnixStream,
    child: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    upgrade: Arc<AtomicBool>,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let child = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let upgrade = Arc::new(AtomicBool::new(false));
        for (sig, flag) in [(SIGCHLD, &child), (SIGHUP, &reload), (SIGTERM, &stop), (SIGINT, &stop), (SIGUSR2, &upgrade)] {
            signal_hook::flag::register(sig, Arc::clone(flag))?;
            signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
        }
        Ok(Signals { wake: UnixStream::from_std(read), child, reload, stop, upgrade })
    }

    /// Drains the wake-up socket and returns (and clears) the flags.
    pub fn take(&mut self) -> Pending {
        let mut buf = [0u8; 64];
        while matches!(self.wake.read(&mut buf), Ok(n) if n > 0) {}
        Pending {
            child: self.child.swap(false, Ordering::AcqRel),
            reload: self.reload.swap(false, Ordering::AcqRel),
            stop: self.stop.swap(false, Ordering::AcqRel),
            upgrade: self.upgrade.swap(false, Ordering::AcqRel),
        }
    }
}
