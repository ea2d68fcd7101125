//! The upstream side of a session: which server (assignment, queues, slots), the connection to
//! it (connect, retries, redispatch, reuse of idle connections), whatever protocol runs on it.
//! Its steps report a [`Progress`]; the protocol decides what a failure means (the TCP session
//! ends, an HTTP request gets a 503).

pub(crate) mod connect;
pub mod conns;
mod reuse;

use crate::termination::Termination;
pub use connect::RequestHints;
use conns::ConnRef;
use std::time::Instant;

/// Where the upstream side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No server chosen yet (also between a failed attempt and its redispatch).
    Assigning,
    /// Waiting for a slot in `server`'s queue, or in the backend's queue when `None`.
    Queued {
        server: Option<usize>,
    },
    /// Pausing before the next connect attempt, as HAProxy's turn-around after a refusal.
    TurnAround,
    Connecting,
    Established,
}

/// What an upstream step came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A server connection is established (new or reused).
    Connected,
    /// Queued, connecting, or pausing before a retry: an event, grant or deadline follows.
    Pending,
    /// No server could be reached; `Termination` says why and where.
    Failed(Termination),
}

pub struct Upstream {
    /// The backend of the session (or of its current HTTP request).
    pub backend: Option<usize>,
    /// The server this session is (or was last) assigned to.
    pub target: Option<usize>,
    pub stage: Stage,
    /// A slot on `target` is held (counted against its maxconn).
    pub holds_slot: bool,
    /// The stick table chose the server: no early redispatch.
    pub persistent: bool,
    /// The next assignment is a redispatch away from this server.
    pub redispatch_from: Option<usize>,
    pub redispatched: bool,
    pub retries: u32,
    /// The server connection in use: a key of the thread's [`conns::ServerConns`].
    pub conn: Option<usize>,
    /// `http-reuse never`: the session's own idle connection, kept for its next request.
    pub private: Option<ConnRef>,
    /// What the current HTTP request asks of the assignment and connection (`None`: TCP).
    pub hints: Option<RequestHints>,
    /// When the current attempt left the queues (its first connect attempt).
    pub queue_left: Option<Instant>,
    pub established_at: Option<Instant>,
    /// Connect, queue or turn-around deadline.
    pub stage_deadline: Option<Instant>,
    /// Sessions ahead in the server / backend queue when this one was queued (`%sq/%bq`).
    pub srv_queue_pos: usize,
    pub be_queue_pos: usize,
}

impl Upstream {
    pub fn new(backend: Option<usize>) -> Self {
        Upstream {
            backend,
            target: None,
            stage: Stage::Assigning,
            holds_slot: false,
            persistent: false,
            redispatch_from: None,
            redispatched: false,
            retries: 0,
            conn: None,
            private: None,
            hints: None,
            queue_left: None,
            established_at: None,
            stage_deadline: None,
            srv_queue_pos: 0,
            be_queue_pos: 0,
        }
    }

    /// Forgets the previous request's attempt (an HTTP session's next request).
    pub fn reset_attempt(&mut self) {
        self.retries = 0;
        self.redispatch_from = None;
        self.redispatched = false;
        self.persistent = false;
        self.queue_left = None;
        self.established_at = None;
        self.srv_queue_pos = 0;
        self.be_queue_pos = 0;
    }
}
