//! TLS termination on the client side (rustls, driven by the event loop: no thread and no
//! blocking call per connection).
//!
//! - [`contexts`] builds one rustls `ServerConfig` per TLS bind from the material the
//!   supervisor loaded, with one session cache and one ticket key rotation for the worker;
//! - [`sni`] picks the certificate for the ClientHello's server name (HAProxy's
//!   `ssl_sock_switchctx_cbk()`: exact name, then wildcard, then the bind's default);
//! - [`conn`] is a session's TLS connection: the handshake and the plaintext
//!   [`crate::transport::Endpoint`] the protocols read and write through.

pub mod conn;
pub mod contexts;
pub mod facts;
pub mod sni;
mod spare;
pub mod stream;

pub use conn::{TlsConn, TlsEnd};
pub use contexts::{Contexts, TlsError};
pub use facts::TlsFacts;
