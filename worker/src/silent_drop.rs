//! `silent-drop`: the connection disappears without the client being told, so that an
//! abusive client keeps waiting on a dead connection instead of retrying at once (HAProxy's
//! `tcp_exec_action_silent_drop()`).
//!
//! As HAProxy 2.6 does: lingering is disabled (SO_LINGER 0) so that no FIN is sent; then
//! TCP_REPAIR is tried, which makes the kernel forget the connection without sending
//! anything; it needs CAP_NET_ADMIN, which the unprivileged worker normally lacks, and then the
//! close sends a reset whose TTL (hop limit) is 1, so that it dies at the first router and
//! the client still sees nothing. On a host-local client (loopback, the same LAN segment) that
//! reset does arrive: this is HAProxy's behaviour too. HAProxy also re-enables TCP_QUICKACK to
//! acknowledge pending data; hakeeper does not (the client may retransmit it a few times).

use nix::sys::socket::{setsockopt, sockopt};
use std::net::SocketAddr;
use std::os::fd::AsFd;

/// How the connection was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// TCP_REPAIR was accepted: nothing at all is sent on close.
    Repair,
    /// A reset with TTL 1 is sent on close.
    ResetTtl1,
}

/// Prepares `sock` (the client's) so that closing it drops the connection silently. `peer`
/// says which TTL option applies.
pub fn prepare<F: AsFd>(sock: &F, peer: SocketAddr) -> Dropped {
    let _ = setsockopt(sock, sockopt::Linger, &nix::libc::linger { l_onoff: 1, l_linger: 0 });
    if setsockopt(sock, sockopt::TcpRepair, &1).is_ok() {
        return Dropped::Repair;
    }
    let _ = match peer {
        SocketAddr::V4(_) => setsockopt(sock, sockopt::Ipv4Ttl, &1),
        SocketAddr::V6(_) => setsockopt(sock, sockopt::Ipv6Ttl, &1),
    };
    Dropped::ResetTtl1
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::getsockopt;
    use std::io::Read;

    #[test]
    fn a_dropped_connection_gets_no_fin() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        let how = prepare(&server, peer);
        if how == Dropped::ResetTtl1 {
            assert_eq!(getsockopt(&server, sockopt::Ipv4Ttl).unwrap(), 1);
        }
        assert_eq!(getsockopt(&server, sockopt::Linger).unwrap().l_linger, 0);
        drop(server);
        client.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; 1];
        match (how, client.read(&mut buf)) {
            // Nothing at all: the read times out.
            (Dropped::Repair, Err(e)) => assert!(matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            // Loopback delivers even a TTL 1 reset: never a clean end of stream (a FIN).
            (Dropped::ResetTtl1, Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
            (how, other) => panic!("{how:?}: {other:?}"),
        }
    }
}
