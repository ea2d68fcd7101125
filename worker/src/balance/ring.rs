//! HAProxy's consistent-hash ring (`hash-type consistent`), shared by `balance source` and the
//! request-key hashes. Each member owns `weight × 16` points placed by its server id, as HAProxy's
//! `chash_init_server_tree()` places them; a key is first mixed with `full_hash` (HAProxy applies
//! its avalanche modifier by default with `hash-type consistent`) and goes to the nearest point
//! (before or after it, ties to the one before), as `chash_get_server_hash()` does. Only the keys
//! of a server that leaves (or joins) move.

use super::hash::full_hash;
use super::Pool;

/// Points per unit of weight, as HAProxy's BE_WEIGHT_SCALE.
const POINTS_PER_WEIGHT: u32 = 16;

#[derive(Debug, Default)]
pub struct Ring {
    /// (point, server index), sorted by point.
    points: Vec<(u32, usize)>,
}

impl Ring {
    /// Called after the set of members or their weights changed.
    pub fn rebuild(&mut self, pool: &Pool<'_>) {
        self.points.clear();
        for &i in pool.members {
            let s = &pool.servers[i];
            for point in 0..s.weight * POINTS_PER_WEIGHT {
                self.points.push((full_hash(s.id.wrapping_mul(256 * POINTS_PER_WEIGHT).wrapping_add(point)), i));
            }
        }
        self.points.sort_unstable();
    }

    /// The member nearest to `hash`. Like HAProxy, a full server is still chosen (the request
    /// waits in its queue); only `avoid` (a redispatch) walks on along the ring.
    pub fn pick(&self, pool: &Pool<'_>, key: u32, avoid: Option<usize>) -> Option<usize> {
        let n = self.points.len();
        if n == 0 {
            return None;
        }
        let hash = full_hash(key);
        let next = self.points.partition_point(|&(p, _)| p < hash) % n;
        let prev = (next + n - 1) % n;
        // Unsigned distances, wrapping around the ring as HAProxy's 32-bit arithmetic does.
        let before = hash.wrapping_sub(self.points[prev].0);
        let after = self.points[next].0.wrapping_sub(hash);
        let start = if before <= after { prev } else { next };
        let avoid = pool.effective_avoid(avoid);
        (0..n).map(|k| self.points[(start + k) % n].1).find(|&i| Some(i) != avoid)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn a_mixed_key_goes_to_the_nearest_point_on_either_side() {
        let s = servers(&[1, 1]);
        let m = all(&s);
        let pool = Pool { servers: &s, members: &m };
        let mut r = Ring::default();
        r.rebuild(&pool);
        assert_eq!(r.points.len(), 32);
        // The nearest point by unsigned distance on the 32-bit circle, found the slow way.
        let nearest = |hash: u32| {
            let dist = |p: u32| hash.wrapping_sub(p).min(p.wrapping_sub(hash));
            r.points.iter().min_by_key(|&&(p, _)| (dist(p), p.wrapping_sub(hash) < hash.wrapping_sub(p))).map(|&(_, i)| i)
        };
        for key in (0..5000u32).map(|k| k.wrapping_mul(858_993)) {
            assert_eq!(r.pick(&pool, key, None), nearest(full_hash(key)), "key {key}");
        }
    }

    #[test]
    fn avoid_walks_on_and_a_full_server_is_kept() {
        let mut s = servers(&[1, 1]);
        let m = all(&s);
        let mut r = Ring::default();
        r.rebuild(&Pool { servers: &s, members: &m });
        let home = r.pick(&Pool { servers: &s, members: &m }, 12345, None).unwrap();
        assert_eq!(r.pick(&Pool { servers: &s, members: &m }, 12345, Some(home)), Some(1 - home));
        s[home].maxconn = 1;
        s[home].served = 1;
        assert_eq!(r.pick(&Pool { servers: &s, members: &m }, 12345, None), Some(home), "HAProxy queues on the hashed server");
    }

    #[test]
    fn only_the_keys_of_a_removed_server_move() {
        let s = servers(&[1, 1, 1, 1]);
        let keys: Vec<u32> = (0..2000u32).map(full_hash).collect();
        let assign = |members: &[usize]| {
            let pool = Pool { servers: &s, members };
            let mut r = Ring::default();
            r.rebuild(&pool);
            keys.iter().map(|&k| r.pick(&pool, k, None).unwrap()).collect::<Vec<_>>()
        };
        let (before, after) = (assign(&[0, 1, 2, 3]), assign(&[0, 1, 3]));
        let mut moved = 0;
        for (b, a) in before.iter().zip(&after) {
            if *b == 2 {
                moved += 1;
                assert_ne!(*a, 2);
            } else {
                assert_eq!(a, b, "a key of a remaining server moved");
            }
        }
        assert!((250..750).contains(&moved), "{moved}");
    }
}
