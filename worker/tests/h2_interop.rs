//! The HTTP/2 connection layer (`hakeeper_worker::h2::conn`) against real clients: curl
//! (libcurl's nghttp2) and nghttp2's h2load, over loopback, with a small blocking driver that
//! answers each stream itself. This is not the proxy (the worker does not serve HTTP/2 yet):
//! it checks that the layer interoperates — preface, SETTINGS, HPACK, flow control both ways,
//! many concurrent streams — before step 3 puts it behind the event loop.
//!
//! curl and h2load come from `tests/install-deps`; a missing one fails the test.

use hakeeper_worker::h2::conn::{Config, Connection, Event};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIG: usize = 2 * 1024 * 1024;

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
fn server(conns: usize) -> (u16, JoinHandle<()>) {
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

fn tool(cmd: &mut Command, name: &str) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{name} cannot run ({e}): install it with tests/install-deps"))
}

#[test]
fn curl_prior_knowledge_and_nghttp_with_several_requests_on_one_connection() {
    let (port, h) = server(2);
    let a = format!("http://127.0.0.1:{port}/a");
    let b = format!("http://127.0.0.1:{port}/b?q=1");
    let out =
        tool(Command::new("curl").args(["-sS", "--max-time", "20", "--http2-prior-knowledge", "-w", "v%{http_version}\\n", &a]), "curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text, "method=GET path=/a received=0\nv2\n");
    // Several URLs on one connection: nghttp, since curl 7.88.1 fails its second request on a
    // prior-knowledge connection with "Error in the HTTP2 framing layer" against HAProxy 2.6
    // as well. nghttp also sends PRIORITY frames on idle streams first.
    let out = tool(Command::new("timeout").args(["20", "nghttp", &a, &b]), "nghttp");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("method=GET path=/a received=0\n") && text.contains("method=GET path=/b?q=1 received=0\n"), "{text}");
    h.join().expect("server");
}

#[test]
fn curl_upload_and_download_follow_flow_control() {
    let (port, h) = server(2);
    let dir = std::env::temp_dir().join(format!("hakeeper-h2-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("up.bin");
    // 3 MiB: far beyond the 64 KiB stream window, so it only arrives if releases open it.
    std::fs::write(&file, vec![b'u'; 3 << 20]).expect("write");
    let up = tool(
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "30",
            "--http2-prior-knowledge",
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("http://127.0.0.1:{port}/up"),
        ]),
        "curl",
    );
    assert_eq!(
        String::from_utf8_lossy(&up.stdout),
        format!("method=POST path=/up received={}\n", 3 << 20),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let down = tool(
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "30",
            "--http2-prior-knowledge",
            "-o",
            "-",
            &format!("http://127.0.0.1:{port}/big"),
        ]),
        "curl",
    );
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert_eq!(down.stdout.len(), BIG);
    let _ = std::fs::remove_dir_all(&dir);
    h.join().expect("server");
}

#[test]
fn h2load_many_concurrent_streams_on_one_connection() {
    let (port, h) = server(1);
    let out = tool(
        Command::new("timeout").args(["40", "h2load", "-n", "500", "-c", "1", "-m", "100", &format!("http://127.0.0.1:{port}/s")]),
        "h2load",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("500 succeeded, 0 failed, 0 errored"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    h.join().expect("server");
}
