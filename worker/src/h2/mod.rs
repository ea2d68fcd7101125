//! HTTP/2 towards clients (RFC 9113, RFC 7541), as HAProxy 2.6's `mux_h2` serves it on a
//! frontend: ALPN `h2` on TLS binds, `proto h2` (prior knowledge) on cleartext ones.
//!
//! This folder is the protocol alone, without I/O, as `vrrpd/src/state.rs` is for VRRP: bytes
//! in, bytes out, and events per stream.
//!
//! - `frame.rs`: the frame codec (§4, §6);
//! - `settings.rs`: SETTINGS, the client's and ours (`tune.h2.*`);
//! - `flow.rs`: connection and stream windows (§5.2, §6.9);
//! - `stream.rs`: the states of one stream (§5.1);
//! - `hpack.rs`: field blocks (decoding via `loona-hpack`, encoding with the static table);
//! - `head.rs`: request heads and trailers as §8.1–§8.3 require them;
//! - `limits.rs`: the flood guards (rapid reset, CONTINUATION, HPACK bomb, SETTINGS, PING,
//!   empty frames, unread control frames);
//! - `conn.rs`: the connection machine that ties them together;
//! - `h1_request.rs`, `h1_response.rs`: a stream's request as HTTP/1.1 bytes for the existing
//!   parser and L7 machinery, and a server's response head as HTTP/2 fields.
//!
//! Where this departs from HAProxy 2.6 on purpose: no server push, no extended CONNECT
//! (`:protocol`), no dynamic table in the responses (HAProxy has none either), and the flood
//! guards of later HAProxy versions (2.9's glitch counter, the rapid-reset bound) are present.
//!
//! Not yet done: the driver that puts a [`conn::Connection`] on a client socket and maps each
//! stream onto an HTTP/1.1 transaction of `session/http` (issue #21, step 3). Until it exists,
//! `proto: h2` is refused by `hakeeper check` and `alpn` does not offer `h2`, so every bind
//! behaves as before. The intended shape, after `DESIGN.md`'s worker layering ("`Proto::{Tcp,
//! Http}` (later `Http2` streams over one client side)"):
//!
//! - `Proto::Http2` beside `Proto::Tcp` and `Proto::Http` owns the client side (socket or TLS
//!   through `transport::Endpoint`) and one `Connection`, and a table stream id → stream
//!   transaction, bounded by `tune.h2.max-concurrent-streams`;
//! - a stream transaction is today's `session::http::Exchange` without its client socket: its
//!   `cin` is fed the HTTP/1.1 bytes of `h1_request.rs` (head, then DATA as they come, chunked
//!   if the length is unknown), so `http::head::parse_request`, routing, ACLs, header rules,
//!   cookies, forwardfor, stick tables and httplog run unchanged per stream; its `to_client`
//!   bytes are read back with `parse_response` and the existing body framing, and go out with
//!   `h1_response.rs` + `send_headers` / `send_data` (flow control) / `send_trailers`;
//! - each stream has its own upstream side (assignment, queue, retries) and takes server
//!   connections from the shared idle pools; the connection table's owner
//!   (`upstream::conns`, `Busy { session }`) grows a stream id so a server event reaches its
//!   stream;
//! - `release` is called as the server takes the request body, so a slow server slows the
//!   client through its windows instead of growing buffers; `check_stall` runs with
//!   `timeout client`; a reload or stop calls `goaway` and the session ends when `is_done`;
//! - `FloodCounts` are added to the frontend's counters (stats) when a connection ends.

pub mod conn;
pub mod error;
pub mod flow;
pub mod frame;
#[doc(hidden)]
pub mod fuzz;
pub mod h1_request;
pub mod h1_response;
pub mod head;
pub mod hpack;
pub mod limits;
pub mod settings;
pub mod stream;

#[cfg(test)]
mod conn_tests;
