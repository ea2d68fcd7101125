//! One thread's copies of the listening sockets. Every thread registers its own duplicate of each
//! socket with its own poll and accepts from it. A listener is deregistered ("paused") while its
//! frontend or the process is at maxconn: further clients wait in the kernel backlog instead of
//! waking the loop over and over.

use mio::net::TcpListener;
use mio::{Registry, Token};
use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

pub struct Listener {
    pub frontend: usize,
    pub bind: usize,
    pub socket: TcpListener,
    pub registered: bool,
}

pub struct Listeners {
    pub list: Vec<Listener>,
    /// Listeners that may still have connections in their backlog (an accept batch ended early).
    pub backlog: Vec<usize>,
    /// Accepting stopped after a resource shortage (EMFILE, ENOBUFS…) until this moment.
    pub resource_pause: Option<Instant>,
}

/// Registers a listener edge-triggered with EPOLLEXCLUSIVE, which mio does not offer: every
/// thread polls the same socket, and a new connection should wake one of them, not all.
fn register_exclusive(registry: &Registry, socket: &TcpListener, token: Token) -> io::Result<()> {
    use nix::libc;
    let ev = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLET | libc::EPOLLEXCLUSIVE) as u32, u64: token.0 as u64 };
    epoll_ctl(registry, libc::EPOLL_CTL_ADD, socket, ev)
}

/// The counterpart of [`register_exclusive`] (mio's own deregister refuses sources it did not
/// register).
fn deregister_raw(registry: &Registry, socket: &TcpListener) -> io::Result<()> {
    epoll_ctl(registry, nix::libc::EPOLL_CTL_DEL, socket, nix::libc::epoll_event { events: 0, u64: 0 })
}

fn epoll_ctl(registry: &Registry, op: i32, socket: &TcpListener, mut ev: nix::libc::epoll_event) -> io::Result<()> {
    // SAFETY: both descriptors stay open for the call and `ev` is a valid epoll_event; mio reads
    // the token back from `u64` as it does for its own registrations.
    let rc = unsafe { nix::libc::epoll_ctl(registry.as_raw_fd(), op, socket.as_raw_fd(), &mut ev) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Listeners {
    pub fn new(list: Vec<Listener>) -> Self {
        Listeners { list, backlog: Vec::new(), resource_pause: None }
    }

    pub fn register(&mut self, i: usize, registry: &Registry) {
        let l = &mut self.list[i];
        if l.registered {
            return;
        }
        match register_exclusive(registry, &l.socket, crate::tokens::listener(i)) {
            Ok(()) => {
                l.registered = true;
                // Connections that queued up while paused produce no new edge: look now.
                self.backlog.push(i);
            }
            Err(e) => log::error!("cannot register listener {i}: {e}"),
        }
    }

    pub fn pause(&mut self, i: usize, registry: &Registry) {
        let l = &mut self.list[i];
        if l.registered {
            if let Err(e) = deregister_raw(registry, &l.socket) {
                log::error!("cannot pause listener {i}: {e}");
            }
            l.registered = false;
        }
    }

    pub fn any_paused(&self) -> bool {
        self.list.iter().any(|l| !l.registered)
    }

    /// Deregisters and closes this thread's copies (drain).
    pub fn close_all(&mut self, registry: &Registry) {
        for i in 0..self.list.len() {
            self.pause(i, registry);
        }
        self.list.clear();
        self.backlog.clear();
        self.resource_pause = None;
    }
}
