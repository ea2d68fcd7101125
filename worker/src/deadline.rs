//! Session deadlines, checked once per loop turn instead of one timer per event.
//!
//! Entries are lazy: activity only moves a session's deadline later in the session itself (a
//! plain field write), and an entry that fires early is re-armed at the session's real deadline.
//! A session pushes a new entry only when its deadline moves earlier than the one it has queued.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The moment `timeout` after `at`; a zero timeout means "none", as an unset HAProxy timeout.
pub fn after(at: Instant, timeout: Duration) -> Option<Instant> {
    (!timeout.is_zero()).then(|| at + timeout)
}

/// Which session an entry wakes: its slab key and its unique id (the key may have been reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wake {
    pub key: usize,
    pub session: u64,
}

#[derive(Default)]
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, Wake)>>,
}

impl Deadlines {
    pub fn push(&mut self, at: Instant, wake: Wake) {
        self.heap.push(Reverse((at, wake)));
    }

    /// The next entry due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, Wake)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// How long the poll may sleep before the next entry is due (`None`: no entry).
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        // Rounded up to whole milliseconds, so a wake-up is never a few microseconds early.
        self.heap.peek().map(|Reverse((at, _))| {
            let d = at.saturating_duration_since(now);
            let ms = d.as_micros().div_ceil(1000) as u64;
            Duration::from_millis(ms)
        })
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Where a session stands with the deadline structure: the earliest entry it has queued.
#[derive(Debug, Default, Clone, Copy)]
pub struct Armed(Option<Instant>);

impl Armed {
    /// Queues an entry for `next` if nothing earlier is queued already.
    pub fn schedule(&mut self, next: Option<Instant>, wake: Wake, deadlines: &mut Deadlines) {
        if let Some(at) = next {
            if self.0.is_none_or(|queued| at < queued) {
                deadlines.push(at, wake);
                self.0 = Some(at);
            }
        }
    }

    /// An entry fired: forget it if it was the one we relied on.
    pub fn fired(&mut self, at: Instant) {
        if self.0 == Some(at) {
            self.0 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_come_out_in_order() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        d.push(t0 + Duration::from_millis(20), Wake { key: 2, session: 2 });
        d.push(t0 + Duration::from_millis(10), Wake { key: 1, session: 1 });
        assert_eq!(d.timeout(t0), Some(Duration::from_millis(10)));
        assert!(d.pop_due(t0).is_none());
        let (_, w) = d.pop_due(t0 + Duration::from_millis(25)).unwrap();
        assert_eq!(w.key, 1);
        assert_eq!(d.pop_due(t0 + Duration::from_millis(25)).unwrap().1.key, 2);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn a_later_deadline_queues_nothing_new() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        let mut a = Armed::default();
        let w = Wake { key: 0, session: 0 };
        a.schedule(Some(t0 + Duration::from_secs(5)), w, &mut d);
        a.schedule(Some(t0 + Duration::from_secs(9)), w, &mut d);
        assert_eq!(d.len(), 1);
        a.schedule(Some(t0 + Duration::from_secs(1)), w, &mut d);
        assert_eq!(d.len(), 2);
        a.fired(t0 + Duration::from_secs(1));
        a.schedule(Some(t0 + Duration::from_secs(9)), w, &mut d);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn timeout_rounds_up_to_a_millisecond() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        d.push(t0 + Duration::from_micros(1500), Wake { key: 0, session: 0 });
        assert_eq!(d.timeout(t0), Some(Duration::from_millis(2)));
    }
}
