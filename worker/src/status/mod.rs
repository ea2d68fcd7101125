//! What the worker knows beyond its traffic counters, written by event-loop thread 0 (from the
//! supervisor's messages and each turn's scan) and read by the stats page and `hakeeper ctl`:
//! this host's VRRP instances and LVS services, the process summary, the checker's last
//! verdicts, and the history of state changes. A leaf: it holds data and renders nothing.

mod hub;
mod tracker;

pub use hub::{CheckInfo, StatsHub};
