//! Phase-one behaviour of the L4 worker, end to end in one process: balancing, intact bulk data,
//! half-close, timeouts, server state changes, drain, retries and redispatch.

mod httpkit;
mod support;

use hakeeper_common::ipc::ToWorker;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};
use support::*;

fn tags_of(worker: &Worker, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut c = worker.connect();
            read_tag(&mut c)
        })
        .collect()
}

fn count(tags: &[String], name: &str) -> usize {
    tags.iter().filter(|t| *t == name).count()
}

#[test]
fn roundrobin_spreads_600_connections_evenly_over_3_servers() {
    let servers: Vec<_> = (1..=3).map(|i| TestServer::start(&format!("s{i}"), Behaviour::Tag)).collect();
    let addrs: Vec<_> = servers.iter().map(|s| s.addr).collect();
    let worker = Worker::start(config(frontend("fe_rr"), backend("be_rr", &addrs)));
    let tags = tags_of(&worker, 600);
    assert_eq!([count(&tags, "s1"), count(&tags, "s2"), count(&tags, "s3")], [200, 200, 200]);
    let log = wait_logs("fe_rr be_rr/s", 600, Duration::from_secs(5));
    assert!(log[0].contains(" -- "), "{}", log[0]);
}

#[test]
fn roundrobin_stays_exact_with_two_event_loop_threads() {
    let servers: Vec<_> = (1..=3).map(|i| TestServer::start(&format!("s{i}"), Behaviour::Tag)).collect();
    let addrs: Vec<_> = servers.iter().map(|s| s.addr).collect();
    let mut cfg = config(frontend("fe_rr2"), backend("be_rr2", &addrs));
    cfg.global.nbthread = 2;
    let worker = Worker::start(cfg);
    let tags = tags_of(&worker, 300);
    assert_eq!([count(&tags, "s1"), count(&tags, "s2"), count(&tags, "s3")], [100, 100, 100]);
}

#[test]
fn one_mebibyte_each_way_arrives_intact() {
    let server = TestServer::start("bulk", Behaviour::Bulk);
    let worker = Worker::start(config(frontend("fe_bulk"), backend("be_bulk", &[server.addr])));
    let mut conn = worker.connect();
    let mut writer = conn.try_clone().unwrap();
    let sent = pattern(BULK, 1);
    let expected_sent = digest(&sent);
    let sender = std::thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    sender.join().unwrap();
    assert_eq!(got.len(), BULK);
    assert_eq!(digest(&got), digest(&pattern(BULK, 2)), "server → client bytes differ");
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "server never finished reading");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.received.lock().unwrap()[0], (BULK, expected_sent), "client → server bytes differ");
    let log = wait_logs("fe_bulk be_bulk/s1", 1, Duration::from_secs(5));
    assert!(log[0].contains(&format!(" {BULK} -- ")), "{}", log[0]);
}

#[test]
fn half_closed_client_still_receives_the_reply() {
    let server = TestServer::start("r", Behaviour::ReplyAfterEof);
    let worker = Worker::start(config(frontend("fe_half"), backend("be_half", &[server.addr])));
    let mut conn = worker.connect();
    conn.write_all(b"hello").unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "got 5 bytes");
    let log = wait_logs("fe_half be_half/s1", 1, Duration::from_secs(5));
    assert!(log[0].contains(" -- "), "{}", log[0]);
}

#[test]
fn server_inactivity_timeout_closes_the_session() {
    let server = TestServer::start("quiet", Behaviour::Silent);
    let mut be = backend("be_srvto", &[server.addr]);
    be.timeout_server = Duration::from_millis(300);
    let worker = Worker::start(config(frontend("fe_srvto"), be));
    let mut conn = worker.connect();
    conn.write_all(b"anyone?").unwrap();
    let t0 = Instant::now();
    assert!(wait_closed(&mut conn, Duration::from_secs(5)), "the proxy kept the session open");
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
    let log = wait_logs("fe_srvto be_srvto/s1", 1, Duration::from_secs(5));
    assert!(log[0].contains(" sD "), "{}", log[0]);
}

#[test]
fn client_inactivity_timeout_closes_the_session() {
    let server = TestServer::start("quiet", Behaviour::Silent);
    let mut fe = frontend("fe_cltto");
    fe.timeout_client = Duration::from_millis(300);
    let worker = Worker::start(config(fe, backend("be_cltto", &[server.addr])));
    let mut conn = worker.connect();
    assert!(wait_closed(&mut conn, Duration::from_secs(5)));
    let log = wait_logs("fe_cltto be_cltto/s1", 1, Duration::from_secs(5));
    assert!(log[0].contains(" cD "), "{}", log[0]);
}

#[test]
fn down_server_gets_no_new_connections_and_keeps_established_ones() {
    let servers: Vec<_> = (1..=3).map(|i| TestServer::start(&format!("s{i}"), Behaviour::Tag)).collect();
    let addrs: Vec<_> = servers.iter().map(|s| s.addr).collect();
    let worker = Worker::start(config(frontend("fe_down"), backend("be_down", &addrs)));
    let mut held: Vec<_> = (0..3)
        .map(|_| {
            let mut c = worker.connect();
            let tag = read_tag(&mut c);
            (tag, c)
        })
        .collect();
    worker.send(ToWorker::ServerHealth { backend: 0, server: 1, up: false });
    wait_logs("Server be_down/s2 is DOWN", 1, Duration::from_secs(5));
    let tags = tags_of(&worker, 30);
    assert_eq!(count(&tags, "s2"), 0, "{tags:?}");
    assert_eq!(count(&tags, "s1") + count(&tags, "s3"), 30);
    // The session already on s2 still works.
    let (tag, conn) = held.iter_mut().find(|(t, _)| t == "s2").unwrap();
    assert_eq!(tag, "s2");
    conn.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    worker.send(ToWorker::ServerHealth { backend: 0, server: 1, up: true });
    wait_logs("Server be_down/s2 is UP", 1, Duration::from_secs(5));
    let tags = tags_of(&worker, 30);
    assert_eq!(count(&tags, "s2"), 10, "{tags:?}");
}

#[test]
fn maintenance_and_drain_take_a_server_out_of_balancing() {
    let servers: Vec<_> = (1..=2).map(|i| TestServer::start(&format!("s{i}"), Behaviour::Tag)).collect();
    let addrs: Vec<_> = servers.iter().map(|s| s.addr).collect();
    let worker = Worker::start(config(frontend("fe_admin"), backend("be_admin", &addrs)));
    worker.send(ToWorker::ServerAdmin { backend: 0, server: 0, state: hakeeper_common::ipc::AdminState::Maint });
    wait_logs("Server be_admin/s1 is going DOWN for maintenance", 1, Duration::from_secs(5));
    assert_eq!(count(&tags_of(&worker, 10), "s2"), 10);
    worker.send(ToWorker::ServerAdmin { backend: 0, server: 0, state: hakeeper_common::ipc::AdminState::Ready });
    worker.send(ToWorker::ServerAdmin { backend: 0, server: 1, state: hakeeper_common::ipc::AdminState::Drain });
    wait_logs("Server be_admin/s2 enters drain state", 1, Duration::from_secs(5));
    assert_eq!(count(&tags_of(&worker, 10), "s1"), 10);
}

#[test]
fn drain_lets_an_inflight_connection_finish_then_run_returns() {
    let server = TestServer::start("s1", Behaviour::Tag);
    let mut worker = Worker::start(config(frontend("fe_drain"), backend("be_drain", &[server.addr])));
    let mut conn = worker.connect();
    assert_eq!(read_tag(&mut conn), "s1");
    worker.send(ToWorker::Drain { grace: Duration::from_secs(10) });
    std::thread::sleep(Duration::from_millis(300));
    assert!(worker.is_running(), "run() returned with a session open");
    conn.write_all(b"still here").unwrap();
    let mut buf = [0u8; 10];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still here");
    drop(conn);
    worker.join(Duration::from_secs(3)).expect("drain ends with Ok");
}

#[test]
fn drain_grace_expiry_ends_remaining_sessions() {
    let server = TestServer::start("s1", Behaviour::Silent);
    let mut worker = Worker::start(config(frontend("fe_grace"), backend("be_grace", &[server.addr])));
    let mut conn = worker.connect();
    conn.write_all(b"x").unwrap();
    wait_until("the server accepted", || server.accepted() == 1);
    let t0 = Instant::now();
    worker.send(ToWorker::Drain { grace: Duration::from_millis(300) });
    worker.join(Duration::from_secs(3)).expect("drain ends with Ok");
    assert!(t0.elapsed() >= Duration::from_millis(250));
    assert!(wait_closed(&mut conn, Duration::from_secs(2)));
    let log = wait_logs("fe_grace be_grace/s1", 1, Duration::from_secs(5));
    assert!(log[0].contains(" KD "), "{}", log[0]);
}

#[test]
fn closing_the_channel_stops_the_worker() {
    let server = TestServer::start("s1", Behaviour::Silent);
    let mut worker = Worker::start(config(frontend("fe_orphan"), backend("be_orphan", &[server.addr])));
    let _conn = worker.connect();
    worker.close_channel();
    assert!(matches!(worker.join(Duration::from_secs(2)), Err(hakeeper_worker::WorkerError::SupervisorGone)));
}

#[test]
fn refused_server_is_retried_then_redispatched() {
    let good = TestServer::start("s2", Behaviour::Tag);
    let mut be = backend("be_redisp", &[refused_addr(), good.addr]);
    be.redispatch = true;
    be.timeout_connect = Duration::from_millis(200);
    let worker = Worker::start(config(frontend("fe_redisp"), be));
    let tags = tags_of(&worker, 10);
    assert_eq!(count(&tags, "s2"), 10, "{tags:?}");
    // Half of them went to s1 first and were redispatched (HAProxy's `+` before the retry count).
    let log = wait_logs("fe_redisp be_redisp/s2", 10, Duration::from_secs(5));
    assert_eq!(log.iter().filter(|l| l.contains("/+1 ")).count(), 5, "{log:#?}");
}

#[test]
fn refused_server_without_redispatch_fails_after_all_retries() {
    let mut be = backend("be_noredisp", &[refused_addr()]);
    be.timeout_connect = Duration::from_millis(100);
    be.retries = 3;
    let worker = Worker::start(config(frontend("fe_noredisp"), be));
    let mut conn = worker.connect();
    let t0 = Instant::now();
    assert!(wait_closed(&mut conn, Duration::from_secs(5)));
    // Three turn-around pauses of min(timeout connect, 1 s) between the four attempts.
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(290) && took < Duration::from_secs(3), "{took:?}");
    let log = wait_logs("fe_noredisp be_noredisp/s1", 1, Duration::from_secs(5));
    assert!(log[0].contains(" SC ") && log[0].contains("/3 0/0"), "{}", log[0]);
}

#[test]
fn frontend_without_backend_closes_the_client() {
    let mut fe = frontend("fe_nobe");
    fe.default_backend = None;
    let worker = Worker::start(config(fe, backend("be_unused", &[refused_addr()])));
    let mut conn = worker.connect();
    assert!(wait_closed(&mut conn, Duration::from_secs(2)));
    let log = wait_logs("fe_nobe fe_nobe/<NOSRV>", 1, Duration::from_secs(5));
    assert!(log[0].contains(" SC "), "{}", log[0]);
}

#[test]
fn no_server_up_closes_the_client() {
    let server = TestServer::start("s1", Behaviour::Tag);
    let worker = Worker::start(config(frontend("fe_noup"), backend("be_noup", &[server.addr])));
    worker.send(ToWorker::ServerHealth { backend: 0, server: 0, up: false });
    wait_logs("backend be_noup has no server available", 1, Duration::from_secs(5));
    let mut conn = worker.connect();
    assert!(wait_closed(&mut conn, Duration::from_secs(2)));
    assert_eq!(server.accepted(), 0);
    let log = wait_logs("fe_noup be_noup/<NOSRV>", 1, Duration::from_secs(5));
    assert!(log[0].contains(" SC "), "{}", log[0]);
}

#[test]
fn global_maxconn_holds_excess_clients_in_the_backlog() {
    let server = TestServer::start("s1", Behaviour::Tag);
    let mut cfg = config(frontend("fe_maxconn"), backend("be_maxconn", &[server.addr]));
    cfg.global.maxconn = 2;
    let worker = Worker::start(cfg);
    let mut first = worker.connect();
    let mut second = worker.connect();
    assert_eq!(read_tag(&mut first), "s1");
    assert_eq!(read_tag(&mut second), "s1");
    let mut third = worker.connect();
    third.set_read_timeout(Some(Duration::from_millis(400))).unwrap();
    let mut byte = [0u8; 1];
    assert!(third.read(&mut byte).is_err(), "a third session was served at maxconn 2");
    assert_eq!(server.accepted(), 2);
    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(read_tag(&mut third), "s1");
}

#[test]
fn timeout_tunnel_supersedes_the_client_and_server_timeouts_once_connected() {
    // HAProxy's TCP mode: once the server connection is up, `timeout tunnel` replaces both.
    let server = TestServer::start("quiet", Behaviour::Silent);
    let worker = Worker::start(httpkit::worker_config(&format!(
        r#"(
      global: (maxconn: 100, log: (target: "stderr", facility: "local1")),
      defaults: (mode: tcp, timeout: (connect: "2s", client: "200ms", server: "200ms", tunnel: "1200ms")),
      listen: [(name: "tun", bind: ["127.0.0.1:1"], servers: [(name: "s1", addr: "{}")])],
    )"#,
        server.addr
    )));
    let mut conn = worker.connect();
    conn.write_all(b"x").unwrap();
    let t0 = Instant::now();
    assert!(wait_closed(&mut conn, Duration::from_secs(5)), "the tunnel timeout never closed it");
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(1000) && waited < Duration::from_secs(3), "closed after {waited:?}");
}
