//! End-to-end: the stats page and `hakeeper ctl` of a running `hakeeper run`. Credentials are
//! required (401 with the realm otherwise), the CSV and Prometheus outputs are served, and a
//! server set to MAINT from the page's form or through `hakeeper ctl` gets no new connections
//! until it is set READY again; an unauthenticated POST changes nothing.

mod harness;

use harness::backends::{connect_and_name, NamedEcho};
use harness::process::*;
use harness::stats::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

struct Setup {
    _dir: TempDir,
    backends: Vec<NamedEcho>,
    proxy: SocketAddr,
    stats: SocketAddr,
    ctl: PathBuf,
    app: Appliance,
}

fn start(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let backends: Vec<NamedEcho> = ["server_1", "server_2", "server_3"].iter().map(|n| NamedEcho::start(n)).collect();
    let (port, stats_port) = (free_port(), free_port());
    let ctl = dir.file("ctl.sock");
    let refs: Vec<&NamedEcho> = backends.iter().collect();
    std::fs::write(dir.file("hakeeper.ron"), stats_config(port, stats_port, &ctl, &refs)).expect("write config");
    let mut app = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let proxy: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let stats: SocketAddr = format!("127.0.0.1:{stats_port}").parse().expect("addr");
    let up = wait_until(Duration::from_secs(10), || connect_and_name(proxy).is_ok() && http(stats, "GET", "/admin", None, None).is_ok());
    assert!(up, "proxy or stats page never answered; log:\n{}", app.log_text());
    Setup { _dir: dir, backends, proxy, stats, ctl, app }
}

/// Which servers `n` new connections reach.
fn names(proxy: SocketAddr, n: usize) -> Vec<String> {
    (0..n).map(|_| connect_and_name(proxy).expect("connect through the proxy").1).collect()
}

fn post(s: &Setup, auth: Option<&str>, form: &str) -> Reply {
    http(s.stats, "POST", "/admin", auth, Some(form)).expect("POST")
}

fn ctl(s: &Setup, args: &[&str]) -> (i32, String, String) {
    let socket = s.ctl.display().to_string();
    let mut all = vec!["ctl", "--socket", socket.as_str()];
    all.extend_from_slice(args);
    run_cli(&all, Duration::from_secs(20))
}

fn server_2_gets_nothing_new(s: &Setup) {
    let before = s.backends[1].accepted();
    let reached = names(s.proxy, 6);
    assert!(!reached.iter().any(|n| n == "server_2"), "server_2 is in MAINT: {reached:?}");
    assert!(reached.iter().any(|n| n == "server_1") && reached.iter().any(|n| n == "server_3"), "the others share the load: {reached:?}");
    assert_eq!(s.backends[1].accepted(), before, "no new connection reached server_2");
}

fn all_servers_get_traffic(s: &Setup) {
    let reached = names(s.proxy, 6);
    for b in &s.backends {
        assert!(reached.contains(&b.name), "{} gets connections again: {reached:?}", b.name);
    }
}

#[test]
fn stats_page_needs_credentials_and_serves_csv_and_metrics() {
    let s = start("stats-auth");
    let r = http(s.stats, "GET", "/admin", None, None).expect("GET");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"Haproxy Statistics\""));
    let r = http(s.stats, "GET", "/admin", Some(WRONG), None).expect("GET");
    assert_eq!(r.status, 401);
    assert!(r.header("WWW-Authenticate").is_some());
    for auth in [MLDN, OPS] {
        let r = http(s.stats, "GET", "/admin", Some(auth), None).expect("GET");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Refresh"), Some("30"));
        let states = server_states(&r.body);
        for b in &s.backends {
            assert!(states.contains(&(b.name.clone(), "no check".into())), "{} listed with its state: {states:?}", b.name);
        }
    }
    let csv = http(s.stats, "GET", "/admin;csv", Some(MLDN), None).expect("GET csv");
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with(
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,"
    ));
    assert!(csv.body.lines().any(|l| l.starts_with("proxy_status,FRONTEND,") && l.contains(",OPEN,")));
    let metrics = http(s.stats, "GET", "/metrics", Some(MLDN), None).expect("GET metrics");
    assert_eq!(metrics.status, 200);
    for line in metrics.body.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let value = line.rsplit(' ').next().unwrap_or("");
        assert!(value.parse::<f64>().is_ok(), "sample value: {line:?}");
    }
    assert!(metrics.body.contains("haproxy_server_status{proxy=\"proxy_status\",server=\"server_1\",state=\"no check\"} 1"));
}

#[test]
fn maint_from_the_page_stops_new_connections_and_ready_brings_them_back() {
    let s = start("stats-admin");
    all_servers_get_traffic(&s);
    for auth in [None, Some(WRONG)] {
        let r = post(&s, auth, "b=proxy_status&s=server_2&action=maint");
        assert_eq!(r.status, 401, "a POST without valid credentials is refused");
    }
    all_servers_get_traffic(&s);

    let r = post(&s, Some(MLDN), "b=proxy_status&s=server_2&action=maint");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("/admin;st=DONE"));
    server_2_gets_nothing_new(&s);
    let page = http(s.stats, "GET", "/admin", Some(MLDN), None).expect("GET");
    assert!(server_states(&page.body).contains(&("server_2".into(), "MAINT".into())));
    assert!(
        s.app.wait_for_log("stats user mldn set server proxy_status/server_2 state MAINT", Duration::from_secs(5)),
        "logged with the user"
    );

    let r = post(&s, Some(OPS), "b=proxy_status&s=server_2&action=ready");
    assert_eq!(r.header("Location"), Some("/admin;st=DONE"));
    all_servers_get_traffic(&s);
}

#[test]
fn maint_through_ctl_stops_new_connections_and_enable_brings_them_back() {
    let s = start("stats-ctl");
    let mode = std::fs::metadata(&s.ctl).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "ctl socket {} exists with mode 0600; log:\n{}", s.ctl.display(), s.app.log_text());

    let (code, out, err) = ctl(&s, &["disable", "server", "proxy_status/server_2"]);
    assert_eq!(code, 0, "stdout {out}\nstderr {err}");
    server_2_gets_nothing_new(&s);
    let (code, out, _) = ctl(&s, &["show", "servers"]);
    assert_eq!(code, 0);
    let line = out.lines().find(|l| l.contains("server_2")).unwrap_or_default();
    assert!(line.contains("MAINT"), "{out}");
    let (code, out, _) = ctl(&s, &["--json", "show", "servers"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let rows = v["Servers"].as_array().expect("Servers array");
    assert!(rows.iter().any(|r| r["server"] == "server_2" && r["status"] == "MAINT"), "{out}");
    let (code, out, _) = ctl(&s, &["show", "stat"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# pxname,svname,"));
    assert!(out.lines().any(|l| l.starts_with("proxy_status,server_2,") && l.contains(",MAINT,")), "{out}");

    let (code, _, err) = ctl(&s, &["set", "server", "proxy_status/nosuch", "state", "drain"]);
    assert_eq!(code, 1, "unknown server refused: {err}");
    let (code, _, err) = ctl(&s, &["frobnicate"]);
    assert_eq!(code, 2, "{err}");

    let (code, out, err) = ctl(&s, &["enable", "server", "proxy_status/server_2"]);
    assert_eq!(code, 0, "stdout {out}\nstderr {err}");
    all_servers_get_traffic(&s);

    // Each action is logged once, with its outcome (besides HAProxy's server event line).
    assert!(s.app.wait_for_log("ctl set server proxy_status/server_2 state READY: done", Duration::from_secs(5)), "{}", s.app.log_text());
    let log = s.app.log_text();
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(count("ctl set server proxy_status/server_2 state MAINT: done"), 1, "{log}");
    assert_eq!(count("ctl set server proxy_status/nosuch state DRAIN: refused: no such server"), 1, "{log}");
    assert_eq!(count("proxy_status/server_2"), 4, "the two actions and their two server events, nothing else:\n{log}");
}

#[test]
fn admin_state_survives_a_worker_restart() {
    let mut s = start("stats-restart");
    let r = post(&s, Some(MLDN), "b=proxy_status&s=server_2&action=maint");
    assert_eq!(r.header("Location"), Some("/admin;st=DONE"));
    let old = s.app.child_pid("worker").expect("worker pid");
    signal(old, nix::sys::signal::Signal::SIGKILL);
    let restarted = wait_until(Duration::from_secs(10), || s.app.child_pid("worker").is_some_and(|p| p != old));
    assert!(restarted, "worker restarted; log:\n{}", s.app.log_text());
    let csv_has_maint = || {
        http(s.stats, "GET", "/admin;csv", Some(MLDN), None)
            .map(|r| r.body.lines().any(|l| l.starts_with("proxy_status,server_2,") && l.contains(",MAINT,")))
            .unwrap_or(false)
    };
    assert!(wait_until(Duration::from_secs(10), csv_has_maint), "server_2 still MAINT after the restart; log:\n{}", s.app.log_text());
    server_2_gets_nothing_new(&s);
    // The page says which host it is on, the generation and the worker's restart.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname").trim().to_string();
    let page = http(s.stats, "GET", "/admin", Some(MLDN), None).expect("page").body;
    for needle in [format!("data-host=\"{host}\""), "config generation = 1".to_string(), "restarts: worker 1, checker 0".to_string()] {
        assert!(page.contains(&needle), "{needle} not on the page:\n{page}");
    }
}

/// The `column` of the CSV row whose first two fields are `px,sv`.
fn csv_field(csv: &str, px: &str, sv: &str, column: &str) -> Option<u64> {
    // HAProxy's page is chunked: the header is the line that starts the CSV, not the first.
    let header = csv.lines().find_map(|l| l.strip_prefix("# pxname"))?;
    let header = format!("pxname{header}");
    let at = header.split(',').position(|c| c == column)?;
    let row = csv.lines().find(|l| l.starts_with(&format!("{px},{sv},")))?;
    row.split(',').nth(at)?.parse().ok()
}

#[test]
fn session_rate_is_per_second_as_haproxys_for_the_same_burst() {
    use harness::differential_haproxy::{binary, Haproxy};
    let test = "session_rate_is_per_second_as_haproxys_for_the_same_burst";
    let Some(haproxy_bin) = binary(test) else { return };
    let s = start("rate");
    let dir = TempDir::new("rate-haproxy");
    let (hport, hstats) = (free_port(), free_port());
    let servers: String = s.backends.iter().map(|b| format!("  server {} {}\n", b.name, b.addr)).collect();
    std::fs::write(
        dir.file("haproxy.cfg"),
        format!(
            "global\n  nbthread 1\ndefaults\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
             listen proxy_status\n  mode tcp\n  bind 127.0.0.1:{hport}\n  balance roundrobin\n{servers}\
             listen stats\n  mode http\n  bind 127.0.0.1:{hstats}\n  stats enable\n  stats uri /admin\n"
        ),
    )
    .expect("write haproxy.cfg");
    let mut ha = Haproxy::start(&haproxy_bin, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let ha_proxy: SocketAddr = format!("127.0.0.1:{hport}").parse().expect("addr");
    let ha_stats: SocketAddr = format!("127.0.0.1:{hstats}").parse().expect("addr");
    let up = wait_until(Duration::from_secs(10), || {
        harness::differential_haproxy::listening(hport) && harness::differential_haproxy::listening(hstats)
    });
    assert!(up && !ha.exited(), "haproxy did not start:\n{}", ha.log_text());
    // Let the seconds of the warm-up connections pass (start() made some through hakeeper).
    std::thread::sleep(Duration::from_millis(2100));
    // The same burst through both, interleaved, then both read at once.
    const BURST: u64 = 40;
    for _ in 0..BURST {
        connect_and_name(s.proxy).expect("through hakeeper");
        connect_and_name(ha_proxy).expect("through haproxy");
    }
    let ours = http(s.stats, "GET", "/admin;csv", Some(MLDN), None).expect("hakeeper csv").body;
    let theirs = http(ha_stats, "GET", "/admin;csv", None, None).expect("haproxy csv").body;
    let rate =
        |csv: &str, sv: &str, col: &str| csv_field(csv, "proxy_status", sv, col).unwrap_or_else(|| panic!("no {col} for {sv} in:\n{csv}"));
    for (sv, col) in [("FRONTEND", "rate"), ("BACKEND", "rate"), ("FRONTEND", "rate_max")] {
        let (a, b) = (rate(&ours, sv, col), rate(&theirs, sv, col));
        assert!(a.abs_diff(b) <= 3 && a + 5 >= BURST, "{sv} {col}: hakeeper {a}, HAProxy {b}, for a burst of {BURST}");
    }
}
