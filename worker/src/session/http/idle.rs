//! Idle server connections kept open between HTTP requests (server-side keep-alive), per
//! event-loop thread and per server. A request that is assigned a server takes one of its idle
//! connections instead of connecting, when one is still open.

use mio::net::TcpStream;
use std::io;
use std::time::{Duration, Instant};

/// How long an idle connection is kept (HAProxy's `pool-purge-delay`).
const IDLE_KEEP: Duration = Duration::from_secs(5);
/// Most idle connections a thread keeps; the oldest goes first.
const MAX_IDLE: usize = 256;

struct Idle {
    backend: usize,
    server: usize,
    stream: TcpStream,
    since: Instant,
}

#[derive(Default)]
pub struct IdleServers {
    conns: Vec<Idle>,
}

/// A session's own idle server connection (see `HttpState::parked`).
pub struct Parked {
    pub backend: usize,
    pub server: usize,
    pub stream: TcpStream,
    pub since: Instant,
}

impl Parked {
    /// Usable for `server` of `backend`: the same server, not idle too long, and still open.
    /// `quiet`: no event arrived for it since it was parked (it stayed registered, so a FIN or
    /// stray bytes would have raised one); then it is known open without a peek syscall.
    pub fn usable_for(&self, backend: usize, server: usize, now: Instant, quiet: bool) -> bool {
        self.backend == backend && self.server == server && self.still_usable(now, quiet)
    }

    /// Not idle too long, and still open (see [`Self::usable_for`]).
    pub fn still_usable(&self, now: Instant, quiet: bool) -> bool {
        now.saturating_duration_since(self.since) < IDLE_KEEP && (quiet || still_open(&self.stream))
    }
}

/// Whether an idle connection is still usable: open, and with nothing unsolicited to read.
pub fn still_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

impl IdleServers {
    fn purge(&mut self, now: Instant) {
        self.conns.retain(|c| now.saturating_duration_since(c.since) < IDLE_KEEP);
    }

    /// Keeps `stream` (already deregistered) for a later request to the same server.
    pub fn put(&mut self, backend: usize, server: usize, stream: TcpStream, now: Instant) {
        self.purge(now);
        if self.conns.len() >= MAX_IDLE {
            self.conns.remove(0);
        }
        self.conns.push(Idle { backend, server, stream, since: now });
    }

    /// The most recently used open connection to `server`, if any.
    pub fn take(&mut self, backend: usize, server: usize, now: Instant) -> Option<TcpStream> {
        self.purge(now);
        while let Some(i) = self.conns.iter().rposition(|c| c.backend == backend && c.server == server) {
            let c = self.conns.remove(i);
            if still_open(&c.stream) {
                return Some(c.stream);
            }
        }
        None
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_connections_are_reused_and_closed_ones_dropped() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let a = TcpStream::connect(addr).unwrap();
        let (peer_a, _) = listener.accept().unwrap();
        let b = TcpStream::connect(addr).unwrap();
        let (peer_b, _) = listener.accept().unwrap();
        let now = Instant::now();
        let mut idle = IdleServers::default();
        idle.put(0, 1, a, now);
        idle.put(0, 1, b, now);
        drop(peer_b);
        std::thread::sleep(Duration::from_millis(50));
        // b (newest) is closed by its peer: skipped; a is still open.
        let got = idle.take(0, 1, now).unwrap();
        assert_eq!(got.peer_addr().unwrap(), addr);
        assert_eq!(idle.len(), 0);
        assert!(idle.take(0, 1, now).is_none());
        idle.put(0, 1, got, now);
        assert!(idle.take(0, 2, now).is_none(), "another server's connection");
        assert!(idle.take(0, 1, now + IDLE_KEEP).is_none(), "expired");
        drop(peer_a);
    }
}
