//! VRRP failover between two vrrpd hosts in network namespaces (issue 6 acceptance): the higher
//! priority wins, SIGKILL of the master hands the VIP over within 3 × advert + skew + 0.5 s,
//! SIGTERM within skew + 0.5 s, and the client's neighbour entry follows the new master.

mod harness;

use harness::netns::{time_until, InstanceSpec, Lab, VIP};
use nix::sys::signal::Signal;
use std::time::Duration;

/// Master_Down_Interval of a priority-100 v2 backup at 1 s: 3 s + 156/256 s.
const MDI_100: Duration = Duration::from_micros(3_609_375);
const SKEW_100: Duration = Duration::from_micros(609_375);
const SLACK: Duration = Duration::from_millis(500);

fn spec(priority: u8) -> InstanceSpec {
    InstanceSpec { priority, password: Some("s3cret"), ..InstanceSpec::default() }
}

/// lb1 (150) and lb2 (100) started together; returns their PIDs once lb1 holds the VIP alone.
fn elect(lab: &mut Lab) -> (u32, u32) {
    let lb1 = lab.start_vrrp("lb1", &spec(150));
    let lb2 = lab.start_vrrp("lb2", &spec(100));
    let took = time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP));
    assert!(took.is_some(), "lb1 (priority 150) never took the VIP\n{}", lab.logs());
    // lb2's own Master_Down_Interval runs out around now: it must hear lb1 and stay backup.
    let stolen = time_until(Duration::from_millis(2500), || lab.has_addr("lb2", VIP));
    assert!(stolen.is_none(), "lb2 (priority 100) took the VIP as well\n{}", lab.logs());
    (lb1, lb2)
}

#[test]
fn sigkill_of_the_master_moves_the_vip_within_master_down_interval() {
    let Some(mut lab) = Lab::new("kill", &["lb1", "lb2", "cl"]) else { return };
    let (lb1, _lb2) = elect(&mut lab);
    assert_eq!(lab.resolve("cl", VIP), Some(lab.mac("lb1")), "the client should reach the VIP at lb1\n{}", lab.logs());

    lab.signal(lb1, Signal::SIGKILL);
    let took = time_until(Duration::from_secs(6), || lab.has_addr("lb2", VIP));
    let took = took.unwrap_or_else(|| panic!("lb2 never took the VIP after SIGKILL of lb1\n{}", lab.logs()));
    eprintln!("SIGKILL failover took {took:?} (bound {:?})", MDI_100 + SLACK);
    assert!(took <= MDI_100 + SLACK, "failover after SIGKILL took {took:?}\n{}", lab.logs());

    // The gratuitous ARPs repoint the client without any traffic of its own.
    let repointed = time_until(Duration::from_secs(1), || lab.neighbour_mac("cl", VIP) == Some(lab.mac("lb2")));
    assert!(
        repointed.is_some(),
        "client neighbour entry for the VIP is {:?}, not lb2's {}\n{}",
        lab.neighbour_mac("cl", VIP),
        lab.mac("lb2"),
        lab.logs()
    );
}

#[test]
fn sigterm_of_the_master_releases_the_vip_within_skew_time() {
    let Some(mut lab) = Lab::new("term", &["lb1", "lb2", "cl"]) else { return };
    let (lb1, _lb2) = elect(&mut lab);
    assert_eq!(lab.resolve("cl", VIP), Some(lab.mac("lb1")), "the client should reach the VIP at lb1\n{}", lab.logs());

    lab.signal(lb1, Signal::SIGTERM);
    let took = time_until(Duration::from_secs(3), || lab.has_addr("lb2", VIP));
    let took = took.unwrap_or_else(|| panic!("lb2 never took the VIP after SIGTERM of lb1\n{}", lab.logs()));
    eprintln!("SIGTERM failover took {took:?} (bound {:?})", SKEW_100 + SLACK);
    assert!(took <= SKEW_100 + SLACK, "failover after SIGTERM took {took:?}, the priority-0 advert did not work\n{}", lab.logs());

    let status = lab.wait_exit(lb1, Duration::from_secs(3));
    assert!(status.is_some_and(|s| s.success()), "lb1 did not exit cleanly: {status:?}\n{}", lab.logs());
    assert!(!lab.has_addr("lb1", VIP), "lb1 kept the VIP after a clean stop\n{}", lab.logs());
    assert!(lab.log("lb1").contains("VRRP_Instance(VI_1) sent 0 priority"), "{}", lab.logs());
    let repointed = time_until(Duration::from_secs(1), || lab.neighbour_mac("cl", VIP) == Some(lab.mac("lb2")));
    assert!(repointed.is_some(), "client still points at {:?}\n{}", lab.neighbour_mac("cl", VIP), lab.logs());
}
