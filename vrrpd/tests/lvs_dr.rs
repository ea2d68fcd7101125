//! LVS DR on nftables, in namespaces: one segment (a bridge in a namespace of its own) with a
//! client, a load balancer holding the VIP, and three real servers holding the VIP on `lo` with
//! ARP suppressed (arp_ignore=1, arp_announce=2). The load balancer rewrites the destination
//! MAC at its interface's ingress and sends the frame back out; the replies go from the real
//! servers to the client directly. The test plays the checker and drives the applier.

mod lvs_lab;

use hakeeper_common::config::model::LvsService;
use hakeeper_vrrpd::lvs::{ruleset, Applier, Membership, Resolver, ServerState};
use lvs_lab::{echo, read_greeting, Lab};
use std::net::Ipv4Addr;

const VIP: &str = "192.0.2.100:80";
/// Each real server's answer: its name, then this much filler, so that replies dominate.
const FILLER: usize = 256 * 1024;

struct Dr {
    lab: Lab,
    applier: Applier,
    services: Vec<LvsService>,
}

fn mac(last: u8) -> [u8; 6] {
    [2, 0, 0, 0, 3, last]
}

fn mac_text(last: u8) -> String {
    format!("02:00:00:00:03:{last:02x}")
}

/// Segment 192.0.2.0/24: client .2, lb .1 (+ VIP .100), rs1-rs3 .11-.13 (VIP on lo).
fn dr_lab(tag: &str, balance: &str, lvs: &str) -> Option<Dr> {
    let mut lab = Lab::new(tag)?;
    lab.host("sw");
    lab.ip("sw", &["link", "add", "br0", "type", "bridge"]);
    lab.ip("sw", &["link", "set", "br0", "up"]);
    let hosts: [(&str, u8); 5] = [("cl", 2), ("lb", 1), ("rs1", 11), ("rs2", 12), ("rs3", 13)];
    for (h, last) in hosts {
        lab.host(h);
        lab.link("sw", &format!("p-{h}"), &mac_text(200 + last % 50), h, "eth0", &mac_text(last));
        lab.ip("sw", &["link", "set", &format!("p-{h}"), "master", "br0"]);
        lab.ip(h, &["addr", "add", &format!("192.0.2.{last}/24"), "dev", "eth0"]);
    }
    lab.ip("lb", &["addr", "add", "192.0.2.100/32", "dev", "eth0"]);
    for i in 1..=3 {
        let rs = format!("rs{i}");
        // What keepalived's DR real servers need: the VIP on lo, never answered for in ARP.
        for iface in ["all", "eth0"] {
            lab.sysctl(&rs, &format!("net.ipv4.conf.{iface}.arp_ignore"), "1");
            lab.sysctl(&rs, &format!("net.ipv4.conf.{iface}.arp_announce"), "2");
        }
        lab.ip(&rs, &["addr", "add", "192.0.2.100/32", "dev", "lo"]);
        lab.server(&rs, &rs, VIP.parse().unwrap(), FILLER);
    }
    let servers: Vec<String> = (1..=3).map(|i| format!("(name: \"rs{i}\", addr: \"192.0.2.1{i}:80\")")).collect();
    let config = format!(
        "(listen: [(name: \"vs\", bind: [\"{VIP}\"], balance: {balance}, lvs: (kind: dr, interface: \"eth0\"{lvs}), servers: [{}])])",
        servers.join(", ")
    );
    let loaded = hakeeper_common::config::load_str("lab.ron", &config).unwrap_or_else(|e| panic!("{e}"));
    let applier = Applier::with_command(vec!["ip".into(), "netns".into(), "exec".into(), lab.ns("lb"), "nft".into()]);
    Some(Dr { lab, applier, services: loaded.config.lvs })
}

impl Dr {
    /// The test as owner: membership, with the MACs resolved from the load balancer's
    /// neighbour table (filled here by a ping to each real server, as health checks would).
    fn membership(&self) -> Membership {
        for i in 1..=3u8 {
            let out = self.lab.exec("lb", &["ping", "-c", "1", "-W", "2", &format!("192.0.2.1{i}")]);
            if !out.status.success() {
                // No ping on this host: a TCP connection resolves the neighbour as well.
                let _ = self.lab.connect("lb", None, format!("192.0.2.1{i}:80").parse().unwrap());
            }
        }
        let resolver = Resolver::with_command(vec!["ip".into(), "netns".into(), "exec".into(), self.lab.ns("lb"), "ip".into()]);
        let segment = resolver.resolve("eth0").unwrap_or_else(|e| panic!("{e}"));
        let (own, neighbours) = (segment.own, segment.neighbours);
        assert_eq!(own, mac(1));
        for i in 1..=3u8 {
            assert_eq!(neighbours.get(&Ipv4Addr::new(192, 0, 2, 10 + i)), Some(&mac(10 + i)), "rs{i} resolved");
        }
        let mut m = Membership::all_up(&self.services);
        m.neighbours = neighbours;
        m.interfaces.insert("eth0".into(), own);
        m
    }

    fn apply(&self, m: &Membership) {
        let tx = ruleset(&self.services, m);
        assert!(tx.notes.is_empty(), "{:?}", tx.notes);
        self.applier.apply(&tx).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Connects to the VIP; the server's name and the bytes it sent.
    fn fetch(&self) -> (String, usize) {
        let s = self.lab.connect("cl", None, VIP.parse().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        read_greeting(&s, FILLER).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Dr {
    fn drop(&mut self) {
        let _ = self.applier.remove();
    }
}

#[test]
fn dr_replies_go_from_the_real_servers_to_the_client_directly() {
    let Some(dr) = dr_lab("direct", "static_rr", "") else { return };
    dr.apply(&dr.membership());
    let lb_before = dr.lab.if_counters("lb", "eth0");
    let cl_before = dr.lab.if_counters("cl", "eth0");
    let mut names = Vec::new();
    let mut received = 0;
    for _ in 0..6 {
        let (name, got) = dr.fetch();
        assert_eq!(got, FILLER, "{name} sent the whole answer");
        received += got as u64;
        names.push(name);
    }
    let lb_after = dr.lab.if_counters("lb", "eth0");
    let cl_after = dr.lab.if_counters("cl", "eth0");
    let (lb_rx, cl_rx) = (lb_after.1 - lb_before.1, cl_after.1 - cl_before.1);
    println!(
        "dr rr: {names:?}; client received {cl_rx} bytes ({received} of answers); lb eth0 received {lb_rx} bytes, sent {} bytes",
        lb_after.3 - lb_before.3
    );
    assert_eq!(names, ["rs1", "rs2", "rs3", "rs1", "rs2", "rs3"]);
    assert!(cl_rx >= received, "the client got the answers");
    assert!(lb_rx * 20 < received, "the answers did not pass through the load balancer: it received {lb_rx} bytes of {received}");

    // The client reaches the VIP at the load balancer's MAC: the real servers kept quiet in ARP.
    let neigh = dr.lab.ip("cl", &["neigh", "show", "192.0.2.100"]);
    assert!(neigh.contains(&mac_text(1)), "the VIP resolves to the load balancer: {neigh}");
    let lo = dr.lab.ip("rs2", &["-4", "addr", "show", "dev", "lo"]);
    assert!(lo.contains("192.0.2.100/32"), "{lo}");

    let counters = dr.applier.counters(&ruleset(&dr.services, &dr.membership())).unwrap_or_else(|e| panic!("{e}"));
    println!("counters (frames forwarded per real server): {counters:?}");
    for c in &counters {
        assert!(c.packets > 0 && c.bytes > 0, "{c:?}");
    }
}

#[test]
fn dr_a_removed_server_gets_no_new_connections_while_established_ones_continue() {
    let Some(dr) = dr_lab("removal", "roundrobin", "") else { return };
    let mut m = dr.membership();
    dr.apply(&m);
    let held: Vec<_> = (0..3).map(|_| dr.lab.connect("cl", None, VIP.parse().unwrap()).unwrap_or_else(|e| panic!("{e}"))).collect();
    let names: Vec<String> = held.iter().map(|s| read_greeting(s, FILLER).map(|g| g.0).unwrap_or_else(|e| panic!("{e}"))).collect();
    assert_eq!(names, ["rs1", "rs2", "rs3"]);
    m.services[0].servers[1] = ServerState::Down;
    dr.apply(&m);
    // The flows of rs1 and rs3 were carried into the new table (rs2's were dropped with it).
    let flows = String::from_utf8_lossy(&dr.lab.exec("lb", &["nft", "list", "map", "netdev", "hakeeper_lvs_dr_eth0", "flows0"]).stdout)
        .into_owned();
    assert!(flows.contains(&mac_text(11)) && flows.contains(&mac_text(13)) && !flows.contains(&mac_text(12)), "{flows}");
    let after: Vec<String> = (0..4).map(|_| dr.fetch().0).collect();
    println!("dr after rs2 is DOWN: {after:?}");
    assert!(!after.contains(&"rs2".to_string()), "{after:?}");
    for (s, name) in held.iter().zip(&names).filter(|(_, n)| *n != "rs2") {
        echo(s, &format!("still there, {name}?")).unwrap_or_else(|e| panic!("established connection to {name}: {e}"));
    }
    dr.applier.remove().unwrap_or_else(|e| panic!("{e}"));
    let tables = String::from_utf8_lossy(&dr.lab.exec("lb", &["nft", "list", "tables"]).stdout).into_owned();
    assert!(!tables.contains("hakeeper"), "{tables}");
}

#[test]
fn dr_persistence_sends_a_source_back_to_its_server() {
    let Some(dr) = dr_lab("persist", "roundrobin", ", persistence_timeout: \"300s\"") else { return };
    for a in 3..=5 {
        dr.lab.ip("cl", &["addr", "add", &format!("192.0.2.{a}/24"), "dev", "eth0"]);
    }
    dr.apply(&dr.membership());
    let who = |a: u8| -> String {
        let s = dr.lab.connect("cl", Some(format!("192.0.2.{a}").parse().unwrap()), VIP.parse().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        read_greeting(&s, FILLER).unwrap_or_else(|e| panic!("{e}")).0
    };
    let first: Vec<String> = (3..=5).map(who).collect();
    println!("dr persistence, sources .3-.5: {first:?}");
    assert_eq!(first, ["rs1", "rs2", "rs3"]);
    for _ in 0..2 {
        for (a, name) in (3..=5).zip(&first) {
            assert_eq!(who(a), *name, "source .{a} persists");
        }
    }
}
