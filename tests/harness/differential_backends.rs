//! The loopback backends of a differential case, shared by HAProxy and hakeeper. An HTTP backend
//! answers every request (health checks included) with 200, `X-Server: NAME`, and a body naming
//! itself and listing the request headers it received; request headers steer it:
//! `X-Delay: MS` (answer late), `X-Set-Cookie: V` (answer with `Set-Cookie: V`),
//! `X-Set-Resp: Name:value` (answer with that header). TCP backends are
//! [`NamedEcho`](super::backends::NamedEcho)s (`NAME\n`, then echo).

use super::backends::NamedEcho;
use super::http_backend::{header, read_head};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// An HTTP backend that says who it is and what it saw; stops on drop.
pub struct EchoHttp {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoHttp {
    pub fn start(name: &str) -> EchoHttp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind HTTP backend");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let (st, n) = (stop.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let n = n.clone();
                        std::thread::spawn(move || serve(conn, &n));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        EchoHttp { addr, stop, thread: Some(thread) }
    }
}

impl Drop for EchoHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Keep-alive loop over one server connection (HAProxy and hakeeper may reuse it).
fn serve(conn: TcpStream, name: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(15)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::new(conn);
    while let Some((first, headers)) = read_head(&mut r) {
        let len: usize = header(&headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        if let Some(ms) = header(&headers, "x-delay").and_then(|v| v.parse().ok()) {
            std::thread::sleep(Duration::from_millis(ms));
        }
        let mut text = format!("server={name}\nrequest={first}\n");
        for (n, v) in &headers {
            text.push_str(&format!("seen={n}: {v}\n"));
        }
        let mut extra = String::new();
        for (n, v) in &headers {
            match n.as_str() {
                "x-set-cookie" => extra.push_str(&format!("Set-Cookie: {v}\r\n")),
                "x-set-resp" => {
                    if let Some((hn, hv)) = v.split_once(':') {
                        extra.push_str(&format!("{hn}: {hv}\r\n"));
                    }
                }
                _ => {}
            }
        }
        let head_only = first.starts_with("HEAD ");
        let resp = format!(
            "HTTP/1.1 200 OK\r\nX-Server: {name}\r\nContent-Type: text/plain\r\n{extra}Content-Length: {}\r\n\r\n{}",
            text.len(),
            if head_only { "" } else { text.as_str() }
        );
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// A port that refuses connections for as long as this lives: bound, never listening.
pub struct DeadPort {
    pub addr: SocketAddr,
    _fd: OwnedFd,
}

impl DeadPort {
    pub fn reserve() -> DeadPort {
        use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
        let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
        bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind refused port");
        let port = getsockname::<SockaddrIn>(fd.as_raw_fd()).expect("getsockname").port();
        DeadPort { addr: SocketAddr::from(([127, 0, 0, 1], port)), _fd: fd }
    }
}

/// Whatever a placeholder stands for, kept alive for the whole case.
pub enum Backend {
    Http(EchoHttp),
    Tcp(NamedEcho),
    Dead(DeadPort),
}

impl Backend {
    /// The backend for a `HTTP_x`, `TCP_x` or `DEAD_x` placeholder; `None` for other ones.
    pub fn for_placeholder(p: &str) -> Option<Backend> {
        if let Some(name) = p.strip_prefix("HTTP_") {
            Some(Backend::Http(EchoHttp::start(name)))
        } else if let Some(name) = p.strip_prefix("TCP_") {
            Some(Backend::Tcp(NamedEcho::start(name)))
        } else {
            p.strip_prefix("DEAD_").map(|_| Backend::Dead(DeadPort::reserve()))
        }
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Backend::Http(b) => b.addr,
            Backend::Tcp(b) => b.addr,
            Backend::Dead(b) => b.addr,
        }
    }
}
