//! Supervisor ↔ child channels: framing with descriptor passing, and the message types.

pub mod frame;
pub mod messages;

pub use frame::{send, FrameReader, IpcError, ReadOutcome};
pub use messages::*;

/// The descriptor number at which a child finds its end of the socketpair.
pub const CHILD_CHANNEL_FD: i32 = 3;
