//! The worker's side of `hakeeper ctl`: answers a [`CtlRequest`] from the live state. Runs on
//! event-loop thread 0 (state changes are applied there), called by [`crate::control`] when the
//! supervisor forwards a `ToWorker::Ctl`; the tables are rendered by [`crate::stats`].

use super::{apply, events};
use crate::admin::{resolve, AdminAction};
use crate::backend::Grant;
use crate::shared::Shared;
use crate::stats::{ctl_view, Snapshot};
use hakeeper_common::ctl::{CtlReply, CtlRequest};
use hakeeper_common::ipc::FromWorker;
use std::time::Instant;

/// The reply, and the report for the supervisor when the request changed a server.
pub fn answer(shared: &Shared, request: &CtlRequest, grants: &mut Vec<Grant>) -> (CtlReply, Option<FromWorker>) {
    let hub = &shared.stats_hub;
    let snapshot = || Snapshot::take(&shared.config, &shared.stats, hub, Instant::now());
    let change = |backend: &str, server: &str, action: AdminAction, grants: &mut Vec<Grant>| {
        let (b, s) = match resolve(&shared.config, backend, server) {
            Ok(found) => found,
            Err(e) => {
                log::info!("{}", events::action_outcome("ctl", &format!("{backend}/{server}"), action, &format!("refused: {e}")));
                return (CtlReply::Error(e), None);
            }
        };
        match apply(shared, b, s, action, "ctl", grants) {
            Ok((done, report)) => (CtlReply::Done(done), report),
            Err(e) => (CtlReply::Error(e), None),
        }
    };
    match request {
        CtlRequest::ShowInfo => (CtlReply::Info(ctl_view::info(&shared.config, &snapshot())), None),
        CtlRequest::ShowStat => (CtlReply::Stat(ctl_view::stat(&snapshot())), None),
        CtlRequest::ShowServers => (CtlReply::Servers(ctl_view::servers(&snapshot())), None),
        CtlRequest::ShowVrrp => (CtlReply::Vrrp(hub.vrrp()), None),
        CtlRequest::ShowPeers => (CtlReply::Peers(crate::locking::lock(&shared.peers).iter().map(|h| h.view()).collect()), None),
        CtlRequest::ShowTable { .. } | CtlRequest::ClearTable { .. } | CtlRequest::SetTable { .. } => {
            (crate::stick_runtime::ctl::answer(shared, request).unwrap_or_else(|| CtlReply::Error("not a table request".into())), None)
        }
        // Parsed batches hold only table commands, which change no server.
        CtlRequest::Batch(list) => (
            CtlReply::Batch(
                list.iter()
                    .map(|r| {
                        crate::stick_runtime::ctl::answer(shared, r)
                            .unwrap_or_else(|| CtlReply::Error(format!("`{r}` cannot be batched: only table commands")))
                    })
                    .collect(),
            ),
            None,
        ),
        CtlRequest::SetState { backend, server, state } => change(backend, server, AdminAction::State(*state), grants),
        CtlRequest::SetWeight { backend, server, weight } => change(backend, server, AdminAction::Weight(*weight), grants),
        // VRRP is the supervisor's business; it answers these itself and never forwards them.
        CtlRequest::Switchover
        | CtlRequest::Switchback
        | CtlRequest::Reload
        | CtlRequest::Upgrade
        | CtlRequest::Stop
        | CtlRequest::ShowLvs
        | CtlRequest::ShowAnnounce => (CtlReply::Error(format!("`{request}` is handled by the supervisor")), None),
    }
}
