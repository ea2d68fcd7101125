//! The worker's control plane, on event-loop thread 0: operator actions on servers from the
//! stats page ([`crate::admin`]'s queue) and from `hakeeper ctl` are applied to the backends'
//! balancing state and logged ([`events`] holds the wording), and `ToWorker::Ctl` requests are
//! answered from the live state, rendered by [`crate::stats`]. Nothing here writes to the
//! supervisor channel: the functions return the messages to report and [`crate::control`] or the
//! event loop sends them.

mod apply;
mod ctl;
pub mod events;
mod page;

pub use apply::apply;
pub use ctl::answer;
pub use page::{start_page, turn};
