//! Reloading vrrpd's config in place (a second `ToVrrp::Start`, sent by `vrrp_lab` on SIGHUP as
//! the supervisor sends it on its own SIGHUP): an instance the reload does not change keeps its
//! VIP without a flap while a new instance comes up beside it; a removed instance releases its
//! VIP; a changed instance restarts with its new VIPs. vrrpd also reports its packet counters.

mod harness;

use harness::netns::{time_until, Lab, VIP};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

const VIP2: &str = "192.0.2.101";
const VIP3: &str = "192.0.2.102";

/// A vrrpd config with `instances`: (name, vrid, priority, VIPs).
fn config(router_id: &str, instances: &[(&str, u8, u8, &[&str])]) -> String {
    let list: Vec<String> = instances
        .iter()
        .map(|(name, vrid, priority, vips)| {
            let vips: Vec<String> = vips.iter().map(|v| format!("\"{v}\"")).collect();
            format!("      (name: \"{name}\", interface: \"eth0\", vrid: {vrid}, priority: {priority}, vips: [{}]),\n", vips.join(", "))
        })
        .collect();
    format!("(\n  vrrp: (\n    router_id: \"{router_id}\",\n    instances: [\n{}    ],\n  ),\n)\n", list.concat())
}

/// Rewrites `host`'s config and sends its vrrpd SIGHUP.
fn reload(lab: &Lab, host: &str, pid: u32, ron: &str) {
    lab.write(&format!("{host}.ron"), ron);
    lab.signal(pid, Signal::SIGHUP);
}

#[test]
fn reload_with_an_unchanged_instance_keeps_its_vip_without_a_flap() {
    let Some(mut lab) = Lab::new("reload1", &["lb1", "lb2"]) else { return };
    let lb1 = lab.start_vrrp_ron("lb1", &config("lb1", &[("VI_1", 51, 150, &[VIP])]));
    lab.start_vrrp_ron("lb2", &config("lb2", &[("VI_1", 51, 100, &[VIP])]));
    assert!(time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP)).is_some(), "lb1 never took the VIP\n{}", lab.logs());
    let before = lab.log("lb1");

    // VI_1 unchanged, VI_2 new (no peer has it, so lb1 takes it after one Master_Down_Interval).
    reload(&lab, "lb1", lb1, &config("lb1", &[("VI_1", 51, 150, &[VIP]), ("VI_2", 52, 150, &[VIP2])]));
    let start = Instant::now();
    let mut vip2_after = None;
    while start.elapsed() < Duration::from_secs(5) {
        assert!(
            lab.has_addr("lb1", VIP),
            "lb1 lost the VIP of the unchanged instance {:?} after the reload\n{}",
            start.elapsed(),
            lab.logs()
        );
        assert!(!lab.has_addr("lb2", VIP), "lb2 took the VIP during lb1's reload\n{}", lab.logs());
        if vip2_after.is_none() && lab.has_addr("lb1", VIP2) {
            vip2_after = Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let vip2_after = vip2_after.unwrap_or_else(|| panic!("the new instance VI_2 never took its VIP\n{}", lab.logs()));
    eprintln!("the new instance's VIP came up {vip2_after:?} after the reload");

    let after = lab.log("lb1");
    assert!(after.contains("1 instance(s) unchanged, 0 to stop, 1 to start"), "{after}");
    // What the supervisor hears: VI_1 carried on as master (no notify due), VI_2 transitions.
    assert!(after.contains("supervisor got ReloadKept { instances: [(0, Master, 150)] }"), "{after}");
    assert!(after.contains("supervisor got InstanceState { instance: 1, state: Master, priority: 150 }"), "{after}");
    let count = |log: &str, needle: &str| log.matches(needle).count();
    for needle in ["VRRP_Instance(VI_1) Entering", "VRRP_Instance(VI_1) removing protocol VIPs", "VRRP_Instance(VI_1) sent 0 priority"] {
        assert_eq!(count(&after, needle), count(&before, needle), "the reload touched VI_1 ({needle:?})\n{after}");
    }
    assert!(!lab.log("lb2").contains("VRRP_Instance(VI_1) Entering MASTER"), "{}", lab.logs());

    // The backup reports its received-packet counters (every 10 s): lb1's adverts, none dropped.
    let counters = || {
        let log = lab.log("lb2");
        let line = log.lines().find(|l| l.contains("supervisor got Counters { instance: 0,"))?.to_string();
        let received: u64 = line.split("received: ").nth(1)?.split(',').next()?.trim().parse().ok()?;
        Some((received, line.contains("dropped: []")))
    };
    assert!(time_until(Duration::from_secs(8), || counters().is_some()).is_some(), "lb2 sent no counters\n{}", lab.logs());
    let (received, none_dropped) = counters().unwrap_or_default();
    assert!(received >= 5 && none_dropped, "lb2's counters: {received} received, none dropped: {none_dropped}\n{}", lab.log("lb2"));
}

#[test]
fn reload_releases_a_removed_instance_and_restarts_a_changed_one_with_its_new_vip() {
    let Some(mut lab) = Lab::new("reload2", &["lb1"]) else { return };
    let lb1 = lab.start_vrrp_ron("lb1", &config("lb1", &[("VI_1", 51, 150, &[VIP]), ("VI_2", 52, 150, &[VIP2])]));
    let up = time_until(Duration::from_secs(8), || lab.has_addr("lb1", VIP) && lab.has_addr("lb1", VIP2));
    assert!(up.is_some(), "lb1 never took both VIPs\n{}", lab.logs());

    // VI_2 removed; VI_1 gets a second VIP.
    reload(&lab, "lb1", lb1, &config("lb1", &[("VI_1", 51, 150, &[VIP, VIP3])]));
    let released = time_until(Duration::from_secs(2), || !lab.has_addr("lb1", VIP2));
    assert!(released.is_some(), "the removed instance kept its VIP\n{}", lab.logs());
    // The changed instance starts again from BACKUP: one Master_Down_Interval (3.414 s).
    let applied = time_until(Duration::from_secs(6), || lab.has_addr("lb1", VIP) && lab.has_addr("lb1", VIP3));
    assert!(applied.is_some(), "the changed instance did not come back with its new VIP\n{}", lab.logs());
    eprintln!("removed instance released after {released:?}; changed instance master again after {applied:?}");
    let log = lab.log("lb1");
    assert!(log.contains("0 instance(s) unchanged, 2 to stop, 1 to start"), "{log}");
    assert!(log.contains("VRRP_Instance(VI_2) was removed; stopping it"), "{log}");
    assert!(log.contains("VRRP_Instance(VI_1) changed; stopping it"), "{log}");
    assert!(log.contains("supervisor got ReloadKept { instances: [] }"), "{log}");
}
