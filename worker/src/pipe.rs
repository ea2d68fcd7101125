//! Kernel pipes for splice(2) forwarding, pooled per thread like the buffers: a flow holds one
//! only while bytes sit in it, so idle connections hold none.

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use std::os::fd::OwnedFd;

/// Asked-for pipe capacity: fewer splice calls per megabyte than the 64 KiB default. The kernel
/// may refuse (per-user pipe limits); the pipe then keeps its default size.
const PIPE_SIZE: i32 = 256 * 1024;

/// Pipes kept for reuse per thread.
const POOL_KEEP: usize = 64;

pub struct Pipe {
    pub read: OwnedFd,
    pub write: OwnedFd,
    /// Its capacity in bytes.
    pub size: usize,
}

#[derive(Default)]
pub struct PipePool {
    free: Vec<Pipe>,
}

impl PipePool {
    /// A pipe, or `None` when the process is out of descriptors (the flow then copies).
    pub fn take(&mut self) -> Option<Pipe> {
        if let Some(p) = self.free.pop() {
            return Some(p);
        }
        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).ok()?;
        let _ = fcntl(&write, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
        let size = fcntl(&write, FcntlArg::F_GETPIPE_SZ).ok().and_then(|n| usize::try_from(n).ok()).unwrap_or(64 * 1024);
        Some(Pipe { read, write, size })
    }

    /// Takes back an empty pipe.
    pub fn give(&mut self, pipe: Pipe) {
        if self.free.len() < POOL_KEEP {
            self.free.push(pipe);
        }
    }
}
