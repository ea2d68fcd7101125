//! The stats page, served from the worker: HTML, HAProxy's CSV (`;csv`), JSON (`;json`) and
//! Prometheus text (`/metrics`) behind Basic auth, the admin form, this host's VRRP instances;
//! and the tables `hakeeper ctl` shows ([`ctl_view`]). A renderer: it reads the counters and
//! [`crate::status`], and changes nothing itself.
//!
//! Threads: the page is served from one thread of its own ([`spawn_stats_thread`], `front`),
//! over HTTP/1.1 or HTTP/2 (`front_h2`: `proto: h2`, or ALPN `h2`), held to a frontend's
//! `maxconn` and timeouts; the admin form's actions are submitted to
//! [`crate::admin`]'s queue, which wakes event-loop thread 0, where [`crate::runtime`] applies
//! them and reports them to the supervisor.

mod auth;
mod csv;
pub mod ctl_view;
mod form;
mod front;
mod front_h2;
#[cfg(test)]
mod front_tests;
#[doc(hidden)]
pub mod fuzz;
mod html;
mod html_h2;
mod html_lvs;
mod html_stick;
mod json;
mod prometheus;
mod request;
mod response;
mod route;
mod server;
mod snapshot;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use server::{spawn_stats_thread, StatsError, StatsThread, StatsView};
pub use snapshot::Snapshot;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
