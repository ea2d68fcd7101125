//! Issue 18's acceptance: persistence survives a failover. Two LB hosts (`lb1` master, `lb2`
//! backup) run the whole appliance with a VRRP VIP and a `peers` section naming both; three
//! HTTP backends; clients from several source addresses pinned by `stick on src` through the
//! master. The master's appliance goes away (kill -9 of every process, or SIGTERM); once the
//! VIP has moved, every client still reaches the server it was pinned to, because lb2 learned
//! the entries over the peers protocol (HAProxy's `peers` + `stick on src` recipe for a pair of
//! load balancers).
//!
//! The clients are pinned in one order and asked again in the reverse order: lb2's round robin
//! alone would send some of them elsewhere, so the test fails without the shared table.

mod harness;

use harness::ha::{HaLab, Vrrp, BACKENDS, BACKUP, MASTER, MASTER_PRIORITY, BACKUP_PRIORITY, VIP_PORT};
use harness::netns::VIP;
use harness::process::{binary, run_cli};
use nix::sys::signal::Signal;
use std::path::Path;
use std::time::{Duration, Instant};

const PEERS_PORT: u16 = 10000;
/// The clients' source addresses, added to the client namespace's interface.
const SOURCES: [&str; 6] = ["192.0.2.31", "192.0.2.32", "192.0.2.33", "192.0.2.34", "192.0.2.35", "192.0.2.36"];

fn config(ha: &HaLab, host: &str, priority: u8) -> String {
    let servers: Vec<String> = BACKENDS
        .iter()
        .map(|s| format!("(name: \"{s}\", addr: \"{}\", check: (inter: \"500ms\", rise: 1, fall: 2))", ha.backend_addr(s)))
        .collect();
    let ctl = ha.lab.dir.join(format!("{host}-ctl.sock"));
    format!(
        r#"(
  global: (user: "nobody", hard_stop_after: "5s", ctl_socket: "{ctl}", localpeer: "{host}"),
  defaults: (mode: http, log: false, retries: 3, redispatch: true,
             timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "web", bind: ["{VIP}:{VIP_PORT}"], balance: roundrobin, health_check: tcp,
            stick_table: (key: ip, size: 1000, expire: "30m", peers: "lb"),
            stick_rules: ["on src"],
            servers: [{servers}])],
  peers: [(name: "lb", peers: [
    (name: "{MASTER}", addr: "{m}:{PEERS_PORT}"),
    (name: "{BACKUP}", addr: "{b}:{PEERS_PORT}"),
  ])],
  vrrp: (
    router_id: "{host}",
    scripts: [(name: "chk_proxy", builtin: proxy_alive, weight: 0)],
    instances: [(name: "VI_1", interface: "eth0", vrid: 35, priority: {priority}, version: {version},
                 state: backup, preempt: true, advert_int: "{advert}", vips: ["{VIP}"],
                 track: [(script: "chk_proxy")])],
  ),
)
"#,
        ctl = ctl.display(),
        servers = servers.join(", "),
        m = ha.lab.addr(MASTER),
        b = ha.lab.addr(BACKUP),
        version = ha.vrrp.version,
        advert = ha.vrrp.advert_text(),
    )
}

fn start(ha: &mut HaLab, host: &str, priority: u8) -> u32 {
    let path = ha.lab.write(&format!("{host}.ron"), &config(ha, host, priority));
    let path = path.to_string_lossy().into_owned();
    ha.lab.spawn(host, host, Path::new(binary()), &["run", "-c", &path, "--foreground"])
}

/// The backend that answers `GET /` from `src` through the VIP (empty when nothing answered).
fn served_by(ha: &HaLab, src: &str) -> String {
    let url = format!("http://{VIP}:{VIP_PORT}/");
    let out = ha.lab.exec("cl", &["curl", "-s", "--max-time", "2", "--interface", src, &url]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// How many of the clients' addresses `host`'s table holds (`ctl show table web`).
fn known_sources(ha: &HaLab, host: &str) -> usize {
    let ctl = ha.lab.dir.join(format!("{host}-ctl.sock")).display().to_string();
    let (_, out, _) = run_cli(&["ctl", "--socket", &ctl, "show", "table", "web"], Duration::from_secs(5));
    SOURCES.iter().filter(|s| out.contains(&format!("key={s} "))).count()
}

/// Sets up the lab, pins the clients through lb1 and waits until lb2 has learned them; the
/// pinning (source, server) and lb1's supervisor.
fn pinned(tag: &str) -> Option<(HaLab, Vec<(&'static str, String)>, u32)> {
    // The test's own clock: every wait below is bounded, the whole well under 60 s.
    let vrrp = Vrrp::V3_100MS;
    let mut ha = HaLab::new(tag, vrrp)?;
    for s in SOURCES {
        let out = ha.lab.exec("cl", &["ip", "addr", "add", &format!("{s}/24"), "dev", "eth0"]);
        assert!(out.status.success(), "ip addr add {s}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let master = start(&mut ha, MASTER, MASTER_PRIORITY);
    start(&mut ha, BACKUP, BACKUP_PRIORITY);
    let bound = vrrp.master_down(MASTER_PRIORITY) + Duration::from_secs(5);
    assert!(ha.wait_sole_holder(MASTER, bound).is_some(), "lb1 never held the VIP alone\n{}", ha.logs());
    // Served through the VIP, then a second more so that every server's first checks are in
    // (the client's own address gets pinned here too: it is not one of SOURCES).
    let cl = ha.lab.addr("cl");
    let served = harness::netns::time_until(Duration::from_secs(10), || !served_by(&ha, &cl).is_empty());
    assert!(served.is_some(), "nothing answers through the VIP\n{}", ha.logs());
    std::thread::sleep(Duration::from_millis(1500));
    let pins: Vec<(&str, String)> = SOURCES.iter().map(|&s| (s, served_by(&ha, s))).collect();
    let distinct: std::collections::HashSet<&String> = pins.iter().map(|(_, b)| b).collect();
    assert!(distinct.len() >= 2 && pins.iter().all(|(_, b)| BACKENDS.contains(&b.as_str())), "pins: {pins:?}\n{}", ha.logs());
    for (s, b) in &pins {
        assert_eq!(&served_by(&ha, s), b, "{s} is not pinned on lb1\n{}", ha.logs());
    }
    let learned = harness::netns::time_until(Duration::from_secs(10), || known_sources(&ha, BACKUP) == SOURCES.len());
    assert!(learned.is_some(), "lb2 did not learn the entries from lb1 ({} of {})\n{}", known_sources(&ha, BACKUP), SOURCES.len(), ha.logs());
    eprintln!("{tag}: lb2 knew every pin {} ms after the last request", learned.unwrap_or_default().as_millis());
    Some((ha, pins, master))
}

/// After the VIP moved to lb2 (the killed master's address stays on its dead interface: lb2's
/// gratuitous ARPs move the traffic): each client, asked in the reverse order, is served by
/// its pin.
fn check_pins_on_backup(ha: &HaLab, pins: &[(&str, String)]) {
    let moved = harness::netns::time_until(Duration::from_secs(10), || ha.lab.has_addr(BACKUP, VIP));
    assert!(moved.is_some(), "the VIP did not move to lb2\n{}", ha.logs());
    let cl = ha.lab.addr("cl");
    let served = harness::netns::time_until(Duration::from_secs(5), || !served_by(ha, &cl).is_empty());
    assert!(served.is_some(), "nothing answers through the VIP after the failover\n{}", ha.logs());
    eprintln!("VIP on lb2 after {} ms", moved.unwrap_or_default().as_millis());
    for (s, b) in pins.iter().rev() {
        let got = served_by(ha, s);
        assert_eq!(&got, b, "{s} was pinned to {b} through lb1, lb2 sent it to {got:?}\n{}", ha.logs());
    }
}

#[test]
fn kill_9_of_the_master_keeps_every_client_on_its_server() {
    let Some((ha, pins, _)) = pinned("pkill") else { return };
    for pid in ha.host_pids(MASTER) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
    check_pins_on_backup(&ha, &pins);
}

#[test]
fn sigterm_of_the_master_keeps_every_client_on_its_server() {
    let Some((mut ha, pins, master)) = pinned("pterm") else { return };
    ha.lab.signal(master, Signal::SIGTERM);
    check_pins_on_backup(&ha, &pins);
    assert!(ha.lab.wait_exit(master, Duration::from_secs(10)).is_some(), "lb1's supervisor did not exit on SIGTERM\n{}", ha.logs());
}
