//! End-to-end (root): active-active behind ECMP, announced by BIRD 2 (issue #20). Namespaces: a
//! router (`rt`: BIRD with `merge paths` into a multipath route in table 100, mirrored into a
//! resilient nexthop group with L4 hashing, see [`ResilientFib`]), three LB hosts (`lb1`-`lb3`,
//! each the whole appliance plus its own BIRD exporting the announce device by eBGP), three
//! backends (one namespace, answering `NAME PEER` so the client sees which server and which LB
//! host served it) and a client with five source addresses. Lab BGP timers: hold 3 s,
//! keepalive 1 s, connect retry 1 s. Shown: all three hosts carry traffic, for the /32 and the
//! /128, and `stick on src` on a table the three hosts share by `peers` gives a client the same
//! server on every host (its flows land on several hosts, balanced round-robin), also after its
//! flows moved off a killed host; `show announce`, `/metrics` and the stats page say announced;
//! a host whose backends are unreachable withdraws and comes back; `kill -9` of one host's
//! whole appliance withdraws its route within [`KILL_BOUND`] (the announce device dies with
//! vrrpd) and leaves every established connection of the other hosts working; SIGTERM of one
//! host fails no new connection. Everything is stopped by PID and the namespaces removed, also
//! on failure. Under CI=true a lab that cannot run fails.

#[path = "../vrrpd/tests/lvs_lab/mod.rs"]
mod lvs_lab;

use lvs_lab::Lab;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.200";
const VIP6: &str = "2001:db8::200";
const PORT: u16 = 80;
/// The `peers` port on each LB host's link address.
const PEERS_PORT: u16 = 10000;
/// The stated bound: after `kill -9` of a host's whole appliance, the router has no route
/// through it within this (the device goes with vrrpd, BIRD's direct protocol hears it from
/// netlink, the eBGP withdrawal and the router's FIB update follow at once).
const KILL_BOUND: Duration = Duration::from_secs(1);
/// Each client connection's own bound (connect + greeting).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hakeeper")
}

fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

fn have(program: &str) -> bool {
    Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

fn time_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Moves the calling thread into namespace `ns`.
fn enter(ns: &str) -> Result<(), String> {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).map_err(|e| format!("open netns {ns}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {ns}: {e}"))
}

/// A TCP connection from `src` to `dst`, bounded by `timeout` (SO_SNDTIMEO bounds connect).
fn connect_from(src: Ipv4Addr, dst: SocketAddrV4, timeout: Duration) -> Result<TcpStream, String> {
    use nix::sys::socket::{bind, connect, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd: OwnedFd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(|e| e.to_string())?;
    let tv = nix::sys::time::TimeVal::new(timeout.as_secs() as i64, timeout.subsec_micros() as i64);
    setsockopt(&fd, sockopt::SendTimeout, &tv).map_err(|e| e.to_string())?;
    bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(src, 0))).map_err(|e| format!("bind {src}: {e}"))?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(dst)).map_err(|e| format!("connect {dst} from {src}: {e}"))?;
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    Ok(s)
}

/// Reads the backend's `NAME PEER` line: (backend, the LB host's address it saw).
fn greeting(s: &TcpStream) -> Result<(String, String), String> {
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).map_err(|e| format!("read: {e}"))?;
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some(n), Some(p)) => Ok((n.to_string(), p.to_string())),
        _ => Err(format!("bad greeting {line:?}")),
    }
}

fn echo(s: &TcpStream, text: &str) -> Result<(), String> {
    let mut w = s;
    w.write_all(format!("{text}\n").as_bytes()).map_err(|e| format!("write: {e}"))?;
    let mut back = String::new();
    BufReader::new(s).read_line(&mut back).map_err(|e| format!("read: {e}"))?;
    if back.trim() == text {
        Ok(())
    } else {
        Err(format!("echoed {back:?}"))
    }
}

/// The LB host behind an LB address as a backend sees it (lb1 .6, lb2 .10, lb3 .14).
fn host_of(peer: &str) -> String {
    match peer {
        "192.0.2.6" => "lb1".into(),
        "192.0.2.10" => "lb2".into(),
        "192.0.2.14" => "lb3".into(),
        other => format!("?{other}"),
    }
}

/// A client thread living in the client namespace; requests run on it one at a time.
struct Client {
    tx: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
}

impl Client {
    fn new(ns: &str) -> Client {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let ns = ns.to_string();
        let thread = std::thread::spawn(move || {
            if let Err(e) = enter(&ns) {
                eprintln!("client thread: {e}");
                return;
            }
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        Client { tx, thread: Some(thread) }
    }

    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.tx.send(Box::new(move || drop(tx.send(f())))).expect("client thread gone");
        rx.recv_timeout(Duration::from_secs(60)).expect("client job did not finish")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let (tx, _) = std::sync::mpsc::channel();
        self.tx = tx;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What [`who`] saw: (backend, LB host) or why not.
type Who = Result<(String, String), String>;

/// One connection from source `.{66+src}`: (backend, LB host), then closed.
fn who(src: usize) -> Who {
    let s = connect_from(Ipv4Addr::new(192, 0, 2, 66 + src as u8), SocketAddrV4::new(VIP.parse().expect("vip"), PORT), CONNECT_TIMEOUT)?;
    let (name, peer) = greeting(&s)?;
    Ok((name, host_of(&peer)))
}

/// Backends answering `NAME PEER\n`, then echoing lines; stopped and joined on drop.
struct Backends {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Backends {
    fn start(ns: &str) -> Backends {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for i in 0..3u8 {
            let (ns, stop) = (ns.to_string(), stop.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            threads.push(std::thread::spawn(move || {
                let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 130 + i)), 8080);
                let listener = match enter(&ns).and_then(|_| TcpListener::bind(addr).map_err(|e| e.to_string())) {
                    Ok(l) => l,
                    Err(e) => return drop(tx.send(Err(e))),
                };
                let _ = listener.set_nonblocking(true);
                let _ = tx.send(Ok(()));
                let mut conns = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, peer)) => {
                            let stop = stop.clone();
                            conns.push(std::thread::spawn(move || serve(s, &format!("be{}", i + 1), peer, &stop)));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
                for c in conns {
                    let _ = c.join();
                }
            }));
            rx.recv_timeout(Duration::from_secs(5)).expect("backend did not start").unwrap_or_else(|e| panic!("backend: {e}"));
        }
        Backends { stop, threads }
    }
}

fn serve(s: TcpStream, name: &str, peer: SocketAddr, stop: &AtomicBool) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let Ok(mut w) = s.try_clone() else { return };
    if w.write_all(format!("{name} {}\n", peer.ip()).as_bytes()).is_err() {
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

impl Drop for Backends {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Processes the lab started (BIRDs, appliances), killed by PID on drop with what they left.
struct Procs {
    children: Vec<(String, Child)>,
    dir: PathBuf,
}

impl Procs {
    fn spawn(&mut self, ns: &str, name: &str, args: &[&str]) -> u32 {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = file.try_clone().expect("dup");
        // `ip netns exec` execs the program: the PID is the program's.
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let pid = child.id();
        self.children.push((name.to_string(), child));
        pid
    }

    fn pid(&self, name: &str) -> u32 {
        self.children.iter().find(|(n, _)| n == name).map(|(_, c)| c.id()).unwrap_or_else(|| panic!("no process {name}"))
    }

    fn wait_exit(&mut self, name: &str, timeout: Duration) -> bool {
        let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == name) else { return true };
        time_until(timeout, || matches!(child.try_wait(), Ok(Some(_)))).is_some()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for (name, _) in &self.children {
            let text = self.log(name);
            let tail: Vec<&str> = text.lines().rev().take(25).collect();
            out.push_str(&format!("--- {name} (last lines)\n{}\n", tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
        }
        out
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            for pid in descendants(child.id() as i32) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every descendant of `pid` (from /proc), deepest last.
fn descendants(pid: i32) -> Vec<i32> {
    let mut parents: BTreeMap<i32, i32> = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
            // The parent is the second field after the command's closing parenthesis.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|w| w.parse().ok()) {
                parents.insert(p, ppid);
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, pp)| **pp == p) {
            out.push(*child);
            frontier.push(*child);
        }
    }
    out
}

fn lb_bird(i: usize, dir: &Path) -> String {
    let (me, peer) = (4 * i + 2, 4 * i + 1);
    format!(
        r#"log "{log}" all;
router id 192.0.2.{me};
protocol device {{ }}
protocol direct hk {{ ipv4; ipv6; interface "hk-announce"; }}
protocol bgp upstream {{
  local 192.0.2.{me} as 65001;
  neighbor 192.0.2.{peer} as 65000;
  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 {{ import none; export where proto = "hk"; }};
}}
protocol bgp upstream6 {{
  local 2001:db8:{i}::2 as 65001;
  neighbor 2001:db8:{i}::1 as 65000;
  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv6 {{ import none; export where proto = "hk"; }};
}}
"#,
        log = dir.join(format!("bird-lb{i}.trace")).display()
    )
}

fn router_bird(dir: &Path) -> String {
    let mut conf = format!(
        r#"log "{log}" all;
router id 192.0.2.65;
protocol device {{ }}
protocol kernel {{ ipv4 {{ import none; export all; }}; merge paths on; kernel table {BGP_TABLE}; }}
protocol kernel {{ ipv6 {{ import none; export all; }}; merge paths on; kernel table {BGP_TABLE}; }}
template bgp lb {{
  local as 65000;
  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 {{ import all; export none; }};
}}
template bgp lb6 {{
  local as 65000;
  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv6 {{ import all; export none; }};
}}
"#,
        log = dir.join("bird-rt.trace").display()
    );
    for i in 1..=3 {
        conf.push_str(&format!("protocol bgp lb{i} from lb {{ neighbor 192.0.2.{} as 65001; }}\n", 4 * i + 2));
        conf.push_str(&format!("protocol bgp lb{i}v6 from lb6 {{ neighbor 2001:db8:{i}::2 as 65001; }}\n"));
    }
    conf
}

fn appliance_config(i: usize, dir: &Path) -> String {
    let server = |k: u8| format!("(name: \"be{k}\", addr: \"192.0.2.13{}:8080\", check: (inter: \"300ms\", rise: 2, fall: 2))", k - 1);
    // Each host's link address (192.0.2.{4i+2}) carries the peers sessions, routed by `rt`.
    let peer = |k: usize| format!("(name: \"lb{k}\", addr: \"192.0.2.{}:{PEERS_PORT}\")", 4 * k + 2);
    format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{ctl}", localpeer: "lb{i}", log: (target: "stderr", facility: "local1", level: "info")),
  defaults: (mode: tcp, timeout: (connect: "1s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: ["{VIP}:{PORT}", "[{VIP6}]:{PORT}"], balance: roundrobin,
            stick_table: (key: ipv6, size: 1000, expire: "30m", peers: "lbs"), stick_rules: ["on src"],
            servers: [{s1}, {s2}, {s3}])],
  peers: [(name: "lbs", peers: [{p1}, {p2}, {p3}])],
  announce: (vips: ["{VIP}", "{VIP6}"], min_servers_up: [(backend: "web", servers: 1)], withdraw_wait: "1s"),
  stats: (bind: "127.0.0.1:8404", uri: "/stats"),
)"#,
        ctl = dir.join(format!("lb{i}.sock")).display(),
        s1 = server(1),
        s2 = server(2),
        s3 = server(3),
        p1 = peer(1),
        p2 = peer(2),
        p3 = peer(3),
    )
}

/// The router's BGP next hops for the VIP (LB addresses): BIRD's multipath route in
/// [`BGP_TABLE`].
fn nexthops(lab: &Lab) -> BTreeSet<String> {
    bgp_nexthops(&lab.ns("rt"), false)
}

/// The same for the IPv6 VIP, by the link they leave on (`l{i}` → `lb{i}`).
fn nexthops6(lab: &Lab) -> BTreeSet<String> {
    bgp_nexthops(&lab.ns("rt"), true)
}

fn bgp_nexthops(rt: &str, v6: bool) -> BTreeSet<String> {
    let (family, prefix) = if v6 { ("-6", format!("{VIP6}/128")) } else { ("-4", format!("{VIP}/32")) };
    let table = BGP_TABLE.to_string();
    let out = Command::new("ip").args(["-n", rt, family, "route", "show", "table", &table, &prefix]).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).filter(|w| w[0] == "dev").filter_map(|w| w[1].strip_prefix('l').map(|n| format!("lb{n}"))).collect()
}

/// BIRD 2.0.12 programs only hash-threshold multipath routes, where removing one next hop also
/// moves part of the survivors' flows. A router with resilient hashing keeps them; the lab's
/// router gets one this way: BIRD writes its routes to [`BGP_TABLE`], and this agent mirrors
/// each VIP's next hops into a resilient nexthop group (Linux ≥ 5.13) that the main table's
/// route uses, every 5 ms. Removing a member reassigns only its own buckets; an added member
/// gets buckets as they fall idle (`idle_timer 1`).
struct ResilientFib {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const BGP_TABLE: u32 = 100;
const GROUP4: u32 = 100;
const GROUP6: u32 = 200;
const BUCKETS: usize = 96;

impl ResilientFib {
    fn start(rt: String) -> ResilientFib {
        for i in 1..=3u32 {
            let dev = format!("l{i}");
            let (id4, id6) = ((i).to_string(), (10 + i).to_string());
            let via4 = format!("192.0.2.{}", 4 * i + 2);
            let via6 = format!("2001:db8:{i}::2");
            for args in [
                vec!["-n", rt.as_str(), "nexthop", "add", "id", id4.as_str(), "via", via4.as_str(), "dev", dev.as_str()],
                vec!["-n", rt.as_str(), "nexthop", "add", "id", id6.as_str(), "via", via6.as_str(), "dev", dev.as_str()],
            ] {
                let out = Command::new("ip").args(&args).output().expect("ip nexthop add");
                assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut current: [BTreeSet<String>; 2] = Default::default();
            while !flag.load(Ordering::Relaxed) {
                for (k, v6) in [(0usize, false), (1, true)] {
                    let want = bgp_nexthops(&rt, v6);
                    if want != current[k] {
                        Self::program(&rt, v6, &want);
                        current[k] = want;
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        ResilientFib { stop, thread: Some(thread) }
    }

    fn program(rt: &str, v6: bool, members: &BTreeSet<String>) {
        let (family, prefix, group, base) =
            if v6 { ("-6", format!("{VIP6}/128"), GROUP6, 10) } else { ("-4", format!("{VIP}/32"), GROUP4, 0) };
        let ip = |args: &[&str]| {
            let _ = Command::new("ip").args(["-n", rt]).args(args).output();
        };
        if members.is_empty() {
            ip(&[family, "route", "del", &prefix]);
            ip(&["nexthop", "del", "id", &group.to_string()]);
            return;
        }
        let ids: Vec<String> =
            members.iter().filter_map(|h| h.strip_prefix("lb")?.parse::<u32>().ok()).map(|i| (base + i).to_string()).collect();
        let (group, buckets) = (group.to_string(), BUCKETS.to_string());
        ip(&["nexthop", "replace", "id", &group, "group", &ids.join("/"), "type", "resilient", "buckets", &buckets, "idle_timer", "1"]);
        ip(&[family, "route", "replace", &prefix, "nhid", &group]);
    }

    /// Whether the IPv4 group's buckets are spread evenly over `members` next hops.
    fn balanced(rt: &str, members: usize) -> bool {
        let out = Command::new("ip").args(["-n", rt, "nexthop", "bucket", "show", "id", &GROUP4.to_string()]).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(w) = words.windows(2).find(|w| w[0] == "nhid") {
                *per.entry(w[1].to_string()).or_default() += 1;
            }
        }
        per.len() == members && per.values().all(|&n| n.abs_diff(BUCKETS / members) <= 1)
    }
}

impl Drop for ResilientFib {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn hosts(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn ctl(lab: &Lab, dir: &Path, i: usize, cmd: &str) -> String {
    let sock = dir.join(format!("lb{i}.sock"));
    let sock = sock.display().to_string();
    let mut args = vec![bin(), "ctl", "--socket", &sock];
    args.extend(cmd.split_whitespace());
    let out = lab.exec(&format!("lb{i}"), &args);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `GET PATH` on host `lb{i}`'s stats listener (its own loopback).
fn stats_get(lab: &Lab, i: usize, path: &str) -> String {
    let out = lab.exec(&format!("lb{i}"), &["curl", "-s", "--max-time", "5", &format!("http://127.0.0.1:8404{path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Connections from every source in turn for `span`, counted: (ok, failed, per host, longest
/// gap between two successes).
fn load(client: &Client, span: Duration) -> (u64, u64, BTreeMap<String, u64>, Duration) {
    client.run(move || {
        let start = Instant::now();
        let (mut ok, mut failed) = (0u64, 0u64);
        let mut per_host = BTreeMap::new();
        let mut last_ok = Instant::now();
        let mut gap = Duration::ZERO;
        let mut k = 0;
        while start.elapsed() < span {
            match who(k % 5) {
                Ok((_, host)) => {
                    ok += 1;
                    *per_host.entry(host).or_insert(0) += 1;
                    gap = gap.max(last_ok.elapsed());
                    last_ok = Instant::now();
                }
                Err(_) => failed += 1,
            }
            k += 1;
        }
        (ok, failed, per_host, gap)
    })
}

/// The same load on a thread of its own while the test does something else.
fn load_in_background(client: Arc<Client>, span: Duration) -> JoinHandle<(u64, u64, BTreeMap<String, u64>, Duration)> {
    std::thread::spawn(move || load(&client, span))
}

#[test]
fn three_hosts_share_the_vip_by_ecmp_and_withdraw_before_harm() {
    let Some(mut lab) = Lab::new("bgp") else { return };
    if !have("bird") || !have("curl") {
        assert!(!in_ci(), "CI=true but BIRD 2 or curl is missing (tests/install-deps installs bird2 and curl)");
        eprintln!("skipping: BIRD 2 or curl is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("hk-bgp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut procs = Procs { children: Vec::new(), dir: dir.clone() };
    let test_start = Instant::now();

    // Router: LB links 192.0.2.4/30 ×3 (rt .5/.9/.13, lb .6/.10/.14), client 192.0.2.64/26,
    // backends 192.0.2.128/26; the VIPs live in 192.0.2.192/26 and 2001:db8::/32.
    // IPv6: 2001:db8:{i}::/64 per LB link, 2001:db8:64::/64 to the client, no DAD.
    for h in ["rt", "cl", "be", "lb1", "lb2", "lb3"] {
        lab.host(h);
        lab.sysctl(h, "net.ipv6.conf.default.accept_dad", "0");
    }
    lab.sysctl("rt", "net.ipv4.ip_forward", "1");
    lab.sysctl("rt", "net.ipv4.fib_multipath_hash_policy", "1");
    lab.sysctl("rt", "net.ipv6.conf.all.forwarding", "1");
    lab.sysctl("rt", "net.ipv6.fib_multipath_hash_policy", "1");
    for i in 1..=3usize {
        let lb = format!("lb{i}");
        lab.link("rt", &format!("l{i}"), &format!("02:00:00:00:0a:0{i}"), &lb, "eth0", &format!("02:00:00:00:0b:0{i}"));
        lab.ip("rt", &["addr", "add", &format!("192.0.2.{}/30", 4 * i + 1), "dev", &format!("l{i}")]);
        lab.ip(&lb, &["addr", "add", &format!("192.0.2.{}/30", 4 * i + 2), "dev", "eth0"]);
        lab.ip(&lb, &["route", "add", "default", "via", &format!("192.0.2.{}", 4 * i + 1)]);
        lab.ip("rt", &["addr", "add", &format!("2001:db8:{i}::1/64"), "dev", &format!("l{i}")]);
        lab.ip(&lb, &["addr", "add", &format!("2001:db8:{i}::2/64"), "dev", "eth0"]);
        lab.ip(&lb, &["-6", "route", "add", "default", "via", &format!("2001:db8:{i}::1")]);
    }
    lab.link("rt", "c0", "02:00:00:00:0c:01", "cl", "eth0", "02:00:00:00:0c:02");
    lab.ip("rt", &["addr", "add", "192.0.2.65/26", "dev", "c0"]);
    for k in 0..5 {
        lab.ip("cl", &["addr", "add", &format!("192.0.2.{}/26", 66 + k), "dev", "eth0"]);
    }
    lab.ip("cl", &["route", "add", "default", "via", "192.0.2.65"]);
    lab.ip("rt", &["addr", "add", "2001:db8:64::1/64", "dev", "c0"]);
    lab.ip("cl", &["addr", "add", "2001:db8:64::2/64", "dev", "eth0"]);
    lab.ip("cl", &["-6", "route", "add", "default", "via", "2001:db8:64::1"]);
    lab.link("rt", "b0", "02:00:00:00:0d:01", "be", "eth0", "02:00:00:00:0d:02");
    lab.ip("rt", &["addr", "add", "192.0.2.129/26", "dev", "b0"]);
    for k in 0..3 {
        lab.ip("be", &["addr", "add", &format!("192.0.2.{}/26", 130 + k), "dev", "eth0"]);
    }
    lab.ip("be", &["route", "add", "default", "via", "192.0.2.129"]);
    let _backends = Backends::start(&lab.ns("be"));

    let write = |name: &str, text: &str| -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p.display().to_string()
    };
    let rt_conf = write("bird-rt.conf", &router_bird(&dir));
    let rt_sock = dir.join("bird-rt.ctl").display().to_string();
    procs.spawn(&lab.ns("rt"), "bird-rt", &["bird", "-f", "-c", &rt_conf, "-s", &rt_sock]);
    let _fib = ResilientFib::start(lab.ns("rt"));
    for i in 1..=3 {
        let conf = write(&format!("bird-lb{i}.conf"), &lb_bird(i, &dir));
        let sock = dir.join(format!("bird-lb{i}.ctl")).display().to_string();
        procs.spawn(&lab.ns(&format!("lb{i}")), &format!("bird-lb{i}"), &["bird", "-f", "-c", &conf, "-s", &sock]);
        let cfg = write(&format!("lb{i}.ron"), &appliance_config(i, &dir));
        let check = Command::new(bin()).args(["check", "-c", &cfg]).output().expect("hakeeper check");
        assert!(check.status.success(), "{}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
        procs.spawn(&lab.ns(&format!("lb{i}")), &format!("lb{i}"), &[bin(), "run", "--foreground", "-c", &cfg]);
    }

    // All three announce: the router's kernel route has three next hops.
    let all = hosts(&["lb1", "lb2", "lb3"]);
    let up = time_until(Duration::from_secs(20), || nexthops(&lab) == all);
    assert!(up.is_some(), "the router never had three next hops for {VIP}: {:?}\n{}", nexthops(&lab), procs.logs());
    eprintln!("three next hops {:?} after start", test_start.elapsed());
    let even = time_until(Duration::from_secs(5), || ResilientFib::balanced(&lab.ns("rt"), 3));
    assert!(even.is_some(), "the router's resilient group never spread over the three hosts");
    let dev6 = String::from_utf8_lossy(&lab.exec("lb1", &["ip", "-6", "addr", "show", "dev", "hk-announce"]).stdout).to_string();
    assert!(dev6.contains(VIP6), "the IPv6 VIP is not on lb1's announce device: {dev6}");
    let up6 = time_until(Duration::from_secs(10), || nexthops6(&lab) == all);
    assert!(up6.is_some(), "the router never had three next hops for {VIP6}: {:?}\n{}", nexthops6(&lab), procs.logs());
    let shown = ctl(&lab, &dir, 1, "show announce");
    assert!(shown.contains(VIP) && shown.contains("announced"), "show announce on lb1: {shown}");
    let held = format!("hakeeper_announce_held{{vip=\"{VIP}/32\",interface=\"hk-announce\"}} 1");
    let metrics = stats_get(&lab, 1, "/metrics");
    assert!(metrics.contains(&held), "/metrics on lb1 lacks {held}:\n{metrics}");
    let page = stats_get(&lab, 1, "/stats");
    assert!(page.contains(&format!("data-announce=\"{VIP}/32\" data-held=\"true\"")), "stats page on lb1:\n{page}");

    // Traffic: every host carries some; each client keeps one server whatever host its flow
    // hit: `stick on src` on a table the three hosts share by peers (round-robin alone would
    // give a source a different server on each host). One connection per source first, then
    // every host knows the five pins before the flows spread.
    let client = Arc::new(Client::new(&lab.ns("cl")));
    let first: Vec<Who> = client.run(|| (0..5).map(who).collect());
    assert!(first.iter().all(|r| r.is_ok()), "first connections: {first:?}\n{}", procs.logs());
    let shared = time_until(Duration::from_secs(10), || (1..=3).all(|i| ctl(&lab, &dir, i, "show table web").contains("used:5")));
    assert!(
        shared.is_some(),
        "the five pins did not reach every host: {:?}\n{}",
        (1..=3).map(|i| ctl(&lab, &dir, i, "show table web")).collect::<Vec<_>>(),
        procs.logs()
    );
    eprintln!("five pins on all three hosts {:?} after the first connections", shared.unwrap_or_default());
    let seen: Vec<(usize, String, String)> = client.run(|| {
        (0..90).map(|k| who(k % 5).map(|(b, h)| (k % 5, b, h)).unwrap_or_else(|e| (k % 5, format!("error: {e}"), String::new()))).collect()
    });
    let failed: Vec<_> = seen.iter().filter(|(_, b, _)| b.starts_with("error")).collect();
    assert!(failed.is_empty(), "connections failed: {failed:?}\n{}", procs.logs());
    let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_src: BTreeMap<usize, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for (src, backend, host) in &seen {
        *per_host.entry(host).or_default() += 1;
        let e = per_src.entry(*src).or_default();
        e.0.insert(backend);
        e.1.insert(host);
    }
    eprintln!("90 connections by host: {per_host:?}; by source (servers, hosts): {per_src:?}");
    assert_eq!(per_host.len(), 3, "not every host carried traffic: {per_host:?}");
    let mut pinned: BTreeMap<usize, String> = BTreeMap::new();
    for (src, (backends, hosts)) in &per_src {
        assert_eq!(backends.len(), 1, "source .{} got several servers across hosts: {backends:?} via {hosts:?}", 66 + src);
        pinned.insert(*src, backends.iter().next().map(|b| b.to_string()).unwrap_or_default());
    }
    let servers_used: BTreeSet<&String> = pinned.values().collect();
    assert!(servers_used.len() >= 2, "round-robin pinned all five sources to one server: {pinned:?}");
    assert!(per_src.values().any(|(_, h)| h.len() >= 2), "no client's flows landed on two hosts: {per_src:?}");
    // The /128 is announced and served by all three too.
    let seen6: Vec<Result<String, String>> = client.run(|| {
        let vip6: SocketAddr = format!("[{VIP6}]:{PORT}").parse().expect("vip6");
        (0..30)
            .map(|_| {
                let s = TcpStream::connect_timeout(&vip6, CONNECT_TIMEOUT).map_err(|e| format!("connect {vip6}: {e}"))?;
                s.set_read_timeout(Some(CONNECT_TIMEOUT)).map_err(|e| e.to_string())?;
                greeting(&s).map(|(_, peer)| host_of(&peer))
            })
            .collect()
    });
    let hosts6: BTreeSet<&String> = seen6.iter().filter_map(|r| r.as_ref().ok()).collect();
    eprintln!("30 IPv6 connections: hosts {hosts6:?}");
    assert!(seen6.iter().all(|r| r.is_ok()) && hosts6.len() == 3, "IPv6 VIP: {seen6:?}\n{}", procs.logs());

    // A host whose backends are all unreachable withdraws, and announces again once they return.
    lab.ip("lb3", &["route", "add", "prohibit", "192.0.2.128/26"]);
    let gone = time_until(Duration::from_secs(5), || nexthops(&lab) == hosts(&["lb1", "lb2"]));
    assert!(gone.is_some(), "lb3 kept announcing with no backend: {:?}\n{}", nexthops(&lab), procs.logs());
    eprintln!("lb3 withdrew {:?} after losing its backends", gone.unwrap_or_default());
    let shown = ctl(&lab, &dir, 3, "show announce");
    assert!(shown.contains("withdrawn") && shown.contains("backend web"), "show announce on lb3: {shown}");
    let metrics = stats_get(&lab, 3, "/metrics");
    assert!(metrics.contains(&format!("hakeeper_announce_held{{vip=\"{VIP}/32\",interface=\"hk-announce\"}} 0")), "{metrics}");
    let (ok, failed, by_host, _) = load(&client, Duration::from_millis(800));
    assert!(failed == 0 && !by_host.contains_key("lb3"), "while lb3 is withdrawn: {ok} ok, {failed} failed, {by_host:?}");
    lab.ip("lb3", &["route", "del", "prohibit", "192.0.2.128/26"]);
    let back = time_until(Duration::from_secs(5), || nexthops(&lab) == all);
    assert!(back.is_some(), "lb3 did not announce again: {:?}\n{}", nexthops(&lab), procs.logs());
    // lb3 announces with one server UP; a source pinned to a server still DOWN there is
    // balanced anew and its pin moves (HAProxy's `stick on` does the same). The pins are read
    // again once lb3 sees the three servers UP.
    let even = time_until(Duration::from_secs(5), || ResilientFib::balanced(&lab.ns("rt"), 3));
    assert!(even.is_some(), "lb3 never got its share of the router's buckets back");
    let all_up = time_until(Duration::from_secs(5), || {
        stats_get(&lab, 3, "/metrics")
            .lines()
            .any(|l| l.starts_with("haproxy_backend_active_servers{") && l.contains("\"web\"") && l.ends_with(" 3"))
    });
    assert!(all_up.is_some(), "lb3 never saw its three servers UP again\n{}", stats_get(&lab, 3, "/metrics"));
    let again: Vec<(usize, Who)> = client.run(|| (0..15).map(|k| (k % 5, who(k % 5))).collect());
    pinned.clear();
    for (src, r) in &again {
        let backend = r.as_ref().map(|(b, _)| b.clone()).unwrap_or_else(|e| panic!("source .{}: {e}", 66 + src));
        let was = pinned.entry(*src).or_insert_with(|| backend.clone());
        assert_eq!(*was, backend, "source .{} got two servers with every host up", 66 + src);
    }

    // kill -9 of lb3's whole appliance: its route goes within KILL_BOUND, with no hakeeper
    // process left to withdraw it. Established connections on lb1/lb2 are counted.
    let held: Vec<(TcpStream, String)> = client.run(|| {
        let mut held = Vec::new();
        for k in 0..60 {
            let src = Ipv4Addr::new(192, 0, 2, 66 + (k % 5) as u8);
            if let Ok(s) = connect_from(src, SocketAddrV4::new(VIP.parse().expect("vip"), PORT), CONNECT_TIMEOUT) {
                if let Ok((_, peer)) = greeting(&s) {
                    held.push((s, host_of(&peer)));
                }
            }
        }
        held
    });
    let background = load_in_background(client.clone(), Duration::from_secs(3));
    std::thread::sleep(Duration::from_millis(500));
    let lb3 = procs.pid("lb3") as i32;
    let mut victims = descendants(lb3);
    victims.push(lb3);
    let killed_at = Instant::now();
    for pid in &victims {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
    }
    let gone = time_until(Duration::from_secs(5), || nexthops(&lab) == hosts(&["lb1", "lb2"]));
    let withdrawn_after = gone.map(|_| killed_at.elapsed());
    let (ok, failed, by_host, gap) = background.join().expect("load thread");
    eprintln!(
        "kill -9 of lb3: route withdrawn after {withdrawn_after:?} (bound {KILL_BOUND:?}); during 3 s of load {ok} ok, {failed} failed, \
         longest gap {gap:?}, by host {by_host:?}"
    );
    let withdrawn_after =
        withdrawn_after.unwrap_or_else(|| panic!("lb3's route stayed after kill -9: {:?}\n{}", nexthops(&lab), procs.logs()));
    assert!(withdrawn_after <= KILL_BOUND, "withdrawn only after {withdrawn_after:?}");
    // lb3's flows moved to lb1/lb2: every source still reaches the server it was pinned to.
    let after: Vec<(usize, Who)> = client.run(|| (0..30).map(|k| (k % 5, who(k % 5))).collect());
    for (src, r) in &after {
        match r {
            Ok((backend, _)) => assert_eq!(Some(backend), pinned.get(src), "source .{} changed server after lb3's kill -9", 66 + src),
            Err(e) => panic!("source .{}: {e}\n{}", 66 + src, procs.logs()),
        }
    }
    let hosts_after: BTreeSet<&String> = after.iter().filter_map(|(_, r)| r.as_ref().ok().map(|(_, h)| h)).collect();
    eprintln!("after lb3's kill -9, 30 connections kept their pins via {hosts_after:?}");
    let survivors: Vec<&(TcpStream, String)> = held.iter().filter(|(_, h)| h != "lb3").collect();
    let alive = survivors.iter().filter(|(s, _)| echo(s, "still there?").is_ok()).count();
    eprintln!("established connections on lb1/lb2 after lb3's withdrawal: {alive} of {} still work", survivors.len());
    assert!(!survivors.is_empty(), "no held connection landed on lb1 or lb2");
    // With resilient hashing on the router, only lb3's buckets moved: every connection lb1 and
    // lb2 held is untouched.
    assert_eq!(alive, survivors.len(), "established connections on lb1/lb2 were broken by lb3's kill -9\n{}", procs.logs());
    drop(held);

    // SIGTERM of lb2: withdraw, serve withdraw_wait on, then drain: no new connection fails.
    let background = load_in_background(client.clone(), Duration::from_secs(4));
    std::thread::sleep(Duration::from_millis(500));
    let stopped_at = Instant::now();
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(procs.pid("lb2") as i32), nix::sys::signal::Signal::SIGTERM);
    let gone = time_until(Duration::from_secs(3), || nexthops(&lab) == hosts(&["lb1"]));
    let withdrawn_after = gone.map(|_| stopped_at.elapsed());
    let exited = procs.wait_exit("lb2", Duration::from_secs(8));
    let (ok, failed, by_host, gap) = background.join().expect("load thread");
    eprintln!(
        "SIGTERM of lb2: route withdrawn after {withdrawn_after:?}, exited: {exited}; during 4 s of load {ok} ok, {failed} failed, \
         longest gap {gap:?}, by host {by_host:?}"
    );
    assert!(withdrawn_after.is_some(), "lb2's route stayed after SIGTERM\n{}", procs.logs());
    assert!(exited, "lb2 did not exit within 8 s of SIGTERM\n{}", procs.log("lb2"));
    assert_eq!(failed, 0, "new connections failed during lb2's SIGTERM\n{}", procs.log("lb2"));
    assert!(by_host.contains_key("lb1"), "{by_host:?}");
    assert!(procs.log("lb2").contains("announce: withdrawing this host's VIPs: stopping"), "{}", procs.log("lb2"));

    // A reload that drops the IPv6 VIP: its route goes, the IPv4 one stays announced.
    let cfg = dir.join("lb1.ron");
    let reloaded = appliance_config(1, &dir).replace(&format!(", \"{VIP6}\"]"), "]").replace(&format!(", \"[{VIP6}]:{PORT}\""), "");
    assert!(!reloaded.contains(VIP6), "{reloaded}");
    std::fs::write(&cfg, reloaded).expect("rewrite lb1.ron");
    let monitor = procs.spawn(&lab.ns("rt"), "rt-monitor", &["ip", "-4", "monitor", "route"]);
    std::thread::sleep(Duration::from_millis(200));
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(procs.pid("lb1") as i32), nix::sys::signal::Signal::SIGHUP);
    let gone6 = time_until(Duration::from_secs(5), || nexthops6(&lab).is_empty());
    assert!(gone6.is_some(), "the dropped IPv6 VIP is still routed to {:?}\n{}", nexthops6(&lab), procs.log("lb1"));
    std::thread::sleep(Duration::from_millis(300));
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(monitor as i32), nix::sys::signal::Signal::SIGTERM);
    procs.wait_exit("rt-monitor", Duration::from_secs(2));
    let changes = procs.log("rt-monitor");
    assert!(!changes.contains(VIP), "the IPv4 VIP's route changed during the reload (a flap):\n{changes}");
    assert_eq!(nexthops(&lab), hosts(&["lb1"]), "the IPv4 VIP must stay announced through the reload");
    let (ok, failed, _, _) = load(&client, Duration::from_millis(300));
    assert!(ok > 0 && failed == 0, "after the reload: {ok} ok, {failed} failed");

    // The announce device deleted by hand: vrrpd creates it again with the announcement.
    let del = lab.exec("lb1", &["ip", "link", "del", "hk-announce"]);
    assert!(del.status.success(), "ip link del hk-announce: {}", String::from_utf8_lossy(&del.stderr));
    let back = time_until(Duration::from_secs(3), || {
        let dev = String::from_utf8_lossy(&lab.exec("lb1", &["ip", "-4", "addr", "show", "dev", "hk-announce"]).stdout).to_string();
        dev.contains(VIP) && nexthops(&lab) == hosts(&["lb1"])
    });
    assert!(back.is_some(), "the deleted announce device did not come back: {:?}\n{}", nexthops(&lab), procs.log("lb1"));
    eprintln!("announce device deleted by hand: back and announced after {:?}", back.unwrap_or_default());
    let recreated = time_until(Duration::from_secs(2), || procs.log("lb1").contains("is gone; creating it again"));
    assert!(recreated.is_some(), "vrrpd did not notice the deleted device\n{}", procs.log("lb1"));

    drop(client);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(procs.pid("lb1") as i32), nix::sys::signal::Signal::SIGTERM);
    assert!(procs.wait_exit("lb1", Duration::from_secs(8)), "lb1 did not stop\n{}", procs.log("lb1"));
    eprintln!("lab done in {:?}", test_start.elapsed());
    assert!(test_start.elapsed() < Duration::from_secs(90), "the lab took {:?}", test_start.elapsed());
}
