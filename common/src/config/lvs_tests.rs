//! `listen` sections with an `lvs` block: what they become, and each mistake at its position.

use super::*;
use std::time::Duration;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load_str("t.ron", text) {
        Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        Err(ConfigError::Invalid(d)) => d,
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn assert_error(text: &str, line: usize, col: usize, needle: &str) {
    let errs = errors(text);
    assert!(
        errs.iter().any(|d| d.line == line && d.col == col && d.to_string().contains(needle)),
        "expected error at {line}:{col} containing {needle:?}, got:\n{}",
        errs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
    );
}

const DR: &str = r#"(
  listen: [(name: "web", bind: ["192.0.2.10:8080"], balance: roundrobin,
            servers: [(name: "p1", addr: "192.0.2.1:8080")]),
           (name: "vs_web", bind: ["192.0.2.100:80"], mode: tcp, balance: source,
            lvs: (kind: dr, interface: "eth0", persistence_timeout: "300s",
                  persistence_granularity: "255.255.255.0", inhibit_on_failure: true,
                  sorry_server: "192.0.2.50:80", quorum: 4, hysteresis: 1,
                  quorum_up: "/bin/true up", quorum_down: "/bin/true down"),
            servers: [(name: "rs1", addr: "192.0.2.11:80", weight: 3, check: ()),
                      (name: "rs2", addr: "192.0.2.12:80", check: (), mac: "02:00:00:00:00:0c")])],
)"#;

#[test]
fn an_lvs_listen_is_a_service_and_a_backend_but_no_frontend() {
    let loaded = load_str("t.ron", DR).unwrap();
    assert!(loaded.warnings.iter().all(|w| !w.to_string().contains("data plane")), "the data plane is programmed: {:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.frontends.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["web"], "no user-space listener for the VIP");
    assert_eq!(c.http.frontends.len(), 1, "the L7 table is indexed as the frontends");
    assert_eq!(c.backends.len(), 2, "its servers are checked as a backend's");
    let s = &c.lvs[0];
    assert_eq!(s.backend, 1);
    assert_eq!(c.backends[s.backend].name, "vs_web");
    assert_eq!(s.vip, "192.0.2.100:80".parse().unwrap());
    assert_eq!((s.kind, s.protocol, s.scheduler), (LvsKind::Dr, LvsProtocol::Tcp, LvsScheduler::Sh));
    assert_eq!(s.interface.as_deref(), Some("eth0"));
    assert_eq!(s.persistence, Some(LvsPersistence { timeout: Duration::from_secs(300), prefix_len: 24 }));
    assert!(s.inhibit_on_failure);
    assert_eq!(s.sorry_server, Some("192.0.2.50:80".parse().unwrap()));
    assert_eq!((s.quorum, s.hysteresis), (4, 1));
    assert_eq!(s.quorum_down.as_deref(), Some("/bin/true down"));
    assert_eq!(
        s.real_servers,
        vec![
            RealServer { name: "rs1".into(), addr: "192.0.2.11:80".parse().unwrap(), weight: 3, mac: None },
            RealServer { name: "rs2".into(), addr: "192.0.2.12:80".parse().unwrap(), weight: 1, mac: Some([2, 0, 0, 0, 0, 0x0c]) },
        ]
    );
}

#[test]
fn balance_maps_to_the_ipvs_schedulers() {
    for (balance, scheduler) in [("roundrobin", LvsScheduler::Wrr), ("static_rr", LvsScheduler::Rr), ("source", LvsScheduler::Sh)] {
        let text = format!(
            r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], balance: {balance}, lvs: (),
                 servers: [(name: "a", addr: "192.0.2.11:8080")])])"#
        );
        let c = load_str("t.ron", &text).unwrap().config;
        assert_eq!((c.lvs[0].scheduler, c.lvs[0].kind), (scheduler, LvsKind::Nat), "{balance}");
    }
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
     balance: leastconn, lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        6,
        "no LVS scheduler",
    );
}

#[test]
fn the_bind_is_one_vip_and_port() {
    assert_error(
        r#"(listen: [(name: "v",
  bind: ["*:80"], lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        10,
        "not a wildcard",
    );
    assert_error(
        r#"(listen: [(name: "v",
  bind: ["192.0.2.100:80", "192.0.2.101:80"], lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        3,
        "exactly one bind",
    );
}

#[test]
fn dr_needs_an_interface_and_the_vip_port_on_the_real_servers() {
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
  lvs: (kind: dr), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        3,
        "need the interface",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (kind: dr, interface: "eth0"),
  servers: [(name: "a", addr: "192.0.2.11:8080")])])"#,
        2,
        25,
        "keeps the VIP's port",
    );
}

#[test]
fn tun_is_refused_with_its_reason() {
    let errs = errors(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
  lvs: (kind: tun, interface: "eth0"), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
    );
    let e = errs.iter().find(|d| d.to_string().contains("kind tun")).expect("a kind tun error");
    assert_eq!((e.line, e.col), (2, 9));
    let expect = if super::validate::kernel_has_ipip_for_tests() { "not implemented yet" } else { "lacks" };
    assert!(e.to_string().contains(expect), "{e}");
}

#[test]
fn proxy_only_settings_are_errors_in_an_lvs_listen() {
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (),
  stick: (expire: "5m"), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        3,
        "persistence_timeout",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (),
  servers: [(name: "a", addr: "192.0.2.11:80"), (name: "b", addr: "192.0.2.12:80", backup: true)])])"#,
        2,
        84,
        "sorry_server",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (),
  tcp_request_connection: ["reject"], servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        3,
        "kernel forwards its packets",
    );
    assert_error(
        r#"(backend: [(name: "v",
  lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        3,
        "only in a listen",
    );
}

#[test]
fn a_real_server_is_listed_once() {
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (sorry_server: "192.0.2.12:80"),
  servers: [(name: "a", addr: "192.0.2.11:80"), (name: "b", addr: "192.0.2.11:80"), (name: "c", addr: "192.0.2.12:80")])])"#,
        2,
        61,
        "already servers[0]",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (sorry_server: "192.0.2.12:80"),
  servers: [(name: "c", addr: "192.0.2.12:80")])])"#,
        2,
        25,
        "also the sorry_server",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
  lvs: (kind: dr, interface: "eth0\"x"), servers: [(name: "c", addr: "192.0.2.12:80")])])"#,
        2,
        19,
        "invalid interface name",
    );
}

#[test]
fn a_mac_is_for_dr_real_servers_only() {
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (kind: dr, interface: "eth0"),
  servers: [(name: "a", addr: "192.0.2.11:80", mac: "02:00:00:00:0b")])])"#,
        2,
        48,
        "invalid MAC",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (),
  servers: [(name: "a", addr: "192.0.2.11:80", mac: "02:00:00:00:00:0b")])])"#,
        2,
        48,
        "kind dr only",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
  servers: [(name: "a", addr: "192.0.2.11:80", mac: "02:00:00:00:00:0b")])])"#,
        2,
        48,
        "LVS virtual server",
    );
}

#[test]
fn quorum_and_persistence_values_are_checked() {
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
  lvs: (quorum: 2, hysteresis: 2), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        20,
        "below quorum",
    );
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"],
  lvs: (persistence_timeout: "5m", persistence_granularity: "255.0.255.0"), servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        36,
        "not contiguous",
    );
}

#[test]
fn an_lvs_vip_conflicts_with_a_proxy_bind_on_the_same_port() {
    assert_error(
        r#"(listen: [(name: "v", bind: ["192.0.2.100:80"], lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")]),
  (name: "p", bind: ["192.0.2.100:80"], servers: [(name: "a", addr: "192.0.2.11:80")])])"#,
        2,
        22,
        "already bound",
    );
}

#[test]
fn a_vip_no_vrrp_instance_carries_is_warned_about_at_its_bind() {
    let text = r#"(
  listen: [(name: "vs", bind: ["192.0.2.100:80"], lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")]),
           (name: "free", bind: ["192.0.2.200:80"], lvs: (), servers: [(name: "b", addr: "192.0.2.12:80")])],
  vrrp: (instances: [(name: "VI_1", interface: "eth0", vrid: 1, priority: 100, vips: ["192.0.2.100/24"])]),
)"#;
    let loaded = load_str("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let found: Vec<String> = loaded.warnings.iter().filter(|w| w.to_string().contains("among its vips")).map(|w| w.to_string()).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(loaded.warnings.iter().any(|w| w.line == 3 && w.to_string().contains("192.0.2.200")), "{:?}", loaded.warnings);
    let alone = r#"(listen: [(name: "vs", bind: ["192.0.2.100:80"], lvs: (), servers: [(name: "a", addr: "192.0.2.11:80")])])"#;
    let loaded = load_str("t.ron", alone).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.iter().all(|w| !w.to_string().contains("among its vips")), "no VRRP at all: a single director");
}
