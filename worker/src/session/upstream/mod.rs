//! The upstream side of a session: which server (assignment, queues, slots), the connection to
//! it (connect, retries, redispatch, reuse of idle connections), whatever protocol runs on it.

pub(crate) mod connect;
pub mod conns;
