//! Listening sockets. The supervisor binds them (it may need root for low ports) and keeps them
//! for its whole life: a restarted or reloaded worker gets the same sockets, so connections that
//! arrive meanwhile wait in the kernel's backlog instead of being refused.

use hakeeper_common::config::{Config, PeersSection};
use hakeeper_common::ipc::ListenerTag;
use nix::sys::socket::{self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({owner}): {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    pub owner: String,
    pub source: nix::Error,
}

/// Every socket the current config listens on, by address.
#[derive(Default)]
pub struct Listeners {
    sockets: HashMap<SocketAddr, OwnedFd>,
}

impl Listeners {
    /// Makes the set match `config`: keeps sockets whose address is still used, binds new ones,
    /// closes the rest. On error nothing is closed, so a failed reload keeps the old set.
    pub fn sync(&mut self, config: &Config) -> Result<(), BindError> {
        let wanted = wanted(config);
        let mut fresh = HashMap::new();
        for (addr, (owner, backlog)) in &wanted {
            if !self.sockets.contains_key(addr) {
                let fd = bind_listener(*addr, *backlog).map_err(|source| BindError { addr: *addr, owner: owner.clone(), source })?;
                fresh.insert(*addr, fd);
            }
        }
        self.sockets.retain(|addr, _| wanted.contains_key(addr));
        self.sockets.extend(fresh);
        Ok(())
    }

    /// Takes over a socket bound by the supervisor this process replaced (a binary upgrade);
    /// `sync` then keeps it if the config still listens on `addr`.
    pub fn adopt(&mut self, addr: SocketAddr, fd: OwnedFd) {
        self.sockets.insert(addr, fd);
    }

    /// Every socket with its address, for a binary upgrade's hand-over.
    pub fn all(&self) -> Vec<(SocketAddr, RawFd)> {
        let mut all: Vec<(SocketAddr, RawFd)> = self.sockets.iter().map(|(a, fd)| (*a, fd.as_raw_fd())).collect();
        all.sort_unstable();
        all
    }

    /// The tags and descriptors of those of `listeners` that are bound, in their order.
    pub fn select(&self, listeners: &[(ListenerTag, SocketAddr)]) -> (Vec<ListenerTag>, Vec<RawFd>) {
        listeners.iter().filter_map(|(tag, addr)| self.sockets.get(addr).map(|fd| (*tag, fd.as_raw_fd()))).unzip()
    }
}

/// What a worker serving `config` listens on: each frontend bind, then the stats page, tagged.
pub fn worker_listeners(config: &Config) -> Vec<(ListenerTag, SocketAddr)> {
    let mut out = Vec::new();
    for (f, fe) in config.frontends.iter().enumerate() {
        for (b, addr) in fe.binds.iter().enumerate() {
            out.push((ListenerTag::Frontend { frontend: f, bind: b }, *addr));
        }
    }
    if let Some(s) = &config.stats {
        out.push((ListenerTag::Stats, s.bind));
    }
    for (section, p) in shared_peers(config).iter().enumerate() {
        out.push((ListenerTag::Peers { section }, p.local.addr));
    }
    out
}

/// The `peers` sections that some stick table names: only those get a listener and a transport
/// (HAProxy starts a peers section's listener only when a table uses it: an unused section is
/// disabled with a warning, `cfgparse.c`'s "peers section 'X' has no stick-table").
pub fn shared_peers(config: &Config) -> Vec<PeersSection> {
    config.peers.iter().filter(|p| config.http.stick_tables.iter().any(|t| t.peers.as_deref() == Some(p.name.as_str()))).cloned().collect()
}

fn wanted(config: &Config) -> HashMap<SocketAddr, (String, i32)> {
    let mut out = HashMap::new();
    for fe in &config.frontends {
        for addr in &fe.binds {
            // The backlog holds what arrives while the worker is at maxconn or restarting.
            out.insert(*addr, (format!("frontend {}", fe.name), fe.maxconn.clamp(128, 65535) as i32));
        }
    }
    if let Some(s) = &config.stats {
        out.insert(s.bind, ("stats".to_string(), s.maxconn.clamp(16, 65535) as i32));
    }
    for p in shared_peers(config) {
        out.insert(p.local.addr, (format!("peers {}", p.name), 128));
    }
    out
}

fn bind_listener(addr: SocketAddr, backlog: i32) -> Result<OwnedFd, nix::Error> {
    let family = if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if addr.is_ipv6() {
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    // A backup node binds its VIP before it holds it, as HAProxy does with ip_nonlocal_bind;
    // IP_FREEBIND at SOL_IP covers IPv6 sockets too (an announced IPv6 VIP is not yet on lo).
    socket::setsockopt(&fd, sockopt::IpFreebind, &true)?;
    socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    socket::listen(&fd, Backlog::new(backlog).unwrap_or(Backlog::MAXCONN))?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ports: &[u16]) -> Config {
        let binds: Vec<String> = ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
        let text = format!(
            r#"(
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: [{}], servers: [(name: "s1", addr: "127.0.0.1:9")])],
)"#,
            binds.join(", ")
        );
        match hakeeper_common::config::load_str("test.ron", &text) {
            Ok(l) => l.config,
            Err(e) => panic!("test config: {}", e.report()),
        }
    }

    fn inode(fd: RawFd) -> u64 {
        // SAFETY: `fd` is open (held by the test or by `Listeners`) for this call.
        let st = nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }).expect("fstat");
        st.st_ino
    }

    /// A binary upgrade's sockets: kept where the config still binds their address, closed
    /// where it no longer does, and new addresses bound.
    #[test]
    fn adopted_sockets_are_matched_by_address() {
        let keep = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let gone = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let fresh = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let (keep_addr, gone_addr, fresh_addr) =
            (keep.local_addr().expect("addr"), gone.local_addr().expect("addr"), fresh.local_addr().expect("addr"));
        drop(fresh);
        let keep_inode = inode(keep.as_raw_fd());
        let mut l = Listeners::default();
        l.adopt(keep_addr, OwnedFd::from(keep));
        l.adopt(gone_addr, OwnedFd::from(gone));
        l.sync(&config(&[keep_addr.port(), fresh_addr.port()])).expect("sync");
        let all = l.all();
        let addrs: Vec<SocketAddr> = all.iter().map(|(a, _)| *a).collect();
        let mut expected = vec![keep_addr, fresh_addr];
        expected.sort_unstable();
        assert_eq!(addrs, expected);
        let kept = all.iter().find(|(a, _)| *a == keep_addr).map(|(_, fd)| *fd).expect("kept");
        assert_eq!(inode(kept), keep_inode, "the inherited socket is kept, not bound again");
        // The address the config dropped is free again: its socket was closed.
        assert!(std::net::TcpListener::bind(gone_addr).is_ok(), "{gone_addr} still bound");
    }

    /// The local peer's address is bound and tagged only for a section a table shares through.
    #[test]
    fn peers_listener_only_for_sections_a_table_uses() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let text = |peers: &str| {
            format!(
                r#"(
  global: (localpeer: "lb1"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: ["127.0.0.1:{p1}"], servers: [(name: "s1", addr: "127.0.0.1:9")],
            stick_table: (key: ip, size: 10{peers}))],
  peers: [(name: "lb", peers: [(name: "lb1", addr: "127.0.0.1:{port}"), (name: "lb2", addr: "127.0.0.2:{port}")]),
          (name: "unused", peers: [(name: "lb1", addr: "127.0.0.1:{p2}")])],
)"#,
                p1 = port + 1,
                p2 = port + 2,
            )
        };
        let load = |t: String| match hakeeper_common::config::load_str("test.ron", &t) {
            Ok(l) => l.config,
            Err(e) => panic!("test config: {}", e.report()),
        };
        let shared = load(text(", peers: \"lb\""));
        let tags = worker_listeners(&shared);
        let peers: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        assert_eq!(tags.last(), Some(&(ListenerTag::Peers { section: 0 }, peers)));
        assert_eq!(shared_peers(&shared).iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["lb"]);
        let mut l = Listeners::default();
        l.sync(&shared).expect("sync");
        assert!(l.all().iter().any(|(a, _)| *a == peers), "the local peer's address is bound");
        // A reload that keeps the section keeps the very socket.
        let before = l.all().iter().find(|(a, _)| *a == peers).map(|(_, fd)| inode(*fd));
        l.sync(&shared).expect("sync");
        assert_eq!(l.all().iter().find(|(a, _)| *a == peers).map(|(_, fd)| inode(*fd)), before);
        // Without a table naming it, no listener.
        let unshared = load(text(""));
        assert!(!worker_listeners(&unshared).iter().any(|(t, _)| matches!(t, ListenerTag::Peers { .. })));
        l.sync(&unshared).expect("sync");
        assert!(!l.all().iter().any(|(a, _)| *a == peers), "closed when no table shares the section");
    }
}
