//! A backend's run-time state, shared by the event-loop threads behind one mutex: which servers
//! are usable (checker health, operator state, weight), how many slots each holds (maxconn), the
//! queues, the stick table, and the balancer that picks among the usable servers.
//!
//! All slot accounting happens under the lock, so maxconn holds across threads: `assign` reserves
//! a slot or queues, `release` frees one and hands it to the oldest waiter as a [`Grant`] that
//! the caller delivers to the waiter's thread once the lock is dropped.

use crate::balance::{new_balancer, Balancer, KeyMap, Pool, ServerLoad};
use crate::counters::{admin_code, BackendStats, Counters};
use crate::stick::StickTable;
use hakeeper_common::config::{Backend, Balance};
use hakeeper_common::ipc::AdminState;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How an HTTP request wants its server chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpChoice {
    /// The persistence cookie names this server.
    Persist(usize),
    /// The `balance uri|hdr|url_param` key's hash.
    Hash(u32),
    /// The backend's balancer.
    Balance,
    /// `option prefer-last-server`: the server the session still holds a connection to, if it
    /// can take the request now; else the balancer.
    LastServer(usize),
}

/// A session waiting for a slot, named so that its thread can find it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub thread: usize,
    pub key: usize,
    pub session: u64,
    pub since: Instant,
}

/// A slot reserved on `backend`'s `server` for a waiting session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub pending: Pending,
    pub backend: usize,
    pub server: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Assignment {
    /// A slot on `server` is reserved for the session; `persistent` when the stick table chose it.
    Server { server: usize, persistent: bool },
    /// The session waits in `server`'s queue (or the backend's when `None`) behind `ahead` others.
    Queued { server: Option<usize>, ahead: usize },
    /// No server can take it (none up, or all in maintenance).
    NoServer,
}

struct ServerState {
    up: bool,
    admin: AdminState,
    backup: bool,
    configured_weight: u32,
    queue: VecDeque<Pending>,
}

pub struct BackendState {
    index: usize,
    servers: Vec<ServerState>,
    loads: Vec<ServerLoad>,
    /// The servers balanced onto now: the usable active ones, else the usable backups.
    members: Vec<usize>,
    using_backups: bool,
    active_balancer: Box<dyn Balancer>,
    backup_balancer: Box<dyn Balancer>,
    /// `balance uri|hdr|url_param`: the members' map for request keys (`None` for the other
    /// algorithms), kept in step with `members`.
    key_map: Option<KeyMap>,
    /// Sessions no particular server was chosen for (all were full).
    queue: VecDeque<Pending>,
    stick: Option<StickTable>,
    allbackups: bool,
    stats: Arc<BackendStats>,
}

impl BackendState {
    pub fn new(cfg: &Backend, index: usize, stats: Arc<BackendStats>, seed: u64) -> Self {
        let servers = cfg
            .servers
            .iter()
            .map(|s| ServerState {
                // `check.initial: down` (keepalived's `alpha`): DOWN until the checker says
                // otherwise, whichever thread accepts first.
                up: s.check.as_ref().is_none_or(|c| c.initial_up),
                admin: if s.disabled { AdminState::Maint } else { AdminState::Ready },
                backup: s.backup,
                configured_weight: s.weight,
                queue: VecDeque::new(),
            })
            .collect();
        let loads =
            cfg.servers.iter().map(|s| ServerLoad { id: s.id, weight: s.weight, served: 0, queued: 0, maxconn: s.maxconn }).collect();
        let mut state = BackendState {
            index,
            servers,
            loads,
            members: Vec::new(),
            using_backups: false,
            active_balancer: new_balancer(&cfg.balance, cfg.hash_type, seed),
            backup_balancer: new_balancer(&cfg.balance, cfg.hash_type, seed.rotate_left(17)),
            key_map: matches!(cfg.balance, Balance::Uri | Balance::Hdr(_) | Balance::UrlParam(_)).then(|| KeyMap::new(cfg.hash_type)),
            queue: VecDeque::new(),
            stick: cfg.stick.as_ref().map(|s| StickTable::new(s.expire, s.size)),
            allbackups: cfg.allbackups,
            stats,
        };
        state.refresh_members();
        state
    }

    fn balanced(&self, s: usize) -> bool {
        let st = &self.servers[s];
        st.up && st.admin == AdminState::Ready && self.loads[s].weight > 0
    }

    /// Persistent traffic (a stick-table hit) may still go to a draining or weight-0 server.
    fn persistable(&self, s: usize) -> bool {
        let st = &self.servers[s];
        st.up && st.admin != AdminState::Maint
    }

    fn balancer(&mut self) -> &mut dyn Balancer {
        if self.using_backups {
            self.backup_balancer.as_mut()
        } else {
            self.active_balancer.as_mut()
        }
    }

    /// Recomputes the balanced set after any state or weight change.
    fn refresh_members(&mut self) {
        let active: Vec<usize> = (0..self.servers.len()).filter(|&s| !self.servers[s].backup && self.balanced(s)).collect();
        if active.is_empty() {
            let mut backups = (0..self.servers.len()).filter(|&s| self.servers[s].backup && self.balanced(s));
            self.members = if self.allbackups { backups.collect() } else { backups.next().into_iter().collect() };
            self.using_backups = true;
        } else {
            self.members = active;
            self.using_backups = false;
        }
        let members = std::mem::take(&mut self.members);
        let loads = std::mem::take(&mut self.loads);
        let pool = Pool { servers: &loads, members: &members };
        self.balancer().rebuild(&pool);
        if let Some(k) = self.key_map.as_mut() {
            k.rebuild(&pool);
        }
        self.members = members;
        self.loads = loads;
    }

    /// HAProxy redispatches a failed connect at once when the algorithm is round-robin-like and
    /// more than one server is active.
    pub fn immediate_redispatch(&self) -> bool {
        self.active_balancer.round_robin_kind() && !self.using_backups && self.members.len() > 1
    }

    /// Whether `server` is still up and out of maintenance (a retry on a server that has gone
    /// down is always redispatched).
    pub fn server_running(&self, server: usize) -> bool {
        self.persistable(server)
    }

    #[cfg(test)]
    fn server_has_slot(&self, server: usize) -> bool {
        self.loads[server].has_slot()
    }

    /// Chooses a server for a new (or redispatched) session and reserves a slot on it, or queues
    /// the session. The stick table is consulted first unless this is a redispatch.
    pub fn assign(&mut self, client: IpAddr, avoid: Option<usize>, waiter: Pending, now: Instant) -> Assignment {
        let stuck = if avoid.is_none() { self.stick.as_mut().and_then(|t| t.lookup(client, now)) } else { None };
        let stuck = stuck.filter(|&s| s < self.servers.len() && self.persistable(s));
        let target = match stuck {
            Some(s) => Some(s),
            None => {
                if self.members.is_empty() {
                    return Assignment::NoServer;
                }
                let members = std::mem::take(&mut self.members);
                let loads = std::mem::take(&mut self.loads);
                let picked = self.balancer().pick(&Pool { servers: &loads, members: &members }, client, avoid);
                self.members = members;
                self.loads = loads;
                if let Some(s) = picked {
                    Counters::add(&self.stats.counters.lb_total, 1);
                    Counters::add(&self.stats.servers[s].counters.lb_total, 1);
                }
                picked
            }
        };
        self.reserve(target, stuck.is_some(), waiter)
    }

    /// Reserves a slot on `target`, or queues the session on it (or on the backend when `None`).
    fn reserve(&mut self, target: Option<usize>, persistent: bool, waiter: Pending) -> Assignment {
        match target {
            Some(s) if self.loads[s].has_slot() && self.servers[s].queue.is_empty() => {
                self.loads[s].served += 1;
                Assignment::Server { server: s, persistent }
            }
            Some(s) => {
                let ahead = self.servers[s].queue.len();
                self.servers[s].queue.push_back(waiter);
                self.queue_changed(Some(s));
                Assignment::Queued { server: Some(s), ahead }
            }
            None => {
                let ahead = self.queue.len();
                self.queue.push_back(waiter);
                self.queue_changed(None);
                Assignment::Queued { server: None, ahead }
            }
        }
    }

    /// Assigns an HTTP request: to the server its persistence cookie names (unless that server
    /// can no longer take traffic, or this is a redispatch), to the server its balance key
    /// hashes to (`balance uri|hdr|url_param`, map-based), else as [`Self::assign`] does.
    pub fn assign_http(&mut self, choice: HttpChoice, client: IpAddr, avoid: Option<usize>, waiter: Pending, now: Instant) -> Assignment {
        match choice {
            HttpChoice::Persist(s) if avoid.is_none() && s < self.servers.len() && self.persistable(s) => {
                self.reserve(Some(s), true, waiter)
            }
            HttpChoice::Hash(hash) if !self.members.is_empty() && self.key_map.is_some() => {
                let pool = Pool { servers: &self.loads, members: &self.members };
                let picked = self.key_map.as_ref().and_then(|k| k.pick(&pool, hash, avoid));
                if let Some(s) = picked {
                    Counters::add(&self.stats.counters.lb_total, 1);
                    Counters::add(&self.stats.servers[s].counters.lb_total, 1);
                }
                self.reserve(picked, false, waiter)
            }
            HttpChoice::LastServer(s) if avoid.is_none() && s < self.servers.len() && self.balanced(s) && self.loads[s].has_slot() => {
                self.reserve(Some(s), false, waiter)
            }
            _ => self.assign(client, avoid, waiter, now),
        }
    }

    /// Remembers the server a client was connected to (`stick on src`).
    pub fn stick_store(&mut self, client: IpAddr, server: usize, now: Instant) {
        if let Some(t) = self.stick.as_mut() {
            t.store(client, server, now);
        }
    }

    /// The stick table's live entries (client, server, remaining lifetime).
    pub fn stick_export(&self, now: Instant) -> Vec<(IpAddr, usize, Duration)> {
        self.stick.as_ref().map(|t| t.export(now)).unwrap_or_default()
    }

    /// Adopts a predecessor's entry (after a reload).
    pub fn stick_import(&mut self, client: IpAddr, server: usize, remaining: Duration, now: Instant) {
        if server < self.servers.len() {
            if let Some(t) = self.stick.as_mut() {
                t.import(client, server, remaining, now);
            }
        }
    }

    /// Frees a slot on `server` and hands it to the oldest waiter, if any.
    pub fn release(&mut self, server: usize, grants: &mut Vec<Grant>) {
        let load = &mut self.loads[server];
        load.served = load.served.saturating_sub(1);
        self.serve_queues(server, grants);
    }

    /// Removes a session that gave up waiting. False when it is no longer queued: a grant for it
    /// is then on its way and the slot must be released when it arrives.
    pub fn withdraw(&mut self, session: u64, server: Option<usize>) -> bool {
        let queue = match server {
            Some(s) => &mut self.servers[s].queue,
            None => &mut self.queue,
        };
        match queue.iter().position(|p| p.session == session) {
            Some(pos) => {
                queue.remove(pos);
                self.queue_changed(server);
                true
            }
            None => false,
        }
    }

    /// Gives free slots of `server` to waiters: its own queue and, when it is balanced onto,
    /// the backend's queue, oldest first.
    fn serve_queues(&mut self, server: usize, grants: &mut Vec<Grant>) {
        let takes_backend_queue = self.members.contains(&server);
        let mut changed = false;
        while self.loads[server].has_slot() {
            let own = self.servers[server].queue.front().map(|p| p.since);
            let shared = if takes_backend_queue { self.queue.front().map(|p| p.since) } else { None };
            let pending = match (own, shared) {
                (Some(a), Some(b)) if b < a => self.queue.pop_front(),
                (Some(_), _) => self.servers[server].queue.pop_front(),
                (None, Some(_)) => self.queue.pop_front(),
                (None, None) => break,
            };
            let Some(pending) = pending else { break };
            self.loads[server].served += 1;
            grants.push(Grant { pending, backend: self.index, server });
            changed = true;
        }
        if changed {
            self.queue_changed(Some(server));
        }
    }

    fn queue_changed(&mut self, server: Option<usize>) {
        if let Some(s) = server {
            self.loads[s].queued = self.servers[s].queue.len() as u32;
            self.stats.servers[s].counters.set_queue(self.servers[s].queue.len());
        }
        let total = self.queue.len() + self.servers.iter().map(|s| s.queue.len()).sum::<usize>();
        self.stats.counters.set_queue(total);
    }

    /// Applies a health, admin or weight change and redistributes what it affects: the queue of
    /// a server that can no longer serve moves to the backend queue, and servers with free slots
    /// take waiters. Returns how many waiters were moved.
    fn apply_change(&mut self, server: usize, grants: &mut Vec<Grant>) -> usize {
        self.refresh_members();
        let mut requeued = 0;
        if !self.persistable(server) {
            let moved: Vec<Pending> = self.servers[server].queue.drain(..).collect();
            requeued = moved.len();
            self.queue.extend(moved);
            self.queue.make_contiguous().sort_by_key(|p| p.since);
            self.queue_changed(Some(server));
        }
        for s in self.members.clone() {
            self.serve_queues(s, grants);
        }
        if self.persistable(server) {
            self.serve_queues(server, grants);
        }
        let st = &self.stats.servers[server];
        if st.running() && !self.persistable(server) {
            st.stopped_epoch.fetch_add(1, Relaxed);
            self.stats.stopped_epoch.fetch_add(1, Relaxed);
        }
        st.up.store(self.servers[server].up, Relaxed);
        st.admin.store(admin_code(self.servers[server].admin), Relaxed);
        st.weight.store(self.loads[server].weight, Relaxed);
        requeued
    }

    pub fn set_health(&mut self, server: usize, up: bool, grants: &mut Vec<Grant>) -> Change {
        let before = self.servers[server].up;
        self.servers[server].up = up;
        let requeued = self.apply_change(server, grants);
        self.change(before != up, requeued)
    }

    pub fn set_admin(&mut self, server: usize, admin: AdminState, grants: &mut Vec<Grant>) -> Change {
        let before = self.servers[server].admin;
        self.servers[server].admin = admin;
        let requeued = self.apply_change(server, grants);
        self.change(before != admin, requeued)
    }

    /// Static algorithms only accept 0 and the configured weight, as in HAProxy.
    pub fn set_weight(&mut self, server: usize, weight: u32, grants: &mut Vec<Grant>) -> Result<Change, String> {
        let weight = weight.min(256);
        let configured = self.servers[server].configured_weight;
        if !self.active_balancer.dynamic_weights() && weight != 0 && weight != configured {
            return Err(format!("the backend uses a static balancing algorithm: only weights 0 and {configured} are accepted"));
        }
        let before = self.loads[server].weight;
        self.loads[server].weight = weight;
        let requeued = self.apply_change(server, grants);
        Ok(self.change(before != weight, requeued))
    }

    fn change(&self, changed: bool, requeued: usize) -> Change {
        let active = (0..self.servers.len()).filter(|&s| !self.servers[s].backup && self.balanced(s)).count();
        let backup = (0..self.servers.len()).filter(|&s| self.servers[s].backup && self.balanced(s)).count();
        let served = self.loads.iter().map(|l| l.served as usize).sum();
        let queued = self.queue.len() + self.servers.iter().map(|s| s.queue.len()).sum::<usize>();
        Change { changed, active, backup, served, requeued, queued }
    }
}

/// What a state change left behind, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub changed: bool,
    pub active: usize,
    pub backup: usize,
    pub served: usize,
    pub requeued: usize,
    pub queued: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::Stats;
    use crate::testkit::backend;
    use hakeeper_common::config::{Balance, Stick};
    use std::time::Duration;

    fn state(cfg: &Backend) -> BackendState {
        let stats = Stats::new(&[], std::slice::from_ref(cfg));
        BackendState::new(cfg, 0, stats.backends[0].clone(), 1)
    }

    fn waiter(n: u64, t0: Instant) -> Pending {
        Pending { thread: 0, key: n as usize, session: n, since: t0 + Duration::from_millis(n) }
    }

    fn client() -> IpAddr {
        "10.0.0.1".parse().unwrap()
    }

    #[test]
    fn down_server_gets_nothing_and_comes_back() {
        let cfg = backend(&[(1, 0, false), (1, 0, false)]);
        let mut b = state(&cfg);
        let t0 = Instant::now();
        let mut g = Vec::new();
        b.set_health(0, false, &mut g);
        for n in 0..4 {
            assert_eq!(b.assign(client(), None, waiter(n, t0), t0), Assignment::Server { server: 1, persistent: false });
        }
        let change = b.set_health(0, true, &mut g);
        assert!(change.changed);
        assert_eq!(change.active, 2);
        let picks: Vec<_> = (0..4).map(|n| b.assign(client(), None, waiter(n, t0), t0)).collect();
        assert!(picks.contains(&Assignment::Server { server: 0, persistent: false }));
    }

    #[test]
    fn backups_serve_only_when_all_actives_are_down() {
        let cfg = backend(&[(1, 0, false), (1, 0, true), (1, 0, true)]);
        let mut b = state(&cfg);
        let t0 = Instant::now();
        let mut g = Vec::new();
        assert_eq!(b.assign(client(), None, waiter(0, t0), t0), Assignment::Server { server: 0, persistent: false });
        b.set_health(0, false, &mut g);
        // Only the first backup without allbackups.
        for n in 0..4 {
            assert_eq!(b.assign(client(), None, waiter(n, t0), t0), Assignment::Server { server: 1, persistent: false });
        }
        let mut cfg = cfg;
        cfg.allbackups = true;
        let mut b = state(&cfg);
        b.set_health(0, false, &mut g);
        let picks: Vec<_> = (0..4).map(|n| b.assign(client(), None, waiter(n, t0), t0)).collect();
        assert!(
            picks.contains(&Assignment::Server { server: 1, persistent: false })
                && picks.contains(&Assignment::Server { server: 2, persistent: false })
        );
    }

    #[test]
    fn maxconn_queues_and_release_grants_the_oldest() {
        let cfg = backend(&[(1, 1, false)]);
        let mut b = state(&cfg);
        let t0 = Instant::now();
        assert_eq!(b.assign(client(), None, waiter(0, t0), t0), Assignment::Server { server: 0, persistent: false });
        assert_eq!(b.assign(client(), None, waiter(1, t0), t0), Assignment::Queued { server: None, ahead: 0 });
        assert_eq!(b.assign(client(), None, waiter(2, t0), t0), Assignment::Queued { server: None, ahead: 1 });
        assert!(b.withdraw(2, None));
        assert!(!b.withdraw(2, None));
        let mut g = Vec::new();
        b.release(0, &mut g);
        assert_eq!(g, vec![Grant { pending: waiter(1, t0), backend: 0, server: 0 }]);
        assert!(!b.server_has_slot(0));
    }

    #[test]
    fn a_stuck_client_returns_to_its_server_until_it_goes_down() {
        let mut cfg = backend(&[(1, 0, false), (1, 0, false)]);
        cfg.stick = Some(Stick { expire: Duration::from_secs(30), size: 10 });
        let mut b = state(&cfg);
        let t0 = Instant::now();
        b.stick_store(client(), 1, t0);
        for n in 0..3 {
            assert_eq!(b.assign(client(), None, waiter(n, t0), t0), Assignment::Server { server: 1, persistent: true });
        }
        let mut g = Vec::new();
        // Draining still takes persistent traffic.
        b.set_admin(1, AdminState::Drain, &mut g);
        assert_eq!(b.assign(client(), None, waiter(9, t0), t0), Assignment::Server { server: 1, persistent: true });
        b.set_health(1, false, &mut g);
        assert_eq!(b.assign(client(), None, waiter(10, t0), t0), Assignment::Server { server: 0, persistent: false });
        // Expired entries no longer apply.
        b.set_health(1, true, &mut g);
        b.set_admin(1, AdminState::Ready, &mut g);
        let late = b.assign(client(), None, waiter(11, t0), t0 + Duration::from_secs(31));
        assert!(matches!(late, Assignment::Server { persistent: false, .. }), "{late:?}");
    }

    #[test]
    fn a_server_going_down_hands_its_queue_to_the_others() {
        let cfg = backend(&[(1, 1, false), (1, 1, false)]);
        let mut b = state(&cfg);
        let t0 = Instant::now();
        let mut g = Vec::new();
        b.stick = Some(StickTable::new(Duration::from_secs(30), 10));
        b.stick_store(client(), 0, t0);
        assert_eq!(b.assign(client(), None, waiter(0, t0), t0), Assignment::Server { server: 0, persistent: true });
        assert_eq!(b.assign(client(), None, waiter(1, t0), t0), Assignment::Queued { server: Some(0), ahead: 0 });
        let change = b.set_health(0, false, &mut g);
        assert_eq!(change.requeued, 1);
        assert_eq!(g, vec![Grant { pending: waiter(1, t0), backend: 0, server: 1 }]);
    }

    #[test]
    fn static_algorithms_refuse_other_weights() {
        let mut cfg = backend(&[(2, 0, false)]);
        cfg.balance = Balance::StaticRr;
        let mut b = state(&cfg);
        let mut g = Vec::new();
        assert!(b.set_weight(0, 5, &mut g).is_err());
        assert!(b.set_weight(0, 0, &mut g).is_ok());
        assert_eq!(b.assign(client(), None, waiter(0, Instant::now()), Instant::now()), Assignment::NoServer);
        assert!(b.set_weight(0, 2, &mut g).is_ok());
    }
}
