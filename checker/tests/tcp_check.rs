//! TCP connect checks against real loopback listeners: HAProxy's rise/fall timing and its
//! `timeout check` split, seen from the messages the supervisor gets.

mod support;

use hakeeper_common::config::HealthCheck;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use support::*;

/// A listener that accepts (and drops) connections until stopped. TCP checks end with SYN,
/// SYN-ACK, RST (delayed ACK, as HAProxy's), so it usually has nothing to accept: the checks
/// are counted by their timing instead.
struct Listener {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start(addr: SocketAddr) -> Listener {
        let listener = TcpListener::bind(addr).expect("bind backend");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if listener.accept().is_err() {
                    std::thread::sleep(ms(2));
                }
            }
        });
        Listener { addr, stop, thread: Some(thread) }
    }

    /// Stops listening: later connections are refused.
    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn backend_that_stops_listening_is_down_after_fall_checks_and_up_after_rise() {
    let inter = ms(300);
    let (rise, fall) = (2u32, 3u32);
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let listener = Listener::start(addr);
    // web2 has no check: it stays UP and counts in "N active servers".
    let servers = vec![server("web1", addr, Some(check(inter, rise, fall, port))), server("web2", addr, None)];
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("webserver", HealthCheck::Tcp, servers)]));

    // Servers start UP: while the backend listens, nothing is reported.
    assert_eq!(checker.recv(ms(800)), None, "no transition while the server answers");

    let stopped = Instant::now();
    listener.stop();
    let (b, s, up, reason, _, at) = checker.server_change(ms(3000)).expect("DOWN after the listener stopped");
    assert_eq!((b, s, up), (0, 0, false));
    assert_eq!(reason, "Layer4 connection problem, info: \"Connection refused\"");
    // `fall` failed checks: the first within one inter of the stop, then fall - 1 more, one inter apart.
    let took = at - stopped;
    let earliest = inter * (fall - 1);
    assert!(took >= earliest - ms(30), "DOWN after {took:?}, before {fall} checks could have failed");
    assert!(took <= earliest + inter + ms(250), "DOWN after {took:?}, more than one inter late");
    let lines = logged("Server webserver/web1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: ");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("WARN: "), "{}", lines[0]);
    assert!(lines[0].ends_with("ms. 1 active and 0 backup servers left."), "{}", lines[0]);

    let restarted = Instant::now();
    let _listener = Listener::start(addr);
    let (_, _, up, reason, _, at) = checker.server_change(ms(3000)).expect("UP after the listener came back");
    assert!(up);
    assert_eq!(reason, "Layer4 check passed");
    let took = at - restarted;
    let earliest = inter * (rise - 1);
    assert!(took >= earliest - ms(30), "UP after {took:?}, before {rise} checks could have passed");
    assert!(took <= earliest + inter + ms(250), "UP after {took:?}, more than one inter late");
    let lines = logged("Server webserver/web1 is UP, reason: Layer4 check passed, check duration: ");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with("ms. 2 active and 0 backup servers online."), "{}", lines[0]);
    checker.stop();
}

#[test]
fn first_failure_after_start_marks_the_server_down() {
    // fall 3, but a server starts at counter = rise: one failure is enough (SEMANTICS.md).
    let port = refused_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut c = check(ms(200), 2, 3, port);
    c.fastinter = ms(2000);
    let started = Instant::now();
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("first", HealthCheck::Tcp, vec![server("s1", addr, Some(c))])]));
    let (_, _, up, _, _, at) = checker.server_change(ms(1500)).expect("DOWN");
    assert!(!up);
    assert!(at - started < ms(600), "DOWN after {:?}: more than one check was needed", at - started);
    assert!(!logged("backend first has no server available!").is_empty());
    checker.stop();
}

/// A listener whose accept queue is full: further SYNs are dropped, connects hang.
fn black_hole() -> (SocketAddr, Vec<std::net::TcpStream>, OwnedSocket) {
    use nix::sys::socket::{bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn};
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind");
    listen(&fd, Backlog::new(0).expect("backlog")).expect("listen");
    let local: SockaddrIn = nix::sys::socket::getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).expect("getsockname");
    let addr: SocketAddr = format!("127.0.0.1:{}", local.port()).parse().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&addr, ms(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (addr, fillers, OwnedSocket(fd))
}

struct OwnedSocket(#[allow(dead_code)] std::os::fd::OwnedFd);

#[test]
fn connect_timeout_is_inter_or_min_of_timeout_connect_and_inter() {
    let (addr, _fillers, _hole) = black_hole();
    let inter = ms(500);
    // Without `timeout check`: inter bounds the check.
    let plain = backend("plain", HealthCheck::Tcp, vec![server("s", addr, Some(check(inter, 2, 3, addr.port())))]);
    // With it: the connect may take min(timeout connect, inter).
    let mut split = backend("split", HealthCheck::Tcp, vec![server("s", addr, Some(check(inter, 2, 3, addr.port())))]);
    split.timeout_connect = ms(150);
    split.timeout_check = Some(ms(2000));
    let mut checker = CheckerUnderTest::start(backends_only(vec![plain, split]));
    let mut seen = std::collections::HashMap::new();
    while seen.len() < 2 {
        let (b, _, up, reason, duration, _) = checker.server_change(ms(3000)).expect("both time out");
        assert!(!up);
        assert_eq!(reason, "Layer4 timeout");
        seen.insert(b, duration);
    }
    let plain = seen[&0];
    let split = seen[&1];
    assert!(plain >= inter && plain < inter + ms(200), "plain check lasted {plain:?}");
    assert!(split >= ms(150) && split < ms(350), "split check lasted {split:?}");
    checker.stop();
}

#[test]
fn many_servers_share_one_loop_and_every_one_is_reported() {
    // 40 servers, half of them on a dead port: one DOWN message each, nothing for the others.
    let live = Listener::start("127.0.0.1:0".parse().unwrap());
    let live_addr = live.addr;
    let dead_port = refused_port();
    let mut servers = Vec::new();
    for i in 0..40 {
        let port = if i % 2 == 0 { live_addr.port() } else { dead_port };
        servers.push(server(&format!("s{i}"), format!("127.0.0.1:{port}").parse().unwrap(), Some(check(ms(200), 2, 3, port))));
    }
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("many", HealthCheck::Tcp, servers)]));
    let mut down = std::collections::BTreeSet::new();
    while let Some((_, s, up, _, _, _)) = checker.server_change(ms(800)) {
        assert!(!up);
        assert!(down.insert(s), "server {s} reported twice");
    }
    let expected: std::collections::BTreeSet<usize> = (0..40).filter(|i| i % 2 == 1).collect();
    assert_eq!(down, expected);
    // The live ones were being checked all along: they go DOWN when their backend does.
    live.stop();
    let mut down = std::collections::BTreeSet::new();
    while down.len() < 20 {
        let (_, s, up, _, _, _) = checker.server_change(ms(2000)).expect("every live server goes DOWN");
        assert!(!up);
        assert!(down.insert(s), "server {s} reported twice");
    }
    let expected: std::collections::BTreeSet<usize> = (0..40).filter(|i| i % 2 == 0).collect();
    assert_eq!(down, expected);
    checker.stop();
}

#[test]
fn a_healthy_servers_last_check_is_told_when_it_changes_not_at_every_check() {
    let inter = ms(200);
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _listener = Listener::start(addr);
    let servers = vec![server("web1", addr, Some(check(inter, 2, 3, port)))];
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("webserver", HealthCheck::Tcp, servers)]));
    // About seven checks pass: the first verdict is told (the stats page shows L4OK), the same
    // verdict again only after 10 s.
    assert_eq!(checker.recv(ms(1500)), None, "no transition");
    assert_eq!(checker.results, vec![(0, 0, "Layer4 check passed".to_string())]);
}
