//! Binary upgrade without a restart (issue 19), end to end: the appliance runs from a copy of
//! the binary in a temp dir; the copy is replaced by another file (as a package upgrade does)
//! and `hakeeper ctl upgrade` / SIGUSR2 re-executes it in place while a client loops over
//! keep-alive and new connections. The VRRP variant is in tests/ha.rs.

mod harness;

use harness::http_backend::{header, read_head, HttpBackend};
use harness::process::*;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn http_config(port: u16, backends: &[&HttpBackend], ctl: &Path) -> String {
    let servers: Vec<String> = backends.iter().enumerate().map(|(i, b)| format!("(name: \"s{i}\", addr: \"{}\")", b.addr)).collect();
    format!(
        r#"(
  global: (user: "nobody", hard_stop_after: "5s", ctl_socket: "{ctl}"),
  defaults: (mode: http, retries: 3, redispatch: true,
             timeout: (connect: "2s", client: "30s", server: "30s", http_request: "5s", http_keep_alive: "5s")),
  listen: [(name: "web", bind: ["127.0.0.1:{port}"], balance: roundrobin, servers: [{servers}])],
)
"#,
        ctl = ctl.display(),
        servers = servers.join(", ")
    )
}

/// The inode of the socket listening on 127.0.0.1:`port` (/proc/net/tcp, state 0A).
fn listener_inode(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")).then(|| f.get(9)?.parse().ok()).flatten()
    })
}

/// Whether `pid` holds the socket with `inode` (/proc/PID/fd).
fn holds_socket(pid: i32, inode: u64) -> bool {
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.flatten().any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy() == want)))
        .unwrap_or(false)
}

/// What the looping client saw.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    /// Requests that got no answer on a fresh connection, or a status other than 200.
    failed: u64,
    /// A keep-alive connection the server had closed between two requests: retried on a new
    /// connection, as HTTP clients do for an idempotent request (RFC 9112 §9.3.1).
    retried: u64,
    errors: Vec<String>,
}

/// One GET on `conn`: Ok(keep the connection) or Err(what went wrong, whether any byte of the
/// answer came).
fn get(conn: &mut (TcpStream, BufReader<TcpStream>)) -> Result<bool, (String, bool)> {
    conn.0.write_all(b"GET / HTTP/1.1\r\nHost: upgrade.test\r\n\r\n").map_err(|e| (format!("send: {e}"), false))?;
    let (first, headers) = read_head(&mut conn.1).ok_or_else(|| ("no response".to_string(), false))?;
    let status: u16 = first.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let len: usize = header(&headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    conn.1.read_exact(&mut body).map_err(|e| (format!("body: {e}"), true))?;
    if status != 200 {
        return Err((format!("status {status}"), true));
    }
    Ok(!header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")))
}

fn connect(addr: SocketAddr) -> std::io::Result<(TcpStream, BufReader<TcpStream>)> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let r = BufReader::new(s.try_clone()?);
    Ok((s, r))
}

/// Loops until `stop` (bounded by `limit`): one thread on keep-alive connections, one opening a
/// new connection per request.
fn load(addr: SocketAddr, stop: Arc<AtomicBool>, limit: Duration) -> Vec<std::thread::JoinHandle<Tally>> {
    let mut threads = Vec::new();
    for keep_alive in [true, false] {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let end = Instant::now() + limit;
            let mut t = Tally::default();
            let mut conn = None;
            while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                let reused = conn.is_some();
                let mut c = match conn.take() {
                    Some(c) => c,
                    None => match connect(addr) {
                        Ok(c) => c,
                        Err(e) => {
                            t.failed += 1;
                            t.errors.push(format!("connect: {e}"));
                            continue;
                        }
                    },
                };
                match get(&mut c) {
                    Ok(keep) => {
                        t.ok += 1;
                        if keep && keep_alive {
                            conn = Some(c);
                        }
                    }
                    Err((_, false)) if reused => t.retried += 1,
                    Err((e, _)) => {
                        t.failed += 1;
                        t.errors.push(e);
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            t
        }));
    }
    threads
}

fn worker_of(pid: i32) -> Vec<i32> {
    children_of(pid).into_iter().filter(|(r, _)| r == "worker").map(|(_, p)| p).collect()
}

/// Replaces `path` by a copy of `from` (a new inode, as dpkg's rename does).
fn replace_binary(path: &Path, from: &Path) {
    let tmp = path.with_extension("new");
    std::fs::copy(from, &tmp).expect("copy the binary");
    std::fs::rename(&tmp, path).expect("rename over the binary");
}

struct Running {
    dir: TempDir,
    _backends: Vec<HttpBackend>,
    app: Appliance,
    addr: SocketAddr,
    ctl: String,
    exe: std::path::PathBuf,
}

fn start(name: &str) -> Running {
    let dir = TempDir::new(name);
    let backends: Vec<HttpBackend> = ["b1", "b2"].iter().map(|n| HttpBackend::start(n)).collect();
    let port = free_port();
    let ctl = dir.file("ctl.sock");
    let config = dir.file("hakeeper.ron");
    std::fs::write(&config, http_config(port, &backends.iter().collect::<Vec<_>>(), &ctl)).expect("write config");
    let exe = dir.file("hakeeper");
    std::fs::copy(binary(), &exe).expect("copy the binary");
    let mut app = Appliance::start_program(&exe, &config, &dir.file("hakeeper.log"), &[]);
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(
        wait_until(Duration::from_secs(5), || connect(addr).ok().is_some_and(|mut c| get(&mut c).is_ok())),
        "never served; log:\n{}",
        app.log_text()
    );
    Running { dir, _backends: backends, app, addr, ctl: ctl.display().to_string(), exe }
}

#[test]
fn upgrade_under_load_keeps_the_pid_the_listener_and_every_request() {
    let r = start("upgrade-load");
    let pid = r.app.pid;
    let port = r.addr.port();
    let inode = listener_inode(port).expect("the listener in /proc/net/tcp");
    assert!(holds_socket(pid, inode), "the supervisor holds the listener");
    let old_workers = worker_of(pid);
    assert_eq!(old_workers.len(), 1, "{old_workers:?}");
    let old = old_workers[0];

    // An operator's override survives the upgrade.
    let (code, out, err) = run_cli(&["ctl", "--socket", &r.ctl, "set", "server", "web/s1", "state", "maint"], Duration::from_secs(5));
    assert_eq!(code, 0, "{out}{err}");

    let stop = Arc::new(AtomicBool::new(false));
    let threads = load(r.addr, stop.clone(), Duration::from_secs(40));
    std::thread::sleep(Duration::from_millis(500));
    replace_binary(&r.exe, Path::new(binary()));
    let (code, out, err) = run_cli(&["ctl", "--socket", &r.ctl, "upgrade"], Duration::from_secs(20));
    assert_eq!(code, 0, "ctl upgrade: {out}{err}\nlog:\n{}", r.app.log_text());
    // Answered by the re-executed supervisor once its worker serves.
    assert!(out.contains("generation 2 loaded and serving"), "{out}");
    assert!(worker_of(pid).iter().any(|w| *w != old), "answered before a new worker ran");

    // A new worker serves (the re-executed supervisor's), the old one drains and exits.
    let mut new = None;
    let served = wait_until(Duration::from_secs(15), || {
        new = worker_of(pid).into_iter().find(|w| *w != old);
        new.is_some() && !alive(old) && r.app.log_text().contains("finished draining")
    });
    let log = r.app.log_text();
    assert!(served, "no new worker, or the old one (pid {old}) still runs: {:?}\nlog:\n{log}", children_of(pid));
    // Load on the new worker alone for a while.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<Tally> = threads.into_iter().map(|t| t.join().expect("client thread")).collect();
    let ok: u64 = tallies.iter().map(|t| t.ok).sum();
    let failed: u64 = tallies.iter().map(|t| t.failed).sum();
    let retried: u64 = tallies.iter().map(|t| t.retried).sum();
    eprintln!("upgrade under load: {ok} requests answered, {failed} failed, {retried} idle keep-alive connections closed by the drain");
    let errors: Vec<&String> = tallies.iter().flat_map(|t| t.errors.iter()).take(10).collect();
    assert_eq!(failed, 0, "failed requests: {errors:?}\nlog:\n{log}");
    assert!(ok > 100, "the client barely ran ({ok})");

    // Same process, same listening socket (inode), now held by the new supervisor image.
    assert!(alive(pid), "the supervisor exited\nlog:\n{log}");
    assert!(log.contains("re-executed by a binary upgrade"), "{log}");
    assert_eq!(listener_inode(port), Some(inode), "the listener was closed and bound again");
    assert!(holds_socket(pid, inode), "the supervisor no longer holds the listener");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe link");
    assert_eq!(exe, r.exe, "the supervisor runs the new file (not the deleted one)");
    assert!(new.is_some_and(|w| holds_socket(w, inode)), "the new worker accepts on the inherited socket");
    let (code, out, err) = run_cli(&["ctl", "--socket", &r.ctl, "show", "servers"], Duration::from_secs(5));
    assert_eq!(code, 0, "{out}{err}");
    let s1 = out.lines().find(|l| l.contains("s1")).unwrap_or_default();
    assert!(s1.contains("MAINT"), "the override was lost:\n{out}");
    // systemd's reload semantics: a second upgrade works from the upgraded process.
    replace_binary(&r.exe, Path::new(binary()));
    let (code, out, err) = run_cli(&["ctl", "--socket", &r.ctl, "upgrade"], Duration::from_secs(20));
    assert_eq!(code, 0, "second upgrade: {out}{err}");
    assert!(wait_until(Duration::from_secs(15), || worker_of(pid).iter().all(|w| Some(*w) != new) && !worker_of(pid).is_empty()));
    assert_eq!(listener_inode(port), Some(inode));
    drop(r.dir);
}

#[test]
fn upgrade_to_a_binary_that_rejects_the_config_keeps_the_old_one_serving() {
    let r = start("upgrade-reject");
    let pid = r.app.pid;
    let old = worker_of(pid);
    // The "new binary": refuses the config as `hakeeper check` does, with file:line:col.
    let script = r.dir.file("rejecting");
    std::fs::write(&script, "#!/bin/sh\necho 'hakeeper.ron:3:9: listen[0].balance: unknown algorithm' >&2\nexit 1\n").expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::rename(&script, &r.exe).expect("replace the binary");

    let (code, out, err) = run_cli(&["ctl", "--socket", &r.ctl, "upgrade"], Duration::from_secs(20));
    let text = format!("{out}{err}");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("upgrade refused") && text.contains("rejects the configuration") && text.contains("hakeeper.ron:3:9"), "{text}");
    // SIGUSR2 too: logged, nothing changes.
    signal(pid, nix::sys::signal::Signal::SIGUSR2);
    assert!(r.app.wait_for_log("upgrade refused, the running binary keeps serving", Duration::from_secs(10)), "{}", r.app.log_text());
    assert!(alive(pid));
    assert_eq!(worker_of(pid), old, "the worker was not replaced");
    let mut c = connect(r.addr).expect("connect");
    assert!(get(&mut c).is_ok(), "still serving");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe link");
    assert!(exe.to_string_lossy().ends_with("(deleted)"), "still the old image: {}", exe.display());
}
