//! Unicast peers (`unicast_src_ip`, `unicast_peers`) on a bridge that drops multicast
//! (issue 6 acceptance), and the control case showing the bridge really drops it.

mod harness;

use harness::netns::{time_until, InstanceSpec, Lab, VIP};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

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

/// Skew_Time of a v2 backup at priority 100 (RFC 3768: (256 - 100) / 256 s).
const SKEW_100: Duration = Duration::from_micros(609_375);
/// Sampling `ip addr` in three namespaces takes a few ms: a hand-over that never leaves the VIP
/// unheld shows as 0, today's RFC release (VIP removed at once) as the whole Skew_Time.
const UNHELD: Duration = Duration::from_millis(50);

/// Samples the VIP on `hosts` until `target` holds it alone (or `timeout`): how long that took,
/// and the longest stretch in which no host held it.
fn watch_move(lab: &Lab, hosts: &[&str], target: &str, timeout: Duration) -> (Option<Duration>, Duration) {
    let start = Instant::now();
    let (mut unheld_since, mut longest) = (None::<Instant>, Duration::ZERO);
    while start.elapsed() < timeout {
        let now = Instant::now();
        let holders: Vec<&str> = hosts.iter().copied().filter(|h| lab.has_addr(h, VIP)).collect();
        match (holders.is_empty(), unheld_since) {
            (true, None) => unheld_since = Some(now),
            (false, Some(t)) => {
                longest = longest.max(now - t);
                unheld_since = None;
            }
            _ => {}
        }
        if holders == [target] {
            // When the sample that saw it ended: an upper bound.
            return (Some(start.elapsed()), longest);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (None, longest.max(unheld_since.map_or(Duration::ZERO, |t| t.elapsed())))
}

fn unicast_to(lab: &Lab, me: &str, peers: &[&str], priority: u8) -> InstanceSpec {
    InstanceSpec { unicast_peers: peers.iter().map(|p| lab.addr(p)).collect(), ..unicast(lab, me, peers[0], priority) }
}

#[test]
fn a_unicast_pair_backup_takes_over_at_once_while_the_master_holds_the_vip() {
    let Some(mut lab) = Lab::new("unipair", &["lb1", "lb2"]) else { return };
    let lb1 = lab.start_vrrp("lb1", &unicast(&lab, "lb1", "lb2", 150));
    lab.start_vrrp("lb2", &unicast(&lab, "lb2", "lb1", 100));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP)).is_some(), "lb1 never took the VIP\n{}", lab.logs());
    // lb2's own Master_Down_Interval passes while it hears lb1.
    std::thread::sleep(Duration::from_secs(1));
    assert!(!lab.has_addr("lb2", VIP), "lb2 holds the VIP too\n{}", lab.logs());

    lab.signal(lb1, Signal::SIGTERM);
    let (moved, unheld) = watch_move(&lab, &["lb1", "lb2"], "lb2", Duration::from_secs(3));
    eprintln!("unicast pair SIGTERM: lb2 alone after {moved:?}, unheld {unheld:?} at most");
    let moved = moved.unwrap_or_else(|| panic!("lb2 never held the VIP alone\n{}", lab.logs()));
    // One peer: no Skew_Time (0.61 s at 100) before the takeover.
    assert!(moved < Duration::from_millis(300), "lb2 took {moved:?}: it waited as if other backups existed\n{}", lab.logs());
    assert!(unheld <= UNHELD, "nobody held the VIP for {unheld:?}\n{}", lab.logs());
    assert!(lab.wait_exit(lb1, Duration::from_secs(3)).is_some(), "lb1 did not exit after handing over\n{}", lab.logs());
    assert!(lab.log("lb1").contains("handing over"), "lb1 did not say it held the VIP for the hand-over\n{}", lab.logs());
}

#[test]
fn a_three_node_unicast_group_keeps_rfc_timing() {
    let Some(mut lab) = Lab::new("uni3", &["lb1", "lb2", "lb3"]) else { return };
    let lb1 = lab.start_vrrp("lb1", &unicast_to(&lab, "lb1", &["lb2", "lb3"], 150));
    lab.start_vrrp("lb2", &unicast_to(&lab, "lb2", &["lb1", "lb3"], 100));
    lab.start_vrrp("lb3", &unicast_to(&lab, "lb3", &["lb1", "lb2"], 50));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP)).is_some(), "lb1 never took the VIP\n{}", lab.logs());
    std::thread::sleep(Duration::from_secs(1));

    lab.signal(lb1, Signal::SIGTERM);
    let (moved, unheld) = watch_move(&lab, &["lb1", "lb2", "lb3"], "lb2", Duration::from_secs(3));
    eprintln!("three-node unicast SIGTERM: lb2 alone after {moved:?}, unheld {unheld:?} at most");
    let moved = moved.unwrap_or_else(|| panic!("lb2 never held the VIP alone\n{}", lab.logs()));
    // Two peers: the highest backup must win, so each waits its Skew_Time (RFC 3768 §6.4.2).
    assert!(moved >= SKEW_100 - Duration::from_millis(50), "lb2 took over after {moved:?}, before its Skew_Time\n{}", lab.logs());
    assert!(moved <= SKEW_100 + SLACK, "lb2 took {moved:?}\n{}", lab.logs());
    assert!(unheld <= UNHELD, "nobody held the VIP for {unheld:?}\n{}", lab.logs());
    let stolen = time_until(Duration::from_millis(1500), || lab.has_addr("lb3", VIP));
    assert!(stolen.is_none(), "lb3 (priority 50) took the VIP too\n{}", lab.logs());
}
