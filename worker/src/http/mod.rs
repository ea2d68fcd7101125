//! The HTTP/1.1 layer of the proxy: pure functions and small state machines over byte buffers,
//! driven by the session state machine, which owns the sockets and the buffers. Nothing here
//! does I/O, reads a clock or allocates per byte.
//!
//! # Driving a transaction (for the event loop)
//!
//! The config's L7 settings are `Config::http.frontends[i]` / `.backends[j]`
//! ([`FrontendHttp`](hakeeper_common::config::FrontendHttp),
//! [`BackendHttp`](hakeeper_common::config::BackendHttp)), indexed like `frontends` /
//! `backends`; the worker's start message must carry them.
//!
//! 1. **Request head.** After each read on the client socket, call
//!    [`head::parse_request`]`(&buf[..filled])`:
//!    - `Ok(None)`: incomplete; keep reading. `timeout http-request` runs from the first byte;
//!      when it fires, send [`txn::request_timeout`] (408, `cR--`) and close.
//!    - `Err(e)`: send [`txn::bad_request`]`(&e, ..)` (400, or 431 when the head is over
//!      16 KiB), count a request error, close. Nothing reaches a server.
//!    - `Ok(Some(head))`: the head is owned; `head.head_len` bytes of the buffer are consumed.
//! 2. **Routing.** [`txn::route_request`] runs the frontend's `http-request` rules and picks
//!    the backend (`use_backend`, `default_backend`), or returns a [`txn::Reply`] (deny,
//!    redirect, 503) to send; `Reply::close` says whether the client connection closes after.
//! 3. **Backend.** [`txn::prepare_for_backend`] (with one
//!    [`cookie::CookieServer`] per server: its cookie value and whether it is UP) runs the
//!    backend's rules, adds X-Forwarded-For, reads the persistence cookie and rewrites
//!    `Connection`. It returns a [`txn::Txn`]: `persist_to` = the server to use without
//!    balancing; `balance_hash` = the key hash for `balance uri|hdr|url_param` (map it onto the
//!    backend's weighted map as `balance source` does with its key; `None` = round-robin).
//!    The server connection may come from the idle pool when `txn.conn.server_keep_alive`.
//! 4. **Request out.** [`txn::Txn::write_request`] writes the rewritten head; then forward the
//!    body in place: [`txn::Txn::request_body`] gives a [`body::BodyCursor`]; feed it the
//!    buffered bytes after the head, forward `consumed` of them, repeat on each read until
//!    `done`. Bytes after the end are the client's next request (pipelining): keep them.
//! 5. **Response head.** [`head::parse_response`] on the server's bytes (`Err` or over 16 KiB:
//!    [`txn::Txn::bad_response`], 502 `PH`), then [`txn::Txn::on_response`] with the index of
//!    the server that answered: it applies `http-response` rules, the persistence cookie
//!    (`Set-Cookie`, `Cache-control: private`) and `Connection`, and returns the body framing
//!    and the final [`connection::ConnPlan`]. Write the head with
//!    [`head::ResponseHead::write`]. An `interim` (1xx) response is forwarded and followed by
//!    another head. [`framing::BodyFraming::Tunnel`] (101, CONNECT) turns the session into a
//!    plain TCP tunnel; `UntilClose` forwards until the server closes
//!    ([`body::BodyCursor::on_close`]).
//! 6. **End.** When the response body is done: log with [`httplog::HttpLog`] (terminations
//!    from [`txn::Txn::termination`], or the session's [`crate::termination::Termination`]
//!    for socket-level ends), then keep or close each side per the `ConnPlan`. `timeout
//!    http-keep-alive` then bounds the wait for the client's next request.
//!
//! Errors on the way map to proxy responses with [`txn::error_reply`] (backend errorfile,
//! frontend errorfile, or HAProxy's built-in page): 502 (server sent garbage), 503 (no
//! server), 504 (`timeout server` before the response head).

pub mod acl;
pub mod balance_key;
pub mod body;
pub mod cache;
pub mod chunked;
pub mod connection;
pub mod cookie;
pub mod forwardfor;
pub mod framing;
pub mod fuzz;
pub mod head;
pub mod headers;
pub mod httplog;
pub mod reply;
pub mod rules;
pub mod stick_rules;
pub mod target;
pub mod txn;
pub mod uri;

/// Why a head was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("head larger than {} bytes", head::MAX_HEAD)]
    TooLarge,
    #[error("more than {} header lines", head::MAX_HEADERS)]
    TooManyHeaders,
    #[error("folded header line (obs-fold)")]
    ObsFold,
    #[error("invalid head: {0}")]
    Syntax(httparse::Error),
    #[error("both Content-Length and Transfer-Encoding")]
    ContentLengthAndChunked,
    #[error("invalid Content-Length")]
    BadContentLength,
    #[error("differing Content-Length values")]
    ConflictingContentLength,
    #[error("invalid Transfer-Encoding (chunked must be last, once)")]
    BadTransferEncoding,
    #[error("more than one Host line")]
    DuplicateHost,
    #[error("101 Switching Protocols without an upgrade request")]
    UnexpectedSwitch,
    #[error("{0}")]
    Target(#[from] target::TargetError),
}

impl HeadError {
    /// The status a client gets for a request head refused this way.
    pub fn request_status(&self) -> u16 {
        match self {
            HeadError::TooLarge => 431,
            _ => 400,
        }
    }
}
