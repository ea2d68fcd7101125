//! End-to-end (root): keepalived's `script_user` applies to vrrp_script commands. The checker
//! runs as `global.user`; a script configured to run as another user runs as that user, with
//! that user's group only and no capabilities, and the checker keeps just what the switch takes
//! (CAP_SETUID, CAP_SETGID, CAP_KILL). When the users are the same it keeps nothing.

mod harness;

use harness::process::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const CAP_KILL: u64 = 1 << 5;
const CAP_SETGID: u64 = 1 << 6;
const CAP_SETUID: u64 = 1 << 7;

/// /proc/PID/status: (effective uid, CapEff, CapPrm).
fn uid_and_caps(pid: i32) -> Option<(u32, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_string());
    let uid = field("Uid:")?.split_whitespace().nth(1)?.parse().ok()?;
    let eff = u64::from_str_radix(&field("CapEff:")?, 16).ok()?;
    let prm = u64::from_str_radix(&field("CapPrm:")?, 16).ok()?;
    Some((uid, eff, prm))
}

fn uid_of(name: &str) -> u32 {
    nix::unistd::User::from_name(name).ok().flatten().map(|u| u.uid.as_raw()).unwrap_or_else(|| panic!("user {name} missing"))
}

/// What the script wrote: its uid, its groups, its CapEff; and the checker's (uid, CapEff, CapPrm).
struct Observed {
    script: String,
    checker: (u32, u64, u64),
}

fn run_script_as(test: &str, checker_user: &str, script_user: &str) -> Observed {
    let dir = TempDir::new(test);
    // The script's user must be able to write its output here.
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o777)).expect("chmod temp dir");
    let out = dir.file("id.out");
    let tmp = dir.file("id.tmp");
    let port = free_port();
    let command =
        format!("{{ id -u; id -G; grep CapEff /proc/self/status; }} > {tmp} && mv {tmp} {out}", tmp = tmp.display(), out = out.display());
    let config = format!(
        r#"(
  global: (user: "{checker_user}", ctl_socket: "{ctl}"),
  listen: [(name: "app", bind: ["127.0.0.1:{port}"], servers: [(name: "s1", addr: "127.0.0.1:9")])],
  vrrp: (script_user: "{script_user}",
         scripts: [(name: "chk_id", script: "{command}", interval: "1s", timeout: "5s")]),
)
"#,
        ctl = dir.file("ctl.sock").display(),
    );
    std::fs::write(dir.file("hakeeper.ron"), config).expect("write config");
    let mut app = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    let children = app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let checker = children.iter().find(|(r, _)| r == "checker").map(|(_, p)| *p).expect("checker pid");
    assert!(wait_until(Duration::from_secs(10), || out.exists()), "the script never wrote {}; log:\n{}", out.display(), app.log_text());
    let script = std::fs::read_to_string(&out).expect("read script output");
    let checker = uid_and_caps(checker).expect("checker status");
    app.terminate(Duration::from_secs(10));
    Observed { script, checker }
}

#[test]
fn vrrp_script_runs_as_script_user_and_checker_keeps_only_setuid_setgid_kill() {
    let test = "vrrp_script_runs_as_script_user_and_checker_keeps_only_setuid_setgid_kill";
    if !require_root(test) {
        return;
    }
    let nobody = uid_of("nobody");
    let seen = run_script_as("script-user-switch", "daemon", "nobody");
    let gid = nix::unistd::User::from_name("nobody").ok().flatten().map(|u| u.gid.as_raw()).expect("nobody's group");
    let lines: Vec<&str> = seen.script.lines().collect();
    assert_eq!(lines.first().copied(), Some(nobody.to_string().as_str()), "script uid: {:?}", seen.script);
    assert_eq!(lines.get(1).copied(), Some(gid.to_string().as_str()), "script groups (its user's group only): {:?}", seen.script);
    assert_eq!(lines.get(2).map(|l| l.split_whitespace().nth(1)), Some(Some("0000000000000000")), "script capabilities: {:?}", seen.script);
    let (uid, eff, prm) = seen.checker;
    assert_eq!(uid, uid_of("daemon"), "the checker runs as global.user");
    assert_eq!(eff, CAP_SETUID | CAP_SETGID | CAP_KILL, "checker CapEff {eff:#x}");
    assert_eq!(prm, eff, "checker CapPrm {prm:#x}");
}

#[test]
fn checker_keeps_no_capabilities_when_script_user_is_its_own_user() {
    let test = "checker_keeps_no_capabilities_when_script_user_is_its_own_user";
    if !require_root(test) {
        return;
    }
    let seen = run_script_as("script-user-same", "nobody", "nobody");
    assert_eq!(seen.script.lines().next(), Some(uid_of("nobody").to_string().as_str()), "script uid: {:?}", seen.script);
    let (uid, eff, prm) = seen.checker;
    assert_eq!(uid, uid_of("nobody"));
    assert_eq!((eff, prm), (0, 0), "checker CapEff {eff:#x} CapPrm {prm:#x}");
}
