//! HTTP backends for the HA lab: one thread per backend that joins the backend's network
//! namespace, listens there and answers every request with the backend's name.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Moves the calling thread into the named network namespace (`/run/netns/NAME`). Only this
/// thread moves (and the threads it spawns later), so callers use a dedicated thread.
pub fn enter_netns(ns: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
    // SAFETY: setns(2) on a descriptor we own for the call's duration; it changes only the
    // calling thread's network namespace and touches no memory of ours.
    let rc = unsafe { nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The running backends; [`Backends::stop`] ends their threads.
#[derive(Default)]
pub struct Backends {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Backends {
    /// Starts backend `name` on `addr` inside namespace `ns`; returns once it listens.
    pub fn start(&mut self, ns: &str, name: &str, addr: SocketAddr) {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (ns_owned, name_owned, stop) = (ns.to_string(), name.to_string(), self.stop.clone());
        let thread = std::thread::spawn(move || {
            let listener = match listen_in(&ns_owned, addr) {
                Ok(l) => l,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            serve(listener, &name_owned, &stop);
        });
        self.threads.push(thread);
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("backend {name} on {addr} in {ns}: {e}"),
            Err(e) => panic!("backend {name} on {addr} in {ns} did not start: {e}"),
        }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn listen_in(ns: &str, addr: SocketAddr) -> std::io::Result<TcpListener> {
    enter_netns(ns)?;
    let listener = TcpListener::bind(addr)?;
    // accept() returns every 100 ms without a client, so the thread sees the stop flag.
    let timeout = nix::sys::time::TimeVal::new(0, 100_000);
    nix::sys::socket::setsockopt(&listener, nix::sys::socket::sockopt::ReceiveTimeout, &timeout).map_err(std::io::Error::from)?;
    Ok(listener)
}

fn serve(listener: TcpListener, name: &str, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let name = name.to_string();
                std::thread::spawn(move || answer(stream, &name));
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Reads one request head and answers `200` with the backend's name; a connection closed
/// without a request (a TCP health check) just ends.
fn answer(mut stream: TcpStream, name: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                head.extend_from_slice(&buf[..n]);
                if head.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
                if head.len() > 16 * 1024 {
                    return;
                }
            }
        }
    }
    let body = format!("{name}\n");
    let reply = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(reply.as_bytes());
}
