//! `balance source`: the client address decides the server.
//!
//! - [`SourceMap`] (`hash-type map-based`, the default): `map[key % total_weight]` over the
//!   members, so any change of the member set moves most clients (HAProxy's behaviour).
//! - [`SourceConsistent`] (`hash-type consistent`): each member owns `weight × 16` points on a
//!   ring placed by its server id; a client goes to the first point at or after its hashed key,
//!   so only the clients of a server that leaves (or joins) move. Keys are always mixed with
//!   `full_hash` first, so clients from one subnet still spread over the ring.

use super::hash::{full_hash, source_key};
use super::{weighted_sequence, Balancer, Pool};
use std::net::IpAddr;

#[derive(Default)]
pub struct SourceMap {
    map: Vec<usize>,
}

impl Balancer for SourceMap {
    fn pick(&mut self, pool: &Pool<'_>, client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        if self.map.is_empty() {
            return None;
        }
        let avoid = pool.effective_avoid(avoid);
        let start = source_key(client) as usize % self.map.len();
        // The hashed server even when full (the connection then waits in its queue); only a
        // redispatch walks on to another one.
        (0..self.map.len()).map(|k| self.map[(start + k) % self.map.len()]).find(|&i| Some(i) != avoid)
    }

    fn rebuild(&mut self, pool: &Pool<'_>) {
        self.map = weighted_sequence(pool);
    }

    fn dynamic_weights(&self) -> bool {
        false
    }
}

/// Points per unit of weight, as HAProxy's BE_WEIGHT_SCALE.
const POINTS_PER_WEIGHT: u32 = 16;

#[derive(Default)]
pub struct SourceConsistent {
    /// (point, server index), sorted by point.
    ring: Vec<(u32, usize)>,
}

impl Balancer for SourceConsistent {
    fn pick(&mut self, pool: &Pool<'_>, client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        if self.ring.is_empty() {
            return None;
        }
        let avoid = pool.effective_avoid(avoid);
        let key = full_hash(source_key(client));
        let start = self.ring.partition_point(|&(p, _)| p < key);
        let n = self.ring.len();
        let mut fallback = None;
        for k in 0..n {
            let i = self.ring[(start + k) % n].1;
            if Some(i) == avoid {
                continue;
            }
            if pool.servers[i].has_slot() {
                return Some(i);
            }
            fallback.get_or_insert(i);
        }
        // Every member full: queue on the client's own server.
        fallback
    }

    fn rebuild(&mut self, pool: &Pool<'_>) {
        self.ring.clear();
        for &i in pool.members {
            let s = &pool.servers[i];
            for point in 0..s.weight * POINTS_PER_WEIGHT {
                self.ring.push((full_hash(s.id.wrapping_mul(256 * POINTS_PER_WEIGHT).wrapping_add(point)), i));
            }
        }
        self.ring.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn assign_all(b: &mut dyn Balancer, s: &[super::super::ServerLoad], members: &[usize], clients: u32) -> Vec<usize> {
        let pool = Pool { servers: s, members };
        b.rebuild(&pool);
        (0..clients).map(|c| b.pick(&pool, client(c), None).unwrap()).collect()
    }

    #[test]
    fn map_based_keeps_a_client_on_one_server() {
        let s = servers(&[1, 1, 1]);
        let m = all(&s);
        let mut b = SourceMap::default();
        let first = assign_all(&mut b, &s, &m, 30);
        assert_eq!(first, assign_all(&mut b, &s, &m, 30));
        let mut per = [0; 3];
        first.iter().for_each(|&i| per[i] += 1);
        assert_eq!(per, [10, 10, 10]);
    }

    #[test]
    fn consistent_moves_only_the_clients_of_a_removed_server() {
        let s = servers(&[1, 1, 1, 1]);
        let mut b = SourceConsistent::default();
        let before = assign_all(&mut b, &s, &[0, 1, 2, 3], 1000);
        let after = assign_all(&mut b, &s, &[0, 1, 3], 1000);
        let mut moved_from_2 = 0;
        for (b, a) in before.iter().zip(&after) {
            if *b == 2 {
                moved_from_2 += 1;
                assert_ne!(*a, 2);
            } else {
                assert_eq!(a, b, "a client of a remaining server moved");
            }
        }
        // Each server holds a fair share of the ring.
        assert!((150..350).contains(&moved_from_2), "{moved_from_2}");
        // And they come back when the server returns.
        assert_eq!(before, assign_all(&mut b, &s, &[0, 1, 2, 3], 1000));
    }

    #[test]
    fn map_based_moves_many_clients_on_removal() {
        let s = servers(&[1, 1, 1, 1]);
        let mut b = SourceMap::default();
        let before = assign_all(&mut b, &s, &[0, 1, 2, 3], 1000);
        let after = assign_all(&mut b, &s, &[0, 1, 3], 1000);
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        assert!(moved > 500, "{moved}");
    }

    #[test]
    fn consistent_skips_a_full_server_and_avoid() {
        let mut s = servers(&[1, 1]);
        let m = all(&s);
        let mut b = SourceConsistent::default();
        b.rebuild(&Pool { servers: &s, members: &m });
        let home = b.pick(&Pool { servers: &s, members: &m }, client(7), None).unwrap();
        assert_eq!(b.pick(&Pool { servers: &s, members: &m }, client(7), Some(home)), Some(1 - home));
        s[home].maxconn = 1;
        s[home].served = 1;
        assert_eq!(b.pick(&Pool { servers: &s, members: &m }, client(7), None), Some(1 - home));
    }
}
