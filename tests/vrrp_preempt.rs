//! Preemption in network namespaces: a higher-priority host that joins late takes the VIP back
//! unless it is configured `nopreempt` (issue 6 acceptance).

mod harness;

use harness::netns::{time_until, InstanceSpec, Lab, VIP};
use nix::sys::signal::Signal;
use std::time::Duration;

/// lb2 (priority 100) starts alone and becomes master.
fn lb2_master(lab: &mut Lab) -> u32 {
    let lb2 = lab.start_vrrp("lb2", &InstanceSpec { priority: 100, ..InstanceSpec::default() });
    let took = time_until(Duration::from_secs(6), || lab.has_addr("lb2", VIP));
    assert!(took.is_some(), "lb2 alone never became master\n{}", lab.logs());
    lb2
}

#[test]
fn preempt_takes_the_vip_back_for_the_higher_priority() {
    let Some(mut lab) = Lab::new("pre", &["lb1", "lb2"]) else { return };
    lb2_master(&mut lab);
    lab.start_vrrp("lb1", &InstanceSpec { priority: 150, preempt: true, ..InstanceSpec::default() });
    // lb1 discards lb2's lower adverts and takes over after its MDI (3.414 s).
    let took = time_until(Duration::from_secs(6), || lab.has_addr("lb1", VIP) && !lab.has_addr("lb2", VIP));
    let took = took.unwrap_or_else(|| panic!("lb1 did not preempt lb2\n{}", lab.logs()));
    eprintln!("preemption took {took:?} after lb1 started");
    assert!(took >= Duration::from_secs(3), "lb1 preempted before its Master_Down_Interval: {took:?}\n{}", lab.logs());
}

#[test]
fn nopreempt_leaves_the_vip_with_the_running_master() {
    let Some(mut lab) = Lab::new("nopre", &["lb1", "lb2"]) else { return };
    let lb2 = lb2_master(&mut lab);
    lab.start_vrrp("lb1", &InstanceSpec { priority: 150, preempt: false, ..InstanceSpec::default() });
    // Well past lb1's MDI (3.414 s): nothing may move.
    let moved = time_until(Duration::from_secs(6), || lab.has_addr("lb1", VIP) || !lab.has_addr("lb2", VIP));
    assert!(moved.is_none(), "the VIP moved although lb1 is nopreempt\n{}", lab.logs());
    // lb1 was a working backup all along: it takes over as soon as lb2 leaves.
    lab.signal(lb2, Signal::SIGTERM);
    let took = time_until(Duration::from_secs(3), || lab.has_addr("lb1", VIP));
    assert!(took.is_some(), "lb1 did not take over when lb2 stopped\n{}", lab.logs());
}
