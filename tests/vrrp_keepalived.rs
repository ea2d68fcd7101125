//! Interoperation with keepalived 2.2 (Debian's package) in one virtual router, as users migrate
//! one host at a time (issue 6 acceptance): v2 with PASS authentication and v3, the higher
//! priority wins in both directions, each takes over when the other dies, and a wrong password
//! is rejected by both.

mod harness;

use harness::netns::{have_keepalived, time_until, InstanceSpec, Lab, VIP, VIP6};
use nix::sys::signal::Signal;
use std::time::Duration;

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
