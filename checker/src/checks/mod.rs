//! Server health checks: what a check is ([`server_check`]), the network probes (TCP connect,
//! `option httpchk`, `option mysql-check`, over TLS with `check-ssl`), checks by command
//! ([`server_script`]), HAProxy's health counter and check statuses, and the log lines of a
//! server's state change ([`report`]).

pub mod health_counter;
pub mod http;
pub mod mysql;
pub mod probe;
pub mod probe_tls;
pub mod report;
pub mod server_check;
pub mod server_script;
pub mod status;
