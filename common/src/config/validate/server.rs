//! A backend's `servers`: unique names and ids, address, weight, health-check settings, TLS
//! ([`super::server_tls`]), connection pool and PROXY protocol.

use super::{parse_server_addr, server_tls, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub(super) fn servers(c: &mut Checker, path: &str, p: &RawProxy, mode: Mode) -> Vec<Server> {
    let mut servers = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ids: HashMap<u32, usize> = HashMap::new();
    for (i, s) in p.servers.iter().enumerate() {
        let sp = format!("{path}.servers[{i}]");
        if s.name.is_empty() {
            c.error(format!("{sp}.name"), "a server needs a name");
        } else if let Some(prev) = names.insert(&s.name, i) {
            c.error(format!("{sp}.name"), format!("duplicate server name {:?} (also servers[{prev}])", s.name));
        }
        let addr = match parse_server_addr(&s.addr) {
            Ok(a) => a,
            Err(e) => {
                c.error(format!("{sp}.addr"), e);
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1)
            }
        };
        let id = s.id.unwrap_or(i as u32 + 1);
        if id == 0 {
            c.error(format!("{sp}.id"), "server ids start at 1");
        } else if let Some(prev) = ids.insert(id, i) {
            c.error(format!("{sp}.id"), format!("duplicate server id {id} (also servers[{prev}])"));
        }
        servers.push(server(c, &sp, s, id, addr, p.lvs.is_some(), mode));
    }
    servers
}

/// One server, once its name, address and id are known.
fn server(c: &mut Checker, sp: &str, s: &RawServer, id: u32, addr: SocketAddr, lvs: bool, mode: Mode) -> Server {
    let weight = s.weight.unwrap_or(1);
    if weight > 256 {
        c.error(format!("{sp}.weight"), format!("weight {weight} out of range 0..256"));
    }
    let check = s.check.as_ref().map(|k| check(c, sp, k, addr));
    if s.mac.is_some() && !lvs {
        c.error(format!("{sp}.mac"), "`mac` is for the real servers of an LVS virtual server (lvs kind dr)");
    }
    let tls = server_tls::server_tls(c, sp, s, mode, check.as_ref().map(|k| k.port), addr.port());
    let proxy_v2 = proxy_v2_options(c, sp, s);
    Server {
        name: s.name.clone(),
        id,
        addr,
        weight: weight.min(256),
        maxconn: s.maxconn.unwrap_or(0),
        backup: s.backup,
        disabled: s.disabled,
        cookie: s.cookie.clone(),
        check,
        pool: ServerPool {
            max_conn: s.pool_max_conn,
            purge_delay: c.duration(&format!("{sp}.pool_purge_delay"), s.pool_purge_delay.as_ref(), Duration::from_secs(5)),
            low_conn: s.pool_low_conn.unwrap_or(0),
            max_reuse: s.max_reuse,
        },
        send_proxy: s.send_proxy.map(|v| match v {
            RawProxyVersion::V1 => crate::proxy_protocol::Version::V1,
            RawProxyVersion::V2 => crate::proxy_protocol::Version::V2,
        }),
        check_send_proxy: s.check_send_proxy,
        proxy_v2,
        tls: tls.settings,
        check_tls: tls.check,
    }
}

/// A server's `check`: HAProxy's `inter`, `fastinter`, `downinter`, `rise`, `fall`, `port`.
fn check(c: &mut Checker, sp: &str, k: &RawCheck, addr: SocketAddr) -> Check {
    let inter = c.duration(&format!("{sp}.check.inter"), k.inter.as_ref(), Duration::from_secs(2));
    let rise = k.rise.unwrap_or(2);
    let fall = k.fall.unwrap_or(3);
    if rise == 0 {
        c.error(format!("{sp}.check.rise"), "rise must be at least 1");
    }
    if fall == 0 {
        c.error(format!("{sp}.check.fall"), "fall must be at least 1");
    }
    if inter.is_zero() {
        c.error(format!("{sp}.check.inter"), "inter must be more than 0");
    }
    Check {
        inter,
        fastinter: c.duration(&format!("{sp}.check.fastinter"), k.fastinter.as_ref(), inter),
        downinter: c.duration(&format!("{sp}.check.downinter"), k.downinter.as_ref(), inter),
        rise: rise.max(1),
        fall: fall.max(1),
        port: k.port.unwrap_or(addr.port()),
        initial_up: k.initial != Some(RawInitialHealth::Down),
    }
}

/// `proxy_v2_options` of server `sp`: the TLVs only a version 2 header can carry.
fn proxy_v2_options(c: &mut Checker, sp: &str, s: &RawServer) -> crate::proxy_protocol::V2Options {
    let mut o = crate::proxy_protocol::V2Options::default();
    if s.proxy_v2_options.is_empty() {
        return o;
    }
    // HAProxy ignores the options without `send-proxy-v2`; said here, since nothing would
    // carry them.
    if s.send_proxy != Some(RawProxyVersion::V2) {
        c.error(format!("{sp}.proxy_v2_options"), "the TLVs are sent only in a version 2 header: set `send_proxy: v2`");
    }
    for opt in &s.proxy_v2_options {
        match opt {
            RawProxyV2Option::Ssl => o.ssl = true,
            RawProxyV2Option::CertCn => o.cert_cn = true,
            RawProxyV2Option::SslCipher => o.ssl_cipher = true,
            RawProxyV2Option::CertSig => o.cert_sig = true,
            RawProxyV2Option::CertKey => o.cert_key = true,
            RawProxyV2Option::Authority => o.authority = true,
            RawProxyV2Option::Crc32c => o.crc32c = true,
        }
    }
    o
}
