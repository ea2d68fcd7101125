//! HA benchmark (issue 7), run by hand through tests/bench/ha: the scenarios of tests/ha.rs, in
//! the same namespaces with the same client, once with hakeeper and once with the seed's own
//! stack (Debian's keepalived 2.2 + HAProxy 2.6 + haproxy_check.sh), printing what the client
//! saw side by side. The figures are printed, not asserted (a scenario whose setup fails shows
//! as "error" in its cell).
//!
//! The seed stack as Debian runs it: haproxy.service (`haproxy -Ws`, Restart=always after 100 ms,
//! at most 5 starts in 10 s) emulated by a small loop, keepalived `--dont-fork -P`, and the
//! seed's check script every 2 s (weight 2), adapted to a namespace: a pid file instead of
//! `ps -C haproxy` (which would see other namespaces' haproxy), SIGTERM to this host's
//! keepalived instead of `service keepalived stop`. VRRP settings as in tests/ha.rs (lb1 150,
//! lb2 100, both BACKUP with preempt), so that only the stacks differ.

#[path = "../harness/mod.rs"]
mod harness;

use harness::ha::client::Report;
use harness::ha::hakeeper::Hakeeper;
use harness::ha::procfs::{children, cmdline, read_pid};
use harness::ha::scenarios::{self, Setup};
use harness::ha::{HaLab, Peering, Stack, Vrrp, BACKEND_PORT, VIP_PORT};
use harness::netns::VIP;
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;

const HAPROXY: &str = "/usr/sbin/haproxy";
const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The seed's haproxy_check.sh, adapted to a network namespace (see the module comment).
const CHECK_SCRIPT: &str = r#"#!/bin/bash
# The seed's haproxy_check.sh in a network namespace: `ps -C haproxy` would count every
# namespace's haproxy, so this host's pid file says whether its haproxy runs, and
# `service keepalived stop` becomes SIGTERM to this host's keepalived.
# Usage: haproxy_check.sh HAPROXY_PIDFILE KEEPALIVED_PIDFILE
if ! kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; then
    kill -TERM "$(cat "$2")"
fi
"#;

/// What systemd does with Debian's haproxy.service (Restart=always, RestartSec=100ms,
/// StartLimitBurst=5 in StartLimitIntervalSec=10s; `systemctl stop` = SIGTERM to haproxy).
const UNIT_SCRIPT: &str = r#"#!/bin/bash
# Usage: haproxy-unit.sh CONFIG PIDFILE
cfg=$1 pidfile=$2 child= starts=()
trap '[ -n "$child" ] && kill -TERM "$child"; wait "$child"; exit 0' TERM
while :; do
    now=$(date +%s%N) recent=()
    for t in "${starts[@]}"; do (( now - t < 10000000000 )) && recent+=("$t"); done
    starts=("${recent[@]}")
    if (( ${#starts[@]} >= 5 )); then
        echo "haproxy.service: start request repeated too quickly, refusing to start"
        exit 1
    fi
    starts+=("$now")
    /usr/sbin/haproxy -Ws -f "$cfg" -p "$pidfile" &
    child=$!
    wait "$child"
    echo "haproxy.service: main process exited, status $?; restarting in 100ms"
    sleep 0.1
done
"#;

/// keepalived + HAProxy on an LB host.
#[derive(Default)]
struct Seed {
    units: HashMap<String, u32>,
}

impl Seed {
    fn file(ha: &HaLab, name: &str) -> PathBuf {
        ha.lab.dir.join(name)
    }

    fn master_pid(ha: &HaLab, host: &str) -> Option<i32> {
        read_pid(&Self::file(ha, &format!("{host}-haproxy.pid")))
    }

    fn haproxy_config(ha: &HaLab, servers: &[&str]) -> String {
        let servers: String =
            servers.iter().map(|s| format!("    server {s} {} check inter 500ms rise 2 fall 2\n", ha.backend_addr(s))).collect();
        format!(
            "global\n    maxconn 4096\ndefaults\n    mode tcp\n    option abortonclose\n    option redispatch\n    retries 3\n    \
             maxconn 2000\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
             listen web\n    bind *:{VIP_PORT}\n    balance roundrobin\n{servers}"
        )
    }

    fn keepalived_config(ha: &HaLab, host: &str, priority: u8) -> String {
        let file = |n: &str| Self::file(ha, n).display().to_string();
        let check =
            format!("{} {} {}", file("haproxy_check.sh"), file(&format!("{host}-haproxy.pid")), file(&format!("{host}-keepalived.pid")));
        let auth = if ha.vrrp.version == 2 { "    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n" } else { "" };
        // keepalived has no pair setting: MulticastPair runs it as plain multicast.
        let unicast = match ha.vrrp.peering {
            Peering::Unicast => format!(
                "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
                ha.lab.addr(host),
                ha.lab.addr(Vrrp::peer_of(host))
            ),
            Peering::Multicast | Peering::MulticastPair => String::new(),
        };
        format!(
            "global_defs {{\n    router_id {host}\n    script_user root\n}}\n\
             vrrp_script chk_haproxy {{\n    script \"{check}\"\n    interval 2\n    weight 2\n}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 35\n    priority {priority}\n    \
             version {}\n    advert_int {}\n    track_script {{\n        chk_haproxy\n    }}\n{auth}{unicast}    \
             virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n",
            ha.vrrp.version,
            ha.vrrp.advert_seconds()
        )
    }

    fn executable(ha: &HaLab, name: &str, text: &str) -> String {
        let path = ha.lab.write(name, text);
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        path.display().to_string()
    }
}

impl Stack for Seed {
    fn name(&self) -> &'static str {
        "keepalived+haproxy"
    }

    fn start(&mut self, ha: &mut HaLab, host: &str, priority: u8, servers: &[&str]) {
        Self::executable(ha, "haproxy_check.sh", CHECK_SCRIPT);
        let unit = Self::executable(ha, "haproxy-unit.sh", UNIT_SCRIPT);
        let cfg = ha.lab.write(&format!("{host}-haproxy.cfg"), &Self::haproxy_config(ha, servers)).display().to_string();
        let pidfile = Self::file(ha, &format!("{host}-haproxy.pid")).display().to_string();
        let unit_pid = ha.lab.spawn(host, &format!("{host}-haproxy"), Path::new("/bin/bash"), &[&unit, &cfg, &pidfile]);
        self.units.insert(host.to_string(), unit_pid);
        // The check script stops keepalived when there is no haproxy: start haproxy first.
        let up = scenarios::wait_for(Duration::from_secs(5), || Self::master_pid(ha, host).is_some_and(|p| !children(p).is_empty()));
        assert!(up.is_some(), "haproxy did not start on {host}\n{}", ha.logs());
        let conf = ha.lab.write(&format!("{host}-keepalived.conf"), &Self::keepalived_config(ha, host, priority)).display().to_string();
        let pid = |kind: &str| Self::file(ha, &format!("{host}-{kind}.pid")).display().to_string();
        let (main, vrrp, checker) = (pid("keepalived"), pid("keepalived-vrrp"), pid("keepalived-checker"));
        let args = ["--dont-fork", "-l", "-D", "-G", "-P", "-f", &conf, "-p", &main, "-r", &vrrp, "-c", &checker];
        ha.lab.spawn(host, &format!("{host}-keepalived"), Path::new(KEEPALIVED), &args);
    }

    fn workers(&self, ha: &HaLab, host: &str) -> Vec<i32> {
        let Some(master) = Self::master_pid(ha, host) else { return Vec::new() };
        children(master).into_iter().filter(|p| cmdline(*p).contains("haproxy")).collect()
    }

    fn stop(&mut self, ha: &HaLab, host: &str) {
        if let Some(unit) = self.units.get(host) {
            ha.lab.signal(*unit, Signal::SIGTERM);
        }
        if let Some(ka) = read_pid(&Self::file(ha, &format!("{host}-keepalived.pid"))) {
            ha.lab.signal(ka as u32, Signal::SIGTERM);
        }
    }

    /// The seed's planned hand-over: `systemctl stop keepalived` while haproxy runs on.
    fn switchover(&mut self, ha: &HaLab, host: &str) {
        if let Some(ka) = read_pid(&Self::file(ha, &format!("{host}-keepalived.pid"))) {
            ha.lab.signal(ka as u32, Signal::SIGTERM);
        }
    }

    fn reload(&mut self, ha: &mut HaLab, host: &str, _priority: u8, servers: &[&str]) {
        // `systemctl reload haproxy`: the config is checked, then the master gets SIGUSR2.
        ha.lab.write(&format!("{host}-haproxy.cfg"), &Self::haproxy_config(ha, servers));
        if let Some(master) = Self::master_pid(ha, host) {
            ha.lab.signal(master as u32, Signal::SIGUSR2);
        }
    }
}

fn ms(d: Option<Duration>) -> String {
    // Milliseconds: hand-over gaps are tens of them (issue 23).
    d.map(|d| format!("{} ms", d.as_millis())).unwrap_or_else(|| "never".into())
}

fn counts(r: &Report) -> String {
    format!("{} refused, {} timeouts, {} failed", r.refused, r.timeouts, r.failed)
}

#[derive(Debug, Clone, Copy)]
enum Scenario {
    WorkerKill,
    CrashLoop,
    CrashLoopPair,
    Unreachable,
    Sigterm,
    SigtermPair,
    KillAllV2,
    KillAllV3,
    Reloads,
    Switchover,
    SwitchoverPair,
}

impl Scenario {
    const ALL: [Scenario; 11] = [
        Scenario::WorkerKill,
        Scenario::CrashLoop,
        Scenario::CrashLoopPair,
        Scenario::Unreachable,
        Scenario::Sigterm,
        Scenario::SigtermPair,
        Scenario::KillAllV2,
        Scenario::KillAllV3,
        Scenario::Reloads,
        Scenario::Switchover,
        Scenario::SwitchoverPair,
    ];

    fn title(self) -> &'static str {
        match self {
            Scenario::WorkerKill => "1. kill -9 of the master's proxy worker",
            Scenario::CrashLoop => "2. master's worker killed 5 times",
            Scenario::CrashLoopPair => "2b. worker killed 5 times, unicast pair (gap from the last kill)",
            Scenario::Unreachable => "3. all backends unreachable from the master",
            Scenario::Sigterm => "4. SIGTERM of the master's appliance",
            Scenario::SigtermPair => "4b. SIGTERM of the master, unicast pair",
            Scenario::KillAllV2 => "5a. kill -9 of everything (v2, 1 s)",
            Scenario::KillAllV3 => "5b. kill -9 of everything (v3, 100 ms)",
            Scenario::Reloads => "6. 10 reloads under load (one drops s3)",
            Scenario::Switchover => "7. planned switchover (ctl / keepalived stopped), multicast",
            Scenario::SwitchoverPair => "7b. planned switchover, unicast pair",
        }
    }

    fn vrrp(self) -> Vrrp {
        match self {
            Scenario::KillAllV3 => Vrrp::V3_100MS,
            Scenario::CrashLoopPair | Scenario::SigtermPair | Scenario::SwitchoverPair => Vrrp::V2_1S.with(Peering::Unicast),
            _ => Vrrp::V2_1S,
        }
    }

    /// Runs the scenario on a fresh lab with `stack`; the outage in ms (for the table) and a
    /// sentence of detail.
    fn run<S: Stack>(self, stack: S) -> (String, String) {
        let tag = format!("b{}", self as usize);
        let Some(mut s): Option<Setup<S>> = scenarios::setup(&tag, self.vrrp(), stack) else {
            return ("-".into(), "cannot create namespaces".into());
        };
        match self {
            Scenario::WorkerKill => {
                let r = scenarios::kill_worker_once(&mut s);
                let vip = if r.vip_stayed { "VIP stayed" } else { "VIP moved" };
                (ms(Some(r.report.outage)), format!("{}; new worker after {}; {vip}", counts(&r.report), ms(r.replaced)))
            }
            Scenario::CrashLoop => {
                let r = scenarios::crash_loop(&mut s, 5, Duration::from_secs(30));
                let detail = format!(
                    "{} kills in {:.1} s; VIP on backup {} after the last, back {}; {}",
                    r.kills,
                    r.span.as_secs_f64(),
                    ms(r.moved),
                    ms(r.back),
                    counts(&r.report_move)
                );
                (ms(Some(r.report_move.outage)), detail)
            }
            Scenario::CrashLoopPair => {
                let r = scenarios::crash_loop(&mut s, 5, Duration::ZERO);
                let detail = format!(
                    "{} kills in {:.1} s; VIP on backup {} after the last; whole loop: gap {}, {}",
                    r.kills,
                    r.span.as_secs_f64(),
                    ms(r.moved),
                    ms(Some(r.report_move.outage)),
                    counts(&r.report_move)
                );
                (ms(Some(r.report_handover.outage)), detail)
            }
            Scenario::Switchover | Scenario::SwitchoverPair => {
                let r = scenarios::switchover(&mut s);
                let detail = format!("VIP moved after {}; unheld {} ms; {}", ms(r.moved), r.unheld.as_millis(), counts(&r.report));
                (ms(Some(r.report.outage)), detail)
            }
            Scenario::Unreachable => {
                let r = scenarios::backends_unreachable(&mut s, Duration::from_secs(10));
                (ms(Some(r.report.outage)), format!("VIP moved after {}; {}", ms(r.moved), counts(&r.report)))
            }
            Scenario::Sigterm | Scenario::SigtermPair => {
                let r = scenarios::stop_master(&mut s);
                let detail = format!("VIP moved after {}; unheld {} ms; {}", ms(r.moved), r.unheld.as_millis(), counts(&r.report));
                (ms(Some(r.report.outage)), detail)
            }
            Scenario::KillAllV2 | Scenario::KillAllV3 => {
                let r = scenarios::kill_all(&mut s);
                (ms(Some(r.report.outage)), format!("backup took the VIP after {}; {}", ms(r.moved), counts(&r.report)))
            }
            Scenario::Reloads => {
                let r = scenarios::reloads(&mut s, 10, 5);
                let effect = if r.after_change.by_backend.contains_key(r.dropped) { "s3 still served" } else { "s3 gone" };
                let (b, a) = (&r.footprint_before, &r.footprint_after);
                let detail = format!(
                    "{} of {} requests failed ({}); {effect}; fds {} -> {}, RSS {} -> {} kiB",
                    r.report.failures(),
                    r.report.attempts,
                    counts(&r.report),
                    b.fds,
                    a.fds,
                    b.rss_kib,
                    a.rss_kib
                );
                (ms(Some(r.report.outage)), detail)
            }
        }
    }
}

/// Runs one cell, turning a failed setup (a panic) into a line of the table.
fn cell<S: Stack>(scenario: Scenario, stack: S) -> (String, String) {
    match std::panic::catch_unwind(AssertUnwindSafe(|| scenario.run(stack))) {
        Ok(cell) => cell,
        Err(e) => {
            let why = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            ("error".into(), why.lines().next().unwrap_or("panicked").to_string())
        }
    }
}

fn main() {
    // `cargo test --all-targets` runs bench targets too: only `cargo bench` runs this one.
    if !std::env::args().any(|a| a == "--bench") {
        println!("the HA benchmark runs by hand: tests/bench/ha");
        return;
    }
    assert!(nix::unistd::geteuid().is_root(), "the HA benchmark needs root (network namespaces)");
    for tool in [HAPROXY, KEEPALIVED] {
        assert!(Path::new(tool).exists(), "{tool} is missing (tests/bench/ha installs it)");
    }
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let mut rows = Vec::new();
    for scenario in Scenario::ALL {
        if !only.is_empty() && !only.iter().any(|o| scenario.title().starts_with(o.as_str())) {
            continue;
        }
        eprintln!("== {}", scenario.title());
        let h = cell(scenario, Hakeeper::default());
        eprintln!("   hakeeper:           {} | {}", h.0, h.1);
        let k = cell(scenario, Seed::default());
        eprintln!("   keepalived+haproxy: {} | {}", k.0, k.1);
        rows.push((scenario, h, k));
    }
    println!("\nClient-visible outage (longest gap without a successful request), backends on port {BACKEND_PORT}, VIP {VIP}:{VIP_PORT}\n");
    println!("| scenario | hakeeper | keepalived 2.2 + HAProxy 2.6 |");
    println!("| --- | --- | --- |");
    for (scenario, h, k) in &rows {
        println!("| {} | **{}** | **{}** |", scenario.title(), h.0, k.0);
    }
    println!("\nDetails:\n");
    for (scenario, h, k) in &rows {
        println!("{}\n  hakeeper:           {}\n  keepalived+haproxy: {}", scenario.title(), h.1, k.1);
    }
}
