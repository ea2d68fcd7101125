//! Script checks of servers (keepalived MISC_CHECK): exit codes drive the health, and with
//! `misc_dynamic` the weight (2..255 ⇒ code − 2, 0 ⇒ the configured weight), reported before
//! the health change it comes with; a script past its timeout is killed and counts as failed.

mod support;

use hakeeper_common::config::HealthCheck;
use hakeeper_common::ipc::FromChecker;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("hakeeper-checker-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn script_backend(command: String, timeout: Option<Duration>, dynamic: bool, weight: u32) -> hakeeper_common::ipc::CheckerConfig {
    let mut s = server("s1", "127.0.0.1:8080".parse().unwrap(), Some(check(ms(100), 1, 1, 8080)));
    s.weight = weight;
    backends_only(vec![backend("app", HealthCheck::Script { command, timeout, dynamic }, vec![s])])
}

/// Writes the exit code the script will return from its next run on.
fn set_code(file: &std::path::Path, code: u8) {
    let tmp = file.with_extension("tmp");
    fs::write(&tmp, code.to_string()).expect("write code");
    fs::rename(&tmp, file).expect("rename code");
}

#[test]
fn misc_dynamic_exit_codes_set_the_weight_and_the_health() {
    let dir = TempDir::new("misc-dynamic");
    let code = dir.0.join("code");
    let env = dir.0.join("env");
    set_code(&code, 0);
    // The script runs every 100 ms: it writes aside and renames, so the test never reads the
    // file between a later run's truncation and its write.
    let command = format!(
        "echo \"$HAPROXY_PROXY_NAME $HAPROXY_SERVER_NAME $HAPROXY_SERVER_ADDR $HAPROXY_SERVER_PORT\" > {env}.$$; mv {env}.$$ {env}; exit $(cat {})",
        code.display(),
        env = env.display(),
    );
    let mut checker = CheckerUnderTest::start(script_backend(command, Some(ms(2000)), true, 3));
    // Exit 0 keeps the configured weight and the initial UP: nothing to report.
    assert_eq!(checker.recv(ms(400)), None);
    assert_eq!(fs::read_to_string(&env).expect("the script ran").trim(), "app s1 127.0.0.1 8080");

    set_code(&code, 7);
    assert_eq!(checker.recv(ms(2000)), Some(FromChecker::ServerWeight { backend: 0, server: 0, weight: 5 }));

    set_code(&code, 1);
    let (_, _, up, reason, _, _) = checker.server_change(ms(2000)).expect("DOWN on exit 1");
    assert!(!up);
    assert_eq!(reason, "External check error, code: 1");

    // Back UP with exit 12: the weight (10) comes first, so the server serves with it at once.
    set_code(&code, 12);
    assert_eq!(checker.recv(ms(2000)), Some(FromChecker::ServerWeight { backend: 0, server: 0, weight: 10 }));
    let (_, _, up, reason, _, _) = checker.server_change(ms(500)).expect("UP on exit 12");
    assert!(up);
    assert_eq!(reason, "External check passed, code: 12");

    set_code(&code, 0);
    assert_eq!(checker.recv(ms(2000)), Some(FromChecker::ServerWeight { backend: 0, server: 0, weight: 3 }), "exit 0: configured weight");
    checker.stop();
}

#[test]
fn without_misc_dynamic_a_code_above_one_fails_and_a_hanging_script_times_out() {
    let dir = TempDir::new("misc-plain");
    let code = dir.0.join("code");
    set_code(&code, 0);
    let mut checker = CheckerUnderTest::start(script_backend(format!("exit $(cat {})", code.display()), None, false, 3));
    assert_eq!(checker.recv(ms(400)), None);
    set_code(&code, 7);
    let (_, _, up, reason, _, _) = checker.server_change(ms(2000)).expect("DOWN on exit 7");
    assert!(!up);
    assert_eq!(reason, "External check error, code: 7");
    checker.stop();

    // Timeout: inter (100 ms) bounds the run when misc_timeout is not set.
    let mut checker = CheckerUnderTest::start(script_backend("sleep 5".into(), None, true, 3));
    let (_, _, up, reason, duration, _) = checker.server_change(ms(2000)).expect("DOWN at the timeout");
    assert!(!up);
    assert!(reason.starts_with("External check timeout"), "{reason}");
    assert!(duration < ms(1000), "killed at its timeout, not after sleep 5: {duration:?}");
    checker.stop();
}
