//! Benchmark (by hand, not in CI): the CPU cost of 1,000 TCP checks at `inter 1s`.
//!
//! Run with `cargo bench -p hakeeper-checker --bench tcp_checks` (BENCH_SERVERS and BENCH_SECONDS
//! change the defaults of 1000 servers and 10 s). The checker runs in a child process of its own,
//! as in production; its CPU time is read from /proc/PID/stat before and after the measured
//! window. The target is under 5% of one core.
//!
//! On loopback the kernel work of both ends of every connection (the server's SYN handling, the
//! reset) is charged to the checker, so the bench also measures a floor: a bare loop doing only
//! the same socket / connect / close calls at the same rate, without any event loop. The
//! checker's own overhead is the difference.
//!
//! In the same run HAProxy (`/usr/sbin/haproxy`, or BENCH_HAPROXY; 2.6 from Debian) checks the
//! same loopback targets with one backend of as many `server … check inter 1s` lines, one thread
//! (`nbthread 1`: the checker is one thread too), and the bench prints the ratio of CPU used.
//! Without HAProxy installed that part is skipped.

use hakeeper_common::config::{Backend, Balance, Check, HashType, HealthCheck, Mode, Server};
use hakeeper_common::ipc::{send, CheckerConfig, FrameReader, FromChecker, ReadOutcome, ToChecker};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD_ARG: &str = "--checker-child";
const FLOOR_ARG: &str = "--floor-child";
const FLOOR_ADDRS: &str = "BENCH_FLOOR_ADDRS";
const SERVERS_PER_LISTENER: usize = 100;

fn main() {
    if std::env::args().any(|a| a == CHILD_ARG) {
        // SAFETY: the parent put our end of the socketpair on descriptor 3 before exec.
        let channel = unsafe { OwnedFd::from_raw_fd(3) };
        if let Err(e) = hakeeper_checker::run(channel) {
            eprintln!("checker: {e}");
            std::process::exit(1);
        }
        return;
    }
    let servers: usize = env_number("BENCH_SERVERS", 1000);
    if std::env::args().any(|a| a == FLOOR_ARG) {
        floor_loop(servers);
        return;
    }
    let seconds: u64 = env_number("BENCH_SECONDS", 10);
    let inter = Duration::from_secs(1);

    let accepted = Arc::new(AtomicU64::new(0));
    let mut addrs = Vec::new();
    for _ in 0..servers.div_ceil(SERVERS_PER_LISTENER) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        addrs.push(listener.local_addr().expect("addr"));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if conn.is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let list: Vec<Server> = (0..servers)
        .map(|i| {
            let addr: SocketAddr = addrs[i / SERVERS_PER_LISTENER];
            let check = Check { inter, fastinter: inter, downinter: inter, rise: 2, fall: 3, port: addr.port(), initial_up: true };
            Server {
                name: format!("s{i}"),
                id: i as u32 + 1,
                addr,
                weight: 1,
                maxconn: 0,
                backup: false,
                disabled: false,
                cookie: None,
                check: Some(check),
                pool: Default::default(),
                send_proxy: None,
                check_send_proxy: false,
                proxy_v2: Default::default(),
                tls: None,
                check_tls: None,
            }
        })
        .collect();
    let backend = Backend {
        name: "bench".into(),
        mode: Mode::Tcp,
        balance: Balance::Roundrobin,
        hash_type: HashType::MapBased,
        retries: 3,
        redispatch: false,
        abortonclose: false,
        allbackups: false,
        timeout_connect: Duration::from_secs(5),
        timeout_server: Duration::from_secs(50),
        timeout_queue: Duration::from_secs(5),
        timeout_check: None,
        stick: None,
        health_check: HealthCheck::Tcp,
        servers: list,
    };

    let (parent, child) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::empty()).expect("socketpair");
    let child_fd = child.as_raw_fd();
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.arg(CHILD_ARG);
    // SAFETY: dup2 is async-signal-safe; it puts the child's channel on the agreed descriptor.
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::dup2(child_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut checker = cmd.spawn().expect("start the checker");
    drop(child);
    let pid = checker.id();
    let config = CheckerConfig { backends: vec![backend], scripts: Vec::new(), script_user: None, enable_script_security: false };
    send(parent.as_fd(), &ToChecker::Start(config), &[]).expect("send Start");

    // The first checks are spread over one inter; let the loop settle first.
    std::thread::sleep(inter * 2);
    let opens = active_opens();
    let (checker_cpu, elapsed) = measure(pid, Duration::from_secs(seconds));
    let checks = (active_opens() - opens) as f64 / elapsed.as_secs_f64();
    let transitions = drain(&parent);
    let _ = send(parent.as_fd(), &ToChecker::Stop, &[]);
    let _ = checker.wait();
    let served = accepted.load(Ordering::Relaxed);

    let haproxy = haproxy_run(&addrs, servers, Duration::from_secs(seconds));

    let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let mut floor = Command::new(std::env::current_exe().expect("own path"))
        .arg(FLOOR_ARG)
        .env(FLOOR_ADDRS, list.join(","))
        .spawn()
        .expect("start the floor loop");
    std::thread::sleep(Duration::from_secs(1));
    let (floor_cpu, floor_elapsed) = measure(floor.id(), Duration::from_secs(seconds));
    let _ = floor.kill();
    let _ = floor.wait();

    let share = |(user, system): (f64, f64), window: Duration| 100.0 * (user + system) / window.as_secs_f64();
    let checker_share = share(checker_cpu, elapsed);
    let floor_share = share(floor_cpu, floor_elapsed);
    println!("servers: {servers}, inter: {inter:?}, window: {:.1} s", elapsed.as_secs_f64());
    // TCP checks end with SYN, SYN-ACK, RST (delayed ACK, as HAProxy), so backends accept nothing.
    println!("checks made: {checks:.0}/s (TCP active opens, system-wide; expected {servers}/s)");
    println!("connections the backends had to accept: {served} (expected 0)");
    println!("state changes reported: {transitions} (expected 0: every server stays UP)");
    println!("checker CPU: user {:.2} s + system {:.2} s = {checker_share:.2}% of one core (target < 5%)", checker_cpu.0, checker_cpu.1);
    println!("kernel floor (same connects, no event loop): {floor_share:.2}% of one core");
    println!("checker overhead above the floor: {:.2}% of one core", checker_share - floor_share);
    match haproxy {
        Some(h) => {
            let haproxy_share = share(h.cpu, h.elapsed);
            println!(
                "HAProxy ({}) on the same targets: {:.0} checks/s, user {:.2} s + system {:.2} s = {haproxy_share:.2}% of one core",
                h.version, h.checks, h.cpu.0, h.cpu.1
            );
            println!(
                "CPU ratio hakeeper / HAProxy: {:.2} (above the floor: {:.2})",
                checker_share / haproxy_share,
                (checker_share - floor_share) / (haproxy_share - floor_share)
            );
        }
        None => println!("HAProxy comparison skipped: no haproxy binary (set BENCH_HAPROXY)"),
    }
    if checker_share >= 5.0 || transitions != 0 {
        std::process::exit(1);
    }
}

/// What HAProxy used for the same checks.
struct HaproxyRun {
    version: String,
    cpu: (f64, f64),
    elapsed: Duration,
    checks: f64,
}

/// Runs HAProxy checking `servers` servers spread over `addrs` at inter 1s, measures it over
/// `window` after the same settling time as the checker, and stops it (by its PID).
fn haproxy_run(addrs: &[SocketAddr], servers: usize, window: Duration) -> Option<HaproxyRun> {
    let binary = std::env::var("BENCH_HAPROXY").unwrap_or_else(|_| "/usr/sbin/haproxy".into());
    let version = Command::new(&binary).arg("-v").output().ok()?;
    let version = String::from_utf8_lossy(&version.stdout).split_whitespace().nth(2).unwrap_or("?").to_string();
    let mut cfg = String::from(
        "global\n    nbthread 1\n    maxconn 4096\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 50s\n    \
         timeout server 50s\n",
    );
    // HAProxy refuses to run without a listener: one on a free loopback port, never used.
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
    cfg.push_str(&format!("frontend unused\n    bind 127.0.0.1:{port}\n    default_backend bench\nbackend bench\n"));
    for i in 0..servers {
        cfg.push_str(&format!("    server s{i} {} check inter 1s\n", addrs[i / SERVERS_PER_LISTENER]));
    }
    let path = std::env::temp_dir().join(format!("hakeeper-bench-haproxy-{}.cfg", std::process::id()));
    std::fs::write(&path, cfg).expect("write the HAProxy config");
    let mut haproxy = Command::new(&binary).arg("-db").arg("-q").arg("-f").arg(&path).spawn().expect("start HAProxy");
    std::thread::sleep(Duration::from_secs(2));
    if let Ok(Some(status)) = haproxy.try_wait() {
        eprintln!("HAProxy exited at start ({status}); comparison skipped");
        let _ = std::fs::remove_file(&path);
        return None;
    }
    let opens = active_opens();
    let (cpu, elapsed) = measure(haproxy.id(), window);
    let checks = (active_opens() - opens) as f64 / elapsed.as_secs_f64();
    let _ = haproxy.kill();
    let _ = haproxy.wait();
    let _ = std::fs::remove_file(&path);
    Some(HaproxyRun { version, cpu, elapsed, checks })
}

/// The kernel's count of outgoing TCP connection attempts (/proc/net/snmp, Tcp ActiveOpens).
fn active_opens() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").expect("read /proc/net/snmp");
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (names, values) = (tcp.next().unwrap_or(""), tcp.next().unwrap_or(""));
    let at = names.split_whitespace().position(|n| n == "ActiveOpens").expect("ActiveOpens column");
    values.split_whitespace().nth(at).and_then(|v| v.parse().ok()).expect("ActiveOpens value")
}

/// CPU seconds (user, system) `pid` used during `window`.
fn measure(pid: u32, window: Duration) -> ((f64, f64), Duration) {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { nix::libc::sysconf(nix::libc::_SC_CLK_TCK) }.max(1) as f64;
    let (start, t0) = (cpu_split(pid), Instant::now());
    std::thread::sleep(window);
    let (end, elapsed) = (cpu_split(pid), t0.elapsed());
    (((end.0 - start.0) as f64 / hz, (end.1 - start.1) as f64 / hz), elapsed)
}

/// The floor: `rate` non-blocking connects a second, opened and reset exactly as the checker
/// does (SO_LINGER 0, TCP_QUICKACK 0), in batches every 10 ms, with nothing else.
fn floor_loop(rate: usize) {
    use nix::sys::socket::{connect, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
    let addrs: Vec<SocketAddr> = std::env::var(FLOOR_ADDRS).unwrap_or_default().split(',').filter_map(|a| a.parse().ok()).collect();
    assert!(!addrs.is_empty(), "{FLOOR_ADDRS} names no address");
    let batch = (rate / 100).max(1);
    let mut next = Instant::now();
    let mut k = 0usize;
    loop {
        for _ in 0..batch {
            let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None).expect("socket");
            let _ = setsockopt(&fd, sockopt::Linger, &nix::libc::linger { l_onoff: 1, l_linger: 0 });
            let off: nix::libc::c_int = 0;
            // SAFETY: setsockopt reads one live c_int.
            unsafe {
                nix::libc::setsockopt(
                    fd.as_raw_fd(),
                    nix::libc::IPPROTO_TCP,
                    nix::libc::TCP_QUICKACK,
                    (&off as *const nix::libc::c_int).cast(),
                    4,
                );
            }
            let _ = connect(fd.as_raw_fd(), &SockaddrStorage::from(addrs[k % addrs.len()]));
            k += 1;
            drop(fd);
        }
        next += Duration::from_millis(10);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// (utime, stime) of `pid`, in clock ticks.
fn cpu_split(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
    (fields[11].parse::<u64>().expect("utime"), fields[12].parse::<u64>().expect("stime"))
}

/// Messages the checker sent (state changes), read without blocking.
fn drain(channel: &OwnedFd) -> usize {
    let flags = nix::fcntl::fcntl(channel.as_fd(), nix::fcntl::FcntlArg::F_GETFL).expect("flags");
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(channel.as_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).expect("nonblocking");
    let mut reader = FrameReader::new();
    while let Ok(ReadOutcome::Data) = reader.read_from(channel.as_fd()) {}
    let mut n = 0;
    while let Ok(Some((FromChecker::ServerHealth { .. } | FromChecker::ScriptState { .. }, _))) = reader.next::<FromChecker>() {
        n += 1;
    }
    n
}
