//! Waits bounded in time: every test bounds how long it waits.

use std::time::{Duration, Instant};

/// Polls `cond` every 20 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_true_or_the_time_is_up() {
        let start = Instant::now();
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(5), || {
            n += 1;
            n == 3
        }));
        assert!(start.elapsed() < Duration::from_secs(5));
        let start = Instant::now();
        assert!(!wait_until(Duration::from_millis(100), || false));
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
