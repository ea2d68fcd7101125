//! VRRP notify scripts run by the checker (`ToChecker::Notify`): one at a time per instance in
//! arrival order, instances independent, split and exec'd as keepalived does, killed with their
//! process group at their timeout, finished (within a bound) at Stop, and never in the way of
//! the health checks.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("hakeeper-notify-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes an executable script.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, body).expect("write script");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// `rec.sh LABEL SECONDS`: appends `start LABEL NS PID`, sleeps, appends `end LABEL NS`.
    fn recorder(&self) -> (PathBuf, PathBuf) {
        let log = self.path("runs.log");
        let script = self.script(
            "rec.sh",
            &format!(
                "#!/bin/sh\necho \"start $1 $(date +%s%N) $$\" >> {log}\nsleep $2\necho \"end $1 $(date +%s%N)\" >> {log}\n",
                log = log.display()
            ),
        );
        (script, log)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    start: bool,
    label: String,
    ns: u128,
    pid: i32,
}

fn records(log: &Path) -> Vec<Record> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            Some(Record {
                start: *w.first()? == "start",
                label: w.get(1)?.to_string(),
                ns: w.get(2)?.parse().ok()?,
                pid: w.get(3).and_then(|p| p.parse().ok()).unwrap_or(0),
            })
        })
        .collect()
}

fn wait_for_records(log: &Path, n: usize, timeout: Duration) -> Vec<Record> {
    let end = Instant::now() + timeout;
    loop {
        let r = records(log);
        if r.len() >= n || Instant::now() >= end {
            return r;
        }
        std::thread::sleep(ms(10));
    }
}

fn find<'a>(r: &'a [Record], start: bool, label: &str) -> &'a Record {
    r.iter()
        .find(|x| x.start == start && x.label == label)
        .unwrap_or_else(|| panic!("no {} {label} in {r:?}", if start { "start" } else { "end" }))
}

/// Live (not zombie) processes whose process group is `pgid`.
fn live_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else { return members };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the command: state, ppid, pgrp.
        if fields.first() != Some(&"Z") && fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            members.push(pid);
        }
    }
    members
}

#[test]
fn notify_scripts_of_one_instance_run_in_order_one_at_a_time() {
    let dir = TempDir::new("order");
    let (rec, log) = dir.recorder();
    let checker = CheckerUnderTest::start(scripts_only(Vec::new(), false));
    let rec = rec.display().to_string();
    checker.notify("VI_1", &format!("{rec} a 0.3"), &[]);
    checker.notify("VI_1", &format!("{rec} b 0.2"), &[]);
    checker.notify("VI_1", &format!("{rec} c 0"), &[]);
    let r = wait_for_records(&log, 6, Duration::from_secs(5));
    let sequence: Vec<(bool, &str)> = r.iter().map(|x| (x.start, x.label.as_str())).collect();
    assert_eq!(sequence, [(true, "a"), (false, "a"), (true, "b"), (false, "b"), (true, "c"), (false, "c")], "{r:?}");
    assert!(find(&r, true, "b").ns >= find(&r, false, "a").ns, "b started before a ended: {r:?}");
    assert!(find(&r, true, "c").ns >= find(&r, false, "b").ns, "c started before b ended: {r:?}");
    assert!(!logged("VRRP_Instance(VI_1) notify script").is_empty());
    assert!(!logged("exited with status 0").is_empty());
    checker.stop();
}

#[test]
fn notify_scripts_of_different_instances_overlap() {
    let dir = TempDir::new("overlap");
    let (rec, log) = dir.recorder();
    let checker = CheckerUnderTest::start(scripts_only(Vec::new(), false));
    let rec = rec.display().to_string();
    checker.notify("VI_1", &format!("{rec} a 0.5"), &[]);
    checker.notify("VI_2", &format!("{rec} b 0.5"), &[]);
    let r = wait_for_records(&log, 4, Duration::from_secs(5));
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(find(&r, true, "b").ns < find(&r, false, "a").ns, "VI_2 waited for VI_1: {r:?}");
    assert!(find(&r, true, "a").ns < find(&r, false, "b").ns, "VI_1 waited for VI_2: {r:?}");
    checker.stop();
}

#[test]
fn command_lines_are_split_as_keepalived_and_the_arguments_appended() {
    let dir = TempDir::new("args");
    let out = dir.path("args.out");
    let script = dir.script("args.sh", &format!("#!/bin/sh\nprintf '%s|' \"$#\" \"$@\" > {}\n", out.display()));
    // No `#!` line: exec fails with ENOEXEC and /bin/sh runs it, as execvp would.
    let bare_out = dir.path("bare.out");
    let bare = dir.script("bare.sh", &format!("echo \"$1\" > {}\n", bare_out.display()));
    let checker = CheckerUnderTest::start(scripts_only(Vec::new(), false));
    checker.notify("VI_1", &format!("{} 'two words' plain", script.display()), &["INSTANCE", "VI_1", "MASTER", "100"]);
    checker.notify("VI_2", &format!("{} \"a | b\"", bare.display()), &[]);
    let end = Instant::now() + Duration::from_secs(3);
    while !(out.exists() && bare_out.exists()) && Instant::now() < end {
        std::thread::sleep(ms(10));
    }
    assert_eq!(fs::read_to_string(&out).unwrap_or_default(), "6|two words|plain|INSTANCE|VI_1|MASTER|100|");
    assert_eq!(fs::read_to_string(&bare_out).unwrap_or_default(), "a | b\n", "no shell parsed the quoted argument");
    checker.stop();
}

#[test]
fn a_hanging_notify_script_is_killed_with_its_group_at_its_timeout() {
    let dir = TempDir::new("timeout");
    let (rec, log) = dir.recorder();
    let next = dir.path("next");
    let limits = hakeeper_checker::NotifyLimits { timeout: ms(400), stop_bound: ms(1500) };
    let checker = CheckerUnderTest::start_with_limits(scripts_only(Vec::new(), false), limits);
    let started = Instant::now();
    checker.notify("VI_1", &format!("{} hang 30", rec.display()), &[]);
    checker.notify("VI_1", &format!("/usr/bin/touch {}", next.display()), &[]);
    let r = wait_for_records(&log, 1, Duration::from_secs(2));
    let pgid = find(&r, true, "hang").pid;
    while !next.exists() && started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(ms(10));
    }
    let waited = started.elapsed();
    assert!(next.exists(), "the instance's next script never ran");
    assert!(waited >= ms(400), "the next script ran before the hanging one's timeout ({waited:?})");
    assert!(waited < Duration::from_secs(2), "the hanging script was not killed at its timeout ({waited:?})");
    assert_eq!(live_members(pgid), Vec::<i32>::new(), "the hanging script's group survived");
    assert_eq!(records(&log).len(), 1, "the hanging script finished instead of being killed");
    assert!(!logged("timed out after 400ms; its process group was killed").is_empty());
    checker.stop();
}

#[test]
fn stop_lets_queued_notify_scripts_finish() {
    let dir = TempDir::new("stopwait");
    let (rec, log) = dir.recorder();
    let checker = CheckerUnderTest::start(scripts_only(Vec::new(), false));
    let rec = rec.display().to_string();
    checker.notify("VI_1", &format!("{rec} a 0.2"), &[]);
    checker.notify("VI_1", &format!("{rec} b 0.2"), &[]);
    let took = checker.stop_timed();
    let r = records(&log);
    assert_eq!(r.len(), 4, "Stop did not wait for the queued scripts: {r:?}");
    assert!(took >= ms(350) && took < ms(1500), "Stop took {took:?}");
}

#[test]
fn stop_waits_no_longer_than_its_bound() {
    let dir = TempDir::new("stopbound");
    let (rec, log) = dir.recorder();
    let checker = CheckerUnderTest::start(scripts_only(Vec::new(), false));
    let rec = rec.display().to_string();
    checker.notify("VI_1", &format!("{rec} slow 5"), &[]);
    checker.notify("VI_1", &format!("{rec} never 0"), &[]);
    let r = wait_for_records(&log, 1, Duration::from_secs(2));
    let pgid = find(&r, true, "slow").pid;
    let took = checker.stop_timed();
    assert!(took >= ms(1300) && took < ms(2500), "Stop took {took:?}, the bound is 1.5 s");
    assert_eq!(live_members(pgid), Vec::<i32>::new(), "the slow script's group survived the stop");
    std::thread::sleep(ms(100));
    assert_eq!(records(&log).len(), 1, "{:?}", records(&log));
    assert!(logged("not run: shutting down").iter().any(|l| l.contains("never 0")), "the never-started script was not reported");
}

#[test]
fn enable_script_security_refuses_an_unsafe_notify_script() {
    let dir = TempDir::new("security");
    let out = dir.path("ran");
    let script = dir.script("unsafe.sh", &format!("#!/bin/sh\ntouch {}\n", out.display()));
    fs::set_permissions(&script, fs::Permissions::from_mode(0o777)).expect("chmod");
    let checker = CheckerUnderTest::start(scripts_only(Vec::new(), true));
    checker.notify("VI_9", &script.display().to_string(), &[]);
    let end = Instant::now() + Duration::from_secs(2);
    while logged("VRRP_Instance(VI_9) notify script").is_empty() && Instant::now() < end {
        std::thread::sleep(ms(10));
    }
    let lines = logged("VRRP_Instance(VI_9) notify script");
    assert!(lines.iter().any(|l| l.contains("refused by enable_script_security")), "{lines:?}");
    assert!(!out.exists(), "the unsafe script ran");
    checker.stop();
}

#[test]
fn a_running_notify_script_does_not_hold_up_the_checks() {
    let dir = TempDir::new("nonblocking");
    let (rec, log) = dir.recorder();
    let flag = dir.path("ok");
    fs::write(&flag, "").expect("flag");
    let check = script("chk_flag", &format!("test -e {}", flag.display()), ms(100), ms(1000), 1, 1);
    let mut checker = CheckerUnderTest::start(scripts_only(vec![check], false));
    assert_eq!(checker.script_change(ms(1000)), Some((0, true)));
    checker.notify("VI_1", &format!("{} busy 3", rec.display()), &[]);
    wait_for_records(&log, 1, Duration::from_secs(2));
    fs::remove_file(&flag).expect("remove flag");
    let gone = Instant::now();
    assert_eq!(checker.script_change(ms(1500)), Some((0, false)), "the check stalled behind the notify script");
    assert!(gone.elapsed() < ms(1000), "the check result came {:?} after the change", gone.elapsed());
    checker.stop();
}
