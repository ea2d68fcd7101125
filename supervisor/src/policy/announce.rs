//! Active-active behind ECMP (`announce`): whether this host may carry the announced VIPs, from
//! its own health, and telling vrrpd to hold them on the announce device (which the routing
//! daemon exports) or to withdraw them. "Withdraw before harm": a host announces only while a
//! worker serves, the proxy is not in a crash loop (`worker_crash_limit`), every
//! `min_servers_up` backend has enough servers UP, no switchover holds it back, and it is not
//! stopping; on stop the withdrawal comes first and the worker drains `withdraw_wait` later
//! (`stop.rs`). What an operator used to script around BIRD/ExaBGP health checks.

use super::Policy;
use crate::child::Role;
use hakeeper_common::config::Config;
use hakeeper_common::ctl::{AnnounceView, CtlReply};
use hakeeper_common::ipc::{ServerName, ToVrrp};
use log::Level;
use std::collections::HashMap;
use std::fmt;

/// What the decision looks at, gathered from the policy's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Health {
    /// A worker has served (reported ready) since start. A single crash's instant restart does
    /// not withdraw (the listeners stay bound, HAProxy's master-worker promise); a crash loop
    /// does, through `proxy_up`.
    pub worker_served: bool,
    pub proxy_up: bool,
    pub stopping: bool,
    pub switched_over: bool,
    /// Per `min_servers_up` entry: (backend name, servers UP, servers needed).
    pub backends: Vec<(String, usize, u32)>,
}

/// Why this host does not announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Withdrawn {
    Stopping,
    NotServing,
    ProxyDown,
    Switchover,
    Backend { name: String, up: usize, need: u32 },
}

impl fmt::Display for Withdrawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Withdrawn::Stopping => f.write_str("stopping"),
            Withdrawn::NotServing => f.write_str("no worker serves yet"),
            Withdrawn::ProxyDown => f.write_str("proxy DOWN (worker crash loop)"),
            Withdrawn::Switchover => f.write_str("switchover"),
            Withdrawn::Backend { name, up, need } => write!(f, "backend {name} has {up} servers UP, needs {need}"),
        }
    }
}

/// The decision, in order of precedence (the first reason that holds is the one reported).
pub(super) fn decide(h: &Health) -> Result<(), Withdrawn> {
    if h.stopping {
        return Err(Withdrawn::Stopping);
    }
    if !h.proxy_up {
        return Err(Withdrawn::ProxyDown);
    }
    if !h.worker_served {
        return Err(Withdrawn::NotServing);
    }
    if h.switched_over {
        return Err(Withdrawn::Switchover);
    }
    if let Some((name, up, need)) = h.backends.iter().find(|(_, up, need)| *up < *need as usize) {
        return Err(Withdrawn::Backend { name: name.clone(), up: *up, need: *need });
    }
    Ok(())
}

/// Servers UP in `backend` (a server never reported is UP, as the checker starts it; a
/// `disabled` one is not).
pub(super) fn servers_up(config: &Config, health: &HashMap<ServerName, bool>, backend: usize) -> usize {
    let Some(b) = config.backends.get(backend) else { return 0 };
    b.servers.iter().filter(|s| !s.disabled && health.get(&ServerName::new(&b.name, &s.name)).copied().unwrap_or(true)).count()
}

/// The announcement as the policy keeps it.
#[derive(Debug, Default)]
pub(super) struct AnnounceState {
    /// What was last sent to vrrpd (`None`: nothing yet to the current vrrpd).
    pub sent: Option<bool>,
    /// Why it is withdrawn, as last decided.
    pub reason: Option<Withdrawn>,
    /// What vrrpd last reported: the VIPs are on the device (`true`), or not.
    pub held: bool,
    /// vrrpd's last error on the device, if any.
    pub error: Option<String>,
}

impl Policy {
    fn announce_health(&self) -> Health {
        let backends = match &self.config.vrrp.announce {
            Some(a) => a
                .min_servers_up
                .iter()
                .map(|(b, need)| {
                    let name = self.config.backends.get(*b).map(|b| b.name.clone()).unwrap_or_default();
                    (name, servers_up(&self.config, &self.server_health, *b), *need)
                })
                .collect(),
            None => Vec::new(),
        };
        Health {
            worker_served: self.worker_served,
            proxy_up: self.proxy_up,
            stopping: self.stop.is_some(),
            switched_over: self.switched_over,
            backends,
        }
    }

    /// Decides again (after every input) and tells vrrpd when the answer changed, or a new
    /// vrrpd has not heard it yet.
    pub(super) fn update_announce(&mut self) {
        if self.config.vrrp.announce.is_none() {
            return;
        }
        let decision = decide(&self.announce_health());
        let on = decision.is_ok();
        let reason = decision.err();
        if reason != self.announce.reason || self.announce.sent.is_none() {
            match &reason {
                None => self.log(Level::Warn, "announce: this host is healthy, announcing its VIPs".into()),
                Some(r) => self.log(Level::Warn, format!("announce: withdrawing this host's VIPs: {r}")),
            }
        }
        let reason_changed = reason != self.announce.reason;
        self.announce.reason = reason;
        if reason_changed {
            self.send_process_view();
        }
        if self.announce.sent == Some(on) {
            return;
        }
        let vrrpds = self.pids_of(Role::Vrrpd);
        if vrrpds.is_empty() {
            return;
        }
        for pid in vrrpds {
            self.send_vrrp(pid, ToVrrp::Announce { on });
        }
        self.announce.sent = Some(on);
    }

    /// vrrpd applied an announcement (or failed to).
    pub(super) fn announce_held(&mut self, held: bool, error: Option<String>) {
        if let Some(e) = &error {
            self.log(Level::Error, format!("announce: {e}"));
        }
        let changed = self.announce.held != held || self.announce.error != error;
        self.announce.held = held;
        self.announce.error = error;
        if changed {
            self.send_process_view();
        }
    }

    /// `hakeeper ctl show announce`: one row per VIP.
    pub(super) fn show_announce(&self) -> CtlReply {
        CtlReply::Announce(self.announce_rows())
    }

    /// One row per VIP, for `show announce`, the stats page and `/metrics`.
    pub(super) fn announce_rows(&self) -> Vec<AnnounceView> {
        let Some(a) = &self.config.vrrp.announce else {
            return Vec::new();
        };
        let state = match (&self.announce.error, self.announce.held, &self.announce.reason) {
            (Some(e), _, _) => format!("error: {e}"),
            (None, true, None) => "announced".to_string(),
            (None, true, Some(r)) => format!("withdrawing ({r})"),
            (None, false, None) => "announcing".to_string(),
            (None, false, Some(r)) => format!("withdrawn ({r})"),
        };
        a.vips
            .iter()
            .map(|v| AnnounceView {
                vip: format!("{}/{}", v.addr, v.prefix_len),
                interface: a.interface.clone(),
                held: self.announce.held,
                state: state.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Health {
        Health {
            worker_served: true,
            proxy_up: true,
            stopping: false,
            switched_over: false,
            backends: vec![("web".into(), 3, 1), ("api".into(), 2, 2)],
        }
    }

    #[test]
    fn decision_table() {
        type Case = (&'static str, fn(&mut Health), Result<(), Withdrawn>);
        let cases: Vec<Case> = vec![
            ("healthy", |_| {}, Ok(())),
            (
                "stopping wins over everything",
                |h| {
                    h.stopping = true;
                    h.proxy_up = false;
                    h.backends[0].1 = 0;
                },
                Err(Withdrawn::Stopping),
            ),
            ("crash loop", |h| h.proxy_up = false, Err(Withdrawn::ProxyDown)),
            ("before the first worker serves", |h| h.worker_served = false, Err(Withdrawn::NotServing)),
            ("switchover", |h| h.switched_over = true, Err(Withdrawn::Switchover)),
            ("all servers of a backend down", |h| h.backends[0].1 = 0, Err(Withdrawn::Backend { name: "web".into(), up: 0, need: 1 })),
            ("one short of the minimum", |h| h.backends[1].1 = 1, Err(Withdrawn::Backend { name: "api".into(), up: 1, need: 2 })),
            ("exactly the minimum", |h| h.backends[1].1 = 2, Ok(())),
            ("no backend condition", |h| h.backends.clear(), Ok(())),
        ];
        for (name, change, want) in cases {
            let mut h = healthy();
            change(&mut h);
            assert_eq!(decide(&h), want, "{name}");
        }
    }
}
