//! Traffic counters per listener, frontend, backend and server, in atomics shared by every
//! event-loop thread. The stats page reads them without taking any lock; the field names follow
//! HAProxy's CSV columns (scur/smax/stot, bin/bout, econ, wretr, wredis, qcur/qmax).

use crate::freq::FreqCtr;
use hakeeper_common::config::{Backend, Frontend};
use hakeeper_common::ipc::AdminState;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

/// One set of counters; which ones are meaningful depends on what it counts.
#[derive(Debug, Default)]
pub struct Counters {
    /// Sessions open now (`scur`).
    pub cur: AtomicU64,
    /// Highest `cur` seen (`smax`).
    pub max: AtomicU64,
    /// Sessions since start (`stot`).
    pub total: AtomicU64,
    /// Bytes received from clients (`bin`).
    pub bytes_in: AtomicU64,
    /// Bytes sent to clients (`bout`).
    pub bytes_out: AtomicU64,
    /// Connections to a server that finally failed (`econ`).
    pub connect_errors: AtomicU64,
    /// Connect attempts retried on the same server (`wretr`).
    pub retries: AtomicU64,
    /// Retries that went to another server (`wredis`).
    pub redispatches: AtomicU64,
    /// Sessions waiting in the queue now (`qcur`).
    pub queue_cur: AtomicU64,
    /// Highest `queue_cur` seen (`qmax`).
    pub queue_max: AtomicU64,
    /// Sessions that were balanced onto this server or backend (`lbtot`).
    pub lb_total: AtomicU64,
    /// Requests refused as invalid or timed out before their head was complete, and PROXY
    /// headers refused or not received in time (`ereq`).
    pub request_errors: AtomicU64,
    /// Sessions per second (`rate`, `rate_max`).
    pub rate: FreqCtr,
    /// Connections refused by `tcp-request connection` rules before any allocation (`dcon`).
    pub denied_conns: AtomicU64,
    /// Requests refused by `tcp-request content` rules (`dreq`, HAProxy's `denied_req`).
    pub denied_requests: AtomicU64,
    /// Sessions refused by `tcp-request session` rules (`dses`, HAProxy's `denied_sess`).
    pub denied_sessions: AtomicU64,
    /// Responses refused by `tcp-response content` rules (`dresp`, HAProxy's `denied_resp`).
    pub denied_responses: AtomicU64,
}

impl Counters {
    pub fn session_opened(&self) {
        let now = self.cur.fetch_add(1, Relaxed) + 1;
        self.max.fetch_max(now, Relaxed);
        self.total.fetch_add(1, Relaxed);
        self.rate.add();
    }

    /// Takes one of `limit` session slots (the accept-time maxconn check); false when full.
    pub fn try_reserve(&self, limit: u64) -> bool {
        self.cur.fetch_update(Relaxed, Relaxed, |c| (c < limit).then_some(c + 1)).is_ok()
    }

    /// A reserved slot became a session.
    pub fn confirm(&self) {
        self.max.fetch_max(self.cur.load(Relaxed), Relaxed);
        self.total.fetch_add(1, Relaxed);
        self.rate.add();
    }

    pub fn session_closed(&self) {
        self.cur.fetch_sub(1, Relaxed);
    }

    pub fn set_queue(&self, len: usize) {
        let len = len as u64;
        self.queue_cur.store(len, Relaxed);
        self.queue_max.fetch_max(len, Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Relaxed);
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}

pub struct ListenerStats {
    pub addr: std::net::SocketAddr,
    pub counters: Counters,
}

pub struct FrontendStats {
    pub name: String,
    pub counters: Counters,
    /// One per `bind` line, in config order.
    pub listeners: Vec<ListenerStats>,
    /// HTTP/2 connections ended by a flood guard, per kind.
    pub h2_floods: H2Floods,
}

/// The floods of a frontend's HTTP/2 connections since the worker started, in the order of
/// the h2 layer's `FloodCounts::to_array`: a connection adds its counts once, when a guard
/// ends it.
#[derive(Debug, Default)]
pub struct H2Floods {
    counts: [AtomicU64; 8],
}

impl H2Floods {
    pub fn add(&self, counts: &[u64; 8]) {
        for (total, &n) in self.counts.iter().zip(counts) {
            if n > 0 {
                total.fetch_add(n, Relaxed);
            }
        }
    }

    pub fn get(&self) -> [u64; 8] {
        std::array::from_fn(|i| self.counts[i].load(Relaxed))
    }
}

/// A server's state as the stats page shows it, mirrored from the balancer's locked state.
pub struct ServerStats {
    pub name: String,
    pub counters: Counters,
    pub up: AtomicBool,
    /// [`AdminState`] as `admin_code`.
    pub admin: AtomicU8,
    pub weight: AtomicU32,
    /// Idle connections to this server kept by all threads (HAProxy's `idle_conn_cur`), held
    /// under `pool-max-conn`.
    pub idle_conns: AtomicU32,
    /// Connections to this server a request is using (HAProxy's `curr_used_conns`), the most
    /// since the last purge, and the estimate of how many are needed (`est_need_conns`).
    pub used_conns: AtomicU32,
    pub max_used_conns: AtomicU32,
    pub est_need_conns: AtomicU32,
    /// Bumped each time the server stops taking traffic (DOWN or MAINT): idle connections
    /// pooled before that are closed, as HAProxy does when a server goes down.
    pub stopped_epoch: AtomicU64,
}

impl ServerStats {
    /// Whether it takes traffic now: UP and not in maintenance.
    pub fn running(&self) -> bool {
        self.up.load(Relaxed) && self.admin_state() != AdminState::Maint
    }

    pub fn admin_state(&self) -> AdminState {
        match self.admin.load(Relaxed) {
            1 => AdminState::Drain,
            2 => AdminState::Maint,
            _ => AdminState::Ready,
        }
    }
}

pub fn admin_code(state: AdminState) -> u8 {
    match state {
        AdminState::Ready => 0,
        AdminState::Drain => 1,
        AdminState::Maint => 2,
    }
}

pub struct BackendStats {
    pub name: String,
    pub counters: Counters,
    pub servers: Vec<ServerStats>,
    /// Bumped with any server's `stopped_epoch`: one load per loop turn tells a thread whether
    /// its idle connections need a look.
    pub stopped_epoch: AtomicU64,
}

/// Everything the stats page can read.
pub struct Stats {
    /// Sessions of this worker, all frontends together (`cur` is HAProxy's `actconn`).
    pub process: Counters,
    /// Server connections open, busy or idle, all threads together: with the sessions' client
    /// sockets, the descriptors in use that `tune.pool-*-fd-ratio` compare against.
    pub server_conns: AtomicU64,
    pub frontends: Vec<FrontendStats>,
    pub backends: Vec<Arc<BackendStats>>,
}

impl Stats {
    pub fn new(frontends: &[Frontend], backends: &[Backend]) -> Self {
        Stats {
            process: Counters::default(),
            server_conns: AtomicU64::new(0),
            frontends: frontends
                .iter()
                .map(|f| FrontendStats {
                    name: f.name.clone(),
                    counters: Counters::default(),
                    listeners: f.binds.iter().map(|&addr| ListenerStats { addr, counters: Counters::default() }).collect(),
                    h2_floods: Default::default(),
                })
                .collect(),
            backends: backends
                .iter()
                .map(|b| {
                    Arc::new(BackendStats {
                        name: b.name.clone(),
                        counters: Counters::default(),
                        stopped_epoch: AtomicU64::new(0),
                        servers: b
                            .servers
                            .iter()
                            .map(|s| ServerStats {
                                name: s.name.clone(),
                                counters: Counters::default(),
                                up: AtomicBool::new(s.check.as_ref().is_none_or(|c| c.initial_up)),
                                admin: AtomicU8::new(admin_code(if s.disabled { AdminState::Maint } else { AdminState::Ready })),
                                weight: AtomicU32::new(s.weight),
                                idle_conns: AtomicU32::new(0),
                                used_conns: AtomicU32::new(0),
                                max_used_conns: AtomicU32::new(0),
                                est_need_conns: AtomicU32::new(0),
                                stopped_epoch: AtomicU64::new(0),
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2_floods_add_up_per_kind() {
        let f = H2Floods::default();
        f.add(&[0, 1, 0, 0, 0, 0, 0, 1]);
        f.add(&[0, 1, 0, 0, 2, 0, 0, 0]);
        assert_eq!(f.get(), [0, 2, 0, 0, 2, 0, 0, 1]);
    }

    #[test]
    fn max_follows_the_highest_concurrency() {
        let c = Counters::default();
        c.session_opened();
        c.session_opened();
        c.session_closed();
        c.session_opened();
        assert_eq!(Counters::get(&c.cur), 2);
        assert_eq!(Counters::get(&c.max), 2);
        assert_eq!(Counters::get(&c.total), 3);
        c.set_queue(5);
        c.set_queue(1);
        assert_eq!(Counters::get(&c.queue_cur), 1);
        assert_eq!(Counters::get(&c.queue_max), 5);
    }
}
