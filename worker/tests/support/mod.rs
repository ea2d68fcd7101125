//! In-process harness for the worker: a socketpair standing in for the supervisor, listeners on
//! 127.0.0.1:0, `run()` on a thread, real loopback servers with scripted behaviours, and a
//! logger that keeps the lines so tests can check them.
#![allow(dead_code)]

use hakeeper_common::config::{Backend, Frontend, LogFormat};
use hakeeper_common::ipc::{self, FrameReader, FromWorker, ListenerTag, ToWorker, WorkerConfig};
use hakeeper_worker::counters::Stats;
use hakeeper_worker::WorkerError;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::hash::Hasher;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- logs

struct Capture;

fn lines() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let line = format!("{}", r.args());
            if std::env::var_os("WORKER_TEST_LOG").is_some() {
                eprintln!("{line}");
            }
            lines().lock().unwrap().push(line);
        }
    }
    fn flush(&self) {}
}

pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        log::set_boxed_logger(Box::new(Capture)).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// Log lines containing `needle`.
pub fn logs_with(needle: &str) -> Vec<String> {
    lines().lock().unwrap().iter().filter(|l| l.contains(needle)).cloned().collect()
}

/// Waits until `count` lines contain `needle`.
pub fn wait_logs(needle: &str, count: usize, within: Duration) -> Vec<String> {
    let end = Instant::now() + within;
    loop {
        let found = logs_with(needle);
        if found.len() >= count {
            return found;
        }
        assert!(Instant::now() < end, "expected {count} log lines with {needle:?}, got {found:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------- config

pub use hakeeper_worker::testkit::global;

pub fn frontend(name: &str) -> Frontend {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    Frontend { log_format: Some(LogFormat::Tcplog), ..hakeeper_worker::testkit::tcp_frontend(name, any) }
}

pub fn backend(name: &str, servers: &[SocketAddr]) -> Backend {
    use hakeeper_worker::testkit::{server, tcp_backend};
    let servers = servers.iter().enumerate().map(|(i, &addr)| server(i, &format!("s{}", i + 1), addr)).collect();
    Backend {
        timeout_connect: Duration::from_secs(2),
        timeout_server: Duration::from_secs(10),
        timeout_queue: Duration::from_secs(2),
        ..tcp_backend(name, servers)
    }
}

pub fn config(fe: Frontend, be: Backend) -> WorkerConfig {
    WorkerConfig { global: global(), frontends: vec![fe], backends: vec![be], stats: None, http: Default::default(), peers: Vec::new() }
}

// ---------------------------------------------------------------- worker

pub struct Worker {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    supervisor: Option<OwnedFd>,
    reader: FrameReader,
    thread: Option<JoinHandle<Result<(), WorkerError>>>,
    _listener: TcpListener,
}

impl Worker {
    /// Binds the frontend's listener, starts `run()` and waits for `Ready`.
    pub fn start(mut cfg: WorkerConfig) -> Worker {
        init_logs();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        cfg.frontends[0].binds = vec![addr];
        let (sup, child) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || hakeeper_worker::run_observed(child, move |stats| tx.send(stats).unwrap()));
        ipc::send(sup.as_fd(), &ToWorker::Start { config: cfg, generation: 7 }, &[]).unwrap();
        ipc::send(sup.as_fd(), &ToWorker::Listeners(vec![ListenerTag::Frontend { frontend: 0, bind: 0 }]), &[listener.as_raw_fd()])
            .unwrap();
        let stats = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let mut w = Worker { addr, stats, supervisor: Some(sup), reader: FrameReader::new(), thread: Some(thread), _listener: listener };
        let (msg, _) = w.recv();
        assert_eq!(msg, FromWorker::Ready { generation: 7 });
        w
    }

    fn recv(&mut self) -> (FromWorker, Vec<OwnedFd>) {
        let fd = self.supervisor.as_ref().unwrap();
        set_recv_timeout(fd, Duration::from_secs(5));
        self.reader.recv_blocking(fd.as_fd()).unwrap()
    }

    pub fn send(&self, msg: ToWorker) {
        ipc::send(self.supervisor.as_ref().unwrap().as_fd(), &msg, &[]).unwrap();
    }

    /// Waits for `run()` to return.
    pub fn join(&mut self, within: Duration) -> Result<(), WorkerError> {
        let t = self.thread.take().expect("already joined");
        let end = Instant::now() + within;
        while !t.is_finished() {
            assert!(Instant::now() < end, "run() did not return within {within:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        t.join().unwrap()
    }

    /// The supervisor going away.
    pub fn close_channel(&mut self) {
        self.supervisor.take();
    }

    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

impl Drop for Worker {
    /// Closing the channel is the supervisor going away: `run()` must end promptly.
    fn drop(&mut self) {
        self.supervisor.take();
        if let Some(t) = self.thread.take() {
            let end = Instant::now() + Duration::from_secs(5);
            while !t.is_finished() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !std::thread::panicking() {
                assert!(t.is_finished(), "run() still running 5 s after its channel closed");
            }
        }
    }
}

fn set_recv_timeout(fd: &OwnedFd, d: Duration) {
    use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout};
    use nix::sys::time::TimeVal;
    setsockopt(fd, ReceiveTimeout, &TimeVal::new(d.as_secs() as i64, d.subsec_micros() as i64)).unwrap();
}

// ---------------------------------------------------------------- servers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Writes its name and a newline, then echoes until EOF.
    Tag,
    /// Reads and discards, never writes, until EOF.
    Silent,
    /// Reads until EOF, then writes `got N bytes` and closes (needs a half-closed client).
    ReplyAfterEof,
    /// Sends 1 MiB of its own while receiving; records what it received.
    Bulk,
    /// Reads a little, then resets the connection.
    ResetAfterRead,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub name: String,
    pub accepted: Arc<AtomicUsize>,
    /// Connections open now.
    pub open: Arc<AtomicUsize>,
    /// Most connections open at once.
    pub max_open: Arc<AtomicUsize>,
    /// (length, hash) of what each Bulk connection received.
    pub received: Arc<Mutex<Vec<(usize, u64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub const BULK: usize = 1024 * 1024;

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn digest(data: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(data);
    h.finish()
}

impl TestServer {
    pub fn start(name: &str, behaviour: Behaviour) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let max_open = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, o, m, r, s, n) = (accepted.clone(), open.clone(), max_open.clone(), received.clone(), stop.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        let (o, r, n) = (o.clone(), r.clone(), n.clone());
                        std::thread::spawn(move || {
                            conn.set_nonblocking(false).unwrap();
                            conn.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
                            serve(conn, behaviour, &n, &r);
                            o.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        TestServer { addr, name: name.into(), accepted, open, max_open, received, stop, thread: Some(thread) }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, behaviour: Behaviour, name: &str, received: &Mutex<Vec<(usize, u64)>>) {
    let mut buf = vec![0u8; 64 * 1024];
    match behaviour {
        Behaviour::Tag => {
            if conn.write_all(format!("{name}\n").as_bytes()).is_err() {
                return;
            }
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 || conn.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
        Behaviour::Silent => while matches!(conn.read(&mut buf), Ok(n) if n > 0) {},
        Behaviour::ReplyAfterEof => {
            let mut total = 0;
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n;
            }
            let _ = conn.write_all(format!("got {total} bytes").as_bytes());
        }
        Behaviour::Bulk => {
            let mut writer = conn.try_clone().unwrap();
            let sender = std::thread::spawn(move || {
                let data = pattern(BULK, 2);
                let ok = writer.write_all(&data).is_ok();
                let _ = writer.shutdown(Shutdown::Write);
                ok
            });
            let mut got = Vec::with_capacity(BULK);
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let _ = sender.join();
            received.lock().unwrap().push((got.len(), digest(&got)));
        }
        Behaviour::ResetAfterRead => {
            let _ = conn.read(&mut buf);
            reset(conn);
        }
    }
}

/// Closes with RST (SO_LINGER 0, then close).
pub fn reset(conn: TcpStream) {
    use nix::sys::socket::{setsockopt, sockopt::Linger};
    setsockopt(&conn, Linger, &nix::libc::linger { l_onoff: 1, l_linger: 0 }).unwrap();
    drop(conn);
}

/// A port that refuses connections for the whole test run (see `hakeeper_testkit`).
#[allow(unused_imports)] // each test binary uses a part of the support
pub use hakeeper_testkit::refused_port as reserved_refused_port;

/// An address where nothing listens (connections are refused).
pub fn refused_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], reserved_refused_port()))
}

/// Reads the server tag line a `Tag` server sends first.
pub fn read_tag(conn: &mut TcpStream) -> String {
    let mut tag = Vec::new();
    let mut byte = [0u8; 1];
    while conn.read(&mut byte).unwrap_or(0) == 1 {
        if byte[0] == b'\n' {
            break;
        }
        tag.push(byte[0]);
    }
    String::from_utf8_lossy(&tag).into_owned()
}

/// Reads until EOF or error; true when it was a clean EOF within `within`.
pub fn wait_closed(conn: &mut TcpStream, within: Duration) -> bool {
    conn.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

/// Connects to `to` from the loopback address `from` (any 127.0.0.0/8 address works on Linux).
pub fn connect_from(to: SocketAddr, from: std::net::Ipv4Addr) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, SockFlag, SockType, SockaddrIn};
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
    bind(fd.as_raw_fd(), &SockaddrIn::from(std::net::SocketAddrV4::new(from, 0))).unwrap();
    let SocketAddr::V4(to) = to else { panic!("IPv4 only") };
    connect(fd.as_raw_fd(), &SockaddrIn::from(to)).unwrap();
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < end, "{what}: not within 5 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn get(c: &std::sync::atomic::AtomicU64) -> u64 {
    c.load(Ordering::SeqCst)
}
