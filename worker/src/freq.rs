//! Events per second, as HAProxy's `freq_ctr` (`src/freq_ctr.c`): a count for the current
//! second and one for the previous; the rate read is the current count plus the previous one
//! weighted by what is left of the current second, so a burst shows at its size for about a
//! second, then fades. The highest per-second count is kept when events are added (HAProxy's
//! `sps_max` / `rate_max`). Shared by every event-loop thread: atomics, no lock; two threads
//! turning the second over at once may lose a few events of that instant, as a reading.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Where the counters' seconds are counted from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

thread_local! {
    /// The event loop's time of this thread, set once per poll (HAProxy's `now_ms`, updated
    /// once per polling loop): every counter and stick-table touch of one turn reads it instead
    /// of the clock. Unset outside an event loop.
    static LOOP_NOW: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

/// Time since [`EPOCH`]: the counters' clock (the loop's time inside an event loop).
pub fn clock() -> Duration {
    LOOP_NOW.with(|n| n.get()).unwrap_or_else(|| EPOCH.elapsed())
}

/// Sets this thread's loop time to `now` (after each poll); `None` when the loop ends.
pub fn set_loop_now(now: Option<Instant>) {
    LOOP_NOW.with(|n| n.set(now.map(|t| t.saturating_duration_since(*EPOCH))));
}

#[derive(Debug, Default)]
pub struct FreqCtr {
    /// The second `curr` counts (seconds since [`EPOCH`]).
    second: AtomicU64,
    curr: AtomicU64,
    prev: AtomicU64,
    /// Highest count reached within one second.
    max: AtomicU64,
}

impl FreqCtr {
    /// One event now.
    pub fn add(&self) {
        self.add_at(clock());
    }

    pub fn add_at(&self, now: Duration) {
        self.turn(now.as_secs());
        let count = self.curr.fetch_add(1, Relaxed) + 1;
        self.max.fetch_max(count, Relaxed);
    }

    /// Moves to second `now`: the current count becomes the previous one if `now` is the next
    /// second, and both are forgotten after a quiet second.
    fn turn(&self, now: u64) {
        let second = self.second.load(Relaxed);
        if now <= second || self.second.compare_exchange(second, now, Relaxed, Relaxed).is_err() {
            return;
        }
        let curr = self.curr.swap(0, Relaxed);
        self.prev.store(if now == second + 1 { curr } else { 0 }, Relaxed);
    }

    /// Events per second now.
    pub fn rate(&self) -> u64 {
        self.rate_at(clock())
    }

    pub fn rate_at(&self, now: Duration) -> u64 {
        let second = self.second.load(Relaxed);
        let (curr, prev) = (self.curr.load(Relaxed), self.prev.load(Relaxed));
        // What is left of the current second weighs the previous second's count.
        let left = 1.0 - f64::from(now.subsec_nanos()) / 1e9;
        let now = now.as_secs();
        let rate = if now == second {
            curr as f64 + prev as f64 * left
        } else if now == second + 1 {
            curr as f64 * left
        } else {
            0.0
        };
        rate.round() as u64
    }

    /// The highest number of events seen within one second.
    pub fn max(&self) -> u64 {
        self.max.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_a_loop_turn_the_clock_is_the_loops_time() {
        let turn = Instant::now();
        set_loop_now(Some(turn));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock(), turn.saturating_duration_since(*EPOCH), "one reading per poll, as HAProxy's now_ms");
        set_loop_now(None);
        assert!(clock() >= turn.saturating_duration_since(*EPOCH) + Duration::from_millis(20), "outside a loop: the clock");
    }

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_burst_shows_at_its_size_then_fades_over_the_next_second() {
        let f = FreqCtr::default();
        for _ in 0..97 {
            f.add_at(at(10_200));
        }
        assert_eq!(f.rate_at(at(10_300)), 97, "read in the same second");
        assert_eq!(f.rate_at(at(11_000)), 97, "at the turn of the second");
        assert_eq!(f.rate_at(at(11_250)), 73, "a quarter into the next: three quarters of it");
        assert_eq!(f.rate_at(at(11_900)), 10);
        assert_eq!(f.rate_at(at(12_100)), 0, "gone after a quiet second");
        assert_eq!(f.max(), 97);
    }

    #[test]
    fn a_steady_rate_reads_as_itself() {
        let f = FreqCtr::default();
        // 50 events per second, evenly spread, for three seconds.
        for i in 0..150 {
            f.add_at(at(20_000 + i * 20));
        }
        let r = f.rate_at(at(22_990));
        assert!((49..=51).contains(&r), "{r}");
        assert_eq!(f.max(), 50);
        // A second with no events, then one: the previous count is forgotten, not carried.
        f.add_at(at(24_500));
        assert_eq!(f.rate_at(at(24_600)), 1);
    }
}
