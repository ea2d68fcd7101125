//! The supervisor's channel, read by thread 0's event loop: health and admin changes from the
//! checker and the operator, weight changes, the drain order, and `hakeeper ctl` requests
//! (answered by [`crate::runtime`]). Messages are named after who sends them (relayd's
//! `hce_dispatch_parent` style, as the supervisor's `parent_dispatch_worker`): `worker_dispatch_parent`
//! handles one.

use crate::backend::{Change, Grant};
use crate::runtime::{self, events};
use crate::shared::{lock, Shared};
use crate::status::CheckInfo;
use hakeeper_common::ipc::{self, FrameReader, FromWorker, IpcError, ReadOutcome, StickEntries, ToWorker};
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

    /// Sends a report whose loss the worker survives (the supervisor's next resync repairs it).
    pub fn report(&self, msg: &FromWorker) {
        if let Err(e) = self.send(msg) {
            log::error!("cannot report to the supervisor: {e}");
        }
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

fn no_server_left(shared: &Shared, backend: usize, change: &Change) {
    if let Some(line) = events::no_server_left(&shared.config.backends[backend].name, change) {
        log::error!("{line}");
    }
}

/// Applies one message from the supervisor, answering on `control` those that ask. Queue slots
/// it frees are added to `grants`.
pub fn worker_dispatch_parent(shared: &Shared, control: &Control, msg: ToWorker, grants: &mut Vec<Grant>, now: Instant) {
    match msg {
        ToWorker::ServerHealth { backend, server, up } => {
            let Some(name) = server_name(shared, backend, server) else {
                log::warn!("health change for unknown server {backend}/{server} ignored");
                return;
            };
            let change = shared.backend(backend).set_health(server, up, grants);
            if change.changed {
                log::warn!("{}", events::health(&name, up, &change));
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
                log::warn!("{}", events::admin(&name, state, &change));
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
                        log::info!("{}", events::weight(&name, weight, &change));
                        no_server_left(shared, backend, &change);
                    }
                }
                Err(why) => log::warn!("weight {weight} for server {name} refused: {why}"),
            }
        }
        ToWorker::Drain { grace } => {
            log::info!("draining: no new connections, {} ms for the open ones to finish", grace.as_millis());
            shared.begin_drain(grace, now);
            // The next worker takes over the peers sessions (its tables got ours); two
            // processes answering as the same peer would replace each other's sessions.
            let stopped: Vec<_> = std::mem::take(&mut *lock(&shared.peers));
            drop(stopped);
        }
        // Answered by the event loop, which holds the channel.
        ToWorker::Ping(_) => {}
        ToWorker::Start { .. } => log::warn!("ignoring a second Start message from the supervisor"),
        ToWorker::Listeners(_) => log::warn!("ignoring a second Listeners message from the supervisor"),
        // What the stats page shows beyond the counters.
        ToWorker::VrrpStates(views) => shared.stats_hub.set_vrrp(views),
        ToWorker::Process(view) => shared.stats_hub.set_process(view),
        ToWorker::LvsStates(views) => shared.stats_hub.set_lvs(views),
        // The checker's verdict at a transition, for the check columns.
        ToWorker::CheckResult { backend, server, reason, duration } => {
            shared.stats_hub.set_check(backend, server, CheckInfo { reason, duration })
        }
        ToWorker::Ctl { id, request } => {
            // `runtime::answer` logs a change once, with its outcome.
            let (reply, change) = runtime::answer(shared, &request, grants);
            if let Some(msg) = change {
                control.report(&msg);
            }
            control.report(&FromWorker::CtlReply { id, reply });
        }
        ToWorker::StickTables(tables) => stick_load(shared, tables, now),
        ToWorker::StickData(part) => {
            let n = crate::stick_runtime::handover::load(shared, &part);
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
