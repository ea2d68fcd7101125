//! FAULT on link loss (the instance's own interface is always tracked): the master that loses
//! its carrier drops the VIP at once, the backup takes over, and after the link returns the
//! higher priority preempts again.

mod harness;

use harness::netns::{time_until, InstanceSpec, Lab, VIP};
use std::time::Duration;

#[test]
fn link_loss_faults_the_master_and_recovery_preempts_back() {
    let Some(mut lab) = Lab::new("fault", &["lb1", "lb2"]) else { return };
    lab.start_vrrp("lb1", &InstanceSpec { priority: 150, ..InstanceSpec::default() });
    lab.start_vrrp("lb2", &InstanceSpec { priority: 100, ..InstanceSpec::default() });
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP)).is_some(), "lb1 never took the VIP\n{}", lab.logs());

    lab.set_port("lb1", false);
    let dropped = time_until(Duration::from_secs(1), || !lab.has_addr("lb1", VIP));
    assert!(dropped.is_some(), "lb1 kept the VIP without a link\n{}", lab.logs());
    let took = time_until(Duration::from_secs(6), || lab.has_addr("lb2", VIP));
    assert!(took.is_some(), "lb2 did not take over from the faulted lb1\n{}", lab.logs());
    assert!(lab.log("lb1").contains("Entering FAULT STATE"), "{}", lab.logs());

    lab.set_port("lb1", true);
    // Back to BACKUP, then one Master_Down_Interval (3.414 s) before it preempts lb2.
    let back = time_until(Duration::from_secs(7), || lab.has_addr("lb1", VIP) && !lab.has_addr("lb2", VIP));
    assert!(back.is_some(), "lb1 did not come back as master after the link returned\n{}", lab.logs());
    eprintln!("lb1 preempted {:?} after its link came back", back.unwrap_or_default());
}
