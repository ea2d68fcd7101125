//! Issue 18's acceptance: persistence survives a failover. Two LB hosts (`lb1` master, `lb2`
//! backup) run the whole appliance with a VRRP VIP and a `peers` section naming both; three
//! HTTP backends; clients from several source addresses pinned by `stick on src` through the
//! master. The master's appliance goes away (kill -9 of every process, or SIGTERM); once the
//! VIP has moved, every client still reaches the server it was pinned to, because lb2 learned
//! the entries over the peers protocol (HAProxy's `peers` + `stick on src` recipe for a pair of
//! load balancers). A reload of the master keeps the sharing going.
//!
//! The clients are pinned in one order and asked again in the reverse order: lb2's round robin
//! alone would send some of them elsewhere, so the test fails without the shared table.

mod harness;

use harness::ha::{HaLab, Vrrp, BACKENDS, BACKUP, BACKUP_PRIORITY, MASTER, MASTER_PRIORITY, VIP_PORT};
use harness::netns::VIP;
use harness::process::{binary, children_of, run_cli};
use nix::sys::signal::Signal;
use std::path::Path;
use std::time::Duration;

const PEERS_PORT: u16 = 10000;
/// hakeeper's stats page (and `/metrics`) beside HAProxy.
const STATS_PORT: u16 = 8404;
/// The clients' source addresses, added to the client namespace's interface.
const SOURCES: [&str; 6] = ["192.0.2.31", "192.0.2.32", "192.0.2.33", "192.0.2.34", "192.0.2.35", "192.0.2.36"];
/// A client that first comes after a reload of the master.
const LATE_SOURCE: &str = "192.0.2.41";

/// Each client's source address with the backend it is pinned to.
type Pins = Vec<(&'static str, String)>;

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

/// `host`'s `ctl show table web`.
fn table_of(ha: &HaLab, host: &str) -> String {
    let ctl = ha.lab.dir.join(format!("{host}-ctl.sock")).display().to_string();
    run_cli(&["ctl", "--socket", &ctl, "show", "table", "web"], Duration::from_secs(5)).1
}

/// How many of the clients' addresses `host`'s table holds.
fn known_sources(ha: &HaLab, host: &str) -> usize {
    let out = table_of(ha, host);
    SOURCES.iter().filter(|s| out.contains(&format!("key={s} "))).count()
}

/// Sets up the lab, pins the clients through lb1 and waits until lb2 has learned them; the
/// pinning (source, server) and lb1's supervisor.
fn pinned(tag: &str) -> Option<(HaLab, Pins, u32)> {
    // The test's own clock: every wait below is bounded, the whole well under 60 s.
    let vrrp = Vrrp::V3_100MS;
    let mut ha = HaLab::new(tag, vrrp)?;
    for s in SOURCES.iter().chain([&LATE_SOURCE]) {
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
    assert!(
        learned.is_some(),
        "lb2 did not learn the entries from lb1 ({} of {})\n{}",
        known_sources(&ha, BACKUP),
        SOURCES.len(),
        ha.logs()
    );
    eprintln!("{tag}: lb2 knew every pin {} ms after the last request", learned.unwrap_or_default().as_millis());
    // What an operator sees on lb2: the session with lb1 and the updates it received.
    let ctl = ha.lab.dir.join(format!("{BACKUP}-ctl.sock")).display().to_string();
    let (code, out, err) = run_cli(&["ctl", "--socket", &ctl, "--json", "show", "peers"], Duration::from_secs(5));
    assert_eq!(code, 0, "ctl show peers: {out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("show peers JSON: {e}: {out}"));
    let lb = &v["Peers"][0];
    assert_eq!(lb["section"], "lb", "{out}");
    assert_eq!(lb["remotes"][0], serde_json::json!([MASTER, format!("{}:{PEERS_PORT}", ha.lab.addr(MASTER)), true]), "{out}");
    assert!(lb["updates_received"].as_u64().is_some_and(|n| n >= SOURCES.len() as u64), "{out}");
    assert_eq!(lb["proto_err"], 0, "{out}");
    let (_, human, _) = run_cli(&["ctl", "--socket", &ctl, "show", "peers"], Duration::from_secs(5));
    assert!(human.lines().any(|l| l.starts_with("lb ") && l.contains(MASTER) && l.ends_with("established")), "{human}");
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

/// The haproxy.cfg of lb1 when HAProxy 2.6 is the other peer: the same listen, table and peers.
fn haproxy_config(ha: &HaLab, stats: &Path) -> String {
    let servers: String = BACKENDS.iter().map(|s| format!("  server {s} {} check inter 500ms\n", ha.backend_addr(s))).collect();
    format!(
        "global\n  localpeer {MASTER}\n  stats socket {stats} level admin\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n\
         peers lb\n  peer {MASTER} {m}:{PEERS_PORT}\n  peer {BACKUP} {b}:{PEERS_PORT}\n\
         listen web\n  bind {m}:{VIP_PORT}\n  balance roundrobin\n\
         \x20 stick-table type ip size 1k expire 30m peers lb\n  stick on src\n{servers}",
        stats = stats.display(),
        m = ha.lab.addr(MASTER),
        b = ha.lab.addr(BACKUP),
    )
}

/// hakeeper on lb2 beside HAProxy on lb1, no VIP: each serves on its own address.
fn hakeeper_beside_haproxy(ha: &HaLab) -> String {
    let servers: Vec<String> = BACKENDS
        .iter()
        .map(|s| format!("(name: \"{s}\", addr: \"{}\", check: (inter: \"500ms\", rise: 1, fall: 2))", ha.backend_addr(s)))
        .collect();
    let ctl = ha.lab.dir.join(format!("{BACKUP}-ctl.sock"));
    format!(
        r#"(
  global: (user: "nobody", hard_stop_after: "5s", ctl_socket: "{ctl}", localpeer: "{BACKUP}"),
  defaults: (mode: http, log: false, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "web", bind: ["{b}:{VIP_PORT}"], balance: roundrobin, health_check: tcp,
            stick_table: (key: ip, size: 1000, expire: "30m", peers: "lb"),
            stick_rules: ["on src"],
            servers: [{servers}])],
  peers: [(name: "lb", peers: [(name: "{MASTER}", addr: "{m}:{PEERS_PORT}"), (name: "{BACKUP}", addr: "{b}:{PEERS_PORT}")])],
  stats: (bind: "{b}:{STATS_PORT}", uri: "/stats"),
)
"#,
        ctl = ctl.display(),
        servers = servers.join(", "),
        m = ha.lab.addr(MASTER),
        b = ha.lab.addr(BACKUP),
    )
}

/// `GET /` from `src` to `host`'s own address.
fn served_by_host(ha: &HaLab, host: &str, src: &str) -> String {
    let url = format!("http://{}:{VIP_PORT}/", ha.lab.addr(host));
    let out = ha.lab.exec("cl", &["curl", "-s", "--max-time", "2", "--interface", src, &url]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// HAProxy's `show table web` over its stats socket.
fn haproxy_table(stats: &Path) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(stats) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"show table web\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// HAProxy 2.6 on lb1, hakeeper on lb2, one `peers` section: clients pinned through HAProxy
/// keep their server through hakeeper, and clients pinned through hakeeper keep theirs through
/// HAProxy (HAProxy maps `server_id` to its server with that id, as hakeeper does).
#[test]
fn haproxy_and_hakeeper_peers_use_each_others_pins() {
    let Some(haproxy) = harness::differential_haproxy::binary("haproxy_and_hakeeper_peers_use_each_others_pins") else { return };
    let Some(mut ha) = HaLab::new("phap", Vrrp::V3_100MS) else { return };
    for s in SOURCES {
        let out = ha.lab.exec("cl", &["ip", "addr", "add", &format!("{s}/24"), "dev", "eth0"]);
        assert!(out.status.success(), "ip addr add {s}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stats = ha.lab.dir.join("haproxy.sock");
    let cfg = ha.lab.write("haproxy.cfg", &haproxy_config(&ha, &stats));
    let cfg = cfg.to_string_lossy().into_owned();
    ha.lab.spawn(MASTER, "haproxy", &haproxy, &["-db", "-f", &cfg]);
    let ron = ha.lab.write(&format!("{BACKUP}.ron"), &hakeeper_beside_haproxy(&ha));
    let ron = ron.to_string_lossy().into_owned();
    ha.lab.spawn(BACKUP, BACKUP, Path::new(binary()), &["run", "-c", &ron, "--foreground"]);
    let cl = ha.lab.addr("cl");
    for host in [MASTER, BACKUP] {
        let up = harness::netns::time_until(Duration::from_secs(10), || !served_by_host(&ha, host, &cl).is_empty());
        assert!(up.is_some(), "{host} does not serve\n{}", ha.logs());
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (via_haproxy, via_hakeeper) = SOURCES.split_at(3);
    // HAProxy -> hakeeper.
    let pins: Vec<(&str, String)> = via_haproxy.iter().map(|&s| (s, served_by_host(&ha, MASTER, s))).collect();
    assert!(pins.iter().all(|(_, b)| BACKENDS.contains(&b.as_str())), "pins through HAProxy: {pins:?}\n{}", ha.logs());
    let learned = harness::netns::time_until(Duration::from_secs(10), || {
        let ctl = ha.lab.dir.join(format!("{BACKUP}-ctl.sock")).display().to_string();
        let (_, out, _) = run_cli(&["ctl", "--socket", &ctl, "show", "table", "web"], Duration::from_secs(5));
        via_haproxy.iter().all(|s| out.contains(&format!("key={s} ")))
    });
    assert!(learned.is_some(), "hakeeper did not learn HAProxy's entries\n{}", ha.logs());
    for (s, b) in pins.iter().rev() {
        assert_eq!(&served_by_host(&ha, BACKUP, s), b, "{s}: pinned to {b} by HAProxy, hakeeper disagrees\n{}", ha.logs());
    }
    // hakeeper -> HAProxy.
    let pins: Vec<(&str, String)> = via_hakeeper.iter().map(|&s| (s, served_by_host(&ha, BACKUP, s))).collect();
    assert!(pins.iter().all(|(_, b)| BACKENDS.contains(&b.as_str())), "pins through hakeeper: {pins:?}\n{}", ha.logs());
    let learned = harness::netns::time_until(Duration::from_secs(10), || {
        let table = haproxy_table(&stats);
        via_hakeeper.iter().all(|s| table.contains(&format!("key={s} ")))
    });
    assert!(learned.is_some(), "HAProxy did not learn hakeeper's entries: {}\n{}", haproxy_table(&stats), ha.logs());
    for (s, b) in pins.iter().rev() {
        assert_eq!(&served_by_host(&ha, MASTER, s), b, "{s}: pinned to {b} by hakeeper, HAProxy disagrees\n{}", ha.logs());
    }
    // hakeeper's /metrics counts the session with HAProxy and the updates both ways.
    let url = format!("http://{}:{STATS_PORT}/metrics", ha.lab.addr(BACKUP));
    let out = ha.lab.exec("cl", &["curl", "-s", "--max-time", "2", &url]);
    let metrics = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = |name: &str| -> u64 {
        let prefix = format!("{name}{{section=\"lb\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    assert_eq!(value("hakeeper_peers_connected"), 1, "{metrics}");
    assert!(value("hakeeper_peers_updates_received_total") >= 3, "{metrics}");
    assert!(value("hakeeper_peers_updates_sent_total") >= 3, "{metrics}");
    assert!(metrics.contains("hakeeper_peers_protocol_errors_total{section=\"lb\"} 0\n"), "{metrics}");
}

/// A reload of the master: its new worker takes over the peers sessions (the old one stops
/// sharing when it drains) and pushes what it learns from then on; the backup keeps the pins.
#[test]
fn reload_of_the_master_keeps_sharing() {
    let Some((ha, pins, master)) = pinned("preload") else { return };
    ha.lab.write(&format!("{MASTER}.ron"), &config(&ha, MASTER, MASTER_PRIORITY));
    ha.lab.signal(master, Signal::SIGHUP);
    // The new worker serves, with the entries the old one handed over.
    let served = harness::netns::time_until(Duration::from_secs(10), || {
        ha.lab.log(MASTER).contains("serving config generation 2") && !served_by(&ha, LATE_SOURCE).is_empty()
    });
    assert!(served.is_some(), "lb1's new worker does not serve\n{}", ha.logs());
    for (s, b) in pins.iter().rev() {
        assert_eq!(&served_by(&ha, s), b, "{s} moved on lb1's reload\n{}", ha.logs());
    }
    let late = format!("key={LATE_SOURCE} ");
    let learned = harness::netns::time_until(Duration::from_secs(10), || table_of(&ha, BACKUP).contains(&late));
    assert!(learned.is_some(), "lb2 did not learn the pin made by lb1's new worker\n{}", ha.logs());
    let lb1 = table_of(&ha, MASTER);
    assert!(SOURCES.iter().all(|s| lb1.contains(&format!("key={s} "))), "lb1 lost pins on reload: {lb1}");
}

/// kill -9 of the master's worker: the new worker starts with empty tables and learns them
/// back from lb2 (HAProxy's resync from a remote peer at start-up), so the clients stay pinned.
#[test]
fn a_new_worker_after_a_crash_learns_the_pins_back_from_the_peer() {
    let Some((ha, pins, master)) = pinned("pcrash") else { return };
    let workers = || children_of(master as i32).into_iter().filter(|(role, _)| role == "worker").map(|(_, pid)| pid).collect::<Vec<i32>>();
    let old = workers();
    assert_eq!(old.len(), 1, "lb1's workers: {old:?}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(old[0]), Signal::SIGKILL);
    let replaced = harness::netns::time_until(Duration::from_secs(10), || workers().iter().any(|p| !old.contains(p)));
    assert!(replaced.is_some(), "no new worker on lb1\n{}", ha.logs());
    let learned = harness::netns::time_until(Duration::from_secs(10), || {
        let t = table_of(&ha, MASTER);
        SOURCES.iter().all(|s| t.contains(&format!("key={s} ")))
    });
    assert!(learned.is_some(), "lb1's new worker did not learn the pins back: {}\n{}", table_of(&ha, MASTER), ha.logs());
    eprintln!("pcrash: the new worker knew every pin {} ms after it started", learned.unwrap_or_default().as_millis());
    for (s, b) in pins.iter().rev() {
        assert_eq!(&served_by(&ha, s), b, "{s} moved after lb1's worker crash\n{}", ha.logs());
    }
}
