//! The supervisor's channel, read by thread 0's event loop: health and admin changes from the
//! checker and the operator, weight changes, and the drain order. Messages are named after who
//! sends them (relayd's `parent_dispatch_*` style): `supervisor_dispatch` handles one.

use crate::backend::{Change, Grant};
use crate::shared::{lock, Shared};
use hakeeper_common::ipc::{self, AdminState, FrameReader, FromWorker, IpcError, ReadOutcome, StickEntries, ToWorker};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

pub struct Control {
    pub fd: OwnedFd,
    reader: FrameReader,
}

/// What the loop must do after the channel was read.
#[derive(Debug, PartialEq, Eq)]
pub enum ChannelState {
    Open,
    Closed,
}

impl Control {
    pub fn new(fd: OwnedFd, reader: FrameReader) -> Self {
        Control { fd, reader }
    }

    pub fn send(&self, msg: &FromWorker) -> Result<(), IpcError> {
        ipc::send(self.fd.as_fd(), msg, &[])
    }

    /// Reads everything available and returns the complete messages.
    pub fn read(&mut self) -> Result<(Vec<ToWorker>, ChannelState), IpcError> {
        let mut state = ChannelState::Open;
        loop {
            match self.reader.read_from(self.fd.as_fd()) {
                Ok(ReadOutcome::Data) => {}
                Ok(ReadOutcome::WouldBlock) => break,
                Err(IpcError::Closed) => {
                    state = ChannelState::Closed;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let mut msgs = Vec::new();
        // Descriptors arriving after start-up have no use; dropping them closes them.
        while let Some((msg, _fds)) = self.reader.next::<ToWorker>()? {
            msgs.push(msg);
        }
        Ok((msgs, state))
    }
}

fn server_name(shared: &Shared, backend: usize, server: usize) -> Option<String> {
    let b = shared.config.backends.get(backend)?;
    let s = b.servers.get(server)?;
    Some(format!("{}/{}", b.name, s.name))
}

fn summary(change: &Change) -> String {
    format!(
        "{} active and {} backup servers left. {} sessions active, {} requeued, {} remaining in queue.",
        change.active, change.backup, change.served, change.requeued, change.queued
    )
}

fn no_server_left(shared: &Shared, backend: usize, change: &Change) {
    if change.active == 0 && change.backup == 0 {
        log::error!("backend {} has no server available!", shared.config.backends[backend].name);
    }
}

/// Applies one message from the supervisor. Queue slots it frees are added to `grants`.
pub fn supervisor_dispatch(shared: &Shared, msg: ToWorker, grants: &mut Vec<Grant>, now: Instant) {
    match msg {
        ToWorker::ServerHealth { backend, server, up } => {
            let Some(name) = server_name(shared, backend, server) else {
                log::warn!("health change for unknown server {backend}/{server} ignored");
                return;
            };
            let change = shared.backend(backend).set_health(server, up, grants);
            if change.changed {
                let state = if up { "UP" } else { "DOWN" };
                log::warn!("Server {name} is {state}. {}", summary(&change));
                no_server_left(shared, backend, &change);
            }
        }
        ToWorker::ServerAdmin { backend, server, state } => {
            let Some(name) = server_name(shared, backend, server) else {
                log::warn!("admin change for unknown server {backend}/{server} ignored");
                return;
            };
            let change = shared.backend(backend).set_admin(server, state, grants);
            if change.changed {
                let what = match state {
                    AdminState::Ready => "is leaving maintenance/drain (READY)",
                    AdminState::Drain => "enters drain state",
                    AdminState::Maint => "is going DOWN for maintenance",
                };
                log::warn!("Server {name} {what}. {}", summary(&change));
                no_server_left(shared, backend, &change);
            }
        }
        ToWorker::SetWeight { backend, server, weight } => {
            let Some(name) = server_name(shared, backend, server) else {
                log::warn!("weight change for unknown server {backend}/{server} ignored");
                return;
            };
            match shared.backend(backend).set_weight(server, weight, grants) {
                Ok(change) => {
                    if change.changed {
                        log::info!("Server {name} weight set to {weight}. {}", summary(&change));
                        no_server_left(shared, backend, &change);
                    }
                }
                Err(why) => log::warn!("weight {weight} for server {name} refused: {why}"),
            }
        }
        ToWorker::Drain { grace } => {
            log::info!("draining: no new connections, {} ms for the open ones to finish", grace.as_millis());
            shared.begin_drain(grace, now);
        }
        // Answered by the event loop, which holds the channel.
        ToWorker::Ping(_) => {}
        ToWorker::Start { .. } => log::warn!("ignoring a second Start message from the supervisor"),
        ToWorker::Listeners(_) => log::warn!("ignoring a second Listeners message from the supervisor"),
        // Stats-page and `hakeeper ctl` traffic: the stats module (stats/) takes these over.
        ToWorker::VrrpStates(views) => crate::stats::vrrp_states(shared, views),
        ToWorker::Process(view) => shared.stats_hub.set_process(view),
        ToWorker::LvsStates(views) => shared.stats_hub.set_lvs(views),
        ToWorker::CheckResult { backend, server, reason, duration } => {
            crate::stats::check_result(shared, backend, server, reason, duration)
        }
        ToWorker::Ctl { id, request } => crate::stats::ctl_request(shared, id, request),
        ToWorker::StickTables(tables) => stick_load(shared, tables, now),
        ToWorker::StickData(part) => {
            let n = crate::stick::handover::load(shared, &part);
            log::info!("adopted {n} of {} entries of stick table {} from the previous worker", part.entries.len(), part.table);
        }
    }
}

/// Every backend's stick table by names, for the worker that takes over after a reload.
pub fn stick_dump(shared: &Shared, now: Instant) -> Vec<StickEntries> {
    let mut out = Vec::new();
    for (b, cfg) in shared.config.backends.iter().enumerate() {
        let Some(state) = shared.backends.get(b) else { continue };
        let entries: Vec<_> = lock(state)
            .stick_export(now)
            .into_iter()
            .filter_map(|(client, s, left)| cfg.servers.get(s).map(|srv| (client, srv.name.clone(), left)))
            .collect();
        if !entries.is_empty() {
            out.push(StickEntries { backend: cfg.name.clone(), entries });
        }
    }
    out
}

/// Adopts a draining predecessor's stick entries, matching backends and servers by name.
fn stick_load(shared: &Shared, tables: Vec<StickEntries>, now: Instant) {
    let mut adopted = 0usize;
    for table in tables {
        let Some(b) = shared.config.backends.iter().position(|c| c.name == table.backend) else { continue };
        let cfg = &shared.config.backends[b];
        let mut state = lock(&shared.backends[b]);
        for (client, server, left) in table.entries {
            if let Some(s) = cfg.servers.iter().position(|srv| srv.name == server) {
                state.stick_import(client, s, left, now);
                adopted += 1;
            }
        }
    }
    log::info!("adopted {adopted} stick-table entries from the previous worker");
}
