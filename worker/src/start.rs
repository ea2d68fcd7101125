//! Start-up: the supervisor's `Start` (the config) and `Listeners` (the sockets) messages, read
//! before any event loop runs. State messages that arrive in between are kept and applied first.

use crate::error::WorkerError;
use hakeeper_common::ipc::{FrameReader, ListenerTag, ToWorker, WorkerConfig};
use std::os::fd::{AsFd, OwnedFd};

pub struct Startup {
    pub config: WorkerConfig,
    pub generation: u64,
    /// (frontend, bind, socket)
    pub listeners: Vec<(usize, usize, OwnedFd)>,
    /// The stats page's socket, if the config has one.
    pub stats_listener: Option<OwnedFd>,
    /// (index in `config.peers`, the local peer's socket)
    pub peers_listeners: Vec<(usize, OwnedFd)>,
    /// Health/admin/weight messages that came before the sockets.
    pub early: Vec<ToWorker>,
    /// The reader, with whatever it buffered after the Listeners message.
    pub reader: FrameReader,
}

fn name(msg: &ToWorker) -> String {
    let text = format!("{msg:?}");
    text.split([' ', '(', '{']).next().unwrap_or_default().to_string()
}

/// Reads until the listeners have arrived. `Ok(None)`: told to drain before serving anything.
pub fn receive(channel: &OwnedFd) -> Result<Option<Startup>, WorkerError> {
    let mut reader = FrameReader::new();
    let (first, _) = reader.recv_blocking::<ToWorker>(channel.as_fd())?;
    let (config, generation) = match first {
        ToWorker::Start { config, generation } => (config, generation),
        other => return Err(WorkerError::UnexpectedMessage { expected: "Start", got: name(&other) }),
    };
    let mut early = Vec::new();
    loop {
        let (msg, fds) = reader.recv_blocking::<ToWorker>(channel.as_fd())?;
        match msg {
            ToWorker::Listeners(tags) => {
                if tags.len() != fds.len() {
                    return Err(WorkerError::ListenerCount { tags: tags.len(), fds: fds.len() });
                }
                let mut listeners = Vec::new();
                let mut stats_listener = None;
                let mut peers_listeners = Vec::new();
                for (tag, fd) in tags.into_iter().zip(fds) {
                    match tag {
                        ListenerTag::Frontend { frontend, bind } => {
                            let exists = config.frontends.get(frontend).is_some_and(|f| bind < f.binds.len());
                            if !exists {
                                return Err(WorkerError::BadListenerTag { frontend, bind });
                            }
                            listeners.push((frontend, bind, fd));
                        }
                        ListenerTag::Stats => stats_listener = Some(fd),
                        ListenerTag::Peers { section } => {
                            if section >= config.peers.len() {
                                return Err(WorkerError::BadPeersTag { section });
                            }
                            peers_listeners.push((section, fd));
                        }
                    }
                }
                return Ok(Some(Startup { config, generation, listeners, stats_listener, peers_listeners, early, reader }));
            }
            ToWorker::Drain { .. } => return Ok(None),
            ToWorker::Start { .. } => return Err(WorkerError::UnexpectedMessage { expected: "Listeners", got: "Start".into() }),
            state => early.push(state),
        }
    }
}
