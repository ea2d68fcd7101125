//! HAProxy's peers protocol (v2.1, as HAProxy 2.6 speaks it): the wire codec and a sans-I/O
//! session, so that stick tables are shared between hakeeper hosts, and with HAProxy 2.6
//! hosts during a migration.
//!
//! - [`varint`]: HAProxy's variable-length integers;
//! - [`handshake`]: hello lines and status codes;
//! - [`message`]: framing, control, error and stick-table messages;
//! - [`key`], [`data`], [`dict`]: keys, data types by HAProxy id, the server-key dictionary;
//! - [`session`]: one connection's state machine (`on(Input, now, tables) -> Vec<Output>`).
//! - [`node`]: the peers-section level: (re)connect timing and which peer teaches a resync.
//!
//! Byte layouts follow `doc/peers-v2.0.txt` and HAProxy 2.6's `src/peers.c`, where the code
//! departs from that 2016 document (version 2.1, heartbeats, timed updates, parameters in
//! definitions, dictionary entries).

pub mod data;
pub mod dict;
pub mod error;
pub mod handshake;
pub mod key;
pub mod message;
pub mod node;
pub mod session;
pub mod varint;

pub use data::{DataType, FreqCounter, StoredType, TypedValues, Value};
pub use error::DecodeError;
pub use key::{Key, KeyType};
pub use message::{Message, TableDefinition, Update};
