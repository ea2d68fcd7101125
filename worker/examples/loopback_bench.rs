//! Loopback micro-benchmark of the worker alone (run by hand, release build):
//!
//! `cargo run --release -p hakeeper-worker --example loopback_bench -- [bulk|rr|conn] [SECONDS] [haproxy]`
//!
//! The worker runs in this process with one event-loop thread (or, with `haproxy`, HAProxy runs
//! with `nbthread 1` and the same `mode tcp` settings); the proxy and the backend are pinned to
//! CPU 1, the load generator to CPU 0. It prints the rate and the proxy's CPU time per unit of
//! work (from /proc/.../stat).
//!
//! - `bulk`: one connection downloading from a server that streams without end (Gbit/s);
//! - `rr`: 50 kept connections, 64-byte request, 64-byte response (requests/s);
//! - `conn`: a new connection per 64-byte request/response (connections/s).

use hakeeper_common::config::{Backend, Frontend, Global, LogConfig};
use hakeeper_common::ipc::{self, FrameReader, FromWorker, ListenerTag, ToWorker, WorkerConfig};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pin(cpu: usize) {
    let mut set = CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = sched_setaffinity(Pid::from_raw(0), &set);
    }
}

fn tid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// utime + stime of a thread or process, in clock ticks.
fn ticks(stat_path: &str) -> u64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12.
    let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn config(listen: SocketAddr, server: SocketAddr) -> WorkerConfig {
    use hakeeper_worker::testkit;
    let global = testkit::global();
    WorkerConfig {
        global: Global {
            maxconn: 100_000,
            log: LogConfig { level: "warning".into(), ..global.log.clone() },
            ctl_socket: "/tmp/hakeeper-bench.sock".into(),
            ..global
        },
        frontends: vec![Frontend {
            maxconn: 100_000,
            timeout_client: Duration::from_secs(30),
            log: false,
            ..testkit::tcp_frontend("bench", listen)
        }],
        backends: vec![Backend {
            timeout_connect: Duration::from_secs(5),
            timeout_server: Duration::from_secs(30),
            timeout_queue: Duration::from_secs(5),
            ..testkit::tcp_backend("bench", vec![testkit::server(0, "s1", server)])
        }],
        stats: None,
        http: Default::default(),
        peers: Vec::new(),
    }
}

/// The backend: `stream` sends without end, otherwise it answers each read with 64 bytes.
fn backend(stream: bool) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind backend");
    let addr = l.local_addr().expect("backend address");
    std::thread::spawn(move || {
        pin(1);
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                pin(1);
                let mut conn = conn;
                let _ = conn.set_nodelay(true);
                if stream {
                    let chunk = vec![0x5au8; 256 * 1024];
                    while conn.write_all(&chunk).is_ok() {}
                } else {
                    let mut buf = [0u8; 4096];
                    let reply = [b'r'; 64];
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 || conn.write_all(&reply).is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    addr
}

fn start_worker(server: SocketAddr) -> (SocketAddr, Arc<AtomicU64>, std::os::fd::OwnedFd) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind listener");
    let addr = listener.local_addr().expect("listener address");
    let (sup, child) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC).expect("socketpair");
    let proxy_tid = Arc::new(AtomicU64::new(0));
    let t = proxy_tid.clone();
    let spawned = std::thread::Builder::new().name("proxy".into()).spawn(move || {
        pin(1);
        t.store(tid() as u64, Ordering::SeqCst);
        if let Err(e) = hakeeper_worker::run(child) {
            eprintln!("worker: {e}");
        }
    });
    spawned.expect("spawn the proxy thread");
    ipc::send(sup.as_fd(), &ToWorker::Start { config: config(addr, server), generation: 1 }, &[]).expect("send Start");
    ipc::send(sup.as_fd(), &ToWorker::Listeners(vec![ListenerTag::Frontend { frontend: 0, bind: 0 }]), &[listener.as_raw_fd()])
        .expect("send Listeners");
    let (ready, _) = FrameReader::new().recv_blocking::<FromWorker>(sup.as_fd()).expect("Ready");
    assert_eq!(ready, FromWorker::Ready { generation: 1 });
    drop(listener);
    (addr, proxy_tid, sup)
}

/// HAProxy with one thread in front of `server`, pinned to CPU 1; returns its address and pid.
fn start_haproxy(server: SocketAddr) -> (SocketAddr, std::process::Child) {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let cfg = format!(
        "global\n  nbthread 1\n  maxconn 5000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  \
         timeout server 30s\nlisten bench\n  bind 127.0.0.1:{port}\n  server s1 {server}\n"
    );
    let path = std::env::temp_dir().join(format!("loopback_bench_{}.cfg", std::process::id()));
    std::fs::write(&path, cfg).expect("write haproxy config");
    let child = std::process::Command::new("taskset")
        .args(["-c", "1", "haproxy", "-db", "-f"])
        .arg(&path)
        .spawn()
        .expect("start haproxy (is it installed?)");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let end = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < end, "haproxy did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    (addr, child)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("bulk");
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let use_haproxy = args.get(3).is_some_and(|a| a == "haproxy");
    let server = backend(mode == "bulk");
    let mut haproxy = None;
    let mut channel = None;
    let (proxy, stat_path) = if use_haproxy {
        let (addr, child) = start_haproxy(server);
        let path = format!("/proc/{}/stat", child.id());
        haproxy = Some(child);
        (addr, path)
    } else {
        let (addr, tid, ch) = start_worker(server);
        channel = Some(ch);
        (addr, format!("/proc/self/task/{}/stat", tid.load(Ordering::SeqCst)))
    };
    pin(0);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let ticks0 = ticks(&stat_path);
    let t0 = Instant::now();
    let mut clients = Vec::new();
    let conns = if mode == "rr" { 50 } else { 1 };
    for _ in 0..conns {
        let (stop, done) = (stop.clone(), done.clone());
        let mode = mode.to_string();
        clients.push(std::thread::spawn(move || {
            pin(0);
            let mut buf = vec![0u8; 256 * 1024];
            let req = [b'q'; 64];
            match mode.as_str() {
                "bulk" => {
                    let mut c = TcpStream::connect(proxy).expect("connect");
                    while !stop.load(Ordering::Relaxed) {
                        match c.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => done.fetch_add(n as u64, Ordering::Relaxed),
                        };
                    }
                }
                "rr" => {
                    let mut c = TcpStream::connect(proxy).expect("connect");
                    let _ = c.set_nodelay(true);
                    while !stop.load(Ordering::Relaxed) {
                        if c.write_all(&req).is_err() || c.read_exact(&mut buf[..64]).is_err() {
                            break;
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(mut c) = TcpStream::connect(proxy) else { continue };
                        let _ = c.set_nodelay(true);
                        if c.write_all(&req).is_ok() && c.read_exact(&mut buf[..64]).is_ok() {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let ticks = ticks(&stat_path) - ticks0;
    let total = done.load(Ordering::Relaxed);
    let cpu_s = ticks as f64 / 100.0;
    let who = if use_haproxy { "haproxy " } else { "hakeeper" };
    print!("{who} ");
    match mode {
        "bulk" => println!(
            "bulk: {:.2} Gbit/s, proxy CPU {:.0}% ({:.2} s per GB)",
            total as f64 * 8.0 / elapsed / 1e9,
            cpu_s / elapsed * 100.0,
            cpu_s / (total as f64 / 1e9)
        ),
        _ => println!(
            "{mode}: {:.0} requests/s, proxy CPU {:.0}% ({:.2} µs per request)",
            total as f64 / elapsed,
            cpu_s / elapsed * 100.0,
            cpu_s * 1e6 / total.max(1) as f64
        ),
    }
    if let Some(mut child) = haproxy {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(channel);
    std::process::exit(0);
}
