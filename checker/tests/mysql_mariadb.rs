//! The MySQL check against a real MariaDB from Debian's packages, started privately on loopback:
//! UP while it runs, DOWN after it stops; a user the server denies keeps the server DOWN.

mod support;

#[path = "../../tests/harness/mariadb.rs"]
mod mariadb;

use hakeeper_common::config::HealthCheck;
use support::*;

#[test]
fn mysql_check_against_mariadb_is_up_while_it_runs_and_down_after_it_stops() {
    let Some(mut db) = mariadb::MariaDb::install_or_skip("mysql_check_against_mariadb") else {
        return;
    };
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let (rise, fall) = (2, 2);
    let ok =
        backend("db_ok", HealthCheck::Mysql { user: "hkcheck".into() }, vec![server("db1", addr, Some(check(ms(300), rise, fall, port)))]);
    let denied = backend(
        "db_denied",
        HealthCheck::Mysql { user: "nosuchuser".into() },
        vec![server("db1", addr, Some(check(ms(300), rise, fall, port)))],
    );
    let mut checker = CheckerUnderTest::start(backends_only(vec![ok, denied]));

    // Nothing listens yet: both go DOWN at their first check.
    let mut down = Vec::new();
    while down.len() < 2 {
        let (b, _, up, reason, _, _) = checker.server_change(ms(2000)).expect("DOWN before MariaDB starts");
        assert!(!up);
        assert_eq!(reason, "Layer4 connection problem, info: \"Connection refused\"");
        down.push(b);
    }

    if let Err(e) = db.start(port, "CREATE USER IF NOT EXISTS 'hkcheck'@'127.0.0.1';\n") {
        panic!("MariaDB did not start: {e}");
    }
    let (b, _, up, reason, _, _) = checker.server_change(ms(10_000)).expect("UP once MariaDB serves");
    assert_eq!((b, up), (0, true), "{reason}");
    assert!(reason.starts_with("Layer7 check passed, code: 0, info: \"5.5.5-10."), "{reason}");
    assert!(reason.contains("MariaDB"), "{reason}");

    // The denied user: the server answers, but with ERR 1045, which HAProxy counts as a failure.
    // Poll (a loaded machine can make MariaDB's first answers slow) while nothing changes.
    let line = "Health check for server db_denied/db1 failed, reason: Layer7 wrong status, code: 1045, info: \"Access denied for user 'nosuchuser'";
    let end = std::time::Instant::now() + ms(8000);
    while logged(line).is_empty() && std::time::Instant::now() < end {
        assert_eq!(checker.recv(ms(200)), None, "db_denied must stay DOWN");
    }
    assert!(!logged(line).is_empty(), "no ERR 1045 seen for the denied user");

    db.stop();
    let (b, _, up, reason, _, _) = checker.server_change(ms(3000)).expect("DOWN after MariaDB stops");
    // Usually "Connection refused"; a check during the shutdown may see ERR 1053 instead.
    assert_eq!((b, up), (0, false), "{reason}");
    checker.stop();
}
