//! An operator action on a server (READY, DRAIN, MAINT, weight), from the stats page's form or
//! from `hakeeper ctl`, and how it names its server.

use hakeeper_common::ctl::admin_state_name;
use hakeeper_common::ipc::{AdminState, WorkerConfig};
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

/// The action as the ctl command and the admin log line write it.
pub fn describe(action: AdminAction) -> String {
    match action {
        AdminAction::State(s) => format!("state {}", admin_state_name(s)),
        AdminAction::Weight(w) => format!("weight {w}"),
    }
}

/// Indexes of `backend`/`server` by name.
pub fn resolve(config: &WorkerConfig, backend: &str, server: &str) -> Result<(usize, usize), String> {
    let b = config.backends.iter().position(|b| b.name == backend).ok_or_else(|| format!("no such backend {backend:?}"))?;
    let s = config.backends[b].servers.iter().position(|s| s.name == server).ok_or_else(|| format!("no such server {backend}/{server}"))?;
    Ok((b, s))
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
