//! The high-availability lab of issue 7: two LB hosts (`lb1`, `lb2`) each running a whole
//! appliance, three HTTP backends each in a namespace of its own (`s1`..`s3`), and a client
//! namespace (`cl`) sending a steady stream of new connections and requests to the VIP while it
//! records every attempt with timestamps. What runs on the LB hosts sits behind [`Stack`], so the
//! benchmark (tests/bench/ha.rs) runs the very same scenarios with keepalived + HAProxy.

pub mod backends;
pub mod client;
pub mod hakeeper;
pub mod procfs;
pub mod scenarios;
pub mod watch;

use super::netns::{ip, time_until, Lab, VIP};
use backends::Backends;
use client::Client;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Every host of the lab, in creation order (so lb1 = .11, lb2 = .12, s1 = .13 ... cl = .16).
pub const HOSTS: [&str; 6] = ["lb1", "lb2", "s1", "s2", "s3", "cl"];
pub const BACKENDS: [&str; 3] = ["s1", "s2", "s3"];
pub const MASTER: &str = "lb1";
pub const BACKUP: &str = "lb2";
pub const MASTER_PRIORITY: u8 = 150;
pub const BACKUP_PRIORITY: u8 = 100;
pub const BACKEND_PORT: u16 = 8080;
pub const VIP_PORT: u16 = 80;

/// How the two LB hosts find each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peering {
    /// 224.0.0.18, no pair setting: RFC timing (a backup waits Skew_Time on priority 0).
    Multicast,
    /// 224.0.0.18 with hakeeper's `pair: true` (keepalived has no such setting).
    MulticastPair,
    /// `unicast_src_ip` + one `unicast_peer` each: a pair for hakeeper.
    Unicast,
}

/// VRRP timing and peering, the same on both LB hosts apart from the priority.
#[derive(Debug, Clone, Copy)]
pub struct Vrrp {
    pub version: u8,
    pub advert_int: Duration,
    pub peering: Peering,
}

impl Vrrp {
    /// keepalived's defaults and the seed's: v2, one advert a second, multicast.
    pub const V2_1S: Vrrp = Vrrp { version: 2, advert_int: Duration::from_secs(1), peering: Peering::Multicast };
    /// v3 at 10 centiseconds.
    pub const V3_100MS: Vrrp = Vrrp { version: 3, advert_int: Duration::from_millis(100), peering: Peering::Multicast };

    pub fn with(self, peering: Peering) -> Vrrp {
        Vrrp { peering, ..self }
    }

    /// The peer of `host` (the other LB host).
    pub fn peer_of(host: &str) -> &'static str {
        if host == MASTER {
            BACKUP
        } else {
            MASTER
        }
    }

    /// The advert interval as hakeeper's config writes it.
    pub fn advert_text(&self) -> String {
        format!("{}ms", self.advert_int.as_millis())
    }

    /// The advert interval as keepalived's config writes it (seconds, fractions allowed in v3).
    pub fn advert_seconds(&self) -> String {
        format!("{}", self.advert_int.as_secs_f64())
    }

    /// Skew_Time of a backup with `priority` (RFC 3768: (256 - p) / 256 s; RFC 5798 scales it by
    /// the advert interval).
    pub fn skew(&self, priority: u8) -> Duration {
        let unit = if self.version == 2 { Duration::from_secs(1) } else { self.advert_int };
        unit.mul_f64(f64::from(256 - u32::from(priority)) / 256.0)
    }

    /// Master_Down_Interval of a backup with `priority`.
    pub fn master_down(&self, priority: u8) -> Duration {
        self.advert_int * 3 + self.skew(priority)
    }
}

/// What runs on an LB host: hakeeper, or (in the benchmark) the seed's keepalived + HAProxy.
pub trait Stack {
    fn name(&self) -> &'static str;
    /// Starts the whole appliance on `host`, proxying the VIP to `servers` (backend host names).
    fn start(&mut self, ha: &mut HaLab, host: &str, priority: u8, servers: &[&str]);
    /// The processes that proxy traffic on `host` (the ones a crash test kills).
    fn workers(&self, ha: &HaLab, host: &str) -> Vec<i32>;
    /// Stops the appliance on `host` the orderly way (SIGTERM).
    fn stop(&mut self, ha: &HaLab, host: &str);
    /// A planned hand-over of `host`'s VIP while its proxy keeps running (hakeeper: `ctl
    /// switchover`; the seed: keepalived stopped alone).
    fn switchover(&mut self, ha: &HaLab, host: &str);
    /// Reloads `host` with a config whose backend has `servers`.
    fn reload(&mut self, ha: &mut HaLab, host: &str, priority: u8, servers: &[&str]);
}

/// The lab: namespaces, backends, and the client once started. Dropping it stops the client,
/// kills by PID every process left in the lab's namespaces, then removes the namespaces.
pub struct HaLab {
    pub lab: Lab,
    pub vrrp: Vrrp,
    backends: Backends,
    client: Option<Client>,
}

impl HaLab {
    /// Builds the namespaces and starts the backends. None (after saying why) when namespaces
    /// cannot be made here; under CI=true that is a failure instead (see [`Lab::new`]).
    pub fn new(tag: &str, vrrp: Vrrp) -> Option<HaLab> {
        let lab = Lab::new(tag, &HOSTS)?;
        let mut backends = Backends::default();
        for name in BACKENDS {
            let addr: SocketAddr = format!("{}:{BACKEND_PORT}", lab.addr(name)).parse().unwrap_or_else(|e| panic!("address: {e}"));
            backends.start(&lab.ns(name), name, addr);
        }
        Some(HaLab { lab, vrrp, backends, client: None })
    }

    /// Where the client sends its requests.
    pub fn vip(&self) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 100], VIP_PORT))
    }

    /// `host:8080` of a backend.
    pub fn backend_addr(&self, host: &str) -> String {
        format!("{}:{BACKEND_PORT}", self.lab.addr(host))
    }

    /// Whether `host` holds the VIP and the other LB host does not.
    pub fn sole_holder(&self, host: &str) -> bool {
        let other = if host == MASTER { BACKUP } else { MASTER };
        self.lab.has_addr(host, VIP) && !self.lab.has_addr(other, VIP)
    }

    /// Starts the client in its namespace.
    pub fn start_client(&mut self) {
        let client = Client::start(&self.lab.ns("cl"), self.vip());
        self.client = Some(client);
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().unwrap_or_else(|| panic!("the client is not running"))
    }

    /// Every process in `host`'s namespace (`ip netns pids`): the whole appliance of that host.
    pub fn host_pids(&self, host: &str) -> Vec<i32> {
        let out = ip(&["netns", "pids", &self.lab.ns(host)]);
        let own = std::process::id() as i32;
        String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()).filter(|p| *p != own).collect()
    }

    /// Waits (bounded) until `host` is the only holder of the VIP; how long that took.
    pub fn wait_sole_holder(&self, host: &str, timeout: Duration) -> Option<Duration> {
        time_until(timeout, || self.sole_holder(host))
    }

    /// The last lines of every log of the lab, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(&self.lab.dir) else { return out };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "log")).collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(60)..];
            out.push_str(&format!("==== {} (last {} of {} lines)\n{}\n", p.display(), tail.len(), lines.len(), tail.join("\n")));
        }
        out
    }

    /// Kills every process in the lab's namespaces by PID, until none is left (bounded).
    fn kill_all_hosts(&self) {
        let end = Instant::now() + Duration::from_secs(3);
        loop {
            let pids: Vec<i32> = HOSTS.iter().flat_map(|h| self.host_pids(h)).collect();
            if pids.is_empty() || Instant::now() > end {
                return;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HaLab {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            client.stop();
        }
        self.kill_all_hosts();
        self.backends.stop();
        // Then `lab` drops: its own children are reaped and the namespaces removed.
    }
}
