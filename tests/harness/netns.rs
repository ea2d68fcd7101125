//! Network namespaces for the VRRP end-to-end tests (VRRP-NOTES §4): a bridge in a namespace of
//! its own (multicast snooping off), one namespace per host with `eth0` in 192.0.2.0/24, nothing
//! connected to the root namespace. Names carry the test's PID and tag; everything a lab made
//! (namespaces, processes by PID) is removed on drop, also when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The virtual address every VRRP test moves around.
pub const VIP: &str = "192.0.2.100";
/// The IPv6 one (VRRPv3).
pub const VIP6: &str = "2001:db8::100";

/// One lab at a time per test binary: failover timings are asserted to half a second, and two
/// labs electing at once on two cores would blur them.
static ONE_LAB: Mutex<()> = Mutex::new(());

fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// Runs `ip ARGS`, returning its output (never panics: callers decide what a failure means).
pub fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(127 << 8),
        stdout: Vec::new(),
        stderr: format!("cannot run ip: {e}").into_bytes(),
    })
}

fn must(args: &[&str]) {
    let out = ip(args);
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// A host's address on the lab network: hosts are numbered from .11 in creation order.
pub fn host_addr(index: usize) -> String {
    format!("192.0.2.{}", 11 + index)
}

/// A host's IPv6 address on the lab network (2001:db8::/64).
pub fn host_addr6(index: usize) -> String {
    format!("2001:db8::{}", 11 + index)
}

/// A host's deterministic MAC (02:00:c0:00:02:XX, XX = last address byte).
pub fn host_mac(index: usize) -> String {
    format!("02:00:c0:00:02:{:02x}", 11 + index)
}

pub struct Lab {
    prefix: String,
    hosts: Vec<String>,
    children: Vec<Child>,
    /// PID files of processes this lab did not spawn itself (keepalived's VRRP child).
    pidfiles: Vec<PathBuf>,
    pub dir: PathBuf,
    _one: MutexGuard<'static, ()>,
}

impl Lab {
    /// Builds the lab with `hosts` (short names, e.g. "lb1", "lb2", "cl"). Returns None, after
    /// saying why, when namespaces cannot be made here; under CI=true that is a failure instead.
    pub fn new(tag: &str, hosts: &[&str]) -> Option<Lab> {
        let one = ONE_LAB.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let prefix = format!("hk{}-{tag}", std::process::id());
        let probe = ip(&["netns", "add", &format!("{prefix}-sw")]);
        if !probe.status.success() {
            let why = String::from_utf8_lossy(&probe.stderr).trim().to_string();
            assert!(!in_ci(), "CI=true but network namespaces cannot be created (need root and iproute2): {why}");
            eprintln!("skipping: cannot create network namespaces ({why}); run as root to include the VRRP tests");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("{prefix}-lab"));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            let _ = ip(&["netns", "del", &format!("{prefix}-sw")]);
            panic!("cannot create {}: {e}", dir.display());
        }
        let mut lab = Lab { prefix, hosts: Vec::new(), children: Vec::new(), pidfiles: Vec::new(), dir, _one: one };
        let sw = lab.ns("sw");
        must(&["-n", &sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"]);
        must(&["-n", &sw, "link", "set", "br0", "up"]);
        for (i, host) in hosts.iter().enumerate() {
            let ns = lab.ns(host);
            must(&["netns", "add", &ns]);
            lab.hosts.push(host.to_string());
            // No duplicate address detection: link-local and lab addresses are usable at once.
            let dad = lab.exec(host, &["sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"]);
            assert!(dad.status.success(), "accept_dad in {host}: {}", String::from_utf8_lossy(&dad.stderr));
            let port = format!("p-{host}");
            must(&["-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            must(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
            must(&["-n", &ns, "link", "set", "eth0", "address", &host_mac(i)]);
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
            must(&["-n", &ns, "addr", "add", &format!("{}/24", host_addr(i)), "dev", "eth0"]);
            must(&["-n", &ns, "addr", "add", &format!("{}/64", host_addr6(i)), "dev", "eth0"]);
        }
        Some(lab)
    }

    /// The namespace name of `host`.
    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    fn index(&self, host: &str) -> usize {
        self.hosts.iter().position(|h| h == host).unwrap_or_else(|| panic!("no host {host} in this lab"))
    }

    pub fn addr(&self, host: &str) -> String {
        host_addr(self.index(host))
    }

    pub fn mac(&self, host: &str) -> String {
        host_mac(self.index(host))
    }

    /// Starts `program ARGS` inside `host`'s namespace, output to `DIR/NAME.log`.
    pub fn spawn(&mut self, host: &str, name: &str, program: &Path, args: &[&str]) -> u32 {
        let log = self.log_path(name);
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = file.try_clone().unwrap_or_else(|e| panic!("dup log fd: {e}"));
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(host)])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} in {host}: {e}", program.display()));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    pub fn signal(&self, pid: u32, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
    }

    /// Waits (bounded) for a process this lab started to exit.
    pub fn wait_exit(&mut self, pid: u32, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        let child = self.children.iter_mut().find(|c| c.id() == pid)?;
        while Instant::now() < end {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Whether `host` has `addr` on eth0.
    pub fn has_addr(&self, host: &str, addr: &str) -> bool {
        let out = ip(&["-n", &self.ns(host), "-o", "addr", "show", "dev", "eth0"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().any(|w| w.split('/').next() == Some(addr))
    }

    /// The MAC `host` has in its neighbour table for `addr`, if any.
    pub fn neighbour_mac(&self, host: &str, addr: &str) -> Option<String> {
        let out = ip(&["-n", &self.ns(host), "neigh", "show", addr, "dev", "eth0"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let words: Vec<&str> = text.split_whitespace().collect();
        words.iter().position(|w| *w == "lladdr").and_then(|i| words.get(i + 1)).map(|s| s.to_string())
    }

    /// Runs a command inside `host` (bounded by the command itself, e.g. `ping -c1 -W1`).
    pub fn exec(&self, host: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["netns", "exec"];
        let ns = self.ns(host);
        args.push(&ns);
        args.extend_from_slice(cmd);
        ip(&args)
    }

    /// Stops the bridge from forwarding multicast (it still forwards broadcast and unicast).
    pub fn block_multicast(&self) {
        let sw = self.ns("sw");
        for host in &self.hosts {
            must(&["-n", &sw, "link", "set", &format!("p-{host}"), "type", "bridge_slave", "mcast_flood", "off"]);
        }
    }

    /// Takes `host`'s switch port down or up (the host sees its carrier go).
    pub fn set_port(&self, host: &str, up: bool) {
        must(&["-n", &self.ns("sw"), "link", "set", &format!("p-{host}"), if up { "up" } else { "down" }]);
    }

    /// Writes `text` to `DIR/name` and returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Runs vrrpd (the `vrrp_lab` example) on `host` with one instance; its log is `HOST.log`.
    pub fn start_vrrp(&mut self, host: &str, spec: &InstanceSpec) -> u32 {
        self.start_vrrp_ron(host, &vrrp_config(host, spec))
    }

    /// Runs vrrpd on `host` with a config written out in full.
    pub fn start_vrrp_ron(&mut self, host: &str, ron: &str) -> u32 {
        let config = self.write(&format!("{host}.ron"), ron);
        let config = config.to_string_lossy().into_owned();
        self.spawn(host, host, vrrp_lab(), &[&config])
    }

    /// Makes `host` resolve `addr` (one UDP datagram through bash, no extra tools needed) and
    /// returns the MAC it learned.
    pub fn resolve(&self, host: &str, addr: &str) -> Option<String> {
        let _ = self.exec(host, &["bash", "-c", &format!("echo probe > /dev/udp/{addr}/9")]);
        time_until(Duration::from_secs(2), || self.neighbour_mac(host, addr).is_some())?;
        self.neighbour_mac(host, addr)
    }

    /// Runs keepalived (VRRP only, in the foreground, logging to `HOST.log`) on `host` with one
    /// instance; returns (parent PID, VRRP child PID).
    pub fn start_keepalived(&mut self, host: &str, spec: &InstanceSpec) -> (u32, u32) {
        let config = self.write(&format!("{host}.conf"), &keepalived_config(host, spec));
        let pid = |kind: &str| self.dir.join(format!("{host}-{kind}.pid")).to_string_lossy().into_owned();
        let (main_pid, vrrp_pid, chk_pid) = (pid("main"), pid("vrrp"), pid("checker"));
        self.pidfiles.push(PathBuf::from(&vrrp_pid));
        let config = config.to_string_lossy().into_owned();
        let args = ["-n", "-l", "-D", "-G", "-P", "-R", "-f", &config, "-p", &main_pid, "-r", &vrrp_pid, "-c", &chk_pid];
        let parent = self.spawn(host, host, Path::new(KEEPALIVED), &args);
        let vrrp_path = PathBuf::from(&vrrp_pid);
        let child = time_until(Duration::from_secs(5), || read_pid(&vrrp_path).is_some()).and_then(|_| read_pid(&vrrp_path));
        let child = child.unwrap_or_else(|| panic!("keepalived on {host} wrote no VRRP pid file\n{}", self.logs()));
        (parent, child)
    }

    /// Every log of the lab, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            let mut paths: Vec<PathBuf> =
                entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "log")).collect();
            paths.sort();
            for p in paths {
                out.push_str(&format!("==== {}\n{}\n", p.display(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for pidfile in &self.pidfiles {
            if let Some(pid) = read_pid(pidfile) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
            }
        }
        for child in &mut self.children {
            // `ip netns exec` execs the program, so this PID is the program itself.
            let _ = child.kill();
            let _ = child.wait();
        }
        for host in &self.hosts {
            let _ = ip(&["netns", "del", &self.ns(host)]);
        }
        let _ = ip(&["netns", "del", &self.ns("sw")]);
        if std::thread::panicking() {
            eprintln!("lab files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where Debian installs keepalived (tests/install-deps installs it).
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Whether keepalived is installed; without it the interop tests skip, or fail under CI=true.
pub fn have_keepalived() -> bool {
    if Path::new(KEEPALIVED).exists() {
        return true;
    }
    assert!(!in_ci(), "CI=true but {KEEPALIVED} is missing: run tests/install-deps");
    eprintln!("skipping: {KEEPALIVED} is not installed (apt-get install keepalived)");
    false
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Polls `cond` every 10 ms; how long it took to become true, or None after `timeout`.
pub fn time_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// `vrrpd/examples/vrrp_lab`, which runs vrrpd alone from a RON config (built on first use).
pub fn vrrp_lab() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // This test runs from target/PROFILE/deps/; examples live in target/PROFILE/examples/.
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
        let profile_dir = exe.parent().and_then(Path::parent).unwrap_or_else(|| panic!("odd test path {}", exe.display()));
        let target_dir = profile_dir.parent().unwrap_or(profile_dir);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut build = Command::new(cargo);
        build.args(["build", "-q", "-p", "hakeeper-vrrpd", "--example", "vrrp_lab", "--manifest-path"]).arg(&manifest);
        build.arg("--target-dir").arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.stdin(Stdio::null()).status().unwrap_or_else(|e| panic!("cannot run cargo to build vrrp_lab: {e}"));
        assert!(status.success(), "building the vrrp_lab example failed");
        let path = profile_dir.join("examples/vrrp_lab");
        assert!(path.exists(), "{} missing after the build", path.display());
        path
    })
}

/// One VRRP instance of a lab host's config, written as RON.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub vrid: u8,
    pub priority: u8,
    pub version: u8,
    pub preempt: bool,
    pub advert_int: &'static str,
    pub password: Option<&'static str>,
    pub unicast_src: Option<String>,
    pub unicast_peers: Vec<String>,
    pub vips: Vec<&'static str>,
}

impl Default for InstanceSpec {
    fn default() -> Self {
        InstanceSpec {
            vrid: 51,
            priority: 100,
            version: 2,
            preempt: true,
            advert_int: "1s",
            password: None,
            unicast_src: None,
            unicast_peers: Vec::new(),
            vips: vec![VIP],
        }
    }
}

/// A hakeeper config with one VRRP instance `VI_1` on eth0 holding [`VIP`].
pub fn vrrp_config(router_id: &str, spec: &InstanceSpec) -> String {
    let auth = spec.password.map(|p| format!("auth: pass(\"{p}\"), ")).unwrap_or_default();
    let unicast = match &spec.unicast_src {
        Some(src) => {
            let peers: Vec<String> = spec.unicast_peers.iter().map(|p| format!("\"{p}\"")).collect();
            format!("unicast_src_ip: \"{src}\", unicast_peers: [{}], ", peers.join(", "))
        }
        None => String::new(),
    };
    format!(
        "(\n  vrrp: (\n    router_id: \"{router_id}\",\n    instances: [(\n      name: \"VI_1\", interface: \"eth0\", vrid: {}, priority: {}, version: {},\n      \
         state: backup, preempt: {}, advert_int: \"{}\", {auth}{unicast}\n      vips: [{}],\n    )],\n  ),\n)\n",
        spec.vrid,
        spec.priority,
        spec.version,
        spec.preempt,
        spec.advert_int,
        spec.vips.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
    )
}

/// The same instance as [`vrrp_config`], in keepalived's syntax.
pub fn keepalived_config(router_id: &str, spec: &InstanceSpec) -> String {
    let mut inst = format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {}\n  priority {}\n  advert_int {}\n  version {}\n",
        spec.vrid,
        spec.priority,
        spec.advert_int.trim_end_matches('s'),
        spec.version
    );
    if !spec.preempt {
        inst.push_str("  nopreempt\n");
    }
    if let Some(p) = spec.password {
        inst.push_str(&format!("  authentication {{\n    auth_type PASS\n    auth_pass {p}\n  }}\n"));
    }
    if let Some(src) = &spec.unicast_src {
        inst.push_str(&format!("  unicast_src_ip {src}\n  unicast_peer {{\n"));
        for p in &spec.unicast_peers {
            inst.push_str(&format!("    {p}\n"));
        }
        inst.push_str("  }\n");
    }
    inst.push_str("  virtual_ipaddress {\n");
    for v in &spec.vips {
        inst.push_str(&format!("    {v}\n"));
    }
    inst.push_str("  }\n}\n");
    format!("global_defs {{\n  router_id {router_id}\n}}\n{inst}")
}
