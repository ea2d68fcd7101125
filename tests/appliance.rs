//! End-to-end: `hakeeper run` with real loopback backends and clients. The process split,
//! privilege separation, round-robin forwarding, worker restarts, reload and stop.

mod harness;

use harness::backends::{checksum, connect_and_name, pattern, NamedEcho};
use harness::process::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A TCP listen section in front of `backends`, on `port`.
fn tcp_config(port: u16, backends: &[&NamedEcho], extra_global: &str) -> String {
    let servers: Vec<String> = backends.iter().map(|b| format!("(name: \"{}\", addr: \"{}\")", b.name, b.addr)).collect();
    format!(
        r#"(
  global: (user: "nobody", {extra_global}),
  defaults: (mode: tcp, retries: 3, redispatch: true,
             timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "proxy_status", bind: ["127.0.0.1:{port}"], balance: roundrobin,
            servers: [{}])],
)
"#,
        servers.join(", ")
    )
}

struct Setup {
    dir: TempDir,
    backends: Vec<NamedEcho>,
    port: u16,
    app: Appliance,
}

fn start(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let backends: Vec<NamedEcho> = ["s1", "s2", "s3"].iter().map(|n| NamedEcho::start(n)).collect();
    let port = free_port();
    let refs: Vec<&NamedEcho> = backends.iter().collect();
    std::fs::write(dir.file("hakeeper.ron"), tcp_config(port, &refs, "")).expect("write config");
    let mut app = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    let roles: &[&str] = if is_root() { &["checker", "vrrpd", "worker"] } else { &["checker", "worker"] };
    app.wait_for_children(roles, Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(
        wait_until(Duration::from_secs(5), || connect_and_name(addr).is_ok()),
        "proxy never answered on {addr}; log:\n{}",
        app.log_text()
    );
    Setup { dir, backends, port, app }
}

fn proxy_addr(s: &Setup) -> SocketAddr {
    format!("127.0.0.1:{}", s.port).parse().expect("addr")
}

/// /proc/PID/status fields as (Uid effective, CapEff).
fn uid_and_caps(pid: i32) -> (u32, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_string()).unwrap_or_default();
    let uid = field("Uid:").split_whitespace().nth(1).and_then(|u| u.parse().ok()).expect("euid");
    let caps = u64::from_str_radix(&field("CapEff:"), 16).expect("CapEff");
    (uid, caps)
}

#[test]
fn run_starts_four_processes_with_separated_privileges() {
    if !require_root("run_starts_four_processes_with_separated_privileges") {
        return;
    }
    let mut s = start("privsep");
    let children = s.app.wait_for_children(&["checker", "vrrpd", "worker"], Duration::from_secs(5));
    assert_eq!(children.len(), 3, "supervisor + 3 children: {children:?}");
    let pid_of = |role: &str| children.iter().find(|(r, _)| r == role).map(|(_, p)| *p).expect("role");
    // A child drops its privileges right after exec: give it a moment before looking.
    let net_raw_admin = (1u64 << 12) | (1u64 << 13);
    wait_until(Duration::from_secs(3), || {
        uid_and_caps(pid_of("worker")).0 != 0 && uid_and_caps(pid_of("checker")).0 != 0 && uid_and_caps(pid_of("vrrpd")).1 == net_raw_admin
    });
    let (uid, caps) = uid_and_caps(pid_of("worker"));
    assert_ne!(uid, 0, "worker runs unprivileged");
    assert_eq!(caps, 0, "worker has no effective capabilities");
    let (uid, _) = uid_and_caps(pid_of("checker"));
    assert_ne!(uid, 0, "checker runs unprivileged");
    let (_, caps) = uid_and_caps(pid_of("vrrpd"));
    assert_eq!(caps, net_raw_admin, "vrrpd keeps only CAP_NET_RAW and CAP_NET_ADMIN (CapEff {caps:x})");
    // The worker is chrooted: its root is not the host's.
    let root = std::fs::read_link(format!("/proc/{}/root", pid_of("worker"))).expect("root link");
    assert_ne!(root, std::path::PathBuf::from("/"), "worker is chrooted");
}

#[test]
fn bytes_reach_servers_round_robin_and_return_intact() {
    let s = start("roundrobin");
    let addr = proxy_addr(&s);
    // Six connections over three equal servers: each gets two, in turn.
    let mut names = Vec::new();
    for _ in 0..6 {
        let (_conn, name) = connect_and_name(addr).expect("connect through proxy");
        names.push(name);
    }
    for b in &s.backends {
        assert_eq!(names.iter().filter(|n| **n == b.name).count(), 2, "round robin: {names:?}");
    }
    assert_ne!(names[0], names[1]);
    assert_ne!(names[1], names[2]);

    // 1 MiB each way through one connection, checksummed.
    let (mut conn, _) = connect_and_name(addr).expect("connect");
    let data = pattern(1 << 20, 7);
    let sent = checksum(&data);
    let mut writer = conn.try_clone().expect("clone");
    let t = std::thread::spawn(move || {
        writer.write_all(&data).expect("send 1 MiB");
        writer.shutdown(std::net::Shutdown::Write).expect("half-close");
    });
    let mut back = Vec::new();
    conn.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    conn.read_to_end(&mut back).expect("read echo");
    t.join().expect("writer");
    assert_eq!(back.len(), 1 << 20, "all bytes came back after the half-close");
    assert_eq!(checksum(&back), sent, "bytes intact");
    drop(s.dir);
}

#[test]
fn worker_kill_refuses_no_connection() {
    let mut s = start("workerkill");
    let addr = proxy_addr(&s);
    let old = s.app.child_pid("worker").expect("worker");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    // A client opening connections in a loop across the kill.
    let client = std::thread::spawn(move || {
        let (mut ok, mut refused, mut other) = (0, 0, 0);
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
                Ok(mut c) => {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut b = [0u8; 3];
                    match c.read_exact(&mut b) {
                        Ok(()) => ok += 1,
                        Err(_) => other += 1,
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused += 1,
                Err(_) => other += 1,
            }
        }
        (ok, refused, other)
    });
    std::thread::sleep(Duration::from_millis(300));
    let killed_at = Instant::now();
    signal(old, nix::sys::signal::Signal::SIGKILL);
    let mut new = None;
    let restarted = wait_until(Duration::from_secs(1), || {
        new = s.app.child_pid("worker").filter(|p| *p != old && alive(*p));
        new.is_some()
    });
    let restart_time = killed_at.elapsed();
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, refused, other) = client.join().expect("client");
    assert!(restarted, "a new worker within 1 s of kill -9 (log:\n{})", s.app.log_text());
    eprintln!("worker restarted in {restart_time:?}; client saw {ok} ok, {refused} refused, {other} other");
    assert_eq!(refused, 0, "no refused connections across the worker kill");
    assert!(ok > 10, "the client kept being served ({ok} ok)");
    // Connections in flight on the dead worker may be lost; later ones must all work.
    let (_c, _name) = connect_and_name(addr).expect("served by the new worker");
}

#[test]
fn sighup_with_broken_config_keeps_serving_and_logs_error() {
    let s = start("badreload");
    let addr = proxy_addr(&s);
    let config = s.dir.file("hakeeper.ron");
    std::fs::write(&config, "(\n  global: (maxconn: 10),\n  listen: [(name: \"x\", bind: [\"127.0.0.1:notaport\"])],\n)\n").expect("write");
    signal(s.app.pid, nix::sys::signal::Signal::SIGHUP);
    let needle = format!("{}:3:", config.display());
    assert!(s.app.wait_for_log(&needle, Duration::from_secs(5)), "error with file:line:col logged; log:\n{}", s.app.log_text());
    assert!(s.app.log_text().contains("keeping the running config"));
    for _ in 0..6 {
        connect_and_name(addr).expect("still serving the old config");
    }
}

#[test]
fn sighup_with_good_config_applies_the_change_without_refusals() {
    let s = start("goodreload");
    let addr = proxy_addr(&s);
    let only_s3 = [&s.backends[2]];
    std::fs::write(s.dir.file("hakeeper.ron"), tcp_config(s.port, &only_s3, "")).expect("write");
    signal(s.app.pid, nix::sys::signal::Signal::SIGHUP);
    let applied = wait_until(Duration::from_secs(5), || (0..3).all(|_| matches!(connect_and_name(addr), Ok((_, n)) if n == "s3")));
    assert!(applied, "after reload only s3 serves; log:\n{}", s.app.log_text());
}

#[test]
fn sigterm_ends_every_process_within_5s() {
    let mut s = start("sigterm");
    let children: Vec<i32> = s.app.wait_for_children(&["checker", "worker"], Duration::from_secs(5)).iter().map(|(_, p)| *p).collect();
    // An open client connection must not hold the stop up past the bound.
    let (_held, _) = connect_and_name(proxy_addr(&s)).expect("connect");
    let took = s.app.terminate(Duration::from_secs(5)).expect("supervisor exits within 5 s");
    assert!(wait_until(Duration::from_millis(200), || children.iter().all(|p| !alive(*p))), "every child gone");
    eprintln!("stopped in {took:?}");
}

#[test]
fn checker_marks_a_dead_server_down_and_the_worker_stops_using_it() {
    let dir = TempDir::new("checkdown");
    let s1 = NamedEcho::start("s1");
    let s2 = NamedEcho::start("s2");
    // s2 is a server that stops listening: bind a port, then close it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, retries: 0, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "p", bind: ["127.0.0.1:{port}"], balance: roundrobin,
            servers: [(name: "s1", addr: "{}", check: (inter: "200ms", fall: 2, rise: 1)),
                      (name: "s2", addr: "{dead_addr}", check: (inter: "200ms", fall: 2, rise: 1))])],
)
"#,
        s1.addr
    );
    std::fs::write(dir.file("h.ron"), config).expect("write");
    let mut app = Appliance::start(&dir.file("h.ron"), &dir.file("h.log"));
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    drop(dead);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    // Within fall x inter (+ margin) the checker reports DOWN and every new connection goes to s1.
    assert!(app.wait_for_log("Server p/s2 is DOWN", Duration::from_secs(3)), "checker log line; log:\n{}", app.log_text());
    // The checker's word reaches the worker through the supervisor a moment later.
    let settled = wait_until(Duration::from_secs(2), || (0..3).all(|_| matches!(connect_and_name(addr), Ok((_, n)) if n == "s1")));
    assert!(settled, "the worker stopped using the DOWN server; log:\n{}", app.log_text());
    for _ in 0..10 {
        let (_c, name) = connect_and_name(addr).expect("served by the live server");
        assert_eq!(name, "s1");
    }
    // The server comes back: UP after `rise` successes, and it is used again.
    let revived = std::net::TcpListener::bind(dead_addr).expect("rebind the dead server's port");
    assert!(app.wait_for_log("Server p/s2 is UP", Duration::from_secs(3)), "UP again; log:\n{}", app.log_text());
    drop(revived);
    drop(s2);
}

/// Connects to `addr` from the loopback address `src` (a distinct client for the stick table).
fn name_from(src: &str, addr: SocketAddr) -> String {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    let local: std::net::SocketAddrV4 = format!("{src}:0").parse().expect("source");
    bind(fd.as_raw_fd(), &SockaddrIn::from(local)).expect("bind source");
    let SocketAddr::V4(remote) = addr else { panic!("IPv4 only") };
    connect(fd.as_raw_fd(), &SockaddrIn::from(remote)).expect("connect");
    let mut s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut name = Vec::new();
    let mut byte = [0u8; 1];
    while s.read(&mut byte).expect("read name") == 1 && byte[0] != b'\n' {
        name.push(byte[0]);
    }
    String::from_utf8_lossy(&name).into_owned()
}

#[test]
fn stick_table_survives_a_reload() {
    let dir = TempDir::new("stickreload");
    let s1 = NamedEcho::start("s1");
    let s2 = NamedEcho::start("s2");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "p", bind: ["127.0.0.1:{port}"], balance: roundrobin, stick: (expire: "60s"),
            servers: [(name: "s1", addr: "{}"), (name: "s2", addr: "{}")])],
)
"#,
        s1.addr, s2.addr
    );
    std::fs::write(dir.file("h.ron"), &config).expect("write");
    let mut app = Appliance::start(&dir.file("h.ron"), &dir.file("h.log"));
    app.wait_for_children(&["worker"], Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(wait_until(Duration::from_secs(5), || TcpStream::connect(addr).is_ok()), "proxy up; log:\n{}", app.log_text());
    // Eight clients (distinct source addresses), spread over both servers by the balancer.
    let clients: Vec<(String, String)> = (2..10).map(|i| format!("127.0.0.{i}")).map(|src| (src.clone(), name_from(&src, addr))).collect();
    assert!(clients.iter().any(|(_, n)| n == "s1") && clients.iter().any(|(_, n)| n == "s2"), "both servers used: {clients:?}");
    for (src, name) in &clients {
        assert_eq!(&name_from(src, addr), name, "the stick table keeps {src} on its server");
    }
    signal(app.pid, nix::sys::signal::Signal::SIGHUP);
    assert!(app.wait_for_log("stick-table entries from the previous worker", Duration::from_secs(10)), "log:\n{}", app.log_text());
    // The new worker's balancer starts over; the adopted entries win, in reverse order too.
    for (src, name) in clients.iter().rev() {
        assert_eq!(&name_from(src, addr), name, "{src} stays on its server across the reload");
    }
}

#[test]
fn a_server_configured_initially_down_gets_traffic_only_after_rise_checks() {
    let dir = TempDir::new("initialdown");
    let s1 = NamedEcho::start("s1");
    let s2 = NamedEcho::start("s2");
    let port = free_port();
    let config = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "p", bind: ["127.0.0.1:{port}"], balance: roundrobin,
            servers: [(name: "s1", addr: "{}"),
                      (name: "s2", addr: "{}", check: (inter: "1s", rise: 3, initial: down))])],
)
"#,
        s1.addr, s2.addr
    );
    std::fs::write(dir.file("h.ron"), config).expect("write");
    let mut app = Appliance::start(&dir.file("h.ron"), &dir.file("h.log"));
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(wait_until(Duration::from_secs(5), || connect_and_name(addr).is_ok()), "proxy up; log:\n{}", app.log_text());
    // Three passing checks at 1 s take over 2 s: until then only s1 serves.
    for _ in 0..6 {
        let (_c, name) = connect_and_name(addr).expect("served");
        assert_eq!(name, "s1", "s2 starts DOWN; log:\n{}", app.log_text());
    }
    assert!(app.wait_for_log("Server p/s2 is UP", Duration::from_secs(6)), "s2 comes UP after rise checks; log:\n{}", app.log_text());
    let served = wait_until(Duration::from_secs(2), || matches!(connect_and_name(addr), Ok((_, n)) if n == "s2"));
    assert!(served, "s2 gets traffic once UP");
}

/// What systemd would read from the notification socket, datagram by datagram.
struct NotifySocket(std::os::unix::net::UnixDatagram);

impl NotifySocket {
    /// Datagrams received within `within` until `done` holds for what arrived.
    fn collect(&self, within: Duration, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let mut got = Vec::new();
        let end = Instant::now() + within;
        let mut buf = [0u8; 4096];
        while Instant::now() < end && !done(&got) {
            if let Ok(n) = self.0.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        got
    }
}

#[test]
fn under_systemd_readiness_reloads_status_stopping_and_a_watchdog_fed_only_while_children_answer() {
    let dir = TempDir::new("sdnotify");
    let backend = NamedEcho::start("s1");
    let port = free_port();
    std::fs::write(dir.file("hakeeper.ron"), tcp_config(port, &[&backend], "")).expect("write config");
    let path = dir.file("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let sock = NotifySocket(sock);
    // WatchdogSec=0.6s: a ping round every 300 ms.
    let env = [("NOTIFY_SOCKET", path.to_str().expect("utf8").to_string()), ("WATCHDOG_USEC", "600000".to_string())];
    let mut app = Appliance::start_with_env(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"), &env);
    let has = |msgs: &[String], needle: &str| msgs.iter().any(|m| m.contains(needle));

    let got = sock.collect(Duration::from_secs(10), |m| has(m, "READY=1"));
    let ready = got.iter().find(|m| m.contains("READY=1")).unwrap_or_else(|| panic!("no READY=1: {got:?}\nlog:\n{}", app.log_text()));
    assert!(ready.contains("STATUS=serving generation 1"), "{ready:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok(), "READY=1 came once the listeners were bound");
    let roles: &[&str] = if is_root() { &["checker", "vrrpd", "worker"] } else { &["checker", "worker"] };
    let children = app.wait_for_children(roles, Duration::from_secs(10));
    for (role, pid) in &children {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&environ).contains("NOTIFY_SOCKET"), "the {role} inherited NOTIFY_SOCKET");
    }
    let fed = sock.collect(Duration::from_millis(1500), |_| false);
    assert!(fed.iter().filter(|m| m.as_str() == "WATCHDOG=1").count() >= 3, "watchdog fed every 300 ms: {fed:?}");

    // A reload: RELOADING=1 with the monotonic clock, then READY=1 for the new generation.
    signal(app.pid, nix::sys::signal::Signal::SIGHUP);
    let got = sock.collect(Duration::from_secs(10), |m| has(m, "serving generation 2"));
    let reloading = got.iter().find(|m| m.starts_with("RELOADING=1\n")).unwrap_or_else(|| panic!("no RELOADING=1: {got:?}"));
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");
    assert!(got.iter().any(|m| m.starts_with("READY=1\n") && m.contains("serving generation 2")), "{got:?}");

    // A wedged worker (stopped, so it answers no ping): the watchdog starves, then recovers.
    std::thread::sleep(Duration::from_millis(500));
    let worker = app.child_pid("worker").expect("a worker");
    signal(worker, nix::sys::signal::Signal::SIGSTOP);
    let _ = sock.collect(Duration::from_millis(700), |_| false);
    let starved = sock.collect(Duration::from_millis(1200), |_| false);
    signal(worker, nix::sys::signal::Signal::SIGCONT);
    assert!(!starved.iter().any(|m| m == "WATCHDOG=1"), "fed while the worker was stopped: {starved:?}");
    let resumed = sock.collect(Duration::from_secs(3), |m| m.iter().any(|x| x == "WATCHDOG=1"));
    assert!(resumed.iter().any(|m| m == "WATCHDOG=1"), "not fed again once the worker answers: {resumed:?}");

    signal(app.pid, nix::sys::signal::Signal::SIGTERM);
    let got = sock.collect(Duration::from_secs(5), |m| has(m, "STOPPING=1"));
    assert!(has(&got, "STOPPING=1"), "{got:?}");
    assert!(app.terminate(Duration::from_secs(6)).is_some(), "stopped");
}

#[test]
fn ctl_reload_answers_with_the_outcome_and_its_exit_status_says_which() {
    let dir = TempDir::new("ctlreload");
    let backends: Vec<NamedEcho> = ["s1", "s2"].iter().map(|n| NamedEcho::start(n)).collect();
    let port = free_port();
    let ctl = dir.file("ctl.sock");
    let global = format!("ctl_socket: \"{}\"", ctl.display());
    let config = dir.file("hakeeper.ron");
    std::fs::write(&config, tcp_config(port, &[&backends[0], &backends[1]], &global)).expect("write config");
    let mut app = Appliance::start(&config, &dir.file("hakeeper.log"));
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(wait_until(Duration::from_secs(5), || connect_and_name(addr).is_ok()), "log:\n{}", app.log_text());
    let socket = ctl.to_str().expect("utf8");

    // A good config: the answer comes once the new worker serves it.
    std::fs::write(&config, tcp_config(port, &[&backends[1]], &global)).expect("write config");
    let (code, out, err) = run_cli(&["ctl", "--socket", socket, "reload"], Duration::from_secs(15));
    assert_eq!(code, 0, "stdout {out}\nstderr {err}\nlog:\n{}", app.log_text());
    assert!(out.contains("configuration generation 2 loaded and serving"), "{out}");
    for _ in 0..3 {
        assert_eq!(connect_and_name(addr).expect("served").1, "s2", "the new config serves when the answer comes");
    }

    // A broken one: the errors with file:line:col, exit status 1, the running config stays.
    std::fs::write(&config, "(\n  global: (maxconn: 10),\n  listen: [(name: \"x\", bind: [\"127.0.0.1:notaport\"])],\n)\n").expect("write");
    let (code, out, err) = run_cli(&["ctl", "--socket", socket, "reload"], Duration::from_secs(15));
    assert_eq!(code, 1, "stdout {out}\nstderr {err}");
    let text = format!("{out}{err}");
    assert!(text.contains("reload refused") && text.contains(&format!("{}:3:", config.display())), "{text}");
    assert_eq!(connect_and_name(addr).expect("still served").1, "s2");
}
