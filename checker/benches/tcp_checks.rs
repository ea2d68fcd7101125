//! Benchmark (by hand, not in CI): the CPU cost of 1,000 TCP checks at `inter 1s`.
//!
//! Run with `cargo bench -p hakeeper-checker --bench tcp_checks` (BENCH_SERVERS and BENCH_SECONDS
//! change the defaults of 1000 servers and 10 s). The checker runs in a child process of its own,
//! as in production; its CPU time is read from /proc/PID/stat before and after the measured
//! window, and the loopback backends (in this process) count the checks they received.
//! The target is under 5% of one core.

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
            let check = Check { inter, fastinter: inter, downinter: inter, rise: 2, fall: 3, port: addr.port() };
            Server { name: format!("s{i}"), id: i as u32 + 1, addr, weight: 1, maxconn: 0, backup: false, disabled: false, cookie: None, check: Some(check) }
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
    let (cpu0, checks0, t0) = (cpu_ticks(pid), accepted.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, checks1, elapsed) = (cpu_ticks(pid), accepted.load(Ordering::Relaxed), t0.elapsed());

    let transitions = drain(&parent);
    let _ = send(parent.as_fd(), &ToChecker::Stop, &[]);
    let _ = checker.wait();

    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { nix::libc::sysconf(nix::libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu = (cpu1 - cpu0) as f64 / hz;
    let share = 100.0 * cpu / elapsed.as_secs_f64();
    let rate = (checks1 - checks0) as f64 / elapsed.as_secs_f64();
    println!("servers: {servers}, inter: {inter:?}, window: {:.1} s", elapsed.as_secs_f64());
    println!("checks completed: {:.0}/s (expected {:.0}/s)", rate, servers as f64 / inter.as_secs_f64());
    println!("state changes reported: {transitions} (expected 0)");
    println!("checker CPU: {cpu:.2} s in {:.1} s = {share:.2}% of one core (target < 5%)", elapsed.as_secs_f64());
    if share >= 5.0 || transitions != 0 {
        std::process::exit(1);
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
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
