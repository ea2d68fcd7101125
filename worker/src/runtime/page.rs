//! The stats page wired to event-loop thread 0: the page's thread is started with a handle on
//! the admin queue that wakes thread 0, and thread 0 applies what the page queued once per turn.

use super::apply;
use crate::admin::AdminLink;
use crate::backend::Grant;
use crate::shared::Shared;
use crate::stats::{spawn_stats_thread, StatsError, StatsThread, StatsView};
use hakeeper_common::ipc::FromWorker;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Instant;

/// Starts the stats page on the supervisor's stats socket, with thread 0 of `shared` applying
/// its admin actions.
pub fn start_page(shared: &Arc<Shared>, listener: OwnedFd) -> Result<Option<StatsThread>, StatsError> {
    let Some(config) = shared.config.stats.clone() else {
        log::warn!("a stats socket was passed without a stats section: not serving it");
        return Ok(None);
    };
    let view = StatsView {
        config: Arc::new(shared.config.clone()),
        counters: shared.stats.clone(),
        hub: shared.stats_hub.clone(),
        tables: shared.tables.clone(),
        peers: crate::locking::lock(&shared.peers).iter().map(|h| (h.config.name.clone(), h.counters.clone())).collect(),
    };
    let waker_of = shared.clone();
    let wake = Arc::new(move || match waker_of.threads.first() {
        Some(link) => link.waker.wake(),
        None => Err(std::io::Error::other("no event loop")),
    });
    let admin = AdminLink::new(shared.admin.clone(), wake);
    let tls = shared.tls.stats.clone();
    spawn_stats_thread(std::net::TcpListener::from(listener), config, view, admin, tls).map(Some)
}

/// Called by event-loop thread 0 once per turn: applies the admin actions the page queued and
/// notes state changes for the page's history. A change goes to `report` (for the supervisor)
/// before the page learns its outcome; queue slots the changes free are added to `grants`.
pub fn turn(shared: &Shared, grants: &mut Vec<Grant>, now: Instant, mut report: impl FnMut(&FromWorker)) {
    for cmd in shared.admin.take() {
        let outcome = match apply(shared, cmd.backend, cmd.server, cmd.action, &cmd.who, grants) {
            Ok((_, change)) => {
                let changed = change.is_some();
                if let Some(msg) = change {
                    report(&msg);
                }
                Ok(changed)
            }
            Err(e) => Err(e),
        };
        if let Some(done) = cmd.done {
            // The page may have given up waiting; the action stands anyway.
            let _ = done.send(outcome);
        }
    }
    shared.stats_hub.scan_states(&shared.stats, now);
}
