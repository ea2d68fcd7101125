//! Server maxconn with its queue and `timeout queue`, `option abortonclose`, the shared
//! counters, and `option dontlognull`.

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn server_maxconn_queues_the_excess_then_times_it_out() {
    maxconn_queue_times_out("q", 1);
}

#[test]
fn server_maxconn_holds_across_event_loop_threads() {
    maxconn_queue_times_out("q2", 2);
}

fn maxconn_queue_times_out(name: &str, threads: u32) {
    let server = TestServer::start("s1", Behaviour::Silent);
    let mut be = backend(&format!("be_{name}"), &[server.addr]);
    be.servers[0].maxconn = 10;
    be.timeout_queue = Duration::from_millis(500);
    let mut cfg = config(frontend(&format!("fe_{name}")), be);
    cfg.global.nbthread = threads;
    let worker = Worker::start(cfg);
    let mut clients: Vec<_> = (0..50)
        .map(|_| {
            let mut c = worker.connect();
            c.write_all(b"x").unwrap();
            c
        })
        .collect();
    wait_until("ten connected", || server.accepted() == 10);
    let backend = &worker.stats.backends[0];
    wait_until("forty queued", || get(&backend.counters.queue_cur) == 40);
    // The server stays full: the queued ones give up after `timeout queue`.
    let t0 = Instant::now();
    let log = wait_logs(&format!("fe_{name} be_{name}/<NOSRV>"), 40, Duration::from_secs(5));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(log.iter().all(|l| l.contains(" sQ ")), "{log:#?}");
    let closed = clients.iter_mut().map(|c| wait_closed(c, Duration::from_millis(50))).filter(|&closed| closed).count();
    assert_eq!(closed, 40);
    assert_eq!(server.max_open.load(Ordering::SeqCst), 10);
    assert_eq!(server.accepted(), 10);
    assert_eq!(get(&backend.counters.queue_max), 40);
    assert_eq!(get(&backend.counters.queue_cur), 0);
}

#[test]
fn a_freed_slot_goes_to_the_oldest_queued_session() {
    freed_slot_goes_to_the_oldest("qfree", 1);
}

#[test]
fn queue_grants_cross_event_loop_threads() {
    freed_slot_goes_to_the_oldest("qfree2", 2);
}

fn freed_slot_goes_to_the_oldest(name: &str, threads: u32) {
    let server = TestServer::start("s1", Behaviour::Tag);
    let mut be = backend(&format!("be_{name}"), &[server.addr]);
    be.servers[0].maxconn = 1;
    be.timeout_queue = Duration::from_secs(5);
    let mut cfg = config(frontend(&format!("fe_{name}")), be);
    cfg.global.nbthread = threads;
    let worker = Worker::start(cfg);
    let mut first = worker.connect();
    assert_eq!(read_tag(&mut first), "s1");
    let mut second = worker.connect();
    std::thread::sleep(Duration::from_millis(50));
    let mut third = worker.connect();
    wait_until("two queued", || get(&worker.stats.backends[0].counters.queue_cur) == 2);
    std::thread::sleep(Duration::from_millis(200));
    drop(first);
    assert_eq!(read_tag(&mut second), "s1");
    assert_eq!(server.open(), 1);
    drop(second);
    assert_eq!(read_tag(&mut third), "s1");
    drop(third);
    // The queue wait shows in %Tw.
    let log = wait_logs(&format!("fe_{name} be_{name}/s1"), 3, Duration::from_secs(5));
    let waited: Vec<i64> = log.iter().map(|l| l.split(' ').nth(4).unwrap().split('/').next().unwrap().parse().unwrap()).collect();
    assert!(waited.iter().filter(|&&w| w >= 200).count() == 2, "{log:#?}");
    assert_eq!(server.max_open.load(Ordering::SeqCst), 1);
}

#[test]
fn abortonclose_drops_a_queued_client_that_closed() {
    let server = TestServer::start("s1", Behaviour::Silent);
    let mut be = backend("be_abort", &[server.addr]);
    be.servers[0].maxconn = 1;
    be.abortonclose = true;
    let worker = Worker::start(config(frontend("fe_abort"), be));
    let mut holder = worker.connect();
    holder.write_all(b"x").unwrap();
    wait_until("one connected", || server.accepted() == 1);
    let mut quitter = worker.connect();
    quitter.write_all(b"request").unwrap();
    wait_until("one queued", || get(&worker.stats.backends[0].counters.queue_cur) == 1);
    quitter.shutdown(Shutdown::Write).unwrap();
    let log = wait_logs("fe_abort be_abort/<NOSRV>", 1, Duration::from_secs(5));
    assert!(log[0].contains(" CQ "), "{}", log[0]);
    drop(holder);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.accepted(), 1, "the aborted session still reached the server");
}

#[test]
fn without_abortonclose_a_half_closed_queued_client_is_still_served() {
    let server = TestServer::start("r", Behaviour::ReplyAfterEof);
    let mut be = backend("be_noabort", &[server.addr]);
    be.servers[0].maxconn = 1;
    let worker = Worker::start(config(frontend("fe_noabort"), be));
    let mut holder = worker.connect();
    holder.write_all(b"12").unwrap();
    wait_until("one connected", || server.accepted() == 1);
    let mut waiting = worker.connect();
    waiting.write_all(b"hello").unwrap();
    waiting.shutdown(Shutdown::Write).unwrap();
    wait_until("one queued", || get(&worker.stats.backends[0].counters.queue_cur) == 1);
    holder.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    holder.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "got 2 bytes");
    let mut reply = String::new();
    waiting.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "got 5 bytes");
}

#[test]
fn counters_follow_sessions_bytes_retries_and_errors() {
    let good = TestServer::start("s2", Behaviour::Tag);
    let mut be = backend("be_cnt", &[refused_addr(), good.addr]);
    be.redispatch = true;
    let worker = Worker::start(config(frontend("fe_cnt"), be));
    for _ in 0..4 {
        let mut c = worker.connect();
        assert_eq!(read_tag(&mut c), "s2");
        c.write_all(b"abcd").unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
    }
    wait_logs("fe_cnt be_cnt/s2", 4, Duration::from_secs(5));
    let st = &worker.stats;
    let fe = &st.frontends[0];
    let be = &st.backends[0];
    assert_eq!(get(&fe.counters.total), 4);
    assert_eq!(get(&fe.counters.cur), 0);
    assert_eq!(get(&fe.listeners[0].counters.total), 4);
    assert_eq!(get(&fe.counters.bytes_in), 16);
    // "s2\n" then the echo.
    assert_eq!(get(&fe.counters.bytes_out), 4 * 7);
    assert_eq!(get(&be.counters.bytes_out), 4 * 7);
    assert_eq!(get(&be.servers[1].counters.bytes_in), 16);
    assert_eq!(get(&be.counters.total), 4);
    // Two of the four went to the refused server first and were redispatched at once.
    assert_eq!(get(&be.counters.redispatches), 2);
    assert_eq!(get(&be.servers[0].counters.redispatches), 2);
    assert_eq!(get(&be.counters.connect_errors), 0);
    assert_eq!(get(&be.servers[1].counters.total), 4);
    assert_eq!(get(&be.servers[1].counters.cur), 0);
    assert_eq!(get(&st.process.cur), 0);
}

#[test]
fn connect_errors_and_retries_are_counted() {
    let mut be = backend("be_econ", &[refused_addr()]);
    be.retries = 2;
    be.timeout_connect = Duration::from_millis(20);
    let worker = Worker::start(config(frontend("fe_econ"), be));
    let mut c = worker.connect();
    assert!(wait_closed(&mut c, Duration::from_secs(3)));
    wait_logs("fe_econ be_econ/s1", 1, Duration::from_secs(5));
    let be = &worker.stats.backends[0];
    assert_eq!(get(&be.counters.retries), 2);
    assert_eq!(get(&be.servers[0].counters.retries), 2);
    assert_eq!(get(&be.counters.connect_errors), 1);
    assert_eq!(get(&be.servers[0].counters.connect_errors), 1);
}

#[test]
fn dontlognull_skips_connections_that_sent_nothing() {
    let server = TestServer::start("s1", Behaviour::Tag);
    let mut fe = frontend("fe_null");
    fe.dontlognull = true;
    let worker = Worker::start(config(fe, backend("be_null", &[server.addr])));
    // A probe: connects, reads the banner, leaves without a byte.
    let mut probe = worker.connect();
    assert_eq!(read_tag(&mut probe), "s1");
    drop(probe);
    let mut client = worker.connect();
    assert_eq!(read_tag(&mut client), "s1");
    client.write_all(b"data").unwrap();
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).unwrap();
    drop(client);
    wait_logs("fe_null be_null/s1", 1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    let lines = logs_with("fe_null be_null/s1");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains(" 7 -- "), "{}", lines[0]);
    assert_eq!(get(&worker.stats.frontends[0].counters.total), 2);
}
