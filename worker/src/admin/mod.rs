//! Operator actions on servers (READY, DRAIN, MAINT, weight) as the stats page's form and
//! `hakeeper ctl` ask for them, and the queue that carries the page's requests to event-loop
//! thread 0, where [`crate::runtime`] applies them. A leaf: the page submits here without
//! knowing who applies, and the runtime applies without knowing who asked.

mod action;
mod queue;

pub use action::{describe, resolve, AdminAction, AdminCommand, AdminOutcome};
pub use queue::{AdminLink, AdminQueue};
