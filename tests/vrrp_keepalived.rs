//! Interoperation with keepalived 2.2 (Debian's package) in one virtual router, as users migrate
//! one host at a time (issue 6 acceptance): v2 with PASS authentication and v3, the higher
//! priority wins in both directions, each takes over when the other dies, and a wrong password
//! is rejected by both.

mod harness;

use harness::netns::{have_keepalived, time_until, InstanceSpec, Lab, VIP, VIP6};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// Master_Down_Interval of a priority-100 backup at 1 s (v2 and v3 alike), plus the slack.
const BOUND: Duration = Duration::from_micros(3_609_375 + 500_000);

fn spec(version: u8, priority: u8) -> InstanceSpec {
    let password = if version == 2 { Some("s3cret") } else { None };
    InstanceSpec { version, priority, password, ..InstanceSpec::default() }
}

/// Host "ka" runs keepalived, host "hk" runs hakeeper's vrrpd. The one with priority 150 must
/// win while the other (100) stays backup, and the backup must take over when the winner dies.
fn interop(tag: &str, version: u8, keepalived_wins: bool) {
    interop_with(tag, version, keepalived_wins, VIP);
}

fn interop_with(tag: &str, version: u8, keepalived_wins: bool, vip: &'static str) {
    if !have_keepalived() {
        return;
    }
    let Some(mut lab) = Lab::new(tag, &["ka", "hk"]) else { return };
    let (ka_prio, hk_prio) = if keepalived_wins { (150, 100) } else { (100, 150) };
    let with_vip = |priority| InstanceSpec { vips: vec![vip], ..spec(version, priority) };
    let (ka_main, ka_vrrp) = lab.start_keepalived("ka", &with_vip(ka_prio));
    let hk = lab.start_vrrp("hk", &with_vip(hk_prio));
    let (winner, loser) = if keepalived_wins { ("ka", "hk") } else { ("hk", "ka") };

    let won = time_until(Duration::from_secs(8), || lab.has_addr(winner, vip));
    assert!(won.is_some(), "v{version}: {winner} (priority 150) never took the VIP\n{}", lab.logs());
    let stolen = time_until(Duration::from_millis(2500), || lab.has_addr(loser, vip));
    assert!(stolen.is_none(), "v{version}: {loser} (priority 100) took the VIP too: it does not accept {winner}'s adverts\n{}", lab.logs());

    if keepalived_wins {
        // The VRRP child is what advertises; without respawn the parent cannot bring it back.
        lab.signal(ka_vrrp, Signal::SIGKILL);
        lab.signal(ka_main, Signal::SIGKILL);
    } else {
        lab.signal(hk, Signal::SIGKILL);
    }
    let took = time_until(Duration::from_secs(6), || lab.has_addr(loser, vip));
    let took = took.unwrap_or_else(|| panic!("v{version}: {loser} never took over from {winner}\n{}", lab.logs()));
    eprintln!("v{version}: {loser} took over from {winner} in {took:?}");
    assert!(took <= BOUND, "v{version}: {loser} took {took:?} to take over\n{}", lab.logs());
}

#[test]
fn v2_pass_keepalived_master_then_hakeeper_takes_over() {
    interop("kav2a", 2, true);
}

#[test]
fn v2_pass_hakeeper_master_then_keepalived_takes_over() {
    interop("kav2b", 2, false);
}

#[test]
fn v3_keepalived_master_then_hakeeper_takes_over() {
    interop("kav3a", 3, true);
}

#[test]
fn v3_hakeeper_master_then_keepalived_takes_over() {
    interop("kav3b", 3, false);
}

#[test]
fn v3_ipv6_keepalived_master_then_hakeeper_takes_over() {
    interop_with("kav6a", 3, true, VIP6);
}

#[test]
fn v3_ipv6_hakeeper_master_then_keepalived_takes_over() {
    interop_with("kav6b", 3, false, VIP6);
}

#[test]
fn a_wrong_password_is_rejected_by_both() {
    if !have_keepalived() {
        return;
    }
    let Some(mut lab) = Lab::new("kapw", &["ka", "hk"]) else { return };
    lab.start_keepalived("ka", &spec(2, 150));
    lab.start_vrrp("hk", &InstanceSpec { password: Some("wrong"), ..spec(2, 100) });
    // Neither accepts the other's adverts, so each ends up master, as with two keepalived.
    let both = time_until(Duration::from_secs(8), || lab.has_addr("ka", VIP) && lab.has_addr("hk", VIP));
    assert!(both.is_some(), "a password mismatch should leave two masters\n{}", lab.logs());
    let rejected = time_until(Duration::from_secs(3), || {
        lab.log("ka").contains("received an invalid passwd") && lab.log("hk").contains("password mismatch")
    });
    assert!(rejected.is_some(), "both sides should log the rejected password\n{}", lab.logs());
}

/// Skew_Time of a v2 backup at priority 100 (RFC 3768: (256 - 100) / 256 s).
const SKEW_100: Duration = Duration::from_micros(609_375);

/// A unicast pair: `me` names only `peer`, so hakeeper treats it as a pair (keepalived has no
/// such notion and keeps RFC timing).
fn unicast_pair(lab: &Lab, me: &str, peer: &str, priority: u8) -> InstanceSpec {
    InstanceSpec { unicast_src: Some(lab.addr(me)), unicast_peers: vec![lab.addr(peer)], ..spec(2, priority) }
}

/// What sampling both hosts saw until `target` held the VIP alone: when that was, the longest
/// stretch in which neither held it, and the longest in which both did.
struct Move {
    moved: Option<Duration>,
    unheld: Duration,
    overlap: Duration,
}

fn watch_move(lab: &Lab, target: &str, other: &str, timeout: Duration) -> Move {
    let start = Instant::now();
    let mut m = Move { moved: None, unheld: Duration::ZERO, overlap: Duration::ZERO };
    let (mut unheld_since, mut both_since) = (None::<Instant>, None::<Instant>);
    while start.elapsed() < timeout {
        let now = Instant::now();
        let (t, o) = (lab.has_addr(target, VIP), lab.has_addr(other, VIP));
        let track = |since: &mut Option<Instant>, on: bool, longest: &mut Duration| match (on, *since) {
            (true, None) => *since = Some(now),
            (false, Some(s)) => {
                *longest = (*longest).max(now - s);
                *since = None;
            }
            _ => {}
        };
        track(&mut unheld_since, !t && !o, &mut m.unheld);
        track(&mut both_since, t && o, &mut m.overlap);
        if t && !o {
            m.moved = Some(start.elapsed());
            return m;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    m
}

#[test]
fn a_hakeeper_pair_master_hands_over_to_keepalived_which_does_not_flap() {
    if !have_keepalived() {
        return;
    }
    let Some(mut lab) = Lab::new("kahand", &["ka", "hk"]) else { return };
    lab.start_keepalived("ka", &unicast_pair(&lab, "ka", "hk", 100));
    let hk = lab.start_vrrp("hk", &unicast_pair(&lab, "hk", "ka", 150));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("hk", VIP)).is_some(), "hakeeper never took the VIP\n{}", lab.logs());
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!lab.has_addr("ka", VIP), "keepalived holds the VIP too\n{}", lab.logs());

    lab.signal(hk, Signal::SIGTERM);
    let m = watch_move(&lab, "ka", "hk", Duration::from_secs(3));
    eprintln!("hakeeper pair master → keepalived: moved {:?}, unheld {:?}, both held {:?}", m.moved, m.unheld, m.overlap);
    let moved = m.moved.unwrap_or_else(|| panic!("keepalived never held the VIP alone\n{}", lab.logs()));
    // keepalived keeps RFC timing: it waits its Skew_Time, and hakeeper holds the VIP until then.
    assert!(moved >= SKEW_100 - Duration::from_millis(50), "keepalived took over after {moved:?}\n{}", lab.logs());
    assert!(m.unheld <= Duration::from_millis(50), "nobody held the VIP for {:?}\n{}", m.unheld, lab.logs());
    assert!(m.overlap <= Duration::from_millis(200), "both held the VIP for {:?}\n{}", m.overlap, lab.logs());
    // No flapping: keepalived became master once and stays so; hakeeper is gone.
    let lost = time_until(Duration::from_secs(3), || !lab.has_addr("ka", VIP) || lab.has_addr("hk", VIP));
    assert!(lost.is_none(), "the VIP did not stay on keepalived alone\n{}", lab.logs());
    let log = lab.log("ka");
    assert_eq!(log.matches("Entering MASTER STATE").count(), 1, "keepalived flapped\n{}", lab.logs());
    let after = log.rsplit("Entering MASTER STATE").next().unwrap_or("");
    assert!(!after.contains("Entering BACKUP STATE"), "keepalived went back to BACKUP\n{}", lab.logs());
    assert!(lab.wait_exit(hk, Duration::from_secs(3)).is_some(), "hakeeper did not exit\n{}", lab.logs());
}

#[test]
fn a_hakeeper_pair_backup_takes_over_at_once_when_keepalived_releases() {
    if !have_keepalived() {
        return;
    }
    let Some(mut lab) = Lab::new("karel", &["ka", "hk"]) else { return };
    let (ka_main, _) = lab.start_keepalived("ka", &unicast_pair(&lab, "ka", "hk", 150));
    lab.start_vrrp("hk", &unicast_pair(&lab, "hk", "ka", 100));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("ka", VIP)).is_some(), "keepalived never took the VIP\n{}", lab.logs());
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!lab.has_addr("hk", VIP), "hakeeper holds the VIP too\n{}", lab.logs());

    // keepalived's SIGTERM: one priority-0 advert, VIP removed at once.
    lab.signal(ka_main, Signal::SIGTERM);
    let m = watch_move(&lab, "hk", "ka", Duration::from_secs(3));
    eprintln!("keepalived master → hakeeper pair backup: moved {:?}, unheld {:?}, both held {:?}", m.moved, m.unheld, m.overlap);
    let moved = m.moved.unwrap_or_else(|| panic!("hakeeper never held the VIP alone\n{}", lab.logs()));
    assert!(moved < Duration::from_millis(300), "hakeeper waited {moved:?} (Skew_Time is {SKEW_100:?})\n{}", lab.logs());
}
