//! End-to-end (root): the whole appliance runs keepalived's LVS NAT virtual server on the
//! kernel's nftables data plane. Namespaces: a client, the load balancer (`hakeeper run`, a VRRP
//! instance holding the VIP on the client side, the real servers' gateway), three real servers
//! (tiny TCP servers answering their own name). Checked as a user would: connections to the VIP
//! are balanced; a real server killed is taken out within its check timing while established
//! connections to the others go on; a killed run's tables are replaced at start, a reload's
//! weights reach the kernel; `hakeeper ctl show lvs` (text and JSON), `/metrics` and the
//! stats page show the real servers' packets and bytes; the quorum_down script runs; SIGTERM
//! removes the tables with the VIP. A VRRP pair in DR mode: the data plane moves with the VIP.
//! Under CI=true a lab that cannot be built fails.

#[path = "../vrrpd/tests/lvs_lab/mod.rs"]
mod lvs_lab;

use lvs_lab::{echo, read_greeting, Lab};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.100:80";
const STATS: &str = "127.0.0.1:7777";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hakeeper")
}

/// Polls `cond` every 50 ms for at most `timeout`; how long it took.
fn time_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// `hakeeper run` inside a lab namespace, killed by PID on drop if the test did not stop it.
struct Appliance {
    child: Option<Child>,
    log: PathBuf,
}

impl Appliance {
    fn start(ns: &str, config: &Path, log: &Path) -> Appliance {
        let file = std::fs::File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = file.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
        let child = Command::new("ip")
            .args(["netns", "exec", ns, bin(), "run", "--foreground", "-c"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn hakeeper: {e}"));
        Appliance { child: Some(child), log: log.to_path_buf() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn reload(&self) {
        let Some(child) = &self.child else { return };
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGHUP);
    }

    /// SIGTERM, then waits (bounded) for the exit; whether it exited in time.
    fn terminate(&mut self, within: Duration) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        // `ip netns exec` execs the program: the PID is hakeeper's.
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A scratch directory, removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Client net 192.0.2.64/26 (lb .65, VIP .100 added by VRRP, client .66), real-server net
/// 192.0.2.0/26 (lb .1, rs1-rs3 .11-.13 on port 8080, routed through the lb).
fn nat_lab(tag: &str) -> Option<Lab> {
    let mut lab = Lab::new(tag)?;
    for h in ["cl", "lb", "rs1", "rs2", "rs3"] {
        lab.host(h);
    }
    lab.link("cl", "eth0", "02:00:00:00:01:66", "lb", "c0", "02:00:00:00:01:65");
    lab.ip("cl", &["addr", "add", "192.0.2.66/26", "dev", "eth0"]);
    lab.ip("cl", &["route", "add", "default", "via", "192.0.2.65"]);
    lab.ip("lb", &["addr", "add", "192.0.2.65/26", "dev", "c0"]);
    lab.ip("lb", &["link", "add", "br0", "type", "bridge"]);
    lab.ip("lb", &["link", "set", "br0", "up"]);
    lab.ip("lb", &["addr", "add", "192.0.2.1/26", "dev", "br0"]);
    lab.sysctl("lb", "net.ipv4.ip_forward", "1");
    for i in 1..=3 {
        let rs = format!("rs{i}");
        lab.link("lb", &format!("r{i}"), &format!("02:00:00:00:02:0{i}"), &rs, "eth0", &format!("02:00:00:00:00:1{i}"));
        lab.ip("lb", &["link", "set", &format!("r{i}"), "master", "br0"]);
        lab.ip(&rs, &["addr", "add", &format!("192.0.2.1{i}/26"), "dev", "eth0"]);
        lab.ip(&rs, &["route", "add", "default", "via", "192.0.2.1"]);
        let addr: SocketAddr = format!("192.0.2.1{i}:8080").parse().expect("addr");
        lab.server(&rs, &rs, addr, 0);
    }
    Some(lab)
}

fn count(names: &[String]) -> Vec<(String, usize)> {
    let mut m: HashMap<&str, usize> = HashMap::new();
    for n in names {
        *m.entry(n).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    v.sort();
    v
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `GET PATH` on the stats listener, from inside the lb namespace.
fn stats_get(lab: &Lab, path: &str) -> String {
    let stream = lab.connect("lb", None, STATS.parse().expect("addr"));
    let Ok(mut s) = stream else { return String::new() };
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: lb\r\n\r\n").as_bytes()).is_err() {
        return String::new();
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

#[test]
fn nat_virtual_server_balances_drops_a_killed_real_server_and_leaves_with_sigterm() {
    let Some(lab) = nat_lab("app") else { return };
    let dir = Dir(std::env::temp_dir().join(format!("hk-lvs-appliance-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("mkdir");
    // The quorum script runs as `nobody` and writes here.
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let ctl = dir.0.join("ctl.sock");
    let quorum_file = dir.0.join("quorum_down");
    let server = |i: u32| format!("(name: \"rs{i}\", addr: \"192.0.2.1{i}:8080\", check: (inter: \"300ms\", rise: 1, fall: 2))");
    let rs3_weight_0 = server(3).replace("check:", "weight: 0, check:");
    let config = format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{ctl}", log: (target: "stderr", facility: "local1", level: "info")),
  listen: [(name: "vs", bind: ["{VIP}"], balance: static_rr,
            lvs: (quorum: 3, quorum_down: "touch {quorum}"),
            servers: [{s1}, {s2}, {s3}])],
  stats: Some((bind: "{STATS}", uri: "/stats")),
  vrrp: (script_user: "nobody",
         instances: [(name: "VI_1", interface: "c0", vrid: 51, priority: 150, advert_int: "1s", vips: ["192.0.2.100/32"])]),
)"#,
        ctl = ctl.display(),
        quorum = quorum_file.display(),
        s1 = server(1),
        s2 = server(2),
        s3 = server(3),
    );
    let path = dir.0.join("lb.ron");
    std::fs::write(&path, &config).expect("write config");
    let check = Command::new(bin()).args(["check", "-c"]).arg(&path).output().expect("hakeeper check");
    assert!(check.status.success(), "{}", text(&check));
    assert!(!text(&check).contains("data plane"), "no warning that the data plane is missing: {}", text(&check));

    // What a killed run may have left: replaced (NAT) or removed (a DR interface no longer used).
    let stale = "add table ip hakeeper_lvs\nadd chain ip hakeeper_lvs stale_chain\nadd table netdev hakeeper_lvs_dr_gone\n";
    let nft_f = lab.exec("lb", &["sh", "-c", &format!("printf '{stale}' | nft -f -")]);
    assert!(nft_f.status.success(), "{}", text(&nft_f));
    let mut app = Appliance::start(&lab.ns("lb"), &path, &dir.0.join("lb.log"));
    let tables = |lab: &Lab| text(&lab.exec("lb", &["nft", "list", "tables"]));
    let stale_gone = time_until(Duration::from_secs(5), || {
        !tables(&lab).contains("hakeeper_lvs_dr_gone") && !text(&lab.exec("lb", &["nft", "list", "ruleset"])).contains("stale_chain")
    });
    assert!(stale_gone.is_some(), "stale tables kept\n{}\n{}", tables(&lab), app.log());
    let vip_here = |lab: &Lab| lab.ip("lb", &["-4", "addr", "show", "dev", "c0"]).contains("192.0.2.100/32");
    // BACKUP first (Master_Down_Interval ≈ 3.4 s), then MASTER: the VIP and the tables come.
    let up = time_until(Duration::from_secs(10), || vip_here(&lab) && tables(&lab).contains("table ip hakeeper_lvs"));
    assert!(up.is_some(), "the VIP or the NAT table never came\n{}\n{}", tables(&lab), app.log());
    eprintln!("VIP and data plane up after {:?}", up.unwrap_or_default());

    let vip: SocketAddr = VIP.parse().expect("vip");
    let who = |lab: &Lab| lab.who("cl", None, vip);
    let seq: Vec<String> = (0..6).map(|_| who(&lab).unwrap_or_else(|e| panic!("{e}\n{}", app.log()))).collect();
    eprintln!("static_rr (IPVS rr) over three real servers: {seq:?}");
    assert_eq!(count(&seq), [("rs1".into(), 2), ("rs2".into(), 2), ("rs3".into(), 2)]);

    // An established connection to each real server, then rs2 dies.
    let held: Vec<_> = (0..3).map(|_| lab.connect("cl", None, vip).unwrap_or_else(|e| panic!("{e}"))).collect();
    let names: Vec<String> = held.iter().map(|s| read_greeting(s, 0).map(|g| g.0).unwrap_or_else(|e| panic!("{e}"))).collect();
    assert_eq!(count(&names), [("rs1".into(), 1), ("rs2".into(), 1), ("rs3".into(), 1)]);
    lab.kill_server("rs2");
    let gone = time_until(Duration::from_secs(5), || {
        !text(&lab.exec("lb", &["nft", "list", "table", "ip", "hakeeper_lvs"])).contains("to 192.0.2.12:8080")
    });
    // fall 2 × inter 300 ms, plus a check's connect and the commit's debounce.
    let gone = gone.unwrap_or_else(|| panic!("rs2 still balanced 5 s after it died\n{}", app.log()));
    eprintln!("rs2 removed from the data plane {gone:?} after it died");
    assert!(gone < Duration::from_secs(3), "removed only after {gone:?}");
    let after: Vec<String> = (0..6).map(|_| who(&lab).unwrap_or_else(|e| panic!("after rs2 died: {e}"))).collect();
    assert_eq!(count(&after), [("rs1".into(), 3), ("rs3".into(), 3)], "{after:?}");
    for (s, name) in held.iter().zip(&names).filter(|(_, n)| *n != "rs2") {
        echo(s, &format!("still there, {name}?")).unwrap_or_else(|e| panic!("established connection to {name}: {e}"));
    }
    // Live weight 2 < quorum 3: keepalived's quorum_down runs (as script_user).
    assert!(time_until(Duration::from_secs(5), || quorum_file.exists()).is_some(), "quorum_down did not run\n{}", app.log());
    assert!(app.log().contains("LVS service vs running notify script"), "{}", app.log());

    // What an operator sees: ctl (text, JSON) and /metrics, with counters from nftables.
    let socket = ctl.to_str().expect("utf8");
    let mut shown = String::new();
    let counted = time_until(Duration::from_secs(6), || {
        shown = text(&lab.exec("lb", &[bin(), "ctl", "--socket", socket, "--json", "show", "lvs"]));
        let Ok(v) = serde_json::from_str::<serde_json::Value>(shown.trim()) else { return false };
        let servers = v.pointer("/Lvs/0/servers").and_then(|s| s.as_array()).cloned().unwrap_or_default();
        let get = |n: &str| servers.iter().find(|s| s["name"] == n).cloned().unwrap_or_default();
        get("rs1")["packets"].as_u64().unwrap_or(0) > 0
            && get("rs1")["bytes"].as_u64().unwrap_or(0) > 0
            && get("rs2")["up"] == false
            && v.pointer("/Lvs/0/active") == Some(&serde_json::Value::Bool(true))
    });
    assert!(counted.is_some(), "show lvs --json:\n{shown}\n{}", app.log());
    let human = text(&lab.exec("lb", &[bin(), "ctl", "--socket", socket, "show", "lvs"]));
    eprintln!("{human}");
    assert!(human.lines().any(|l| l.contains("192.0.2.12:8080") && l.contains("DOWN")), "{human}");
    assert!(human.lines().any(|l| l.starts_with("vs ") && l.contains("active") && l.contains("quorum lost")), "{human}");
    let mut m = String::new();
    let scraped = time_until(Duration::from_secs(5), || {
        m = stats_get(&lab, "/metrics");
        m.lines().any(|l| l.starts_with("hakeeper_lvs_server_packets_total{") && l.contains("server=\"rs1\"") && !l.ends_with(" 0"))
    });
    assert!(scraped.is_some(), "/metrics:\n{m}");
    assert!(
        m.contains(
            "hakeeper_lvs_server_up{service=\"vs\",vip=\"192.0.2.100:80\",protocol=\"tcp\",server=\"rs2\",addr=\"192.0.2.12:8080\"} 0"
        ),
        "{m}"
    );
    let page = stats_get(&lab, "/stats");
    assert!(page.contains("LVS virtual services on this host"), "{page}");
    assert!(page.contains("<td class=\"name\">192.0.2.12:8080</td><td>DOWN</td>"), "{page}");

    // A reload that sets rs3's weight to 0 (IPVS: no new connections): only rs1 is left in the
    // scheduler's ring. The reload changed the checks, so a new checker starts every server UP
    // (as HAProxy without a server-state file): rs2 is back until it fails twice again.
    std::fs::write(&path, config.replace(&server(3), &rs3_weight_0)).expect("rewrite config");
    app.reload();
    let nft = |lab: &Lab| text(&lab.exec("lb", &["nft", "list", "table", "ip", "hakeeper_lvs"]));
    let reloaded = time_until(Duration::from_secs(5), || nft(&lab).contains("numgen inc mod 1 vmap"));
    assert!(reloaded.is_some(), "the reload's weight 0 did not reach the data plane\n{}\n{}", nft(&lab), app.log());
    let after: Vec<String> = (0..4).map(|_| who(&lab).unwrap_or_else(|e| panic!("after the reload: {e}"))).collect();
    assert_eq!(count(&after), [("rs1".into(), 4)], "rs2 still DOWN after the reload, rs3 at weight 0");
    for (s, name) in held.iter().zip(&names).filter(|(_, n)| *n != "rs2") {
        echo(s, &format!("still there after the reload, {name}?")).unwrap_or_else(|e| panic!("established connection to {name}: {e}"));
    }

    // SIGTERM: priority 0, the VIP and the tables go, the process exits.
    assert!(app.terminate(Duration::from_secs(10)), "hakeeper did not exit within 10 s of SIGTERM\n{}", app.log());
    let left = tables(&lab);
    assert!(!left.contains("hakeeper_lvs"), "tables left behind: {left}\n{}", app.log());
    assert!(!vip_here(&lab), "VIP left behind");
    assert!(app.log().contains("LVS: tables removed"), "{}", app.log());
    for line in app.log().lines().filter(|l| l.contains("LVS: programmed") || l.contains("no virtual service programmed")) {
        eprintln!("{line}");
    }
}

/// One segment (a bridge in a namespace of its own): client .2, lb1 .1, lb2 .3, real servers
/// .11 and .12 holding the VIP on `lo` with ARP suppressed (keepalived's DR real servers).
fn dr_lab(tag: &str) -> Option<Lab> {
    let mut lab = Lab::new(tag)?;
    lab.host("sw");
    lab.ip("sw", &["link", "add", "br0", "type", "bridge"]);
    lab.ip("sw", &["link", "set", "br0", "up"]);
    for (h, last) in [("cl", 2u8), ("lb1", 1), ("lb2", 3), ("rs1", 11), ("rs2", 12)] {
        lab.host(h);
        lab.link("sw", &format!("p-{h}"), &format!("02:00:00:00:04:{:02x}", 100 + last), h, "eth0", &format!("02:00:00:00:03:{last:02x}"));
        lab.ip("sw", &["link", "set", &format!("p-{h}"), "master", "br0"]);
        lab.ip(h, &["addr", "add", &format!("192.0.2.{last}/24"), "dev", "eth0"]);
    }
    for rs in ["rs1", "rs2"] {
        for iface in ["all", "eth0"] {
            lab.sysctl(rs, &format!("net.ipv4.conf.{iface}.arp_ignore"), "1");
            lab.sysctl(rs, &format!("net.ipv4.conf.{iface}.arp_announce"), "2");
        }
        lab.ip(rs, &["addr", "add", "192.0.2.100/32", "dev", "lo"]);
        // On every address: the VIP for the clients, its own for the load balancers' checks.
        lab.server(rs, rs, "0.0.0.0:80".parse().expect("addr"), 0);
    }
    Some(lab)
}

/// A VRRP pair in DR mode: the data plane is on the master only and moves with the VIP when
/// the master's link fails, and back when it returns and preempts; clients reach the real
/// servers through whichever host holds it.
#[test]
fn dr_data_plane_moves_with_the_vip_between_a_vrrp_pair() {
    let Some(lab) = dr_lab("drpair") else { return };
    let dir = Dir(std::env::temp_dir().join(format!("hk-lvs-drpair-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("mkdir");
    let server = |i: u32| format!("(name: \"rs{i}\", addr: \"192.0.2.1{i}:80\", check: (inter: \"300ms\", rise: 1, fall: 2))");
    let start = |host: &str, priority: u32| {
        let config = format!(
            r#"(
  global: (user: "nobody", ctl_socket: "{ctl}", log: (target: "stderr", facility: "local1", level: "info")),
  listen: [(name: "vs", bind: ["{VIP}"], balance: static_rr, lvs: (kind: dr, interface: "eth0"), servers: [{s1}, {s2}])],
  vrrp: (instances: [(name: "VI_1", interface: "eth0", vrid: 52, priority: {priority}, advert_int: "1s", vips: ["192.0.2.100/32"])]),
)"#,
            ctl = dir.0.join(format!("{host}.sock")).display(),
            s1 = server(1),
            s2 = server(2),
        );
        let path = dir.0.join(format!("{host}.ron"));
        std::fs::write(&path, config).expect("write config");
        Appliance::start(&lab.ns(host), &path, &dir.0.join(format!("{host}.log")))
    };
    let mut lb1 = start("lb1", 150);
    let mut lb2 = start("lb2", 100);
    let logs = |a: &Appliance, b: &Appliance| format!("--- lb1\n{}\n--- lb2\n{}", a.log(), b.log());
    let table = |host: &str| text(&lab.exec(host, &["nft", "list", "tables"])).contains("table netdev hakeeper_lvs_dr_eth0");
    let vip = |host: &str| lab.ip(host, &["-4", "addr", "show", "dev", "eth0"]).contains("192.0.2.100/32");
    let holds = |host: &str, other: &str| vip(host) && table(host) && !vip(other) && !table(other);
    let vs: SocketAddr = VIP.parse().expect("vip");
    let served = |lab: &Lab| -> Vec<String> { (0..4).filter_map(|_| lab.who("cl", None, vs).ok()).collect() };

    let first = time_until(Duration::from_secs(10), || holds("lb1", "lb2"));
    assert!(first.is_some(), "lb1 never held the VIP and the DR table alone\n{}", logs(&lb1, &lb2));
    // The real servers' MACs come from the neighbour entries the checks create.
    let mut got = Vec::new();
    let ok = time_until(Duration::from_secs(5), || {
        got = served(&lab);
        count(&got) == [("rs1".to_string(), 2), ("rs2".to_string(), 2)]
    });
    assert!(ok.is_some(), "through lb1: {got:?}\n{}", logs(&lb1, &lb2));

    // lb1's link fails: FAULT, its VIP and table go; lb2 takes both.
    lab.ip("sw", &["link", "set", "p-lb1", "down"]);
    let moved = time_until(Duration::from_secs(8), || vip("lb2") && table("lb2") && !table("lb1"));
    assert!(moved.is_some(), "the data plane did not move to lb2\n{}", logs(&lb1, &lb2));
    eprintln!("data plane on lb2 {:?} after lb1's link failed", moved.unwrap_or_default());
    let ok = time_until(Duration::from_secs(5), || {
        got = served(&lab);
        count(&got) == [("rs1".to_string(), 2), ("rs2".to_string(), 2)]
    });
    assert!(ok.is_some(), "through lb2: {got:?}\n{}", logs(&lb1, &lb2));

    // The link returns: lb1 preempts, the data plane comes back to it and leaves lb2.
    lab.ip("sw", &["link", "set", "p-lb1", "up"]);
    let back = time_until(Duration::from_secs(10), || holds("lb1", "lb2"));
    assert!(back.is_some(), "the data plane did not come back to lb1\n{}", logs(&lb1, &lb2));
    let ok = time_until(Duration::from_secs(5), || {
        got = served(&lab);
        count(&got) == [("rs1".to_string(), 2), ("rs2".to_string(), 2)]
    });
    assert!(ok.is_some(), "through lb1 again: {got:?}\n{}", logs(&lb1, &lb2));

    assert!(lb1.terminate(Duration::from_secs(10)) && lb2.terminate(Duration::from_secs(10)), "{}", logs(&lb1, &lb2));
    assert!(!table("lb1") && !table("lb2"), "tables left behind\n{}", logs(&lb1, &lb2));
}

/// A run whose config has no LVS service any more removes what a killed earlier run left.
#[test]
fn tables_a_killed_run_left_are_removed_by_a_run_without_lvs_services() {
    let Some(mut lab) = Lab::new("stale") else { return };
    lab.host("cl");
    lab.host("lb");
    lab.link("cl", "eth0", "02:00:00:00:05:02", "lb", "eth0", "02:00:00:00:05:01");
    lab.ip("lb", &["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    let stale = "add table ip hakeeper_lvs\nadd table netdev hakeeper_lvs_dr_eth0\nadd table ip not_ours\n";
    let nft_f = lab.exec("lb", &["sh", "-c", &format!("printf '{stale}' | nft -f -")]);
    assert!(nft_f.status.success(), "{}", text(&nft_f));
    let dir = Dir(std::env::temp_dir().join(format!("hk-lvs-stale-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("mkdir");
    let config = format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{}", log: (target: "stderr", facility: "local1", level: "info")),
  listen: [(name: "p", bind: ["127.0.0.1:8080"], servers: [(name: "s", addr: "127.0.0.1:9")])],
  vrrp: (instances: [(name: "VI_1", interface: "eth0", vrid: 53, priority: 100, advert_int: "1s", vips: ["192.0.2.100/32"])]),
)"#,
        dir.0.join("ctl.sock").display()
    );
    let path = dir.0.join("lb.ron");
    std::fs::write(&path, config).expect("write config");
    let mut app = Appliance::start(&lab.ns("lb"), &path, &dir.0.join("lb.log"));
    let tables = |lab: &Lab| text(&lab.exec("lb", &["nft", "list", "tables"]));
    let gone = time_until(Duration::from_secs(5), || !tables(&lab).contains("hakeeper_lvs"));
    assert!(gone.is_some(), "stale tables kept\n{}\n{}", tables(&lab), app.log());
    assert!(tables(&lab).contains("table ip not_ours"), "only hakeeper's own tables go: {}", tables(&lab));
    assert!(app.log().contains("removed tables left by an earlier run"), "{}", app.log());
    assert!(app.terminate(Duration::from_secs(10)), "{}", app.log());
    let _ = lab.exec("lb", &["nft", "delete", "table", "ip", "not_ours"]);
}
