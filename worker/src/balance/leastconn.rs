//! `balance leastconn`: the member with the lowest (served + queued) / weight; among equals the
//! next one after the last pick, so idle servers take turns (HAProxy re-inserts a server behind
//! its equals).

use super::{Balancer, Pool};
use std::cmp::Ordering;
use std::net::IpAddr;

#[derive(Default)]
pub struct LeastConn {
    last: Option<usize>,
}

/// Compares load_a/weight_a with load_b/weight_b without division.
fn lighter(pool: &Pool<'_>, a: usize, b: usize) -> Ordering {
    let (sa, sb) = (&pool.servers[a], &pool.servers[b]);
    (sa.load() * u64::from(sb.weight)).cmp(&(sb.load() * u64::from(sa.weight)))
}

impl Balancer for LeastConn {
    fn pick(&mut self, pool: &Pool<'_>, _client: IpAddr, avoid: Option<usize>) -> Option<usize> {
        let avoid = pool.effective_avoid(avoid);
        let n = pool.members.len();
        let start = self.last.and_then(|l| pool.members.iter().position(|&m| m == l)).map_or(0, |p| p + 1);
        let mut best: Option<usize> = None;
        for k in 0..n {
            let i = pool.members[(start + k) % n];
            if !pool.open(i, avoid) {
                continue;
            }
            if best.is_none_or(|b| lighter(pool, i, b) == Ordering::Less) {
                best = Some(i);
            }
        }
        if best.is_some() {
            self.last = best;
        }
        best
    }

    fn rebuild(&mut self, _pool: &Pool<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn new_connection_goes_to_the_idle_server() {
        let mut s = servers(&[1, 1, 1]);
        s[0].served = 3;
        s[2].served = 1;
        let m = all(&s);
        let mut lc = LeastConn::default();
        assert_eq!(lc.pick(&Pool { servers: &s, members: &m }, client(0), None), Some(1));
    }

    #[test]
    fn ties_rotate() {
        let s = servers(&[1, 1, 1]);
        assert_eq!(distribution(&mut LeastConn::default(), &s, 9), vec![3, 3, 3]);
    }

    #[test]
    fn weight_scales_the_load() {
        let mut s = servers(&[4, 1]);
        s[0].served = 3;
        s[1].served = 1;
        let m = all(&s);
        // 3/4 < 1/1
        assert_eq!(LeastConn::default().pick(&Pool { servers: &s, members: &m }, client(0), None), Some(0));
    }

    #[test]
    fn queued_sessions_count_as_load() {
        let mut s = servers(&[1, 1]);
        s[0].queued = 2;
        s[1].served = 1;
        let m = all(&s);
        assert_eq!(LeastConn::default().pick(&Pool { servers: &s, members: &m }, client(0), None), Some(1));
    }
}
