//! Configs and a running stats page for the unit tests: a `Shared` with one event loop whose
//! thread-0 duties (`runtime::turn`, the supervisor channel) a helper thread performs, a
//! supervisor-side end of the channel to send requests on and read reports from, and a minimal
//! HTTP client.

use super::StatsThread;
use crate::control::{worker_dispatch_parent, Control};
use crate::counters::Stats;
use crate::runtime::{start_page as start, turn};
use crate::shared::{Shared, ThreadLink};
use crate::testkit;
use hakeeper_common::config::{self, Backend, Check, Frontend, Server};
use hakeeper_common::ctl::CtlRequest;
use hakeeper_common::ipc::{FrameReader, FromWorker, ToWorker, WorkerConfig};
use mio::{Events, Poll, Token, Waker};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn backend(name: &str, servers: &[&str]) -> Backend {
    let check = Check {
        inter: Duration::from_secs(10),
        fastinter: Duration::from_secs(10),
        downinter: Duration::from_secs(10),
        rise: 2,
        fall: 3,
        port: 8066,
        initial_up: true,
    };
    let servers = servers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let addr = SocketAddr::from(([10, 0, 0, i as u8 + 1], 8066));
            Server { check: Some(check.clone()), ..testkit::server(i, n, addr) }
        })
        .collect();
    Backend { redispatch: true, ..testkit::tcp_backend(name, servers) }
}

pub fn frontend(name: &str) -> Frontend {
    Frontend { timeout_client: Duration::from_secs(50), ..testkit::tcp_frontend(name, SocketAddr::from(([127, 0, 0, 1], 48066))) }
}

pub fn stats_for(frontends: &[Frontend], backends: &[Backend]) -> Stats {
    Stats::new(frontends, backends)
}

pub fn stats_config(admin: bool) -> config::Stats {
    config::Stats {
        bind: "127.0.0.1:0".parse().expect("addr"),
        uri: "/admin".into(),
        realm: "Haproxy Statistics".into(),
        auth: vec![("mldn".into(), "java".into()), ("ops".into(), "pw2".into())],
        refresh: Some(Duration::from_secs(30)),
        hide_version: true,
        admin,
        maxconn: 10,
        timeout_http_request: Duration::from_secs(5),
        timeout_client: Duration::from_secs(10),
        tls: None,
        bind_proto: Default::default(),
    }
}

pub fn worker_config(admin: bool) -> WorkerConfig {
    WorkerConfig {
        global: testkit::global(),
        frontends: vec![frontend("proxy_status")],
        backends: vec![backend("proxy_status", &["server_1", "server_2", "server_3"]), backend("other", &["o1"])],
        stats: Some(stats_config(admin)),
        http: Default::default(),
        peers: Vec::new(),
    }
}

/// A stats page served on loopback by a `Shared` whose thread-0 duties run in a helper thread.
pub struct Page {
    pub shared: Arc<Shared>,
    pub addr: SocketAddr,
    /// What the worker reported to the supervisor.
    pub reports: Arc<Mutex<Vec<FromWorker>>>,
    /// The supervisor's end of the channel, for requests.
    to_worker: std::os::unix::net::UnixStream,
    stop: Arc<AtomicBool>,
    thread0: Option<std::thread::JoinHandle<()>>,
    reader: Option<std::thread::JoinHandle<()>>,
    page: Option<StatsThread>,
}

impl Page {
    pub fn start(config: WorkerConfig) -> Page {
        let mut poll = Poll::new().expect("poll");
        let waker = Waker::new(poll.registry(), Token(1)).expect("waker");
        let shared = Arc::new(Shared::new(config, vec![ThreadLink { waker, inbox: Mutex::new(Vec::new()) }], 1));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let page = start(&shared, OwnedFd::from(listener)).expect("stats page").expect("stats configured");
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        ours.set_nonblocking(true).expect("nonblocking");
        let to_worker = theirs.try_clone().expect("socket clone");
        let mut control = Control::new(OwnedFd::from(ours), FrameReader::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread0 = std::thread::spawn(move || {
            let mut events = Events::with_capacity(8);
            let mut grants = Vec::new();
            while !st.load(Ordering::Acquire) {
                let _ = poll.poll(&mut events, Some(Duration::from_millis(20)));
                if let Ok((msgs, _)) = control.read() {
                    for msg in msgs {
                        worker_dispatch_parent(&s, &control, msg, &mut grants, Instant::now());
                    }
                }
                turn(&s, &mut grants, Instant::now(), |m| control.report(m));
                grants.clear();
            }
        });
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r = reports.clone();
        let reader = std::thread::spawn(move || {
            let fd = OwnedFd::from(theirs);
            let mut reader = FrameReader::new();
            while let Ok((msg, _)) = reader.recv_blocking::<FromWorker>(std::os::fd::AsFd::as_fd(&fd)) {
                r.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
            }
        });
        Page { shared, addr, reports, to_worker, stop, thread0: Some(thread0), reader: Some(reader), page: Some(page) }
    }

    /// Sends a `hakeeper ctl` request as the supervisor forwards it.
    pub fn ctl(&self, id: u64, request: CtlRequest) {
        let msg = ToWorker::Ctl { id, request };
        hakeeper_common::ipc::send(std::os::fd::AsFd::as_fd(&self.to_worker), &msg, &[]).expect("send to the worker");
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.page.take();
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread0.take() {
            let _ = t.join();
        }
        // The reader ends when thread 0's Control (our socket end) is dropped with its thread.
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

/// A parsed HTTP response.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub fn http(addr: SocketAddr, method: &str, path: &str, auth: Option<&str>, body: Option<&str>) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: Basic {a}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Reply { status, headers, body: body.to_string() }
}

/// `mldn:java` and `ops:pw2`, base64.
pub const MLDN: &str = "bWxkbjpqYXZh";
pub const OPS: &str = "b3BzOnB3Mg==";
