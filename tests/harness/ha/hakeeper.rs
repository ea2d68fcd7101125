//! hakeeper as the lab's appliance: `hakeeper run -c HOST.ron --foreground` on each LB host,
//! with the built-in tracks that replace the seed's `haproxy_check.sh`.

use super::{HaLab, Peering, Stack, Vrrp, VIP_PORT};
use crate::harness::netns::VIP;
use crate::harness::process::{binary, children_of, run_cli};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Worker exits that make a host give up its VIPs, and the window they are counted in: the
/// design's 5, in a window short enough that a crash-loop test sees the proxy come back.
pub const CRASH_EXITS: u32 = 5;
pub const CRASH_WINDOW_SECS: u64 = 10;

#[derive(Default)]
pub struct Hakeeper {
    supervisors: HashMap<String, i32>,
}

impl Hakeeper {
    /// The supervisor's PID on `host`.
    pub fn supervisor(&self, host: &str) -> i32 {
        *self.supervisors.get(host).unwrap_or_else(|| panic!("hakeeper is not running on {host}"))
    }
}

/// The appliance config of one LB host: a TCP listener on the VIP in front of `servers`, each
/// checked twice a second; one VRRP instance tracking the proxy and the backends, FAULT (weight
/// 0) when either fails.
pub fn config(ha: &HaLab, host: &str, priority: u8, servers: &[&str]) -> String {
    let servers: Vec<String> = servers
        .iter()
        .map(|s| format!("(name: \"{s}\", addr: \"{}\", check: (inter: \"500ms\", rise: 2, fall: 2))", ha.backend_addr(s)))
        .collect();
    let auth = if ha.vrrp.version == 2 { "auth: pass(\"1111\"), " } else { "" };
    let peering = match ha.vrrp.peering {
        Peering::Multicast => String::new(),
        Peering::MulticastPair => "pair: true, ".to_string(),
        // One peer: a pair without saying so.
        Peering::Unicast => {
            format!("unicast_src_ip: \"{}\", unicast_peers: [\"{}\"], ", ha.lab.addr(host), ha.lab.addr(Vrrp::peer_of(host)))
        }
    };
    let ctl = ha.lab.dir.join(format!("{host}-ctl.sock"));
    format!(
        r#"(
  global: (user: "nobody", hard_stop_after: "5s", ctl_socket: "{ctl}",
           worker_crash_limit: (exits: {CRASH_EXITS}, window: "{CRASH_WINDOW_SECS}s")),
  defaults: (mode: tcp, log: false, retries: 3, redispatch: true, abortonclose: true,
             timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "web", bind: ["{VIP}:{VIP_PORT}"], balance: roundrobin, health_check: tcp,
            servers: [{servers}])],
  vrrp: (
    router_id: "{host}",
    scripts: [
      (name: "chk_proxy", builtin: proxy_alive, weight: 0),
      (name: "chk_backends", builtin: min_servers_up(backend: "web", servers: 1), weight: 0),
    ],
    instances: [(name: "VI_1", interface: "eth0", vrid: 35, priority: {priority}, version: {version},
                 state: backup, preempt: true, advert_int: "{advert}", {auth}{peering}vips: ["{VIP}"],
                 track: [(script: "chk_proxy"), (script: "chk_backends")])],
  ),
)
"#,
        ctl = ctl.display(),
        servers = servers.join(",\n                      "),
        version = ha.vrrp.version,
        advert = ha.vrrp.advert_text(),
    )
}

impl Stack for Hakeeper {
    fn name(&self) -> &'static str {
        "hakeeper"
    }

    fn start(&mut self, ha: &mut HaLab, host: &str, priority: u8, servers: &[&str]) {
        let path = ha.lab.write(&format!("{host}.ron"), &config(ha, host, priority, servers));
        let path = path.to_string_lossy().into_owned();
        let pid = ha.lab.spawn(host, host, Path::new(binary()), &["run", "-c", &path, "--foreground"]);
        self.supervisors.insert(host.to_string(), pid as i32);
    }

    fn workers(&self, _ha: &HaLab, host: &str) -> Vec<i32> {
        children_of(self.supervisor(host)).into_iter().filter(|(role, _)| role == "worker").map(|(_, pid)| pid).collect()
    }

    fn stop(&mut self, ha: &HaLab, host: &str) {
        ha.lab.signal(self.supervisor(host) as u32, Signal::SIGTERM);
    }

    fn switchover(&mut self, ha: &HaLab, host: &str) {
        let ctl = ha.lab.dir.join(format!("{host}-ctl.sock")).display().to_string();
        let (code, out, err) = run_cli(&["ctl", "--socket", &ctl, "switchover"], Duration::from_secs(5));
        assert_eq!(code, 0, "ctl switchover on {host}: {out}{err}\n{}", ha.logs());
    }

    fn reload(&mut self, ha: &mut HaLab, host: &str, priority: u8, servers: &[&str]) {
        ha.lab.write(&format!("{host}.ron"), &config(ha, host, priority, servers));
        ha.lab.signal(self.supervisor(host) as u32, Signal::SIGHUP);
    }
}
