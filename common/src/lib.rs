//! Types shared by every hakeeper process: the config and the messages they exchange.

pub mod config;
pub mod ctl;
pub mod duration;
pub mod import;
pub mod ipc;
pub mod logging;
pub mod proxy_protocol;
