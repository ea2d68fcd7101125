//! The upstream side of a session: which server (assignment, queues, slots), the connection to
//! it (connect, retries, redispatch, reuse of idle connections), whatever protocol runs on it.
//! Its steps report a [`Progress`]; the protocol decides what a failure means (the TCP session
//! ends, an HTTP request gets a 503).

pub(crate) mod connect;
pub mod conns;
mod endpoint;
mod reuse;
mod send_proxy;
pub mod tls;

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

/// The upstream side of a session: its backend, its private idle connection (`http-reuse
/// never`), and the current attempt to reach a server. An HTTP session between requests holds no
/// attempt; `Upstream` dereferences to it (an empty one while there is none; writing through it
/// starts one).
pub struct Upstream {
    /// The backend of the session (or of its current HTTP request).
    pub backend: Option<usize>,
    /// `http-reuse never`: the session's own idle connection, kept for its next request.
    pub private: Option<ConnRef>,
    attempt: Option<Box<Attempt>>,
}

/// One attempt to get a server for the session (TCP) or for a request (HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The server this attempt is (or was last) assigned to.
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
    /// What the current HTTP request asks of the assignment and connection (`None`: TCP).
    pub hints: Option<RequestHints>,
    /// The request headers a server's `sni req.hdr(NAME)` may name (name, last value).
    pub sni_headers: Vec<(String, String)>,
    /// When the attempt left the queues (its first connect).
    pub queue_left: Option<Instant>,
    pub established_at: Option<Instant>,
    /// Connect, queue or turn-around deadline.
    pub stage_deadline: Option<Instant>,
    /// Sessions ahead in the server / backend queue when this one was queued (`%sq/%bq`).
    pub srv_queue_pos: usize,
    pub be_queue_pos: usize,
}

impl Attempt {
    const NEW: Attempt = Attempt {
        target: None,
        stage: Stage::Assigning,
        holds_slot: false,
        persistent: false,
        redispatch_from: None,
        redispatched: false,
        retries: 0,
        conn: None,
        hints: None,
        sni_headers: Vec::new(),
        queue_left: None,
        established_at: None,
        stage_deadline: None,
        srv_queue_pos: 0,
        be_queue_pos: 0,
    };
}

/// What a session without an attempt reads through [`Upstream`]'s dereference.
static NO_ATTEMPT: Attempt = Attempt::NEW;

impl std::ops::Deref for Upstream {
    type Target = Attempt;
    #[inline]
    fn deref(&self) -> &Attempt {
        self.attempt.as_deref().unwrap_or(&NO_ATTEMPT)
    }
}

impl std::ops::DerefMut for Upstream {
    #[inline]
    fn deref_mut(&mut self) -> &mut Attempt {
        self.attempt.get_or_insert_with(|| match SPARE.with(|s| s.borrow_mut().pop()) {
            Some(mut a) => {
                *a = Attempt::NEW;
                a
            }
            None => Box::new(Attempt::NEW),
        })
    }
}

/// Attempts kept for reuse per event-loop thread; more are freed.
const SPARE_KEEP: usize = 64;

thread_local! {
    // Boxes, not values: a recycled one moves back into a session without a copy.
    /// Attempts of this thread's finished requests, recycled instead of freed and allocated
    /// again for every request.
    #[allow(clippy::vec_box)]
    static SPARE: std::cell::RefCell<Vec<Box<Attempt>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Upstream {
    pub fn new(backend: Option<usize>) -> Self {
        Upstream { backend, private: None, attempt: None }
    }

    /// Forgets the previous request's attempt (an HTTP session's next request).
    pub fn reset_attempt(&mut self) {
        let a = &mut **self;
        let keep = (a.target, a.stage, a.holds_slot, a.conn, a.stage_deadline);
        *a = Attempt::NEW;
        (a.target, a.stage, a.holds_slot, a.conn, a.stage_deadline) = keep;
    }

    /// Drops the attempt of an HTTP session now idle between requests: nothing is queued, held
    /// or connected any more.
    pub fn end_attempt(&mut self) {
        if self.attempt.as_deref().is_some_and(|a| a.conn.is_none() && !a.holds_slot && !matches!(a.stage, Stage::Queued { .. })) {
            if let Some(a) = self.attempt.take() {
                SPARE.with(|s| {
                    let mut spare = s.borrow_mut();
                    if spare.len() < SPARE_KEEP {
                        spare.push(a);
                    }
                });
            }
        }
    }
}
