//! Loopback HTTP/1.1 backends for the end-to-end tests: each answers every request with
//! `server=NAME` and the Cookie header it received (keep-alive, Content-Length framing), and
//! counts the connections it accepted. Threads stop when the backend is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct HttpBackend {
    pub name: String,
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Reads a head: (first line, lowercased (name, value) pairs); `None` at EOF.
pub fn read_head(r: &mut impl BufRead) -> Option<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Some((first.trim_end().to_string(), headers));
        }
        let (n, v) = l.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn serve(conn: TcpStream, name: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::new(conn);
    while let Some((_, headers)) = read_head(&mut r) {
        let len: usize = header(&headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let text = format!("server={name}\ncookie={}\n", header(&headers, "cookie").unwrap_or("-"));
        // Last-Modified makes the answer cacheable, so `cookie … nocache` has something to mark.
        let resp =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Tue, 24 Nov 2026 10:00:00 GMT\r\n\r\n{text}", text.len());
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

impl HttpBackend {
    pub fn start(name: &str) -> HttpBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, st, n) = (accepted.clone(), stop.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let _ = conn.set_nonblocking(false);
                        let n = n.clone();
                        std::thread::spawn(move || serve(conn, &n));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpBackend { name: name.into(), addr, accepted, stop, thread: Some(thread) }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One keep-alive client connection: sends a GET and reads the Content-Length response.
pub struct HttpClient {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn server(&self) -> &str {
        self.body.lines().find_map(|l| l.strip_prefix("server=")).unwrap_or("")
    }
}

impl HttpClient {
    pub fn connect(addr: SocketAddr) -> std::io::Result<HttpClient> {
        let w = TcpStream::connect(addr)?;
        w.set_read_timeout(Some(Duration::from_secs(5)))?;
        let r = BufReader::new(w.try_clone()?);
        Ok(HttpClient { w, r })
    }

    pub fn get(&mut self, host: &str, extra: &str) -> std::io::Result<Answer> {
        self.w.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").as_bytes())?;
        let (first, headers) = read_head(&mut self.r).ok_or_else(|| std::io::Error::other("no response"))?;
        let status = first.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let len: usize = header(&headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body)?;
        Ok(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
    }
}
