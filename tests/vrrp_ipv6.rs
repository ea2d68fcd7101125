//! VRRPv3 over IPv6 in network namespaces: adverts to ff02::12 from the link-local address, the
//! IPv6 VIP moves on SIGKILL of the master, and unsolicited neighbour advertisements repoint the
//! client.

mod harness;

use harness::netns::{time_until, InstanceSpec, Lab, VIP6};
use nix::sys::signal::Signal;
use std::time::Duration;

const MDI_100: Duration = Duration::from_micros(3_609_375);
const SLACK: Duration = Duration::from_millis(500);

fn spec(priority: u8) -> InstanceSpec {
    InstanceSpec { priority, version: 3, vips: vec![VIP6], ..InstanceSpec::default() }
}

#[test]
fn ipv6_vip_fails_over_and_neighbour_advertisements_repoint_the_client() {
    let Some(mut lab) = Lab::new("v6", &["lb1", "lb2", "cl"]) else { return };
    let lb1 = lab.start_vrrp("lb1", &spec(150));
    lab.start_vrrp("lb2", &spec(100));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP6)).is_some(), "lb1 never took the VIP\n{}", lab.logs());
    let stolen = time_until(Duration::from_millis(2500), || lab.has_addr("lb2", VIP6));
    assert!(stolen.is_none(), "lb2 took the IPv6 VIP too: it does not hear lb1\n{}", lab.logs());
    assert_eq!(lab.resolve("cl", VIP6), Some(lab.mac("lb1")), "the client should reach the VIP at lb1\n{}", lab.logs());

    lab.signal(lb1, Signal::SIGKILL);
    let took = time_until(Duration::from_secs(6), || lab.has_addr("lb2", VIP6));
    let took = took.unwrap_or_else(|| panic!("lb2 never took the IPv6 VIP\n{}", lab.logs()));
    eprintln!("IPv6 SIGKILL failover took {took:?}");
    assert!(took <= MDI_100 + SLACK, "IPv6 failover took {took:?}\n{}", lab.logs());
    let repointed = time_until(Duration::from_secs(1), || lab.neighbour_mac("cl", VIP6) == Some(lab.mac("lb2")));
    assert!(repointed.is_some(), "client neighbour entry is {:?}, not lb2's\n{}", lab.neighbour_mac("cl", VIP6), lab.logs());
}
