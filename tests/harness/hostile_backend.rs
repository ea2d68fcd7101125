//! For the hostile-input suite (tests/hostile_http.rs): a loopback HTTP/1.1 server that records
//! exactly the bytes each connection brought, answers one complete request per connection
//! (`Connection: close`), and can answer with a chunked response carrying chosen trailers; and
//! a reader for what it recorded, so that two proxies' forwards can be compared by meaning.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What one connection to the backend brought.
#[derive(Debug, Clone)]
pub struct Received {
    /// Every byte read, including any after the first message.
    pub raw: Vec<u8>,
    /// The first message was complete and got a response.
    pub answered: bool,
}

pub struct RecordingBackend {
    pub addr: SocketAddr,
    records: Arc<Mutex<Vec<Received>>>,
    /// Connections accepted and not yet recorded.
    active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RecordingBackend {
    pub fn start() -> RecordingBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind recording backend");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("backend addr");
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicUsize::new(0));
        let (r, s, a) = (records.clone(), stop.clone(), active.clone());
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (r, a) = (r.clone(), a.clone());
                        a.fetch_add(1, Ordering::SeqCst);
                        workers.push(std::thread::spawn(move || {
                            let rec = serve(conn);
                            r.lock().expect("records").push(rec);
                            a.fetch_sub(1, Ordering::SeqCst);
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        RecordingBackend { addr, records, active, stop, thread: Some(thread) }
    }

    /// Connections still being read.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// The connections whose first message carries `X-Case: marker`.
    pub fn received(&self, marker: &str) -> Vec<Received> {
        let needle = format!("x-case: {marker}\r").into_bytes();
        let records = self.records.lock().expect("records");
        records.iter().filter(|r| r.raw.to_ascii_lowercase().windows(needle.len()).any(|w| w == needle.as_slice())).cloned().collect()
    }
}

impl Drop for RecordingBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one message, answers it, then records whatever else arrives for a short while (a
/// smuggled second request would show there).
fn serve(mut conn: TcpStream) -> Received {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut end = None;
    while end.is_none() && Instant::now() < deadline {
        let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                end = parse_message(&raw).map(|m| m.len);
            }
            Err(_) => {}
        }
    }
    let answered = end.is_some();
    if answered {
        let msg = parse_message(&raw).expect("parsed above");
        let resp = response_for(&msg.target);
        let _ = conn.write_all(&resp);
        let _ = conn.set_read_timeout(Some(Duration::from_millis(150)));
        while let Ok(n) = conn.read(&mut buf) {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
    }
    Received { raw, answered }
}

/// The response: a chunked one with the trailers the path names (`/resp/<variant>`), else a
/// short fixed body.
fn response_for(target: &str) -> Vec<u8> {
    let trailer = match target.rsplit('/').next().unwrap_or("") {
        _ if !target.contains("/resp/") => return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_vec(),
        "good-trailer" => "X-Sum: 1\r\n",
        "no-colon" => "badtrailer\r\n",
        "status-line" => "HTTP/1.1 200 OK\r\n",
        "content-length" => "Content-Length: 5\r\n",
        "folded" => "X-Sum: 1\r\n 2\r\n",
        _ => "",
    };
    format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n{trailer}\r\n").into_bytes()
}

/// One HTTP/1.1 message, read leniently (this is the test's view, not a proxy's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start_line: String,
    pub target: String,
    /// (lowercased name, value) in order.
    pub headers: Vec<(String, String)>,
    /// The payload, chunks joined.
    pub body: Vec<u8>,
    /// Trailer fields, (lowercased name, value).
    pub trailers: Vec<(String, String)>,
    /// Bytes the message took.
    pub len: usize,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn fields(lines: &str) -> Vec<(String, String)> {
    lines
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), v.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// Parses a complete message at the start of `raw`, or `None` if it is incomplete or its
/// framing is broken.
pub fn parse_message(raw: &[u8]) -> Option<Message> {
    let head_end = find(raw, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..head_end - 4]).into_owned();
    let (start_line, rest) = head.split_once("\r\n").unwrap_or((&head, ""));
    let headers = fields(rest);
    let target = start_line.split(' ').nth(1).unwrap_or("").to_string();
    let mut msg = Message { start_line: start_line.to_string(), target, headers, body: Vec::new(), trailers: Vec::new(), len: head_end };
    let chunked = msg.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut at = head_end;
        loop {
            let line_end = at + find(&raw[at..], b"\r\n")?;
            let size_text = String::from_utf8_lossy(&raw[at..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at = line_end + 2;
            if size == 0 {
                let end = if raw[at..].starts_with(b"\r\n") { at + 2 } else { at + find(&raw[at..], b"\r\n\r\n")? + 4 };
                msg.trailers = fields(&String::from_utf8_lossy(&raw[at..end]));
                msg.len = end;
                return Some(msg);
            }
            msg.body.extend_from_slice(raw.get(at..at + size)?);
            at += size;
            if raw.get(at..at + 2)? != b"\r\n" {
                return None;
            }
            at += 2;
        }
    }
    let len: usize = msg.header("content-length").map_or(Some(0), |v| v.parse().ok())?;
    msg.body = raw.get(head_end..head_end + len)?.to_vec();
    msg.len = head_end + len;
    Some(msg)
}

/// What a client got back from a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status, 0 when none came.
    pub status: u16,
    /// The response arrived whole (its framing completed).
    pub complete: bool,
    pub message: Option<Message>,
}

/// Sends `request` to `proxy` over a fresh connection and reads one response, for at most
/// two seconds.
pub fn exchange(proxy: SocketAddr, request: &[u8]) -> Answer {
    let mut none = Answer { status: 0, complete: false, message: None };
    let Ok(mut conn) = TcpStream::connect_timeout(&proxy, Duration::from_secs(2)) else { return none };
    if conn.write_all(request).is_err() {
        return none;
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if parse_message(&raw).is_some() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    none.status = raw.get(9..12).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
    none.message = parse_message(&raw);
    none.complete = none.message.is_some();
    none
}
