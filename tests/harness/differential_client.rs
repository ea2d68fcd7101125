//! Plays a case's steps against one proxy and records what each request got: which server
//! answered, the status, the persistence cookies and the headers that matter.

use super::differential_script::{Kind, Request, Step};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// What one request got. Fields that do not apply are empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The HTTP status, or for TCP `connected`; `closed` / `timeout` / `error: …` otherwise.
    pub status: String,
    /// The server that answered (`X-Server`, or a TCP backend's first line); `-` for none.
    pub server: String,
    /// Every `Set-Cookie` of the response, in order.
    pub set_cookie: Vec<String>,
    /// `Cache-Control`, `Location` and `X-Resp-*` response headers, lower-cased names.
    pub response_headers: Vec<(String, String)>,
    /// Request headers as the server received them.
    pub seen: Vec<String>,
    /// The body of a response the proxy made itself (no server).
    pub body: String,
}

impl Outcome {
    /// One line for the side-by-side table of a failure message.
    pub fn brief(&self) -> String {
        let mut s = format!("{} {}", self.status, self.server);
        for c in &self.set_cookie {
            s.push_str(&format!(" set-cookie:{c:?}"));
        }
        for (n, v) in &self.response_headers {
            s.push_str(&format!(" {n}:{v:?}"));
        }
        if !self.body.is_empty() {
            s.push_str(&format!(" body:{:?}", self.body.chars().take(40).collect::<String>()));
        }
        s
    }

    fn failed(what: String) -> Outcome {
        Outcome { status: what, server: "-".into(), ..Outcome::default() }
    }
}

type Pending = JoinHandle<(Outcome, Option<TcpStream>)>;

/// Runs `steps` against the proxy whose frontends are at `fronts`; returns outcomes by request id
/// in script order.
pub fn play(steps: &[Step], fronts: &HashMap<String, SocketAddr>) -> Vec<(String, Outcome)> {
    let mut jars: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let mut results: HashMap<String, Outcome> = HashMap::new();
    let mut held: HashMap<String, TcpStream> = HashMap::new();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut order = Vec::new();
    for step in steps {
        match step {
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Wait(id) => collect(id, &mut pending, &mut held, &mut results),
            Step::Release(id) => {
                collect(id, &mut pending, &mut held, &mut results);
                drop(held.remove(id));
                // Let the proxy see the close and free the server's slot.
                std::thread::sleep(Duration::from_millis(100));
            }
            Step::Send(r) => {
                order.push(r.id.clone());
                let addr = *fronts.get(&r.front).unwrap_or_else(|| panic!("request {}: no frontend {}", r.id, r.front));
                let jar = r.client.as_ref().map(|c| jars.entry(c.clone()).or_default().clone()).unwrap_or_default();
                let req = r.clone();
                if r.background {
                    pending.insert(r.id.clone(), std::thread::spawn(move || send(&req, addr, &jar)));
                    continue;
                }
                let (o, s) = send(r, addr, &jar);
                if let (Some(c), Kind::Http { .. }) = (&r.client, &r.kind) {
                    remember_cookies(jars.entry(c.clone()).or_default(), &o.set_cookie);
                }
                results.insert(r.id.clone(), o);
                if let Some(s) = s {
                    held.insert(r.id.clone(), s);
                }
            }
        }
    }
    let ids: Vec<String> = pending.keys().cloned().collect();
    for id in ids {
        collect(&id, &mut pending, &mut held, &mut results);
    }
    drop(held);
    order.into_iter().map(|id| (id.clone(), results.remove(&id).unwrap_or_else(|| Outcome::failed("error: no result".into())))).collect()
}

/// Joins a background request, keeping its result and its held connection.
fn collect(
    id: &str,
    pending: &mut HashMap<String, Pending>,
    held: &mut HashMap<String, TcpStream>,
    results: &mut HashMap<String, Outcome>,
) {
    if let Some(h) = pending.remove(id) {
        let (o, s) = h.join().unwrap_or_else(|_| (Outcome::failed("error: client thread panicked".into()), None));
        results.insert(id.to_string(), o);
        if let Some(s) = s {
            held.insert(id.to_string(), s);
        }
    }
}

/// A browser's cookie jar: `name=value` of each Set-Cookie, replacing an older one.
fn remember_cookies(jar: &mut BTreeMap<String, String>, set_cookie: &[String]) {
    for c in set_cookie {
        let pair = c.split(';').next().unwrap_or("").trim();
        if let Some((n, v)) = pair.split_once('=') {
            jar.insert(n.to_string(), v.to_string());
        }
    }
}

fn send(r: &Request, addr: SocketAddr, jar: &BTreeMap<String, String>) -> (Outcome, Option<TcpStream>) {
    match &r.kind {
        Kind::Tcp { hold, from, send } => tcp(addr, *hold, *from, send),
        Kind::Http { method, path, headers } => (http(addr, method, path, headers, jar), None),
    }
}

fn tcp(addr: SocketAddr, hold: bool, from: Option<std::net::Ipv4Addr>, send: &[u8]) -> (Outcome, Option<TcpStream>) {
    let conn = match from {
        Some(src) => super::relay::connect_from(src, addr),
        None => TcpStream::connect_timeout(&addr, Duration::from_secs(2)),
    };
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => return (Outcome::failed(format!("error: connect: {e}")), None),
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(3)));
    // A proxy that already reset the connection makes this fail; the read below says how.
    if !send.is_empty() {
        let _ = conn.write_all(send);
    }
    let mut line = String::new();
    let mut r = BufReader::new(&conn);
    let o = match r.read_line(&mut line) {
        Ok(0) => Outcome::failed("closed".into()),
        Ok(_) if line.ends_with('\n') => Outcome { status: "connected".into(), server: line.trim_end().to_string(), ..Outcome::default() },
        Ok(_) => Outcome::failed("closed".into()),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => Outcome::failed("timeout".into()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Outcome::failed("closed".into()),
        Err(e) => Outcome::failed(format!("error: {e}")),
    };
    if hold && o.status == "connected" {
        return (o, Some(conn));
    }
    drop(conn);
    // The proxy frees the server's slot once it has seen the close: let it, so that the next
    // connection is balanced with this one gone on both proxies alike.
    std::thread::sleep(Duration::from_millis(40));
    (o, None)
}

fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(String, String)], jar: &BTreeMap<String, String>) -> Outcome {
    let mut conn = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(format!("error: connect: {e}")),
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    let explicit_cookie = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie"));
    if !jar.is_empty() && !explicit_cookie {
        let pairs: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
        req.push_str(&format!("Cookie: {}\r\n", pairs.join("; ")));
    }
    if matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str("Content-Length: 0\r\n");
    }
    // One request per connection, read to the end: the proxy has finished with it before the
    // next request is balanced.
    req.push_str("Connection: close\r\n\r\n");
    if let Err(e) = conn.write_all(req.as_bytes()) {
        return Outcome::failed(format!("error: send: {e}"));
    }
    let mut raw = Vec::new();
    match conn.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if raw.is_empty() => return Outcome::failed(format!("error: read: {e}")),
        Err(_) => {}
    }
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head: bool) -> Outcome {
    if raw.is_empty() {
        return Outcome::failed("closed".into());
    }
    let text = String::from_utf8_lossy(raw);
    let Some((head_text, rest)) = text.split_once("\r\n\r\n") else {
        return Outcome::failed(format!("error: incomplete response {text:?}"));
    };
    let mut lines = head_text.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("?").to_string();
    let mut o = Outcome { status, server: "-".into(), ..Outcome::default() };
    for l in lines {
        let Some((n, v)) = l.split_once(':') else { continue };
        let (n, v) = (n.trim().to_ascii_lowercase(), v.trim().to_string());
        match n.as_str() {
            "x-server" => o.server = v,
            "set-cookie" => o.set_cookie.push(v),
            "cache-control" | "location" => o.response_headers.push((n, v)),
            _ if n.starts_with("x-resp-") => o.response_headers.push((n, v)),
            _ => {}
        }
    }
    o.response_headers.sort();
    if o.server == "-" {
        o.body = if head { String::new() } else { rest.to_string() };
    } else {
        o.seen = rest.lines().filter_map(|l| l.strip_prefix("seen=")).map(String::from).collect();
    }
    o
}
