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
//! The driver that puts a [`conn::Connection`] on a client socket and runs each stream as an
//! HTTP/1.1 transaction of `session/http` is `session/h2` (see its module doc): `proto: h2`
//! binds and `h2` negotiated by ALPN take it. The stats page serves its own HTTP/2 streams
//! with this layer too (`stats/front_h2.rs`). What the flood guards of a frontend's
//! connections did ([`conn::Connection::floods`], added up in `counters::H2Floods`) is on
//! the stats page (`hakeeper_h2_floods_total` in `/metrics`, a section of the HTML page).

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
