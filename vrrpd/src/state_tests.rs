//! Event → actions tables for every transition of [`Machine`], keepalived's quirks included.

use super::*;
use hakeeper_common::config::Garp;
use std::net::Ipv4Addr;

const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
const HIGHER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 12);
const LOWER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

fn params(priority: u8) -> Params {
    Params {
        version: Version::V2,
        priority,
        advert_int: Duration::from_secs(1),
        preempt: true,
        preempt_delay: Duration::ZERO,
        local_addr: LOCAL.into(),
        garp: Garp::default(),
        track: Vec::new(),
        proxy_down: ProxyDown::Fault,
        pair: false,
    }
}

fn pair(mut p: Params) -> Params {
    p.pair = true;
    p
}

fn with_track(mut p: Params, weights: &[i32]) -> Params {
    p.track = weights.iter().enumerate().map(|(i, w)| TrackScript { script: i, weight: *w }).collect();
    p
}

fn advert(priority: u8) -> Event {
    advert_from(HIGHER_IP, priority)
}

fn advert_from(src: Ipv4Addr, priority: u8) -> Event {
    Event::Advert(Received { src: src.into(), priority, interval: Duration::from_secs(1) })
}

fn to(state: State, priority: u8) -> Action {
    Action::Transition { to: state, priority, cause: None }
}

fn fault(priority: u8, cause: FaultCause) -> Action {
    Action::Transition { to: State::Fault, priority, cause: Some(cause) }
}

fn adv(priority: u8) -> Action {
    Action::Advertise { priority }
}

/// Actions entering MASTER with keepalived's default GARP settings.
fn becomes_master(priority: u8) -> Vec<Action> {
    vec![to(State::Master, priority), Action::AddVips, adv(priority), Action::Garp { count: 5 }]
}

struct Step {
    at_ms: u64,
    event: Event,
    expect: Vec<Action>,
    state: State,
    /// The next deadline after the step, in ms from the start, rounded up.
    deadline_ms: Option<u64>,
}

fn step(at_ms: u64, event: Event, expect: Vec<Action>, state: State, deadline_ms: Option<u64>) -> Step {
    Step { at_ms, event, expect, state, deadline_ms }
}

fn run(name: &str, p: Params, steps: Vec<Step>) -> Machine {
    let t0 = Instant::now();
    let mut m = Machine::new(p);
    for (i, s) in steps.into_iter().enumerate() {
        let actions = m.handle(s.event.clone(), t0 + Duration::from_millis(s.at_ms));
        assert_eq!(actions, s.expect, "{name}: step {i} ({:?} at {} ms): actions", s.event, s.at_ms);
        assert_eq!(m.state(), s.state, "{name}: step {i}: state");
        // Rounded up: a timer fires at the first whole millisecond at or after its deadline.
        let deadline = m.next_deadline().map(|d| ((d - t0).as_micros() as u64).div_ceil(1000));
        assert_eq!(deadline, s.deadline_ms, "{name}: step {i}: deadline");
    }
    m
}

/// A priority-100 v2 machine that became master at 3610 ms.
fn master_at_3610() -> Vec<Step> {
    vec![
        step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
        step(3610, Event::Timer, becomes_master(100), State::Master, Some(4610)),
    ]
}

#[test]
fn init_goes_backup_and_master_down_timer_expiry_makes_master() {
    let mut steps = master_at_3610();
    steps.push(step(4610, Event::Timer, vec![adv(100)], State::Master, Some(5610)));
    steps.push(step(5700, Event::Timer, vec![adv(100)], State::Master, Some(6610)));
    run("takeover", params(100), steps);
}

#[test]
fn owner_starts_as_master_at_once() {
    run("owner", params(255), vec![step(0, Event::Startup, becomes_master(255), State::Master, Some(1000))]);
}

#[test]
fn state_master_below_255_still_waits_one_master_down_interval() {
    // keepalived's `state MASTER` with priority 150: BACKUP first, MASTER after MDI(150) = 3.414 s.
    run(
        "state MASTER",
        params(150),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 150), Action::RemoveVips], State::Backup, Some(3415)),
            step(3414, Event::Timer, vec![], State::Backup, Some(3415)),
            step(3415, Event::Timer, becomes_master(150), State::Master, Some(4415)),
        ],
    );
}

#[test]
fn second_garp_burst_after_master_delay_and_optional_refresh() {
    let mut p = params(255);
    p.garp.master_delay = Duration::from_millis(2500);
    p.garp.master_refresh = Some(Duration::from_millis(1800));
    run(
        "garp",
        p,
        vec![
            step(0, Event::Startup, becomes_master(255), State::Master, Some(1000)),
            step(1000, Event::Timer, vec![adv(255)], State::Master, Some(1800)),
            step(1800, Event::Timer, vec![Action::Garp { count: 1 }], State::Master, Some(2000)),
            step(2000, Event::Timer, vec![adv(255)], State::Master, Some(2500)),
            step(2500, Event::Timer, vec![Action::Garp { count: 5 }], State::Master, Some(3000)),
        ],
    );
}

#[test]
fn no_garp_when_repeat_is_zero() {
    let mut p = params(255);
    p.garp.master_repeat = 0;
    run("garp off", p, vec![step(0, Event::Startup, vec![to(State::Master, 255), Action::AddVips, adv(255)], State::Master, Some(1000))]);
}

#[test]
fn backup_reception_table() {
    // (what arrives at 1000 ms, the deadline after it) for a priority-100 preempting backup.
    let cases: Vec<(&str, Event, u64)> = vec![
        ("higher priority resets the timer", advert(200), 1000 + 3610),
        ("equal priority resets the timer (no preemption on a tie)", advert(100), 1000 + 3610),
        ("equal priority from a lower address too", advert_from(LOWER_IP, 100), 1000 + 3610),
        ("lower priority is discarded when preempting", advert(50), 3610),
        ("priority 0 shortens the timer to Skew_Time", advert(0), 1000 + 610),
    ];
    for (name, event, deadline) in cases {
        run(
            name,
            params(100),
            vec![
                step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
                step(1000, event, vec![], State::Backup, Some(deadline)),
            ],
        );
    }
}

#[test]
fn release_by_priority_zero_hands_over_after_skew() {
    run(
        "release",
        params(100),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            step(1000, advert(0), vec![], State::Backup, Some(1610)),
            step(1610, Event::Timer, becomes_master(100), State::Master, Some(2610)),
        ],
    );
}

#[test]
fn nopreempt_accepts_a_lower_priority_master() {
    let mut p = params(200);
    p.preempt = false;
    run(
        "nopreempt",
        p,
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 200), Action::RemoveVips], State::Backup, Some(3219)),
            step(1000, advert(100), vec![], State::Backup, Some(4219)),
            step(2000, advert(100), vec![], State::Backup, Some(5219)),
        ],
    );
}

#[test]
fn preempt_takes_over_from_a_lower_priority_master() {
    run(
        "preempt",
        params(200),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 200), Action::RemoveVips], State::Backup, Some(3219)),
            step(1000, advert(100), vec![], State::Backup, Some(3219)),
            step(2000, advert(100), vec![], State::Backup, Some(3219)),
            step(3219, Event::Timer, becomes_master(200), State::Master, Some(4219)),
        ],
    );
}

#[test]
fn preempt_delay_accepts_lower_adverts_for_the_delay_then_takes_over_one_mdi_later() {
    let mut p = params(150);
    p.preempt_delay = Duration::from_secs(5);
    let mut steps = vec![step(0, Event::Startup, vec![to(State::Backup, 150), Action::RemoveVips], State::Backup, Some(3415))];
    // The window opens at the first lower advert (1 s) and closes at 6 s.
    for t in [1000, 2000, 3000, 4000, 5000] {
        steps.push(step(t, advert(100), vec![], State::Backup, Some(t + 3415)));
    }
    for t in [6000, 7000, 8000] {
        steps.push(step(t, advert(100), vec![], State::Backup, Some(8415)));
    }
    steps.push(step(8415, Event::Timer, becomes_master(150), State::Master, Some(9415)));
    run("preempt_delay", p, steps);
}

#[test]
fn preempt_delay_window_resets_on_a_higher_priority_master() {
    let mut p = params(150);
    p.preempt_delay = Duration::from_secs(2);
    let m = run(
        "preempt_delay reset",
        p,
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 150), Action::RemoveVips], State::Backup, Some(3415)),
            step(1000, advert(100), vec![], State::Backup, Some(4415)),
            step(2000, advert(200), vec![], State::Backup, Some(5415)),
            // A new window opens at 3 s, so this lower advert (before 5 s) still resets.
            step(3000, advert(100), vec![], State::Backup, Some(6415)),
            step(4500, advert(100), vec![], State::Backup, Some(7915)),
        ],
    );
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn master_reception_table() {
    let cases: Vec<(&str, Event, Vec<Action>, State, u64)> = vec![
        (
            "higher priority: go backup and delete the VIPs",
            advert(150),
            vec![to(State::Backup, 100), Action::RemoveVips],
            State::Backup,
            5000 + 3610,
        ),
        (
            "equal priority from a higher address: go backup",
            advert_from(HIGHER_IP, 100),
            vec![to(State::Backup, 100), Action::RemoveVips],
            State::Backup,
            5000 + 3610,
        ),
        (
            "equal priority from a lower address: answer at once",
            advert_from(LOWER_IP, 100),
            vec![adv(100), Action::Garp { count: 5 }],
            State::Master,
            6000,
        ),
        (
            "keepalived answers a lower priority at once with GARPs",
            advert(50),
            vec![adv(100), Action::Garp { count: 5 }],
            State::Master,
            6000,
        ),
        ("priority 0: advertise at once", advert(0), vec![adv(100)], State::Master, 6000),
    ];
    for (name, event, expect, state, deadline) in cases {
        let mut steps = master_at_3610();
        steps.push(step(4610, Event::Timer, vec![adv(100)], State::Master, Some(5610)));
        steps.push(step(5000, event, expect, state, Some(deadline)));
        run(name, params(100), steps);
    }
}

#[test]
fn v3_backup_learns_the_master_interval() {
    let mut p = params(100);
    p.version = Version::V3;
    let half = Event::Advert(Received { src: HIGHER_IP.into(), priority: 200, interval: Duration::from_millis(500) });
    let m = run(
        "v3 learns",
        p,
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            // MDI at 0.5 s: 1.5 s + 156/256 × 0.5 s = 1.8047 s.
            step(1000, half, vec![], State::Backup, Some(2805)),
        ],
    );
    assert_eq!(m.master_adver_int(), Duration::from_millis(500));
}

#[test]
fn v3_master_goes_backup_with_the_new_master_interval_and_back_to_its_own() {
    let mut p = params(100);
    p.version = Version::V3;
    let mut steps = master_at_3610();
    let fast = Event::Advert(Received { src: HIGHER_IP.into(), priority: 200, interval: Duration::from_millis(200) });
    // MDI = 0.6 s + 156/256 × 0.2 s = 0.7219 s.
    steps.push(step(4000, fast, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(4722)));
    steps.push(step(4722, Event::Timer, becomes_master(100), State::Master, Some(5722)));
    run("v3 master", p, steps);
}

#[test]
fn shutdown_releases_with_priority_zero_only_from_master() {
    let mut steps = master_at_3610();
    // The VIPs stay until the new master's first advert (the hold ends 1.1 s later at most).
    steps.push(step(4000, Event::Shutdown, vec![to(State::Stopped, 100), adv(0)], State::Stopped, Some(5100)));
    // Another release (priority 0) is no new master.
    steps.push(step(4100, advert(0), vec![], State::Stopped, Some(5100)));
    steps.push(step(4610, advert(50), vec![Action::RemoveVips], State::Stopped, None));
    steps.push(step(5100, Event::Timer, vec![], State::Stopped, None));
    steps.push(step(5200, advert(200), vec![], State::Stopped, None));
    run("shutdown master", params(100), steps);
    // Nobody takes over: the VIPs go when the hold ends.
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Shutdown, vec![to(State::Stopped, 100), adv(0)], State::Stopped, Some(5100)));
    steps.push(step(5099, Event::Timer, vec![], State::Stopped, Some(5100)));
    steps.push(step(5100, Event::Timer, vec![Action::RemoveVips], State::Stopped, None));
    let m = run("shutdown alone", params(100), steps);
    assert!(!m.releasing());
    run(
        "shutdown backup",
        params(100),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            step(1000, Event::Shutdown, vec![to(State::Stopped, 100)], State::Stopped, None),
        ],
    );
}

#[test]
fn failing_zero_weight_script_faults_a_master_with_two_priority_zero_adverts() {
    let p = with_track(params(100), &[0]);
    let mut steps = master_at_3610();
    // Not a pair: the VIPs go at once (nothing would answer on them during Skew_Time).
    steps.push(step(
        4000,
        Event::Script { script: 0, ok: false },
        vec![fault(100, FaultCause::Script(0)), adv(0), adv(0), Action::RemoveVips],
        State::Fault,
        None,
    ));
    // Silent in FAULT: adverts and timers do nothing.
    steps.push(step(4500, advert(50), vec![], State::Fault, None));
    steps.push(step(6000, Event::Timer, vec![], State::Fault, None));
    // Recovery goes BACKUP and waits a full MDI.
    steps.push(step(7000, Event::Script { script: 0, ok: true }, vec![to(State::Backup, 100)], State::Backup, Some(10610)));
    run("script fault", p, steps);
}

#[test]
fn a_pair_master_in_fault_holds_its_vips_until_the_new_master_advertises() {
    let p = pair(with_track(params(100), &[0]));
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::Script { script: 0, ok: false },
        vec![fault(100, FaultCause::Script(0)), adv(0), adv(0)],
        State::Fault,
        Some(5100),
    ));
    // Another release (priority 0) is no new master.
    steps.push(step(4001, advert(0), vec![], State::Fault, Some(5100)));
    steps.push(step(4002, advert(50), vec![Action::RemoveVips], State::Fault, None));
    steps.push(step(4500, advert(50), vec![], State::Fault, None));
    steps.push(step(7000, Event::Script { script: 0, ok: true }, vec![to(State::Backup, 100)], State::Backup, Some(10610)));
    run("pair script fault", p, steps);
}

#[test]
fn proxy_down_faults_by_default_and_proxy_up_recovers() {
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::Proxy { up: false },
        vec![fault(100, FaultCause::ProxyDown), adv(0), adv(0), Action::RemoveVips],
        State::Fault,
        None,
    ));
    steps.push(step(5000, Event::Proxy { up: true }, vec![to(State::Backup, 100)], State::Backup, Some(8610)));
    run("proxy", params(100), steps);
    // A pair holds the VIPs (its backup takes over at once); healthy again before that, it
    // does not keep them as a backup.
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Proxy { up: false }, vec![fault(100, FaultCause::ProxyDown), adv(0), adv(0)], State::Fault, Some(5100)));
    steps.push(step(5000, Event::Proxy { up: true }, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(8610)));
    run("pair proxy", pair(params(100)), steps);
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Proxy { up: false }, vec![fault(100, FaultCause::ProxyDown), adv(0), adv(0)], State::Fault, Some(5100)));
    steps.push(step(5100, Event::Timer, vec![Action::RemoveVips], State::Fault, None));
    steps.push(step(6000, Event::Proxy { up: true }, vec![to(State::Backup, 100)], State::Backup, Some(9610)));
    run("pair proxy, nobody took over", pair(params(100)), steps);
}

#[test]
fn a_switchover_hands_over_without_a_pair_and_switchback_recovers() {
    // The proxy serves on: the VIPs stay until the new master (after its Skew_Time) advertises.
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::Switchover { on: true },
        vec![fault(100, FaultCause::Switchover), adv(0), adv(0)],
        State::Fault,
        Some(5100),
    ));
    steps.push(step(4610, advert(90), vec![Action::RemoveVips], State::Fault, None));
    steps.push(step(6000, Event::Switchover { on: false }, vec![to(State::Backup, 100)], State::Backup, Some(9610)));
    run("switchover", params(100), steps);
    // Even with a proxy_down weight (a switchover is no proxy failure).
    let mut p = params(100);
    p.proxy_down = ProxyDown::Weight(60);
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::Switchover { on: true },
        vec![fault(100, FaultCause::Switchover), adv(0), adv(0)],
        State::Fault,
        Some(5100),
    ));
    steps.push(step(4500, Event::Switchover { on: false }, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(8110)));
    run("switchover with a weight", p, steps);
}

#[test]
fn proxy_down_with_a_weight_lowers_the_priority_on_the_next_advert() {
    let mut p = params(100);
    p.proxy_down = ProxyDown::Weight(60);
    let mut steps = master_at_3610();
    // No FAULT, no release: the lower priority rides on the next regular advert.
    steps.push(step(4000, Event::Proxy { up: false }, vec![], State::Master, Some(4610)));
    steps.push(step(4610, Event::Timer, vec![adv(40)], State::Master, Some(5610)));
    // A peer at 50 now wins over us.
    steps.push(step(5000, advert(50), vec![to(State::Backup, 40), Action::RemoveVips], State::Backup, Some(5000 + 3844)));
    steps.push(step(6000, Event::Proxy { up: true }, vec![], State::Backup, Some(8844)));
    // Back at 100 and preempting: the lower master's adverts no longer reset the timer.
    steps.push(step(7000, advert(50), vec![], State::Backup, Some(8844)));
    steps.push(step(8844, Event::Timer, becomes_master(100), State::Master, Some(9844)));
    run("proxy weight", p, steps);
}

#[test]
fn link_down_faults_a_backup_silently() {
    run(
        "link",
        params(100),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            step(1000, Event::Links { up: false }, vec![fault(100, FaultCause::LinkDown)], State::Fault, None),
            step(2000, Event::Links { up: true }, vec![to(State::Backup, 100)], State::Backup, Some(5610)),
        ],
    );
}

#[test]
fn fault_before_startup_starts_in_fault() {
    run(
        "fault at start",
        params(100),
        vec![
            step(0, Event::Proxy { up: false }, vec![], State::Init, None),
            step(0, Event::Startup, vec![fault(100, FaultCause::ProxyDown), Action::RemoveVips], State::Fault, None),
        ],
    );
}

#[test]
fn owner_leaves_fault_straight_to_master() {
    run(
        "owner fault",
        params(255),
        vec![
            step(0, Event::Startup, becomes_master(255), State::Master, Some(1000)),
            step(
                500,
                Event::Links { up: false },
                vec![fault(255, FaultCause::LinkDown), adv(0), adv(0), Action::RemoveVips],
                State::Fault,
                None,
            ),
            step(900, Event::Links { up: true }, becomes_master(255), State::Master, Some(1900)),
        ],
    );
}

#[test]
fn track_weights_ride_on_the_next_regular_advert() {
    let p = with_track(params(100), &[-60, 30]);
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Script { script: 0, ok: false }, vec![], State::Master, Some(4610)));
    steps.push(step(4610, Event::Timer, vec![adv(40)], State::Master, Some(5610)));
    steps.push(step(5000, Event::Script { script: 1, ok: true }, vec![], State::Master, Some(5610)));
    steps.push(step(5610, Event::Timer, vec![adv(70)], State::Master, Some(6610)));
    // Now 70: a peer at 80 wins.
    steps.push(step(6000, advert(80), vec![to(State::Backup, 70), Action::RemoveVips], State::Backup, Some(6000 + 3727)));
    let m = run("weights", p, steps);
    assert_eq!(m.priority(), 70);
}

#[test]
fn raised_priority_lets_a_backup_preempt() {
    let p = with_track(params(100), &[60]);
    run(
        "weight preempt",
        p,
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            step(500, advert(150), vec![], State::Backup, Some(4110)),
            step(1000, Event::Script { script: 0, ok: true }, vec![], State::Backup, Some(4110)),
            // 160 > 150: the master's adverts are now discarded.
            step(1500, advert(150), vec![], State::Backup, Some(4110)),
            step(4110, Event::Timer, becomes_master(160), State::Master, Some(5110)),
        ],
    );
}

#[test]
fn scripts_the_instance_does_not_track_are_ignored() {
    let p = with_track(params(100), &[0]);
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Script { script: 5, ok: false }, vec![], State::Master, Some(4610)));
    run("untracked", p, steps);
}

#[test]
fn sync_group_events_move_the_member_along() {
    // Another member became master: a backup follows at once.
    run(
        "group master",
        params(100),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            step(1000, Event::GroupMaster, becomes_master(100), State::Master, Some(2000)),
            // Already master: nothing to do.
            step(1500, Event::GroupMaster, vec![], State::Master, Some(2000)),
            // Another member lost to a higher priority: follow it to BACKUP.
            step(1800, Event::GroupBackup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(5410)),
            step(1900, Event::GroupBackup, vec![], State::Backup, Some(5410)),
        ],
    );
}

#[test]
fn sync_group_fault_faults_every_member_and_clears_with_it() {
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::GroupFault { on: true },
        vec![fault(100, FaultCause::SyncGroup), adv(0), adv(0), Action::RemoveVips],
        State::Fault,
        None,
    ));
    steps.push(step(4500, Event::GroupMaster, vec![], State::Fault, None));
    steps.push(step(5000, Event::GroupFault { on: false }, vec![to(State::Backup, 100)], State::Backup, Some(8610)));
    let m = run("group fault", params(100), steps);
    assert!(!m.own_fault());
}

#[test]
fn a_pair_backup_takes_over_at_once_on_priority_zero() {
    for preempt in [true, false] {
        let mut p = pair(params(100));
        p.preempt = preempt;
        run(
            "pair",
            p,
            vec![
                step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
                step(1000, advert(150), vec![], State::Backup, Some(4610)),
                // No Skew_Time: no other backup can be waiting to win.
                step(1500, advert(0), becomes_master(100), State::Master, Some(2500)),
                // The leaving master's second priority-0 advert (FAULT sends two) is answered.
                step(1501, advert(0), vec![adv(100)], State::Master, Some(2501)),
            ],
        );
    }
}

#[test]
fn without_pair_a_priority_zero_advert_keeps_rfc_skew() {
    // Multicast, or several unicast peers: the highest backup must win, so Skew_Time stays.
    run(
        "not a pair",
        params(100),
        vec![
            step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
            step(1000, advert(0), vec![], State::Backup, Some(1610)),
            step(1609, Event::Timer, vec![], State::Backup, Some(1610)),
        ],
    );
}

#[test]
fn a_pair_master_hands_over_to_a_pair_backup() {
    // Both ends of the exchange, with the actions of one fed to the other as the wire would.
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut old = Machine::new(pair(params(150)));
    let mut new = Machine::new(pair(params(100)));
    old.handle(Event::Startup, at(0));
    new.handle(Event::Startup, at(0));
    old.handle(Event::Timer, at(3415));
    assert_eq!(old.state(), State::Master);
    new.handle(advert_from(LOCAL, 150), at(3415));
    let released = old.handle(Event::Proxy { up: false }, at(5000));
    assert_eq!(released, vec![fault(150, FaultCause::ProxyDown), adv(0), adv(0)], "the VIPs are kept for now");
    let took = new.handle(advert_from(LOCAL, 0), at(5001));
    assert_eq!(took, becomes_master(100));
    let gone = old.handle(advert(100), at(5002));
    assert_eq!(gone, vec![Action::RemoveVips], "the new master's first advert ends the hold");
    assert!(!old.releasing());
}

#[test]
fn a_link_down_master_removes_its_vips_at_once() {
    // Cut off, it can neither serve on the VIPs nor hear the new master: no hand-over hold.
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::Links { up: false },
        vec![fault(100, FaultCause::LinkDown), adv(0), adv(0), Action::RemoveVips],
        State::Fault,
        None,
    ));
    run("link down master", params(100), steps);
}

#[test]
fn shutdown_during_a_fault_hand_over_keeps_waiting_for_the_new_master() {
    let mut steps = master_at_3610();
    steps.push(step(
        4000,
        Event::Switchover { on: true },
        vec![fault(100, FaultCause::Switchover), adv(0), adv(0)],
        State::Fault,
        Some(5100),
    ));
    steps.push(step(4200, Event::Shutdown, vec![to(State::Stopped, 100)], State::Stopped, Some(5100)));
    steps.push(step(4610, advert(90), vec![Action::RemoveVips], State::Stopped, None));
    run("fault then stop", params(100), steps);
}

#[test]
fn delete_by_a_reload_removes_the_vips_at_once() {
    // The instance that replaces it may claim the same VIPs right away.
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Delete, vec![to(State::Stopped, 100), adv(0), Action::RemoveVips], State::Stopped, None));
    run("delete master", params(100), steps);
    let mut steps = master_at_3610();
    steps.push(step(4000, Event::Shutdown, vec![to(State::Stopped, 100), adv(0)], State::Stopped, Some(5100)));
    steps.push(step(4100, Event::Delete, vec![Action::RemoveVips], State::Stopped, None));
    run("delete while handing over", params(100), steps);
}

#[test]
fn an_owner_back_from_a_fault_it_held_through_keeps_its_vips() {
    let p = pair(with_track(params(255), &[0]));
    run(
        "owner hold",
        p,
        vec![
            step(0, Event::Startup, becomes_master(255), State::Master, Some(1000)),
            step(
                500,
                Event::Script { script: 0, ok: false },
                vec![fault(255, FaultCause::Script(0)), adv(0), adv(0)],
                State::Fault,
                Some(1600),
            ),
            step(900, Event::Script { script: 0, ok: true }, becomes_master(255), State::Master, Some(1900)),
        ],
    );
}

#[test]
fn hand_over_stops_a_master_silently_keeping_its_vips() {
    let mut steps = master_at_3610();
    // No priority-0 advert, no RemoveVips, no transition reported, no timer left.
    steps.push(step(4000, Event::HandOver, vec![], State::Stopped, None));
    // Stopped is final: a later timer or advert does nothing.
    steps.push(step(5000, Event::Timer, vec![], State::Stopped, None));
    steps.push(step(5100, advert(200), vec![], State::Stopped, None));
    run("hand over from master", params(100), steps);
}

#[test]
fn hand_over_of_a_backup_is_silent_too() {
    let steps = vec![
        step(0, Event::Startup, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610)),
        step(1000, Event::HandOver, vec![], State::Stopped, None),
    ];
    run("hand over from backup", params(100), steps);
}

#[test]
fn resumed_master_advertises_at_once_without_garp_and_keeps_its_cadence() {
    let steps = vec![
        step(0, Event::Resume { master: true }, vec![to(State::Master, 100), Action::AddVips, adv(100)], State::Master, Some(1000)),
        step(1000, Event::Timer, vec![adv(100)], State::Master, Some(2000)),
        // A higher priority still wins as usual.
        step(1500, advert(200), vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(5110)),
    ];
    run("resumed master", params(100), steps);
}

#[test]
fn resumed_backup_or_faulty_master_starts_as_at_boot() {
    let steps = vec![step(0, Event::Resume { master: false }, vec![to(State::Backup, 100), Action::RemoveVips], State::Backup, Some(3610))];
    run("resumed backup", params(100), steps);
    // A master whose zero-weight track failed meanwhile does not carry on as master.
    let t0 = Instant::now();
    let mut m = Machine::new(with_track(params(100), &[0]));
    let _ = m.handle(Event::Script { script: 0, ok: false }, t0);
    let actions = m.handle(Event::Resume { master: true }, t0);
    assert_eq!(m.state(), State::Fault, "{actions:?}");
    assert!(!actions.contains(&Action::AddVips), "{actions:?}");
}
