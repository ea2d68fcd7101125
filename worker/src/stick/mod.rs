//! Stick tables. [`persist`] is the backend's `stick on src` memory (client → server) that
//! predates the general tables; [`Table`] is HAProxy's general `stick-table` with its stored
//! counters and rates ([`table`]), their frequency counters ([`freq`]), and its entries as
//! updates to pass on or apply ([`sync`]).

pub mod freq;
pub mod persist;
pub mod sync;
pub mod table;

pub use persist::StickTable;
pub use table::Table;

/// The tables' clock: wrapping milliseconds, as HAProxy's `now_ms`.
pub fn now_ms() -> u32 {
    crate::freq::clock().as_millis() as u32
}
