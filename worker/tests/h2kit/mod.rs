//! A blocking driver of `hakeeper_worker::h2::conn` for tests: each stream is answered by the
//! test server itself (`method=… path=… received=…`, or 2 MiB for `/big…`), so the layer can be
//! checked against real clients before the worker serves HTTP/2.

#![allow(dead_code)]

use hakeeper_worker::h2::conn::{Config, Connection, Event};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIG: usize = 2 * 1024 * 1024;

#[derive(Default)]
struct Stream {
    path: String,
    method: String,
    received: usize,
    pending: Vec<u8>,
    end_after: bool,
}

fn respond(c: &mut Connection, id: u32, s: &mut Stream) {
    let body = if s.path.starts_with("/big") {
        vec![b'x'; BIG]
    } else {
        format!("method={} path={} received={}\n", s.method, s.path, s.received).into_bytes()
    };
    let len = body.len().to_string();
    let _ = c.send_headers(id, &[(b":status", b"200"), (b"content-type", b"text/plain"), (b"content-length", len.as_bytes())], false);
    s.pending = body;
    s.end_after = true;
}

fn push(c: &mut Connection, id: u32, s: &mut Stream) {
    if !s.end_after {
        return;
    }
    if let Ok(n) = c.send_data(id, &s.pending, true, Instant::now()) {
        s.pending.drain(..n);
    }
}

/// Serves one client connection until it closes, the layer fails, or `deadline`.
fn serve_one(mut sock: TcpStream, deadline: Instant) {
    sock.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let mut c = Connection::new(Config::default());
    let mut streams: HashMap<u32, Stream> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        let out = c.output().to_vec();
        if !out.is_empty() {
            if sock.write_all(&out).is_err() {
                return;
            }
            c.consume_output(out.len());
        }
        if c.is_done() {
            return;
        }
        let n = match sock.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => 0,
            Err(_) => return,
        };
        if n > 0 && c.recv(&buf[..n], Instant::now()).is_err() {
            let out = c.output().to_vec();
            let _ = sock.write_all(&out);
            return;
        }
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::Request { stream, head, end_stream } => {
                    let s = streams.entry(stream).or_default();
                    s.path = String::from_utf8_lossy(head.path.as_deref().unwrap_or_default()).into_owned();
                    s.method = String::from_utf8_lossy(&head.method).into_owned();
                    if end_stream {
                        respond(&mut c, stream, s);
                    }
                }
                Event::Data { stream, data, end_stream } => {
                    c.release(stream, data.len() as u32);
                    if let Some(s) = streams.get_mut(&stream) {
                        s.received += data.len();
                        if end_stream {
                            respond(&mut c, stream, s);
                        }
                    }
                }
                Event::Trailers { stream, .. } => {
                    if let Some(s) = streams.get_mut(&stream) {
                        respond(&mut c, stream, s);
                    }
                }
                Event::Reset { stream, .. } => {
                    streams.remove(&stream);
                }
                Event::Writable { .. } | Event::GoAway { .. } => {}
            }
        }
        for (id, s) in streams.iter_mut() {
            push(&mut c, *id, s);
        }
        streams.retain(|_, s| !(s.end_after && s.pending.is_empty()));
    }
}

/// A server for `conns` connections, on a free loopback port.
pub fn server(conns: usize) -> (u16, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let deadline = Instant::now() + Duration::from_secs(45);
    // Non-blocking accept, so the thread ends by the deadline even if a client never comes.
    l.set_nonblocking(true).expect("nonblocking");
    let h = std::thread::spawn(move || {
        let mut served = 0;
        while served < conns && Instant::now() < deadline {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).expect("blocking");
                    serve_one(s, deadline);
                    served += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => return,
            }
        }
    });
    (port, h)
}
