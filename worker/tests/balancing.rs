//! Balancing algorithms, weights, backups and persistence through the real worker.

mod support;

use hakeeper_common::config::{Balance, HashType, Stick};
use hakeeper_common::ipc::ToWorker;
use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;
use support::*;

fn tagged(worker: &Worker) -> (String, TcpStream) {
    let mut c = worker.connect();
    (read_tag(&mut c), c)
}

fn servers(n: usize) -> (Vec<TestServer>, Vec<std::net::SocketAddr>) {
    let s: Vec<_> = (1..=n).map(|i| TestServer::start(&format!("s{i}"), Behaviour::Tag)).collect();
    let a = s.iter().map(|s| s.addr).collect();
    (s, a)
}

#[test]
fn weights_five_to_three_hold_within_one_connection() {
    let (_s, addrs) = servers(2);
    let mut be = backend("be_w53", &addrs);
    be.servers[0].weight = 5;
    be.servers[1].weight = 3;
    let worker = Worker::start(config(frontend("fe_w53"), be));
    let mut s1 = 0f64;
    for n in 1..=80 {
        if tagged(&worker).0 == "s1" {
            s1 += 1.0;
        }
        assert!((s1 - f64::from(n) * 5.0 / 8.0).abs() <= 1.0, "after {n} connections s1 had {s1}");
    }
    assert_eq!(s1, 50.0);
}

#[test]
fn set_weight_changes_the_share_at_run_time() {
    let (_s, addrs) = servers(2);
    let worker = Worker::start(config(frontend("fe_setw"), backend("be_setw", &addrs)));
    worker.send(ToWorker::SetWeight { backend: 0, server: 1, weight: 3 });
    wait_logs("Server be_setw/s2 weight set to 3", 1, Duration::from_secs(5));
    let s2 = (0..40).filter(|_| tagged(&worker).0 == "s2").count();
    assert_eq!(s2, 30);
    // Weight 0: no more balanced traffic.
    worker.send(ToWorker::SetWeight { backend: 0, server: 1, weight: 0 });
    wait_logs("Server be_setw/s2 weight set to 0", 1, Duration::from_secs(5));
    assert_eq!((0..10).filter(|_| tagged(&worker).0 == "s2").count(), 0);
}

#[test]
fn static_rr_refuses_other_weights() {
    let (_s, addrs) = servers(2);
    let mut be = backend("be_srr", &addrs);
    be.balance = Balance::StaticRr;
    let worker = Worker::start(config(frontend("fe_srr"), be));
    assert_eq!((0..600).filter(|_| tagged(&worker).0 == "s1").count(), 300);
    worker.send(ToWorker::SetWeight { backend: 0, server: 0, weight: 4 });
    wait_logs("weight 4 for server be_srr/s1 refused", 1, Duration::from_secs(5));
    assert_eq!((0..10).filter(|_| tagged(&worker).0 == "s1").count(), 5);
}

#[test]
fn leastconn_sends_new_connections_to_the_idle_server() {
    let (_s, addrs) = servers(2);
    let mut be = backend("be_lc", &addrs);
    be.balance = Balance::Leastconn;
    let worker = Worker::start(config(frontend("fe_lc"), be));
    let a = tagged(&worker);
    let b = tagged(&worker);
    let c = tagged(&worker);
    // Ties rotate: s1, s2, then s1 again.
    assert_eq!([a.0.as_str(), b.0.as_str(), c.0.as_str()], ["s1", "s2", "s1"]);
    drop(b);
    wait_logs("fe_lc be_lc/s2", 1, Duration::from_secs(5));
    // s1 holds two sessions, s2 none: the next ones go to s2 until it catches up.
    let d = tagged(&worker);
    let e = tagged(&worker);
    assert_eq!([d.0.as_str(), e.0.as_str()], ["s2", "s2"]);
    drop((a, c, d, e));
}

#[test]
fn first_fills_server_one_up_to_its_maxconn_before_server_two() {
    let (s, addrs) = servers(2);
    let mut be = backend("be_first", &addrs);
    be.balance = Balance::First;
    be.servers[0].maxconn = 3;
    be.servers[1].maxconn = 3;
    let worker = Worker::start(config(frontend("fe_first"), be));
    let held: Vec<_> = (0..5).map(|_| tagged(&worker)).collect();
    let tags: Vec<_> = held.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tags, ["s1", "s1", "s1", "s2", "s2"]);
    assert_eq!(s[0].open(), 3);
    drop(held);
}

#[test]
fn source_keeps_a_client_on_one_server() {
    let (_s, addrs) = servers(3);
    let mut be = backend("be_src", &addrs);
    be.balance = Balance::Source;
    let worker = Worker::start(config(frontend("fe_src"), be));
    for last in 10..20u8 {
        let from = Ipv4Addr::new(127, 0, 0, last);
        let tags: Vec<_> = (0..5).map(|_| read_tag(&mut connect_from(worker.addr, from))).collect();
        assert!(tags.iter().all(|t| *t == tags[0]), "{from}: {tags:?}");
    }
}

fn source_map(worker: &Worker, clients: std::ops::Range<u8>) -> HashMap<u8, String> {
    clients.map(|c| (c, read_tag(&mut connect_from(worker.addr, Ipv4Addr::new(127, 0, 1, c))))).collect()
}

#[test]
fn consistent_source_hashing_moves_only_the_clients_of_a_removed_server() {
    let (_s, addrs) = servers(3);
    let mut be = backend("be_chash", &addrs);
    be.balance = Balance::Source;
    be.hash_type = HashType::Consistent;
    let worker = Worker::start(config(frontend("fe_chash"), be));
    let before = source_map(&worker, 1..61);
    assert!(before.values().any(|t| t == "s2"));
    worker.send(ToWorker::ServerHealth { backend: 0, server: 1, up: false });
    wait_logs("Server be_chash/s2 is DOWN", 1, Duration::from_secs(5));
    let after = source_map(&worker, 1..61);
    for (c, old) in &before {
        if old == "s2" {
            assert_ne!(after[c], "s2");
        } else {
            assert_eq!(&after[c], old, "client 127.0.1.{c} moved although its server stayed up");
        }
    }
}

#[test]
fn stick_table_keeps_a_client_on_its_server_until_expiry() {
    let (_s, addrs) = servers(2);
    let mut be = backend("be_stick", &addrs);
    be.stick = Some(Stick { expire: Duration::from_millis(600), size: 1000 });
    let worker = Worker::start(config(frontend("fe_stick"), be));
    let from = Ipv4Addr::new(127, 0, 2, 1);
    let first = read_tag(&mut connect_from(worker.addr, from));
    // Round-robin alone would alternate; the table keeps the client where it was.
    for _ in 0..6 {
        assert_eq!(read_tag(&mut connect_from(worker.addr, from)), first);
        std::thread::sleep(Duration::from_millis(100));
    }
    // Other clients are balanced as usual: s2, then s1, so round-robin's next pick is s2.
    assert_eq!(read_tag(&mut connect_from(worker.addr, Ipv4Addr::new(127, 0, 2, 2))), "s2");
    assert_eq!(read_tag(&mut connect_from(worker.addr, Ipv4Addr::new(127, 0, 2, 3))), "s1");
    assert_eq!(first, "s1");
    // Once the entry has expired the first client is balanced again, and moves.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(read_tag(&mut connect_from(worker.addr, from)), "s2");
}

#[test]
fn backups_take_over_only_when_every_active_server_is_down() {
    let (_s, addrs) = servers(3);
    let mut be = backend("be_bck", &addrs);
    be.servers[1].backup = true;
    be.servers[2].backup = true;
    let worker = Worker::start(config(frontend("fe_bck"), be.clone()));
    assert!((0..6).all(|_| tagged(&worker).0 == "s1"));
    worker.send(ToWorker::ServerHealth { backend: 0, server: 0, up: false });
    wait_logs("Server be_bck/s1 is DOWN", 1, Duration::from_secs(5));
    // Without allbackups only the first backup serves.
    assert!((0..6).all(|_| tagged(&worker).0 == "s2"));
    drop(worker);

    be.name = "be_allbck".into();
    be.allbackups = true;
    let worker = Worker::start(config(frontend("fe_allbck"), be));
    worker.send(ToWorker::ServerHealth { backend: 0, server: 0, up: false });
    wait_logs("Server be_allbck/s1 is DOWN", 1, Duration::from_secs(5));
    let tags: Vec<_> = (0..6).map(|_| tagged(&worker).0).collect();
    assert_eq!(tags.iter().filter(|t| *t == "s2").count(), 3, "{tags:?}");
    assert_eq!(tags.iter().filter(|t| *t == "s3").count(), 3, "{tags:?}");
}

#[test]
fn random_uses_every_server() {
    let (_s, addrs) = servers(3);
    let mut be = backend("be_rand", &addrs);
    be.balance = Balance::Random;
    let worker = Worker::start(config(frontend("fe_rand"), be));
    let tags: Vec<_> = (0..90).map(|_| tagged(&worker).0).collect();
    for s in ["s1", "s2", "s3"] {
        let n = tags.iter().filter(|t| *t == s).count();
        assert!((10..60).contains(&n), "{s}: {n} of 90");
    }
}
