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

/// The whole appliance on one lab host: a built-in `proxy_alive` track with a positive weight
/// raises the advertised priority as keepalived's script track does (120 + 2 = 122). The
/// proxy's health reaches vrrpd together with its start-up config; it must not wait there.
#[test]
fn a_positive_weight_on_the_builtin_proxy_track_raises_the_priority() {
    let Some(mut lab) = Lab::new("pweight", &["lb1"]) else { return };
    let ctl = lab.dir.join("ctl.sock");
    let config = format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{}", log: (target: "stderr", facility: "local1", level: "info")),
  listen: [(name: "p", bind: ["127.0.0.1:8080"], servers: [(name: "s", addr: "127.0.0.1:9")])],
  vrrp: (
    scripts: [(name: "chk", builtin: proxy_alive, interval: "1s", weight: 2)],
    instances: [(name: "VI_1", interface: "eth0", vrid: 51, priority: 120, state: backup, advert_int: "1s",
                 vips: ["{VIP}"], track: [(script: "chk")])],
  ),
)"#,
        ctl.display()
    );
    let path = lab.write("lb1.ron", &config);
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_hakeeper"));
    lab.spawn("lb1", "lb1", &bin, &["run", "-c", path.to_str().expect("utf8"), "--foreground"]);
    let socket = ctl.to_str().expect("utf8").to_string();
    let mut shown = String::new();
    let raised = time_until(Duration::from_secs(10), || {
        let out = lab.exec("lb1", &[bin.to_str().expect("utf8"), "ctl", "--socket", &socket, "show", "vrrp"]);
        shown = String::from_utf8_lossy(&out.stdout).into_owned();
        shown.lines().any(|l| l.starts_with("VI_1") && l.split_whitespace().nth(4) == Some("122"))
    });
    assert!(raised.is_some(), "priority not 120 + 2:\n{shown}\n{}", lab.logs());
}
