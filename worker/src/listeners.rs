//! One thread's copies of the listening sockets. Every thread registers its own duplicate of each
//! socket with its own poll and accepts from it. A listener is deregistered ("paused") while its
//! frontend or the process is at maxconn: further clients wait in the kernel backlog instead of
//! waking the loop over and over.

use mio::net::TcpListener;
use mio::{Interest, Registry, Token};
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

pub const LISTENER_BASE: usize = 2;

pub fn listener_token(i: usize) -> Token {
    Token(LISTENER_BASE + i)
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
        match registry.register(&mut l.socket, listener_token(i), Interest::READABLE) {
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
            if let Err(e) = registry.deregister(&mut l.socket) {
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
