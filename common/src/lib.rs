//! Types shared by every hakeeper process: the config and the messages they exchange (and the
//! reader of the config reference's Markdown, which the man page and the reference test share).

pub mod config;
pub mod ctl;
pub mod ctl_table;
pub mod duration;
pub mod import;
pub mod ipc;
pub mod logging;
pub mod markdown;
pub mod peers;
pub mod proxy_protocol;
pub mod stick_data;
pub mod tls;
pub mod tls_client;
