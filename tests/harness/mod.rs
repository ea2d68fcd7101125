//! Shared helpers for the end-to-end tests: start the real binary, real loopback backends and
//! clients, and clean up by PID whatever a test started.
#![allow(dead_code)]

pub mod backends;
pub mod cdp;
pub mod differential;
pub mod differential_backends;
pub mod differential_client;
pub mod differential_compare;
pub mod differential_haproxy;
pub mod differential_script;
pub mod ha;
pub mod hostile_backend;
pub mod http_backend;
pub mod mariadb;
pub mod netns;
pub mod peers;
pub mod pki;
pub mod process;
pub mod relay;
pub mod stats;
pub mod tls_backend;
pub mod tls_certs;
