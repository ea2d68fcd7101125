//! Namespace labs for the LVS data plane: namespaces and veth pairs made by the test and
//! removed on drop (also on panic), tiny TCP servers that answer their own name and then echo,
//! and clients, each on a thread moved into its namespace (setns acts on the calling thread
//! only). Addresses in 192.0.2.0/24. Under CI=true a lab that cannot be built fails the test.

#![allow(dead_code)]

use hakeeper_testkit::in_ci;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Every wait in the labs is bounded by this.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(127 << 8),
        stdout: Vec::new(),
        stderr: format!("cannot run {program}: {e}").into_bytes(),
    })
}

pub fn must(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(out.status.success(), "{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Each TCP server's own stop (its listener closes: new connections are refused).
    server_stops: Vec<(String, Arc<AtomicBool>)>,
}

impl Lab {
    /// None (after saying why) when this host cannot make namespaces or lacks nft; under
    /// CI=true that panics instead.
    pub fn new(tag: &str) -> Option<Lab> {
        let prefix = format!("hkl{}-{tag}", std::process::id());
        let probe = run("ip", &["netns", "add", &format!("{prefix}-probe")]);
        let nft = run("nft", &["--version"]);
        if !probe.status.success() || !nft.status.success() {
            let why = format!("{} {}", String::from_utf8_lossy(&probe.stderr).trim(), String::from_utf8_lossy(&nft.stderr).trim());
            let _ = run("ip", &["netns", "del", &format!("{prefix}-probe")]);
            assert!(!in_ci(), "CI=true but the LVS lab cannot run (needs root, iproute2 and nftables): {why}");
            eprintln!("skipping: the LVS lab needs root, iproute2 and nftables ({why})");
            return None;
        }
        let _ = run("ip", &["netns", "del", &format!("{prefix}-probe")]);
        Some(Lab { prefix, namespaces: Vec::new(), stop: Arc::new(AtomicBool::new(false)), threads: Vec::new(), server_stops: Vec::new() })
    }

    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// Makes the namespace of `host` with `lo` up.
    pub fn host(&mut self, host: &str) -> String {
        let ns = self.ns(host);
        must("ip", &["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        must("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n HOST ARGS…`.
    pub fn ip(&self, host: &str, args: &[&str]) -> String {
        let ns = self.ns(host);
        let mut all = vec!["-n", ns.as_str()];
        all.extend_from_slice(args);
        must("ip", &all)
    }

    /// A command inside `host`'s namespace.
    pub fn exec(&self, host: &str, args: &[&str]) -> Output {
        let ns = self.ns(host);
        let mut all = vec!["netns", "exec", ns.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Sets `key` (dotted, as sysctl names it) through /proc/sys, which shows the namespace of
    /// the process reading it.
    pub fn sysctl(&self, host: &str, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let out = self.exec(host, &["sh", "-c", &format!("echo {value} > {path}")]);
        assert!(out.status.success(), "sysctl {key} in {host}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A veth pair: `a_if` in `a`, `b_if` in `b`, both up, with the given MACs.
    pub fn link(&self, a: &str, a_if: &str, a_mac: &str, b: &str, b_if: &str, b_mac: &str) {
        let (na, nb) = (self.ns(a), self.ns(b));
        must(
            "ip",
            &["-n", &na, "link", "add", a_if, "address", a_mac, "type", "veth", "peer", "name", b_if, "address", b_mac, "netns", &nb],
        );
        must("ip", &["-n", &na, "link", "set", a_if, "up"]);
        must("ip", &["-n", &nb, "link", "set", b_if, "up"]);
    }

    /// Interface counters: (rx_packets, rx_bytes, tx_packets, tx_bytes).
    pub fn if_counters(&self, host: &str, iface: &str) -> (u64, u64, u64, u64) {
        let read = |what: &str| -> u64 {
            let out = self.exec(host, &["cat", &format!("/sys/class/net/{iface}/statistics/{what}")]);
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("{what} of {iface} in {host}"))
        };
        (read("rx_packets"), read("rx_bytes"), read("tx_packets"), read("tx_bytes"))
    }

    /// A TCP server in `host` on `addr`: each connection gets `NAME\n`, then `extra` bytes of
    /// filler, then its lines echoed until EOF.
    pub fn server(&mut self, host: &str, name: &str, addr: SocketAddr, extra: usize) {
        let ns = self.ns(host);
        let stop = self.stop.clone();
        let killed = Arc::new(AtomicBool::new(false));
        self.server_stops.push((name.to_string(), killed.clone()));
        let own = name.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let listener = match enter(&ns).and_then(|_| TcpListener::bind(addr).map_err(|e| e.to_string())) {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = listener.set_nonblocking(true);
            let _ = tx.send(Ok(()));
            let mut conns = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if killed.load(Ordering::Relaxed) {
                    // As a killed server: the port is closed, connections open so far go on
                    // until the lab ends (the test does not use them).
                    drop(listener);
                    break;
                }
                match listener.accept() {
                    Ok((s, _)) => {
                        let (name, stop) = (own.clone(), stop.clone());
                        conns.push(std::thread::spawn(move || serve(s, &name, extra, &stop)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for c in conns {
                let _ = c.join();
            }
        });
        match rx.recv_timeout(WAIT) {
            Ok(Ok(())) => self.threads.push(handle),
            Ok(Err(e)) => panic!("server {name} in {host}: {e}"),
            Err(_) => panic!("server {name} in {host} did not start"),
        }
    }

    /// Stops the TCP server `name` accepting: its port is closed, so connections and checks
    /// to it are refused from now on.
    pub fn kill_server(&self, name: &str) {
        let found = self.server_stops.iter().find(|(n, _)| n == name);
        let (_, flag) = found.unwrap_or_else(|| panic!("no server {name} in this lab"));
        flag.store(true, Ordering::Relaxed);
    }

    /// A UDP server in `host` on `addr` answering each datagram with `NAME`.
    pub fn udp_server(&mut self, host: &str, name: &str, addr: SocketAddr) {
        let ns = self.ns(host);
        let stop = self.stop.clone();
        let own = name.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let socket = match enter(&ns).and_then(|_| UdpSocket::bind(addr).map_err(|e| e.to_string())) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = tx.send(Ok(()));
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((_, peer)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(own.as_bytes(), peer);
                }
            }
        });
        match rx.recv_timeout(WAIT) {
            Ok(Ok(())) => self.threads.push(handle),
            Ok(Err(e)) => panic!("UDP server {name} in {host}: {e}"),
            Err(_) => panic!("UDP server {name} in {host} did not start"),
        }
    }

    /// Sends a datagram from a new socket (a new flow) in `host` to `dst`; the answer.
    pub fn udp_who(&self, host: &str, dst: SocketAddr) -> Result<String, String> {
        let ns = self.ns(host);
        std::thread::spawn(move || {
            enter(&ns)?;
            let s = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
            s.send_to(b"who?", dst).map_err(|e| format!("send to {dst}: {e}"))?;
            let mut buf = [0u8; 1500];
            let (n, from) = s.recv_from(&mut buf).map_err(|e| format!("no answer from {dst}: {e}"))?;
            if from != dst {
                return Err(format!("answer from {from}, not {dst}"));
            }
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        })
        .join()
        .map_err(|_| "client thread panicked".to_string())?
    }

    /// A connection from `host` (from `src` if given) to `dst`.
    pub fn connect(&self, host: &str, src: Option<IpAddr>, dst: SocketAddr) -> Result<TcpStream, String> {
        let ns = self.ns(host);
        std::thread::spawn(move || {
            enter(&ns)?;
            connect_from(src, dst)
        })
        .join()
        .map_err(|_| "client thread panicked".to_string())?
    }

    /// Connects and returns the name the server answered with.
    pub fn who(&self, host: &str, src: Option<IpAddr>, dst: SocketAddr) -> Result<String, String> {
        let s = self.connect(host, src, dst)?;
        let (name, _) = read_greeting(&s, 0)?;
        Ok(name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for ns in self.namespaces.drain(..).rev() {
            let _ = run("ip", &["netns", "del", &ns]);
        }
    }
}

/// Moves the calling thread into namespace `ns`.
fn enter(ns: &str) -> Result<(), String> {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).map_err(|e| format!("open netns {ns}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {ns}: {e}"))
}

fn connect_from(src: Option<IpAddr>, dst: SocketAddr) -> Result<TcpStream, String> {
    use nix::sys::socket::{bind, connect, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
    let SocketAddr::V4(dst4) = dst else { return Err("IPv4 only".into()) };
    let fd: OwnedFd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::empty(), None).map_err(|e| e.to_string())?;
    setsockopt(&fd, sockopt::SendTimeout, &nix::sys::time::TimeVal::new(WAIT.as_secs() as i64, 0)).map_err(|e| e.to_string())?;
    if let Some(src) = src {
        let IpAddr::V4(s) = src else { return Err("IPv4 only".into()) };
        bind(fd.as_raw_fd(), &SockaddrIn::from(std::net::SocketAddrV4::new(s, 0))).map_err(|e| format!("bind {s}: {e}"))?;
    }
    connect(fd.as_raw_fd(), &SockaddrIn::from(dst4)).map_err(|e| format!("connect {dst}: {e}"))?;
    let stream = TcpStream::from(fd);
    stream.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
    Ok(stream)
}

fn serve(s: TcpStream, name: &str, extra: usize, stop: &AtomicBool) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let mut w = match s.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    if w.write_all(format!("{name}\n").as_bytes()).is_err() || w.write_all(&vec![b'x'; extra]).is_err() {
        return;
    }
    let mut r = BufReader::new(s);
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        match r.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {
                if w.write_all(line.as_bytes()).is_err() {
                    return;
                }
                line.clear();
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// Reads the server's name line and `extra` filler bytes.
pub fn read_greeting(s: &TcpStream, extra: usize) -> Result<(String, usize), String> {
    let deadline = Instant::now() + WAIT;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    let mut r = s;
    while !buf.ends_with(b"\n") {
        if Instant::now() > deadline {
            return Err("no greeting".into());
        }
        match r.read(&mut byte) {
            Ok(0) => return Err("closed before the greeting".into()),
            Ok(_) => buf.push(byte[0]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let mut got = 0;
    let mut chunk = vec![0u8; 65536];
    while got < extra {
        match r.read(&mut chunk[..(extra - got).min(65536)]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(format!("read filler: {e}")),
        }
    }
    Ok((String::from_utf8_lossy(&buf).trim().to_string(), got))
}

/// Sends a line and expects it back.
pub fn echo(s: &TcpStream, line: &str) -> Result<(), String> {
    let mut w = s;
    w.write_all(format!("{line}\n").as_bytes()).map_err(|e| format!("write: {e}"))?;
    let mut r = BufReader::new(s);
    let mut back = String::new();
    r.read_line(&mut back).map_err(|e| format!("read: {e}"))?;
    if back.trim() == line {
        Ok(())
    } else {
        Err(format!("echoed {back:?}, sent {line:?}"))
    }
}
