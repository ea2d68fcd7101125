//! LVS NAT on nftables, in namespaces: a client, a load balancer holding the VIP (the real
//! servers' gateway), three real servers answering their own name. The test plays the checker:
//! it decides membership and drives the applier directly.

mod lvs_lab;

use hakeeper_common::config::model::LvsService;
use hakeeper_vrrpd::lvs::{live_weight, quorum_state, ruleset, Applier, Membership, ServerState};
use lvs_lab::{echo, Lab};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

const VIP: &str = "192.0.2.100:80";
const CLIENT: &str = "192.0.2.66";

struct Nat {
    lab: Lab,
    applier: Applier,
    services: Vec<LvsService>,
}

/// Client net 192.0.2.64/26 (lb .65, VIP .100, client .66-.72), real-server net
/// 192.0.2.0/26 (lb .1, rs1-rs3 .11-.13 on port 8080).
fn nat_lab(tag: &str, listen: &str) -> Option<Nat> {
    let mut lab = Lab::new(tag)?;
    for h in ["cl", "lb", "rs1", "rs2", "rs3"] {
        lab.host(h);
    }
    lab.link("cl", "eth0", "02:00:00:00:01:66", "lb", "c0", "02:00:00:00:01:65");
    lab.ip("cl", &["addr", "add", "192.0.2.66/26", "dev", "eth0"]);
    for a in 67..=72 {
        lab.ip("cl", &["addr", "add", &format!("192.0.2.{a}/26"), "dev", "eth0"]);
    }
    lab.ip("cl", &["route", "add", "default", "via", "192.0.2.65"]);
    lab.ip("lb", &["addr", "add", "192.0.2.65/26", "dev", "c0"]);
    lab.ip("lb", &["addr", "add", "192.0.2.100/32", "dev", "c0"]);
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
        let addr: SocketAddr = format!("192.0.2.1{i}:8080").parse().unwrap();
        lab.server(&rs, &rs, addr, 0);
    }
    let config = format!("(listen: [{listen}])");
    let loaded = hakeeper_common::config::load_str("lab.ron", &config).unwrap_or_else(|e| panic!("{e}"));
    let applier = Applier::with_command(vec!["ip".into(), "netns".into(), "exec".into(), lab.ns("lb"), "nft".into()]);
    Some(Nat { lab, applier, services: loaded.config.lvs })
}

fn servers(weights: &[u32]) -> String {
    let list: Vec<String> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| format!("(name: \"rs{}\", addr: \"192.0.2.1{}:8080\", weight: {w})", i + 1, i + 1))
        .collect();
    format!("servers: [{}]", list.join(", "))
}

impl Nat {
    fn apply(&self, m: &Membership) {
        let tx = ruleset(&self.services, m);
        assert!(tx.notes.is_empty(), "{:?}", tx.notes);
        self.applier.apply(&tx).unwrap_or_else(|e| panic!("{e}"));
    }

    fn who(&self, src: &str) -> String {
        let src: IpAddr = src.parse().unwrap();
        self.lab.who("cl", Some(src), VIP.parse().unwrap()).unwrap_or_else(|e| panic!("from {src}: {e}"))
    }

    fn sequence(&self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.who(CLIENT)).collect()
    }

    fn tables(&self) -> String {
        String::from_utf8_lossy(&self.lab.exec("lb", &["nft", "list", "tables"]).stdout).into_owned()
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        let _ = self.applier.remove();
    }
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

#[test]
fn nat_rr_alternates_and_a_removed_server_gets_no_new_connections_while_established_ones_continue() {
    let Some(nat) = nat_lab("rr", &format!("(name: \"vs\", bind: [\"{VIP}\"], balance: static_rr, lvs: (), {})", servers(&[3, 1, 1])))
    else {
        return;
    };
    let mut m = Membership::all_up(&nat.services);
    nat.apply(&m);
    let seq = nat.sequence(6);
    println!("rr, weights 3/1/1 (rr ignores them): {seq:?}");
    assert_eq!(seq, ["rs1", "rs2", "rs3", "rs1", "rs2", "rs3"]);

    // One established connection to each server, then rs2 leaves.
    let held: Vec<_> = (0..3).map(|_| nat.lab.connect("cl", None, VIP.parse().unwrap()).unwrap_or_else(|e| panic!("{e}"))).collect();
    let names: Vec<String> = held.iter().map(|s| lvs_lab::read_greeting(s, 0).map(|g| g.0).unwrap_or_else(|e| panic!("{e}"))).collect();
    assert_eq!(count(&names), [("rs1".into(), 1), ("rs2".into(), 1), ("rs3".into(), 1)]);
    m.services[0].servers[1] = ServerState::Down;
    nat.apply(&m);
    let after = nat.sequence(6);
    println!("rr after rs2 is DOWN: {after:?}");
    assert!(!after.contains(&"rs2".to_string()), "{after:?}");
    assert_eq!(count(&after), [("rs1".into(), 3), ("rs3".into(), 3)]);
    for (s, name) in held.iter().zip(&names) {
        echo(s, &format!("still there, {name}?")).unwrap_or_else(|e| panic!("established connection to {name}: {e}"));
    }

    let tx = ruleset(&nat.services, &m);
    let counters = nat.applier.counters(&tx).unwrap_or_else(|e| panic!("{e}"));
    println!("counters: {counters:?}");
    for c in &counters {
        assert!(c.packets > 0 && c.bytes > 0, "{c:?}");
    }
    let rs2 = counters.iter().find(|c| c.server == "rs2").map(|c| c.packets).unwrap_or(0);
    assert!(rs2 > 0, "rs2's counter carried over its removal");
}

#[test]
fn nat_wrr_is_proportional_to_the_weights() {
    let Some(nat) = nat_lab("wrr", &format!("(name: \"vs\", bind: [\"{VIP}\"], balance: roundrobin, lvs: (), {})", servers(&[3, 2, 1])))
    else {
        return;
    };
    nat.apply(&Membership::all_up(&nat.services));
    let seq = nat.sequence(12);
    println!("wrr 3/2/1 over 12 connections: {:?}", count(&seq));
    assert_eq!(count(&seq), [("rs1".into(), 6), ("rs2".into(), 4), ("rs3".into(), 2)]);
    let longest = seq.windows(3).filter(|w| w[0] == w[1] && w[1] == w[2]).count();
    assert_eq!(longest, 0, "interleaved, not in runs: {seq:?}");
}

#[test]
fn nat_sh_keeps_each_source_on_one_server() {
    let Some(nat) = nat_lab("sh", &format!("(name: \"vs\", bind: [\"{VIP}\"], balance: source, lvs: (), {})", servers(&[1, 1, 1]))) else {
        return;
    };
    nat.apply(&Membership::all_up(&nat.services));
    let mut seen = Vec::new();
    for a in 66..=72 {
        let src = format!("192.0.2.{a}");
        let names: Vec<String> = (0..3).map(|_| nat.who(&src)).collect();
        assert!(names.iter().all(|n| *n == names[0]), "{src}: {names:?}");
        seen.push(names[0].clone());
    }
    println!("sh, sources .66-.72: {seen:?}");
    assert!(count(&seen).len() >= 2, "seven sources all hashed to one server: {seen:?}");
}

#[test]
fn nat_persistence_sends_a_source_back_to_its_server_until_it_is_removed() {
    let listen = format!(
        "(name: \"vs\", bind: [\"{VIP}\"], balance: roundrobin, lvs: (persistence_timeout: \"300s\", inhibit_on_failure: true), {})",
        servers(&[1, 1, 1])
    );
    let Some(mut nat) = nat_lab("persist", &listen) else { return };
    let mut m = Membership::all_up(&nat.services);
    nat.apply(&m);
    let first: Vec<String> = (66..=68).map(|a| nat.who(&format!("192.0.2.{a}"))).collect();
    assert_eq!(first, ["rs1", "rs2", "rs3"], "new sources are scheduled");
    for _ in 0..3 {
        for (a, name) in (66..=68).zip(&first) {
            assert_eq!(nat.who(&format!("192.0.2.{a}")), *name, "source .{a} persists");
        }
    }
    // rs2 DOWN with inhibit_on_failure: weight 0, its persistent source still goes there,
    // new sources do not.
    m.services[0].servers[1] = ServerState::Down;
    nat.apply(&m);
    assert_eq!(nat.who("192.0.2.67"), "rs2", "the persistent source stays on the inhibited server");
    let fresh: Vec<String> = (69..=72).map(|a| nat.who(&format!("192.0.2.{a}"))).collect();
    println!("persistence: first {first:?}, new sources with rs2 inhibited {fresh:?}");
    assert!(!fresh.contains(&"rs2".to_string()), "{fresh:?}");
    // Without inhibit_on_failure the DOWN server is removed and its sources move.
    nat.services[0].inhibit_on_failure = false;
    nat.apply(&m);
    let moved = nat.who("192.0.2.67");
    assert_ne!(moved, "rs2");
    assert_eq!(nat.who("192.0.2.67"), moved, "and persist on their new server");
    assert_eq!(nat.who("192.0.2.66"), "rs1", "other sources keep theirs");
}

#[test]
fn nat_tables_replace_stale_ones_and_are_removed_without_trace() {
    let Some(nat) = nat_lab("tables", &format!("(name: \"vs\", bind: [\"{VIP}\"], balance: roundrobin, lvs: (), {})", servers(&[1])))
    else {
        return;
    };
    // A killed run's tables: an old NAT table with a rule of its own, and a DR table.
    let stale = nat.lab.exec(
        "lb",
        &["nft", "add table ip hakeeper_lvs; add chain ip hakeeper_lvs old; add table netdev hakeeper_lvs_dr_gone; add table ip keep_me"],
    );
    assert!(stale.status.success(), "{}", String::from_utf8_lossy(&stale.stderr));
    let m = Membership::all_up(&nat.services);
    nat.apply(&m);
    nat.apply(&m);
    let tables = nat.tables();
    assert_eq!(tables.matches("table ip hakeeper_lvs\n").count(), 1, "{tables}");
    assert!(!tables.contains("hakeeper_lvs_dr_gone"), "{tables}");
    let ruleset = String::from_utf8_lossy(&nat.lab.exec("lb", &["nft", "list", "table", "ip", "hakeeper_lvs"]).stdout).into_owned();
    assert!(!ruleset.contains("chain old"), "{ruleset}");
    assert_eq!(nat.who(CLIENT), "rs1");
    nat.applier.remove().unwrap_or_else(|e| panic!("{e}"));
    let tables = nat.tables();
    println!("after removal: {tables:?}");
    assert!(!tables.contains("hakeeper"), "{tables}");
    assert!(tables.contains("keep_me"), "tables hakeeper does not own are left alone: {tables}");
}

#[test]
fn nat_sorry_server_takes_over_while_quorum_is_lost() {
    let listen = format!(
        "(name: \"vs\", bind: [\"{VIP}\"], balance: static_rr, lvs: (sorry_server: \"192.0.2.13:9090\", quorum: 2), {})",
        servers(&[1, 1])
    );
    let Some(mut nat) = nat_lab("sorry", &listen) else { return };
    nat.lab.server("rs3", "sorry", "192.0.2.13:9090".parse().unwrap(), 0);
    let mut m = Membership::all_up(&nat.services);
    nat.apply(&m);
    assert_eq!(count(&nat.sequence(4)), [("rs1".into(), 2), ("rs2".into(), 2)]);
    // The test as checker: rs1 fails; live weight 1 is below quorum 2.
    let (quorum, hysteresis) = (nat.services[0].quorum, nat.services[0].hysteresis);
    m.services[0].servers[0] = ServerState::Down;
    m.services[0].quorum_up = quorum_state(true, live_weight(&m.services[0]), quorum, hysteresis);
    assert!(!m.services[0].quorum_up);
    nat.apply(&m);
    let lost = nat.sequence(3);
    println!("quorum lost: {lost:?}");
    assert_eq!(lost, ["sorry", "sorry", "sorry"], "the live rs2 is taken out too, as keepalived does with a sorry server");
    m.services[0].servers[0] = ServerState::Up { weight: 1 };
    m.services[0].quorum_up = quorum_state(false, live_weight(&m.services[0]), quorum, hysteresis);
    nat.apply(&m);
    let back = nat.sequence(4);
    println!("quorum back: {back:?}");
    assert_eq!(count(&back), [("rs1".into(), 2), ("rs2".into(), 2)]);
    let counters = nat.applier.counters(&ruleset(&nat.services, &m)).unwrap_or_else(|e| panic!("{e}"));
    assert!(counters.iter().any(|c| c.server == "sorry_server" && c.packets > 0), "{counters:?}");
}

#[test]
fn nat_udp_flows_are_balanced_and_answered_from_the_vip() {
    let listen = format!("(name: \"vs\", bind: [\"{VIP}\"], balance: roundrobin, lvs: (protocol: udp), {})", servers(&[1, 1, 1]));
    let Some(mut nat) = nat_lab("udp", &listen) else { return };
    for i in 1..=3 {
        nat.lab.udp_server(&format!("rs{i}"), &format!("rs{i}"), format!("192.0.2.1{i}:8080").parse().unwrap());
    }
    nat.apply(&Membership::all_up(&nat.services));
    let answers: Vec<String> = (0..6).map(|_| nat.lab.udp_who("cl", VIP.parse().unwrap()).unwrap_or_else(|e| panic!("{e}"))).collect();
    println!("udp rr: {answers:?}");
    assert_eq!(answers, ["rs1", "rs2", "rs3", "rs1", "rs2", "rs3"]);
    // TCP to the same port is not part of a UDP virtual server.
    assert!(nat.lab.who("cl", None, VIP.parse().unwrap()).is_err());
}
