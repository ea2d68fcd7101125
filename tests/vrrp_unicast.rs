//! Unicast peers (`unicast_src_ip`, `unicast_peers`) on a bridge that drops multicast
//! (issue 6 acceptance), and the control case showing the bridge really drops it.

mod harness;

use harness::netns::{time_until, InstanceSpec, Lab, VIP};
use nix::sys::signal::Signal;
use std::time::Duration;

const MDI_100: Duration = Duration::from_micros(3_609_375);
const SLACK: Duration = Duration::from_millis(500);

fn unicast(lab: &Lab, me: &str, peer: &str, priority: u8) -> InstanceSpec {
    InstanceSpec {
        priority,
        unicast_src: Some(lab.addr(me)),
        unicast_peers: vec![lab.addr(peer)],
        password: Some("uni"),
        ..InstanceSpec::default()
    }
}

#[test]
fn unicast_peers_elect_and_fail_over_with_multicast_blocked() {
    let Some(mut lab) = Lab::new("uni", &["lb1", "lb2"]) else { return };
    lab.block_multicast();
    let lb1 = lab.start_vrrp("lb1", &unicast(&lab, "lb1", "lb2", 150));
    lab.start_vrrp("lb2", &unicast(&lab, "lb2", "lb1", 100));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP)).is_some(), "lb1 never took the VIP\n{}", lab.logs());
    let stolen = time_until(Duration::from_millis(2500), || lab.has_addr("lb2", VIP));
    assert!(stolen.is_none(), "lb2 became master too: unicast adverts did not arrive\n{}", lab.logs());

    lab.signal(lb1, Signal::SIGKILL);
    let took = time_until(Duration::from_secs(6), || lab.has_addr("lb2", VIP));
    let took = took.unwrap_or_else(|| panic!("lb2 never took over\n{}", lab.logs()));
    eprintln!("unicast SIGKILL failover took {took:?}");
    assert!(took <= MDI_100 + SLACK, "unicast failover took {took:?}\n{}", lab.logs());
}

#[test]
fn blocked_multicast_splits_a_multicast_pair_into_two_masters() {
    // The control for the test above: without unicast, the same bridge leaves each host alone.
    let Some(mut lab) = Lab::new("mcblk", &["lb1", "lb2"]) else { return };
    lab.block_multicast();
    lab.start_vrrp("lb1", &InstanceSpec { priority: 150, ..InstanceSpec::default() });
    lab.start_vrrp("lb2", &InstanceSpec { priority: 100, ..InstanceSpec::default() });
    let both = time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP) && lab.has_addr("lb2", VIP));
    assert!(both.is_some(), "multicast still crossed the bridge: mcast_flood off did not block it\n{}", lab.logs());
}
