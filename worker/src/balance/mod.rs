//! Which server gets the next connection. Which servers exist comes from the config, which are
//! usable from the checker and the operator (see `backend.rs`); this module only picks among the
//! usable ones it is shown. One file per algorithm behind [`Balancer`].

mod first;
mod hash;
mod key_map;
mod leastconn;
mod random;
mod ring;
mod roundrobin;
mod source;
mod static_rr;

pub use key_map::KeyMap;

use hakeeper_common::config::{Balance, HashType};
use std::net::IpAddr;

/// What a balancer may know about one server of the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLoad {
    /// HAProxy's server id: stable across reloads and hosts, so hashes agree between them.
    pub id: u32,
    /// Effective weight (0-256).
    pub weight: u32,
    /// Sessions holding a slot on the server (connecting or connected).
    pub served: u32,
    /// Sessions waiting in this server's own queue.
    pub queued: u32,
    /// 0 = unlimited.
    pub maxconn: u32,
}

impl ServerLoad {
    pub fn has_slot(&self) -> bool {
        self.maxconn == 0 || self.served < self.maxconn
    }

    /// leastconn's measure: sessions served or waiting.
    pub fn load(&self) -> u64 {
        u64::from(self.served) + u64::from(self.queued)
    }
}

/// The servers a pick may choose from: `members` index into `servers`.
pub struct Pool<'a> {
    pub servers: &'a [ServerLoad],
    pub members: &'a [usize],
}

impl Pool<'_> {
    /// The server to keep away from (a redispatch avoids the one that just failed), but only when
    /// another member could take the connection instead.
    fn effective_avoid(&self, avoid: Option<usize>) -> Option<usize> {
        let avoid = avoid?;
        let alternative = self.members.iter().any(|&i| i != avoid && self.servers[i].weight > 0 && self.servers[i].has_slot());
        alternative.then_some(avoid)
    }

    /// Members that may take a new balanced connection now.
    fn open(&self, i: usize, avoid: Option<usize>) -> bool {
        Some(i) != avoid && self.servers[i].weight > 0 && self.servers[i].has_slot()
    }
}

pub trait Balancer: Send {
    /// Picks a member for a new connection from `client`. `None` when every member is full (the
    /// caller queues the connection) or the pool is empty. Hash-based algorithms may return a full
    /// server: the connection then waits in that server's queue, as HAProxy's map-based hash does.
    fn pick(&mut self, pool: &Pool<'_>, client: IpAddr, avoid: Option<usize>) -> Option<usize>;

    /// Called after the set of members or their weights changed.
    fn rebuild(&mut self, pool: &Pool<'_>);

    /// Whether run-time weight changes take effect (HAProxy's static algorithms only accept 0%
    /// and 100%).
    fn dynamic_weights(&self) -> bool {
        true
    }

    /// HAProxy's "round-robin kind": a failed connect is redispatched at once when another server
    /// is active, since the choice of server did not matter.
    fn round_robin_kind(&self) -> bool {
        false
    }
}

/// The balancer for a backend's `balance` setting. HTTP-only algorithms fall back to roundrobin
/// in a TCP backend, as HAProxy does.
pub fn new_balancer(balance: &Balance, hash_type: HashType, seed: u64) -> Box<dyn Balancer> {
    match balance {
        Balance::Roundrobin | Balance::Uri | Balance::Hdr(_) | Balance::UrlParam(_) => Box::new(roundrobin::RoundRobin::default()),
        Balance::StaticRr => Box::new(static_rr::StaticRr::default()),
        Balance::Leastconn => Box::new(leastconn::LeastConn::default()),
        Balance::First => Box::new(first::First::default()),
        Balance::Source => Box::new(source::Source::new(hash_type)),
        Balance::Random => Box::new(random::Random::new(seed)),
    }
}

/// The members' map by weight, slot for slot as HAProxy's `recalc_server_map()` builds it:
/// for each slot every member gains its weight, the slot goes to the first declared member with
/// the highest `(score + total) / total` (integer division), which then loses `total`. static-rr
/// walks this map and the map-based hashes index it, so the same keys reach the same servers as
/// under HAProxy.
fn weighted_sequence(pool: &Pool<'_>) -> Vec<usize> {
    let weighted: Vec<usize> = pool.members.iter().copied().filter(|&i| pool.servers[i].weight > 0).collect();
    let total: i64 = weighted.iter().map(|&i| i64::from(pool.servers[i].weight)).sum();
    if total == 1 {
        return weighted;
    }
    let mut score = vec![0i64; weighted.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best: Option<(usize, i64)> = None;
        for (k, &i) in weighted.iter().enumerate() {
            score[k] += i64::from(pool.servers[i].weight);
            let v = (score[k] + total) / total;
            if best.is_none_or(|(_, max)| v > max) {
                best = Some((k, v));
            }
        }
        if let Some((k, _)) = best {
            score[k] -= total;
            out.push(weighted[k]);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod testkit {
    use super::*;

    pub fn servers(weights: &[u32]) -> Vec<ServerLoad> {
        weights.iter().enumerate().map(|(i, &w)| ServerLoad { id: i as u32 + 1, weight: w, served: 0, queued: 0, maxconn: 0 }).collect()
    }

    pub fn all(servers: &[ServerLoad]) -> Vec<usize> {
        (0..servers.len()).collect()
    }

    pub fn client(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    /// Counts picks per server over `n` picks, releasing each connection at once.
    pub fn distribution(b: &mut dyn Balancer, servers: &[ServerLoad], n: usize) -> Vec<usize> {
        let members = all(servers);
        let pool = Pool { servers, members: &members };
        b.rebuild(&pool);
        let mut counts = vec![0; servers.len()];
        for k in 0..n {
            if let Some(i) = b.pick(&pool, client(k as u32), None) {
                counts[i] += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[test]
    fn weighted_sequence_is_haproxys_server_map() {
        let map = |weights: &[u32]| {
            let s = servers(weights);
            let m = all(&s);
            weighted_sequence(&Pool { servers: &s, members: &m })
        };
        // Worked through recalc_server_map() by hand: the first declared server wins ties.
        assert_eq!(map(&[2, 1]), vec![0, 0, 1]);
        assert_eq!(map(&[3, 1]), vec![0, 0, 0, 1]);
        assert_eq!(map(&[1, 3]), vec![0, 1, 1, 1]);
        assert_eq!(map(&[1, 1, 1]), vec![0, 1, 2]);
        assert_eq!(map(&[3, 2, 1]), vec![0, 0, 1, 0, 1, 2]);
        assert_eq!(map(&[0, 1]), vec![1], "weight 0 takes no slot");
        assert_eq!(map(&[0, 0]), Vec::<usize>::new());
    }

    #[test]
    fn avoid_only_applies_when_there_is_an_alternative() {
        let mut s = servers(&[1, 1]);
        let m = all(&s);
        assert_eq!(Pool { servers: &s, members: &m }.effective_avoid(Some(0)), Some(0));
        s[1].maxconn = 1;
        s[1].served = 1;
        assert_eq!(Pool { servers: &s, members: &m }.effective_avoid(Some(0)), None);
    }
}
