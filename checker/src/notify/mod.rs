//! VRRP notify scripts, which the supervisor forwards from vrrpd: the command line as keepalived
//! prepares it ([`notify_command`]) and the per-instance queues they run in ([`notify_lanes`]).

pub mod notify_command;
pub mod notify_lanes;
