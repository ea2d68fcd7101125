//! Script checks (keepalived `vrrp_script`): exit status drives the state, a hanging script is
//! killed with its whole process group at its timeout, and `enable_script_security` refuses a
//! world-writable script.

mod support;

use hakeeper_common::config::{BuiltinCheck, ScriptAction, VrrpScript};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("hakeeper-checker-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn builtin(name: &str) -> VrrpScript {
    let mut s = script(name, "unused", ms(100), ms(100), 1, 1);
    s.action = ScriptAction::Builtin(BuiltinCheck::ProxyAlive);
    s
}

#[test]
fn script_exit_status_drives_the_state() {
    let dir = TempDir::new("exit");
    let flag = dir.path("ok");
    fs::write(&flag, "").unwrap();
    let command = format!("test -e {}", flag.display());
    // Index 0 is a builtin: the supervisor answers it, the checker must leave it alone.
    let scripts = vec![builtin("chk_proxy"), script("chk_flag", &command, ms(100), ms(1000), 2, 2)];
    let mut checker = CheckerUnderTest::start(scripts_only(scripts, false));

    // keepalived: the first result decides, whatever rise is.
    assert_eq!(checker.script_change(ms(1000)), Some((1, true)));
    assert_eq!(checker.recv(ms(300)), None, "no repeat while nothing changes");

    fs::remove_file(&flag).unwrap();
    let gone = Instant::now();
    assert_eq!(checker.script_change(ms(1500)), Some((1, false)));
    assert!(gone.elapsed() >= ms(100), "fall 2 needs two failed runs, an interval apart");

    fs::write(&flag, "").unwrap();
    let back = Instant::now();
    assert_eq!(checker.script_change(ms(1500)), Some((1, true)));
    assert!(back.elapsed() >= ms(100), "rise 2 needs two good runs, an interval apart");
    assert!(!logged("VRRP_Script(chk_flag) failed (exited with status 1)").is_empty());
    assert!(!logged("VRRP_Script(chk_flag) succeeded").is_empty());
    checker.stop();
}

/// Live (not zombie) processes whose process group is `pgid`.
fn live_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return members;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            members.push(pid);
        }
    }
    members
}

fn read_pids(path: &Path) -> Vec<i32> {
    fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
}

#[test]
fn hanging_script_is_killed_with_its_process_group_at_timeout_and_fails() {
    let dir = TempDir::new("hang");
    let runs = dir.path("runs");
    // The shell records its pid (= its process group), starts a helper that ignores SIGTERM,
    // and hangs. Runs are due every 100 ms but must never overlap.
    let command = format!("echo $$ >> {}; (trap '' TERM; sleep 30) & sleep 30", runs.display());
    let timeout = ms(400);
    let mut checker = CheckerUnderTest::start(scripts_only(vec![script("hang", &command, ms(100), timeout, 1, 1)], false));
    let started = Instant::now();
    let first = checker.script_change(ms(3000));
    let took = started.elapsed();
    let pgids = read_pids(&runs);
    // Clean up whatever happens below.
    struct Reaper(Vec<i32>);
    impl Drop for Reaper {
        fn drop(&mut self) {
            for &g in &self.0 {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(g), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
    let _reaper = Reaper(pgids.clone());
    assert_eq!(first, Some((0, false)), "a script past its timeout fails");
    assert!(took >= timeout, "failed after {took:?}, before its timeout");
    assert_eq!(pgids.len(), 1, "one run at a time: {pgids:?}");
    // The group, SIGTERM-immune helper included, is gone by the time the failure is reported.
    assert_eq!(live_members(pgids[0]), Vec::<i32>::new(), "process group {} survived", pgids[0]);
    assert!(!logged("VRRP_Script(hang) timed out after").is_empty());
    checker.stop();
    // Later runs (started every interval after the previous one ended) die with the checker.
    std::thread::sleep(ms(100));
    for g in read_pids(&runs) {
        assert_eq!(live_members(g), Vec::<i32>::new(), "process group {g} survived the checker's stop");
    }
}

#[test]
fn world_writable_script_is_refused_under_enable_script_security() {
    let dir = TempDir::new("security");
    let marker = dir.path("ran");
    let unsafe_script = dir.path("check.sh");
    fs::write(&unsafe_script, format!("#!/bin/sh\ntouch {}\nexit 0\n", marker.display())).unwrap();
    fs::set_permissions(&unsafe_script, fs::Permissions::from_mode(0o777)).unwrap();
    let scripts = vec![
        script("unsafe", &unsafe_script.display().to_string(), ms(100), ms(500), 1, 1),
        // A root-owned program on a root-owned path still runs.
        script("safe", "/bin/true", ms(100), ms(500), 1, 1),
    ];
    let mut checker = CheckerUnderTest::start(scripts_only(scripts, true));
    let mut states = std::collections::BTreeMap::new();
    while states.len() < 2 {
        let (script, ok) = checker.script_change(ms(2000)).expect("both scripts decided");
        states.insert(script, ok);
    }
    assert_eq!(states.into_iter().collect::<Vec<_>>(), vec![(0, false), (1, true)]);
    std::thread::sleep(ms(300));
    assert!(!marker.exists(), "the refused script ran");
    let lines = logged("VRRP_Script(unsafe) refused by enable_script_security");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("ERROR: "), "{}", lines[0]);
    checker.stop();

    // Without enable_script_security the same script runs.
    let mut checker =
        CheckerUnderTest::start(scripts_only(vec![script("unsafe", &unsafe_script.display().to_string(), ms(100), ms(500), 1, 1)], false));
    assert_eq!(checker.script_change(ms(2000)), Some((0, true)));
    assert!(marker.exists());
    checker.stop();
}

#[test]
fn stop_ends_the_checker_promptly_even_with_a_script_running() {
    let mut checker =
        CheckerUnderTest::start(scripts_only(vec![script("slow", "sleep 30", ms(100), Duration::from_secs(60), 1, 1)], false));
    assert_eq!(checker.recv(ms(300)), None);
    let t = Instant::now();
    checker.stop();
    assert!(t.elapsed() < ms(1000), "stop took {:?}", t.elapsed());
}
