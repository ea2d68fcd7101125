//! The PROXY protocol (HAProxy's doc/proxy-protocol.txt), versions 1 (text) and 2 (binary):
//! [`parse`] reads the header a client in front of an `accept-proxy` bind sends first, as
//! HAProxy 2.6's `conn_recv_proxy()` does; [`write`] makes the header a server with
//! `send-proxy` / `send-proxy-v2` gets first, as `make_proxy_line()` does.
//!
//! Shared by the worker (traffic) and the checker (`check-send-proxy`).

mod crc32c;
pub mod parse;
pub mod tlv;
pub mod write;

pub use parse::{parse, Parsed, ProxyError};
pub use tlv::{ClientTls, V2Options};
pub use write::{v1, v2, v2_local, Version};

/// The 12 bytes that start every version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The largest header read at once: HAProxy peeks one buffer (`tune.bufsize`, 16384 bytes), so
/// a longer header can never complete there.
pub const MAX_HEADER: usize = 16384;
