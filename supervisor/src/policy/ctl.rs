//! `hakeeper ctl` requests (a reload comes as `Input::Reload`): a planned switchover and a
//! stop (as SIGTERM) are the supervisor's own; everything else goes to the newest serving worker, or is answered at once
//! when none serves.

use super::{Output, Policy};
use crate::child::Role;
use hakeeper_common::ctl::{CtlReply, CtlRequest};
use hakeeper_common::ipc::ToWorker;
use std::time::Instant;

impl Policy {
    pub(super) fn parent_dispatch_ctl(&mut self, id: u64, request: CtlRequest, now: Instant) {
        if request == CtlRequest::ShowAnnounce {
            let reply = self.show_announce();
            self.out.push(Output::CtlAnswer { id, reply });
            return;
        }
        if request == CtlRequest::ShowLvs {
            self.show_lvs(id);
            return;
        }
        if request == CtlRequest::Stop {
            // As SIGTERM: the answer goes out at once, the stop takes its course (5 s at most).
            let reply = match self.stop {
                Some(_) => CtlReply::Done("already stopping".into()),
                None => CtlReply::Done("stopping: releasing VIPs, then draining connections".into()),
            };
            self.out.push(Output::CtlAnswer { id, reply });
            if self.stop.is_none() {
                self.begin_stop(now);
            }
            return;
        }
        if matches!(request, CtlRequest::Switchover | CtlRequest::Switchback) {
            let reply = self.switchover(request == CtlRequest::Switchover, now);
            self.out.push(Output::CtlAnswer { id, reply });
            return;
        }
        let serving = self
            .procs
            .values()
            .filter(|p| p.role == Role::Worker && p.open && !p.draining && p.ready_since.is_some())
            .max_by_key(|p| p.generation)
            .map(|p| p.pid);
        match serving {
            Some(pid) => self.send_worker(pid, ToWorker::Ctl { id, request }),
            None => self.out.push(Output::CtlAnswer { id, reply: CtlReply::Error("no worker is serving".into()) }),
        }
    }
}
