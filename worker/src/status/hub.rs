//! What the stats page knows beyond the traffic counters, shared between the stats thread and
//! event-loop thread 0: this host's VRRP instances, the checker's last verdicts, and the
//! state-change history.

use super::tracker::Tracker;
use crate::counters::Stats;
use crate::locking::lock;
use hakeeper_common::ctl::{LvsView, ProcessView, VrrpView};
use hakeeper_common::ipc::WorkerConfig;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// The checker's verdict at a server's last health transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    /// HAProxy's wording: `Layer4 connection problem, info: "Connection refused"`.
    pub reason: String,
    pub duration: Duration,
}

pub struct StatsHub {
    pub started: Instant,
    pub started_wall: SystemTime,
    vrrp: Mutex<Vec<VrrpView>>,
    /// This host's LVS virtual services and counters, as vrrpd last read them.
    lvs: Mutex<Vec<LvsView>>,
    process: Mutex<ProcessView>,
    checks: Mutex<Vec<Vec<Option<CheckInfo>>>>,
    tracker: Mutex<Tracker>,
}

impl StatsHub {
    pub fn new(config: &WorkerConfig, stats: &Stats) -> Self {
        let now = Instant::now();
        StatsHub {
            started: now,
            started_wall: SystemTime::now(),
            vrrp: Mutex::new(Vec::new()),
            lvs: Mutex::new(Vec::new()),
            process: Mutex::new(ProcessView::default()),
            checks: Mutex::new(config.backends.iter().map(|b| vec![None; b.servers.len()]).collect()),
            tracker: Mutex::new(Tracker::new(stats, now)),
        }
    }

    pub fn set_vrrp(&self, views: Vec<VrrpView>) {
        *lock(&self.vrrp) = views;
    }

    pub fn vrrp(&self) -> Vec<VrrpView> {
        lock(&self.vrrp).clone()
    }

    /// `ToWorker::LvsStates`: `/metrics` shows these from now on.
    pub fn set_lvs(&self, views: Vec<LvsView>) {
        *lock(&self.lvs) = views;
    }

    pub fn lvs(&self) -> Vec<LvsView> {
        lock(&self.lvs).clone()
    }

    /// `ToWorker::Process`: the page's process summary from now on.
    pub fn set_process(&self, view: ProcessView) {
        *lock(&self.process) = view;
    }

    pub fn process(&self) -> ProcessView {
        lock(&self.process).clone()
    }

    pub fn set_check(&self, backend: usize, server: usize, info: CheckInfo) {
        let mut checks = lock(&self.checks);
        match checks.get_mut(backend).and_then(|b| b.get_mut(server)) {
            Some(slot) => *slot = Some(info),
            None => log::warn!("check result for unknown server {backend}/{server} ignored"),
        }
    }

    pub fn check(&self, backend: usize, server: usize) -> Option<CheckInfo> {
        lock(&self.checks).get(backend)?.get(server)?.clone()
    }

    pub fn scan_states(&self, stats: &Stats, now: Instant) {
        lock(&self.tracker).scan(stats, now);
    }

    pub fn with_tracker<T>(&self, f: impl FnOnce(&Tracker) -> T) -> T {
        f(&lock(&self.tracker))
    }
}
