//! A loopback relay that gives a client it cannot configure (Debian's `mariadb` client has no
//! `--bind-address`) a chosen source: each connection it accepts is carried to the target from
//! a socket bound to `source`, optionally after a PROXY v1 header naming another client
//! (for `accept-proxy` binds). Bytes are copied both ways, half-closes passed on; threads stop
//! with the connections, and the listener when the relay is dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Relay {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

/// A TCP connection to `dst` from `src` (any 127.0.0.0/8 address works on loopback).
pub fn connect_from(src: Ipv4Addr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrStorage};
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    let o = src.octets();
    bind(fd.as_raw_fd(), &SockaddrIn::new(o[0], o[1], o[2], o[3], 0))?;
    connect(fd.as_raw_fd(), &SockaddrStorage::from(dst))?;
    // SAFETY: the descriptor is a connected TCP socket this function owns and hands over.
    Ok(unsafe { TcpStream::from_raw_fd(fd.into_raw_fd()) })
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Relay {
    /// Relays to `target` from `source`; with `proxy_from`, each connection starts with a
    /// `PROXY TCP4 <proxy_from> <target>` header.
    pub fn start(source: Ipv4Addr, target: SocketAddr, proxy_from: Option<SocketAddr>) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(mut server) = connect_from(source, target) else { continue };
                if let Some(p) = proxy_from {
                    let header = format!("PROXY TCP4 {} {} {} {}\r\n", p.ip(), target.ip(), p.port(), target.port());
                    if server.write_all(header.as_bytes()).is_err() {
                        continue;
                    }
                }
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else { continue };
                std::thread::spawn(move || pipe(client, server));
                std::thread::spawn(move || pipe(s2, c2));
            }
        });
        Relay { addr, stop }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}
