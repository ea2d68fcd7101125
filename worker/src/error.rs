//! Errors that end the worker. Errors of single sessions never do: they end the session and
//! show in its log line's termination code.

use hakeeper_common::ipc::IpcError;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("supervisor channel: {0}")]
    Channel(#[from] IpcError),
    #[error("the supervisor closed its channel")]
    SupervisorGone,
    #[error("expected {expected} from the supervisor, got {got}")]
    UnexpectedMessage { expected: &'static str, got: String },
    #[error("the Listeners message names {tags} sockets but {fds} descriptors arrived")]
    ListenerCount { tags: usize, fds: usize },
    #[error("listener tag frontend {frontend} bind {bind} does not exist in the config")]
    BadListenerTag { frontend: usize, bind: usize },
    #[error("listener tag peers section {section} does not exist in the config")]
    BadPeersTag { section: usize },
    #[error("cannot set up listener {addr}: {source}")]
    Listener { addr: String, source: std::io::Error },
    #[error("event loop: {0}")]
    Poll(std::io::Error),
    #[error("cannot start event-loop thread {thread}: {source}")]
    Spawn { thread: usize, source: std::io::Error },
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("event-loop thread {0} panicked")]
    ThreadPanicked(usize),
}
