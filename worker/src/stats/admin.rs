//! Operator actions on servers (READY, DRAIN, MAINT, weight), from the stats page's form or from
//! `hakeeper ctl`. They are applied by event-loop thread 0, which owns the supervisor channel:
//! the change goes to the backend's balancing state, is logged with who asked, and is reported
//! to the supervisor so that it survives worker restarts and reloads.

use crate::backend::{Change, Grant};
use crate::shared::Shared;
use hakeeper_common::ctl::admin_state_name;
use hakeeper_common::ipc::{AdminState, FromWorker};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::Sender;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    State(AdminState),
    Weight(u32),
}

impl AdminAction {
    /// The stats form's `action=` values (HAProxy's, plus `weight`).
    pub fn from_form(action: &str, weight: Option<&str>) -> Option<AdminAction> {
        match action {
            "ready" => Some(AdminAction::State(AdminState::Ready)),
            "drain" => Some(AdminAction::State(AdminState::Drain)),
            "maint" => Some(AdminAction::State(AdminState::Maint)),
            "weight" => weight?.trim().parse::<u32>().ok().filter(|w| *w <= 256).map(AdminAction::Weight),
            _ => None,
        }
    }
}

/// One action on one server, with who asked and where the outcome goes.
#[derive(Debug)]
pub struct AdminCommand {
    pub backend: usize,
    pub server: usize,
    pub action: AdminAction,
    /// For the log: `stats user NAME` or `ctl`.
    pub who: String,
    pub done: Option<Sender<AdminOutcome>>,
}

/// Whether the action changed anything, or why it was refused.
pub type AdminOutcome = Result<bool, String>;

fn summary(change: &Change) -> String {
    format!(
        "{} active and {} backup servers left. {} sessions active, {} requeued, {} remaining in queue.",
        change.active, change.backup, change.served, change.requeued, change.queued
    )
}

/// Applies `action` to `backend`/`server`. Ok: what was done, and the report for the supervisor
/// (None when nothing changed). Err: why it was refused.
/// The action as the ctl command and the admin log line write it.
pub fn describe(action: AdminAction) -> String {
    match action {
        AdminAction::State(s) => format!("state {}", admin_state_name(s)),
        AdminAction::Weight(w) => format!("weight {w}"),
    }
}

/// Applies `action`, logging the server's event as HAProxy does when something changed.
fn change_server(
    shared: &Shared,
    backend: usize,
    server: usize,
    action: AdminAction,
    name: &str,
    grants: &mut Vec<Grant>,
) -> Result<Change, String> {
    match action {
        AdminAction::State(state) => {
            let change = shared.backend(backend).set_admin(server, state, grants);
            if change.changed {
                let what = match state {
                    AdminState::Ready => "is leaving maintenance/drain (READY)",
                    AdminState::Drain => "enters drain state",
                    AdminState::Maint => "is going DOWN for maintenance",
                };
                log::warn!("Server {name} {what}. {}", summary(&change));
            }
            Ok(change)
        }
        AdminAction::Weight(weight) => {
            let change = shared.backend(backend).set_weight(server, weight, grants)?;
            if change.changed {
                log::warn!("Server {name} weight set to {weight}. {}", summary(&change));
            }
            Ok(change)
        }
    }
}

pub fn apply(
    shared: &Shared,
    backend: usize,
    server: usize,
    action: AdminAction,
    who: &str,
    grants: &mut Vec<Grant>,
) -> Result<(String, Option<FromWorker>), String> {
    let Some(cfg) = shared.config.backends.get(backend) else { return Err(format!("no backend #{backend}")) };
    let Some(srv) = cfg.servers.get(server) else { return Err(format!("backend {} has no server #{server}", cfg.name)) };
    let name = format!("{}/{}", cfg.name, srv.name);
    let outcome = change_server(shared, backend, server, action, &name, grants);
    // One line per action, with its outcome (the HAProxy-style event above is the other).
    let result = match &outcome {
        Ok(c) if c.changed => "done".to_string(),
        Ok(_) => "unchanged".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    log::info!("{who} set server {name} {}: {result}", describe(action));
    let change = outcome?;
    let report = change.changed.then(|| {
        let st = &shared.stats.backends[backend].servers[server];
        let weight = st.weight.load(Relaxed);
        FromWorker::AdminChanged {
            backend: cfg.name.clone(),
            server: srv.name.clone(),
            state: st.admin_state(),
            weight: (weight != srv.weight).then_some(weight),
        }
    });
    Ok((format!("server {name} {}", describe(action)), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_actions_map_to_admin_actions() {
        assert_eq!(AdminAction::from_form("ready", None), Some(AdminAction::State(AdminState::Ready)));
        assert_eq!(AdminAction::from_form("drain", None), Some(AdminAction::State(AdminState::Drain)));
        assert_eq!(AdminAction::from_form("maint", None), Some(AdminAction::State(AdminState::Maint)));
        assert_eq!(AdminAction::from_form("weight", Some("12")), Some(AdminAction::Weight(12)));
        assert_eq!(AdminAction::from_form("weight", Some("300")), None);
        assert_eq!(AdminAction::from_form("weight", None), None);
        assert_eq!(AdminAction::from_form("shutdown", None), None);
    }
}
