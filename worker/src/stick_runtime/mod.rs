//! The stick tables at run time, above the shared state that holds them ([`crate::stick`] keeps
//! only the tables themselves): tracking by `track-sc` and the `sc_*`/`src_*` fetches
//! ([`track`]), `hakeeper ctl show|clear|set table` ([`ctl`]), the hand-over to the next worker
//! ([`handover`]), sharing with peers ([`peer_tables`]), `stick on src` in mode tcp ([`src_rules`]) and `/metrics`
//! ([`metrics`]).

pub mod ctl;
pub mod handover;
pub mod metrics;
pub mod peer_tables;
pub mod pins;
pub mod src_rules;
pub mod track;
