//! Input → output tables for the supervisor's policies: restarts and health replay, the crash
//! loop, checker and vrrpd restarts, reload, stop, switchover, `min_servers_up`, a wedged child.

use super::*;
use crate::listeners::worker_listeners;
use hakeeper_common::ctl::{CtlReply, CtlRequest};
use hakeeper_common::ipc::{FromChecker, FromVrrp, FromWorker, StickEntries};

const CHECKER: i32 = 100;
const WORKER: i32 = 101;
const VRRPD: i32 = 102;

fn config(servers: &[&str], extra_global: &str) -> Config {
    let servers: Vec<String> =
        servers.iter().enumerate().map(|(i, n)| format!("(name: \"{n}\", addr: \"127.0.0.1:{}\")", 9000 + i)).collect();
    let text = format!(
        r#"(
  global: (worker_crash_limit: (exits: 3, window: "30s", rise: "10s"), {extra_global}),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: ["127.0.0.1:18080", "127.0.0.1:18081"], balance: roundrobin, servers: [{}])],
  vrrp: (
    scripts: [
      (name: "chk_proxy", builtin: proxy_alive),
      (name: "chk_web", builtin: min_servers_up(backend: "web", servers: 2)),
      (name: "chk_cmd", script: "/bin/true"),
    ],
    instances: [(name: "VI_1", interface: "lo", vrid: 51, priority: 100, vips: ["192.0.2.5"],
                 track: [(script: "chk_proxy"), (script: "chk_web")],
                 notify_master: "/bin/true master", notify: "/bin/true all")],
  ),
)"#,
        servers.join(", ")
    );
    match hakeeper_common::config::load_str("test.ron", &text) {
        Ok(l) => l.config,
        Err(e) => panic!("test config: {}", e.report()),
    }
}

/// A policy and a clock; spawns are answered as the shell does (in order, with new PIDs).
struct Sup {
    p: Policy,
    now: Instant,
    next_pid: i32,
}

impl Sup {
    fn new(config: Config, root: bool) -> Sup {
        Sup::with_watchdog(config, root, None)
    }

    fn with_watchdog(config: Config, root: bool, watchdog: Option<Duration>) -> Sup {
        let now = Instant::now();
        let setup = Setup {
            config,
            foreground: true,
            root,
            worker_privs: Privileges::Unprivileged,
            checker_privs: Privileges::Unprivileged,
            parent: 1,
            host: "lb1".into(),
            started_unix: 0,
            watchdog,
        };
        Sup { p: Policy::new(setup, now), now, next_pid: CHECKER }
    }

    /// Booted: checker 100, worker 101 (serving generation 1), vrrpd 102 when root.
    fn booted(root: bool) -> Sup {
        let mut s = Sup::new(config(&["s1", "s2", "s3"], ""), root);
        let out = s.on(Input::Boot);
        let expected: &[Role] = if root { &[Role::Checker, Role::Worker, Role::Vrrpd] } else { &[Role::Checker, Role::Worker] };
        assert_eq!(spawns(&out), expected);
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

    fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        self.on(Input::Timer)
    }

    fn exit(&mut self, pid: i32, code: i32) -> Vec<Output> {
        self.on(Input::Exited { pid, how: format!("exited with code {code}"), code: Some(code) })
    }

    fn health(&mut self, server: usize, up: bool) -> Vec<Output> {
        let msg = FromChecker::ServerHealth { backend: 0, server, up, reason: "Layer4 check".into(), duration: Duration::from_millis(1) };
        self.on(Input::FromChecker { pid: CHECKER, msg })
    }
}

fn spawns(out: &[Output]) -> Vec<Role> {
    out.iter().filter_map(|o| if let Output::Spawn { role, .. } = o { Some(*role) } else { None }).collect()
}

fn to_worker(out: &[Output], to: i32) -> Vec<ToWorker> {
    out.iter()
        .filter_map(|o| if let Output::Send { pid, msg: ToChild::Worker(m) } = o { (*pid == to).then(|| m.clone()) } else { None })
        .collect()
}

fn to_checker(out: &[Output], to: i32) -> Vec<ToChecker> {
    out.iter()
        .filter_map(|o| if let Output::Send { pid, msg: ToChild::Checker(m) } = o { (*pid == to).then(|| m.clone()) } else { None })
        .collect()
}

fn to_vrrp(out: &[Output], to: i32) -> Vec<ToVrrp> {
    out.iter()
        .filter_map(|o| if let Output::Send { pid, msg: ToChild::Vrrp(m) } = o { (*pid == to).then(|| m.clone()) } else { None })
        .collect()
}

fn logs(out: &[Output]) -> Vec<String> {
    out.iter().filter_map(|o| if let Output::Log { text, .. } = o { Some(text.clone()) } else { None }).collect()
}

fn answers(out: &[Output]) -> Vec<(u64, CtlReply)> {
    out.iter().filter_map(|o| if let Output::CtlAnswer { id, reply } = o { Some((*id, reply.clone())) } else { None }).collect()
}

fn kills(out: &[Output]) -> Vec<i32> {
    out.iter().filter_map(|o| if let Output::Kill { pid } = o { Some(*pid) } else { None }).collect()
}

fn listeners_sent(out: &[Output], to: i32) -> Option<Vec<(hakeeper_common::ipc::ListenerTag, std::net::SocketAddr)>> {
    out.iter().find_map(|o| if let Output::SendListeners { pid, listeners } = o { (*pid == to).then(|| listeners.clone()) } else { None })
}

fn notified(out: &[Output]) -> Vec<String> {
    out.iter().filter_map(|o| if let Output::Notify(s) = o { Some(s.clone()) } else { None }).collect()
}

fn has_log(out: &[Output], needle: &str) -> bool {
    logs(out).iter().any(|l| l.contains(needle))
}

/// Every output names a timer last.
fn armed(out: &[Output]) -> Option<Instant> {
    match out.last() {
        Some(Output::ArmTimer(t)) => *t,
        other => panic!("outputs do not end with ArmTimer: {other:?}"),
    }
}

#[test]
fn boot_starts_the_checker_first_and_gives_the_worker_its_config_listeners_and_views() {
    let mut s = Sup::new(config(&["s1", "s2"], ""), true);
    let out = s.on(Input::Boot);
    assert_eq!(spawns(&out), [Role::Checker, Role::Worker, Role::Vrrpd]);
    assert!(matches!(to_checker(&out, CHECKER)[..], [ToChecker::Start(_)]));
    let w = to_worker(&out, WORKER);
    assert!(matches!(w[0], ToWorker::Start { generation: 1, .. }), "{w:?}");
    assert_eq!(listeners_sent(&out, WORKER), Some(worker_listeners(&s.p.config)));
    assert!(matches!(w[1], ToWorker::VrrpStates(_)) && matches!(w[2], ToWorker::Process(_)), "{w:?}");
    let v = to_vrrp(&out, VRRPD);
    assert!(matches!(v[0], ToVrrp::Start(_)));
    assert_eq!(
        v[1..],
        [
            ToVrrp::ProxyHealth { up: true },
            ToVrrp::ScriptState { script: ScriptId(0), ok: true },
            ToVrrp::ScriptState { script: ScriptId(1), ok: true }
        ]
    );
    let failed = s.on(Input::SpawnFailed { role: Role::Worker, why: SpawnWhy::Boot, error: "cannot start the worker: x".into() });
    assert!(failed.contains(&Output::Abort("cannot start the worker: x".into())), "a child that cannot start at boot ends the supervisor");
}

#[test]
fn a_worker_crash_restarts_it_at_once_on_the_same_listeners_with_server_health_replayed() {
    let mut s = Sup::booted(true);
    s.health(1, false);
    let admin = FromWorker::AdminChanged { backend: "web".into(), server: "s3".into(), state: AdminState::Drain, weight: Some(7) };
    s.on(Input::FromWorker { pid: WORKER, msg: admin });
    s.on(Input::FromChecker { pid: CHECKER, msg: FromChecker::ServerWeight { backend: 0, server: 0, weight: 42 } });

    let out = s.exit(WORKER, 1);
    assert!(has_log(&out, "worker (pid 101) exited with code 1") && has_log(&out, "restarting worker in 0s"), "{:?}", logs(&out));
    assert_eq!(armed(&out), Some(s.now), "the first restart is immediate");
    assert!(to_vrrp(&out, VRRPD).is_empty(), "one crash is no reason to give up the VIPs");

    let out = s.on(Input::Timer);
    assert_eq!(spawns(&out), [Role::Worker]);
    let new = 103;
    assert_eq!(listeners_sent(&out, new), Some(worker_listeners(&s.p.config)), "the same listening sockets");
    let w = to_worker(&out, new);
    assert!(matches!(w[0], ToWorker::Start { generation: 1, .. }));
    assert_eq!(
        w[1..5],
        [
            ToWorker::SetWeight { backend: 0, server: 0, weight: 42 },
            ToWorker::ServerHealth { backend: 0, server: 1, up: false },
            ToWorker::ServerAdmin { backend: 0, server: 2, state: AdminState::Drain },
            ToWorker::SetWeight { backend: 0, server: 2, weight: 7 },
        ],
        "{w:?}"
    );
    let ToWorker::Process(view) = &w[6] else { panic!("{w:?}") };
    assert_eq!(view.restarts.iter().find(|(r, _)| r == "worker").map(|(_, n)| *n), Some(1));
}

#[test]
fn a_crash_loop_gives_up_the_vips_and_takes_them_back_once_the_worker_stays_up() {
    let mut s = Sup::booted(true);
    // exits: 3 within 30 s. Backoff: 0, 100 ms, 200 ms.
    let mut pid = WORKER;
    for (n, delay) in [(1, 0), (2, 100), (3, 200)] {
        let out = s.exit(pid, 1);
        assert!(
            has_log(&out, &format!("restarting worker in {}", if delay == 0 { "0s".into() } else { format!("{delay}ms") })),
            "{:?}",
            logs(&out)
        );
        let down = to_vrrp(&out, VRRPD);
        if n < 3 {
            assert!(down.is_empty(), "exit {n}: {down:?}");
        } else {
            assert_eq!(
                down,
                [ToVrrp::ProxyHealth { up: false }, ToVrrp::ScriptState { script: ScriptId(0), ok: false }],
                "proxy DOWN, proxy_alive KO"
            );
            assert!(has_log(&out, "worker exited 3 times within 30s: proxy DOWN"));
        }
        let out = s.advance(Duration::from_millis(delay));
        assert_eq!(spawns(&out), [Role::Worker]);
        pid = s.next_pid - 1;
    }
    // The third worker serves; rise is 10 s, but the exits stay in the 30 s window.
    s.on(Input::FromWorker { pid, msg: FromWorker::Ready { generation: 1 } });
    let out = s.advance(Duration::from_secs(11));
    assert!(to_vrrp(&out, VRRPD).is_empty(), "still failing within the window");
    let refused = s.on(Input::Ctl { id: 1, request: CtlRequest::Switchback });
    assert!(matches!(&answers(&refused)[..], [(1, CtlReply::Error(e))] if e.contains("still failing")));
    let out = s.advance(Duration::from_secs(20));
    assert_eq!(to_vrrp(&out, VRRPD), [ToVrrp::ProxyHealth { up: true }, ToVrrp::ScriptState { script: ScriptId(0), ok: true }]);
    assert!(has_log(&out, "proxy UP"));
}

#[test]
fn exit_code_2_is_not_restarted_and_counts_as_proxy_down() {
    let mut s = Sup::booted(true);
    let out = s.exit(WORKER, 2);
    assert!(has_log(&out, "worker cannot run with this config; not restarting it"));
    assert_eq!(to_vrrp(&out, VRRPD)[0], ToVrrp::ProxyHealth { up: false });
    assert!(spawns(&s.advance(Duration::from_secs(60))).is_empty());
}

#[test]
fn a_checker_crash_restarts_it_and_workers_return_to_the_configured_initial_health() {
    let mut s = Sup::booted(true);
    s.health(0, false);
    s.on(Input::FromChecker { pid: CHECKER, msg: FromChecker::ScriptState { script: 2, ok: false } });
    let out = s.exit(CHECKER, 1);
    assert!(has_log(&out, "restarting checker in 0s"));
    let out = s.on(Input::Timer);
    assert_eq!(spawns(&out), [Role::Checker]);
    // The new checker starts s1 UP (no `initial: down`) and reports only changes from there.
    assert_eq!(to_worker(&out, WORKER), [ToWorker::ServerHealth { backend: 0, server: 0, up: true }]);
    assert!(matches!(to_checker(&out, 103)[..], [ToChecker::Start(_)]));
    assert!(s.p.server_health.is_empty());
}

#[test]
fn a_vrrpd_crash_replays_proxy_health_switchover_and_track_states_to_the_new_one() {
    let mut s = Sup::booted(true);
    s.on(Input::FromChecker { pid: CHECKER, msg: FromChecker::ScriptState { script: 2, ok: false } });
    s.health(0, false);
    s.health(1, false);
    s.on(Input::Ctl { id: 5, request: CtlRequest::Switchover });
    s.exit(VRRPD, 1);
    let out = s.on(Input::Timer);
    assert_eq!(spawns(&out), [Role::Vrrpd]);
    let v = to_vrrp(&out, 103);
    assert!(matches!(v[0], ToVrrp::Start(_)));
    assert_eq!(
        v[1..],
        [
            ToVrrp::ProxyHealth { up: true },
            ToVrrp::Switchover { on: true },
            ToVrrp::ScriptState { script: ScriptId(2), ok: false },
            ToVrrp::ScriptState { script: ScriptId(0), ok: true },
            ToVrrp::ScriptState { script: ScriptId(1), ok: false },
        ]
    );
}

#[test]
fn sighup_with_a_bad_config_keeps_the_running_one_and_tells_ctl_why() {
    let mut s = Sup::booted(true);
    let refused = Refused {
        lines: vec!["test.ron:3:5: unknown field `bnd`".into()],
        reply: "reload refused, the running configuration stays:\n...".into(),
    };
    let out = s.on(Input::Reload { ctl: Some(9), outcome: Err(refused) });
    assert!(spawns(&out).is_empty() && to_worker(&out, WORKER).is_empty() && to_checker(&out, CHECKER).is_empty());
    assert!(has_log(&out, "reload refused, keeping the running config: test.ron:3:5: unknown field `bnd`"));
    assert_eq!(out[1], Output::NotifyReloading);
    assert_eq!(notified(&out), ["READY=1\nSTATUS=reload refused (test.ron:3:5: unknown field `bnd`); serving generation 1"]);
    assert_eq!(answers(&out), [(9, CtlReply::Error("reload refused, the running configuration stays:\n...".into()))]);
    assert_eq!(s.p.generation, 1);
}

#[test]
fn sighup_with_a_good_config_starts_a_new_worker_drains_the_old_and_hands_stick_tables_over() {
    let mut s = Sup::booted(true);
    s.health(2, false);
    // s2 goes, s4 comes: the checks changed, so the checker restarts too.
    let new = config(&["s1", "s3", "s4"], "");
    let out = s.on(Input::Reload { ctl: Some(9), outcome: Ok(Loaded { config: new, warnings: vec!["a warning".into()] }) });
    assert_eq!(spawns(&out), [Role::Worker]);
    let w = to_worker(&out, 103);
    assert!(matches!(w[0], ToWorker::Start { generation: 2, .. }));
    assert_eq!(w[1], ToWorker::ServerHealth { backend: 0, server: 1, up: false }, "s3's health, by name, at its new index");
    assert_eq!(to_checker(&out, CHECKER), [ToChecker::Stop]);
    assert!(!to_worker(&out, WORKER).iter().any(|m| matches!(m, ToWorker::Drain { .. })), "the old worker serves until the new one does");
    assert!(has_log(&out, "a warning") && has_log(&out, "configuration generation 2 loaded"));
    assert!(answers(&out).is_empty(), "ctl reload is answered once the new worker serves");

    let out = s.on(Input::FromWorker { pid: 103, msg: FromWorker::Ready { generation: 2 } });
    assert_eq!(answers(&out), [(9, CtlReply::Done("configuration generation 2 loaded and serving".into()))]);
    assert!(matches!(to_worker(&out, WORKER)[..], [ToWorker::Drain { .. }]));
    assert_eq!(notified(&out), ["READY=1\nSTATUS=serving generation 2"]);

    let tables = vec![StickEntries {
        backend: "web".into(),
        entries: vec![("192.0.2.1".parse().expect("ip"), "s1".into(), Duration::from_secs(30))],
    }];
    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::StickTables(tables.clone()) });
    assert_eq!(to_worker(&out, 103), [ToWorker::StickTables(tables)]);
    assert!(to_worker(&out, WORKER).is_empty());
    let part = hakeeper_common::stick_data::StickTableDump {
        table: "fe".into(),
        entries: vec![hakeeper_common::stick_data::StickUpdate {
            key: hakeeper_common::stick_data::StickKey::V4([192, 0, 2, 1]),
            expire_in_ms: Some(1_000),
            values: vec![],
        }],
    };
    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::StickData(part.clone()) });
    assert_eq!(to_worker(&out, 103), [ToWorker::StickData(part)], "stick_table entries go to the successor too");
    assert!(to_worker(&out, WORKER).is_empty());

    let out = s.exit(WORKER, 0);
    assert!(has_log(&out, "old worker (pid 101) finished draining") && spawns(&out).is_empty());
    // The old checker stops as told: its replacement starts at once, not counted as a crash.
    let out = s.exit(CHECKER, 0);
    assert!(has_log(&out, "starting its replacement"));
    let out = s.on(Input::Timer);
    assert_eq!(spawns(&out), [Role::Checker]);
    assert_eq!(s.p.restart_counts.get("checker"), None);
}

#[test]
fn a_reload_whose_worker_dies_before_serving_answers_ctl_with_the_failure() {
    let mut s = Sup::booted(false);
    s.on(Input::Reload { ctl: Some(4), outcome: Ok(Loaded { config: config(&["s1", "s2"], ""), warnings: Vec::new() }) });
    let new = s.next_pid - 1;
    let out = s.exit(new, 1);
    assert_eq!(answers(&out), [(4, CtlReply::Error("the worker of generation 2 exited with code 1 before serving".into()))]);
    assert_eq!(spawns(&s.on(Input::Timer)), [Role::Worker], "restarted like any crash");
}

#[test]
fn sigterm_releases_the_vips_before_draining_and_ends_within_five_seconds() {
    let mut s = Sup::booted(true);
    s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::InstanceState { instance: InstanceId(0), state: VrrpState::Master, priority: 100 } });
    let out = s.on(Input::Stop);
    assert!(notified(&out).iter().any(|n| n.starts_with("STOPPING=1\n")));
    assert_eq!(to_vrrp(&out, VRRPD), [ToVrrp::Shutdown], "priority 0 first");
    assert!(to_worker(&out, WORKER).is_empty(), "the worker serves on the VIPs until they are released");
    assert!(s.p.stopping());
    // A SIGHUP meanwhile is for the shell to ignore; a crash is not restarted.
    let out = s.exit(VRRPD, 0);
    assert_eq!(
        to_checker(&out, CHECKER)[..2],
        [
            ToChecker::Notify {
                instance: "VI_1".into(),
                command: "/bin/true all".into(),
                args: vec!["INSTANCE".into(), "VI_1".into(), "STOP".into(), "100".into()]
            },
            ToChecker::Stop
        ]
    );
    assert_eq!(to_worker(&out, WORKER), [ToWorker::Drain { grace: Duration::from_secs(2) }]);
    s.exit(CHECKER, 0);
    let out = s.exit(WORKER, 0);
    assert!(out.contains(&Output::Exit { linger: Duration::ZERO }));
    assert_eq!(armed(&out), None);
}

#[test]
fn sigterm_with_a_silent_vrrpd_drains_after_the_release_wait_and_kills_stragglers_at_the_deadline() {
    let mut s = Sup::booted(true);
    let t0 = s.now;
    let out = s.on(Input::Stop);
    assert_eq!(armed(&out), Some(t0 + stop::VRRP_RELEASE_WAIT));
    let out = s.advance(stop::VRRP_RELEASE_WAIT);
    assert!(matches!(to_worker(&out, WORKER)[..], [ToWorker::Drain { .. }]));
    assert_eq!(armed(&out), Some(t0 + stop::STOP_DEADLINE));
    let out = s.advance(stop::STOP_DEADLINE - stop::VRRP_RELEASE_WAIT);
    assert_eq!(kills(&out), [CHECKER, WORKER, VRRPD]);
    assert!(
        matches!(out.iter().find(|o| matches!(o, Output::Exit { .. })), Some(Output::Exit { linger }) if *linger < Duration::from_millis(500))
    );
    assert!(stop::STOP_DEADLINE + Duration::from_millis(500) <= Duration::from_secs(5));
}

#[test]
fn ctl_stop_answers_and_stops_as_sigterm_does() {
    let mut s = Sup::booted(true);
    let out = s.on(Input::Ctl { id: 4, request: CtlRequest::Stop });
    assert!(matches!(&answers(&out)[..], [(4, CtlReply::Done(t))] if t.starts_with("stopping")));
    assert!(notified(&out).iter().any(|n| n.starts_with("STOPPING=1\n")));
    assert_eq!(to_vrrp(&out, VRRPD), [ToVrrp::Shutdown], "priority 0 first, as on SIGTERM");
    assert!(s.p.stopping());
    // A second one (or a SIGTERM) changes nothing.
    let out = s.on(Input::Ctl { id: 5, request: CtlRequest::Stop });
    assert!(matches!(&answers(&out)[..], [(5, CtlReply::Done(t))] if t == "already stopping"));
    assert!(to_vrrp(&out, VRRPD).is_empty());
}

#[test]
fn switchover_and_switchback_go_to_vrrpd_and_are_refused_without_vrrp() {
    let mut s = Sup::booted(true);
    let out = s.on(Input::Ctl { id: 1, request: CtlRequest::Switchover });
    assert_eq!(to_vrrp(&out, VRRPD), [ToVrrp::Switchover { on: true }]);
    assert!(matches!(&answers(&out)[..], [(1, CtlReply::Done(t))] if t.starts_with("switchover: VIPs released")));
    assert!(to_worker(&out, WORKER).is_empty(), "the proxy serves on");
    let out = s.on(Input::Ctl { id: 2, request: CtlRequest::Switchback });
    assert_eq!(to_vrrp(&out, VRRPD), [ToVrrp::Switchover { on: false }]);
    assert!(matches!(&answers(&out)[..], [(2, CtlReply::Done(t))] if t.starts_with("switchback")));

    let mut s = Sup::booted(false);
    let out = s.on(Input::Ctl { id: 3, request: CtlRequest::Switchover });
    assert_eq!(answers(&out), [(3, CtlReply::Error("no VRRP instance runs on this host".into()))]);
}

#[test]
fn min_servers_up_turns_ko_below_the_count_and_ok_again_above_it() {
    let mut s = Sup::booted(true);
    let table: &[(usize, bool, &[ToVrrp])] = &[
        (0, false, &[]),
        (1, false, &[ToVrrp::ScriptState { script: ScriptId(1), ok: false }]),
        (2, false, &[]),
        (0, true, &[]),
        (1, true, &[ToVrrp::ScriptState { script: ScriptId(1), ok: true }]),
    ];
    for (server, up, expected) in table {
        let out = s.health(*server, *up);
        assert_eq!(to_vrrp(&out, VRRPD), *expected, "s{} {}", server + 1, if *up { "UP" } else { "DOWN" });
        assert_eq!(to_worker(&out, WORKER)[0], ToWorker::ServerHealth { backend: 0, server: *server, up: *up });
        if !expected.is_empty() {
            assert!(has_log(&out, "track chk_web is now"));
        }
    }
}

#[test]
fn ctl_goes_to_the_newest_serving_worker_or_is_answered_at_once() {
    let mut s = Sup::new(config(&["s1", "s2"], ""), false);
    s.on(Input::Boot);
    let out = s.on(Input::Ctl { id: 1, request: CtlRequest::ShowInfo });
    assert_eq!(answers(&out), [(1, CtlReply::Error("no worker is serving".into()))], "not ready yet");
    s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 1 } });
    let out = s.on(Input::Ctl { id: 2, request: CtlRequest::ShowInfo });
    assert_eq!(to_worker(&out, WORKER), [ToWorker::Ctl { id: 2, request: CtlRequest::ShowInfo }]);
    let reply = CtlReply::Done("x".into());
    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::CtlReply { id: 2, reply: reply.clone() } });
    assert_eq!(answers(&out), [(2, reply)]);
}

#[test]
fn a_wedged_child_is_killed_not_waited_on_and_restarted_like_a_crash() {
    let mut s = Sup::booted(true);
    assert_eq!(s.p.outbox_bound(), OUTBOX_BASE + 3 * OUTBOX_PER_SERVER);
    let out = s.on(Input::Wedged { pid: WORKER, queued: 4121 });
    assert_eq!(kills(&out), [WORKER]);
    assert!(has_log(&out, "worker (pid 101) stopped reading its channel (4121 messages queued); killing it"));
    let out = s.on(Input::Ctl { id: 1, request: CtlRequest::ShowInfo });
    assert_eq!(answers(&out), [(1, CtlReply::Error("no worker is serving".into()))], "nothing more is queued for it");
    let out = s.on(Input::Exited { pid: WORKER, how: "killed by SIGKILL".into(), code: None });
    assert!(has_log(&out, "restarting worker in 0s"));
    assert_eq!(spawns(&s.on(Input::Timer)), [Role::Worker]);
}

#[test]
fn a_child_sending_garbage_is_killed() {
    let mut s = Sup::booted(false);
    let out = s.on(Input::BadMessage { pid: CHECKER, error: "cannot decode message: x".into() });
    assert_eq!(kills(&out), [CHECKER]);
    let out = s.on(Input::CannotSend { pid: WORKER, error: "cannot copy the listening sockets: EMFILE".into() });
    assert_eq!(kills(&out), [WORKER], "a worker that cannot get its listeners is restarted");
    assert!(
        s.on(Input::BadMessage { pid: 999, error: "x".into() }).iter().all(|o| matches!(o, Output::ArmTimer(_))),
        "unknown PIDs are ignored"
    );
}

#[test]
fn a_failed_restart_is_retried_after_the_backoff() {
    let mut s = Sup::booted(false);
    s.exit(CHECKER, 1);
    let t = s.now;
    let out = s.p.on(Input::Timer, t);
    assert_eq!(spawns(&out), [Role::Checker]);
    let out = s.on(Input::SpawnFailed { role: Role::Checker, why: SpawnWhy::Restart, error: "cannot start the checker: EAGAIN".into() });
    assert!(has_log(&out, "cannot start the checker: EAGAIN"));
    assert_eq!(armed(&out), Some(t + Duration::from_millis(100)));
    assert_eq!(spawns(&s.advance(Duration::from_millis(100))), [Role::Checker]);
}

#[test]
fn vrrp_transitions_run_notify_scripts_through_the_current_checker() {
    let mut s = Sup::booted(true);
    let out = s.on(Input::FromVrrp {
        pid: VRRPD,
        msg: FromVrrp::InstanceState { instance: InstanceId(0), state: VrrpState::Master, priority: 100 },
    });
    assert_eq!(
        to_checker(&out, CHECKER),
        [
            ToChecker::Notify { instance: "VI_1".into(), command: "/bin/true master".into(), args: Vec::new() },
            ToChecker::Notify {
                instance: "VI_1".into(),
                command: "/bin/true all".into(),
                args: vec!["INSTANCE".into(), "VI_1".into(), "MASTER".into(), "100".into()]
            },
        ]
    );
    assert_eq!(notified(&out), ["STATUS=serving generation 1, VI_1 MASTER"]);
    assert!(matches!(to_worker(&out, WORKER)[..], [ToWorker::VrrpStates(_)]));
    let again = s.on(Input::FromVrrp {
        pid: VRRPD,
        msg: FromVrrp::InstanceState { instance: InstanceId(0), state: VrrpState::Master, priority: 100 },
    });
    assert!(to_checker(&again, CHECKER).is_empty(), "no transition, no script");
}

#[test]
fn systemd_s_watchdog_is_fed_only_while_every_child_answers_its_ping() {
    let mut s = Sup::with_watchdog(config(&["s1", "s2"], ""), false, Some(Duration::from_millis(600)));
    s.on(Input::Boot);
    let ping = |out: &[Output], pid: i32| -> Option<u64> {
        let w = to_worker(out, pid).into_iter().find_map(|m| if let ToWorker::Ping(n) = m { Some(n) } else { None });
        w.or_else(|| to_checker(out, pid).into_iter().find_map(|m| if let ToChecker::Ping(n) = m { Some(n) } else { None }))
    };
    let out = s.on(Input::Timer);
    assert_eq!(notified(&out), ["WATCHDOG=1"], "the first round: nothing owed yet");
    let seq = ping(&out, WORKER).expect("worker pinged");
    assert_eq!(ping(&out, CHECKER), Some(seq));
    s.on(Input::FromChecker { pid: CHECKER, msg: FromChecker::Pong(seq) });
    // The worker does not answer (wedged): the next round does not feed systemd.
    let out = s.advance(Duration::from_millis(300));
    assert!(notified(&out).is_empty(), "{:?}", notified(&out));
    let seq = ping(&out, WORKER).expect("pinged again");
    s.on(Input::FromChecker { pid: CHECKER, msg: FromChecker::Pong(seq) });
    s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Pong(seq) });
    let out = s.advance(Duration::from_millis(300));
    assert_eq!(notified(&out), ["WATCHDOG=1"], "fed again once every child answers");
}

// Binary upgrade (`upgrade.rs`): the new binary's check, vrrpd's hand-over, the exec's record,
// and the next supervisor adopting the old worker.

fn execs(out: &[Output]) -> Vec<(Vec<CarriedWorker>, UpgradeState)> {
    out.iter()
        .filter_map(|o| if let Output::Exec { workers, state, .. } = o { Some((workers.clone(), state.clone())) } else { None })
        .collect()
}

fn upgrade_ok() -> Input {
    Input::Upgrade { ctl: Some(7), outcome: Ok("/usr/sbin/hakeeper".into()) }
}

fn handed_over_master() -> Input {
    Input::FromVrrp { pid: VRRPD, msg: FromVrrp::HandedOver { instances: vec![(InstanceId(0), VrrpState::Master, 100)] } }
}

#[test]
fn upgrade_refused_by_the_new_binary_changes_nothing() {
    let mut s = Sup::booted(true);
    let out = s.on(Input::Upgrade { ctl: Some(7), outcome: Err("/x/hakeeper rejects the configuration:\nx.ron:3:5: bad".into()) });
    assert!(execs(&out).is_empty());
    assert!(to_vrrp(&out, VRRPD).is_empty(), "vrrpd keeps running");
    let a = answers(&out);
    assert!(matches!(&a[..], [(7, CtlReply::Error(e))] if e.contains("refused") && e.contains("x.ron:3:5")), "{a:?}");
}

#[test]
fn upgrade_hands_vrrpd_over_then_execs_with_the_workers_and_the_state() {
    let mut s = Sup::booted(true);
    s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::InstanceState { instance: InstanceId(0), state: VrrpState::Master, priority: 100 } });
    let admin = FromWorker::AdminChanged { backend: "web".into(), server: "s3".into(), state: AdminState::Drain, weight: Some(7) };
    s.on(Input::FromWorker { pid: WORKER, msg: admin });
    let out = s.on(upgrade_ok());
    assert_eq!(to_vrrp(&out, VRRPD), [ToVrrp::HandOver]);
    assert!(out.contains(&Output::NotifyReloading));
    assert!(execs(&out).is_empty(), "no exec before vrrpd handed over");
    assert!(answers(&out).is_empty());
    // A second trigger meanwhile is refused.
    let again = s.on(Input::Upgrade { ctl: Some(8), outcome: Ok("/usr/sbin/hakeeper".into()) });
    assert!(matches!(&answers(&again)[..], [(8, CtlReply::Error(e))] if e.contains("already under way")));

    let out = s.on(handed_over_master());
    let e = execs(&out);
    assert_eq!(e.len(), 1, "{out:?}");
    let (workers, state) = &e[0];
    assert_eq!(workers, &[CarriedWorker { pid: WORKER, generation: 1, draining: false, serving: true }]);
    assert_eq!(state.generation, 1);
    assert_eq!(state.vrrp, [("VI_1".to_string(), VrrpState::Master)]);
    assert_eq!(state.server_admin, [(ServerName::new("web", "s3"), AdminState::Drain, Some(7))]);
    assert!(answers(&out).is_empty(), "the ctl client goes along with the exec: {out:?}");
    assert!(out.iter().any(|o| matches!(o, Output::Exec { ctl: Some(7), .. })));
}

#[test]
fn a_reload_while_vrrpd_hands_over_is_refused() {
    let mut s = Sup::booted(true);
    s.on(upgrade_ok());
    let loaded = Loaded { config: config(&["s1", "s2"], ""), warnings: Vec::new() };
    let out = s.on(Input::Reload { ctl: Some(3), outcome: Ok(loaded) });
    assert!(spawns(&out).is_empty(), "{out:?}");
    assert!(matches!(&answers(&out)[..], [(3, CtlReply::Error(e))] if e.contains("upgrade is under way")), "{out:?}");
}

#[test]
fn upgrade_without_vrrpd_execs_at_once() {
    let mut s = Sup::booted(false);
    let out = s.on(upgrade_ok());
    assert_eq!(execs(&out).len(), 1);
}

#[test]
fn upgrade_abandoned_when_vrrpd_does_not_hand_over_and_a_late_hand_over_resumes() {
    let mut s = Sup::booted(true);
    s.on(upgrade_ok());
    let out = s.advance(upgrade::HANDOVER_WAIT);
    assert!(matches!(&answers(&out)[..], [(7, CtlReply::Error(e))] if e.contains("abandoned")), "{out:?}");
    assert!(notified(&out).iter().any(|n| n.starts_with("READY=1")));
    // It answers late: no exec; once it exits, one replacement carries on from its states.
    let out = s.on(handed_over_master());
    assert!(execs(&out).is_empty());
    let out = s.exit(VRRPD, 0);
    assert!(has_log(&out, "starting its replacement"), "{:?}", logs(&out));
    let out = s.advance(Duration::from_millis(1));
    assert_eq!(spawns(&out), [Role::Vrrpd]);
    let v = to_vrrp(&out, 103);
    assert_eq!(v[0], ToVrrp::Resume(vec![(InstanceId(0), VrrpState::Master)]), "Resume comes before Start: {v:?}");
    assert!(matches!(v[1], ToVrrp::Start(_)));
}

#[test]
fn a_failed_exec_keeps_serving_and_replaces_the_handed_over_vrrpd_once() {
    let mut s = Sup::booted(true);
    s.on(upgrade_ok());
    s.on(handed_over_master());
    let out = s.on(Input::ExecFailed { error: "cannot execute /x: ENOENT".into() });
    assert!(has_log(&out, "upgrade failed"));
    assert!(matches!(&answers(&out)[..], [(7, CtlReply::Error(e))] if e.contains("upgrade failed") && e.contains("ENOENT")), "{out:?}");
    assert!(notified(&out).iter().any(|n| n.starts_with("READY=1")));
    let out = s.advance(Duration::from_millis(1));
    assert_eq!(spawns(&out), [Role::Vrrpd]);
    assert!(matches!(to_vrrp(&out, 103)[0], ToVrrp::Resume(_)));
    // The old vrrpd's exit does not start a second one.
    s.exit(VRRPD, 0);
    let out = s.advance(Duration::from_secs(5));
    assert!(spawns(&out).is_empty(), "{out:?}");
}

#[test]
fn upgrade_refused_while_stopping() {
    let mut s = Sup::booted(true);
    s.on(Input::Stop);
    let out = s.on(upgrade_ok());
    assert!(execs(&out).is_empty());
    assert!(matches!(&answers(&out)[..], [(7, CtlReply::Error(e))] if e.contains("stopping")));
}

fn inherited(state: Option<UpgradeState>) -> Inherited {
    Inherited { workers: vec![CarriedWorker { pid: 50, generation: 3, draining: false, serving: true }], state, ctl: Some(9) }
}

#[test]
fn the_next_supervisor_adopts_the_old_worker_and_drains_it_once_the_new_one_serves() {
    let mut s = Sup::new(config(&["s1", "s2", "s3"], ""), true);
    let state = UpgradeState {
        generation: 3,
        server_health: Vec::new(),
        server_admin: vec![(ServerName::new("web", "s2"), AdminState::Maint, None)],
        vrrp: vec![("VI_1".into(), VrrpState::Master)],
        switched_over: false,
        proxy_up: true,
    };
    s.p.inherit(inherited(Some(state)), s.now);
    let out = s.on(Input::Boot);
    assert_eq!(spawns(&out), [Role::Checker, Role::Worker, Role::Vrrpd]);
    let w = to_worker(&out, WORKER);
    assert!(matches!(w[0], ToWorker::Start { generation: 4, .. }), "{w:?}");
    assert!(w.contains(&ToWorker::ServerAdmin { backend: 0, server: 1, state: AdminState::Maint }), "{w:?}");
    assert!(to_worker(&out, 50).iter().all(|m| !matches!(m, ToWorker::Drain { .. })), "the old worker serves until the new one does");
    let v = to_vrrp(&out, VRRPD);
    assert_eq!(v[0], ToVrrp::Resume(vec![(InstanceId(0), VrrpState::Master)]));
    assert!(matches!(v[1], ToVrrp::Start(_)));

    // The resumed master's first report is no transition: notify_master does not run again.
    let report = FromVrrp::InstanceState { instance: InstanceId(0), state: VrrpState::Master, priority: 100 };
    let out = s.on(Input::FromVrrp { pid: VRRPD, msg: report });
    assert!(!to_checker(&out, CHECKER).iter().any(|m| matches!(m, ToChecker::Notify { .. })), "a notify script ran: {out:?}");

    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 4 } });
    assert!(matches!(to_worker(&out, 50)[..], [ToWorker::Drain { .. }]), "{out:?}");
    assert!(notified(&out).iter().any(|n| n.starts_with("READY=1")));
    assert!(matches!(&answers(&out)[..], [(9, CtlReply::Done(d))] if d.contains("generation 4")), "the upgrade's ctl client: {out:?}");
    // Its stick tables reach the new worker; its exit is the end of a drain, not a crash.
    let tables = FromWorker::StickTables(Vec::new());
    let out = s.on(Input::FromWorker { pid: 50, msg: tables });
    assert_eq!(to_worker(&out, WORKER), [ToWorker::StickTables(Vec::new())]);
    let out = s.exit(50, 0);
    assert!(has_log(&out, "finished draining"), "{:?}", logs(&out));
    assert!(s.advance(Duration::from_secs(5)).iter().all(|o| !matches!(o, Output::Spawn { .. })));
}

#[test]
fn an_unknown_state_version_still_adopts_the_workers_with_a_clean_state() {
    let mut s = Sup::new(config(&["s1", "s2"], ""), true);
    s.p.inherit(inherited(None), s.now);
    let out = s.on(Input::Boot);
    assert!(matches!(to_worker(&out, WORKER)[0], ToWorker::Start { generation: 4, .. }));
    assert!(matches!(to_vrrp(&out, VRRPD)[0], ToVrrp::Start(_)), "no resume without the state");
    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 4 } });
    assert!(matches!(to_worker(&out, 50)[..], [ToWorker::Drain { .. }]));
}

#[test]
fn the_next_checker_starts_from_the_previous_verdicts() {
    let text = r#"(
  global: (),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: ["127.0.0.1:18080"], servers: [
    (name: "s1", addr: "127.0.0.1:9000", check: (inter: "1s")),
    (name: "s2", addr: "127.0.0.1:9001", check: (inter: "1s")),
  ])],
)"#;
    let config = match hakeeper_common::config::load_str("test.ron", text) {
        Ok(l) => l.config,
        Err(e) => panic!("test config: {}", e.report()),
    };
    let mut s = Sup::new(config, false);
    let state = UpgradeState {
        generation: 1,
        server_health: vec![(ServerName::new("web", "s2"), false)],
        proxy_up: true,
        ..UpgradeState::default()
    };
    s.p.inherit(inherited(Some(state)), s.now);
    let out = s.on(Input::Boot);
    let Some(ToChecker::Start(cfg)) = to_checker(&out, CHECKER).into_iter().next() else { panic!("no checker start: {out:?}") };
    let initial: Vec<bool> = cfg.backends[0].servers.iter().map(|sv| sv.check.as_ref().is_some_and(|c| c.initial_up)).collect();
    assert_eq!(initial, [true, false], "s2 starts DOWN in the new checker");
    assert!(
        to_worker(&out, WORKER).contains(&ToWorker::ServerHealth { backend: 0, server: 1, up: false }),
        "the new worker starts with s2 DOWN"
    );
    // The carried state seeds only the first checker: a later restart starts from the config.
    s.exit(CHECKER, 1);
    let out = s.advance(Duration::from_secs(2));
    let Some(ToChecker::Start(cfg)) = to_checker(&out, 102).into_iter().next() else { panic!("no restart: {out:?}") };
    assert!(cfg.backends[0].servers.iter().all(|sv| sv.check.as_ref().is_some_and(|c| c.initial_up)));
}
