//! The LVS data plane in the running vrrpd (which holds CAP_NET_ADMIN): the supervisor's
//! `ToVrrp::Lvs` / `LvsServers` update the [`Plane`]; every change of membership or of an
//! instance's state schedules one rebuild, applied as one `nft -f` transaction, at most
//! [`MIN_GAP`] after the previous one (a burst of health flips is one commit). The first apply
//! replaces a killed run's tables (without services, they are removed at start); at exit they
//! are removed. Quorum flips go to the
//! supervisor (it runs `quorum_up` / `quorum_down`), counters every [`STATS_EVERY`].

use super::Node;
use crate::lvs::plane::from_wire;
use crate::lvs::{ruleset, Applier, Plane, Resolver, Transaction};
use crate::state::State;
use hakeeper_common::config::model::LvsService;
use hakeeper_common::ctl::LvsView;
use hakeeper_common::ipc::{send, FromVrrp, LvsServerState};
use std::collections::HashSet;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Least time between two commits (keepalived applies each check result to IPVS at once; a
/// whole ruleset per change is dearer, so a burst is folded into one).
pub(super) const MIN_GAP: Duration = Duration::from_millis(250);
/// How soon a failed commit, or a DR real server whose MAC is not resolved yet, is tried again.
const RETRY: Duration = Duration::from_secs(5);
/// How often the counters are read while something is programmed.
const STATS_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) struct Lvs {
    plane: Plane,
    applier: Applier,
    resolver: Resolver,
    /// When the next commit is due.
    due: Option<Instant>,
    last_commit: Option<Instant>,
    /// The transaction in force (`None`: this run has not touched nftables).
    applied: Option<Transaction>,
    notes: Vec<String>,
    stats_due: Option<Instant>,
    stats_sent: Option<Vec<LvsView>>,
}

impl Lvs {
    pub(super) fn deadline(&self) -> Option<Instant> {
        [self.due, self.stats_due].into_iter().flatten().min()
    }

    /// A commit as soon as [`MIN_GAP`] allows.
    fn schedule(&mut self, now: Instant) {
        let earliest = self.last_commit.map_or(now, |t| (t + MIN_GAP).max(now));
        self.due = Some(self.due.map_or(earliest, |d| d.min(earliest)));
    }
}

impl Node {
    /// The instances in MASTER state now.
    fn masters(&self) -> HashSet<String> {
        self.instances.iter().filter(|i| i.reported == State::Master).map(|i| i.cfg.name.clone()).collect()
    }

    pub(super) fn lvs_services(&mut self, services: Vec<LvsService>, now: Instant) {
        if services.is_empty() && self.lvs.applied.is_none() && self.lvs.plane.services().is_empty() {
            return;
        }
        log::info!("LVS: {} virtual service(s)", services.len());
        self.lvs.plane.configure(services, &self.vrrp.instances);
        self.lvs.schedule(now);
    }

    pub(super) fn lvs_servers(&mut self, service: usize, servers: &[LvsServerState], now: Instant) {
        match self.lvs.plane.set_servers(service, from_wire(servers)) {
            Ok(flip) => {
                if let Some(up) = flip {
                    let name = self.lvs.plane.services().get(service).map_or("?", |s| s.name.as_str());
                    log::info!("LVS service {name}: quorum {}", if up { "gained" } else { "lost" });
                    if let Err(e) = send(self.channel.as_fd(), &FromVrrp::LvsQuorum { service, up }, &[]) {
                        log::warn!("cannot tell the supervisor about the quorum of {name}: {e}");
                    }
                }
                self.lvs.schedule(now);
            }
            Err(e) => log::warn!("LVS: ignoring the supervisor's server states: {e}"),
        }
    }

    /// An instance changed state: the services it carries follow it.
    pub(super) fn lvs_instances_changed(&mut self, now: Instant) {
        if !self.lvs.plane.services().is_empty() || self.lvs.applied.is_some() {
            self.lvs.schedule(now);
        }
    }

    pub(super) fn lvs_timers(&mut self, now: Instant) {
        if self.lvs.due.is_some_and(|d| d <= now) {
            self.lvs.due = None;
            self.lvs_commit(now);
        }
        if self.lvs.stats_due.is_some_and(|d| d <= now) {
            self.lvs_report(now);
        }
    }

    fn lvs_commit(&mut self, now: Instant) {
        let masters = self.masters();
        let mut m = self.lvs.plane.membership(&masters);
        for iface in self.lvs.plane.dr_interfaces(&masters) {
            match self.lvs.resolver.resolve(&iface) {
                Ok(seg) => {
                    m.interfaces.insert(iface, seg.own);
                    m.neighbours.extend(seg.neighbours);
                }
                Err(e) => log::warn!("LVS: cannot read the neighbours of {iface}: {e}"),
            }
        }
        let tx = ruleset(self.lvs.plane.services(), &m);
        if tx.notes != self.lvs.notes {
            for note in &tx.notes {
                log::warn!("LVS: {note}");
            }
            self.lvs.notes = tx.notes.clone();
        }
        if !tx.notes.is_empty() {
            // A MAC may be resolved by then (health checks keep the neighbour table fresh).
            self.lvs.due = Some(now + RETRY);
        }
        if self.lvs.applied.as_ref() == Some(&tx) {
            return;
        }
        self.lvs.last_commit = Some(now);
        // vrrpd waits for nft here (bounded by the applier's timeout): logged, so that a slow
        // commit next to VRRP timing shows.
        let started = Instant::now();
        let result = self.lvs.applier.apply(&tx);
        let took = started.elapsed().as_millis();
        match result {
            Ok(()) => {
                let mut names: Vec<&str> = tx.counters.iter().map(|c| c.service.as_str()).collect();
                names.dedup();
                if names.is_empty() {
                    log::info!("LVS: no virtual service programmed on this host ({took} ms)");
                } else {
                    log::info!("LVS: programmed {} ({took} ms)", names.join(", "));
                }
                self.lvs.applied = Some(tx);
                self.lvs.stats_due = Some(now);
            }
            Err(e) => {
                log::error!("LVS: cannot program nftables ({took} ms): {e}; retrying in {}s", RETRY.as_secs());
                self.lvs.due = Some(now + RETRY);
            }
        }
    }

    /// Reads the counters and reports the services when anything changed.
    fn lvs_report(&mut self, now: Instant) {
        let Some(tx) = &self.lvs.applied else {
            self.lvs.stats_due = None;
            return;
        };
        let counters = match self.lvs.applier.counters(tx) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("LVS: cannot read the counters: {e}");
                Vec::new()
            }
        };
        self.lvs.stats_due = (!tx.tables.is_empty()).then_some(now + STATS_EVERY);
        let views = self.lvs.plane.views(&self.masters(), &counters);
        if self.lvs.stats_sent.as_ref() == Some(&views) {
            return;
        }
        if let Err(e) = send(self.channel.as_fd(), &FromVrrp::LvsStats(views.clone()), &[]) {
            log::warn!("cannot send the LVS counters to the supervisor: {e}");
        }
        self.lvs.stats_sent = Some(views);
    }

    /// At start, when no LVS service came with the config: tables a killed run left (its
    /// config may have had services this one has not) go. Quiet where nft is missing.
    pub(super) fn lvs_clean_stale(&mut self) {
        if self.lvs.applied.is_some() || !self.lvs.plane.services().is_empty() {
            return;
        }
        match self.lvs.applier.owned_tables() {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => {
                let names: Vec<String> = tables.iter().map(|t| format!("{} {}", t.family, t.name)).collect();
                match self.lvs.applier.remove() {
                    Ok(()) => log::info!("LVS: removed tables left by an earlier run: {}", names.join(", ")),
                    Err(e) => log::error!("LVS: cannot remove tables left by an earlier run ({}): {e}", names.join(", ")),
                }
            }
            Err(e) => log::debug!("LVS: no nftables tables to look at: {e}"),
        }
    }

    /// At exit: the tables this run programmed (or replaced) go.
    pub(super) fn lvs_remove(&mut self) {
        if self.lvs.applied.take().is_none() {
            return;
        }
        match self.lvs.applier.remove() {
            Ok(()) => log::info!("LVS: tables removed"),
            Err(e) => log::error!("LVS: cannot remove the tables: {e}"),
        }
    }
}
