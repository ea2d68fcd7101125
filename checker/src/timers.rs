//! Deadlines for the event loop: a binary heap with lazy cancellation, one live deadline per key.
//! Rescheduling a key leaves its old heap entry behind; it is skipped when it surfaces.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

pub struct TimerQueue<K> {
    heap: BinaryHeap<Reverse<(Instant, u64, K)>>,
    live: HashMap<K, u64>,
    next_seq: u64,
}

impl<K: Copy + Eq + Hash + Ord> TimerQueue<K> {
    pub fn new() -> Self {
        TimerQueue { heap: BinaryHeap::new(), live: HashMap::new(), next_seq: 0 }
    }

    /// Sets (or moves) `key`'s deadline.
    pub fn schedule(&mut self, key: K, at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.live.insert(key, seq);
        self.heap.push(Reverse((at, seq, key)));
    }

    pub fn cancel(&mut self, key: K) {
        self.live.remove(&key);
    }

    fn is_live(&self, seq: u64, key: &K) -> bool {
        self.live.get(key) == Some(&seq)
    }

    /// The earliest live deadline.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, seq, key))) = self.heap.peek() {
            if self.is_live(*seq, key) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns a key whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        while let Some(Reverse((at, seq, key))) = self.heap.peek().copied() {
            if !self.is_live(seq, &key) {
                self.heap.pop();
                continue;
            }
            if at > now {
                return None;
            }
            self.heap.pop();
            self.live.remove(&key);
            return Some(key);
        }
        None
    }

    /// Cancels every key for which `keep` is false.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.live.retain(|key, _| keep(key));
        if self.live.is_empty() {
            self.heap.clear();
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> Default for TimerQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_keys_come_out_in_order_and_moved_keys_once() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut q = TimerQueue::new();
        q.schedule(1u32, t0 + ms(30));
        q.schedule(2, t0 + ms(10));
        q.schedule(3, t0 + ms(20));
        q.schedule(1, t0 + ms(5)); // moved earlier
        q.schedule(3, t0 + ms(50)); // moved later
        q.cancel(2);
        assert_eq!(q.next_deadline(), Some(t0 + ms(5)));
        assert_eq!(q.pop_due(t0 + ms(40)), Some(1));
        assert_eq!(q.pop_due(t0 + ms(40)), None, "3 is not due yet, 2 was cancelled, 1's old entry is stale");
        assert_eq!(q.next_deadline(), Some(t0 + ms(50)));
        assert_eq!(q.pop_due(t0 + ms(50)), Some(3));
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn retain_cancels_the_others() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        for k in 1u32..=4 {
            q.schedule(k, t0 + Duration::from_millis(u64::from(k)));
        }
        q.retain(|k| k % 2 == 0);
        assert_eq!(q.pop_due(t0 + Duration::from_secs(1)), Some(2));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(1)), Some(4));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(1)), None);
    }
}
