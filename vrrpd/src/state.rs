//! One VRRP instance's state machine (RFC 3768 §6.4, RFC 5798 §6.4), with keepalived's departures
//! from the RFC where keepalived 2.2 behaves differently. No I/O: events in, actions out; the
//! driver turns actions into packets, netlink calls and log lines, and calls `handle(Timer)` at
//! [`Machine::next_deadline`].

use crate::packet::Version;
use crate::priority::{FaultCause, Tracking, OWNER};
use crate::timing;
use hakeeper_common::config::{Garp, ProxyDown, TrackScript};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    /// After shutdown; nothing more happens.
    Stopped,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOP",
        })
    }
}

/// An advertisement that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub priority: u8,
    pub interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Startup,
    Advert(Received),
    /// A deadline passed; the machine fires whichever timers are due.
    Timer,
    /// A tracked script's state (after the checker's rise/fall).
    Script {
        script: usize,
        ok: bool,
    },
    /// The local proxy is serving or not.
    Proxy {
        up: bool,
    },
    /// Whether the instance's interface and every `track_interface` are up.
    Links {
        up: bool,
    },
    /// `hakeeper ctl switchover` (on) or `switchback` (off): FAULT while the proxy serves.
    Switchover {
        on: bool,
    },
    /// `vrrp_sync_group`: another member entered (or every member left) FAULT.
    GroupFault {
        on: bool,
    },
    /// `vrrp_sync_group`: another member became master; a backup member follows at once.
    GroupMaster,
    /// `vrrp_sync_group`: another member left MASTER for BACKUP; a master member follows.
    GroupBackup,
    /// The process stops: a master releases with priority 0 and hands over (see `release`).
    Shutdown,
    /// A reload removed or changed the instance: a master releases and removes its VIPs at
    /// once, since the instance that replaces it may claim them now.
    Delete,
    /// A binary upgrade: the process stops and its successor carries on (`Resume`). Unlike
    /// `Shutdown`, nothing is released: no priority-0 advert, no VIP removed, no transition
    /// reported (HAProxy's master re-exec keeps its listeners the same way).
    HandOver,
    /// Instead of `Startup`, after a binary upgrade: the previous process was MASTER
    /// (`master`), so this one carries on as master at once, keeping the VIPs it finds and
    /// advertising now, with no gratuitous ARP burst (the neighbours' caches already point
    /// here). Otherwise it starts as `Startup` does.
    Resume {
        master: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The state changed (log it, tell the supervisor, run notify scripts).
    Transition {
        to: State,
        priority: u8,
        cause: Option<FaultCause>,
    },
    Advertise {
        priority: u8,
    },
    AddVips,
    RemoveVips,
    /// Announce the VIPs: `count` gratuitous ARPs / unsolicited NAs per address.
    Garp {
        count: u32,
    },
}

/// What the machine needs from the config.
#[derive(Debug, Clone)]
pub struct Params {
    pub version: Version,
    pub priority: u8,
    pub advert_int: Duration,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// Our primary address, for the tie-break between equal priorities.
    pub local_addr: IpAddr,
    pub garp: Garp,
    pub track: Vec<TrackScript>,
    /// FAULT (the default) or a lower priority while the local proxy is down.
    pub proxy_down: ProxyDown,
    /// The only two routers of the virtual router: a backup takes over at once on a
    /// priority-0 advert instead of after Skew_Time.
    pub pair: bool,
}

#[derive(Debug)]
pub struct Machine {
    p: Params,
    state: State,
    tracking: Tracking,
    /// The master's interval: our own, or (v3 backups) learned from its adverts.
    master_adver_int: Duration,
    adver_timer: Option<Instant>,
    down_timer: Option<Instant>,
    garp_delay_timer: Option<Instant>,
    garp_refresh_timer: Option<Instant>,
    /// keepalived's preempt_time: lower-priority adverts are accepted until it passes.
    preempt_time: Option<Instant>,
    /// Set while a master that released (priority 0) still holds its VIPs: until the new
    /// master's first advert, or this deadline. See [`Machine::releasing`].
    release: Option<Instant>,
}

impl Machine {
    pub fn new(p: Params) -> Machine {
        let tracking = Tracking::new(p.priority, &p.track, p.proxy_down);
        let master_adver_int = p.advert_int;
        Machine {
            p,
            state: State::Init,
            tracking,
            master_adver_int,
            adver_timer: None,
            down_timer: None,
            garp_delay_timer: None,
            garp_refresh_timer: None,
            preempt_time: None,
            release: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn priority(&self) -> u8 {
        self.tracking.effective()
    }

    /// Whether this instance itself (not its sync group) must be in FAULT.
    pub fn own_fault(&self) -> bool {
        self.tracking.own_fault().is_some()
    }

    /// Whether the machine holds a FAULT for its sync group (`Event::GroupFault`).
    pub fn group_fault(&self) -> bool {
        self.tracking.group_fault()
    }

    /// A reload that left the instance as it was may still renumber the scripts it tracks, or
    /// change the GARP settings: applied in place, with no effect on the state or timers.
    pub fn reconfigure(&mut self, track: &[TrackScript], garp: &Garp) {
        self.tracking.renumber(track);
        self.p.track = track.to_vec();
        self.p.garp = garp.clone();
    }

    pub fn master_adver_int(&self) -> Duration {
        self.master_adver_int
    }

    /// Whether a released master still holds its VIPs (in FAULT or stopped), waiting for the
    /// new master's first advert; the driver keeps a stopping vrrpd running until it is false.
    pub fn releasing(&self) -> bool {
        self.release.is_some()
    }

    /// The earliest time at which `handle(Event::Timer)` has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.adver_timer, self.down_timer, self.garp_delay_timer, self.garp_refresh_timer, self.release].into_iter().flatten().min()
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Stopped {
            // Only the hand-over of a stopped master is left to finish.
            match event {
                Event::Advert(adv) => self.released_rx(adv, &mut out),
                Event::Timer => self.release_timer(now, &mut out),
                Event::Delete => self.release_now(&mut out),
                _ => {}
            }
            return out;
        }
        match event {
            Event::Startup => self.start(now, &mut out),
            Event::Resume { master: true } if self.state == State::Init && self.tracking.fault().is_none() => {
                self.resume_master(now, &mut out)
            }
            Event::Resume { .. } => self.start(now, &mut out),
            Event::HandOver => {
                self.clear_timers();
                self.release = None;
                self.state = State::Stopped;
            }
            Event::Advert(adv) => match self.state {
                State::Backup => self.backup_rx(adv, now, &mut out),
                State::Master => self.master_rx(adv, now, &mut out),
                State::Fault => self.released_rx(adv, &mut out),
                State::Init | State::Stopped => {}
            },
            Event::Timer => self.timers(now, &mut out),
            Event::Script { script, ok } => {
                if self.tracking.set_script(script, ok) {
                    self.reevaluate(now, &mut out);
                }
            }
            Event::Proxy { up } => {
                self.tracking.set_proxy(up);
                self.reevaluate(now, &mut out);
            }
            Event::Links { up } => {
                self.tracking.set_links(up);
                self.reevaluate(now, &mut out);
            }
            Event::Switchover { on } => {
                self.tracking.set_switchover(on);
                self.reevaluate(now, &mut out);
            }
            Event::GroupFault { on } => {
                self.tracking.set_group_fault(on);
                self.reevaluate(now, &mut out);
            }
            Event::GroupMaster if self.state == State::Backup => self.enter_master(now, &mut out),
            Event::GroupBackup if self.state == State::Master => self.enter_backup(now, &mut out),
            Event::GroupMaster | Event::GroupBackup => {}
            Event::Shutdown => self.shutdown(now, &mut out),
            Event::Delete => {
                self.shutdown(now, &mut out);
                self.release_now(&mut out);
            }
        }
        out
    }

    fn mdi(&self) -> Duration {
        timing::master_down(self.p.version, self.priority(), self.master_adver_int)
    }

    fn skew(&self) -> Duration {
        timing::skew(self.p.version, self.priority(), self.master_adver_int)
    }

    fn clear_timers(&mut self) {
        self.adver_timer = None;
        self.down_timer = None;
        self.garp_delay_timer = None;
        self.garp_refresh_timer = None;
    }

    fn transition(&mut self, to: State, out: &mut Vec<Action>) {
        self.state = to;
        let cause = if to == State::Fault { self.tracking.fault() } else { None };
        out.push(Action::Transition { to, priority: self.priority(), cause });
    }

    /// Initialize (RFC §6.4.1). Only the owner starts as master; keepalived's `state MASTER`
    /// below 255 still starts as backup and waits one Master_Down_Interval.
    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        if self.tracking.fault().is_some() {
            self.enter_fault(now, out);
        } else if self.tracking.base() == OWNER {
            self.enter_master(now, out);
        } else {
            self.enter_backup(now, out);
        }
    }

    fn enter_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.clear_timers();
        // A master that released and comes back (the owner leaving FAULT) keeps its VIPs.
        self.release = None;
        self.master_adver_int = self.p.advert_int;
        self.transition(State::Master, out);
        out.push(Action::AddVips);
        out.push(Action::Advertise { priority: self.priority() });
        if self.p.garp.master_repeat > 0 {
            out.push(Action::Garp { count: self.p.garp.master_repeat });
            if !self.p.garp.master_delay.is_zero() {
                self.garp_delay_timer = Some(now + self.p.garp.master_delay);
            }
        }
        self.garp_refresh_timer = self.p.garp.master_refresh.filter(|r| !r.is_zero()).map(|r| now + r);
        self.adver_timer = Some(now + self.p.advert_int);
    }

    /// A master carried over a binary upgrade: the state and timers of `enter_master` without
    /// its gratuitous ARPs. The VIPs are on the interface already (adding them is a no-op).
    fn resume_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.clear_timers();
        self.release = None;
        self.master_adver_int = self.p.advert_int;
        self.transition(State::Master, out);
        out.push(Action::AddVips);
        out.push(Action::Advertise { priority: self.priority() });
        self.garp_refresh_timer = self.p.garp.master_refresh.filter(|r| !r.is_zero()).map(|r| now + r);
        self.adver_timer = Some(now + self.p.advert_int);
    }

    fn enter_backup(&mut self, now: Instant, out: &mut Vec<Action>) {
        let from = self.state;
        self.clear_timers();
        self.transition(State::Backup, out);
        // From Init too: a VIP left behind by a crashed vrrpd must not stay on a backup; and
        // from a FAULT that still held its VIPs for a hand-over.
        let held = self.release.take().is_some();
        if matches!(from, State::Master | State::Init) || held {
            out.push(Action::RemoveVips);
        }
        self.down_timer = Some(now + self.mdi());
    }

    /// keepalived: a master entering FAULT sends two priority-0 adverts, then removes its VIPs
    /// and stays silent. hakeeper departs from it in when the VIPs go (see `release`): a
    /// planned switchover, whose proxy serves on, hands over; so does a pair's master for any
    /// cause but a link down, since its backup takes over at once. Otherwise (a crashed proxy,
    /// a failed check, with several backups) the VIPs go at once as RFC 5798 has it: nothing
    /// would answer the connections a held VIP accepts during the backup's Skew_Time, and they
    /// would be reset once it moves, where a client's retried SYN reaches the new master.
    fn enter_fault(&mut self, now: Instant, out: &mut Vec<Action>) {
        let from = self.state;
        self.clear_timers();
        self.preempt_time = None;
        self.transition(State::Fault, out);
        match from {
            State::Master => {
                out.push(Action::Advertise { priority: 0 });
                out.push(Action::Advertise { priority: 0 });
                match self.tracking.fault() {
                    // Cut off: it can neither serve nor hear the new master.
                    Some(FaultCause::LinkDown) => out.push(Action::RemoveVips),
                    Some(FaultCause::Switchover) => self.release(now),
                    _ if self.p.pair => self.release(now),
                    _ => out.push(Action::RemoveVips),
                }
            }
            State::Init => out.push(Action::RemoveVips),
            State::Backup | State::Fault | State::Stopped => {}
        }
    }

    /// Re-checks FAULT after a script, proxy or link change. A changed effective priority is
    /// otherwise carried by the next regular advert, as keepalived does.
    fn reevaluate(&mut self, now: Instant, out: &mut Vec<Action>) {
        let fault = self.tracking.fault().is_some();
        match self.state {
            State::Backup | State::Master if fault => self.enter_fault(now, out),
            // Leaving FAULT waits a full Master_Down_Interval, except for the owner.
            State::Fault if !fault && self.tracking.base() == OWNER => self.enter_master(now, out),
            State::Fault if !fault => {
                self.master_adver_int = self.p.advert_int;
                self.enter_backup(now, out);
            }
            _ => {}
        }
    }

    fn timers(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Backup => {
                if self.down_timer.is_some_and(|t| t <= now) {
                    self.enter_master(now, out);
                }
            }
            State::Master => {
                if let Some(t) = self.adver_timer.filter(|t| *t <= now) {
                    out.push(Action::Advertise { priority: self.priority() });
                    // Keep the cadence unless we fell more than an interval behind.
                    let next = t + self.p.advert_int;
                    self.adver_timer = Some(if next > now { next } else { now + self.p.advert_int });
                }
                if self.garp_delay_timer.is_some_and(|t| t <= now) {
                    self.garp_delay_timer = None;
                    out.push(Action::Garp { count: self.p.garp.master_repeat });
                }
                if let Some(refresh) = self.p.garp.master_refresh.filter(|r| !r.is_zero()) {
                    if self.garp_refresh_timer.is_some_and(|t| t <= now) {
                        // keepalived's garp_master_refresh_repeat defaults to 1.
                        out.push(Action::Garp { count: 1 });
                        self.garp_refresh_timer = Some(now + refresh);
                    }
                }
            }
            State::Fault => self.release_timer(now, out),
            State::Init | State::Stopped => {}
        }
    }

    /// A releasing master keeps its VIPs (and its proxy keeps serving on them) after its
    /// priority-0 advert, so that the VIP is never unheld: RFC 5798 §6.4.3 removes them at once
    /// and leaves clients without a server for the backup's Skew_Time. The new master's
    /// gratuitous ARP / unsolicited NA repoints the clients; its first advert (or the bound, if
    /// no one takes over) ends the hold. Both holding the VIP for that moment is what any
    /// takeover looks like to keepalived: the released master stays silent, so nothing flaps.
    fn release(&mut self, now: Instant) {
        self.release = Some(now + timing::release_hold(self.p.advert_int));
    }

    /// A released master hears an advert: a priority above 0 comes from the new master.
    fn released_rx(&mut self, adv: Received, out: &mut Vec<Action>) {
        if adv.priority > 0 {
            self.release_now(out);
        }
    }

    fn release_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.release.is_some_and(|t| t <= now) {
            self.release_now(out);
        }
    }

    fn release_now(&mut self, out: &mut Vec<Action>) {
        if self.release.take().is_some() {
            out.push(Action::RemoveVips);
        }
    }

    /// Backup receiving an advert (RFC §6.4.2, keepalived's `vrrp_state_backup`).
    fn backup_rx(&mut self, adv: Received, now: Instant, out: &mut Vec<Action>) {
        if adv.priority == 0 {
            if self.p.pair {
                // The master is leaving and no other backup exists: Skew_Time only decides
                // which of several backups wins, so a pair's backup takes over at once. The
                // releasing master holds the VIP until it hears our first advert.
                self.enter_master(now, out);
            } else {
                // RFC 5798 §6.4.2: take over after Skew_Time, so the highest backup wins.
                self.down_timer = Some(now + self.skew());
            }
            return;
        }
        let ours = self.priority();
        let delaying = !self.p.preempt_delay.is_zero() && self.preempt_time.is_none_or(|t| t > now);
        if !self.p.preempt || adv.priority >= ours || delaying {
            if !self.p.preempt_delay.is_zero() {
                // keepalived: the delay window opens at the first lower-priority advert and
                // closes on a higher one; takeover comes one MDI after it ends.
                if adv.priority > ours {
                    self.preempt_time = None;
                } else if self.preempt_time.is_none() {
                    self.preempt_time = Some(now + self.p.preempt_delay);
                }
            }
            if self.p.version == Version::V3 {
                self.master_adver_int = adv.interval;
            }
            self.down_timer = Some(now + self.mdi());
        }
        // Otherwise: a lower priority and we preempt, so the advert is discarded and the
        // Master_Down_Timer runs out.
    }

    /// Master receiving an advert (RFC §6.4.3, keepalived's `vrrp_state_master_rx`).
    fn master_rx(&mut self, adv: Received, now: Instant, out: &mut Vec<Action>) {
        let ours = self.priority();
        if adv.priority == 0 {
            out.push(Action::Advertise { priority: ours });
            self.adver_timer = Some(now + self.p.advert_int);
        } else if adv.priority > ours || (adv.priority == ours && adv.src > self.p.local_addr) {
            self.master_adver_int = if self.p.version == Version::V3 { adv.interval } else { self.p.advert_int };
            self.enter_backup(now, out);
        } else {
            // keepalived departs from the RFC: it answers a lower priority (or a lost tie) at
            // once, and refreshes the neighbours' ARP caches.
            out.push(Action::Advertise { priority: ours });
            if self.p.garp.master_repeat > 0 {
                out.push(Action::Garp { count: self.p.garp.master_repeat });
            }
            self.adver_timer = Some(now + self.p.advert_int);
        }
    }

    /// Shutdown (RFC §6.4.3): a master releases with one priority-0 advert and hands over
    /// (`release`); a FAULT still holding its VIPs keeps waiting for the new master.
    fn shutdown(&mut self, now: Instant, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.clear_timers();
        self.transition(State::Stopped, out);
        if was_master {
            out.push(Action::Advertise { priority: 0 });
            self.release(now);
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
