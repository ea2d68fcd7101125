//! Notify scripts queue per VRRP instance: one lane per instance name, each running at most one
//! script at a time, in arrival order; lanes do not wait for each other. (keepalived fires
//! notify scripts and forgets them, so two of one instance can overlap or finish out of order;
//! hakeeper promises the order.) Pure bookkeeping, generic over what a running script is.

use std::collections::VecDeque;
use std::time::Instant;

/// One requested run, as the supervisor sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyJob {
    pub instance: String,
    pub command: String,
    pub args: Vec<String>,
}

struct Lane<R> {
    instance: String,
    queue: VecDeque<NotifyJob>,
    running: Option<(R, Instant)>,
}

/// Lanes are never removed, so a lane's index (its event-loop token) stays valid.
pub struct Lanes<R> {
    lanes: Vec<Lane<R>>,
}

impl<R> Lanes<R> {
    pub fn new() -> Self {
        Lanes { lanes: Vec::new() }
    }

    /// Queues `job` behind the others of its instance; returns its lane.
    pub fn push(&mut self, job: NotifyJob) -> usize {
        let lane = match self.lanes.iter().position(|l| l.instance == job.instance) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane { instance: job.instance.clone(), queue: VecDeque::new(), running: None });
                self.lanes.len() - 1
            }
        };
        self.lanes[lane].queue.push_back(job);
        lane
    }

    /// The next job of `lane` when nothing runs there.
    pub fn next_job(&mut self, lane: usize) -> Option<NotifyJob> {
        let l = self.lanes.get_mut(lane)?;
        if l.running.is_some() {
            return None;
        }
        l.queue.pop_front()
    }

    pub fn set_running(&mut self, lane: usize, running: R, since: Instant) {
        if let Some(l) = self.lanes.get_mut(lane) {
            l.running = Some((running, since));
        }
    }

    pub fn running_mut(&mut self, lane: usize) -> Option<&mut R> {
        self.lanes.get_mut(lane)?.running.as_mut().map(|(r, _)| r)
    }

    /// Ends `lane`'s run: what ran and since when.
    pub fn finish(&mut self, lane: usize) -> Option<(R, Instant)> {
        self.lanes.get_mut(lane)?.running.take()
    }

    pub fn instance(&self, lane: usize) -> &str {
        self.lanes.get(lane).map(|l| l.instance.as_str()).unwrap_or("?")
    }

    /// Nothing running and nothing queued.
    pub fn idle(&self) -> bool {
        self.lanes.iter().all(|l| l.running.is_none() && l.queue.is_empty())
    }

    /// Empties every lane (shutdown): the runs in progress, by lane, and the jobs never started.
    pub fn drain(&mut self) -> (Vec<(usize, R)>, Vec<NotifyJob>) {
        let mut running = Vec::new();
        let mut queued = Vec::new();
        for (i, l) in self.lanes.iter_mut().enumerate() {
            if let Some((r, _)) = l.running.take() {
                running.push((i, r));
            }
            queued.extend(l.queue.drain(..));
        }
        (running, queued)
    }
}

impl<R> Default for Lanes<R> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(instance: &str, command: &str) -> NotifyJob {
        NotifyJob { instance: instance.into(), command: command.into(), args: Vec::new() }
    }

    #[test]
    fn one_instance_runs_one_job_at_a_time_in_arrival_order() {
        let t = Instant::now();
        let mut lanes: Lanes<&str> = Lanes::new();
        let a = lanes.push(job("VI_1", "first"));
        assert_eq!(lanes.push(job("VI_1", "second")), a);
        let first = lanes.next_job(a).unwrap();
        assert_eq!(first.command, "first");
        lanes.set_running(a, "first", t);
        assert_eq!(lanes.next_job(a), None, "the second waits while the first runs");
        assert_eq!(lanes.finish(a).map(|(r, _)| r), Some("first"));
        assert_eq!(lanes.next_job(a).unwrap().command, "second");
        assert!(lanes.idle());
    }

    #[test]
    fn instances_have_lanes_of_their_own() {
        let t = Instant::now();
        let mut lanes: Lanes<u32> = Lanes::new();
        let a = lanes.push(job("VI_1", "a"));
        let b = lanes.push(job("VI_2", "b"));
        assert_ne!(a, b);
        assert_eq!(lanes.instance(b), "VI_2");
        lanes.next_job(a).unwrap();
        lanes.set_running(a, 1, t);
        assert_eq!(lanes.next_job(b).unwrap().command, "b", "VI_2 does not wait for VI_1");
        lanes.set_running(b, 2, t);
        assert!(!lanes.idle());
        lanes.push(job("VI_1", "c"));
        let (running, queued) = lanes.drain();
        assert_eq!(running, [(a, 1), (b, 2)]);
        assert_eq!(queued, [job("VI_1", "c")]);
        assert!(lanes.idle());
    }
}
