//! Real TCP backends on loopback for the end-to-end tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A backend that sends `NAME\n` on each new connection, then echoes everything it reads.
/// It counts accepted connections and stops on drop.
pub struct NamedEcho {
    pub name: String,
    pub addr: SocketAddr,
    pub accepts: Arc<AtomicUsize>,
    pub active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl NamedEcho {
    pub fn start(name: &str) -> NamedEcho {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let addr = listener.local_addr().expect("backend addr");
        let accepts = Arc::new(AtomicUsize::new(0));
        let active = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (n, a, act, s) = (name.to_string(), accepts.clone(), active.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let (n, act) = (n.clone(), act.clone());
                std::thread::spawn(move || {
                    act.fetch_add(1, Ordering::SeqCst);
                    echo(stream, &n);
                    act.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        NamedEcho { name: name.to_string(), addr, accepts, active, stop }
    }

    pub fn accepted(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

fn echo(mut stream: TcpStream, name: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    if stream.write_all(format!("{name}\n").as_bytes()).is_err() {
        return;
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

impl Drop for NamedEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so its thread ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Connects to `addr` and reads the backend's `NAME\n` greeting.
pub fn connect_and_name(addr: SocketAddr) -> std::io::Result<(TcpStream, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut name = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = s.read(&mut byte)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("closed after {:?}", String::from_utf8_lossy(&name)),
            ));
        }
        if byte[0] == b'\n' {
            break;
        }
        name.push(byte[0]);
    }
    Ok((s, String::from_utf8_lossy(&name).into_owned()))
}

/// FNV-1a, enough to compare what went in with what came out.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
