//! The peers-section level of HAProxy 2.6's `process_peer_sync()` (`__process_running_peer_sync`),
//! with no I/O: when to (re)connect to each remote peer, and which connected peer to ask for a
//! full resync when this host starts with empty tables. The transport owns the sockets and one
//! [`super::session::Session`] per connection, tells the node what happened and carries out
//! its actions.
//!
//! - A peer with no session is connected at once, then again each 5 s while connecting fails
//!   (`PEER_RECONNECT_TIMEOUT`); after a dropped session (dead peer, collision) the next try
//!   comes 50..2050 ms later, randomised so that two hosts do not collide again.
//! - A peer that answered 502 is retried as a version 2.0 peer (`PEER_F_DWNGRD`).
//! - Resync: the first established peer not known to be behind is asked for a full resync; a
//!   "partial" answer marks that peer as behind and another is asked after 5 s; with no peer
//!   able to teach within 5 s (`PEER_RESYNC_TIMEOUT`), or no remote peer at all, this host
//!   considers itself up to date. Until then, a lesson this host teaches ends with "partial".
//!
//! Departure on purpose: HAProxy first waits for its old process (a reload) to teach it; a
//! hakeeper worker's tables are handed over by the transport's owner, so the node starts at the
//! remote stage.

use super::handshake::Status;
use super::session::CloseReason;
use std::time::{Duration, Instant};

pub const RECONNECT: Duration = Duration::from_millis(5000);
pub const RESYNC_TIMEOUT: Duration = Duration::from_millis(5000);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session with remote peer `peer` (an index into the node's peers) completed its
    /// handshake, in either direction.
    Established { peer: usize },
    /// The resync this node requested from `peer` ended.
    ResyncFinished { peer: usize, partial: bool },
    /// The session with `peer` (or the connection attempt) ended, for `reason` (`None`: the
    /// connection failed before any session). `random`: any number, for the retry delay.
    Closed { peer: usize, reason: Option<CloseReason>, random: u32 },
    /// A deadline may have passed.
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open a connection to `peer`, announcing protocol minor version `minor`.
    Connect { peer: usize, minor: u32 },
    /// Ask the established session with `peer` for a full resync.
    RequestResync { peer: usize },
}

#[derive(Debug, Clone)]
struct Remote {
    has_session: bool,
    established: bool,
    reconnect_at: Instant,
    behind: bool,
    minor: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resync {
    FromRemote,
    Finished,
}

#[derive(Debug, Clone)]
pub struct Node {
    remotes: Vec<Remote>,
    resync: Resync,
    resync_deadline: Instant,
    assigned: Option<usize>,
}

impl Node {
    pub fn new(remote_peers: usize, now: Instant) -> Node {
        let remote = Remote { has_session: false, established: false, reconnect_at: now, behind: false, minor: super::handshake::MINOR };
        Node {
            remotes: vec![remote; remote_peers],
            resync: if remote_peers == 0 { Resync::Finished } else { Resync::FromRemote },
            resync_deadline: now + RESYNC_TIMEOUT,
            assigned: None,
        }
    }

    /// Whether this host's tables are complete (a lesson it teaches ends "finished").
    pub fn up_to_date(&self) -> bool {
        self.resync == Resync::Finished
    }

    /// Whether a session with `peer` exists (an accepted one replaces it, see
    /// [`Node::replaced`]).
    pub fn has_session(&self, peer: usize) -> bool {
        self.remotes.get(peer).is_some_and(|r| r.has_session)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let reconnect = self.remotes.iter().filter(|r| !r.has_session).map(|r| r.reconnect_at).min();
        let resync = (self.resync == Resync::FromRemote && self.assigned.is_none()).then_some(self.resync_deadline);
        [reconnect, resync].into_iter().flatten().min()
    }

    /// A session was accepted from `peer` while another one existed: the old one is closed by
    /// the transport; the next outgoing try waits a random 50..2050 ms (`random` is any number).
    pub fn replaced(&mut self, peer: usize, now: Instant, random: u32) {
        if let Some(r) = self.remotes.get_mut(peer) {
            r.reconnect_at = now + Duration::from_millis(50 + u64::from(random % 2000));
        }
        if self.assigned == Some(peer) {
            self.unassign(now);
        }
    }

    /// A session we accepted from `peer` exists now (before its `Established`).
    pub fn accepted(&mut self, peer: usize) {
        if let Some(r) = self.remotes.get_mut(peer) {
            r.has_session = true;
        }
    }

    /// Why the last session with `peer` ended, for the next connection's timing and version.
    fn closed_because(&mut self, peer: usize, reason: &CloseReason, now: Instant, random: u32) {
        let Some(r) = self.remotes.get_mut(peer) else { return };
        match reason {
            CloseReason::RefusedByPeer(Status::ErrVersion) => r.minor = 0,
            // A session that was up and died: retry soon (HAProxy's random delay).
            CloseReason::Timeout | CloseReason::PeerClosed | CloseReason::Garbage(_) if r.established => {
                r.reconnect_at = now + Duration::from_millis(50 + u64::from(random % 2000));
            }
            _ => {}
        }
    }

    fn unassign(&mut self, now: Instant) {
        self.assigned = None;
        self.resync_deadline = now + RESYNC_TIMEOUT;
    }

    pub fn on(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match event {
            Event::Established { peer } => {
                if let Some(r) = self.remotes.get_mut(peer) {
                    r.has_session = true;
                    r.established = true;
                }
            }
            Event::ResyncFinished { peer, partial } => {
                if self.assigned == Some(peer) {
                    self.assigned = None;
                    if partial {
                        if let Some(r) = self.remotes.get_mut(peer) {
                            r.behind = true;
                        }
                        self.resync_deadline = now + RESYNC_TIMEOUT;
                    } else {
                        self.resync = Resync::Finished;
                    }
                }
            }
            Event::Closed { peer, reason, random } => {
                if let Some(reason) = &reason {
                    self.closed_because(peer, reason, now, random);
                }
                if let Some(r) = self.remotes.get_mut(peer) {
                    r.has_session = false;
                    r.established = false;
                }
                if self.assigned == Some(peer) {
                    self.unassign(now);
                }
            }
            Event::Tick => {}
        }
        self.actions(now)
    }

    fn actions(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.resync == Resync::FromRemote && self.assigned.is_none() {
            if let Some(peer) = self.remotes.iter().position(|r| r.established && !r.behind) {
                self.assigned = Some(peer);
                out.push(Action::RequestResync { peer });
            } else if now >= self.resync_deadline {
                self.resync = Resync::Finished;
            }
        }
        for (peer, r) in self.remotes.iter_mut().enumerate() {
            if !r.has_session && now >= r.reconnect_at {
                r.has_session = true;
                r.reconnect_at = now + RECONNECT;
                out.push(Action::Connect { peer, minor: r.minor });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connects_at_once_then_every_5_s_while_failing() {
        let t0 = Instant::now();
        let mut n = Node::new(2, t0);
        assert_eq!(n.on(Event::Tick, t0), vec![Action::Connect { peer: 0, minor: 1 }, Action::Connect { peer: 1, minor: 1 }]);
        assert_eq!(n.on(Event::Closed { peer: 0, reason: None, random: 0 }, t0 + Duration::from_millis(10)), vec![]);
        assert_eq!(n.next_deadline(), Some(t0 + RECONNECT));
        assert_eq!(n.on(Event::Tick, t0 + RECONNECT), vec![Action::Connect { peer: 0, minor: 1 }]);
    }

    #[test]
    fn dropped_session_retries_after_a_random_short_delay_and_502_downgrades() {
        let t0 = Instant::now();
        let mut n = Node::new(1, t0);
        n.on(Event::Tick, t0);
        n.on(Event::Established { peer: 0 }, t0);
        let t1 = t0 + Duration::from_secs(20);
        n.on(Event::Closed { peer: 0, reason: Some(CloseReason::Timeout), random: 450 }, t1);
        assert_eq!(n.on(Event::Tick, t1 + Duration::from_millis(499)), vec![]);
        assert_eq!(n.on(Event::Tick, t1 + Duration::from_millis(500)), vec![Action::Connect { peer: 0, minor: 1 }]);
        n.on(
            Event::Closed { peer: 0, reason: Some(CloseReason::RefusedByPeer(Status::ErrVersion)), random: 0 },
            t1 + Duration::from_secs(1),
        );
        assert_eq!(n.on(Event::Tick, t1 + Duration::from_secs(6)), vec![Action::Connect { peer: 0, minor: 0 }]);
    }

    #[test]
    fn resync_asks_one_peer_and_moves_on_after_partial() {
        let t0 = Instant::now();
        let mut n = Node::new(2, t0);
        n.on(Event::Tick, t0);
        assert_eq!(n.on(Event::Established { peer: 1 }, t0), vec![Action::RequestResync { peer: 1 }]);
        assert_eq!(n.on(Event::Established { peer: 0 }, t0), vec![], "only one lesson at a time");
        assert!(!n.up_to_date());
        // Peer 1 was behind itself: peer 0 is asked.
        assert_eq!(n.on(Event::ResyncFinished { peer: 1, partial: true }, t0), vec![Action::RequestResync { peer: 0 }]);
        n.on(Event::ResyncFinished { peer: 0, partial: false }, t0);
        assert!(n.up_to_date());
    }

    #[test]
    fn no_teacher_within_5_s_means_up_to_date() {
        let t0 = Instant::now();
        let mut n = Node::new(1, t0);
        n.on(Event::Tick, t0);
        n.on(Event::Tick, t0 + Duration::from_secs(4));
        assert!(!n.up_to_date());
        n.on(Event::Tick, t0 + RESYNC_TIMEOUT);
        assert!(n.up_to_date());
        assert!(Node::new(0, t0).up_to_date());
    }

    #[test]
    fn lost_teacher_is_replaced() {
        let t0 = Instant::now();
        let mut n = Node::new(2, t0);
        n.on(Event::Tick, t0);
        n.on(Event::Established { peer: 0 }, t0);
        n.on(Event::Established { peer: 1 }, t0);
        assert_eq!(
            n.on(Event::Closed { peer: 0, reason: Some(CloseReason::PeerClosed), random: 0 }, t0),
            vec![Action::RequestResync { peer: 1 }]
        );
    }
}
