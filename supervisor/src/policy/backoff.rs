//! When to restart a child that exited, and when a worker that keeps exiting means this node
//! should give up its VIPs (what the seed's haproxy_check.sh did, but measured, not polled).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Exit history of one role.
#[derive(Debug)]
pub struct RestartPolicy {
    exits: VecDeque<Instant>,
    limit: u32,
    window: Duration,
}

impl RestartPolicy {
    pub fn new(limit: u32, window: Duration) -> Self {
        RestartPolicy { exits: VecDeque::new(), limit: limit.max(1), window }
    }

    /// Records an unexpected exit at `now`; returns how long to wait before restarting. The
    /// first exit in a window restarts at once; each further one doubles the wait, capped.
    pub fn on_exit(&mut self, now: Instant) -> Duration {
        self.forget_before(now);
        self.exits.push_back(now);
        match self.exits.len() {
            0 | 1 => Duration::ZERO,
            n => FIRST_BACKOFF.saturating_mul(1 << (n - 2).min(16)).min(MAX_BACKOFF),
        }
    }

    /// True while the role exited `limit` times or more within the window.
    pub fn failing(&mut self, now: Instant) -> bool {
        self.forget_before(now);
        self.exits.len() >= self.limit as usize
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some(first) = self.exits.front() {
            if now.duration_since(*first) > self.window {
                self.exits.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_exit_restarts_at_once_then_backoff_doubles_and_caps() {
        let mut p = RestartPolicy::new(5, Duration::from_secs(30));
        let t = Instant::now();
        assert_eq!(p.on_exit(t), Duration::ZERO);
        assert_eq!(p.on_exit(t), Duration::from_millis(100));
        assert_eq!(p.on_exit(t), Duration::from_millis(200));
        assert_eq!(p.on_exit(t), Duration::from_millis(400));
        for _ in 0..20 {
            p.on_exit(t);
        }
        assert_eq!(p.on_exit(t), MAX_BACKOFF);
    }

    #[test]
    fn limit_within_window_means_failing_and_old_exits_are_forgotten() {
        let mut p = RestartPolicy::new(3, Duration::from_secs(10));
        let t = Instant::now();
        p.on_exit(t);
        p.on_exit(t + Duration::from_secs(1));
        assert!(!p.failing(t + Duration::from_secs(1)));
        p.on_exit(t + Duration::from_secs(2));
        assert!(p.failing(t + Duration::from_secs(2)));
        assert!(!p.failing(t + Duration::from_secs(12)), "exits older than the window no longer count");
        assert_eq!(p.on_exit(t + Duration::from_secs(30)), Duration::ZERO, "a lone exit after a quiet window restarts at once");
    }
}
