//! systemd's watchdog, fed by the supervisor only while its children answer: every half
//! interval each child gets a ping; `WATCHDOG=1` goes out only if every child answered the
//! previous round. A child that stops reading (a wedged event loop) thus starves the watchdog
//! and systemd restarts the service, as it would for a wedged supervisor.

use std::collections::HashSet;
use std::time::{Duration, Instant};

pub struct Watchdog {
    every: Duration,
    next: Instant,
    seq: u64,
    /// Children that have not answered the current round's ping.
    owed: HashSet<i32>,
}

/// What a due round does.
#[derive(Debug, PartialEq, Eq)]
pub struct Round {
    /// Every child answered the previous round: send `WATCHDOG=1`.
    pub feed: bool,
    /// The ping to send to every child now.
    pub ping: u64,
}

impl Watchdog {
    /// For systemd's `WatchdogSec` of `interval`: rounds at half of it, the first one now.
    pub fn new(interval: Duration, now: Instant) -> Watchdog {
        Watchdog { every: interval / 2, next: now, seq: 0, owed: HashSet::new() }
    }

    pub fn next(&self) -> Instant {
        self.next
    }

    /// The round due at `now` for the children `pids`, if one is due.
    pub fn tick(&mut self, now: Instant, pids: &[i32]) -> Option<Round> {
        if now < self.next {
            return None;
        }
        let feed = self.owed.is_empty();
        if !feed {
            log::warn!("watchdog: no answer from pid {:?} within {:?}; not telling systemd all is well", self.owed, self.every);
        }
        self.seq += 1;
        self.owed = pids.iter().copied().collect();
        self.next = now + self.every;
        Some(Round { feed, ping: self.seq })
    }

    /// `pid` answered ping `seq`.
    pub fn pong(&mut self, pid: i32, seq: u64) {
        if seq == self.seq {
            self.owed.remove(&pid);
        }
    }

    /// `pid` exited: it owes nothing (the restart policy deals with it).
    pub fn gone(&mut self, pid: i32) {
        self.owed.remove(&pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fed_only_while_every_child_answers() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = Watchdog::new(ms(1000), t0);
        assert_eq!(w.tick(t0, &[10, 20]), Some(Round { feed: true, ping: 1 }), "first round: nothing owed yet");
        assert_eq!(w.tick(t0 + ms(100), &[10, 20]), None, "not due before half the interval");
        w.pong(10, 1);
        w.pong(20, 1);
        assert_eq!(w.tick(t0 + ms(500), &[10, 20]), Some(Round { feed: true, ping: 2 }));
        w.pong(10, 2);
        w.pong(20, 1); // a late answer to an older round counts for nothing
        assert_eq!(w.tick(t0 + ms(1000), &[10, 20]), Some(Round { feed: false, ping: 3 }), "pid 20 is wedged");
        w.pong(10, 3);
        w.gone(20);
        assert_eq!(w.tick(t0 + ms(1500), &[10]), Some(Round { feed: true, ping: 4 }), "a child that exited owes nothing");
    }
}
