//! When each server and backend last changed state, how long it has been down in all and how
//! often it went down: HAProxy's `lastchg`, `downtime` and `chkdown` columns. The counters only
//! hold the current state, so thread 0's event loop compares it with what it saw last, once per
//! turn; every state change happens on that thread (supervisor messages, admin actions).

use crate::counters::Stats;
use hakeeper_common::ipc::AdminState;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    up: bool,
    admin: AdminState,
}

impl Seen {
    /// HAProxy counts a server in maintenance as stopped too.
    fn running(self) -> bool {
        self.up && self.admin != AdminState::Maint
    }
}

#[derive(Debug, Clone)]
pub struct History {
    pub last_change: Instant,
    down_since: Option<Instant>,
    down_total: Duration,
    /// Transitions from running to stopped.
    pub went_down: u64,
}

impl History {
    fn new(now: Instant, running: bool) -> Self {
        History { last_change: now, down_since: (!running).then_some(now), down_total: Duration::ZERO, went_down: 0 }
    }

    fn record(&mut self, now: Instant, was_running: bool, running: bool) {
        self.last_change = now;
        if was_running && !running {
            self.went_down += 1;
            self.down_since = Some(now);
        } else if !was_running && running {
            if let Some(since) = self.down_since.take() {
                self.down_total += now.saturating_duration_since(since);
            }
        }
    }

    /// Total time stopped, the current stretch included.
    pub fn downtime(&self, now: Instant) -> Duration {
        self.down_total + self.down_since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }
}

struct ServerTrack {
    seen: Seen,
    history: History,
}

struct BackendTrack {
    running: bool,
    history: History,
    servers: Vec<ServerTrack>,
}

pub struct Tracker {
    backends: Vec<BackendTrack>,
}

fn seen(stats: &Stats, b: usize, s: usize) -> Seen {
    let st = &stats.backends[b].servers[s];
    Seen { up: st.up.load(Relaxed), admin: st.admin_state() }
}

impl Tracker {
    pub fn new(stats: &Stats, now: Instant) -> Self {
        let backends = stats
            .backends
            .iter()
            .enumerate()
            .map(|(b, be)| {
                let servers: Vec<ServerTrack> = (0..be.servers.len())
                    .map(|s| {
                        let seen = seen(stats, b, s);
                        ServerTrack { seen, history: History::new(now, seen.running()) }
                    })
                    .collect();
                let running = servers.iter().any(|s| s.seen.running());
                BackendTrack { running, history: History::new(now, running), servers }
            })
            .collect();
        Tracker { backends }
    }

    /// Records every change since the last scan as happening `now`.
    pub fn scan(&mut self, stats: &Stats, now: Instant) {
        for (b, track) in self.backends.iter_mut().enumerate() {
            let Some(be) = stats.backends.get(b) else { continue };
            for (s, server) in track.servers.iter_mut().enumerate().take(be.servers.len()) {
                let current = seen(stats, b, s);
                if current != server.seen {
                    server.history.record(now, server.seen.running(), current.running());
                    server.seen = current;
                }
            }
            let running = track.servers.iter().any(|s| s.seen.running());
            if running != track.running {
                track.history.record(now, track.running, running);
                track.running = running;
            }
        }
    }

    pub fn server(&self, b: usize, s: usize) -> Option<&History> {
        self.backends.get(b)?.servers.get(s).map(|t| &t.history)
    }

    pub fn backend(&self, b: usize) -> Option<&History> {
        self.backends.get(b).map(|t| &t.history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::admin_code;
    use crate::stats::testing::{backend, stats_for};

    #[test]
    fn downtime_and_transitions_follow_the_server_state() {
        let cfg = backend("be", &["a", "b"]);
        let stats = stats_for(&[], std::slice::from_ref(&cfg));
        let t0 = Instant::now();
        let mut t = Tracker::new(&stats, t0);
        let a = &stats.backends[0].servers[0];
        a.up.store(false, Relaxed);
        t.scan(&stats, t0 + Duration::from_secs(10));
        a.up.store(true, Relaxed);
        t.scan(&stats, t0 + Duration::from_secs(15));
        a.admin.store(admin_code(AdminState::Maint), Relaxed);
        t.scan(&stats, t0 + Duration::from_secs(20));
        let h = t.server(0, 0).expect("tracked");
        assert_eq!(h.went_down, 2);
        assert_eq!(h.last_change, t0 + Duration::from_secs(20));
        assert_eq!(h.downtime(t0 + Duration::from_secs(21)), Duration::from_secs(6));
        // The backend still has b: it never stopped.
        let be = t.backend(0).expect("tracked");
        assert_eq!(be.went_down, 0);
        assert_eq!(be.last_change, t0);
    }
}
