//! keepalived's `vrrp_script` checks ([`script_check`], [`script_counter`]) and what every
//! script run shares, check or notify: its process group ([`script_process`]), its user
//! ([`run_as`]) and `enable_script_security` ([`security`]).

pub mod run_as;
pub mod script_check;
pub mod script_counter;
pub mod script_process;
pub mod security;
