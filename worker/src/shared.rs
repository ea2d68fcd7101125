//! State shared by the event-loop threads: the config, the counters, each backend's locked
//! balancing state, and a way to reach each thread (a waker and an inbox for queue grants).

use crate::backend::{BackendState, Grant};
use crate::counters::Stats;
use crate::stats::StatsHub;
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
    /// The stats page's state beyond the counters, and its queues to thread 0.
    pub stats_hub: Arc<StatsHub>,
    pub backends: Vec<Mutex<BackendState>>,
    pub threads: Vec<ThreadLink>,
    next_session: AtomicU64,
    stop: AtomicBool,
    draining: AtomicBool,
    drain_deadline: Mutex<Option<Instant>>,
    /// Some thread paused its listeners at a maxconn limit and waits for a session to end.
    listeners_paused: AtomicBool,
}

/// Locks ignoring poisoning: a panicking thread ends the worker anyway, and the state it guards
/// stays consistent between the short critical sections.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
        Shared {
            config,
            stats,
            stats_hub,
            backends,
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
        for g in grants.drain(..) {
            if g.pending.thread == me {
                local.push(g);
            } else if let Some(link) = self.threads.get(g.pending.thread) {
                lock(&link.inbox).push(g);
                if let Err(e) = link.waker.wake() {
                    log::error!("cannot wake event-loop thread {}: {e}", g.pending.thread);
                }
            }
        }
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
