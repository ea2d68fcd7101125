//! End-to-end: hostile clients of the stats page, against hakeeper and HAProxy 2.6 side by side
//! (the same `maxconn 10`, `timeout http-request 2s`, `timeout client 5s`). A client that sends
//! nothing, part of a head, or one byte at a time gets 408 no later than from HAProxy; an
//! oversized head is refused at once (400/431) and does not grow the worker; connections above
//! maxconn wait in the backlog without a thread each, and a normal request still gets the page
//! no later than from HAProxy while they are held.

mod harness;

use harness::differential_haproxy::{binary as haproxy_binary, listening, Haproxy};
use harness::process::*;
use harness::stats::MLDN;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const MAXCONN: usize = 10;
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// How much later than HAProxy hakeeper may answer.
const MARGIN: Duration = Duration::from_millis(500);
/// No probe waits longer than this for an answer.
const READ_LIMIT: Duration = Duration::from_secs(12);

struct Pair {
    _dir: TempDir,
    app: Appliance,
    _haproxy: Haproxy,
    hakeeper: SocketAddr,
    haproxy: SocketAddr,
}

impl Pair {
    fn worker(&mut self) -> i32 {
        self.app.child_pid("worker").expect("worker running")
    }
}

/// Both stats pages, or None when HAProxy is missing outside CI (a failure under CI=true).
fn start(name: &str) -> Option<Pair> {
    if !require_root(name) {
        return None;
    }
    let haproxy = haproxy_binary(name)?;
    let dir = TempDir::new(name);
    let (port, ours, theirs) = (free_port(), free_port(), free_port());
    let backend = refused_port();
    let ron = format!(
        r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "proxy", bind: ["127.0.0.1:{port}"], servers: [(name: "s1", addr: "127.0.0.1:{backend}")])],
  stats: (bind: "127.0.0.1:{ours}", uri: "/admin", auth: [("mldn", "java")], maxconn: {MAXCONN},
          timeout: (http_request: "2s", client: "5s")),
)
"#
    );
    std::fs::write(dir.file("hakeeper.ron"), ron).expect("write config");
    let cfg = format!(
        "global\n  maxconn 1000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n\
         listen stats\n  bind 127.0.0.1:{theirs}\n  maxconn {MAXCONN}\n  timeout http-request 2s\n  stats enable\n  \
         stats uri /admin\n  stats auth mldn:java\n"
    );
    std::fs::write(dir.file("haproxy.cfg"), cfg).expect("write haproxy.cfg");
    let mut hap = Haproxy::start(&haproxy, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut app = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    app.wait_for_children(&["worker"], Duration::from_secs(10));
    let up = wait_until(Duration::from_secs(10), || listening(ours) && listening(theirs));
    assert!(up && !hap.exited(), "a stats page never listened\nhakeeper:\n{}\nhaproxy:\n{}", app.log_text(), hap.log_text());
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let pair = Pair { _dir: dir, app, _haproxy: hap, hakeeper: addr(ours), haproxy: addr(theirs) };
    // The page answers before any attack starts.
    for a in [pair.hakeeper, pair.haproxy] {
        assert_eq!(get_page(a).0, Some(200), "{a}");
    }
    Some(pair)
}

/// The status a server sent before closing (None: it closed without answering), and how long
/// after `since` the connection ended.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    status: Option<u16>,
    took: Duration,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(READ_LIMIT)).expect("read timeout");
    s
}

fn status_of(raw: &[u8]) -> Option<u16> {
    std::str::from_utf8(raw.get(9..12)?).ok()?.parse().ok()
}

/// Reads until the server closes (or [`READ_LIMIT`]).
fn finish(mut s: TcpStream, since: Instant) -> Outcome {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
        if since.elapsed() > READ_LIMIT {
            break;
        }
    }
    Outcome { status: status_of(&raw), took: since.elapsed() }
}

fn get_page(addr: SocketAddr) -> (Option<u16>, Duration) {
    let t = Instant::now();
    let mut s = connect(addr);
    s.write_all(format!("GET /admin;csv HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {MLDN}\r\nConnection: close\r\n\r\n").as_bytes())
        .expect("send");
    let o = finish(s, t);
    (o.status, o.took)
}

fn idle(addr: SocketAddr) -> Outcome {
    let t = Instant::now();
    finish(connect(addr), t)
}

fn partial(addr: SocketAddr) -> Outcome {
    let t = Instant::now();
    let mut s = connect(addr);
    s.write_all(b"GET /admin HTTP/1.1\r\nHost: x\r\n").expect("send");
    finish(s, t)
}

/// One byte every 200 ms, a tenth of `timeout http-request`, until the server answers.
fn slowloris(addr: SocketAddr) -> Outcome {
    let t = Instant::now();
    let mut s = connect(addr);
    s.set_read_timeout(Some(Duration::from_millis(200))).expect("read timeout");
    let head = b"GET /admin HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut raw = Vec::new();
    let mut i = 0;
    while t.elapsed() < READ_LIMIT {
        let byte = head.get(i).copied().unwrap_or(b'a');
        if s.write_all(&[byte]).is_err() {
            break;
        }
        i += 1;
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&chunk[..n]);
                s.set_read_timeout(Some(READ_LIMIT)).expect("read timeout");
                let rest = finish(s, t);
                return Outcome { status: status_of(&raw).or(rest.status), took: rest.took };
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    Outcome { status: status_of(&raw), took: t.elapsed() }
}

/// A request whose one header line is `size` bytes, sent from a thread of its own while the
/// answer is read.
fn oversized(addr: SocketAddr, size: usize) -> Outcome {
    let t = Instant::now();
    let s = connect(addr);
    let mut w = s.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let mut req = b"GET /admin HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        req.resize(size, b'a');
        req.extend_from_slice(b"\r\n\r\n");
        // The server may close before it has read it all.
        let _ = w.write_all(&req);
    });
    let o = finish(s, t);
    let _ = sender.join();
    o
}

/// Runs `probe` against both pages at once: (hakeeper, HAProxy).
fn both(pair: &Pair, probe: fn(SocketAddr) -> Outcome) -> (Outcome, Outcome) {
    let theirs = pair.haproxy;
    let h = std::thread::spawn(move || probe(theirs));
    let ours = probe(pair.hakeeper);
    (ours, h.join().expect("haproxy probe"))
}

fn threads(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0)
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[test]
fn idle_partial_and_slow_clients_get_408_no_later_than_from_haproxy() {
    let Some(pair) = start("stats_hostile_408") else { return };
    for (name, probe) in [("idle", idle as fn(SocketAddr) -> Outcome), ("partial head", partial), ("slowloris", slowloris)] {
        let (ours, theirs) = both(&pair, probe);
        eprintln!("{name}: hakeeper {ours:?}, haproxy {theirs:?}");
        assert_eq!(theirs.status, Some(408), "{name}: HAProxy, the reference");
        assert_eq!(ours.status, Some(408), "{name}: hakeeper");
        assert!(ours.took >= HEAD_TIMEOUT - MARGIN, "{name}: hakeeper answered early: {ours:?}");
        assert!(ours.took <= theirs.took + MARGIN, "{name}: hakeeper {ours:?} later than HAProxy {theirs:?}");
    }
}

#[test]
fn an_oversized_head_is_refused_at_once_and_takes_no_memory() {
    let Some(mut pair) = start("stats_hostile_big") else { return };
    let (ours, theirs) = both(&pair, |a| oversized(a, 1 << 20));
    eprintln!("1 MiB header line: hakeeper {ours:?}, haproxy {theirs:?}");
    assert_eq!(theirs.status, Some(400), "HAProxy, the reference");
    assert!(matches!(ours.status, Some(400 | 431)), "hakeeper: {ours:?}");
    assert!(ours.took <= theirs.took + MARGIN, "hakeeper {ours:?} later than HAProxy {theirs:?}");

    // Ten 4 MiB heads at once, one per maxconn slot: the worker keeps at most a buffer each.
    let worker = pair.worker();
    let before = rss_kib(worker);
    assert!(before > 0, "the worker's RSS cannot be read");
    let addr = pair.hakeeper;
    let senders: Vec<_> = (0..MAXCONN).map(|_| std::thread::spawn(move || oversized(addr, 4 << 20))).collect();
    let outcomes: Vec<Outcome> = senders.into_iter().map(|h| h.join().expect("sender")).collect();
    let grown = rss_kib(worker).saturating_sub(before);
    eprintln!("worker RSS {before} KiB, grown by {grown} KiB after {MAXCONN} heads of 4 MiB");
    assert!(outcomes.iter().all(|o| matches!(o.status, Some(400 | 431))), "{outcomes:?}");
    assert!(grown < 4 * 1024, "the worker grew by {grown} KiB");
    assert_eq!(get_page(addr).0, Some(200), "the page is still served");
}

#[test]
fn clients_above_maxconn_take_no_thread_and_a_normal_request_still_gets_the_page() {
    let Some(mut pair) = start("stats_hostile_maxconn") else { return };
    let worker = pair.worker();
    let base_threads = threads(worker);
    assert!(base_threads > 0, "the worker's threads cannot be counted");

    // Attackers hold all but one slot: a normal request is served at once by both.
    for addr in [pair.hakeeper, pair.haproxy] {
        let held: Vec<TcpStream> = (0..MAXCONN - 1).map(|_| connect(addr)).collect();
        std::thread::sleep(Duration::from_millis(100));
        let (status, took) = get_page(addr);
        assert_eq!(status, Some(200), "{addr}");
        assert!(took < Duration::from_secs(1), "{addr}: {took:?}");
        drop(held);
    }
    // Let the closes of the held connections pass.
    std::thread::sleep(Duration::from_millis(500));

    // Five more idle connections than maxconn, then a normal request: it waits for the first
    // ten to get their 408, then is served; all idle ones are closed by then or soon after.
    let attack = |addr: SocketAddr| {
        let t = Instant::now();
        let idle: Vec<TcpStream> = (0..MAXCONN + 5).map(|_| connect(addr)).collect();
        std::thread::sleep(Duration::from_millis(100));
        // Timed from the attack's start: a connect may wait for a SYN to be sent again.
        let page = (get_page(addr).0, t.elapsed());
        let ends: Vec<Outcome> = idle.into_iter().map(|s| finish(s, t)).collect();
        (page, ends)
    };
    let theirs_addr = pair.haproxy;
    let h = std::thread::spawn(move || attack(theirs_addr));
    let ours_addr = pair.hakeeper;
    let watch = std::thread::spawn(move || {
        let mut most = 0;
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            most = most.max(threads(worker));
            std::thread::sleep(Duration::from_millis(50));
        }
        most
    });
    let (our_page, our_ends) = attack(ours_addr);
    let most_threads = watch.join().expect("watch");
    let (their_page, their_ends) = h.join().expect("haproxy attack");
    let last = |v: &[Outcome]| v.iter().map(|o| o.took).max().unwrap_or_default();
    eprintln!(
        "normal request: hakeeper {our_page:?}, haproxy {their_page:?}; last idle closed: hakeeper {:?}, haproxy {:?}; \
         worker threads {base_threads} before, at most {most_threads} during",
        last(&our_ends),
        last(&their_ends)
    );
    assert_eq!(their_page.0, Some(200), "HAProxy, the reference");
    assert_eq!(our_page.0, Some(200), "hakeeper serves the page while attackers hold maxconn");
    assert!(our_page.1 <= their_page.1 + MARGIN, "hakeeper {our_page:?} later than HAProxy {their_page:?}");
    assert!(our_ends.iter().all(|o| o.status == Some(408)), "every idle connection gets 408: {our_ends:?}");
    assert!(last(&our_ends) <= last(&their_ends) + MARGIN, "hakeeper {our_ends:?}\nHAProxy {their_ends:?}");
    assert!(most_threads <= base_threads, "worker threads grew from {base_threads} to {most_threads}");

    // A hundred idle connections (most left in the backlog or refused): still no new thread.
    let mut held = Vec::new();
    for _ in 0..100 {
        if let Ok(s) = TcpStream::connect_timeout(&pair.hakeeper, Duration::from_millis(200)) {
            held.push(s);
        }
    }
    let with_100 = threads(worker);
    eprintln!("{} idle connections held: worker threads {with_100}", held.len());
    assert!(with_100 <= base_threads, "worker threads grew from {base_threads} to {with_100}");
    drop(held);
    pair.app.terminate(Duration::from_secs(10));
}
