//! The helpers every test crate of the workspace shares, in one place instead of copies that
//! drift (issue #15): loopback ports for a test's listeners and for refused connections
//! ([`free_port`], [`refused_port`]), the rule that a test which cannot run fails under
//! `CI=true` instead of skipping ([`in_ci`], [`require_root`]), and bounded waits
//! ([`wait_until`]). The end-to-end harness (`tests/harness`) and each crate's `tests/support`
//! build on it.

mod ci;
mod ports;
mod wait;

pub use ci::{in_ci, is_root, require_root};
pub use ports::{free_port, refused_port};
pub use wait::wait_until;
