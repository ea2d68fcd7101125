//! The stats page and runtime control, served from the worker: HTML, HAProxy's CSV (`;csv`),
//! JSON (`;json`) and Prometheus text (`/metrics`) behind Basic auth, admin actions on servers
//! (READY, DRAIN, MAINT, weight), this host's VRRP instances, and the worker's side of
//! `hakeeper ctl`.
//!
//! Threads: the page is served from one thread of its own ([`spawn_stats_thread`], `front`),
//! held to a frontend's `maxconn` and timeouts; anything that changes state goes to event-loop
//! thread 0 through the [`StatsHub`] queue and that thread's waker, and is applied there by
//! [`event_loop_turn`], which also answers `ToWorker::Ctl` and reports changes to the supervisor.

mod admin;
mod auth;
mod csv;
mod ctl;
mod form;
mod front;
#[cfg(test)]
mod front_tests;
#[doc(hidden)]
pub mod fuzz;
mod html;
mod html_lvs;
mod hub;
mod json;
mod prometheus;
mod request;
mod response;
mod route;
mod server;
mod snapshot;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod tracker;

pub use admin::{AdminAction, AdminCommand, AdminOutcome};
pub use hub::{CheckInfo, StatsHub};
pub use server::{spawn_stats_thread, AdminLink, StatsError, StatsThread, StatsView};

use crate::backend::Grant;
use crate::control::Control;
use crate::shared::Shared;
use hakeeper_common::ctl::{CtlRequest, VrrpView};
use hakeeper_common::ipc::FromWorker;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Starts the stats page on the supervisor's stats socket, with thread 0 of `shared` applying
/// its admin actions.
pub fn start(shared: &Arc<Shared>, listener: OwnedFd) -> Result<Option<StatsThread>, StatsError> {
    let Some(config) = shared.config.stats.clone() else {
        log::warn!("a stats socket was passed without a stats section: not serving it");
        return Ok(None);
    };
    let view = StatsView {
        config: Arc::new(shared.config.clone()),
        counters: shared.stats.clone(),
        hub: shared.stats_hub.clone(),
        tables: shared.tables.clone(),
    };
    let waker_of = shared.clone();
    let wake = Arc::new(move || match waker_of.threads.first() {
        Some(link) => link.waker.wake(),
        None => Err(std::io::Error::other("no event loop")),
    });
    let admin = AdminLink::new(shared.stats_hub.clone(), wake);
    let tls = shared.tls.stats.clone();
    spawn_stats_thread(std::net::TcpListener::from(listener), config, view, admin, tls).map(Some)
}

/// `ToWorker::VrrpStates`: the page shows these from now on.
pub fn vrrp_states(shared: &Shared, views: Vec<VrrpView>) {
    shared.stats_hub.set_vrrp(views);
}

/// `ToWorker::CheckResult`: the checker's verdict at a transition, for the check columns.
pub fn check_result(shared: &Shared, backend: usize, server: usize, reason: String, duration: Duration) {
    shared.stats_hub.set_check(backend, server, CheckInfo { reason, duration });
}

/// `ToWorker::Ctl`: queued for [`event_loop_turn`], which answers on the supervisor channel.
pub fn ctl_request(shared: &Shared, id: u64, request: CtlRequest) {
    shared.stats_hub.push_ctl(id, request);
    if let Some(link) = shared.threads.first() {
        if let Err(e) = link.waker.wake() {
            log::error!("cannot wake event-loop thread 0 for a ctl command: {e}");
        }
    }
}

fn report(control: &Control, msg: &FromWorker) {
    if let Err(e) = control.send(msg) {
        log::error!("cannot report to the supervisor: {e}");
    }
}

/// Called by event-loop thread 0 once per turn: notes state changes for the page's history, and
/// applies queued admin actions and ctl commands, reporting them to the supervisor. Queue slots
/// the changes free are added to `grants`.
pub fn event_loop_turn(shared: &Shared, control: &Control, grants: &mut Vec<Grant>, now: Instant) {
    let hub = &shared.stats_hub;
    let (admin, ctl) = hub.take_pending();
    for cmd in admin {
        let outcome = match admin::apply(shared, cmd.backend, cmd.server, cmd.action, &cmd.who, grants) {
            Ok((_, report_msg)) => {
                let changed = report_msg.is_some();
                if let Some(msg) = report_msg {
                    report(control, &msg);
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
    for (id, request) in ctl {
        // `ctl::answer` logs a change once, with its outcome.
        let (reply, change) = ctl::answer(shared, hub, &request, grants);
        if let Some(msg) = change {
            report(control, &msg);
        }
        report(control, &FromWorker::CtlReply { id, reply });
    }
    hub.scan_states(&shared.stats, now);
}
