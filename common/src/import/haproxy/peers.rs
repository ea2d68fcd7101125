//! `peers NAME` sections → `peers`. HAProxy 2.6 accepts two forms (`cfg_parse_peers()`):
//! `peer NAME ADDR:PORT` lines (the one named like the host, or `localpeer`, is the host), and
//! since 2.0 `bind ADDR:PORT` plus `server NAME [ADDR:PORT]` lines, where the server without an
//! address is the host and listens on the bind address. Both become `(name, addr)` peers.
//! Addresses must be IP:PORT literals in hakeeper; others are reported and left out, as are the
//! section's other keywords (`table`, `disabled`, `log`, `shards`, peer parameters).

use super::section::directive;
use super::Ctx;
use crate::config::raw::{RawPeer, RawPeers};
use std::net::SocketAddr;

#[derive(Debug, Default)]
pub struct PeersSection {
    pub raw: RawPeers,
    /// `bind ADDR:PORT` (the second form), for the address-less `server` line.
    bind: Option<String>,
    /// The address-less `server NAME` line, resolved at the end.
    local_server: Option<(String, usize)>,
}

impl PeersSection {
    pub fn new(name: &str) -> Self {
        PeersSection { raw: RawPeers { name: name.to_string(), peers: Vec::new() }, ..Default::default() }
    }

    /// The section as hakeeper reads it, once all its lines are seen.
    pub fn finish(mut self, ctx: &mut Ctx) -> RawPeers {
        if let Some((name, n)) = self.local_server.take() {
            match self.bind.take() {
                Some(addr) => self.raw.peers.push(RawPeer { name, addr }),
                None => ctx.notes.untranslated(
                    &ctx.file,
                    n,
                    format!("`server {name}` without an address and no `bind` in peers {}; not translated", self.raw.name),
                ),
            }
        }
        self.raw
    }
}

fn address(ctx: &mut Ctx, n: usize, what: &str, addr: &str) -> Option<String> {
    match addr.parse::<SocketAddr>() {
        Ok(a) if a.port() != 0 => Some(a.to_string()),
        _ => {
            ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`{what}`: hakeeper needs an IP:PORT address (no names, no port 0); not translated"),
            );
            None
        }
    }
}

/// A line inside `peers NAME`.
pub fn keyword(ctx: &mut Ctx, s: &mut PeersSection, n: usize, words: &[String]) {
    let what = directive(words);
    let extra = |ctx: &mut Ctx, rest: &[String]| {
        if !rest.is_empty() {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: peer parameters `{}` not translated", directive(rest)));
        }
    };
    match words {
        [kw, name, addr, rest @ ..] if kw == "peer" || kw == "server" => {
            if let Some(addr) = address(ctx, n, &what, addr) {
                s.raw.peers.push(RawPeer { name: name.clone(), addr });
            }
            extra(ctx, rest);
        }
        [kw, name] if kw == "server" => s.local_server = Some((name.clone(), n)),
        [kw, addr, rest @ ..] if kw == "bind" => {
            s.bind = address(ctx, n, &what, addr);
            extra(ctx, rest);
        }
        // The section is on by default; `enabled` says so.
        [kw] if kw == "enabled" => {}
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` (in peers {}) not translated", s.raw.name)),
    }
}
