//! `balance roundrobin`: smooth weighted round-robin. Each pick adds every open member's weight
//! to its credit, takes the member with the most credit and charges it the total, so a 5:3 pair
//! alternates as evenly as the weights allow. Weights may change at run time; a member that is
//! full (maxconn) is skipped without earning credit, as HAProxy skips saturated servers.

use super::{Balancer, Pool};
use std::net::IpAddr;

#[derive(Default)]
pub struct RoundRobin {
    credit: Vec<i64>,
}

impl Balancer for RoundRobin {
    fn pick(&mut self, pool: &Pool<'_>, _client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        let avoid = pool.effective_avoid(avoid);
        if self.credit.len() < pool.servers.len() {
            self.credit.resize(pool.servers.len(), 0);
        }
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for &i in pool.members {
            if !pool.open(i, avoid) {
                continue;
            }
            let w = i64::from(pool.servers[i].weight);
            self.credit[i] += w;
            total += w;
            if best.is_none_or(|b| self.credit[i] > self.credit[b]) {
                best = Some(i);
            }
        }
        if let Some(b) = best {
            self.credit[b] -= total;
        }
        best
    }

    fn rebuild(&mut self, pool: &Pool<'_>) {
        self.credit.resize(pool.servers.len(), 0);
        // A server leaving the pool forgets its credit, so it restarts evenly when it returns.
        for (i, c) in self.credit.iter_mut().enumerate() {
            if !pool.members.contains(&i) {
                *c = 0;
            }
        }
    }

    fn round_robin_kind(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn equal_weights_share_exactly() {
        let s = servers(&[1, 1, 1]);
        assert_eq!(distribution(&mut RoundRobin::default(), &s, 600), vec![200, 200, 200]);
    }

    #[test]
    fn weights_five_to_three_hold_at_every_prefix() {
        let s = servers(&[5, 3]);
        let m = all(&s);
        let pool = Pool { servers: &s, members: &m };
        let mut rr = RoundRobin::default();
        let mut counts = [0f64; 2];
        for n in 1..=80 {
            let i = rr.pick(&pool, client(0), None).unwrap();
            counts[i] += 1.0;
            // Within one connection of the exact 5:3 share at every point.
            assert!((counts[0] - n as f64 * 5.0 / 8.0).abs() <= 1.0, "after {n}: {counts:?}");
        }
        assert_eq!(counts, [50.0, 30.0]);
    }

    #[test]
    fn weight_zero_and_full_servers_are_skipped() {
        let mut s = servers(&[1, 0, 1]);
        s[2].maxconn = 1;
        s[2].served = 1;
        assert_eq!(distribution(&mut RoundRobin::default(), &s, 10), vec![10, 0, 0]);
    }

    #[test]
    fn avoid_sends_the_retry_elsewhere() {
        let s = servers(&[1, 1]);
        let m = all(&s);
        let pool = Pool { servers: &s, members: &m };
        let mut rr = RoundRobin::default();
        for _ in 0..5 {
            assert_eq!(rr.pick(&pool, client(0), Some(0)), Some(1));
        }
    }

    #[test]
    fn weight_change_applies_at_once() {
        let mut s = servers(&[1, 1]);
        let m = all(&s);
        let mut rr = RoundRobin::default();
        s[0].weight = 3;
        let pool = Pool { servers: &s, members: &m };
        rr.rebuild(&pool);
        let mut counts = [0; 2];
        for _ in 0..40 {
            counts[rr.pick(&pool, client(0), None).unwrap()] += 1;
        }
        assert_eq!(counts, [30, 10]);
    }
}
