//! Input → output tables for `announce`: nothing is announced before a worker serves; a backend
//! below `min_servers_up`, a crash loop and a switchover withdraw; a restarted vrrpd hears the
//! state again; on stop the withdrawal comes first and the worker drains `withdraw_wait` later,
//! even when vrrpd has already exited; `show announce` reports vrrpd's view.

use super::*;
use hakeeper_common::ctl::{CtlReply, CtlRequest};
use hakeeper_common::ipc::{FromChecker, FromVrrp, FromWorker};

const CHECKER: i32 = 100;
const WORKER: i32 = 101;
const VRRPD: i32 = 102;

const RON: &str = r#"(
  global: (worker_crash_limit: (exits: 2, window: "30s", rise: "5s")),
  listen: [(name: "web", bind: ["192.0.2.200:80"], mode: tcp, balance: source,
            servers: [(name: "a", addr: "192.0.2.130:80"), (name: "b", addr: "192.0.2.131:80")])],
  announce: (vips: ["192.0.2.200", "2001:db8::200"], min_servers_up: [(backend: "web", servers: 1)], withdraw_wait: "2s"),
)"#;

struct Sup {
    p: Policy,
    now: Instant,
    next_pid: i32,
}

impl Sup {
    /// Booted as root (checker 100, worker 101, vrrpd 102); the worker has not reported ready.
    fn boot() -> (Sup, Vec<Output>) {
        let config = match hakeeper_common::config::load_str("announce.ron", RON) {
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
        let out = s.on(Input::Boot);
        (s, out)
    }

    fn serving() -> Sup {
        let (mut s, _) = Sup::boot();
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

    fn health(&mut self, server: usize, up: bool) -> Vec<Output> {
        let msg = FromChecker::ServerHealth { backend: 0, server, up, reason: "Layer4 check".into(), duration: Duration::from_millis(1) };
        self.on(Input::FromChecker { pid: CHECKER, msg })
    }

    fn exit(&mut self, pid: i32) -> Vec<Output> {
        self.on(Input::Exited { pid, how: "exited with code 1".into(), code: Some(1) })
    }

    fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        self.on(Input::Timer)
    }
}

/// The `Announce` messages to `to`, in order.
fn announces(out: &[Output], to: i32) -> Vec<bool> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { pid, msg: ToChild::Vrrp(ToVrrp::Announce { on }) } if *pid == to => Some(*on),
            _ => None,
        })
        .collect()
}

fn drains(out: &[Output]) -> usize {
    out.iter().filter(|o| matches!(o, Output::Send { msg: ToChild::Worker(ToWorker::Drain { .. }), .. })).count()
}

fn logs(out: &[Output]) -> String {
    out.iter().filter_map(|o| if let Output::Log { text, .. } = o { Some(text.as_str()) } else { None }).collect::<Vec<_>>().join("\n")
}

#[test]
fn withdrawn_until_the_first_worker_serves_then_announced() {
    let (mut s, out) = Sup::boot();
    assert_eq!(announces(&out, VRRPD), [false], "a new vrrpd hears the state: withdrawn before the worker serves");
    assert!(logs(&out).contains("no worker serves yet"), "{}", logs(&out));
    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 1 } });
    assert_eq!(announces(&out, VRRPD), [true]);
    // Nothing new: nothing sent.
    let out = s.health(0, true);
    assert!(announces(&out, VRRPD).is_empty());
}

#[test]
fn min_servers_up_withdraws_and_restores() {
    let mut s = Sup::serving();
    assert!(announces(&s.health(0, false), VRRPD).is_empty(), "one of two servers is still enough");
    let out = s.health(1, false);
    assert_eq!(announces(&out, VRRPD), [false]);
    assert!(logs(&out).contains("backend web has 0 servers UP, needs 1"), "{}", logs(&out));
    assert_eq!(announces(&s.health(1, true), VRRPD), [true]);
}

#[test]
fn a_crash_loop_withdraws_but_a_single_restart_does_not() {
    let mut s = Sup::serving();
    let out = s.exit(WORKER);
    assert!(announces(&out, VRRPD).is_empty(), "one crash restarts the worker at once: no route flap");
    let out = s.on(Input::Timer);
    assert!(announces(&out, VRRPD).is_empty(), "{}", logs(&out));
    let new_worker = s.next_pid - 1;
    let out = s.exit(new_worker);
    assert_eq!(announces(&out, VRRPD), [false], "{}", logs(&out));
    assert!(logs(&out).contains("proxy DOWN (worker crash loop)"), "{}", logs(&out));
}

#[test]
fn switchover_withdraws_and_switchback_announces() {
    let mut s = Sup::serving();
    let out = s.on(Input::Ctl { id: 1, request: CtlRequest::Switchover });
    assert_eq!(announces(&out, VRRPD), [false], "{out:?}");
    let out = s.on(Input::Ctl { id: 2, request: CtlRequest::Switchback });
    assert_eq!(announces(&out, VRRPD), [true], "{out:?}");
}

#[test]
fn a_restarted_vrrpd_hears_the_state_again() {
    let mut s = Sup::serving();
    s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::Announce { held: true, error: None } });
    s.exit(VRRPD);
    s.now += Duration::from_secs(1);
    let out = s.on(Input::Timer);
    let vrrpd = s.next_pid - 1;
    assert_eq!(announces(&out, vrrpd), [true], "{out:?}");
    let shown = s.on(Input::Ctl { id: 7, request: CtlRequest::ShowAnnounce });
    let Some(Output::CtlAnswer { reply: CtlReply::Announce(rows), .. }) = shown.iter().find(|o| matches!(o, Output::CtlAnswer { .. }))
    else {
        panic!("{shown:?}")
    };
    assert_eq!(rows.len(), 2);
    assert!(!rows[0].held && rows[0].state == "announcing", "the new vrrpd has not confirmed yet: {rows:?}");
}

#[test]
fn stop_withdraws_first_and_drains_after_withdraw_wait() {
    let mut s = Sup::serving();
    let out = s.on(Input::Stop);
    assert!(out.iter().any(|o| matches!(o, Output::Send { pid: VRRPD, msg: ToChild::Vrrp(ToVrrp::Shutdown) })));
    assert_eq!(drains(&out), 0);
    // vrrpd withdrew and exited at once: the worker still serves.
    let out = s.exit(VRRPD);
    assert_eq!(drains(&out), 0, "drained before withdraw_wait");
    assert_eq!(drains(&s.advance(Duration::from_millis(1900))), 0);
    assert_eq!(drains(&s.advance(Duration::from_millis(200))), 1, "drain after withdraw_wait (2 s)");
}

#[test]
fn a_short_withdraw_wait_drains_once_vrrpd_is_gone() {
    let (mut s, _) = Sup::boot();
    let mut config = s.p.config.clone();
    if let Some(a) = config.vrrp.announce.as_mut() {
        a.withdraw_wait = Duration::from_millis(300);
    }
    s.p.config = config;
    s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 1 } });
    s.on(Input::Stop);
    assert_eq!(drains(&s.exit(VRRPD)), 0);
    assert_eq!(drains(&s.advance(Duration::from_millis(200))), 0);
    assert_eq!(drains(&s.advance(Duration::from_millis(150))), 1, "drain at withdraw_wait, not at the VRRP release wait");
}

#[test]
fn show_announce_reports_vrrpds_view() {
    let mut s = Sup::serving();
    let ask = |s: &mut Sup| -> Vec<(bool, String)> {
        let out = s.on(Input::Ctl { id: 3, request: CtlRequest::ShowAnnounce });
        match out.iter().find_map(|o| if let Output::CtlAnswer { reply, .. } = o { Some(reply.clone()) } else { None }) {
            Some(CtlReply::Announce(rows)) => rows.into_iter().map(|r| (r.held, r.state)).collect(),
            other => panic!("{other:?}"),
        }
    };
    s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::Announce { held: true, error: None } });
    assert_eq!(ask(&mut s), [(true, "announced".to_string()), (true, "announced".to_string())]);
    s.health(0, false);
    s.health(1, false);
    s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::Announce { held: false, error: None } });
    assert_eq!(ask(&mut s)[0], (false, "withdrawn (backend web has 0 servers UP, needs 1)".to_string()));
    s.on(Input::FromVrrp { pid: VRRPD, msg: FromVrrp::Announce { held: false, error: Some("cannot create the announce device".into()) } });
    assert!(ask(&mut s)[0].1.starts_with("error: cannot create"));
}

#[test]
fn without_root_nothing_is_announced_and_the_log_says_why() {
    let config = match hakeeper_common::config::load_str("announce.ron", RON) {
        Ok(l) => l.config,
        Err(e) => panic!("{}", e.report()),
    };
    let setup = Setup {
        config,
        foreground: true,
        root: false,
        worker_privs: Privileges::Unprivileged,
        checker_privs: Privileges::Unprivileged,
        parent: 1,
        host: "lb1".into(),
        started_unix: 0,
        watchdog: None,
    };
    let now = Instant::now();
    let mut s = Sup { p: Policy::new(setup, now), now, next_pid: CHECKER };
    let out = s.on(Input::Boot);
    assert!(logs(&out).contains("needs root"), "{}", logs(&out));
    let out = s.on(Input::FromWorker { pid: WORKER, msg: FromWorker::Ready { generation: 1 } });
    assert!(out.iter().all(|o| !matches!(o, Output::Send { msg: ToChild::Vrrp(_), .. })), "{out:?}");
}
