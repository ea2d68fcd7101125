//! Warnings for configs that are valid but probably not what was meant, shared with
//! `hakeeper import`'s lints: two servers of one backend at the same address.
//! (A `cookie` whose servers have no `cookie` value is warned about with the other L7 checks.)

use super::{parse_server_addr, Checker, Section};
use crate::config::raw::RawConfig;
use std::collections::HashMap;
use std::net::SocketAddr;

pub(super) fn lint(c: &mut Checker, raw: &RawConfig) {
    let sections = raw
        .listen
        .iter()
        .enumerate()
        .map(|(i, p)| (Section::Listen, i, p))
        .chain(raw.backend.iter().enumerate().map(|(i, p)| (Section::Backend, i, p)));
    for (section, i, p) in sections {
        let mut seen: HashMap<SocketAddr, &str> = HashMap::new();
        for (j, s) in p.servers.iter().enumerate() {
            // A bad address is an error reported by the backend checks.
            let Ok(addr) = parse_server_addr(&s.addr) else { continue };
            if let Some(prev) = seen.insert(addr, &s.name) {
                c.warn(
                    format!("{}[{i}].servers[{j}].addr", section.key()),
                    format!("servers {prev} and {} share the address {addr}: they are one server counted twice", s.name),
                );
            }
        }
    }
}
