//! State shared by the event-loop threads: the config, the counters, each backend's locked
//! balancing state, and a way to reach each thread (a waker and an inbox for queue grants).

use crate::admin::AdminQueue;
use crate::backend::{BackendState, Grant};
use crate::counters::Stats;
pub use crate::locking::lock;
use crate::status::StatsHub;
use hakeeper_common::ipc::WorkerConfig;
use mio::Waker;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How other threads reach one event-loop thread.
pub struct ThreadLink {
    pub waker: Waker,
    /// Slots granted to this thread's queued sessions by other threads.
    pub inbox: Mutex<Vec<Grant>>,
}

pub struct Shared {
    pub config: WorkerConfig,
    pub stats: Arc<Stats>,
    /// The stats page's state beyond the counters.
    pub stats_hub: Arc<StatsHub>,
    /// The stats page's admin actions waiting for thread 0.
    pub admin: Arc<AdminQueue>,
    pub backends: Vec<Mutex<BackendState>>,
    /// The stick tables (`HttpConfig::stick_tables`), each behind its own lock.
    pub tables: Arc<Vec<Mutex<crate::stick::Table>>>,
    /// The running peers transports (one per shared `peers` section); emptied when draining,
    /// so that only the new worker speaks for this host to its peers.
    pub peers: Mutex<Vec<crate::peers::PeersHandle>>,
    /// The TLS contexts of the TLS binds.
    pub tls: crate::tls::Contexts,
    pub threads: Vec<ThreadLink>,
    next_session: AtomicU64,
    stop: AtomicBool,
    draining: AtomicBool,
    drain_deadline: Mutex<Option<Instant>>,
    /// Some thread paused its listeners at a maxconn limit and waits for a session to end.
    listeners_paused: AtomicBool,
    /// Threads whose loop has ended, read and set under that thread's inbox lock: a grant for
    /// one of them is released at once instead of waiting in an inbox nobody reads.
    exited: Vec<AtomicBool>,
}

impl Shared {
    pub fn new(config: WorkerConfig, threads: Vec<ThreadLink>, seed: u64) -> Self {
        let stats = Arc::new(Stats::new(&config.frontends, &config.backends));
        let backends = config
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| Mutex::new(BackendState::new(b, i, stats.backends[i].clone(), seed.wrapping_add(i as u64))))
            .collect();
        let stats_hub = Arc::new(StatsHub::new(&config, &stats));
        let exited = threads.iter().map(|_| AtomicBool::new(false)).collect();
        let tables = Arc::new(config.http.stick_tables.iter().map(|d| Mutex::new(crate::stick::Table::new(d.clone()))).collect());
        Shared {
            tables,
            peers: Mutex::new(Vec::new()),
            exited,
            config,
            stats,
            stats_hub,
            admin: Arc::default(),
            backends,
            tls: crate::tls::Contexts::default(),
            threads,
            next_session: AtomicU64::new(1),
            stop: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            drain_deadline: Mutex::new(None),
            listeners_paused: AtomicBool::new(false),
        }
    }

    pub fn backend(&self, i: usize) -> MutexGuard<'_, BackendState> {
        lock(&self.backends[i])
    }

    pub fn new_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends grants to the threads owning the sessions; those for `me` go to `local`.
    pub fn deliver(&self, me: usize, grants: &mut Vec<Grant>, local: &mut Vec<Grant>) {
        let mut orphans = Vec::new();
        while !grants.is_empty() {
            for g in grants.drain(..) {
                let t = g.pending.thread;
                if t == me {
                    local.push(g);
                    continue;
                }
                let Some(link) = self.threads.get(t) else { continue };
                let mut inbox = lock(&link.inbox);
                if self.exited[t].load(Ordering::Relaxed) {
                    orphans.push(g);
                    continue;
                }
                inbox.push(g);
                drop(inbox);
                if let Err(e) = link.waker.wake() {
                    log::error!("cannot wake event-loop thread {t}: {e}");
                }
            }
            // Slots granted to a thread that has ended go back, possibly to other waiters.
            for g in orphans.drain(..) {
                self.backend(g.backend).release(g.server, grants);
            }
        }
    }

    /// Thread `me` ends: from now on grants for it are released, and those already in its
    /// inbox are returned for the caller to release.
    pub fn thread_exited(&self, me: usize) -> Vec<Grant> {
        let mut inbox = lock(&self.threads[me].inbox);
        self.exited[me].store(true, Ordering::Relaxed);
        std::mem::take(&mut *inbox)
    }

    pub fn wake_all(&self) {
        for (i, link) in self.threads.iter().enumerate() {
            if let Err(e) = link.waker.wake() {
                log::error!("cannot wake event-loop thread {i}: {e}");
            }
        }
    }

    /// The supervisor is gone: every thread ends now.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake_all();
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Stop accepting; sessions get until `now + grace` to finish.
    pub fn begin_drain(&self, grace: Duration, now: Instant) {
        let mut deadline = lock(&self.drain_deadline);
        let at = now + grace;
        // A second Drain may shorten the grace, never extend it.
        *deadline = Some(deadline.map_or(at, |d| d.min(at)));
        self.draining.store(true, Ordering::Release);
        drop(deadline);
        self.wake_all();
    }

    pub fn draining(&self) -> Option<Instant> {
        if self.draining.load(Ordering::Acquire) {
            *lock(&self.drain_deadline)
        } else {
            None
        }
    }

    pub fn note_listeners_paused(&self) {
        self.listeners_paused.store(true, Ordering::Release);
    }

    /// A session ended: threads waiting at a maxconn limit may accept again.
    pub fn slot_freed(&self) {
        if self.listeners_paused.swap(false, Ordering::AcqRel) {
            self.wake_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Assignment, Pending};
    use crate::testkit::{backend, worker_config};
    use mio::{Poll, Token};

    fn link(poll: &Poll) -> ThreadLink {
        ThreadLink { waker: Waker::new(poll.registry(), Token(1)).expect("waker"), inbox: Mutex::new(Vec::new()) }
    }

    #[test]
    fn a_slot_granted_to_an_ended_thread_goes_back() {
        let config = worker_config(vec![backend(&[(1, 1, false)])]);
        let (p0, p1) = (Poll::new().expect("poll"), Poll::new().expect("poll"));
        let shared = Shared::new(config, vec![link(&p0), link(&p1)], 1);
        let now = Instant::now();
        let client = "10.0.0.1".parse().expect("ip");
        let first = Pending { thread: 0, key: 0, session: 1, since: now };
        let waiter = Pending { thread: 1, key: 0, session: 2, since: now };
        assert_eq!(shared.backend(0).assign(client, None, first, now), Assignment::Server { server: 0, persistent: false });
        assert!(matches!(shared.backend(0).assign(client, None, waiter, now), Assignment::Queued { .. }));
        assert!(shared.thread_exited(1).is_empty());
        // Thread 0's session ends: the slot goes to thread 1's waiter, whose thread is gone.
        let (mut grants, mut local) = (Vec::new(), Vec::new());
        shared.backend(0).release(0, &mut grants);
        assert_eq!(grants.len(), 1);
        shared.deliver(0, &mut grants, &mut local);
        assert!(local.is_empty());
        assert!(lock(&shared.threads[1].inbox).is_empty());
        // The slot is free again.
        let third = Pending { thread: 0, key: 1, session: 3, since: now };
        assert_eq!(shared.backend(0).assign(client, None, third, now), Assignment::Server { server: 0, persistent: false });
    }
}
