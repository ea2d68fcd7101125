//! End-to-end: a child that stops reading its channel (SIGSTOP) while the supervisor has a lot
//! to tell it never stalls the supervisor: it still reaps and restarts the other children,
//! answers `hakeeper ctl`, kills the wedged child once its outbox passes the bound (and restarts
//! it), and stops within 5 s on SIGTERM.

mod harness;

use harness::backends::{connect_and_name, NamedEcho};
use harness::process::*;
use nix::sys::signal::Signal;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn config(port: u16, backend: &NamedEcho, ctl: &Path) -> String {
    format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{}"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "p", bind: ["127.0.0.1:{port}"], balance: roundrobin,
            servers: [(name: "{}", addr: "{}")])],
)
"#,
        ctl.display(),
        backend.name,
        backend.addr
    )
}

/// Each flood request leaves a connection open in the supervisor until its 5 s ctl timeout:
/// room for them (the soft limit raised to the hard one, inherited by the supervisor).
fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(hard >= 10_000, "RLIMIT_NOFILE hard limit {hard}: the flood needs about 7,000 descriptors in the supervisor");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    }
}

/// Sends `count` `show info` requests without waiting for their answers (the supervisor forwards
/// each to the worker), within `within` or the test fails.
fn flood(ctl: &Path, count: usize, within: Duration) {
    let path: PathBuf = ctl.to_path_buf();
    let start = Instant::now();
    let handle = std::thread::spawn(move || {
        for _ in 0..count {
            let mut s = std::os::unix::net::UnixStream::connect(&path).expect("connect to the ctl socket");
            s.write_all(b"show info\n").expect("send");
        }
    });
    assert!(wait_until(within, || handle.is_finished()), "the supervisor stopped taking ctl requests");
    handle.join().expect("flood");
    eprintln!("sent {count} ctl requests in {:?}", start.elapsed());
}

fn other_child(app: &mut Appliance, role: &str, not: i32, within: Duration) -> Option<i32> {
    let mut found = None;
    wait_until(within, || {
        found = app.child_pid(role).filter(|p| *p != not && alive(*p));
        found.is_some()
    });
    found
}

#[test]
fn a_wedged_child_never_stalls_the_supervisor() {
    raise_nofile();
    let dir = TempDir::new("wedged");
    let backend = NamedEcho::start("s1");
    let port = free_port();
    let ctl = dir.file("ctl.sock");
    std::fs::write(dir.file("hakeeper.ron"), config(port, &backend, &ctl)).expect("write config");
    let mut app = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(wait_until(Duration::from_secs(5), || connect_and_name(addr).is_ok()), "log:\n{}", app.log_text());
    let socket = ctl.to_str().expect("utf8").to_string();

    // 1. The worker stops reading; the supervisor has 3,000 requests for it: far more than its
    //    socket buffer holds, fewer than the outbox bound (4,096 + 8 per server).
    let worker = app.child_pid("worker").expect("worker");
    signal(worker, Signal::SIGSTOP);
    flood(&ctl, 3000, Duration::from_secs(10));
    // It still reaps and restarts another child...
    let checker = app.child_pid("checker").expect("checker");
    let t = Instant::now();
    signal(checker, Signal::SIGKILL);
    let restarted = other_child(&mut app, "checker", checker, Duration::from_secs(5));
    assert!(restarted.is_some(), "the checker was not restarted while the worker is wedged; log:\n{}", app.log_text());
    eprintln!("checker reaped and restarted in {:?} with the worker wedged", t.elapsed());
    // ...and answers what it answers itself (no VRRP here, so a switchover is refused at once).
    let t = Instant::now();
    let (code, out, err) = run_cli(&["ctl", "--socket", &socket, "switchover"], Duration::from_secs(5));
    assert!(code != 0 && format!("{out}{err}").contains("no VRRP instance runs on this host"), "{code} {out} {err}");
    eprintln!("ctl answered in {:?} with the worker wedged", t.elapsed());
    assert!(alive(worker), "below the bound the wedged worker is left alone");

    // 2. Past the bound: the wedged worker is killed (not waited on) and restarted.
    let t = Instant::now();
    flood(&ctl, 3000, Duration::from_secs(10));
    let needle = format!("worker (pid {worker}) stopped reading its channel");
    assert!(app.wait_for_log(&needle, Duration::from_secs(5)), "no kill for the wedged worker; log:\n{}", app.log_text());
    if let Some(line) = app.log_text().lines().find(|l| l.contains(&needle)) {
        eprintln!("{line}");
    }
    let replacement = other_child(&mut app, "worker", worker, Duration::from_secs(5)).expect("a new worker");
    assert!(wait_until(Duration::from_secs(5), || !alive(worker)), "the wedged worker is gone");
    assert!(wait_until(Duration::from_secs(5), || connect_and_name(addr).is_ok()), "the new worker serves");
    eprintln!("wedged worker killed and replaced (pid {replacement}), serving {:?} after the flood began", t.elapsed());
    let (code, out, err) = run_cli(&["ctl", "--socket", &socket, "show", "info"], Duration::from_secs(10));
    assert_eq!(code, 0, "the new worker answers ctl: {out} {err}\nlog:\n{}", app.log_text());

    // 3. SIGTERM while a worker is wedged with a full socket buffer: stopped within 5 s.
    signal(replacement, Signal::SIGSTOP);
    flood(&ctl, 1000, Duration::from_secs(10));
    let children: Vec<i32> = children_of(app.pid).iter().map(|(_, p)| *p).collect();
    let took = app.terminate(Duration::from_secs(5));
    assert!(took.is_some(), "the supervisor did not stop within 5 s; log:\n{}", app.log_text());
    assert!(wait_until(Duration::from_millis(500), || children.iter().all(|p| !alive(*p))), "every child gone");
    eprintln!("stopped in {:?} with a wedged worker", took.unwrap_or_default());
}
