//! A MySQL-protocol frontend in front of two MariaDB servers from Debian (issue #17): the
//! writers' source network goes to the primary, every other client to the replica, a blocked
//! network is refused before any server is touched. Debian's `mariadb` client runs
//! `SELECT @@port` through hakeeper, so the answer names the server that answered. The client
//! cannot choose its source address, so it goes through a relay bound to 127.0.0.x, or one
//! that sends a PROXY header with the chosen source to an `accept-proxy` bind.

mod harness;

use harness::differential_haproxy::listening;
use harness::mariadb::MariaDb;
use harness::process::{free_port, in_ci, wait_until, Appliance, TempDir};
use harness::relay::Relay;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

const CLIENTS: &[&str] = &["/usr/bin/mariadb", "/usr/bin/mysql"];
const USERS: &str = "CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'pw';\n";

/// `SELECT @@port` through `addr` with Debian's client: the port of the server that answered,
/// or the client's error.
fn server_port(client: &str, addr: SocketAddr) -> Result<u16, String> {
    let mut cmd = Command::new(client);
    cmd.args(["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-u", "app", "-ppw", "--connect-timeout=5", "-N", "-B"])
        .arg(format!("-P{}", addr.port()))
        .args(["-e", "SELECT @@port"])
        .stdin(Stdio::null());
    let out = harness::process::output_within(cmd, Duration::from_secs(20)).map_err(|e| format!("{client}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| format!("unexpected answer {text:?}"))
}

#[test]
fn mysql_frontend_routes_writers_to_the_primary_and_others_to_the_replica() {
    let Some(client) = CLIENTS.iter().find(|c| std::path::Path::new(c).exists()) else {
        assert!(!in_ci(), "mysql_routing needs Debian's mariadb client (mariadb-client) and CI=true: failing instead of skipping");
        eprintln!("skipping mysql_routing: no mariadb client (run tests/install-deps as root)");
        return;
    };
    let Some(mut primary) = MariaDb::install_or_skip("routing-primary") else { return };
    let Some(mut replica) = MariaDb::install_or_skip("routing-replica") else { return };
    let (primary_port, replica_port) = (free_port(), free_port());
    primary.start(primary_port, USERS).unwrap_or_else(|e| panic!("primary: {e}"));
    replica.start(replica_port, USERS).unwrap_or_else(|e| panic!("replica: {e}"));

    let dir = TempDir::new("mysql-routing");
    let (mysql, relay_port) = (free_port(), free_port());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "2s", client: "20s", server: "20s")),
  frontend: [
    (name: "mysql", bind: ["127.0.0.1:{mysql}"], default_backend: "replica",
     acls: [(name: "writers", criterion: "src 127.0.0.3/32 192.0.2.0/24"), (name: "blocked", criterion: "src 127.0.0.4")],
     tcp_request_connection: ["reject if blocked"],
     use_backend: [(backend: "primary", cond: "if writers")]),
    (name: "mysql_proxied", bind: ["127.0.0.1:{relay_port}"], accept_proxy: true, default_backend: "replica",
     use_backend: [(backend: "primary", cond: "if {{ src 192.0.2.0/24 }}")]),
  ],
  backend: [
    (name: "primary", servers: [(name: "db1", addr: "127.0.0.1:{primary_port}")]),
    (name: "replica", servers: [(name: "db2", addr: "127.0.0.1:{replica_port}")]),
  ],
)"#
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(mysql) && listening(relay_port)), "not listening:\n{}", hk.log_text());
    let front = SocketAddr::from(([127, 0, 0, 1], mysql));

    let writer = Relay::start(Ipv4Addr::new(127, 0, 0, 3), front, None);
    let reader = Relay::start(Ipv4Addr::new(127, 0, 0, 1), front, None);
    let blocked = Relay::start(Ipv4Addr::new(127, 0, 0, 4), front, None);
    assert_eq!(server_port(client, writer.addr), Ok(primary_port), "a writer must reach the primary\n{}", hk.log_text());
    assert_eq!(server_port(client, reader.addr), Ok(replica_port), "a reader must reach the replica\n{}", hk.log_text());
    let refused = server_port(client, blocked.addr);
    assert!(refused.is_err(), "a blocked client got an answer: {refused:?}");

    // Behind accept-proxy, the header's source decides.
    let proxied = SocketAddr::from(([127, 0, 0, 1], relay_port));
    let via_writer = Relay::start(Ipv4Addr::new(127, 0, 0, 1), proxied, Some("192.0.2.10:40000".parse().expect("addr")));
    let via_reader = Relay::start(Ipv4Addr::new(127, 0, 0, 1), proxied, Some("198.51.100.10:40000".parse().expect("addr")));
    assert_eq!(server_port(client, via_writer.addr), Ok(primary_port), "{}", hk.log_text());
    assert_eq!(server_port(client, via_reader.addr), Ok(replica_port), "{}", hk.log_text());

    let log = hk.log_text();
    assert!(log.lines().any(|l| l.contains("127.0.0.3:") && l.contains(" mysql primary/db1 ")), "{log}");
    assert!(log.lines().any(|l| l.contains("192.0.2.10:40000") && l.contains(" mysql_proxied primary/db1 ")), "{log}");
    assert!(!log.contains("127.0.0.4:"), "a rejected connection was logged:\n{log}");
}
