//! The peers transport: the sockets of one `peers` section, in a thread of its own with a mio
//! loop, driving one sans-I/O [`Session`](hakeeper_common::peers::session::Session) per
//! connection and the section's [`Node`](hakeeper_common::peers::node::Node) (HAProxy 2.6's
//! peer applet and sync task, `src/peers.c`).
//!
//! The stick tables stay the tables' own: the transport reads them through [`SharedTables`]
//! (the latest local update id, entries after an id) and hands them what peers teach
//! ([`SharedTables::apply_remote`]). Whoever changes a table locally calls
//! [`PeersHandle::local_updates`] so that the change is pushed.
//!
//! Peers traffic goes only to the configured addresses: connections are opened to the remote
//! peers' addresses only, and an incoming connection from an address that is no configured
//! peer's is closed before it is read (counted in `refused`) — stricter than HAProxy, which
//! relies on the hello's names alone. A peer that sends garbage gets HAProxy's error answer,
//! is disconnected and counted (`proto_err`); nothing it sends can stop the loop.

pub mod metrics;
mod transport;

pub use transport::{spawn, PeersHandle};

use hakeeper_common::config::PeersSection;
use hakeeper_common::peers::session::{LocalTable, TableView};
use hakeeper_common::peers::{Key, TypedValues};
use std::sync::atomic::{AtomicU64, Ordering};

/// What the transport needs from the stick tables (indexes follow [`PeersConfig::tables`]).
pub trait SharedTables: TableView + Send {
    /// An entry a peer sent: store the values of the types the table keeps; `expire_ms` `None`
    /// means the table's own expiry.
    fn apply_remote(&mut self, table: usize, key: Key, expire_ms: Option<u32>, values: Vec<TypedValues>);
}

/// One peers section as this host takes part in it.
#[derive(Debug, Clone)]
pub struct PeersConfig {
    pub section: PeersSection,
    /// The tables shared through this section.
    pub tables: Vec<LocalTable>,
}

/// Counters of the section, readable while it runs (HAProxy's `show peers` has the same).
#[derive(Debug, Default)]
pub struct PeersCounters {
    /// Sessions that completed the handshake, both directions.
    pub established: AtomicU64,
    /// Sessions closed for garbage or a refused hello.
    pub proto_err: AtomicU64,
    /// Incoming connections from addresses of no configured peer.
    pub refused: AtomicU64,
    /// Entries learned from peers (updates received).
    pub learned: AtomicU64,
    /// Sessions established now (a gauge).
    pub connected: AtomicU64,
    /// Established sessions that ended (closed by either side, timed out, or replaced).
    pub disconnects: AtomicU64,
    /// Updates sent to peers.
    pub pushed: AtomicU64,
    /// Per remote peer (in the section's order): a session is established now.
    pub remote_up: Vec<std::sync::atomic::AtomicBool>,
}

impl PeersCounters {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}
