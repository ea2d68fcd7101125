//! HTTP pieces for the worker's in-process tests: loopback HTTP/1.1 servers that answer with
//! their own name (and what they received), a worker config from RON text, and a blocking
//! client that reads responses by their framing.
#![allow(dead_code)]

use hakeeper_common::config::load_str;
use hakeeper_common::ipc::WorkerConfig;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The worker's config from a RON config (as `hakeeper` would load and slice it).
pub fn worker_config(ron: &str) -> WorkerConfig {
    let c = load_str("test.ron", ron).unwrap_or_else(|e| panic!("config: {e}")).config;
    WorkerConfig { global: c.global, frontends: c.frontends, backends: c.backends, stats: c.stats, http: c.http, peers: Vec::new() }
}

/// A request as a server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub head: String,
    pub body: Vec<u8>,
}

pub struct HttpServer {
    pub addr: SocketAddr,
    pub name: String,
    pub accepted: Arc<AtomicUsize>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A parsed head: first line and lowercased header names.
pub struct Head {
    pub first: String,
    pub headers: Vec<(String, String)>,
    pub raw: String,
}

impl Head {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn status(&self) -> u16 {
        self.first.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }
}

/// Reads a head; `None` at EOF before any byte.
pub fn read_head(r: &mut impl BufRead) -> Option<Head> {
    let mut raw = String::new();
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    raw.push_str(&first);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        raw.push_str(&line);
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Some(Head { first: first.trim_end().to_string(), headers, raw })
}

/// Reads a body framed by the head's Content-Length or chunked coding (`until_close`: else
/// until EOF).
pub fn read_body(r: &mut impl BufRead, head: &Head, until_close: bool) -> Vec<u8> {
    let mut body = Vec::new();
    if head.get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
            if n == 0 {
                let mut end = String::new();
                r.read_line(&mut end).unwrap();
                return body;
            }
            let at = body.len();
            body.resize(at + n, 0);
            r.read_exact(&mut body[at..]).unwrap();
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).unwrap();
        }
    }
    if let Some(n) = head.get("content-length") {
        body.resize(n.parse().unwrap(), 0);
        r.read_exact(&mut body).unwrap();
    } else if until_close {
        r.read_to_end(&mut body).unwrap();
    }
    body
}

/// Writes `data` as chunks of `chunk` bytes, with the last chunk.
pub fn chunked(data: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / chunk * 8 + 8);
    for c in data.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Every test crate that uses this module also has `support`, which makes the bytes.
pub use crate::support::pattern;

/// The body `GET /until-close` gets, delimited by the server closing its connection.
pub const UNTIL_CLOSE_LEN: usize = 300_000;

/// Answers one connection: `GET /big` gets 1 MiB of `pattern(.., 7)` chunked; `GET
/// /until-close` gets `UNTIL_CLOSE_LEN` bytes of `pattern(.., 5)` without length, then the
/// server closes; `/status/204` and `/status/304` get that status with a (bodiless)
/// `Content-Length: 7`; a HEAD gets the head a GET would, without its body; an upgrade request
/// gets `101` and then its bytes echoed; anything else gets `server=NAME`, the Cookie header
/// it saw and the body length, with Content-Length. `Expect: 100-continue` is answered with
/// `100 Continue` before the body is read.
fn serve(conn: TcpStream, name: &str, seen: &Mutex<Vec<Seen>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut w = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut r = BufReader::new(conn);
    while let Some(head) = read_head(&mut r) {
        if head.get("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
            && w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
        {
            return;
        }
        let body = read_body(&mut r, &head, false);
        seen.lock().unwrap().push(Seen { head: head.raw.clone(), body: body.clone() });
        let close = head.get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let conn_hdr = if close { "Connection: close\r\n" } else { "" };
        let target = head.first.split(' ').nth(1).unwrap_or("");
        if head.get("upgrade").is_some() {
            let switch = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
            if w.write_all(switch.as_bytes()).is_ok() {
                let _ = std::io::copy(&mut r, &mut w);
            }
            return;
        }
        let ok = if let Some(status) = target.strip_prefix("/status/") {
            w.write_all(format!("HTTP/1.1 {status} Nothing\r\nContent-Length: 7\r\n{conn_hdr}\r\n").as_bytes()).is_ok()
        } else if target == "/until-close" {
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
            let _ = w.write_all(&pattern(UNTIL_CLOSE_LEN, 5));
            return;
        } else if head.first.starts_with("GET /big ") {
            let data = chunked(&pattern(1024 * 1024, 7), 10_000);
            w.write_all(format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n{conn_hdr}\r\n").as_bytes()).is_ok()
                && w.write_all(&data).is_ok()
        } else {
            let text = format!(
                "server={name}\ncookie={}\nbody={}:{}\n",
                head.get("cookie").unwrap_or("-"),
                body.len(),
                body.iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            );
            let body = if head.first.starts_with("HEAD ") { "" } else { text.as_str() };
            // Last-Modified makes the answer cacheable, so `cookie … nocache` has something to mark.
            let lm = "Last-Modified: Tue, 24 Nov 2026 10:00:00 GMT\r\n";
            w.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{lm}{conn_hdr}\r\n{body}", text.len()).as_bytes()).is_ok()
        };
        if !ok || close {
            return;
        }
    }
}

impl HttpServer {
    pub fn start(name: &str) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s, st, n) = (accepted.clone(), seen.clone(), stop.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let _ = conn.set_nonblocking(false);
                        let (s, n) = (s.clone(), n.clone());
                        std::thread::spawn(move || serve(conn, &n, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        HttpServer { addr, name: name.into(), accepted, seen, stop, thread: Some(thread) }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A client connection that sends requests and reads responses.
pub struct Client {
    pub w: TcpStream,
    pub r: BufReader<TcpStream>,
}

pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `server=` line of a test server's answer.
    pub fn server(&self) -> String {
        self.text().lines().find_map(|l| l.strip_prefix("server=")).unwrap_or("").to_string()
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let w = TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Client { w, r }
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.w.write_all(raw).unwrap();
    }

    pub fn response(&mut self) -> Option<Response> {
        let head = read_head(&mut self.r)?;
        let body = read_body(&mut self.r, &head, head.get("content-length").is_none());
        Some(Response { head, body })
    }

    /// Sends `raw` and reads one response.
    pub fn request(&mut self, raw: &str) -> Response {
        self.send(raw.as_bytes());
        self.response().expect("a response")
    }

    /// The server closed (EOF) within the read timeout.
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.r.read_to_end(&mut rest).is_ok() && rest.is_empty()
    }
}

/// A GET for `host` with optional extra header lines.
pub fn get(host: &str, extra: &str) -> String {
    format!("GET / HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n")
}
