//! The stats page over HTTP/2 on loopback (`proto: h2`): pages, refusals, the admin form's
//! POST, several streams on one connection, and the idle GOAWAY. The client writes frames by
//! hand and decodes the answers with the layer's HPACK decoder.

use super::super::testing::{worker_config, Page, MLDN};
use crate::h2::hpack::Decoder;
use hakeeper_common::config::BindProto;
use hakeeper_common::ipc::AdminState;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const IDLE: Duration = Duration::from_millis(400);

fn page() -> Page {
    let mut config = worker_config(true);
    if let Some(s) = config.stats.as_mut() {
        s.bind_proto = BindProto::H2;
        s.timeout_http_request = IDLE;
    }
    Page::start(config)
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A literal field without indexing, new name (RFC 7541 §6.2.2), short strings only.
fn literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(&[0x00, name.len() as u8]);
    out.extend_from_slice(name.as_bytes());
    out.push(value.len() as u8);
    out.extend_from_slice(value.as_bytes());
}

fn request(method: &str, path: &str, auth: Option<&str>, body_len: Option<usize>) -> Vec<u8> {
    let mut b = Vec::new();
    literal(&mut b, ":method", method);
    literal(&mut b, ":scheme", "http");
    literal(&mut b, ":path", path);
    literal(&mut b, ":authority", "stats.test");
    if let Some(a) = auth {
        literal(&mut b, "authorization", &format!("Basic {a}"));
    }
    if let Some(n) = body_len {
        literal(&mut b, "content-type", "application/x-www-form-urlencoded");
        literal(&mut b, "content-length", &n.to_string());
    }
    b
}

struct Client {
    s: TcpStream,
    dec: Decoder,
    buf: Vec<u8>,
}

/// One stream's answer.
#[derive(Debug, Default)]
struct Answer {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    done: bool,
    reset: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl Client {
    fn connect(page: &Page) -> Client {
        let mut s = TcpStream::connect(page.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend(frame(0x4, 0, 0, &[]));
        s.write_all(&hello).expect("preface");
        Client { s, dec: Decoder::new(4096, 64 * 1024, 200), buf: Vec::new() }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    /// The next frame: (type, flags, stream, payload); `None` once the server closed.
    fn next(&mut self) -> Option<(u8, u8, u32, Vec<u8>)> {
        loop {
            if self.buf.len() >= 9 {
                let len = (usize::from(self.buf[0]) << 16) | (usize::from(self.buf[1]) << 8) | usize::from(self.buf[2]);
                if self.buf.len() >= 9 + len {
                    let f: Vec<u8> = self.buf.drain(..9 + len).collect();
                    let id = u32::from_be_bytes([f[5], f[6], f[7], f[8]]) & 0x7fff_ffff;
                    return Some((f[3], f[4], id, f[9..].to_vec()));
                }
            }
            let mut chunk = [0u8; 16384];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until the answers of `streams` are all complete (or reset); acknowledges SETTINGS.
    fn answers(&mut self, streams: &[u32]) -> Vec<Answer> {
        let mut out: Vec<Answer> = streams.iter().map(|_| Answer::default()).collect();
        while !out.iter().all(|a| a.done || a.reset) {
            let Some((kind, flags, id, payload)) = self.next() else { panic!("closed before the answers: {out:?}") };
            if kind == 0x4 && flags & 1 == 0 {
                self.send(&frame(0x4, 1, 0, &[]));
            }
            let Some(i) = streams.iter().position(|&s| s == id) else { continue };
            match kind {
                0x1 => {
                    let fields = self.dec.decode(&payload).expect("hpack");
                    out[i].headers = fields
                        .into_iter()
                        .map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), String::from_utf8_lossy(&v).into_owned()))
                        .collect();
                }
                0x0 => {
                    out[i].body.extend_from_slice(&payload);
                    // Give the windows back, as a browser does.
                    let n = (payload.len() as u32).to_be_bytes();
                    if !payload.is_empty() {
                        self.send(&[frame(0x8, 0, 0, &n), frame(0x8, 0, id, &n)].concat());
                    }
                }
                0x3 => out[i].reset = true,
                _ => {}
            }
            if (kind == 0x0 || kind == 0x1) && flags & 1 == 1 {
                out[i].done = true;
            }
        }
        out
    }
}

#[test]
fn pages_and_refusals_are_served_as_streams_of_one_connection() {
    let page = page();
    let mut c = Client::connect(&page);
    let mut out = frame(0x1, 0x5, 1, &request("GET", "/admin;csv", Some(MLDN), None));
    out.extend(frame(0x1, 0x5, 3, &request("GET", "/admin", None, None)));
    out.extend(frame(0x1, 0x5, 5, &request("GET", "/admin", Some(MLDN), None)));
    out.extend(frame(0x1, 0x5, 7, &request("HEAD", "/admin;json", Some(MLDN), None)));
    out.extend(frame(0x1, 0x5, 9, &request("GET", "/elsewhere", Some(MLDN), None)));
    c.send(&out);
    let a = c.answers(&[1, 3, 5, 7, 9]);
    assert_eq!(a[0].header(":status"), Some("200"), "{:?}", a[0]);
    assert!(String::from_utf8_lossy(&a[0].body).starts_with("# pxname,svname,"), "CSV: {:?}", a[0]);
    assert_eq!(a[0].header("content-length"), Some(a[0].body.len().to_string().as_str()));
    assert_eq!(a[1].header(":status"), Some("401"));
    assert!(a[1].header("www-authenticate").is_some_and(|v| v.starts_with("Basic realm=")), "{:?}", a[1]);
    assert_eq!(a[2].header(":status"), Some("200"));
    let html = String::from_utf8_lossy(&a[2].body);
    assert!(html.contains("<form method=\"post\" action=\"/admin\""), "admin form: {}", &html[..html.len().min(300)]);
    assert!(a.iter().all(|x| x.header("connection").is_none()), "a connection field over h2");
    // HEAD: the length of the body, no body.
    assert_eq!(a[3].header(":status"), Some("200"));
    assert!(a[3].body.is_empty() && a[3].header("content-length").is_some_and(|n| n != "0"), "{:?}", a[3]);
    assert_eq!(a[4].header(":status"), Some("404"));
}

#[test]
fn the_admin_form_post_over_h2_changes_the_server_and_redirects() {
    let page = page();
    let mut c = Client::connect(&page);
    let form = b"b=proxy_status&s=server_2&action=maint";
    let mut out = frame(0x1, 0x4, 1, &request("POST", "/admin", Some(MLDN), Some(form.len())));
    // The body in two DATA frames.
    out.extend(frame(0x0, 0, 1, &form[..10]));
    out.extend(frame(0x0, 0x1, 1, &form[10..]));
    c.send(&out);
    let a = c.answers(&[1]);
    assert_eq!(a[0].header(":status"), Some("303"), "{:?}", a[0]);
    assert_eq!(a[0].header("location"), Some("/admin;st=DONE"));
    let st = page.shared.stats.backends[0].servers[1].admin_state();
    assert_eq!(st, AdminState::Maint, "server_2 not in maintenance");

    // Without credentials the body is not waited for: 401 at once, the rest reset (NO_ERROR).
    c.send(&frame(0x1, 0x4, 3, &request("POST", "/admin", None, Some(form.len()))));
    let a = c.answers(&[3]);
    assert_eq!(a[0].header(":status"), Some("401"), "{:?}", a[0]);
    let rst = loop {
        match c.next() {
            Some((0x3, _, 3, p)) => break p,
            Some(_) => {}
            None => panic!("closed before RST_STREAM"),
        }
    };
    assert_eq!(rst, [0, 0, 0, 0], "RST_STREAM(NO_ERROR)");
    // A form over the limit: 413.
    c.send(&frame(0x1, 0x4, 5, &request("POST", "/admin", Some(MLDN), Some(1 << 20))));
    assert_eq!(c.answers(&[5])[0].header(":status"), Some("413"));
}

#[test]
fn an_idle_connection_gets_a_goaway_and_is_closed() {
    let page = page();
    let mut c = Client::connect(&page);
    c.send(&frame(0x1, 0x5, 1, &request("GET", "/admin;csv", Some(MLDN), None)));
    assert_eq!(c.answers(&[1])[0].header(":status"), Some("200"));
    let t = Instant::now();
    let mut goaway = None;
    while let Some((kind, _, _, payload)) = c.next() {
        if kind == 0x7 {
            goaway = Some(payload);
        }
    }
    assert!(t.elapsed() >= IDLE - Duration::from_millis(50) && t.elapsed() < IDLE * 4, "{:?}", t.elapsed());
    assert_eq!(goaway.as_deref(), Some(&[0, 0, 0, 1, 0, 0, 0, 0][..]), "GOAWAY(last 1, NO_ERROR)");
}

#[test]
fn a_protocol_error_ends_the_connection_with_goaway() {
    let page = page();
    let mut c = Client::connect(&page);
    // DATA on stream 0 is a connection error (PROTOCOL_ERROR, RFC 9113 §6.1).
    c.send(&frame(0x0, 0, 0, b"x"));
    let mut code = None;
    while let Some((kind, _, _, payload)) = c.next() {
        if kind == 0x7 {
            code = payload.get(4..8).map(<[u8]>::to_vec);
        }
    }
    assert_eq!(code, Some(vec![0, 0, 0, 1]), "GOAWAY(PROTOCOL_ERROR)");
}
