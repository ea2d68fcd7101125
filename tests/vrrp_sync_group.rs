//! `vrrp_sync_group`: instances in a group move together. A FAULT in one member (its tracked
//! interface goes down) takes the whole group to FAULT, so the peer takes over every VIP of the
//! group, not only the one whose instance failed.

mod harness;

use harness::netns::{time_until, Lab, VIP};
use std::time::Duration;

const VIP2: &str = "192.0.2.101";

/// VI_1 (VRID 51, tracking `trk0` when `track` is set) and VI_2 (VRID 52) in group G1.
fn config(router_id: &str, priority: u8, track: bool) -> String {
    let track = if track { "track_interface: [\"trk0\"], " } else { "" };
    format!(
        r#"(
  vrrp: (
    router_id: "{router_id}",
    instances: [
      (name: "VI_1", interface: "eth0", vrid: 51, priority: {priority}, {track}vips: ["{VIP}"]),
      (name: "VI_2", interface: "eth0", vrid: 52, priority: {priority}, vips: ["{VIP2}"]),
    ],
    sync_groups: [(name: "G1", instances: ["VI_1", "VI_2"])],
  ),
)
"#
    )
}

#[test]
fn a_fault_in_one_member_moves_the_whole_group() {
    let Some(mut lab) = Lab::new("sync", &["lb1", "lb2"]) else { return };
    let ns = lab.ns("lb1");
    // A veth pair inside lb1: taking trk1 down drops trk0's carrier.
    let setup: [&[&str]; 3] =
        [&["link", "add", "trk0", "type", "veth", "peer", "name", "trk1"], &["link", "set", "trk0", "up"], &["link", "set", "trk1", "up"]];
    for args in setup {
        let out = harness::netns::ip(&[&["-n", ns.as_str()], args].concat());
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    lab.start_vrrp_ron("lb1", &config("lb1", 150, true));
    lab.start_vrrp_ron("lb2", &config("lb2", 100, false));
    let both = time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP) && lab.has_addr("lb1", VIP2));
    assert!(both.is_some(), "lb1 never took both VIPs\n{}", lab.logs());

    let out = harness::netns::ip(&["-n", &ns, "link", "set", "trk1", "down"]);
    assert!(out.status.success(), "trk1 down: {}", String::from_utf8_lossy(&out.stderr));
    // VI_1 faults on its tracked link; VI_2 follows through the group.
    let moved = time_until(Duration::from_secs(6), || {
        lab.has_addr("lb2", VIP) && lab.has_addr("lb2", VIP2) && !lab.has_addr("lb1", VIP) && !lab.has_addr("lb1", VIP2)
    });
    assert!(moved.is_some(), "the group did not move to lb2 together\n{}", lab.logs());
    assert!(lab.log("lb1").contains("VRRP_Group(G1) entering FAULT"), "{}", lab.logs());
}
