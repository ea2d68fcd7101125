//! A small xorshift generator for spreading first checks; seeded from the standard library's
//! per-process random hash keys, so no extra dependency is needed for a non-secret jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

pub struct Rng(u64);

impl Rng {
    pub fn from_entropy() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        Rng(h.finish() | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniformly spread duration in `[0, max)` (millisecond steps are plenty for checks).
    pub fn below(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros().min(u64::MAX as u128) as u64;
        if micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.next_u64() % micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_stays_in_range_and_varies() {
        let mut r = Rng::from_entropy();
        let max = Duration::from_millis(1000);
        let picks: Vec<Duration> = (0..200).map(|_| r.below(max)).collect();
        assert!(picks.iter().all(|d| *d < max));
        let early = picks.iter().filter(|d| **d < max / 2).count();
        assert!((50..150).contains(&early), "{early} of 200 in the first half");
        assert_eq!(r.below(Duration::ZERO), Duration::ZERO);
    }
}
