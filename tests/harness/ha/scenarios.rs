//! The scenarios of issue 7, for any [`Stack`]: each one does what a user or a failure would do
//! on the master and returns what the client saw and where the VIP went. The tests assert on
//! the result; the benchmark prints it beside keepalived + HAProxy's.

use super::client::{analyse, Report};
use super::procfs::{footprint, Footprint};
use super::{HaLab, Stack, Vrrp, BACKENDS, BACKUP, BACKUP_PRIORITY, MASTER, MASTER_PRIORITY};
use crate::harness::netns::VIP;
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// A lab with the appliance running on both LB hosts, the master elected and the client served.
pub struct Setup<S: Stack> {
    pub ha: HaLab,
    pub stack: S,
}

/// Polls `cond` every 10 ms; the instant it first held, or None after `timeout`.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Instant> {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return Some(Instant::now());
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (bounded) until the backup holds the VIP alone, sampling both hosts; when that was,
/// and the longest stretch seen in which neither held it (what a hand-over is meant to avoid).
pub fn watch_move(ha: &HaLab, timeout: Duration) -> (Option<Instant>, Duration) {
    let end = Instant::now() + timeout;
    let (mut unheld_since, mut longest) = (None::<Instant>, Duration::ZERO);
    loop {
        let now = Instant::now();
        let (master, backup) = (ha.lab.has_addr(MASTER, VIP), ha.lab.has_addr(BACKUP, VIP));
        match (master || backup, unheld_since) {
            (false, None) => unheld_since = Some(now),
            (true, Some(t)) => {
                longest = longest.max(now - t);
                unheld_since = None;
            }
            _ => {}
        }
        if backup && !master {
            // When the sample that saw it ended: an upper bound.
            return (Some(Instant::now()), longest);
        }
        if now >= end {
            return (None, longest.max(unheld_since.map_or(Duration::ZERO, |t| now - t)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sleep_until(t: Instant) {
    std::thread::sleep(t.saturating_duration_since(Instant::now()));
}

fn kill(pid: i32, sig: Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
}

/// Builds the lab, starts `stack` on both LB hosts (lb1 at 150, lb2 at 100), waits for lb1 to
/// hold the VIP alone and for the client to be answered by every backend.
pub fn setup<S: Stack>(tag: &str, vrrp: Vrrp, mut stack: S) -> Option<Setup<S>> {
    let mut ha = HaLab::new(tag, vrrp)?;
    stack.start(&mut ha, MASTER, MASTER_PRIORITY, &BACKENDS);
    stack.start(&mut ha, BACKUP, BACKUP_PRIORITY, &BACKENDS);
    let bound = vrrp.master_down(MASTER_PRIORITY) + Duration::from_secs(5);
    let elected = ha.wait_sole_holder(MASTER, bound);
    assert!(elected.is_some(), "{} on {MASTER} never held the VIP alone within {bound:?}\n{}", stack.name(), ha.logs());
    // The backup's own Master_Down_Interval ends a little later: it must hear lb1 and stay.
    std::thread::sleep(vrrp.advert_int.max(Duration::from_millis(500)) * 2);
    assert!(ha.sole_holder(MASTER), "{}: the VIP did not stay on {MASTER} alone\n{}", stack.name(), ha.logs());
    ha.start_client();
    let since = Instant::now();
    let served = ha.client().wait_serving(since, 50, &BACKENDS, Duration::from_secs(10));
    let seen = analyse(&ha.client().attempts(), since, Instant::now());
    assert!(served, "{}: the client is not served by every backend through the VIP: {seen}\n{}", stack.name(), ha.logs());
    // A second of steady state, so that every scenario's window starts with normal service.
    std::thread::sleep(Duration::from_secs(1));
    Some(Setup { ha, stack })
}

/// Scenario 1: `kill -9` of the master's worker.
#[derive(Debug)]
pub struct WorkerKill {
    pub report: Report,
    /// A new worker was running this long after the kill.
    pub replaced: Option<Duration>,
    /// lb1 held the VIP alone through the 3 s after the kill.
    pub vip_stayed: bool,
}

pub fn kill_worker_once<S: Stack>(s: &mut Setup<S>) -> WorkerKill {
    let workers = s.stack.workers(&s.ha, MASTER);
    assert!(!workers.is_empty(), "{}: no worker on {MASTER}\n{}", s.stack.name(), s.ha.logs());
    let event = Instant::now();
    for &w in &workers {
        kill(w, Signal::SIGKILL);
    }
    let replaced = wait_for(Duration::from_secs(5), || {
        let now = s.stack.workers(&s.ha, MASTER);
        !now.is_empty() && now.iter().all(|p| !workers.contains(p))
    });
    let end = event + Duration::from_secs(3);
    let mut vip_stayed = true;
    while Instant::now() < end {
        vip_stayed &= s.ha.sole_holder(MASTER);
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = analyse(&s.ha.client().attempts(), event - Duration::from_secs(1), end);
    WorkerKill { report, replaced: replaced.map(|t| t - event), vip_stayed }
}

/// Scenario 2: the master's worker killed again and again.
#[derive(Debug)]
pub struct CrashLoop {
    pub kills: usize,
    /// From the first kill to the last.
    pub span: Duration,
    /// From the last kill until lb2 held the VIP alone.
    pub moved: Option<Duration>,
    /// From the last kill until lb1 held it alone again.
    pub back: Option<Duration>,
    /// The client from 1 s before the first kill to 2 s after the move.
    pub report_move: Report,
    /// The client around the return (2 s either side).
    pub report_back: Report,
    /// The client from the last kill (when the node gives up) to 2 s after the move: the
    /// hand-over itself, without the restart backoffs of the loop before it.
    pub report_handover: Report,
}

pub fn crash_loop<S: Stack>(s: &mut Setup<S>, kills: usize, back_bound: Duration) -> CrashLoop {
    let mut killed: Vec<i32> = Vec::new();
    let first = Instant::now();
    let mut last = first;
    let mut count = 0;
    for _ in 0..kills {
        // The next victim is a worker not killed yet: the replacement, after the stack's backoff.
        let mut victims = Vec::new();
        let found = wait_for(Duration::from_secs(4), || {
            victims = s.stack.workers(&s.ha, MASTER).into_iter().filter(|p| !killed.contains(p)).collect();
            !victims.is_empty()
        });
        if found.is_none() {
            break; // The stack gave up restarting its proxy.
        }
        for &v in &victims {
            kill(v, Signal::SIGKILL);
        }
        killed.extend(victims);
        last = Instant::now();
        count += 1;
    }
    let moved = wait_for(Duration::from_secs(10), || s.ha.sole_holder(BACKUP));
    let move_end = moved.unwrap_or_else(Instant::now) + Duration::from_secs(2);
    sleep_until(move_end);
    let report_move = analyse(&s.ha.client().attempts(), first - Duration::from_secs(1), move_end);
    let report_handover = analyse(&s.ha.client().attempts(), last, move_end);
    let back = if moved.is_some() { wait_for(back_bound, || s.ha.sole_holder(MASTER)) } else { None };
    let report_back = match back {
        Some(t) => {
            sleep_until(t + Duration::from_secs(2));
            analyse(&s.ha.client().attempts(), t - Duration::from_secs(2), t + Duration::from_secs(2))
        }
        None => Report::default(),
    };
    CrashLoop {
        kills: count,
        span: last - first,
        moved: moved.map(|t| t - last),
        back: back.map(|t| t - last),
        report_move,
        report_back,
        report_handover,
    }
}

/// Scenario 3: every backend unreachable from the master (blackhole routes on lb1).
#[derive(Debug)]
pub struct Unreachable {
    /// From the routes until lb2 held the VIP alone.
    pub moved: Option<Duration>,
    pub report: Report,
}

pub fn backends_unreachable<S: Stack>(s: &mut Setup<S>, bound: Duration) -> Unreachable {
    let ns = s.ha.lab.ns(MASTER);
    let event = Instant::now();
    for b in BACKENDS {
        let route = format!("{}/32", s.ha.lab.addr(b));
        let out = crate::harness::netns::ip(&["-n", &ns, "route", "add", "blackhole", &route]);
        assert!(out.status.success(), "blackhole {route} on {MASTER}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let moved = wait_for(bound, || s.ha.sole_holder(BACKUP));
    let end = moved.unwrap_or_else(Instant::now) + Duration::from_secs(2);
    sleep_until(end);
    let report = analyse(&s.ha.client().attempts(), event - Duration::from_secs(1), end);
    Unreachable { moved: moved.map(|t| t - event), report }
}

/// Scenario 4: SIGTERM of the master's appliance.
#[derive(Debug)]
pub struct Stop {
    pub moved: Option<Duration>,
    /// The longest stretch in which neither host held the VIP.
    pub unheld: Duration,
    /// Every process of the master's appliance had exited this long after the signal.
    pub exited: Option<Duration>,
    pub report: Report,
}

pub fn stop_master<S: Stack>(s: &mut Setup<S>) -> Stop {
    let event = Instant::now();
    s.stack.stop(&s.ha, MASTER);
    let (moved, unheld) = watch_move(&s.ha, Duration::from_secs(6));
    let exited = wait_for(Duration::from_secs(7), || s.ha.host_pids(MASTER).is_empty());
    let end = moved.unwrap_or(event).max(event + Duration::from_secs(2)) + Duration::from_secs(1);
    sleep_until(end);
    let report = analyse(&s.ha.client().attempts(), event - Duration::from_secs(1), end);
    Stop { moved: moved.map(|t| t - event), unheld, exited: exited.map(|t| t - event), report }
}

/// Scenario 7: a planned switchover of the master while its proxy keeps running.
#[derive(Debug)]
pub struct Switchover {
    pub moved: Option<Duration>,
    /// The longest stretch in which neither host held the VIP.
    pub unheld: Duration,
    pub report: Report,
}

pub fn switchover<S: Stack>(s: &mut Setup<S>) -> Switchover {
    let event = Instant::now();
    s.stack.switchover(&s.ha, MASTER);
    let (moved, unheld) = watch_move(&s.ha, Duration::from_secs(6));
    let end = moved.unwrap_or(event).max(event + Duration::from_secs(1)) + Duration::from_secs(1);
    sleep_until(end);
    let report = analyse(&s.ha.client().attempts(), event - Duration::from_secs(1), end);
    Switchover { moved: moved.map(|t| t - event), unheld, report }
}

/// Scenario 5: `kill -9` of every process of the master's appliance. The master's VIP stays
/// configured (nobody is left to remove it), so "moved" means lb2 holds it too.
#[derive(Debug)]
pub struct KillAll {
    pub killed: usize,
    pub moved: Option<Duration>,
    pub report: Report,
}

pub fn kill_all<S: Stack>(s: &mut Setup<S>) -> KillAll {
    let pids = s.ha.host_pids(MASTER);
    let event = Instant::now();
    for &p in &pids {
        kill(p, Signal::SIGKILL);
    }
    let bound = s.ha.vrrp.master_down(BACKUP_PRIORITY) + Duration::from_secs(3);
    let moved = wait_for(bound, || s.ha.lab.has_addr(BACKUP, VIP));
    let end = moved.unwrap_or(event + bound) + Duration::from_secs(1);
    sleep_until(end);
    let report = analyse(&s.ha.client().attempts(), event - Duration::from_secs(1), end);
    KillAll { killed: pids.len(), moved: moved.map(|t| t - event), report }
}

/// Scenario 6: reloads of the master under load, one of which drops a server.
#[derive(Debug)]
pub struct Reloads {
    pub reloads: usize,
    /// The whole run, from the first reload to the end of the drain after the last.
    pub report: Report,
    /// Before the reload that changed the servers.
    pub before_change: Report,
    /// From 1 s after that reload.
    pub after_change: Report,
    pub dropped: &'static str,
    pub footprint_before: Footprint,
    pub footprint_after: Footprint,
}

pub fn reloads<S: Stack>(s: &mut Setup<S>, count: usize, change_at: usize) -> Reloads {
    let dropped = BACKENDS[BACKENDS.len() - 1];
    let kept: Vec<&str> = BACKENDS.iter().copied().filter(|b| *b != dropped).collect();
    let measure = |s: &Setup<S>| {
        s.ha.client().pause();
        let f = footprint(&s.ha.host_pids(MASTER));
        s.ha.client().resume();
        f
    };
    let footprint_before = measure(s);
    let start = Instant::now();
    let mut changed_at = start;
    for i in 1..=count {
        let servers: &[&str] = if i >= change_at { &kept } else { &BACKENDS };
        if i == change_at {
            changed_at = Instant::now();
        }
        s.stack.reload(&mut s.ha, MASTER, MASTER_PRIORITY, servers);
        std::thread::sleep(Duration::from_secs(1));
    }
    // Old workers finish their (short) connections.
    std::thread::sleep(Duration::from_secs(2));
    let end = Instant::now();
    let footprint_after = measure(s);
    let attempts = s.ha.client().attempts();
    Reloads {
        reloads: count,
        report: analyse(&attempts, start, end),
        before_change: analyse(&attempts, start, changed_at),
        after_change: analyse(&attempts, changed_at + Duration::from_secs(1), end),
        dropped,
        footprint_before,
        footprint_after,
    }
}
