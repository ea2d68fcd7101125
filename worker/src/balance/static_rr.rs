//! `balance static-rr`: a fixed map of the members interleaved by weight, walked by a cursor.
//! The map is rebuilt only when members come or go; weights are the configured ones (run-time
//! changes other than 0 and back are refused upstream, as in HAProxy).

use super::{weighted_sequence, Balancer, Pool};
use std::net::IpAddr;

#[derive(Default)]
pub struct StaticRr {
    map: Vec<usize>,
    cursor: usize,
}

impl Balancer for StaticRr {
    fn pick(&mut self, pool: &Pool<'_>, _client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        let avoid = pool.effective_avoid(avoid);
        for _ in 0..self.map.len() {
            let i = self.map[self.cursor % self.map.len()];
            self.cursor = (self.cursor + 1) % self.map.len();
            if pool.open(i, avoid) {
                return Some(i);
            }
        }
        None
    }

    fn rebuild(&mut self, pool: &Pool<'_>) {
        self.map = weighted_sequence(pool);
        self.cursor = 0;
    }

    fn dynamic_weights(&self) -> bool {
        false
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
    fn follows_the_weighted_map() {
        let s = servers(&[1, 1, 1]);
        assert_eq!(distribution(&mut StaticRr::default(), &s, 600), vec![200, 200, 200]);
        let s = servers(&[5, 3]);
        assert_eq!(distribution(&mut StaticRr::default(), &s, 80), vec![50, 30]);
    }

    #[test]
    fn full_servers_are_passed_over() {
        let mut s = servers(&[1, 1]);
        s[0].maxconn = 2;
        s[0].served = 2;
        assert_eq!(distribution(&mut StaticRr::default(), &s, 6), vec![0, 6]);
    }
}
