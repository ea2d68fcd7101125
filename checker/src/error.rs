use hakeeper_common::ipc::IpcError;

#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    #[error("supervisor channel: {0}")]
    Channel(#[from] IpcError),
    #[error("cannot set up the supervisor channel: {0}")]
    ChannelSetup(nix::Error),
    #[error("event loop: {0}")]
    Poll(std::io::Error),
}
