//! `balance random`: two weighted random draws, and the less loaded of the two wins (HAProxy's
//! default `random(2)`, "power of two choices").

use super::{Balancer, Pool};
use std::net::IpAddr;

pub struct Random {
    state: u64,
    open: Vec<usize>,
}

impl Random {
    pub fn new(seed: u64) -> Self {
        Random { state: seed | 1, open: Vec::new() }
    }

    /// xorshift64*: fast and good enough to spread connections.
    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn draw(&mut self, pool: &Pool<'_>, total: u64) -> usize {
        let mut r = self.next() % total;
        for &i in &self.open {
            let w = u64::from(pool.servers[i].weight);
            if r < w {
                return i;
            }
            r -= w;
        }
        self.open[self.open.len() - 1]
    }
}

impl Balancer for Random {
    fn pick(&mut self, pool: &Pool<'_>, _client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        let avoid = pool.effective_avoid(avoid);
        self.open.clear();
        self.open.extend(pool.members.iter().copied().filter(|&i| pool.open(i, avoid)));
        let total: u64 = self.open.iter().map(|&i| u64::from(pool.servers[i].weight)).sum();
        if total == 0 {
            return None;
        }
        let a = self.draw(pool, total);
        let b = self.draw(pool, total);
        let (sa, sb) = (&pool.servers[a], &pool.servers[b]);
        // Lower load per weight wins.
        if sb.load() * u64::from(sa.weight) < sa.load() * u64::from(sb.weight) {
            Some(b)
        } else {
            Some(a)
        }
    }

    fn rebuild(&mut self, _pool: &Pool<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn spreads_by_weight() {
        let s = servers(&[1, 3]);
        let counts = distribution(&mut Random::new(42), &s, 4000);
        assert!((800..1200).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn prefers_the_less_loaded_of_two_draws() {
        let mut s = servers(&[1, 1]);
        s[0].served = 50;
        let m = all(&s);
        let mut r = Random::new(7);
        let picks: Vec<_> = (0..100).map(|_| r.pick(&Pool { servers: &s, members: &m }, client(0), None).unwrap()).collect();
        // Server 0 only wins when both draws hit it (about a quarter of the time).
        let zero = picks.iter().filter(|&&i| i == 0).count();
        assert!(zero < 45, "{zero}");
    }
}
