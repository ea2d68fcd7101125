//! The services and their membership → the nftables state hakeeper owns, as one transaction.
//!
//! NAT (IPVS `lb_kind NAT`, ip_vs_nat_xmit): table `ip hakeeper_lvs`; a `prerouting` nat chain
//! sends new connections to the VIP:PORT through the scheduler (`numgen inc` for rr/wrr over
//! a slot ring, `jhash ip saddr` with a fixed seed for sh) to a DNAT; conntrack keeps each
//! connection on its server afterwards. Persistence (IPVS templates): a timeout map from the
//! masked source to the server chosen, written after the DNAT (filter `prerouting`) on each new
//! connection, read before the scheduler. Per-real-server counters in `forward`.
//!
//! DR (ip_vs_dr_xmit): table `netdev hakeeper_lvs_dr_IFACE`, hooked at the interface's ingress:
//! the destination MAC becomes the real server's, the source MAC the interface's, and the frame
//! goes back out (`fwd`). There is no conntrack there, so a flow map (source address and port
//! → MAC, IPVS' TCP established timeout) keeps each connection on its server.
//!
//! Weights: a slot ring where each server appears `weight` times (rr: once), spread as IPVS
//! wrr spreads them (smooth interleaving); weight 0 (and `inhibit_on_failure` on a DOWN server)
//! takes no new clients but keeps persistent ones. With quorum lost and a `sorry_server`, the
//! sorry server alone takes new connections (keepalived's `update_quorum_state`).

use super::membership::{Membership, ServerState, ServiceMembership};
use hakeeper_common::config::model::{LvsKind, LvsProtocol, LvsScheduler, LvsService};
use std::collections::HashMap;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The NAT table's name (family `ip`).
pub const NAT_TABLE: &str = "hakeeper_lvs";
/// DR tables are this prefix and the interface name (family `netdev`).
pub const DR_TABLE_PREFIX: &str = "hakeeper_lvs_dr_";
/// `sh`'s hash seed: fixed, so that a source keeps its server across reloads and on every
/// load balancer of the pair (nft would pick a random one).
pub const JHASH_SEED: u32 = 0x686b_6c76;
/// IPVS' timeouts for a connection's state (`ipvsadm --set`): TCP established, UDP.
const DR_FLOW_TIMEOUT_TCP: u64 = 900;
const DR_FLOW_TIMEOUT_UDP: u64 = 300;

/// A table hakeeper owns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnedTable {
    /// `ip` or `netdev`.
    pub family: String,
    pub name: String,
}

impl OwnedTable {
    pub fn is_owned(family: &str, name: &str) -> bool {
        (family == "ip" && name == NAT_TABLE) || (family == "netdev" && name.starts_with(DR_TABLE_PREFIX))
    }
}

/// Which named counter counts which real server (or the sorry server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRef {
    pub table: OwnedTable,
    pub counter: String,
    pub service: String,
    /// The real server's name, or `sorry_server`.
    pub server: String,
}

/// A dynamic map whose entries survive the recreation of its table: those whose value (as
/// nft prints it: `192.0.2.11 . 80`, `02:00:00:00:00:0b`) is still allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapCarry {
    pub table: OwnedTable,
    pub map: String,
    pub allowed: Vec<String>,
}

/// An entry read from a dynamic map: key, value (nft's text), seconds left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub key: String,
    pub value: String,
    pub expires: u64,
}

/// What the tables held before a change: counters, (table, counter) → (packets, bytes);
/// dynamic map entries, (table, map) → entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    pub counters: HashMap<(OwnedTable, String), (u64, u64)>,
    pub entries: HashMap<(OwnedTable, String), Vec<MapEntry>>,
}

/// One table's definition; its named counters are declared by [`Transaction::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableScript {
    pub table: OwnedTable,
    pub body: String,
}

/// The whole hakeeper-owned state, applied by one `nft -f` (one atomic commit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    pub tables: Vec<TableScript>,
    pub counters: Vec<CounterRef>,
    /// Dynamic maps (persistence, DR flows) whose entries outlive a change of membership.
    pub carries: Vec<MapCarry>,
    /// What was left out and why (a DR real server whose MAC is unknown).
    pub notes: Vec<String>,
}

impl Transaction {
    /// The nft script: every owned table present now (`existing`) or to be created is deleted,
    /// then the new ones are created with their counters (carried values kept), all in one
    /// transaction. `add table` before `delete table` makes the delete valid whether or not
    /// the table exists.
    pub fn render(&self, existing: &[OwnedTable], carried: &Carried) -> String {
        let mut out = String::new();
        let mut doomed: Vec<&OwnedTable> = existing.iter().filter(|t| OwnedTable::is_owned(&t.family, &t.name)).collect();
        doomed.extend(self.tables.iter().map(|t| &t.table));
        doomed.sort();
        doomed.dedup();
        for t in doomed {
            let _ = writeln!(out, "add table {} {}\ndelete table {} {}", t.family, t.name, t.family, t.name);
        }
        for t in &self.tables {
            let _ = writeln!(out, "table {} {} {{", t.table.family, t.table.name);
            for c in self.counters.iter().filter(|c| c.table == t.table) {
                let (p, b) = carried.counters.get(&(c.table.clone(), c.counter.clone())).copied().unwrap_or((0, 0));
                let _ = writeln!(out, "  counter {} {{ packets {p} bytes {b} }}", c.counter);
            }
            out.push_str(&t.body);
            out.push_str("}\n");
        }
        for c in &self.carries {
            let Some(entries) = carried.entries.get(&(c.table.clone(), c.map.clone())) else { continue };
            let kept: Vec<String> = entries
                .iter()
                .filter(|e| e.expires > 0 && c.allowed.contains(&e.value))
                .map(|e| format!("{} expires {}s : {}", e.key, e.expires, e.value))
                .collect();
            if !kept.is_empty() {
                let _ = writeln!(out, "add element {} {} {} {{ {} }}", c.table.family, c.table.name, c.map, kept.join(", "));
            }
        }
        out
    }
}

/// Where a service's new connections may go.
struct Target {
    addr: SocketAddr,
    /// Appearances in the scheduler's ring.
    slots: u32,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The scheduler's ring: target `i` appears `weights[i]` times (over their gcd), interleaved
/// as smooth weighted round robin does (IPVS wrr's sequence for weights 3,1: a a b a → here
/// a a b a as well, never a run longer than the weights ask).
pub fn slot_ring(weights: &[u32]) -> Vec<usize> {
    let g = weights.iter().copied().filter(|w| *w > 0).fold(0, gcd);
    if g == 0 {
        return Vec::new();
    }
    let w: Vec<i64> = weights.iter().map(|w| i64::from(w / g)).collect();
    let total: i64 = w.iter().sum();
    let mut current = vec![0i64; w.len()];
    let mut ring = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = None;
        for i in 0..w.len() {
            if w[i] == 0 {
                continue;
            }
            current[i] += w[i];
            if best.is_none_or(|b: usize| current[i] > current[b]) {
                best = Some(i);
            }
        }
        let Some(b) = best else { break };
        current[b] -= total;
        ring.push(b);
    }
    ring
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn l4(p: LvsProtocol) -> &'static str {
    match p {
        LvsProtocol::Tcp => "tcp",
        LvsProtocol::Udp => "udp",
    }
}

/// `ip saddr` masked by the persistence granularity.
fn masked_saddr(prefix_len: u8) -> String {
    if prefix_len >= 32 {
        "ip saddr".into()
    } else {
        let mask = Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0));
        format!("ip saddr & {mask}")
    }
}

/// The targets of a service's new connections: the sorry server while quorum is lost (if
/// there is one), else the real servers with their weights (0 for a DOWN one under
/// `inhibit_on_failure`; a DOWN one otherwise is absent).
fn targets(s: &LvsService, m: &ServiceMembership) -> Vec<Target> {
    if let (false, Some(sorry)) = (m.quorum_up, s.sorry_server) {
        return vec![Target { addr: sorry, slots: 1 }];
    }
    let mut out = Vec::new();
    for (ri, r) in s.real_servers.iter().enumerate() {
        let weight = match m.servers.get(ri) {
            Some(ServerState::Up { weight }) => *weight,
            Some(ServerState::Down) if s.inhibit_on_failure => 0,
            Some(ServerState::Down) | None => continue,
        };
        let slots = match s.scheduler {
            // IPVS rr: a weight only says whether the server takes new connections.
            LvsScheduler::Rr => u32::from(weight > 0),
            LvsScheduler::Wrr | LvsScheduler::Sh => weight,
        };
        out.push(Target { addr: r.addr, slots });
    }
    out
}

/// `numgen inc mod N` / `jhash ip saddr mod N seed S` over the ring, as a verdict map to the
/// targets' chains.
fn scheduler_rule(s: &LvsService, si: usize, ring: &[usize], chain: impl Fn(usize) -> String) -> String {
    let pick = match s.scheduler {
        LvsScheduler::Sh => format!("jhash ip saddr mod {} seed 0x{JHASH_SEED:x}", ring.len()),
        LvsScheduler::Rr | LvsScheduler::Wrr => format!("numgen inc mod {}", ring.len()),
    };
    let elements: Vec<String> = ring.iter().enumerate().map(|(slot, t)| format!("{slot} : goto {}", chain(*t))).collect();
    let _ = si;
    format!("    {pick} vmap {{ {} }}\n", elements.join(", "))
}

/// Every target of a service (the real servers and the sorry server), for counters: all are
/// declared whatever their state, so a reader always finds them.
fn counted(s: &LvsService, si: usize) -> Vec<(String, String, SocketAddr)> {
    let mut v: Vec<(String, String, SocketAddr)> =
        s.real_servers.iter().map(|r| (format!("c{si}_{}", sanitize(&r.name)), r.name.clone(), r.addr)).collect();
    if let Some(sorry) = s.sorry_server {
        v.push((format!("c{si}_sorry"), "sorry_server".into(), sorry));
    }
    v
}

/// A DR target's MAC: the real server's configured one, else the neighbour table's.
fn dr_mac(s: &LvsService, addr: SocketAddr, neighbours: &HashMap<Ipv4Addr, [u8; 6]>) -> Option<[u8; 6]> {
    let configured = s.real_servers.iter().find(|r| r.addr == addr).and_then(|r| r.mac);
    configured.or_else(|| v4(addr).and_then(|ip| neighbours.get(&ip).copied()))
}

fn v4(a: SocketAddr) -> Option<Ipv4Addr> {
    match a.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(_) => None,
    }
}

/// The whole owned state for these services and this membership.
pub fn ruleset(services: &[LvsService], m: &Membership) -> Transaction {
    let mut tx = Transaction::default();
    let nat_table = OwnedTable { family: "ip".into(), name: NAT_TABLE.into() };
    let mut nat = NatTable::default();
    let mut dr: Vec<(String, DrTable)> = Vec::new();
    for (si, s) in services.iter().enumerate() {
        if m.standby.contains(&si) {
            continue;
        }
        let Some(sm) = m.services.get(si) else {
            tx.notes.push(format!("{}: no membership given; not programmed", s.name));
            continue;
        };
        match s.kind {
            LvsKind::Nat => {
                nat.service(s, si, sm, &mut tx.carries);
                for (counter, server, _) in counted(s, si) {
                    tx.counters.push(CounterRef { table: nat_table.clone(), counter, service: s.name.clone(), server });
                }
            }
            LvsKind::Dr => {
                let Some(iface) = s.interface.clone().filter(|i| i.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))) else {
                    tx.notes.push(format!("{}: kind dr without a valid interface name; not programmed", s.name));
                    continue;
                };
                let Some(own_mac) = m.interfaces.get(&iface).copied() else {
                    tx.notes.push(format!("{}: the MAC of interface {iface} is unknown; not programmed", s.name));
                    continue;
                };
                let table = OwnedTable { family: "netdev".into(), name: format!("{DR_TABLE_PREFIX}{}", sanitize(&iface)) };
                let pos = match dr.iter().position(|(i, _)| *i == iface) {
                    Some(p) => p,
                    None => {
                        dr.push((iface.clone(), DrTable { own_mac, ..DrTable::default() }));
                        dr.len() - 1
                    }
                };
                let segment = Segment { iface: &iface, table: &table, neighbours: &m.neighbours };
                dr[pos].1.service(s, si, sm, &segment, &mut tx);
                for (counter, server, _) in counted(s, si) {
                    tx.counters.push(CounterRef { table: table.clone(), counter, service: s.name.clone(), server });
                }
            }
            LvsKind::Tun => tx.notes.push(format!("{}: kind tun is not implemented; not programmed", s.name)),
        }
    }
    if !nat.prerouting.is_empty() {
        tx.tables.push(TableScript { table: nat_table, body: nat.body() });
    }
    for (iface, t) in dr {
        let table = OwnedTable { family: "netdev".into(), name: format!("{DR_TABLE_PREFIX}{}", sanitize(&iface)) };
        tx.tables.push(TableScript { table, body: t.body(&iface) });
    }
    tx
}

#[derive(Default)]
struct NatTable {
    maps: String,
    chains: String,
    prerouting: String,
    persist: String,
    count: String,
}

impl NatTable {
    fn service(&mut self, s: &LvsService, si: usize, m: &ServiceMembership, carries: &mut Vec<MapCarry>) {
        let (Some(vip), port, proto) = (v4(s.vip), s.vip.port(), l4(s.protocol)) else { return };
        let targets = targets(s, m);
        let mut svc = String::new();
        if let Some(p) = s.persistence {
            let key = masked_saddr(p.prefix_len);
            let _ = writeln!(
                self.maps,
                "  map persist{si} {{ type ipv4_addr : ipv4_addr . inet_service; flags timeout; timeout {}s; }}",
                p.timeout.as_secs()
            );
            // The server a source went to (the DNAT done), remembered on each new connection.
            let _ = writeln!(
                self.persist,
                "    ct state new ct original ip daddr {vip} meta l4proto {proto} ct original proto-dst {port} update @persist{si} {{ {key} : ip daddr . th dport }}"
            );
            // A remembered source goes back to its server. Only entries naming a server still
            // listed (weight 0 included) are carried into new tables (see `MapCarry`).
            let _ = writeln!(svc, "    meta l4proto {proto} {key} @persist{si} dnat ip addr . port to {key} map @persist{si}");
            carries.push(MapCarry {
                table: OwnedTable { family: "ip".into(), name: NAT_TABLE.into() },
                map: format!("persist{si}"),
                allowed: targets.iter().map(|t| format!("{} . {}", t.addr.ip(), t.addr.port())).collect(),
            });
        }
        let ring: Vec<usize> = {
            let weights: Vec<u32> = targets.iter().map(|t| t.slots).collect();
            slot_ring(&weights)
        };
        for (ti, t) in targets.iter().enumerate() {
            let _ = writeln!(self.chains, "  chain s{si}_t{ti} {{\n    meta l4proto {proto} dnat ip to {}\n  }}", t.addr);
        }
        if !ring.is_empty() {
            svc.push_str(&scheduler_rule(s, si, &ring, |t| format!("s{si}_t{t}")));
        }
        let _ = writeln!(self.chains, "  chain s{si} {{\n{svc}  }}");
        let _ = writeln!(self.prerouting, "    ip daddr {vip} meta l4proto {proto} th dport {port} goto s{si}");
        let counters: Vec<String> = counted(s, si).iter().map(|(c, _, a)| format!("{} . {} : \"{c}\"", a.ip(), a.port())).collect();
        let flow = format!("ct original ip daddr {vip} meta l4proto {proto} ct original proto-dst {port}");
        let map = counters.join(", ");
        let _ = writeln!(self.count, "    {flow} ct direction original counter name ip daddr . th dport map {{ {map} }}");
        let _ = writeln!(self.count, "    {flow} ct direction reply counter name ip saddr . th sport map {{ {map} }}");
    }

    fn body(&self) -> String {
        let mut b = String::new();
        b.push_str(&self.maps);
        b.push_str(&self.chains);
        let _ = writeln!(b, "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{}  }}", self.prerouting);
        if !self.persist.is_empty() {
            let _ =
                writeln!(b, "  chain persist {{\n    type filter hook prerouting priority filter; policy accept;\n{}  }}", self.persist);
        }
        let _ = writeln!(b, "  chain count {{\n    type filter hook forward priority filter; policy accept;\n{}  }}", self.count);
        b
    }
}

/// A DR table's interface, its name, and the MACs of the hosts on it.
struct Segment<'a> {
    iface: &'a str,
    table: &'a OwnedTable,
    neighbours: &'a HashMap<Ipv4Addr, [u8; 6]>,
}

#[derive(Default)]
struct DrTable {
    own_mac: [u8; 6],
    maps: String,
    chains: String,
    ingress: String,
}

impl DrTable {
    /// Adds service `s` to this table; what it leaves out goes to `tx.notes`, its dynamic
    /// maps to `tx.carries`.
    fn service(&mut self, s: &LvsService, si: usize, m: &ServiceMembership, seg: &Segment, tx: &mut Transaction) {
        let Segment { iface, table, neighbours } = *seg;
        let (notes, carries) = (&mut tx.notes, &mut tx.carries);
        let (Some(vip), port, proto) = (v4(s.vip), s.vip.port(), l4(s.protocol)) else { return };
        let mut reachable = Vec::new();
        for t in targets(s, m) {
            match dr_mac(s, t.addr, neighbours) {
                Some(mac) => reachable.push((t, mac)),
                None => notes.push(format!("{}: no MAC known for {} on {iface}; it takes no connections", s.name, t.addr.ip())),
            }
        }
        let targets = reachable;
        let timeout = match s.protocol {
            LvsProtocol::Tcp => DR_FLOW_TIMEOUT_TCP,
            LvsProtocol::Udp => DR_FLOW_TIMEOUT_UDP,
        };
        let _ = writeln!(self.maps, "  map flows{si} {{ type ipv4_addr . inet_service : ether_addr; flags timeout; timeout {timeout}s; }}");
        let persist = s.persistence.map(|p| (masked_saddr(p.prefix_len), p.timeout.as_secs()));
        if let Some((_, t)) = &persist {
            let _ = writeln!(self.maps, "  map persist{si} {{ type ipv4_addr : ether_addr; flags timeout; timeout {t}s; }}");
        }
        // Frames are counted by destination MAC: two addresses of one host share the first's
        // counter (a map takes each key once).
        let mut macs_counted: Vec<[u8; 6]> = Vec::new();
        let mut counters: Vec<String> = Vec::new();
        for (c, _, a) in counted(s, si) {
            if let Some(mac) = dr_mac(s, a, neighbours) {
                if !macs_counted.contains(&mac) {
                    macs_counted.push(mac);
                    counters.push(format!("{} : \"{c}\"", mac_text(mac)));
                }
            }
        }
        let mut out = String::new();
        if !counters.is_empty() {
            let _ = writeln!(out, "    counter name ether daddr map {{ {} }}", counters.join(", "));
        }
        let _ = writeln!(out, "    ether saddr set {} fwd to \"{iface}\"", mac_text(self.own_mac));
        let _ = writeln!(self.chains, "  chain s{si}_out {{\n{out}  }}");
        let remember_persist =
            persist.as_ref().map(|(key, _)| format!(" update @persist{si} {{ {key} : ether daddr }}")).unwrap_or_default();
        for (ti, (_, mac)) in targets.iter().enumerate() {
            let _ = writeln!(
                self.chains,
                "  chain s{si}_t{ti} {{\n    ether daddr set {} update @flows{si} {{ ip saddr . th sport : ether daddr }}{remember_persist} goto s{si}_out\n  }}",
                mac_text(*mac)
            );
        }
        // A flow (and a remembered source) stays on its server; only entries naming a server
        // still listed (weight 0 included) are carried into new tables (see `MapCarry`).
        let known: Vec<String> = targets.iter().map(|(_, mac)| mac_text(*mac)).collect();
        let mut svc = String::new();
        let _ = writeln!(
            svc,
            "    meta l4proto {proto} ip saddr . th sport @flows{si} ether daddr set ip saddr . th sport map @flows{si} update @flows{si} {{ ip saddr . th sport : ether daddr }} goto s{si}_out"
        );
        carries.push(MapCarry { table: table.clone(), map: format!("flows{si}"), allowed: known.clone() });
        if let Some((key, _)) = &persist {
            let _ = writeln!(
                svc,
                "    meta l4proto {proto} {key} @persist{si} ether daddr set {key} map @persist{si} update @flows{si} {{ ip saddr . th sport : ether daddr }}{remember_persist} goto s{si}_out"
            );
            carries.push(MapCarry { table: table.clone(), map: format!("persist{si}"), allowed: known });
        }
        let weights: Vec<u32> = targets.iter().map(|(t, _)| t.slots).collect();
        let ring = slot_ring(&weights);
        if !ring.is_empty() {
            svc.push_str(&scheduler_rule(s, si, &ring, |t| format!("s{si}_t{t}")));
        }
        let _ = writeln!(self.chains, "  chain s{si} {{\n{svc}  }}");
        let _ = writeln!(self.ingress, "    ip daddr {vip} meta l4proto {proto} th dport {port} goto s{si}");
    }

    fn body(&self, iface: &str) -> String {
        let mut b = String::new();
        b.push_str(&self.maps);
        b.push_str(&self.chains);
        let _ = writeln!(
            b,
            "  chain ingress {{\n    type filter hook ingress device \"{iface}\" priority 0; policy accept;\n{}  }}",
            self.ingress
        );
        b
    }
}

#[cfg(test)]
#[path = "ruleset_tests.rs"]
mod tests;
