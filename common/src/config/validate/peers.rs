//! `peers` sections and `global.localpeer` (HAProxy's `peers NAME` / `peer NAME ADDR:PORT` and
//! `localpeer`, `cfg_parse_peers()` in HAProxy 2.6's `src/cfgparse.c`).
//!
//! As HAProxy: a peer name appears once per section; the peer named like this host (its
//! `localpeer`, else its host name) is this host, and a section without it is dropped with a
//! warning ("Removing incomplete section 'peers P' (no peer named 'lb3')"), so that one file
//! can serve every host. Stricter than HAProxy on purpose: addresses are IP:PORT literals (no
//! name resolution at start-up) and port 0 is refused; names may not hold white space or
//! control characters, since they travel in the protocol's handshake lines.

use super::Checker;
use crate::config::model::{Peer, PeersSection};
use crate::config::raw::RawConfig;
use std::collections::HashMap;
use std::net::SocketAddr;

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && !name.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

/// This host's peer name: `global.localpeer`, else the host name.
fn local_name(c: &mut Checker, raw: &RawConfig, hostname: &str) -> String {
    match &raw.global.localpeer {
        Some(name) => {
            if !valid_name(name) {
                c.error("global.localpeer", format!("invalid peer name {name:?}: 1 to 64 characters, no spaces or control characters"));
            }
            name.clone()
        }
        None => hostname.to_string(),
    }
}

pub(super) fn peers(c: &mut Checker, raw: &RawConfig, hostname: &str) -> Vec<PeersSection> {
    if raw.peers.is_empty() {
        return Vec::new();
    }
    let local_name = local_name(c, raw, hostname);
    let mut sections = Vec::new();
    let mut section_names: HashMap<&str, usize> = HashMap::new();
    let mut listeners: HashMap<SocketAddr, String> = HashMap::new();
    for (i, section) in raw.peers.iter().enumerate() {
        let path = format!("peers[{i}]");
        if !valid_name(&section.name) {
            c.error(format!("{path}.name"), format!("invalid peers section name {:?}", section.name));
        } else if let Some(prev) = section_names.insert(&section.name, i) {
            c.error(format!("{path}.name"), format!("peers section {:?} is already defined at peers[{prev}]", section.name));
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut local = None;
        let mut remotes = Vec::new();
        for (j, peer) in section.peers.iter().enumerate() {
            let ppath = format!("{path}.peers[{j}]");
            if !valid_name(&peer.name) {
                c.error(
                    format!("{ppath}.name"),
                    format!("invalid peer name {:?}: 1 to 64 characters, no spaces or control characters", peer.name),
                );
            } else if let Some(prev) = names.insert(&peer.name, j) {
                c.error(format!("{ppath}.name"), format!("peer {:?} is already defined at {path}.peers[{prev}]", peer.name));
            }
            let addr = match peer.addr.parse::<SocketAddr>() {
                Ok(a) if a.port() != 0 => a,
                Ok(_) => {
                    c.error(format!("{ppath}.addr"), format!("peer address {:?} needs a port other than 0", peer.addr));
                    continue;
                }
                Err(_) => {
                    c.error(format!("{ppath}.addr"), format!("invalid peer address {:?}: expected IP:PORT", peer.addr));
                    continue;
                }
            };
            let p = Peer { name: peer.name.clone(), addr };
            if peer.name == local_name {
                if let Some(prev) = listeners.insert(addr, format!("{ppath}.addr")) {
                    c.error(format!("{ppath}.addr"), format!("peers listener address {addr} is already used by {prev}"));
                }
                local = Some(p);
            } else {
                remotes.push(p);
            }
        }
        match local {
            Some(local) => sections.push(PeersSection { name: section.name.clone(), local, remotes }),
            None => c.warn(
                &path,
                format!("removing incomplete section 'peers {}' (no peer named {local_name:?}, this host's peer name)", section.name),
            ),
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use crate::config::raw::{RawConfig, RawPeer, RawPeers};
    use crate::config::validate::{validate, Finding};

    fn raw(localpeer: Option<&str>, sections: &[(&str, &[(&str, &str)])]) -> RawConfig {
        let mut r = RawConfig::default();
        r.global.localpeer = localpeer.map(str::to_string);
        r.peers = sections
            .iter()
            .map(|(name, peers)| RawPeers {
                name: name.to_string(),
                peers: peers.iter().map(|(n, a)| RawPeer { name: n.to_string(), addr: a.to_string() }).collect(),
            })
            .collect();
        r
    }

    fn errors(r: &RawConfig) -> Vec<Finding> {
        match validate(r, "t.ron".into(), "testhost") {
            Ok(_) => Vec::new(),
            Err((e, _)) => e,
        }
    }

    #[test]
    fn local_peer_is_split_from_the_remotes() {
        let r = raw(Some("lb1"), &[("lb", &[("lb1", "192.0.2.1:10000"), ("lb2", "192.0.2.2:10000"), ("hap", "[2001:db8::3]:10000")])]);
        let v = validate(&r, "t.ron".into(), "testhost").unwrap_or_else(|(e, _)| panic!("{e:?}"));
        let s = &v.config.peers[0];
        assert_eq!(s.local.name, "lb1");
        assert_eq!(s.local.addr, "192.0.2.1:10000".parse().expect("addr"));
        assert_eq!(s.remotes.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["lb2", "hap"]);
    }

    #[test]
    fn section_without_this_host_is_dropped_with_a_warning() {
        let r = raw(Some("lb9"), &[("lb", &[("lb1", "192.0.2.1:10000")])]);
        let v = validate(&r, "t.ron".into(), "testhost").unwrap_or_else(|(e, _)| panic!("{e:?}"));
        assert!(v.config.peers.is_empty());
        assert!(v.warnings.iter().any(|w| w.path == "peers[0]" && w.message.contains("no peer named \"lb9\"")), "{:?}", v.warnings);
    }

    #[test]
    fn bad_sections_name_the_field() {
        for (r, path, needle) in [
            (raw(Some("a"), &[("p", &[("a", "192.0.2.1:1"), ("a", "192.0.2.2:1")])]), "peers[0].peers[1].name", "already defined"),
            (raw(Some("a"), &[("p", &[("a", "192.0.2.1")])]), "peers[0].peers[0].addr", "expected IP:PORT"),
            (raw(Some("a"), &[("p", &[("a", "peerhost:10000")])]), "peers[0].peers[0].addr", "expected IP:PORT"),
            (raw(Some("a"), &[("p", &[("a", "192.0.2.1:0")])]), "peers[0].peers[0].addr", "port other than 0"),
            (raw(Some("a"), &[("p", &[("a b", "192.0.2.1:1")])]), "peers[0].peers[0].name", "invalid peer name"),
            (raw(Some("a"), &[("p", &[("a", "192.0.2.1:1")]), ("p", &[("a", "192.0.2.1:2")])]), "peers[1].name", "already defined"),
            (raw(Some("a"), &[("p", &[("a", "192.0.2.1:1")]), ("q", &[("a", "192.0.2.1:1")])]), "peers[1].peers[0].addr", "already used"),
            (raw(Some(""), &[("p", &[("a", "192.0.2.1:1")])]), "global.localpeer", "invalid peer name"),
        ] {
            let e = errors(&r);
            assert!(e.iter().any(|f| f.path == path && f.message.contains(needle)), "{path}: {e:?}");
        }
    }
}

#[cfg(test)]
mod file_tests {
    use crate::config::load_str;

    #[test]
    fn errors_carry_file_line_and_column() {
        let text = "(\n  global: (localpeer: \"lb1\"),\n  peers: [(name: \"lb\", peers: [\n    (name: \"lb1\", addr: \"192.0.2.1:10000\"),\n    (name: \"lb2\", addr: \"lb2.example:10000\"),\n  ])],\n)\n";
        let err = match load_str("hakeeper.ron", text) {
            Ok(_) => panic!("a host name as peer address must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("hakeeper.ron:5:") && err.contains("peers[0].peers[1].addr"), "{err}");
    }

    fn config(bind: &str, table_peers: &str) -> String {
        format!(
            r#"(
  global: (localpeer: "lb1"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "web", bind: ["{bind}"], servers: [(name: "s1", addr: "127.0.0.1:9")],
            stick_table: (key: ip, size: 10, expire: "1m", peers: "{table_peers}"))],
  peers: [(name: "lb", peers: [
    (name: "lb1", addr: "127.0.0.1:10000"),
    (name: "lb2", addr: "127.0.0.2:10000"),
  ])],
)
"#
        )
    }

    #[test]
    fn a_peers_listener_on_a_proxy_address_names_the_field() {
        let err = match load_str("hakeeper.ron", &config("127.0.0.1:10000", "lb")) {
            Ok(_) => panic!("a peers bind on a proxy bind must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("hakeeper.ron:") && err.contains("peers[0].peers[0].addr") && err.contains("already bound by listen[0].bind[0]"),
            "{err}"
        );
        assert!(load_str("hakeeper.ron", &config("127.0.0.1:10001", "lb")).is_ok());
    }

    #[test]
    fn a_table_naming_no_peers_section_is_refused() {
        let err = match load_str("hakeeper.ron", &config("127.0.0.1:10001", "nope")) {
            Ok(_) => panic!("an unknown peers section must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("listen[0].stick_table.peers") && err.contains("no peers section named \"nope\""), "{err}");
    }
}
