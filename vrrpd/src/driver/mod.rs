//! The thin driver around the state machines: one poll loop over the supervisor channel, the
//! link watch and one raw socket per interface, with the machines' deadlines as its timeout.
//! It turns received packets and supervisor messages into events, and actions into adverts,
//! netlink calls, gratuitous ARPs, log lines and `FromVrrp` messages. A later `Start` is a
//! reload, applied in place (`reload`).

mod announce;
mod counters;
mod ecmp;
mod lvs;
mod receive;
mod reload;
mod sync_group;

use crate::error::VrrpError;
use crate::garp::GarpSocket;
use crate::iface::{self, IfaceInfo};
use crate::instance::Instance;
use crate::linkwatch::LinkWatch;
use crate::ndisc::NaSocket;
use crate::priority::FaultCause;
use crate::rawsock::VrrpSocketV4;
use crate::rawsock6::VrrpSocketV6;
use crate::state::{Action, Event, State};
use crate::validate::DropCounters;
use crate::vip::{AddrControl, Outcome};
use hakeeper_common::config::{Vrrp, VrrpInstance};
use hakeeper_common::ipc::{send, FrameReader, FromVrrp, InstanceId, IpcError, ReadOutcome, ScriptId, ToVrrp, VrrpState};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};
use sync_group::Group;

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
            ToVrrp::HandOver => {
                // Nothing runs yet: nothing to hand over.
                send(channel.as_fd(), &FromVrrp::HandedOver { instances: Vec::new() }, &[])?;
                return Ok(());
            }
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
    /// Set when an IPv4 instance uses the interface.
    primary: Option<Ipv4Addr>,
    sock4: Option<VrrpSocketV4>,
    /// Whether `sock4` joined 224.0.0.18.
    joined4: bool,
    /// Set when an IPv6 instance uses the interface.
    link_local: Option<Ipv6Addr>,
    sock6: Option<VrrpSocketV6>,
    /// Whether `sock6` joined ff02::12.
    joined6: bool,
}

impl Iface {
    fn owns(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.primary == Some(a),
            IpAddr::V6(a) => self.link_local == Some(a),
        }
    }
}

/// A socket the loop polls: interface index and family.
#[derive(Debug, Clone, Copy)]
enum Source {
    Supervisor,
    Links,
    V4(usize),
    V6(usize),
}

struct Node {
    channel: OwnedFd,
    reader: FrameReader,
    vrrp: Vrrp,
    ifaces: Vec<Iface>,
    instances: Vec<Instance>,
    addrs: AddrControl,
    garp_sock: Option<GarpSocket>,
    na_sock: Option<NaSocket>,
    links: LinkWatch,
    /// Drops that belong to no instance (malformed IP, unknown VRID).
    stray: DropCounters,
    groups: Vec<Group>,
    /// True while a sync group's members follow one of them, so they do not echo it back.
    following: bool,
    /// The last script states and proxy health from the supervisor, for instances a reload
    /// starts (it sends them only when they change).
    script_states: HashMap<usize, bool>,
    proxy_up: bool,
    switched_over: bool,
    /// When the counters are next sent to the supervisor.
    counters_due: Instant,
    /// The LVS data plane.
    lvs: lvs::Lvs,
    /// After a binary upgrade (`ToVrrp::Resume`, before `Start`): the previous vrrpd's state
    /// of each instance, by index.
    resume: HashMap<usize, VrrpState>,
    /// Set by `ToVrrp::HandOver`: the process exits leaving the VIPs and the LVS tables.
    handed_over: bool,
    /// `announce`: the device whose addresses the routing daemon exports.
    announcer: Option<ecmp::Announcer>,
}

/// Whether the loop goes on.
enum Flow {
    Continue,
    Stop(Result<(), VrrpError>),
}

fn links_up<'a>(snapshot: &HashMap<String, IfaceInfo>, mut names: impl Iterator<Item = &'a str>) -> bool {
    names.all(|n| snapshot.get(n).is_some_and(|i| i.up))
}

/// A state as the supervisor knows it; `None` for Stopped.
fn wire_state(state: State) -> Option<VrrpState> {
    match state {
        State::Init => Some(VrrpState::Init),
        State::Backup => Some(VrrpState::Backup),
        State::Master => Some(VrrpState::Master),
        State::Fault => Some(VrrpState::Fault),
        State::Stopped => None,
    }
}

/// Finds or opens what `cfg` needs on its interface (IPv4 or IPv6 raw socket, joined to the
/// VRRP group when some instance of `all` there uses multicast); returns the interface's index
/// in `ifaces` and the instance's advert source address.
fn attach(
    ifaces: &mut Vec<Iface>,
    snapshot: &HashMap<String, IfaceInfo>,
    all: &[VrrpInstance],
    cfg: &VrrpInstance,
) -> Result<(usize, IpAddr), VrrpError> {
    let name = cfg.interface.clone();
    let err = |reason: &str| VrrpError::Interface { name: name.clone(), reason: reason.to_string() };
    let info = snapshot.get(&name).filter(|i| i.index != 0).ok_or_else(|| err("no such interface"))?;
    let k = match ifaces.iter().position(|f| f.name == name) {
        Some(k) => k,
        None => {
            let mac = info.mac.ok_or_else(|| err("has no MAC address"))?;
            ifaces.push(Iface {
                name: name.clone(),
                index: info.index,
                mac,
                primary: None,
                sock4: None,
                joined4: false,
                link_local: None,
                sock6: None,
                joined6: false,
            });
            ifaces.len() - 1
        }
    };
    let ipv6 = cfg.vips.first().is_some_and(|v| v.addr.is_ipv6());
    let same_family = |i: &&VrrpInstance| i.interface == name && i.vips.first().is_some_and(|v| v.addr.is_ipv6()) == ipv6;
    let multicast = all.iter().filter(same_family).any(|i| i.unicast_peers.is_empty());
    let f = &mut ifaces[k];
    let default_src = if ipv6 {
        if f.link_local.is_none() {
            f.link_local = Some(info.v6_link_local.ok_or_else(|| err("has no IPv6 link-local address"))?);
        }
        // A reload may bring the first multicast instance to a unicast-only interface.
        if f.sock6.is_none() || (multicast && !f.joined6) {
            f.sock6 = Some(VrrpSocketV6::open(&name, f.index, multicast)?);
            f.joined6 = multicast;
        }
        f.link_local.map(IpAddr::V6)
    } else {
        if f.primary.is_none() {
            // The primary address is the first one that is not a VIP (a crashed vrrpd may
            // have left one behind).
            let vips: Vec<IpAddr> = all.iter().flat_map(|i| i.vips.iter().map(|v| v.addr)).collect();
            let primary = info.v4.iter().copied().find(|a| !vips.contains(&IpAddr::V4(*a)));
            f.primary = Some(primary.ok_or_else(|| err("has no IPv4 address"))?);
        }
        if f.sock4.is_none() || (multicast && !f.joined4) {
            f.sock4 = Some(VrrpSocketV4::open(&name, f.index, multicast)?);
            f.joined4 = multicast;
        }
        f.primary.map(IpAddr::V4)
    };
    let local = cfg.unicast_src_ip.or(default_src).ok_or_else(|| err("has no source address"))?;
    Ok((k, local))
}

impl Node {
    fn new(vrrp: Vrrp, channel: OwnedFd, reader: FrameReader) -> Result<Node, VrrpError> {
        let snapshot = iface::snapshot()?;
        let mut ifaces: Vec<Iface> = Vec::new();
        let mut instances = Vec::new();
        for (id, cfg) in vrrp.instances.iter().enumerate() {
            let (k, local) = attach(&mut ifaces, &snapshot, &vrrp.instances, cfg)?;
            instances.push(Instance::new(id, cfg.clone(), k, local, &vrrp.garp)?);
        }
        let any_v4 = instances.iter().any(|i| !i.ipv6);
        let any_v6 = instances.iter().any(|i| i.ipv6);
        let groups = sync_group::groups(&vrrp, &instances, &[]);
        Ok(Node {
            channel,
            reader,
            addrs: AddrControl::open()?,
            garp_sock: if any_v4 { Some(GarpSocket::open()?) } else { None },
            na_sock: if any_v6 { Some(NaSocket::open()?) } else { None },
            links: LinkWatch::open()?,
            vrrp,
            ifaces,
            instances,
            stray: DropCounters::default(),
            groups,
            following: false,
            script_states: HashMap::new(),
            proxy_up: true,
            switched_over: false,
            counters_due: Instant::now() + counters::COUNTERS_EVERY,
            lvs: lvs::Lvs::default(),
            resume: HashMap::new(),
            handed_over: false,
            announcer: None,
        })
    }

    fn start(&mut self, early: Vec<ToVrrp>) {
        let now = Instant::now();
        self.announce_configure(self.vrrp.announce.as_deref().cloned());
        for f in &self.ifaces {
            let v4 = f.primary.map(|a| format!(", primary address {a}")).unwrap_or_default();
            let v6 = f.link_local.map(|a| format!(", link-local address {a}")).unwrap_or_default();
            log::info!("VRRP on {} (index {}){v4}{v6}", f.name, f.index);
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
            let _ = self.vrrp_dispatch_parent(msg);
        }
        let resumed = !self.resume.is_empty();
        if resumed {
            log::info!("carrying on after a binary upgrade: the VIPs held stay, masters advertise at once");
        }
        for i in 0..self.instances.len() {
            let event = match self.resume.get(&i) {
                Some(state) => Event::Resume { master: *state == VrrpState::Master },
                None => Event::Startup,
            };
            let actions = self.instances[i].machine.handle(event, now);
            self.execute(i, actions, now);
        }
        self.sync_group_faults(now);
        // The tables the previous vrrpd left are ours: the next commit replaces them.
        if !resumed {
            self.lvs_clean_stale();
        }
    }

    /// The loop. Once told to stop, it runs on (without the supervisor channel) only while a
    /// released master still holds its VIPs for the new master (`Machine::releasing`), which a
    /// bound of about one advert interval ends.
    fn serve(&mut self) -> Result<(), VrrpError> {
        let mut buf = vec![0u8; 65536];
        let mut stopping: Option<Result<(), VrrpError>> = None;
        if let Flow::Stop(result) = self.dispatch_buffered() {
            stopping = Some(result);
        }
        loop {
            let now = Instant::now();
            self.fire_timers(now);
            if let Some(result) = stopping.take() {
                if self.handed_over {
                    // The successor carries the VIPs and the LVS tables on.
                    return result;
                }
                if !self.releasing() {
                    // After the priority-0 release: the data plane leaves with the VIPs.
                    self.lvs_remove();
                    return result;
                }
                stopping = Some(result);
            }
            let timeout = self.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
            for source in self.wait(timeout, stopping.is_none())? {
                match source {
                    Source::Supervisor => {
                        if let Flow::Stop(result) = self.supervisor_readable() {
                            if self.releasing() {
                                log::info!("handing over: keeping the VIPs until the new master advertises");
                            }
                            stopping = Some(result);
                        }
                    }
                    Source::Links => {
                        if self.links.drain() {
                            self.links_changed();
                        }
                    }
                    Source::V4(k) => self.receive4(k, &mut buf),
                    Source::V6(k) => self.receive6(k, &mut buf),
                }
            }
        }
    }

    /// Whether an instance still holds its VIPs after releasing them (priority 0).
    fn releasing(&self) -> bool {
        self.instances.iter().any(|i| i.machine.releasing())
    }

    /// Polls the link watch, the sockets and (unless stopping) the supervisor channel; the ones
    /// that are readable.
    fn wait(&self, timeout: Option<Duration>, channel: bool) -> Result<Vec<Source>, VrrpError> {
        let mut sources = vec![Source::Links];
        let mut fds = vec![PollFd::new(self.links.as_fd(), PollFlags::POLLIN)];
        if channel {
            sources.push(Source::Supervisor);
            fds.push(PollFd::new(self.channel.as_fd(), PollFlags::POLLIN));
        }
        for (k, f) in self.ifaces.iter().enumerate() {
            if let Some(s) = &f.sock4 {
                sources.push(Source::V4(k));
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
            }
            if let Some(s) = &f.sock6 {
                sources.push(Source::V6(k));
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
            }
        }
        // Round up so a deadline half a millisecond away does not spin.
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(d) => PollTimeout::try_from(d.as_micros().div_ceil(1000).min(60_000) as i32).unwrap_or(PollTimeout::MAX),
        };
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(Vec::new()),
            Err(e) => return Err(VrrpError::Poll(e)),
        }
        let readable = PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP;
        Ok(fds.iter().zip(sources).filter(|(f, _)| f.revents().is_some_and(|r| r.intersects(readable))).map(|(_, s)| s).collect())
    }

    fn next_deadline(&self) -> Option<Instant> {
        let instances = self.instances.iter().flat_map(|i| [i.machine.next_deadline(), i.garp.deadline()]).flatten();
        instances.chain(std::iter::once(self.counters_due)).chain(self.lvs.deadline()).min()
    }

    fn fire_timers(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if self.instances[i].machine.next_deadline().is_some_and(|d| d <= now) {
                let actions = self.instances[i].machine.handle(Event::Timer, now);
                self.execute(i, actions, now);
            }
            self.pump_garp(i, now);
        }
        self.report_counters(now);
        self.lvs_timers(now);
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
        self.dispatch_buffered()
    }

    /// Handles the messages already read into the frame buffer. At start-up these include what
    /// came with `Start` (the proxy's health, script states): the channel will not be readable
    /// again for them.
    fn dispatch_buffered(&mut self) -> Flow {
        loop {
            match self.reader.next::<ToVrrp>() {
                Ok(Some((msg, _fds))) => {
                    if let Flow::Stop(r) = self.vrrp_dispatch_parent(msg) {
                        return Flow::Stop(r);
                    }
                }
                Ok(None) => return Flow::Continue,
                Err(e) => return Flow::Stop(Err(e.into())),
            }
        }
    }

    /// Messages from the supervisor (script states come from the checker through it).
    fn vrrp_dispatch_parent(&mut self, msg: ToVrrp) -> Flow {
        let now = Instant::now();
        let event = match msg {
            ToVrrp::Start(vrrp) => {
                self.announce_configure(vrrp.announce.as_deref().cloned());
                if vrrp != self.vrrp {
                    self.reload(vrrp);
                }
                return Flow::Continue;
            }
            ToVrrp::Shutdown => {
                log::info!("shutting down: releasing every VIP");
                self.shutdown();
                return Flow::Stop(Ok(()));
            }
            ToVrrp::HandOver => return self.hand_over(),
            ToVrrp::Resume(states) => {
                if self.instances.iter().any(|i| i.machine.state() != State::Init) {
                    log::warn!("ignoring a late resume: the instances have started");
                } else {
                    self.resume = states.into_iter().map(|(InstanceId(i), s)| (i, s)).collect();
                }
                return Flow::Continue;
            }
            ToVrrp::ScriptState { script: ScriptId(script), ok } => {
                let name = self.vrrp.scripts.get(script).map(|s| s.name.as_str()).unwrap_or("?");
                log::info!("VRRP_Script({name}) {}", if ok { "succeeded" } else { "failed" });
                self.script_states.insert(script, ok);
                Event::Script { script, ok }
            }
            ToVrrp::ProxyHealth { up } => {
                log::info!("the local proxy is {}", if up { "up" } else { "down" });
                self.proxy_up = up;
                Event::Proxy { up }
            }
            ToVrrp::Ping(n) => {
                if let Err(e) = send(self.channel.as_fd(), &FromVrrp::Pong(n), &[]) {
                    log::warn!("cannot answer the supervisor: {e}");
                }
                return Flow::Continue;
            }
            ToVrrp::Lvs(services) => {
                self.lvs_services(services, now);
                return Flow::Continue;
            }
            ToVrrp::LvsServers { service, servers } => {
                self.lvs_servers(service, &servers, now);
                return Flow::Continue;
            }
            ToVrrp::Announce { on } => {
                self.announce_set(on);
                return Flow::Continue;
            }
            ToVrrp::Switchover { on } => {
                log::info!("{}", if on { "planned switchover: handing the VIPs over" } else { "switchback" });
                self.switched_over = on;
                Event::Switchover { on }
            }
        };
        for i in 0..self.instances.len() {
            let actions = self.instances[i].machine.handle(event.clone(), now);
            self.execute(i, actions, now);
        }
        self.sync_group_faults(now);
        Flow::Continue
    }

    /// A binary upgrade: every instance stops where it is (no priority-0 advert, VIPs and LVS
    /// tables left in place), the states go to the supervisor for the next vrrpd, and the loop
    /// ends.
    fn hand_over(&mut self) -> Flow {
        let now = Instant::now();
        let mut states = Vec::new();
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if let Some(state) = wire_state(inst.machine.state()) {
                states.push((InstanceId(inst.id), state, inst.machine.priority()));
            }
            log::info!("{} handing over in {} state (binary upgrade)", inst.tag(), inst.machine.state());
            let actions = self.instances[i].machine.handle(Event::HandOver, now);
            self.execute(i, actions, now);
        }
        self.handed_over = true;
        if let Err(e) = send(self.channel.as_fd(), &FromVrrp::HandedOver { instances: states }, &[]) {
            return Flow::Stop(Err(e.into()));
        }
        Flow::Stop(Ok(()))
    }

    fn shutdown(&mut self) {
        // The route goes first: the router moves new flows while the VIPs are released.
        self.announce_withdraw();
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
        self.announce_links_changed(&snapshot);
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
        self.sync_group_faults(now);
    }

    fn execute(&mut self, i: usize, actions: Vec<Action>, now: Instant) {
        let mut moved = None;
        for action in actions {
            match action {
                Action::Transition { to, priority, cause } => {
                    moved = Some((self.instances[i].reported, to));
                    self.instances[i].reported = to;
                    self.transition(i, to, priority, cause);
                }
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
        if let Some((from, to)) = moved {
            self.lvs_instances_changed(now);
            self.sync_group_follow(i, from, to, now);
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
            Some(FaultCause::SyncGroup) => " (another member of its sync group is in FAULT)".to_string(),
            Some(FaultCause::Switchover) => " (planned switchover)".to_string(),
            None => String::new(),
        };
        log::info!("{} Entering {to} STATE, priority {priority}{why}", inst.tag());
        self.report_state(i, to, priority);
    }

    /// Tells the supervisor an instance's new state (it runs the notify scripts).
    fn report_state(&self, i: usize, to: State, priority: u8) {
        let inst = &self.instances[i];
        // Stopped: the process is about to exit, or a reload removed the instance; the
        // supervisor knows both.
        let Some(state) = wire_state(to) else { return };
        let msg = FromVrrp::InstanceState { instance: InstanceId(inst.id), state, priority };
        if let Err(e) = send(self.channel.as_fd(), &msg, &[]) {
            log::warn!("cannot tell the supervisor about {}: {e}", inst.tag());
        }
    }

    fn advertise(&mut self, i: usize, priority: u8) {
        let inst = &self.instances[i];
        let iface = &self.ifaces[inst.iface];
        let advert = inst.advert(priority);
        for dst in inst.destinations() {
            let sent = advert.encode(inst.scope(dst)).map_err(|e| e.to_string()).and_then(|bytes| {
                let result = match (inst.local, dst, &iface.sock4, &iface.sock6) {
                    (IpAddr::V4(src), IpAddr::V4(dst), Some(sock), _) => sock.send(src, dst, &bytes),
                    (IpAddr::V6(src), IpAddr::V6(dst), _, Some(sock)) => sock.send(src, dst, &bytes),
                    _ => Err(nix::errno::Errno::EAFNOSUPPORT),
                };
                result.map_err(|e| e.to_string())
            });
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
}
