//! Supervisor ↔ child channels: framing with descriptor passing, and the message types.

pub mod frame;
pub mod ids;
pub mod messages;

pub use frame::{encode_frame, send, write_some, FrameReader, IpcError, ReadOutcome};
pub use ids::{InstanceId, ScriptId, ServerName};
pub use messages::*;

/// The descriptor number at which a child finds its end of the socketpair.
pub const CHILD_CHANNEL_FD: i32 = 3;

/// The descriptor from which a child reads its start-up spec (a pipe the supervisor filled and
/// closed), so that the spec is not on its command line for every local user to read.
pub const CHILD_SPEC_FD: i32 = 4;

/// A child's `argv[0]`, which is also how the binary knows it was started as that child:
/// `hakeeper: worker` in `ps`, as nginx's `nginx: worker process`.
pub const CHILD_TITLE_PREFIX: &str = "hakeeper: ";
