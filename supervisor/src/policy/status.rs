//! What the supervisor tells about itself: systemd's status line and watchdog (fed only while
//! every child answers its ping), the stats page's process summary and VRRP view.

use super::{Output, Policy};
use crate::child::Role;
use hakeeper_common::config::{BuiltinCheck, ScriptAction};
use hakeeper_common::ctl::{vrrp_views, ProcessView, TrackView, VrrpView};
use hakeeper_common::ipc::{InstanceId, ScriptId, ToChecker, ToVrrp, ToWorker, VrrpState};
use std::time::Instant;

impl Policy {
    /// Tells systemd `state` (may be empty) with the current status line: what this host serves
    /// and its VRRP states (`serving generation 3, VI_1 MASTER`).
    pub(super) fn notify_systemd(&mut self, state: &str) {
        let mut status = if self.stop.is_some() { "stopping".to_string() } else { format!("serving generation {}", self.generation) };
        let mut instances: Vec<_> = self.vrrp_states.iter().collect();
        instances.sort_by_key(|(i, _)| **i);
        for (i, (vrrp_state, _)) in instances {
            if let Some(inst) = self.config.vrrp.instances.get(i.0) {
                status.push_str(&format!(", {} {vrrp_state}", inst.name));
            }
        }
        let head = if state.is_empty() { String::new() } else { format!("{state}\n") };
        self.out.push(Output::Notify(format!("{head}STATUS={status}")));
    }

    /// A child answered the watchdog's ping `seq`.
    pub(super) fn pong(&mut self, pid: i32, seq: u64) {
        if let Some(w) = self.watchdog.as_mut() {
            w.pong(pid, seq);
        }
    }

    /// Pings the children and feeds systemd's watchdog if they all answered the last round.
    pub(super) fn watchdog_round(&mut self, now: Instant) {
        let mut pids: Vec<i32> = self.procs.keys().copied().collect();
        pids.sort_unstable();
        let Some(round) = self.watchdog.as_mut().and_then(|w| w.tick(now, &pids)) else { return };
        if round.feed {
            self.out.push(Output::Notify("WATCHDOG=1".into()));
        }
        for pid in pids {
            let Some(role) = self.procs.get(&pid).map(|p| p.role) else { continue };
            match role {
                Role::Worker => self.send_worker(pid, ToWorker::Ping(round.ping)),
                Role::Checker => self.send_checker(pid, ToChecker::Ping(round.ping)),
                Role::Vrrpd => self.send_vrrp(pid, ToVrrp::Ping(round.ping)),
            }
        }
    }

    pub(super) fn vrrp_views(&self) -> Vec<VrrpView> {
        let mut states: Vec<(InstanceId, VrrpState, u8)> = self.vrrp_states.iter().map(|(i, (s, p))| (*i, *s, *p)).collect();
        states.sort_unstable_by_key(|(i, _, _)| *i);
        vrrp_views(&self.config.vrrp, &states)
    }

    /// The stats page's process summary: this host, the generation, the restarts, the tracks.
    pub(super) fn send_process_view(&mut self) {
        let restarts = [Role::Worker, Role::Checker, Role::Vrrpd]
            .into_iter()
            .map(|r| (r.name().to_string(), self.restart_counts.get(r.name()).copied().unwrap_or(0)))
            .collect();
        let tracks = self
            .config
            .vrrp
            .scripts
            .iter()
            .enumerate()
            .map(|(i, script)| {
                let i = ScriptId(i);
                let (what, ok) = match &script.action {
                    ScriptAction::Command(cmd) => (format!("script: {cmd}"), self.script_states.get(&i).copied()),
                    ScriptAction::Builtin(BuiltinCheck::ProxyAlive) => {
                        ("builtin: proxy_alive".to_string(), self.builtin_sent.get(&i).copied())
                    }
                    ScriptAction::Builtin(BuiltinCheck::MinServersUp { backend, servers }) => {
                        let name = self.config.backends.get(*backend).map_or("?", |b| b.name.as_str());
                        (format!("builtin: min_servers_up({name}, {servers})"), self.builtin_sent.get(&i).copied())
                    }
                };
                TrackView { name: script.name.clone(), what, weight: script.weight, ok }
            })
            .collect();
        let view = ProcessView {
            host: self.host.clone(),
            generation: self.generation,
            started_unix: self.started_unix,
            restarts,
            tracks,
            announce: self.announce_rows(),
        };
        for pid in self.pids_of(Role::Worker) {
            self.send_worker(pid, ToWorker::Process(view.clone()));
        }
    }
}
