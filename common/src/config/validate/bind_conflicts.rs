//! Addresses bound twice across frontends, listens, LVS virtual servers and the stats page.

use super::Checker;
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashMap;
use std::net::SocketAddr;

pub(super) fn check_bind_conflicts(
    c: &mut Checker,
    raw: &RawConfig,
    frontends: &[Frontend],
    lvs: &[LvsService],
    stats: Option<&Stats>,
    peers: &[PeersSection],
) {
    let mut seen: HashMap<SocketAddr, String> = HashMap::new();
    // An LVS VIP:PORT takes the port's packets before any local socket could see them.
    let lvs_paths = raw.listen.iter().enumerate().filter(|(_, p)| p.lvs.is_some()).map(|(i, _)| format!("listen[{i}]"));
    for (s, path) in lvs.iter().zip(lvs_paths) {
        if let Some(prev) = seen.insert(s.vip, format!("{path}.bind[0]")) {
            c.error(format!("{path}.bind[0]"), format!("address {} is already bound by {prev}", s.vip));
        }
    }
    let paths = raw
        .listen
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lvs.is_none())
        .map(|(i, _)| format!("listen[{i}]"))
        .chain(raw.frontend.iter().enumerate().map(|(i, _)| format!("frontend[{i}]")));
    for (fe, path) in frontends.iter().zip(paths) {
        for (i, addr) in fe.binds.iter().enumerate() {
            if let Some(prev) = seen.insert(*addr, format!("{path}.bind[{i}]")) {
                c.error(format!("{path}.bind[{i}]"), format!("address {addr} is already bound by {prev}"));
            }
        }
    }
    if let Some(s) = stats {
        if let Some(prev) = seen.insert(s.bind, "stats.bind".into()) {
            c.error("stats.bind", format!("address {} is already bound by {prev}", s.bind));
        }
    }
    // The local peer's listener (HAProxy refuses a peers bind on a proxy's address at start-up:
    // "cannot bind socket"; here it is a config error that names the field).
    for p in peers {
        let Some(i) = raw.peers.iter().position(|r| r.name == p.name) else { continue };
        let Some(j) = raw.peers[i].peers.iter().position(|r| r.name == p.local.name) else { continue };
        let path = format!("peers[{i}].peers[{j}].addr");
        if let Some(prev) = seen.get(&p.local.addr) {
            c.error(&path, format!("peers listener address {} is already bound by {prev}", p.local.addr));
        }
    }
}
