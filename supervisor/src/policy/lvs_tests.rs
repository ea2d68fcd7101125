//! Input → output tables for the LVS services: the checker's verdicts, `misc_dynamic` weights
//! and operator states reach vrrpd per service and are replayed to a restarted vrrpd; quorum
//! flips run their scripts once; vrrpd's counters answer `show lvs` and reach the workers.

use super::*;
use hakeeper_common::ctl::{CtlReply, CtlRequest, LvsServerView, LvsView};
use hakeeper_common::ipc::{FromChecker, FromVrrp, FromWorker, LvsServerState};

const CHECKER: i32 = 100;
const WORKER: i32 = 101;
const VRRPD: i32 = 102;

const RON: &str = r#"(
  listen: [
    (name: "web", bind: ["127.0.0.1:18080"], mode: tcp, servers: [(name: "w1", addr: "127.0.0.1:9000")]),
    (name: "vs", bind: ["192.0.2.100:80"], balance: roundrobin,
     lvs: (quorum: 3, quorum_up: "/bin/true up", quorum_down: "/bin/true down"),
     servers: [(name: "rs1", addr: "192.0.2.11:80", weight: 2, check: ()), (name: "rs2", addr: "192.0.2.12:80", check: ())]),
  ],
  vrrp: (instances: [(name: "VI_1", interface: "lo", vrid: 51, priority: 100, vips: ["192.0.2.100"])]),
)"#;

struct Sup {
    p: Policy,
    now: Instant,
    next_pid: i32,
}

impl Sup {
    fn booted() -> Sup {
        let config = match hakeeper_common::config::load_str("lvs.ron", RON) {
            Ok(l) => l.config,
            Err(e) => panic!("{}", e.report()),
        };
        let setup = Setup {
            config,
            foreground: true,
            root: true,
            worker_privs: Privileges::Unprivileged,
            checker_privs: Privileges::Unprivileged,
            parent: 1,
            host: "lb1".into(),
            started_unix: 0,
            watchdog: None,
        };
        let now = Instant::now();
        let mut s = Sup { p: Policy::new(setup, now), now, next_pid: CHECKER };
        s.on(Input::Boot);
        s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 1 } });
        s
    }

    fn on(&mut self, input: Input) -> Vec<Output> {
        let mut all = Vec::new();
        for o in self.p.on(input, self.now) {
            if let Output::Spawn { role, why, .. } = &o {
                let (role, why) = (*role, *why);
                let pid = self.next_pid;
                self.next_pid += 1;
                all.push(o);
                all.extend(self.on(Input::Spawned { role, pid, why }));
            } else {
                all.push(o);
            }
        }
        all
    }

    fn checker(&mut self, msg: FromChecker) -> Vec<Output> {
        self.on(Input::FromChecker { pid: CHECKER, msg })
    }

    fn health(&mut self, backend: usize, server: usize, up: bool) -> Vec<Output> {
        self.checker(FromChecker::ServerHealth { backend, server, up, reason: "Layer4 check".into(), duration: Duration::from_millis(1) })
    }
}

fn to_vrrp(out: &[Output], to: i32) -> Vec<ToVrrp> {
    out.iter()
        .filter_map(|o| if let Output::Send { pid, msg: ToChild::Vrrp(m) } = o { (*pid == to).then(|| m.clone()) } else { None })
        .collect()
}

fn to_checker(out: &[Output], to: i32) -> Vec<ToChecker> {
    out.iter()
        .filter_map(|o| if let Output::Send { pid, msg: ToChild::Checker(m) } = o { (*pid == to).then(|| m.clone()) } else { None })
        .collect()
}

fn servers(states: &[LvsServerState]) -> ToVrrp {
    ToVrrp::LvsServers { service: 0, servers: states.to_vec() }
}

fn up(weight: u32) -> LvsServerState {
    LvsServerState::Up { weight }
}

#[test]
fn vrrpd_starts_with_the_services_and_their_servers_states() {
    let mut s = Sup::booted();
    // Boot already sent them: check by restarting vrrpd after rs2 went down.
    let out = s.health(1, 1, false);
    assert_eq!(to_vrrp(&out, VRRPD), [servers(&[up(2), LvsServerState::Down])]);
    let out = s.on(Input::Exited { pid: VRRPD, how: "killed".into(), code: None });
    assert!(to_vrrp(&out, VRRPD).is_empty());
    s.now += Duration::from_secs(5);
    let out = s.on(Input::Timer);
    let new = s.next_pid - 1;
    let msgs = to_vrrp(&out, new);
    let lvs_at = msgs.iter().position(|m| matches!(m, ToVrrp::Lvs(v) if v.len() == 1 && v[0].name == "vs"));
    let start_at = msgs.iter().position(|m| matches!(m, ToVrrp::Start(_)));
    assert!(start_at < lvs_at && lvs_at.is_some(), "Start, then the services: {msgs:?}");
    assert!(msgs.contains(&servers(&[up(2), LvsServerState::Down])), "the DOWN server is replayed: {msgs:?}");
}

#[test]
fn health_of_other_backends_is_not_sent_and_weights_and_operator_states_are() {
    let mut s = Sup::booted();
    assert!(to_vrrp(&s.health(0, 0, false), VRRPD).is_empty(), "backend web has no LVS service");
    let out = s.checker(FromChecker::ServerWeight { backend: 1, server: 0, weight: 7 });
    assert_eq!(to_vrrp(&out, VRRPD), [servers(&[up(7), up(1)])], "misc_dynamic's weight");
    let drain = FromWorker::AdminChanged { backend: "vs".into(), server: "rs2".into(), state: AdminState::Drain, weight: None };
    let out = s.on(Input::FromWorker { pid: WORKER, msg: drain });
    assert_eq!(to_vrrp(&out, VRRPD), [servers(&[up(7), up(0)])], "DRAIN quiesces: weight 0");
    let maint = FromWorker::AdminChanged { backend: "vs".into(), server: "rs1".into(), state: AdminState::Maint, weight: None };
    let out = s.on(Input::FromWorker { pid: WORKER, msg: maint });
    assert_eq!(to_vrrp(&out, VRRPD), [servers(&[LvsServerState::Down, up(0)])], "MAINT takes it out");
}

#[test]
fn a_restarted_checker_starts_vrrpd_over_from_the_configured_states() {
    let mut s = Sup::booted();
    s.health(1, 0, false);
    s.checker(FromChecker::ServerWeight { backend: 1, server: 1, weight: 9 });
    let out = s.on(Input::Exited { pid: CHECKER, how: "killed".into(), code: None });
    assert!(to_vrrp(&out, VRRPD).is_empty());
    s.now += Duration::from_secs(5);
    let out = s.on(Input::Timer);
    assert_eq!(to_vrrp(&out, VRRPD), [servers(&[up(2), up(1)])], "the new checker starts every server UP at its weight");
}

#[test]
fn quorum_flips_run_their_scripts_once_through_the_checker() {
    let mut s = Sup::booted();
    let lost = s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::LvsQuorum { service: 0, up: false } });
    assert_eq!(
        to_checker(&lost, CHECKER),
        [ToChecker::Notify { instance: "lvs:vs".into(), command: "/bin/true down".into(), args: Vec::new() }]
    );
    let again = s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::LvsQuorum { service: 0, up: false } });
    assert!(to_checker(&again, CHECKER).is_empty(), "a restarted vrrpd reporting the same state runs nothing");
    let back = s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::LvsQuorum { service: 0, up: true } });
    assert_eq!(
        to_checker(&back, CHECKER),
        [ToChecker::Notify { instance: "lvs:vs".into(), command: "/bin/true up".into(), args: Vec::new() }]
    );
    let unknown = s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::LvsQuorum { service: 9, up: false } });
    assert!(to_checker(&unknown, CHECKER).is_empty());
}

#[test]
fn show_lvs_answers_from_vrrpds_last_report_which_the_workers_get_too() {
    let mut s = Sup::booted();
    let out = s.on(Input::Ctl { id: 1, request: CtlRequest::ShowLvs });
    assert!(
        out.iter().any(|o| matches!(o, Output::CtlAnswer { id: 1, reply: CtlReply::Error(e) } if e.contains("not reported"))),
        "{out:?}"
    );
    let view = LvsView {
        name: "vs".into(),
        vip: "192.0.2.100:80".into(),
        protocol: "tcp".into(),
        kind: "nat".into(),
        scheduler: "wrr".into(),
        active: true,
        quorum_up: true,
        servers: vec![LvsServerView { name: "rs1".into(), addr: "192.0.2.11:80".into(), up: true, weight: 2, packets: 5, bytes: 300 }],
    };
    let out = s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::LvsStats(vec![view.clone()]) });
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Send { pid: WORKER, msg: ToChild::Worker(ToWorker::LvsStates(v)) } if *v == [view.clone()])));
    let out = s.on(Input::Ctl { id: 2, request: CtlRequest::ShowLvs });
    assert!(out.contains(&Output::CtlAnswer { id: 2, reply: CtlReply::Lvs(vec![view]) }), "{out:?}");
}
