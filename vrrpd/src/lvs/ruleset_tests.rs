//! The generated rules for each scheduler and membership case, compared line by line.

use super::*;
use crate::lvs::membership::{Membership, ServerState, ServiceMembership};
use hakeeper_common::config::model::{LvsPersistence, RealServer};
use std::time::Duration;

fn service(kind: LvsKind, scheduler: LvsScheduler, weights: &[u32]) -> LvsService {
    LvsService {
        name: "vs_web".into(),
        backend: 0,
        vip: "192.0.2.100:80".parse().unwrap(),
        protocol: LvsProtocol::Tcp,
        kind,
        interface: (kind == LvsKind::Dr).then(|| "eth0".into()),
        scheduler,
        persistence: None,
        inhibit_on_failure: false,
        sorry_server: None,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        real_servers: weights
            .iter()
            .enumerate()
            .map(|(i, w)| RealServer {
                name: format!("rs{}", i + 1),
                addr: format!("192.0.2.{}:80", 11 + i).parse().unwrap(),
                weight: *w,
                mac: None,
            })
            .collect(),
    }
}

fn membership(states: &[ServerState], quorum_up: bool) -> Membership {
    let mut m = Membership { services: vec![ServiceMembership { servers: states.to_vec(), quorum_up }], ..Membership::default() };
    for i in 0..3u8 {
        m.neighbours.insert(Ipv4Addr::new(192, 0, 2, 11 + i), [2, 0, 0, 0, 0, 11 + i]);
    }
    m.neighbours.insert(Ipv4Addr::new(192, 0, 2, 50), [2, 0, 0, 0, 0, 50]);
    m.interfaces.insert("eth0".into(), [2, 0, 0, 0, 0, 1]);
    m
}

fn up(w: u32) -> ServerState {
    ServerState::Up { weight: w }
}

fn script(services: &[LvsService], m: &Membership) -> String {
    ruleset(services, m).render(&[], &Carried::default())
}

/// The lines of `text` that contain `needle`, trimmed.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().map(str::trim).filter(|l| l.contains(needle)).collect()
}

#[test]
fn slot_ring_interleaves_by_weight() {
    assert_eq!(slot_ring(&[1, 1, 1]), vec![0, 1, 2]);
    assert_eq!(slot_ring(&[3, 1]), vec![0, 0, 1, 0]);
    assert_eq!(slot_ring(&[2, 2]), vec![0, 1], "reduced by the gcd");
    assert_eq!(slot_ring(&[0, 2, 1]), vec![1, 2, 1]);
    assert!(slot_ring(&[0, 0]).is_empty());
    let ring = slot_ring(&[5, 3, 2]);
    assert_eq!((ring.len(), ring.iter().filter(|t| **t == 0).count(), ring.iter().filter(|t| **t == 2).count()), (10, 5, 2));
}

#[test]
fn rr_alternates_and_ignores_weights_but_zero() {
    let s = service(LvsKind::Nat, LvsScheduler::Rr, &[3, 1, 0]);
    let text = script(std::slice::from_ref(&s), &membership(&[up(3), up(1), up(0)], true));
    assert_eq!(lines_with(&text, "numgen"), ["numgen inc mod 2 vmap { 0 : goto s0_t0, 1 : goto s0_t1 }"]);
    assert_eq!(
        lines_with(&text, "dnat ip to"),
        [
            "meta l4proto tcp dnat ip to 192.0.2.11:80",
            "meta l4proto tcp dnat ip to 192.0.2.12:80",
            "meta l4proto tcp dnat ip to 192.0.2.13:80"
        ]
    );
    assert_eq!(lines_with(&text, "goto s0\n").len() + lines_with(&text, "th dport 80 goto s0").len(), 1);
    assert!(text.starts_with("add table ip hakeeper_lvs\ndelete table ip hakeeper_lvs\ntable ip hakeeper_lvs {\n"), "{text}");
}

#[test]
fn wrr_spreads_new_connections_by_weight() {
    let s = service(LvsKind::Nat, LvsScheduler::Wrr, &[3, 1]);
    let text = script(&[s], &membership(&[up(3), up(1)], true));
    assert_eq!(lines_with(&text, "numgen"), ["numgen inc mod 4 vmap { 0 : goto s0_t0, 1 : goto s0_t0, 2 : goto s0_t1, 3 : goto s0_t0 }"]);
}

#[test]
fn a_dynamic_weight_from_the_checker_wins_over_the_configured_one() {
    let s = service(LvsKind::Nat, LvsScheduler::Wrr, &[1, 1]);
    let text = script(&[s], &membership(&[up(1), up(2)], true));
    assert_eq!(lines_with(&text, "numgen"), ["numgen inc mod 3 vmap { 0 : goto s0_t1, 1 : goto s0_t0, 2 : goto s0_t1 }"]);
}

#[test]
fn sh_hashes_the_source_with_a_fixed_seed() {
    let s = service(LvsKind::Nat, LvsScheduler::Sh, &[1, 2]);
    let text = script(&[s], &membership(&[up(1), up(2)], true));
    assert_eq!(
        lines_with(&text, "jhash"),
        ["jhash ip saddr mod 3 seed 0x686b6c76 vmap { 0 : goto s0_t1, 1 : goto s0_t0, 2 : goto s0_t1 }"]
    );
}

#[test]
fn a_down_server_is_removed_or_inhibited_to_weight_zero() {
    let mut s = service(LvsKind::Nat, LvsScheduler::Wrr, &[1, 1, 1]);
    let states = [up(1), ServerState::Down, up(1)];
    let removed = script(std::slice::from_ref(&s), &membership(&states, true));
    assert_eq!(lines_with(&removed, "numgen"), ["numgen inc mod 2 vmap { 0 : goto s0_t0, 1 : goto s0_t1 }"]);
    assert!(!removed.contains("192.0.2.12:80"), "no DNAT to the DOWN server");
    assert!(removed.contains("counter c0_rs2 { packets 0 bytes 0 }"), "its counter stays readable");

    s.inhibit_on_failure = true;
    s.persistence = Some(LvsPersistence { timeout: Duration::from_secs(300), prefix_len: 32 });
    let inhibited = script(std::slice::from_ref(&s), &membership(&states, true));
    assert_eq!(lines_with(&inhibited, "numgen"), ["numgen inc mod 2 vmap { 0 : goto s0_t0, 1 : goto s0_t2 }"], "weight 0: no new clients");
    let tx = ruleset(&[s], &membership(&states, true));
    assert_eq!(
        tx.carries[0].allowed,
        ["192.0.2.11 . 80", "192.0.2.12 . 80", "192.0.2.13 . 80"],
        "persistent clients still reach the inhibited server"
    );
    let nat = OwnedTable { family: "ip".into(), name: NAT_TABLE.into() };
    let mut carried = Carried::default();
    let entry = |key: &str, value: &str| MapEntry { key: key.into(), value: value.into(), expires: 100 };
    carried.entries.insert((nat.clone(), "persist0".into()), vec![entry("198.51.100.7", "192.0.2.12 . 80")]);
    assert_eq!(
        lines_with(&tx.render(std::slice::from_ref(&nat), &carried), "add element"),
        ["add element ip hakeeper_lvs persist0 { 198.51.100.7 expires 100s : 192.0.2.12 . 80 }"]
    );
    // Without inhibit_on_failure, the DOWN server's persistent clients are forgotten.
    let mut plain = service(LvsKind::Nat, LvsScheduler::Wrr, &[1, 1, 1]);
    plain.persistence = Some(LvsPersistence { timeout: Duration::from_secs(300), prefix_len: 32 });
    let tx = ruleset(&[plain], &membership(&states, true));
    assert!(lines_with(&tx.render(&[nat], &carried), "add element").is_empty());
}

#[test]
fn persistence_remembers_the_server_chosen_per_masked_source() {
    let mut s = service(LvsKind::Nat, LvsScheduler::Rr, &[1, 1]);
    s.persistence = Some(LvsPersistence { timeout: Duration::from_secs(300), prefix_len: 24 });
    let text = script(&[s], &membership(&[up(1), up(1)], true));
    assert_eq!(
        lines_with(&text, "map persist0"),
        ["map persist0 { type ipv4_addr : ipv4_addr . inet_service; flags timeout; timeout 300s; }"]
    );
    assert_eq!(
        lines_with(&text, "update @persist0"),
        ["ct state new ct original ip daddr 192.0.2.100 meta l4proto tcp ct original proto-dst 80 update @persist0 { ip saddr & 255.255.255.0 : ip daddr . th dport }"]
    );
    let svc = text.split("chain s0 {").nth(1).unwrap_or_default();
    let persisted = svc.find("map @persist0").unwrap_or(usize::MAX);
    let scheduled = svc.find("numgen").unwrap_or(0);
    assert!(persisted < scheduled, "a remembered source is looked up before the scheduler:\n{svc}");
}

#[test]
fn the_sorry_server_alone_takes_connections_while_quorum_is_lost() {
    let mut s = service(LvsKind::Nat, LvsScheduler::Wrr, &[1, 1]);
    s.sorry_server = Some("192.0.2.50:8080".parse().unwrap());
    s.quorum = 2;
    let lost = script(std::slice::from_ref(&s), &membership(&[up(1), ServerState::Down], false));
    assert_eq!(lines_with(&lost, "dnat ip to"), ["meta l4proto tcp dnat ip to 192.0.2.50:8080"]);
    assert_eq!(lines_with(&lost, "numgen"), ["numgen inc mod 1 vmap { 0 : goto s0_t0 }"]);
    let kept = script(std::slice::from_ref(&s), &membership(&[up(1), up(1)], true));
    assert!(!kept.contains("192.0.2.50:8080;") && !kept.contains("dnat ip to 192.0.2.50"), "quorum up: no sorry server");
    assert!(kept.contains("counter c0_sorry"));
    // No sorry server: quorum lost keeps the live servers (keepalived only runs quorum_down).
    s.sorry_server = None;
    let no_sorry = script(&[s], &membership(&[up(1), ServerState::Down], false));
    assert_eq!(lines_with(&no_sorry, "numgen"), ["numgen inc mod 1 vmap { 0 : goto s0_t0 }"]);
    assert_eq!(lines_with(&no_sorry, "dnat ip to"), ["meta l4proto tcp dnat ip to 192.0.2.11:80"]);
}

#[test]
fn nat_counts_each_real_server_both_ways() {
    let s = service(LvsKind::Nat, LvsScheduler::Rr, &[1, 1]);
    let text = script(&[s], &membership(&[up(1), up(1)], true));
    assert_eq!(
        lines_with(&text, "counter name"),
        [
            "ct original ip daddr 192.0.2.100 meta l4proto tcp ct original proto-dst 80 ct direction original counter name ip daddr . th dport map { 192.0.2.11 . 80 : \"c0_rs1\", 192.0.2.12 . 80 : \"c0_rs2\" }",
            "ct original ip daddr 192.0.2.100 meta l4proto tcp ct original proto-dst 80 ct direction reply counter name ip saddr . th sport map { 192.0.2.11 . 80 : \"c0_rs1\", 192.0.2.12 . 80 : \"c0_rs2\" }",
        ]
    );
}

#[test]
fn dr_rewrites_the_mac_and_forwards_out_of_the_same_interface() {
    let s = service(LvsKind::Dr, LvsScheduler::Rr, &[1, 1, 1]);
    let mut m = membership(&[up(1), up(1), up(1)], true);
    m.neighbours.remove(&Ipv4Addr::new(192, 0, 2, 13));
    let tx = ruleset(&[s], &m);
    assert_eq!(tx.notes, ["vs_web: no MAC known for 192.0.2.13 on eth0; it takes no connections"]);
    let text = tx.render(&[], &Carried::default());
    assert!(text.starts_with("add table netdev hakeeper_lvs_dr_eth0\ndelete table netdev hakeeper_lvs_dr_eth0\n"), "{text}");
    assert_eq!(lines_with(&text, "hook ingress"), ["type filter hook ingress device \"eth0\" priority 0; policy accept;"]);
    assert_eq!(lines_with(&text, "fwd to"), ["ether saddr set 02:00:00:00:00:01 fwd to \"eth0\""]);
    assert_eq!(
        lines_with(&text, "ether daddr set 02"),
        [
            "ether daddr set 02:00:00:00:00:0b update @flows0 { ip saddr . th sport : ether daddr } goto s0_out",
            "ether daddr set 02:00:00:00:00:0c update @flows0 { ip saddr . th sport : ether daddr } goto s0_out",
        ]
    );
    assert_eq!(lines_with(&text, "numgen"), ["numgen inc mod 2 vmap { 0 : goto s0_t0, 1 : goto s0_t1 }"]);
    assert_eq!(
        lines_with(&text, "map flows0"),
        ["map flows0 { type ipv4_addr . inet_service : ether_addr; flags timeout; timeout 900s; }"]
    );
    assert!(!text.contains("ip hakeeper_lvs"), "no NAT table without NAT services");
}

#[test]
fn stale_tables_are_deleted_and_carried_counters_kept() {
    let s = service(LvsKind::Nat, LvsScheduler::Rr, &[1]);
    let tx = ruleset(&[s], &membership(&[up(1)], true));
    let nat = OwnedTable { family: "ip".into(), name: NAT_TABLE.into() };
    let stale = OwnedTable { family: "netdev".into(), name: "hakeeper_lvs_dr_eth9".into() };
    let foreign = OwnedTable { family: "ip".into(), name: "filter".into() };
    let mut carried = Carried::default();
    carried.counters.insert((nat.clone(), "c0_rs1".into()), (7, 700));
    let text = tx.render(&[nat, stale, foreign], &carried);
    assert_eq!(lines_with(&text, "delete table"), ["delete table ip hakeeper_lvs", "delete table netdev hakeeper_lvs_dr_eth9"]);
    assert!(text.contains("counter c0_rs1 { packets 7 bytes 700 }"));
    assert_eq!(Transaction::default().render(&[], &Carried::default()), "");
}

#[test]
fn dr_counts_two_addresses_of_one_host_once_and_refuses_odd_interface_names() {
    let mut s = service(LvsKind::Dr, LvsScheduler::Rr, &[1, 1]);
    let mut m = membership(&[up(1), up(1)], true);
    m.neighbours.insert(Ipv4Addr::new(192, 0, 2, 12), [2, 0, 0, 0, 0, 11]);
    let text = script(std::slice::from_ref(&s), &m);
    assert_eq!(lines_with(&text, "counter name"), ["counter name ether daddr map { 02:00:00:00:00:0b : \"c0_rs1\" }"]);
    s.interface = Some("eth0\"; flush ruleset".into());
    let tx = ruleset(&[s], &m);
    assert!(tx.tables.is_empty() && tx.notes[0].contains("valid interface name"), "{:?}", tx.notes);
}

#[test]
fn dr_uses_a_configured_mac_before_the_neighbour_table() {
    let mut s = service(LvsKind::Dr, LvsScheduler::Rr, &[1, 1, 1]);
    s.real_servers[2].mac = Some([2, 0, 0, 0, 0, 0x99]);
    let mut m = membership(&[up(1), up(1), up(1)], true);
    m.neighbours.remove(&Ipv4Addr::new(192, 0, 2, 13));
    m.neighbours.insert(Ipv4Addr::new(192, 0, 2, 11), [2, 0, 0, 0, 0, 0x21]);
    let tx = ruleset(&[s], &m);
    assert!(tx.notes.is_empty(), "{:?}", tx.notes);
    let text = tx.render(&[], &Carried::default());
    assert_eq!(
        lines_with(&text, "ether daddr set 02"),
        [
            "ether daddr set 02:00:00:00:00:21 update @flows0 { ip saddr . th sport : ether daddr } goto s0_out",
            "ether daddr set 02:00:00:00:00:0c update @flows0 { ip saddr . th sport : ether daddr } goto s0_out",
            "ether daddr set 02:00:00:00:00:99 update @flows0 { ip saddr . th sport : ether daddr } goto s0_out",
        ]
    );
}

#[test]
fn a_standby_service_is_not_programmed_and_keeps_its_index_in_names() {
    let a = service(LvsKind::Nat, LvsScheduler::Rr, &[1, 1]);
    let b = LvsService { name: "vs_b".into(), vip: "192.0.2.101:80".parse().unwrap(), ..a.clone() };
    let mut m = membership(&[up(1), up(1)], true);
    m.services.push(m.services[0].clone());
    m.standby.insert(0);
    let tx = ruleset(&[a.clone(), b.clone()], &m);
    let text = tx.render(&[], &Carried::default());
    assert!(!text.contains("192.0.2.100"), "{text}");
    assert_eq!(lines_with(&text, "th dport 80 goto"), ["ip daddr 192.0.2.101 meta l4proto tcp th dport 80 goto s1"]);
    assert!(tx.counters.iter().all(|c| c.service == "vs_b"));
    m.standby.insert(1);
    let none = ruleset(&[a, b], &m);
    assert!(none.tables.is_empty(), "nothing to program: the render only deletes the owned tables");
}
