//! End-to-end: the CLI verbs scripts rely on (check, import, run's errors, demo, --version).

mod harness;

use harness::process::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

fn seed(name: &str) -> String {
    let path = format!("{}/../../shared/seed/{name}", env!("CARGO_MANIFEST_DIR"));
    assert!(std::path::Path::new(&path).exists(), "seed file {path} missing: the shared/ directory must sit beside the checkout");
    path
}

#[test]
fn version_prints_the_package_version() {
    let (code, out, _) = run_cli(&["--version"], Duration::from_secs(5));
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}

#[test]
fn check_accepts_the_shipped_configs() {
    for file in ["etc/hakeeper.ron", "etc/demo.ron"] {
        let path = format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"));
        let (code, out, err) = run_cli(&["check", "-c", &path], Duration::from_secs(5));
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(out.contains("valid"), "{out}");
    }
}

#[test]
fn check_reports_file_line_col_and_exits_1() {
    let dir = TempDir::new("checkbad");
    let path = dir.file("bad.ron");
    std::fs::write(&path, "(\n  listen: [(name: \"a\", bind: [\"*:80\"],\n    default_backend: \"missing\")],\n)\n").expect("write");
    let (code, _, err) = run_cli(&["check", "-c", path.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 1);
    let line = err.lines().next().expect("an error line");
    assert_eq!(line, format!("{}:3:5: listen[0].default_backend: no backend named \"missing\"", path.display()));
}

#[test]
fn check_suggests_the_field_meant_and_shows_the_line_with_a_caret() {
    let dir = TempDir::new("checkhint");
    let path = dir.file("h.ron");
    std::fs::write(&path, "(\n  global: (maxconnn: 100),\n  listen: [],\n)\n").expect("write");
    let (code, _, err) = run_cli(&["check", "-c", path.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 1, "{err}");
    let want = format!(
        "{}:2:12: global.maxconnn: unknown field `maxconnn` in `global`: did you mean `maxconn`?\n2 |   global: (maxconnn: 100),\n  |            ^\n",
        path.display()
    );
    assert_eq!(err, want);
    std::fs::write(&path, "(listen: [(name: \"p\", bind: [\"127.0.0.1:1\"], balance: static-rr, servers: [])])").expect("write");
    let (code, _, err) = run_cli(&["check", "-c", path.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("listen[0].balance: `static-rr` cannot be written bare") && !err.contains("r#"), "{err}");
}

#[test]
fn children_are_titled_by_role_and_keep_their_spec_off_the_command_line() {
    let dir = TempDir::new("titles");
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!("(global: (user: \"nobody\", log: (target: \"stderr\", facility: \"local1\")), listen: [(name: \"p\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"s\", addr: \"127.0.0.1:9\")])])"),
    )
    .expect("write config");
    let mut app = Appliance::start(&config, &dir.file("log"));
    let children = app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    for (role, pid) in children {
        // A child sets its title and its name one after the other just after exec: under load
        // the test may look in between, so both are waited for (bounded).
        let read = || {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (cmdline, comm.trim_end().to_string())
        };
        wait_until(Duration::from_secs(5), || {
            let (cmdline, comm) = read();
            cmdline == format!("hakeeper: {role}\0").into_bytes() && comm == "hakeeper"
        });
        let (cmdline, comm) = read();
        assert_eq!(cmdline, format!("hakeeper: {role}\0").into_bytes(), "only the title on the {role}'s command line");
        assert_eq!(comm, "hakeeper", "the {role}'s process name (ps -e, top, ss -p)");
    }
    let (_, out, _) = run_cli(&["--help"], Duration::from_secs(5));
    assert!(!out.contains("__child"), "no internal role verb in the help: {out}");
}

#[test]
fn missing_config_file_is_one_clear_error() {
    let (code, _, err) = run_cli(&["check", "-c", "/nonexistent/h.ron"], Duration::from_secs(5));
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/h.ron: cannot read config"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn run_with_unknown_user_fails_clearly() {
    if !require_root("run_with_unknown_user_fails_clearly") {
        return;
    }
    let dir = TempDir::new("nouser");
    let path = dir.file("h.ron");
    let port = free_port();
    std::fs::write(&path, format!("(global: (user: \"no-such-user-hk\"), listen: [(name: \"a\", bind: [\"127.0.0.1:{port}\"])])"))
        .expect("write");
    let (code, _, err) = run_cli(&["run", "-c", path.to_str().expect("utf8"), "--foreground"], Duration::from_secs(10));
    assert_ne!(code, 0);
    assert!(err.contains("user \"no-such-user-hk\" does not exist"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn import_of_the_seed_files_passes_check() {
    let dir = TempDir::new("import");
    for (name, args) in [
        ("tcp", vec!["--haproxy", "haproxy-tcp.cfg", "--keepalived", "keepalived-master.conf"]),
        ("backup", vec!["--haproxy", "haproxy-tcp.cfg", "--keepalived", "keepalived-backup.conf"]),
    ] {
        let out = dir.file(&format!("{name}.ron"));
        let mut full: Vec<String> = vec!["import".into()];
        for a in &args {
            full.push(if a.ends_with(".cfg") || a.ends_with(".conf") { seed(a) } else { a.to_string() });
        }
        full.push("-o".into());
        full.push(out.display().to_string());
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let (code, _, err) = run_cli(&refs, Duration::from_secs(5));
        assert_eq!(code, 0, "import {name}: {err}");
        let (code, o, e) = run_cli(&["check", "-c", out.to_str().expect("utf8")], Duration::from_secs(5));
        assert_eq!(code, 0, "imported {name} config passes check: {o}{e}\n{}", std::fs::read_to_string(&out).unwrap_or_default());
    }
}

#[test]
fn demo_serves_through_the_proxy_and_says_what_it_skipped() {
    let mut child =
        Command::new(binary()).arg("demo").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn demo");
    let pid = child.id() as i32;
    let guard = scopeguard(pid);
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout);
    for _ in 0..8 {
        let mut l = String::new();
        if reader.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        let done = l.contains("try:");
        lines.push(l);
        if done {
            break;
        }
    }
    let text = lines.concat();
    assert!(text.contains("127.0.0.1:8080"), "{text}");
    if !is_root() {
        assert!(text.contains("not root") && text.contains("VRRP"), "{text}");
    }
    let mut body = String::new();
    let served = wait_until(Duration::from_secs(10), || {
        body.clear();
        match std::net::TcpStream::connect("127.0.0.1:8080") {
            Ok(mut c) => {
                let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n");
                let _ = c.read_to_string(&mut body);
                body.contains("hello from demo")
            }
            Err(_) => false,
        }
    });
    assert!(served, "demo answered: {body:?}");
    // The stats page it advertises answers with the printed credentials.
    assert!(text.contains("http://127.0.0.1:8404/stats (user admin, password admin)"), "{text}");
    let mut page = String::new();
    if let Ok(mut c) = std::net::TcpStream::connect("127.0.0.1:8404") {
        let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
        // admin:admin in base64.
        let _ = c.write_all(b"GET /stats HTTP/1.0\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n");
        let _ = c.read_to_string(&mut page);
    }
    assert!(page.starts_with("HTTP/1.1 200") || page.starts_with("HTTP/1.0 200"), "stats page: {page:.200}");
    assert!(page.contains("demo1") && page.contains("demo3"), "stats page lists the demo servers");
    signal(pid, nix::sys::signal::Signal::SIGTERM);
    let stopped = wait_until(Duration::from_secs(6), || matches!(child.try_wait(), Ok(Some(_))));
    assert!(stopped, "demo stops on SIGTERM");
    drop(guard);
}

/// Kills `pid` and its children if the test ends early.
fn scopeguard(pid: i32) -> impl Drop {
    struct Guard(i32, Vec<i32>);
    impl Drop for Guard {
        fn drop(&mut self) {
            let kids: Vec<i32> = children_of(self.0).iter().map(|(_, p)| *p).collect();
            self.1.extend(kids);
            if alive(self.0) {
                signal(self.0, nix::sys::signal::Signal::SIGKILL);
            }
            for p in &self.1 {
                if alive(*p) {
                    signal(*p, nix::sys::signal::Signal::SIGKILL);
                }
            }
        }
    }
    Guard(pid, Vec::new())
}

#[test]
fn check_refuses_a_writable_script_under_enable_script_security() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("scriptsec");
    let script = dir.file("chk.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let path = dir.file("h.ron");
    let text = format!(
        "(\n vrrp: (enable_script_security: true,\n  scripts: [(name: \"chk\",\n    script: \"{} --flag\")]),\n)\n",
        script.display()
    );
    std::fs::write(&path, text).expect("write config");
    let (code, _, err) = run_cli(&["check", "-c", path.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with(&format!("{}:4:5: vrrp.scripts[0].script: refused by enable_script_security", path.display())), "{err}");
    // The same script is accepted without enable_script_security.
    std::fs::write(&path, std::fs::read_to_string(&path).expect("read").replace("enable_script_security: true,", "")).expect("rewrite");
    let (code, _, err) = run_cli(&["check", "-c", path.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn check_takes_this_hosts_peer_name_from_dash_l() {
    // HAProxy's `-L`: the peer of that name is this host; a section without it is dropped
    // with a warning, as HAProxy drops it.
    let dir = TempDir::new("cli-peers");
    let path = dir.file("h.ron");
    std::fs::write(
        &path,
        "(\n  peers: [(name: \"lb\", peers: [\n    (name: \"lb1\", addr: \"192.0.2.1:10000\"),\n    (name: \"lb2\", addr: \"192.0.2.2:10000\"),\n  ])],\n)\n",
    )
    .expect("write config");
    let file = path.to_str().expect("utf8");
    let (code, _, err) = run_cli(&["check", "-c", file, "-L", "lb2"], Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("incomplete section"), "{err}");
    let (code, _, err) = run_cli(&["check", "-c", file, "-L", "lb9"], Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: peers[0]: removing incomplete section 'peers lb' (no peer named \"lb9\""), "{err}");
    let (code, _, err) = run_cli(&["check", "-c", file, "--localpeer", "bad name"], Duration::from_secs(5));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("global.localpeer") && err.contains("invalid peer name"), "{err}");
}

#[test]
fn import_translates_h2_keywords_and_check_accepts_them() {
    let dir = TempDir::new("importh2");
    let cfg = dir.file("h2.cfg");
    std::fs::write(
        &cfg,
        "global\n  tune.h2.initial-window-size 1048576\n  tune.h2.max-concurrent-streams 50\n\
         frontend f\n  mode http\n  bind 127.0.0.1:8080 proto h1\n  bind 127.0.0.1:8081 proto h2\n  default_backend b\n\
         backend b\n  mode http\n  server s 127.0.0.1:81\n",
    )
    .expect("write");
    let out = dir.file("h2.ron");
    let (code, _, err) =
        run_cli(&["import", "--haproxy", cfg.to_str().expect("utf8"), "-o", out.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
    let ron = std::fs::read_to_string(&out).expect("read");
    assert!(ron.contains("initial_window_size: 1048576") && ron.contains("max_concurrent_streams: 50"), "{ron}");
    assert!(ron.contains("proto: h1") && ron.contains("proto: h2"), "{ron}");
    // The translated config is served as it is.
    let (code, _, err) = run_cli(&["check", "-c", out.to_str().expect("utf8")], Duration::from_secs(5));
    assert_eq!(code, 0, "{err}");
}
