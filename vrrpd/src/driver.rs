//! The thin driver around the state machines: one poll loop over the supervisor channel, the
//! link watch and one raw socket per interface, with the machines' deadlines as its timeout.
//! It turns received packets and supervisor messages into events, and actions into adverts,
//! netlink calls, gratuitous ARPs, log lines and `FromVrrp` messages.

use crate::error::VrrpError;
use crate::garp::{self, GarpSocket};
use crate::iface::{self, IfaceInfo};
use crate::instance::Instance;
use crate::linkwatch::LinkWatch;
use crate::packet::ChecksumScope;
use crate::priority::FaultCause;
use crate::rawsock::VrrpSocketV4;
use crate::state::{Action, Event, State};
use crate::validate::{self, DropCounters, DropReason};
use crate::vip::{AddrControl, Outcome};
use hakeeper_common::config::Vrrp;
use hakeeper_common::ipc::{send, FrameReader, FromVrrp, IpcError, ReadOutcome, ToVrrp, VrrpState};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// vrrpd's entry point: waits for `ToVrrp::Start`, then runs the instances until `Shutdown`
/// (masters release with priority 0 and remove their VIPs) and returns Ok.
pub fn run(channel: OwnedFd) -> Result<(), VrrpError> {
    let mut reader = FrameReader::new();
    let mut early = Vec::new();
    let vrrp = loop {
        let (msg, _fds) = reader.recv_blocking::<ToVrrp>(channel.as_fd()).map_err(|e| match e {
            IpcError::Closed => VrrpError::NoStart,
            e => VrrpError::Ipc(e),
        })?;
        match msg {
            ToVrrp::Start(vrrp) => break vrrp,
            ToVrrp::Shutdown => return Ok(()),
            // Health news that came first still counts once the instances exist.
            other => early.push(other),
        }
    };
    let mut node = Node::new(vrrp, channel, reader)?;
    node.start(early);
    node.serve()
}

/// An interface that carries at least one instance.
struct Iface {
    name: String,
    index: u32,
    mac: [u8; 6],
    primary: Ipv4Addr,
    sock: VrrpSocketV4,
}

struct Node {
    channel: OwnedFd,
    reader: FrameReader,
    vrrp: Vrrp,
    ifaces: Vec<Iface>,
    instances: Vec<Instance>,
    addrs: AddrControl,
    garp_sock: GarpSocket,
    links: LinkWatch,
    /// Drops that belong to no instance (malformed IP, unknown VRID).
    stray: DropCounters,
}

/// Whether the loop goes on.
enum Flow {
    Continue,
    Stop(Result<(), VrrpError>),
}

fn links_up<'a>(snapshot: &HashMap<String, IfaceInfo>, mut names: impl Iterator<Item = &'a str>) -> bool {
    names.all(|n| snapshot.get(n).is_some_and(|i| i.up))
}

impl Node {
    fn new(vrrp: Vrrp, channel: OwnedFd, reader: FrameReader) -> Result<Node, VrrpError> {
        let snapshot = iface::snapshot()?;
        let all_vips: Vec<IpAddr> = vrrp.instances.iter().flat_map(|i| i.vips.iter().map(|v| v.addr)).collect();
        let mut ifaces: Vec<Iface> = Vec::new();
        let mut instances = Vec::new();
        for (id, cfg) in vrrp.instances.iter().enumerate() {
            let k = match ifaces.iter().position(|f| f.name == cfg.interface) {
                Some(k) => k,
                None => {
                    let name = cfg.interface.clone();
                    let err = |reason: &str| VrrpError::Interface { name: name.clone(), reason: reason.to_string() };
                    let info = snapshot.get(&name).filter(|i| i.index != 0).ok_or_else(|| err("no such interface"))?;
                    let mac = info.mac.ok_or_else(|| err("has no MAC address"))?;
                    // The primary address is the first one that is not a VIP (a crashed
                    // vrrpd may have left one behind).
                    let primary =
                        info.v4.iter().copied().find(|a| !all_vips.contains(&IpAddr::V4(*a))).ok_or_else(|| err("has no IPv4 address"))?;
                    let multicast = vrrp.instances.iter().any(|i| i.interface == name && i.unicast_peers.is_empty());
                    let sock = VrrpSocketV4::open(&name, info.index, multicast)?;
                    ifaces.push(Iface { name, index: info.index, mac, primary, sock });
                    ifaces.len() - 1
                }
            };
            let local = match cfg.unicast_src_ip {
                Some(IpAddr::V4(a)) => a,
                Some(IpAddr::V6(_)) => {
                    return Err(VrrpError::Unsupported {
                        instance: cfg.name.clone(),
                        reason: "an IPv6 unicast_src_ip needs IPv6 VIPs".into(),
                    })
                }
                None => ifaces[k].primary,
            };
            instances.push(Instance::new(id, cfg.clone(), k, local, &vrrp.garp)?);
        }
        Ok(Node {
            channel,
            reader,
            addrs: AddrControl::open()?,
            garp_sock: GarpSocket::open()?,
            links: LinkWatch::open()?,
            vrrp,
            ifaces,
            instances,
            stray: DropCounters::default(),
        })
    }

    fn start(&mut self, early: Vec<ToVrrp>) {
        let now = Instant::now();
        for f in &self.ifaces {
            log::info!("VRRP on {} (index {}), primary address {}", f.name, f.index, f.primary);
        }
        let snapshot = iface::snapshot().unwrap_or_default();
        for i in 0..self.instances.len() {
            let up = links_up(&snapshot, self.instances[i].watched_links());
            self.instances[i].links_up = up;
            let actions = self.instances[i].machine.handle(Event::Links { up }, now);
            self.execute(i, actions, now);
        }
        for msg in early {
            // Start and Shutdown never get here.
            let _ = self.supervisor_dispatch(msg);
        }
        for i in 0..self.instances.len() {
            let actions = self.instances[i].machine.handle(Event::Startup, now);
            self.execute(i, actions, now);
        }
    }

    fn serve(&mut self) -> Result<(), VrrpError> {
        let mut buf = vec![0u8; 65536];
        loop {
            let now = Instant::now();
            self.fire_timers(now);
            let timeout = self.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
            let ready = self.wait(timeout)?;
            if ready[0] {
                if let Flow::Stop(result) = self.supervisor_readable() {
                    return result;
                }
            }
            if ready[1] && self.links.drain() {
                self.links_changed();
            }
            for k in 0..self.ifaces.len() {
                if ready[2 + k] {
                    self.receive(k, &mut buf);
                }
            }
        }
    }

    /// Polls channel, link watch and sockets; which of them are readable.
    fn wait(&self, timeout: Option<Duration>) -> Result<Vec<bool>, VrrpError> {
        let mut fds = vec![PollFd::new(self.channel.as_fd(), PollFlags::POLLIN), PollFd::new(self.links.as_fd(), PollFlags::POLLIN)];
        fds.extend(self.ifaces.iter().map(|f| PollFd::new(f.sock.as_fd(), PollFlags::POLLIN)));
        // Round up so a deadline half a millisecond away does not spin.
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(d) => PollTimeout::try_from(d.as_micros().div_ceil(1000).min(60_000) as i32).unwrap_or(PollTimeout::MAX),
        };
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(vec![false; fds.len()]),
            Err(e) => return Err(VrrpError::Poll(e)),
        }
        let readable = PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP;
        Ok(fds.iter().map(|f| f.revents().is_some_and(|r| r.intersects(readable))).collect())
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.instances.iter().flat_map(|i| [i.machine.next_deadline(), i.garp.deadline()]).flatten().min()
    }

    fn fire_timers(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if self.instances[i].machine.next_deadline().is_some_and(|d| d <= now) {
                let actions = self.instances[i].machine.handle(Event::Timer, now);
                self.execute(i, actions, now);
            }
            self.pump_garp(i, now);
        }
    }

    fn supervisor_readable(&mut self) -> Flow {
        match self.reader.read_from(self.channel.as_fd()) {
            Ok(ReadOutcome::Data) | Ok(ReadOutcome::WouldBlock) => {}
            Err(IpcError::Closed) => {
                log::error!("the supervisor closed the channel: releasing every VIP");
                self.shutdown();
                return Flow::Stop(Err(VrrpError::SupervisorGone));
            }
            Err(e) => return Flow::Stop(Err(e.into())),
        }
        loop {
            match self.reader.next::<ToVrrp>() {
                Ok(Some((msg, _fds))) => {
                    if let Flow::Stop(r) = self.supervisor_dispatch(msg) {
                        return Flow::Stop(r);
                    }
                }
                Ok(None) => return Flow::Continue,
                Err(e) => return Flow::Stop(Err(e.into())),
            }
        }
    }

    /// Messages from the supervisor (script states come from the checker through it).
    fn supervisor_dispatch(&mut self, msg: ToVrrp) -> Flow {
        let now = Instant::now();
        let event = match msg {
            ToVrrp::Start(vrrp) => {
                if vrrp != self.vrrp {
                    log::warn!("a changed VRRP config needs a vrrpd restart; keeping the running one");
                }
                return Flow::Continue;
            }
            ToVrrp::Shutdown => {
                log::info!("shutting down: releasing every VIP");
                self.shutdown();
                return Flow::Stop(Ok(()));
            }
            ToVrrp::ScriptState { script, ok } => {
                let name = self.vrrp.scripts.get(script).map(|s| s.name.as_str()).unwrap_or("?");
                log::info!("VRRP_Script({name}) {}", if ok { "succeeded" } else { "failed" });
                Event::Script { script, ok }
            }
            ToVrrp::ProxyHealth { up } => {
                log::info!("the local proxy is {}", if up { "up" } else { "down" });
                Event::Proxy { up }
            }
        };
        for i in 0..self.instances.len() {
            let actions = self.instances[i].machine.handle(event.clone(), now);
            self.execute(i, actions, now);
        }
        Flow::Continue
    }

    fn shutdown(&mut self) {
        let now = Instant::now();
        for i in 0..self.instances.len() {
            let actions = self.instances[i].machine.handle(Event::Shutdown, now);
            self.execute(i, actions, now);
        }
    }

    fn links_changed(&mut self) {
        let snapshot = match iface::snapshot() {
            Ok(s) => s,
            Err(e) => {
                log::warn!("cannot re-read link states: {e}");
                return;
            }
        };
        let now = Instant::now();
        for i in 0..self.instances.len() {
            let up = links_up(&snapshot, self.instances[i].watched_links());
            if up != self.instances[i].links_up {
                self.instances[i].links_up = up;
                log::info!("{} tracked links are {}", self.instances[i].tag(), if up { "up" } else { "down" });
                let actions = self.instances[i].machine.handle(Event::Links { up }, now);
                self.execute(i, actions, now);
            }
        }
    }

    /// Drains one interface's socket, validating each advert before its instance sees it.
    fn receive(&mut self, k: usize, buf: &mut [u8]) {
        loop {
            let n = match self.ifaces[k].sock.recv(buf) {
                Ok(Some(n)) => n,
                Ok(None) => return,
                Err(e) => {
                    log::warn!("receive error on {}: {e}", self.ifaces[k].name);
                    return;
                }
            };
            let now = Instant::now();
            let pkt = match validate::parse_ipv4(&buf[..n]) {
                Ok(p) => p,
                Err(rej) => {
                    if self.stray.count(rej.reason, now) {
                        log::warn!("dropped a packet on {}: {} ({})", self.ifaces[k].name, rej.reason, rej.detail);
                    }
                    continue;
                }
            };
            let vrid = validate::peek_vrid(pkt.payload);
            let Some(i) = self.instances.iter().position(|inst| inst.iface == k && Some(inst.cfg.vrid) == vrid) else {
                self.stray.count(DropReason::UnknownVrid, now);
                continue;
            };
            let inst = &mut self.instances[i];
            if pkt.src == IpAddr::V4(inst.local) || pkt.src == IpAddr::V4(self.ifaces[k].primary) {
                inst.drops.count(DropReason::Own, now);
                continue;
            }
            match validate::check(&pkt, &inst.expect) {
                Ok(adv) => {
                    let actions = inst.machine.handle(Event::Advert(adv), now);
                    self.execute(i, actions, now);
                }
                Err(rej) => {
                    if inst.drops.count(rej.reason, now) {
                        log::warn!(
                            "{} dropped an advert from {}: {} ({}); {} dropped for this reason so far",
                            inst.tag(),
                            pkt.src,
                            rej.reason,
                            rej.detail,
                            inst.drops.get(rej.reason)
                        );
                    }
                }
            }
        }
    }

    fn execute(&mut self, i: usize, actions: Vec<Action>, now: Instant) {
        for action in actions {
            match action {
                Action::Transition { to, priority, cause } => self.transition(i, to, priority, cause),
                Action::Advertise { priority } => self.advertise(i, priority),
                Action::AddVips => self.set_vips(i, true),
                Action::RemoveVips => {
                    self.instances[i].garp.cancel();
                    self.set_vips(i, false);
                }
                Action::Garp { count } => {
                    self.instances[i].garp.schedule(count, now);
                    self.pump_garp(i, now);
                }
            }
        }
    }

    fn transition(&mut self, i: usize, to: State, priority: u8, cause: Option<FaultCause>) {
        let inst = &self.instances[i];
        let why = match cause {
            Some(FaultCause::Script(s)) => {
                format!(" (script {} failed)", self.vrrp.scripts.get(s).map(|s| s.name.as_str()).unwrap_or("?"))
            }
            Some(FaultCause::ProxyDown) => " (the local proxy is down)".to_string(),
            Some(FaultCause::LinkDown) => " (a tracked link is down)".to_string(),
            None => String::new(),
        };
        log::info!("{} Entering {to} STATE, priority {priority}{why}", inst.tag());
        let state = match to {
            State::Init => VrrpState::Init,
            State::Backup => VrrpState::Backup,
            State::Master => VrrpState::Master,
            State::Fault => VrrpState::Fault,
            // The process is about to exit; the supervisor sees that.
            State::Stopped => return,
        };
        let msg = FromVrrp::InstanceState { instance: inst.id, state, priority };
        if let Err(e) = send(self.channel.as_fd(), &msg, &[]) {
            log::warn!("cannot tell the supervisor about {}: {e}", inst.tag());
        }
    }

    fn advertise(&mut self, i: usize, priority: u8) {
        let inst = &self.instances[i];
        let iface = &self.ifaces[inst.iface];
        let advert = inst.advert(priority);
        for dst in inst.destinations() {
            let sent = advert
                .encode(ChecksumScope::V4 { src: inst.local, dst })
                .map_err(|e| e.to_string())
                .and_then(|bytes| iface.sock.send(inst.local, dst, &bytes).map_err(|e| e.to_string()));
            if let Err(e) = sent {
                log::warn!("{} cannot send an advert to {dst} on {}: {e}", inst.tag(), iface.name);
            }
        }
        if priority == 0 {
            log::info!("{} sent 0 priority", inst.tag());
        }
    }

    fn set_vips(&mut self, i: usize, add: bool) {
        let inst = &self.instances[i];
        let index = self.ifaces[inst.iface].index;
        log::info!("{} {} protocol VIPs.", inst.tag(), if add { "setting" } else { "removing" });
        for vip in &inst.cfg.vips {
            let result = if add { self.addrs.add(index, vip) } else { self.addrs.remove(index, vip) };
            match result {
                Ok(Outcome::Done) => {
                    log::debug!("{} {} {}/{}", inst.tag(), if add { "added" } else { "removed" }, vip.addr, vip.prefix_len)
                }
                Ok(Outcome::Unchanged) => {}
                Err(e) => log::error!("{} {e}", inst.tag()),
            }
        }
    }

    fn pump_garp(&mut self, i: usize, now: Instant) {
        let rounds = self.instances[i].garp.due(now, self.vrrp.garp.interval);
        if rounds == 0 {
            return;
        }
        let inst = &self.instances[i];
        let iface = &self.ifaces[inst.iface];
        for vip in &inst.cfg.vips {
            let IpAddr::V4(ip) = vip.addr else { continue };
            log::info!("{} Sending {rounds} gratuitous ARP(s) on {} for {ip}", inst.tag(), iface.name);
            let frame = garp::announcement(iface.mac, ip);
            for _ in 0..rounds {
                if let Err(e) = self.garp_sock.send(iface.index, &frame) {
                    log::warn!("{} cannot send a gratuitous ARP on {}: {e}", inst.tag(), iface.name);
                    break;
                }
            }
        }
    }
}
