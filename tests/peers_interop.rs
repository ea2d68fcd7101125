//! HAProxy's peers protocol against the real HAProxy 2.6 from Debian (issue #18, the sync
//! half): hakeeper's codec and session (`hakeeper_common::peers`), driven by a small blocking
//! driver (`harness::peers`), share a `stick on src` table with HAProxy in both directions.
//!
//! - `learns_haproxy_table_and_teaches_it_an_entry`: we connect to HAProxy's peer port, ask for
//!   a full resync, decode every entry and compare it with `show table` on HAProxy's stats
//!   socket; then push an entry of our own, see it in `show table`, and see HAProxy's
//!   `stick on src` send that source to the server our entry names.
//! - `haproxy_connects_learns_our_entries_and_pushes_its_own`: HAProxy connects to our
//!   listener; it learns our entries (its resync request, or our push) and pushes the entries
//!   its traffic creates.
//! - `haproxy_peer_port_answers_bad_hellos_as_we_do`: HAProxy's answers to bad hellos are
//!   ours, and its listener survives garbage.
//! - `haproxy_learns_a_full_table_sent_in_batches`: 1000 entries (five batches of 200) reach
//!   HAProxy's table of 1024.
//! - `worker_transport_shares_with_haproxy_and_shrugs_off_strangers`: the worker's peers
//!   transport (its own listener and outgoing connections, both hosts connecting at once)
//!   teaches and learns, pushes later local changes, refuses connections from addresses of no
//!   peer and answers garbage with 501, and keeps sharing.

mod harness;

use hakeeper_common::peers::handshake::Status;
use hakeeper_common::peers::session::{Input, LocalTable, Session, SessionConfig};
use hakeeper_common::peers::{DataType, FreqCounter, Key, KeyType, StoredType, TypedValues, Value};
use harness::differential_haproxy::{self, listening, Haproxy};
use harness::http_backend::HttpBackend;
use harness::peers::{mem_tables, Driver, MemTable, SharedMem};
use harness::process::{free_port, refused_port, wait_until, TempDir};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TABLE: &str = "be";

fn local_table() -> LocalTable {
    LocalTable {
        name: TABLE.into(),
        key_type: KeyType::Ip,
        key_size: 4,
        expire_ms: 60_000,
        stored: vec![
            StoredType::plain(DataType::ServerId),
            StoredType::plain(DataType::Gpc0),
            StoredType::rate(DataType::HttpReqRate, 10_000),
        ],
    }
}

fn session_config() -> SessionConfig {
    SessionConfig { local_name: "test".into(), peers: vec!["hap".into()], tables: vec![local_table()], pid: std::process::id() }
}

struct Setup {
    _dir: TempDir,
    haproxy: Haproxy,
    socket: std::path::PathBuf,
    front: u16,
    peer_port: u16,
    _s1: HttpBackend,
    _s2: HttpBackend,
}

/// HAProxy with `peers P` naming itself (`hap`, on `peer_port`) and us (`test`, on `our_port`).
fn start_haproxy(name: &str, our_port: u16) -> Option<Setup> {
    let bin = differential_haproxy::binary(name)?;
    let dir = TempDir::new(name);
    let (s1, s2) = (HttpBackend::start("s1"), HttpBackend::start("s2"));
    let (front, peer_port) = (free_port(), free_port());
    let socket = dir.file("hap.sock");
    let cfg = format!(
        "global\n  localpeer hap\n  stats socket {sock} level admin\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         peers P\n  peer hap 127.0.0.1:{peer_port}\n  peer test 127.0.0.1:{our_port}\n\
         frontend fe\n  bind 127.0.0.1:{front}\n  default_backend {TABLE}\n\
         backend {TABLE}\n  balance roundrobin\n\
           stick-table type ip size 1k expire 60s peers P store server_id,http_req_rate(10s),gpc0\n\
           http-request track-sc0 src\n  http-request sc-inc-gpc0(0)\n  stick on src\n\
           server s1 {a1} id 1\n  server s2 {a2} id 2\n",
        sock = socket.display(),
        a1 = s1.addr,
        a2 = s2.addr,
    );
    let path = dir.file("haproxy.cfg");
    std::fs::write(&path, cfg).expect("write haproxy.cfg");
    let mut haproxy = Haproxy::start(&bin, &path, &dir.file("haproxy.log"));
    let up = wait_until(Duration::from_secs(10), || listening(front) && listening(peer_port) && socket.exists());
    assert!(up && !haproxy.exited(), "haproxy did not start: {}", haproxy.log_text());
    Some(Setup { _dir: dir, haproxy, socket, front, peer_port, _s1: s1, _s2: s2 })
}

/// `curl` from `src` through HAProxy: the name of the server that answered.
fn request_from(src: Ipv4Addr, front: u16) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5", "--interface", &src.to_string(), &format!("http://127.0.0.1:{front}/")])
        .output()
        .expect("run curl (tests/install-deps installs it)");
    assert!(out.status.success(), "curl from {src} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("server=").map(str::to_string)).unwrap_or_default()
}

/// One entry of `show table`: its data fields by name (`server_id`, `gpc0`,
/// `http_req_rate(10000)`).
fn show_table(socket: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut s = UnixStream::connect(socket).expect("connect stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(format!("show table {TABLE}\n").as_bytes()).expect("write show table");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let mut entries = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("0x")) {
        let fields: BTreeMap<String, String> =
            line.split_whitespace().filter_map(|f| f.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(key) = fields.get("key") {
            entries.insert(key.clone(), fields);
        }
    }
    entries
}

fn value(values: &[TypedValues], dt: DataType) -> Option<&Value> {
    values.iter().find(|v| v.data_type == dt).and_then(|v| v.values.first())
}

/// Every entry learned matches `show table`: server_id, gpc0 and the request rate (the
/// counter's current period: the requests were made within the last seconds).
fn assert_learned_matches(learned: &BTreeMap<Key, (Option<u32>, Vec<TypedValues>)>, shown: &BTreeMap<String, BTreeMap<String, String>>) {
    for (key, fields) in shown {
        let ip: Ipv4Addr = key.parse().expect("ip key");
        let (_, values) = learned.get(&Key::Ip(ip)).unwrap_or_else(|| panic!("entry {key} of show table was not learned: {learned:?}"));
        assert_eq!(value(values, DataType::ServerId), Some(&Value::Sint(fields["server_id"].parse().expect("server_id"))), "{key}");
        assert_eq!(value(values, DataType::Gpc0), Some(&Value::Uint(fields["gpc0"].parse().expect("gpc0"))), "{key}");
        let Some(Value::Freq(f)) = value(values, DataType::HttpReqRate) else { panic!("no http_req_rate for {key}") };
        assert_eq!(f.curr + f.prev, fields["http_req_rate(10000)"].parse::<u32>().expect("rate"), "{key}: {f:?}");
    }
}

fn our_entry(server_id: i32, gpc0: u32) -> Vec<TypedValues> {
    vec![
        TypedValues { data_type: DataType::ServerId, values: vec![Value::Sint(server_id)] },
        TypedValues { data_type: DataType::Gpc0, values: vec![Value::Uint(gpc0)] },
        TypedValues { data_type: DataType::HttpReqRate, values: vec![Value::Freq(FreqCounter { elapsed_ms: 0, curr: 0, prev: 0 })] },
    ]
}

#[test]
fn learns_haproxy_table_and_teaches_it_an_entry() {
    let name = "peers-learn";
    let Some(setup) = start_haproxy(name, refused_port()) else { return };
    // Fill HAProxy's table: 3 requests from 127.0.0.2, 2 from 127.0.0.3.
    for src in [[127, 0, 0, 2], [127, 0, 0, 2], [127, 0, 0, 3], [127, 0, 0, 2], [127, 0, 0, 3]] {
        request_from(Ipv4Addr::from(src), setup.front);
    }
    let shown = show_table(&setup.socket);
    assert_eq!(shown.len(), 2, "show table: {shown:?}");

    let stream = TcpStream::connect(("127.0.0.1", setup.peer_port)).expect("connect to haproxy's peer port");
    let session = Session::connect(session_config(), "hap", &[], 1, std::time::Instant::now());
    let mut d = Driver::new(stream, session, mem_tables(&[local_table()]));
    d.input(Input::Connected);
    assert!(d.run_until(Duration::from_secs(5), |s| s.established.is_some()), "no handshake: {:?}", d.seen);
    d.input(Input::RequestResync);
    assert!(d.run_until(Duration::from_secs(10), |s| s.resync_finished.is_some()), "no full resync: {:?}", d.seen);
    assert!(d.seen.ignored.is_empty(), "{:?}", d.seen.ignored);
    assert_eq!(d.seen.learned.len(), 2, "{:?}", d.seen.learned);
    assert_learned_matches(&d.seen.learned, &show_table(&setup.socket));

    // Our entry: 127.0.0.9 sticks to server 2, gpc0 5.
    let ours = Ipv4Addr::new(127, 0, 0, 9);
    d.tables.0[0].touch(Key::Ip(ours), 60_000, our_entry(2, 5));
    d.input(Input::LocalUpdates);
    let seen_by_haproxy = wait_until(Duration::from_secs(5), || {
        d.run_until(Duration::from_millis(100), |_| false);
        show_table(&setup.socket).get("127.0.0.9").is_some_and(|f| f.get("server_id").map(String::as_str) == Some("2"))
    });
    assert!(seen_by_haproxy, "our entry is not in show table: {:?}", show_table(&setup.socket));
    assert_eq!(show_table(&setup.socket)["127.0.0.9"]["gpc0"], "5");
    // HAProxy's `stick on src` uses it: every request from 127.0.0.9 goes to s2 (round robin
    // alone would alternate).
    for _ in 0..3 {
        assert_eq!(request_from(ours, setup.front), "s2");
    }
    // The session stayed up and clean, and HAProxy acknowledged our update.
    d.run_until(Duration::from_millis(500), |_| false);
    assert_eq!(d.seen.closed, None);
    assert_eq!(d.session.counters.proto_err, 0);
    assert_eq!(d.session.acked(), vec![1]);
    drop(setup.haproxy);
}

#[test]
fn haproxy_connects_learns_our_entries_and_pushes_its_own() {
    let name = "peers-accept";
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind our peer port");
    let our_port = listener.local_addr().expect("addr").port();
    let mut tables = mem_tables(&[local_table()]);
    let ours = Ipv4Addr::new(127, 0, 0, 9);
    tables.0[0].touch(Key::Ip(ours), 60_000, our_entry(2, 7));
    let Some(setup) = start_haproxy(name, our_port) else { return };

    listener.set_nonblocking(true).expect("nonblocking");
    let mut stream = None;
    wait_until(Duration::from_secs(10), || {
        stream = listener.accept().ok().map(|(s, _)| s);
        stream.is_some()
    });
    let stream = stream.expect("haproxy did not connect to our peer port");
    stream.set_nonblocking(false).expect("blocking");
    let session = Session::accept(session_config(), std::time::Instant::now());
    let mut d = Driver::new(stream, session, tables);
    assert!(d.run_until(Duration::from_secs(5), |s| s.established.is_some()), "no handshake: {:?}", d.seen);
    assert_eq!(d.seen.established.as_deref(), Some("hap"));

    // HAProxy learns our entry (by its resync request or by our push on connect).
    let learned_by_haproxy = wait_until(Duration::from_secs(10), || {
        d.run_until(Duration::from_millis(100), |_| false);
        show_table(&setup.socket).get("127.0.0.9").is_some_and(|f| f.get("gpc0").map(String::as_str) == Some("7"))
    });
    assert!(learned_by_haproxy, "show table: {:?}", show_table(&setup.socket));
    assert_eq!(request_from(ours, setup.front), "s2");

    // HAProxy pushes the entries its traffic creates.
    for src in [[127, 0, 0, 4], [127, 0, 0, 4], [127, 0, 0, 5]] {
        request_from(Ipv4Addr::from(src), setup.front);
    }
    let pushed = d.run_until(Duration::from_secs(10), |s| {
        s.learned.contains_key(&Key::Ip(Ipv4Addr::new(127, 0, 0, 4))) && s.learned.contains_key(&Key::Ip(Ipv4Addr::new(127, 0, 0, 5)))
    });
    assert!(pushed, "learned: {:?}", d.seen.learned);
    // Let the last increments arrive, then compare with show table.
    d.run_until(Duration::from_millis(500), |_| false);
    let mut shown = show_table(&setup.socket);
    shown.retain(|k, _| k != "127.0.0.9");
    assert_learned_matches(&d.seen.learned, &shown);
    // Heartbeats keep the session up past HAProxy's 5 s peer timeout.
    d.run_until(Duration::from_secs(7), |_| false);
    assert_eq!(d.seen.closed, None);
    assert!(d.session.counters.rx_hbt + d.session.counters.tx_hbt > 0);
    assert_eq!(d.session.counters.proto_err, 0);
}

#[test]
fn haproxy_peer_port_answers_bad_hellos_as_we_do() {
    let name = "peers-hello";
    let Some(mut setup) = start_haproxy(name, refused_port()) else { return };
    for (hello, status) in [
        (&b"HAProxyS 2.1\nnot-hap\ntest 1 1\n"[..], Status::ErrHost),
        (b"HAProxyS 2.1\nhap\nstranger 1 1\n", Status::ErrPeer),
        (b"HAProxyS 9.9\nhap\ntest 1 1\n", Status::ErrVersion),
        (b"HELLO 2.1\nhap\ntest 1 1\n", Status::ErrProto),
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", setup.peer_port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        s.write_all(hello).expect("hello");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert_eq!(answer.trim_end(), status.code().to_string(), "HAProxy's answer to {:?}", String::from_utf8_lossy(hello));
        // Our session gives the same answer to the same hello (with our names swapped in).
        let ours = String::from_utf8_lossy(hello).replace("hap\n", "test\n").replace("test 1 1", "hap 1 1").replace("not-test", "not-hap");
        let mut session = Session::accept(session_config(), std::time::Instant::now());
        let out = session.on(Input::Received(ours.as_bytes()), std::time::Instant::now(), &mem_tables(&[]));
        assert_eq!(out.first(), Some(&hakeeper_common::peers::session::Output::Send(status.line())), "our answer to {ours:?}");
    }
    // Garbage after a good handshake: HAProxy answers with a protocol error and closes.
    let mut s = TcpStream::connect(("127.0.0.1", setup.peer_port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(b"HAProxyS 2.1\nhap\ntest 1 1\n").expect("hello");
    let mut status = [0u8; 4];
    s.read_exact(&mut status).expect("status");
    assert_eq!(&status, b"200\n");
    s.write_all(&[255, 0]).expect("garbage");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.windows(2).any(|w| w == [1, 0]), "no protocol error message from HAProxy: {rest:?}");
    assert!(!setup.haproxy.exited(), "haproxy died: {}", setup.haproxy.log_text());
    assert!(TcpStream::connect(("127.0.0.1", setup.peer_port)).is_ok());
}

#[test]
fn worker_transport_shares_with_haproxy_and_shrugs_off_strangers() {
    use hakeeper_common::config::{Peer, PeersSection};
    use hakeeper_worker::peers::{spawn, PeersConfig};
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};

    let name = "peers-transport";
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind our peer port");
    let our_addr = listener.local_addr().expect("addr");
    let Some(setup) = start_haproxy(name, our_addr.port()) else { return };
    let mut table = MemTable::default();
    table.touch(Key::Ip(Ipv4Addr::new(127, 0, 0, 9)), 60_000, our_entry(2, 7));
    let shared = Arc::new(Mutex::new(SharedMem { local: vec![table], ..Default::default() }));
    let cfg = PeersConfig {
        section: PeersSection {
            name: "P".into(),
            local: Peer { name: "test".into(), addr: our_addr },
            remotes: vec![Peer { name: "hap".into(), addr: format!("127.0.0.1:{}", setup.peer_port).parse().expect("addr") }],
        },
        tables: vec![local_table()],
    };
    let handle = spawn(listener, cfg, shared.clone()).expect("start the peers transport");
    let in_haproxy = |key: &str, field: &str, want: &str| {
        wait_until(Duration::from_secs(10), || {
            show_table(&setup.socket).get(key).is_some_and(|f| f.get(field).map(String::as_str) == Some(want))
        })
    };
    assert!(in_haproxy("127.0.0.9", "gpc0", "7"), "HAProxy did not learn our entry: {:?}", show_table(&setup.socket));
    assert_eq!(request_from(Ipv4Addr::new(127, 0, 0, 9), setup.front), "s2");

    // HAProxy's own entries reach our tables.
    request_from(Ipv4Addr::new(127, 0, 0, 4), setup.front);
    let learned = |key: Ipv4Addr| shared.lock().expect("tables").learned.contains_key(&Key::Ip(key));
    assert!(wait_until(Duration::from_secs(10), || learned(Ipv4Addr::new(127, 0, 0, 4))), "nothing learned");

    // Strangers: an address of no peer is cut at once; garbage from a peer's address gets 501.
    let mut stranger = harness::relay::connect_from(Ipv4Addr::new(127, 0, 0, 7), our_addr).expect("connect from 127.0.0.7");
    stranger.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut got = Vec::new();
    let _ = stranger.read_to_end(&mut got);
    assert!(got.is_empty(), "a stranger was answered: {got:?}");
    let mut garbage = TcpStream::connect(our_addr).expect("connect");
    garbage.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    garbage.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let mut answer = String::new();
    let _ = garbage.read_to_string(&mut answer);
    assert_eq!(answer, "501\n");
    assert!(wait_until(Duration::from_secs(2), || handle.counters.refused.load(Ordering::Relaxed) >= 1));
    assert!(handle.counters.proto_err.load(Ordering::Relaxed) >= 1);

    // Still sharing, past HAProxy's 5 s peer timeout: a later local change is pushed.
    std::thread::sleep(Duration::from_secs(6));
    shared.lock().expect("tables").local[0].touch(Key::Ip(Ipv4Addr::new(127, 0, 0, 10)), 60_000, our_entry(1, 3));
    handle.local_updates();
    assert!(in_haproxy("127.0.0.10", "gpc0", "3"), "HAProxy did not get the later update: {:?}", show_table(&setup.socket));
    request_from(Ipv4Addr::new(127, 0, 0, 5), setup.front);
    assert!(wait_until(Duration::from_secs(10), || learned(Ipv4Addr::new(127, 0, 0, 5))), "later HAProxy entry not learned");
    let shown = show_table(&setup.socket);
    let learned_now = shared.lock().expect("tables").learned.clone();
    let mut theirs = shown.clone();
    theirs.retain(|k, _| k != "127.0.0.9" && k != "127.0.0.10");
    assert_learned_matches(&learned_now, &theirs);
    drop(handle);
}

/// `show table`'s header count (`used:N`).
fn used(socket: &Path) -> usize {
    let mut s = UnixStream::connect(socket).expect("connect stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(format!("show table {TABLE}\n").as_bytes()).expect("write");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines().next().and_then(|l| l.rsplit_once("used:")).and_then(|(_, n)| n.trim().parse().ok()).unwrap_or(0)
}

#[test]
fn haproxy_learns_a_full_table_sent_in_batches() {
    let name = "peers-batches";
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind our peer port");
    let our_port = listener.local_addr().expect("addr").port();
    let mut tables = mem_tables(&[local_table()]);
    for i in 0..1000u32 {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 51, 100, 0)) + i);
        tables.0[0].touch(Key::Ip(ip), 60_000, our_entry(1 + (i % 2) as i32, i));
    }
    let Some(setup) = start_haproxy(name, our_port) else { return };
    listener.set_nonblocking(true).expect("nonblocking");
    let mut stream = None;
    wait_until(Duration::from_secs(10), || {
        stream = listener.accept().ok().map(|(s, _)| s);
        stream.is_some()
    });
    let stream = stream.expect("haproxy did not connect to our peer port");
    stream.set_nonblocking(false).expect("blocking");
    let mut d = Driver::new(stream, Session::accept(session_config(), std::time::Instant::now()), tables);
    let all = wait_until(Duration::from_secs(15), || {
        d.run_until(Duration::from_millis(100), |_| false);
        used(&setup.socket) == 1000
    });
    assert!(all, "HAProxy holds {} entries of 1000", used(&setup.socket));
    assert_eq!(d.session.counters.proto_err, 0);
    assert!(d.session.counters.pushed >= 1000);
    let shown = show_table(&setup.socket);
    assert_eq!(shown["198.51.100.0"]["server_id"], "1");
    assert_eq!(shown["198.51.103.231"]["gpc0"], "999");
    assert_eq!(shown["198.51.103.231"]["server_id"], "2");
}
