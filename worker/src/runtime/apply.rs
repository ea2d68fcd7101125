//! Applies an operator action on a server on event-loop thread 0: the change goes to the
//! backend's balancing state and is logged with who asked; the caller reports it to the
//! supervisor so that it survives worker restarts and reloads.

use super::events;
use crate::admin::{describe, AdminAction};
use crate::backend::{Change, Grant};
use crate::shared::Shared;
use hakeeper_common::ipc::FromWorker;
use std::sync::atomic::Ordering::Relaxed;

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
                log::warn!("{}", events::admin(name, state, &change));
            }
            Ok(change)
        }
        AdminAction::Weight(weight) => {
            let change = shared.backend(backend).set_weight(server, weight, grants)?;
            if change.changed {
                log::warn!("{}", events::weight(name, weight, &change));
            }
            Ok(change)
        }
    }
}

/// Applies `action` to `backend`/`server`. Ok: what was done, and the report for the supervisor
/// (None when nothing changed), for the caller to send. Err: why it was refused.
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
    log::info!("{}", events::action_outcome(who, &name, action, &result));
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
