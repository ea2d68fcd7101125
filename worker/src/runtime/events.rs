//! The wording of the log lines for server state changes, whoever asked for them (the checker,
//! the supervisor, the stats page, `hakeeper ctl`): HAProxy's `Server web/web1 is DOWN. 1 active
//! and 0 backup servers left. …` (srv_set_stopped() and friends in HAProxy 2.6's server.c),
//! plus one line per operator action with its outcome. The callers choose the level.

use crate::admin::{describe, AdminAction};
use crate::backend::Change;
use hakeeper_common::ipc::AdminState;

/// What is left of the backend after a change, as HAProxy ends each server event.
fn summary(change: &Change) -> String {
    format!(
        "{} active and {} backup servers left. {} sessions active, {} requeued, {} remaining in queue.",
        change.active, change.backup, change.served, change.requeued, change.queued
    )
}

/// A health transition reported by the checker.
pub fn health(name: &str, up: bool, change: &Change) -> String {
    let state = if up { "UP" } else { "DOWN" };
    format!("Server {name} is {state}. {}", summary(change))
}

/// An administrative state change.
pub fn admin(name: &str, state: AdminState, change: &Change) -> String {
    let what = match state {
        AdminState::Ready => "is leaving maintenance/drain (READY)",
        AdminState::Drain => "enters drain state",
        AdminState::Maint => "is going DOWN for maintenance",
    };
    format!("Server {name} {what}. {}", summary(change))
}

/// A weight change.
pub fn weight(name: &str, weight: u32, change: &Change) -> String {
    format!("Server {name} weight set to {weight}. {}", summary(change))
}

/// HAProxy's alert when the last usable server of a backend is gone, if it is.
pub fn no_server_left(backend: &str, change: &Change) -> Option<String> {
    (change.active == 0 && change.backup == 0).then(|| format!("backend {backend} has no server available!"))
}

/// One line per operator action with its outcome (`done`, `unchanged`, `refused: …`).
pub fn action_outcome(who: &str, server: &str, action: AdminAction, outcome: &str) -> String {
    format!("{who} set server {server} {}: {outcome}", describe(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(active: usize, backup: usize) -> Change {
        Change { changed: true, active, backup, served: 3, requeued: 1, queued: 0 }
    }

    #[test]
    fn lines_read_as_haproxy_writes_them() {
        assert_eq!(
            health("web/web1", false, &change(1, 0)),
            "Server web/web1 is DOWN. 1 active and 0 backup servers left. 3 sessions active, 1 requeued, 0 remaining in queue."
        );
        assert!(admin("web/web1", AdminState::Maint, &change(0, 1))
            .starts_with("Server web/web1 is going DOWN for maintenance. 0 active and 1 backup"));
        assert!(weight("web/web1", 7, &change(1, 0)).starts_with("Server web/web1 weight set to 7. "));
        assert_eq!(no_server_left("web", &change(0, 0)).as_deref(), Some("backend web has no server available!"));
        assert_eq!(no_server_left("web", &change(0, 1)), None);
        assert_eq!(action_outcome("ctl", "web/web1", AdminAction::Weight(3), "done"), "ctl set server web/web1 weight 3: done");
    }
}
