//! The RFC 9113 conformance cases (after h2spec's list, by RFC section) and floods, and the
//! raw-frame client that probes a server with them over TCP. Shared by the layer's suite
//! (`worker/tests/h2_conformance.rs`, against `h2kit`'s driver) and the binary's
//! (`tests/h2_conformance.rs`, against `hakeeper run`), both side by side with HAProxy 2.6.
#![allow(dead_code)]

use hakeeper_worker::h2::hpack;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let l = (payload.len() as u32).to_be_bytes();
    let mut v = vec![l[1], l[2], l[3], kind, flags];
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    hpack::encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

pub fn get(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut f = vec![(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/")];
    f.extend_from_slice(extra);
    block(&f)
}

pub fn post() -> Vec<u8> {
    block(&[(":method", "POST"), (":scheme", "http"), (":authority", "a.test"), (":path", "/")])
}

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const PRIORITY: u8 = 2;
pub const RST: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PUSH: u8 = 5;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const WU: u8 = 8;
pub const CONT: u8 = 9;
pub const ES: u8 = 0x1;
pub const EH: u8 = 0x4;

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    GoAway(u32),
    Rst(u32),
    Status(String),
    PingAck,
    Closed,
    Nothing,
}

impl Outcome {
    pub fn show(&self) -> String {
        let name = |c: &u32| {
            [
                "NO_ERROR",
                "PROTOCOL_ERROR",
                "INTERNAL_ERROR",
                "FLOW_CONTROL_ERROR",
                "SETTINGS_TIMEOUT",
                "STREAM_CLOSED",
                "FRAME_SIZE_ERROR",
                "REFUSED_STREAM",
                "CANCEL",
                "COMPRESSION_ERROR",
                "CONNECT_ERROR",
                "ENHANCE_YOUR_CALM",
            ]
            .get(*c as usize)
            .map_or(format!("0x{c:x}"), |s| s.to_string())
        };
        match self {
            Outcome::GoAway(c) => format!("GOAWAY {}", name(c)),
            Outcome::Rst(c) => format!("RST_STREAM {}", name(c)),
            Outcome::Status(s) => format!("HEADERS :status {s}"),
            Outcome::PingAck => "PING ack".into(),
            Outcome::Closed => "closed".into(),
            Outcome::Nothing => "nothing".into(),
        }
    }
}

/// What the RFC requires.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    /// A connection or stream error of this code (h2spec accepts either, or a close, for most).
    Error(u32),
    /// A connection error of this code (or a close).
    ConnError(u32),
    Status200,
    PingAck,
}

impl Want {
    pub fn met_by(self, o: &Outcome) -> bool {
        match (self, o) {
            (Want::Error(c), Outcome::GoAway(g) | Outcome::Rst(g)) => *g == c,
            (Want::Error(_) | Want::ConnError(_), Outcome::Closed) => true,
            (Want::ConnError(c), Outcome::GoAway(g)) => *g == c,
            (Want::Status200, Outcome::Status(s)) => s == "200",
            (Want::PingAck, Outcome::PingAck) => true,
            _ => false,
        }
    }
}

pub const PROTOCOL: u32 = 1;
pub const FLOW: u32 = 3;
pub const CLOSED: u32 = 5;
pub const SIZE: u32 = 6;
pub const COMPRESSION: u32 = 9;

pub struct Case {
    pub section: &'static str,
    pub name: &'static str,
    /// Raw bytes in place of the preface, if set.
    pub raw_preface: Option<&'static [u8]>,
    pub frames: Vec<u8>,
    pub want: Want,
}

pub fn case(section: &'static str, name: &'static str, frames: Vec<Vec<u8>>, want: Want) -> Case {
    Case { section, name, raw_preface: None, frames: frames.concat(), want }
}

pub fn cases() -> Vec<Case> {
    let big = vec![0u8; 16385];
    vec![
        Case {
            section: "3.4",
            name: "invalid connection preface",
            raw_preface: Some(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"),
            frames: vec![],
            want: Want::ConnError(PROTOCOL),
        },
        case(
            "4.2",
            "DATA above SETTINGS_MAX_FRAME_SIZE",
            vec![frame(HEADERS, EH, 1, &post()), frame(DATA, 0, 1, &big)],
            Want::ConnError(SIZE),
        ),
        case(
            "4.2",
            "HEADERS above SETTINGS_MAX_FRAME_SIZE",
            vec![frame(HEADERS, EH | ES, 1, &[get(&[]), vec![0x40, 0x01, b'x', 0x7f, 0x81, 0x7f], vec![b'a'; 16400]].concat())],
            Want::ConnError(SIZE),
        ),
        case("4.3", "invalid field block", vec![frame(HEADERS, EH | ES, 1, &[0x80 | 99])], Want::ConnError(COMPRESSION)),
        case(
            "4.3",
            "PRIORITY inside a field block",
            vec![frame(HEADERS, ES, 1, &get(&[])), frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 1])],
            Want::ConnError(PROTOCOL),
        ),
        case("5.1", "idle: DATA", vec![frame(DATA, 0, 1, b"x")], Want::ConnError(PROTOCOL)),
        case("5.1", "idle: RST_STREAM", vec![frame(RST, 0, 1, &[0, 0, 0, 8])], Want::ConnError(PROTOCOL)),
        case("5.1", "idle: WINDOW_UPDATE", vec![frame(WU, 0, 1, &[0, 0, 0, 1])], Want::ConnError(PROTOCOL)),
        case("5.1", "idle: CONTINUATION", vec![frame(CONT, EH, 1, &get(&[]))], Want::ConnError(PROTOCOL)),
        case(
            "5.1",
            "half-closed (remote): DATA",
            vec![frame(HEADERS, EH | ES, 1, &get(&[])), frame(DATA, 0, 1, b"x")],
            Want::Error(CLOSED),
        ),
        case(
            "5.1",
            "half-closed (remote): HEADERS",
            vec![frame(HEADERS, EH | ES, 1, &get(&[])), frame(HEADERS, EH | ES, 1, &block(&[("x", "1")]))],
            Want::Error(CLOSED),
        ),
        case(
            "5.1",
            "closed: DATA after RST_STREAM",
            vec![frame(HEADERS, EH, 1, &post()), frame(RST, 0, 1, &[0, 0, 0, 8]), frame(DATA, 0, 1, b"x")],
            Want::Error(CLOSED),
        ),
        case("5.1.1", "even stream identifier", vec![frame(HEADERS, EH | ES, 2, &get(&[]))], Want::ConnError(PROTOCOL)),
        case(
            "5.1.1",
            "decreasing stream identifier",
            vec![frame(HEADERS, EH | ES, 5, &get(&[])), frame(HEADERS, EH | ES, 3, &get(&[]))],
            Want::ConnError(PROTOCOL),
        ),
        case(
            "5.3.1",
            "HEADERS depending on itself",
            vec![frame(HEADERS, EH | ES | 0x20, 1, &[vec![0, 0, 0, 1, 16], get(&[])].concat())],
            Want::Error(PROTOCOL),
        ),
        case("5.3.1", "PRIORITY depending on itself", vec![frame(PRIORITY, 0, 1, &[0, 0, 0, 1, 16])], Want::Error(PROTOCOL)),
        case("5.5", "unknown frame type", vec![frame(0x42, 0, 0, b"x"), frame(PING, 0, 0, b"12345678")], Want::PingAck),
        case(
            "5.5",
            "unknown frame inside a field block",
            vec![frame(HEADERS, ES, 1, &get(&[])), frame(0x42, 0, 1, b"x")],
            Want::ConnError(PROTOCOL),
        ),
        case("6.1", "DATA on stream 0", vec![frame(DATA, 0, 0, b"x")], Want::ConnError(PROTOCOL)),
        case(
            "6.1",
            "DATA with invalid padding",
            vec![frame(HEADERS, EH, 1, &post()), frame(DATA, 0x8, 1, &[5, b'x'])],
            Want::ConnError(PROTOCOL),
        ),
        case("6.2", "HEADERS on stream 0", vec![frame(HEADERS, EH | ES, 0, &get(&[]))], Want::ConnError(PROTOCOL)),
        case(
            "6.2",
            "HEADERS with invalid padding",
            vec![frame(HEADERS, EH | ES | 0x8, 1, &[vec![200], get(&[])].concat())],
            Want::ConnError(PROTOCOL),
        ),
        case("6.3", "PRIORITY on stream 0", vec![frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16])], Want::ConnError(PROTOCOL)),
        case("6.3", "PRIORITY of length 4", vec![frame(PRIORITY, 0, 1, &[0, 0, 0, 0])], Want::Error(SIZE)),
        case("6.4", "RST_STREAM on stream 0", vec![frame(RST, 0, 0, &[0, 0, 0, 8])], Want::ConnError(PROTOCOL)),
        case("6.4", "RST_STREAM of length 3", vec![frame(HEADERS, EH, 1, &post()), frame(RST, 0, 1, &[0, 0, 8])], Want::ConnError(SIZE)),
        case("6.5", "SETTINGS ack with a payload", vec![frame(SETTINGS, 1, 0, &[0, 3, 0, 0, 0, 1])], Want::ConnError(SIZE)),
        case("6.5", "SETTINGS on a stream", vec![frame(SETTINGS, 0, 1, &[])], Want::ConnError(PROTOCOL)),
        case("6.5", "SETTINGS of length 3", vec![frame(SETTINGS, 0, 0, &[0, 3, 0])], Want::ConnError(SIZE)),
        case("6.5.2", "SETTINGS_ENABLE_PUSH 2", vec![frame(SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 2])], Want::ConnError(PROTOCOL)),
        case("6.5.2", "SETTINGS_INITIAL_WINDOW_SIZE 2^31", vec![frame(SETTINGS, 0, 0, &[0, 4, 0x80, 0, 0, 0])], Want::ConnError(FLOW)),
        case("6.5.2", "SETTINGS_MAX_FRAME_SIZE 16383", vec![frame(SETTINGS, 0, 0, &[0, 5, 0, 0, 0x3f, 0xff])], Want::ConnError(PROTOCOL)),
        case(
            "6.5.2",
            "unknown setting",
            vec![frame(SETTINGS, 0, 0, &[0xff, 0xff, 0, 0, 0, 1]), frame(PING, 0, 0, b"12345678")],
            Want::PingAck,
        ),
        case("6.7", "PING", vec![frame(PING, 0, 0, b"12345678")], Want::PingAck),
        case("6.7", "PING on a stream", vec![frame(PING, 0, 1, b"12345678")], Want::ConnError(PROTOCOL)),
        case("6.7", "PING of length 6", vec![frame(PING, 0, 0, b"123456")], Want::ConnError(SIZE)),
        case("6.8", "GOAWAY on a stream", vec![frame(GOAWAY, 0, 1, &[0; 8])], Want::ConnError(PROTOCOL)),
        case("6.9", "WINDOW_UPDATE of 0 on the connection", vec![frame(WU, 0, 0, &[0; 4])], Want::ConnError(PROTOCOL)),
        case(
            "6.9",
            "WINDOW_UPDATE of 0 on a stream",
            vec![frame(HEADERS, EH, 1, &post()), frame(WU, 0, 1, &[0; 4])],
            Want::Error(PROTOCOL),
        ),
        case("6.9", "WINDOW_UPDATE of length 3", vec![frame(WU, 0, 0, &[0, 0, 1])], Want::ConnError(SIZE)),
        case("6.9.1", "connection window above 2^31-1", vec![frame(WU, 0, 0, &[0x7f, 0xff, 0xff, 0xff])], Want::ConnError(FLOW)),
        case(
            "6.9.1",
            "stream window above 2^31-1",
            vec![frame(HEADERS, EH, 1, &post()), frame(WU, 0, 1, &[0x7f, 0xff, 0xff, 0xff])],
            Want::Error(FLOW),
        ),
        case(
            "6.10",
            "CONTINUATION after END_HEADERS",
            vec![frame(HEADERS, EH, 1, &post()), frame(CONT, EH, 1, &block(&[("x", "1")]))],
            Want::ConnError(PROTOCOL),
        ),
        case(
            "6.10",
            "CONTINUATION on stream 0",
            vec![frame(HEADERS, ES, 1, &get(&[])), frame(CONT, EH, 0, &[])],
            Want::ConnError(PROTOCOL),
        ),
        case(
            "8.1",
            "second HEADERS without END_STREAM",
            vec![frame(HEADERS, EH, 1, &post()), frame(HEADERS, EH, 1, &block(&[("x", "1")]))],
            Want::Error(PROTOCOL),
        ),
        case("8.2", "uppercase field name", vec![frame(HEADERS, EH | ES, 1, &get(&[("X-Up", "1")]))], Want::Error(PROTOCOL)),
        case(
            "8.2.2",
            "connection-specific field",
            vec![frame(HEADERS, EH | ES, 1, &get(&[("connection", "keep-alive")]))],
            Want::Error(PROTOCOL),
        ),
        case("8.2.2", "te other than trailers", vec![frame(HEADERS, EH | ES, 1, &get(&[("te", "gzip")]))], Want::Error(PROTOCOL)),
        case("8.3", "unknown pseudo-header", vec![frame(HEADERS, EH | ES, 1, &get(&[(":foo", "1")]))], Want::Error(PROTOCOL)),
        case(
            "8.3",
            "response pseudo-header in a request",
            vec![frame(HEADERS, EH | ES, 1, &get(&[(":status", "200")]))],
            Want::Error(PROTOCOL),
        ),
        case(
            "8.3",
            "pseudo-header after a regular field",
            vec![frame(HEADERS, EH | ES, 1, &block(&[(":method", "GET"), (":scheme", "http"), ("x", "1"), (":path", "/")]))],
            Want::Error(PROTOCOL),
        ),
        case(
            "8.3.1",
            "empty :path",
            vec![frame(HEADERS, EH | ES, 1, &block(&[(":method", "GET"), (":scheme", "http"), (":path", "")]))],
            Want::Error(PROTOCOL),
        ),
        case(
            "8.3.1",
            "no :method",
            vec![frame(HEADERS, EH | ES, 1, &block(&[(":scheme", "http"), (":path", "/")]))],
            Want::Error(PROTOCOL),
        ),
        case(
            "8.3.1",
            "no :path",
            vec![frame(HEADERS, EH | ES, 1, &block(&[(":method", "GET"), (":scheme", "http")]))],
            Want::Error(PROTOCOL),
        ),
        case("8.3.1", "duplicate :path", vec![frame(HEADERS, EH | ES, 1, &get(&[(":path", "/x")]))], Want::Error(PROTOCOL)),
        case(
            "8.1.1",
            "content-length above the DATA",
            vec![
                frame(
                    HEADERS,
                    EH,
                    1,
                    &block(&[(":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/"), ("content-length", "2")]),
                ),
                frame(DATA, ES, 1, b"x"),
            ],
            Want::Error(PROTOCOL),
        ),
        case(
            "8.1.1",
            "content-length below the DATA",
            vec![
                frame(
                    HEADERS,
                    EH,
                    1,
                    &block(&[(":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/"), ("content-length", "1")]),
                ),
                frame(DATA, ES, 1, b"xy"),
            ],
            Want::Error(PROTOCOL),
        ),
        case(
            "8.4",
            "PUSH_PROMISE from a client",
            vec![frame(HEADERS, EH, 1, &post()), frame(PUSH, EH, 1, &[vec![0, 0, 0, 2], get(&[])].concat())],
            Want::ConnError(PROTOCOL),
        ),
        case("8.3", "a valid GET", vec![frame(HEADERS, EH | ES, 1, &get(&[]))], Want::Status200),
        case(
            "6.10",
            "a field block over CONTINUATIONs",
            vec![frame(HEADERS, ES, 1, &get(&[])[..3]), frame(CONT, 0, 1, &get(&[])[3..6]), frame(CONT, EH, 1, &get(&[])[6..])],
            Want::Status200,
        ),
    ]
}

/// Sends a case and reads the first decisive answer (1 s at most).
pub fn probe(port: u16, c: &Case) -> Outcome {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return Outcome::Closed };
    s.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let mut hello = c.raw_preface.unwrap_or(PREFACE).to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    if s.write_all(&hello).is_err() {
        return Outcome::Closed;
    }
    let mut acked = c.raw_preface.is_some();
    let mut buf = Vec::new();
    let end = Instant::now() + Duration::from_secs(1);
    if acked && s.write_all(&c.frames).is_err() {
        return Outcome::Closed;
    }
    while Instant::now() < end {
        let mut chunk = [0u8; 16384];
        match s.read(&mut chunk) {
            Ok(0) => return Outcome::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Outcome::Closed,
        }
        while buf.len() >= 9 {
            let len = u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize;
            if buf.len() < 9 + len {
                break;
            }
            let (kind, flags) = (buf[3], buf[4]);
            let payload = buf[9..9 + len].to_vec();
            buf.drain(..9 + len);
            match kind {
                SETTINGS if flags & 1 == 0 && !acked => {
                    acked = true;
                    let mut out = frame(SETTINGS, 1, 0, &[]);
                    out.extend_from_slice(&c.frames);
                    if s.write_all(&out).is_err() {
                        return Outcome::Closed;
                    }
                }
                GOAWAY if payload.len() >= 8 => {
                    return Outcome::GoAway(u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]))
                }
                RST if payload.len() == 4 => return Outcome::Rst(u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])),
                PING if flags & 1 == 1 => return Outcome::PingAck,
                HEADERS => {
                    let fields = hpack::Decoder::new(4096, 1 << 16, 200).decode(&payload).unwrap_or_default();
                    let status = fields.iter().find(|(n, _)| n == b":status").map(|(_, v)| String::from_utf8_lossy(v).into_owned());
                    return Outcome::Status(status.unwrap_or_default());
                }
                _ => {}
            }
        }
    }
    Outcome::Nothing
}

pub struct Haproxy {
    child: Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn haproxy() -> Haproxy {
    let port = hakeeper_testkit::free_port();
    let dir = std::env::temp_dir().join(format!("hakeeper-h2conf-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n\
             frontend f\n  bind 127.0.0.1:{port} proto h2\n  http-request return status 200 content-type text/plain string ok\n"
        ),
    )
    .expect("write");
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("haproxy cannot run ({e}): install it with tests/install-deps"));
    let h = Haproxy { child, port, dir };
    let end = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "haproxy did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    h
}

/// Sends a flood and reads how the connection ends (3 s at most).
pub fn flood(port: u16, frames: &[u8]) -> Outcome {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return Outcome::Closed };
    s.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let mut all = PREFACE.to_vec();
    all.extend(frame(SETTINGS, 0, 0, &[]));
    all.extend(frame(SETTINGS, 1, 0, &[]));
    all.extend_from_slice(frames);
    // Written in pieces: the server may close halfway, which is an answer too.
    for piece in all.chunks(16 * 1024) {
        if s.write_all(piece).is_err() {
            break;
        }
    }
    let mut buf = Vec::new();
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let mut chunk = [0u8; 65536];
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let mut p = 0;
    let mut closed_by = Outcome::Closed;
    while buf.len() >= p + 9 {
        let len = u32::from_be_bytes([0, buf[p], buf[p + 1], buf[p + 2]]) as usize;
        if buf.len() < p + 9 + len {
            break;
        }
        if buf[p + 3] == GOAWAY && len >= 8 {
            let q = p + 9;
            closed_by = Outcome::GoAway(u32::from_be_bytes([buf[q + 4], buf[q + 5], buf[q + 6], buf[q + 7]]));
        }
        p += 9 + len;
    }
    if Instant::now() >= end && closed_by == Outcome::Closed {
        return Outcome::Nothing;
    }
    closed_by
}

pub fn floods() -> Vec<(&'static str, Vec<u8>)> {
    let get = get(&[]);
    let mut rapid = Vec::new();
    for i in 0..2000u32 {
        rapid.extend(frame(HEADERS, EH | ES, 2 * i + 1, &get));
        rapid.extend(frame(RST, 0, 2 * i + 1, &[0, 0, 0, 8]));
    }
    let mut cont = frame(HEADERS, 0, 1, &get[..2]);
    for _ in 0..5000 {
        cont.extend(frame(CONT, 0, 1, &[]));
    }
    let repeat = |f: Vec<u8>, n: usize| f.repeat(n);
    let mut bomb = vec![0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e];
    bomb.extend(std::iter::repeat_n(b'a', 4000));
    bomb.extend(std::iter::repeat_n(0x80 | 62, 2000));
    let mut empty_data = frame(HEADERS, EH, 1, &post());
    empty_data.extend(repeat(frame(DATA, 0, 1, &[]), 5000));
    vec![
        ("rapid reset (CVE-2023-44487): 2000 streams opened and reset", rapid),
        ("CONTINUATION flood (CVE-2024-27316): 5000 empty CONTINUATIONs", cont),
        ("HPACK bomb: 4 kB value referenced 2000 times", frame(HEADERS, EH | ES, 1, &bomb)),
        ("SETTINGS flood: 5000 frames", repeat(frame(SETTINGS, 0, 0, &[]), 5000)),
        ("PING flood: 5000 frames", repeat(frame(PING, 0, 0, b"12345678"), 5000)),
        ("empty DATA flood: 5000 frames", empty_data),
    ]
}
