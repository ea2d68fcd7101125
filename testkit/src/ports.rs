//! Loopback ports for the tests: one free for a listener a test starts, one that refuses.

/// A port on 127.0.0.1 that is free now, for a process the test starts to bind. It is taken
/// below the kernel's ephemeral range (32768–60999), where no outbound connection (of a parallel
/// test, or of a proxy under test keeping idle server connections) can take it meanwhile, and
/// one test process never hands the same one out twice.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Test binaries of one run start at different places of the span.
    let start = (std::process::id() * 97) % SPAN;
    for _ in 0..SPAN {
        let port = (FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + SPAN)
}

/// A port on 127.0.0.1 that refuses connections for the whole test run: bound (without
/// SO_REUSEADDR) but never listening and never closed, so no parallel test can take it.
pub fn refused_port() -> u16 {
    use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::{AsRawFd, OwnedFd};
    static HELD: std::sync::Mutex<Vec<OwnedFd>> = std::sync::Mutex::new(Vec::new());
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind");
    let port = getsockname::<SockaddrIn>(fd.as_raw_fd()).expect("getsockname").port();
    HELD.lock().expect("held ports").push(fd);
    port
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_free_port_can_be_bound_and_is_not_handed_out_twice() {
        let (a, b) = (free_port(), free_port());
        assert_ne!(a, b);
        assert!(TcpListener::bind(("127.0.0.1", a)).is_ok(), "port {a} is free");
    }

    #[test]
    fn a_refused_port_refuses_and_cannot_be_taken() {
        let port = refused_port();
        let err = TcpStream::connect(("127.0.0.1", port)).expect_err("nothing listens");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err(), "held for the whole run");
    }
}
