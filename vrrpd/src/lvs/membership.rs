//! Which real servers of each LVS service take new clients: the data plane's input, decided by
//! the checker (through the supervisor) and by keepalived's quorum rules.

use hakeeper_common::config::model::LvsService;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// A real server as its checker last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Alive with this weight (the configured one, or a MISC_CHECK's dynamic one).
    Up {
        weight: u32,
    },
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMembership {
    /// One per `LvsService::real_servers`, in order.
    pub servers: Vec<ServerState>,
    /// keepalived's quorum state (see [`quorum_state`]).
    pub quorum_up: bool,
}

/// The whole data plane's input besides the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// One per service, in config order.
    pub services: Vec<ServiceMembership>,
    /// DR: the real servers' (and sorry servers') MACs, from the neighbour table.
    pub neighbours: HashMap<Ipv4Addr, [u8; 6]>,
    /// DR: each interface's own MAC, the source of the frames it forwards.
    pub interfaces: HashMap<String, [u8; 6]>,
    /// Services (by index) that this host does not program now: another host holds their VIP.
    pub standby: HashSet<usize>,
}

impl Membership {
    /// Every real server up at its configured weight, every quorum up: keepalived's start
    /// without `alpha`.
    pub fn all_up(services: &[LvsService]) -> Membership {
        Membership {
            services: services
                .iter()
                .map(|s| ServiceMembership {
                    servers: s.real_servers.iter().map(|r| ServerState::Up { weight: r.weight }).collect(),
                    quorum_up: true,
                })
                .collect(),
            ..Membership::default()
        }
    }
}

/// Sum of the weights of the live real servers (keepalived's `weight_sum_alive`).
pub fn live_weight(m: &ServiceMembership) -> u64 {
    m.servers.iter().map(|s| if let ServerState::Up { weight } = s { u64::from(*weight) } else { 0 }).sum()
}

/// keepalived's `update_quorum_state`: quorum is gained when the live weight reaches
/// `quorum + hysteresis`, lost when it falls below `quorum - hysteresis`, else unchanged.
/// The owner runs `quorum_up` / `quorum_down` when this changes.
pub fn quorum_state(was_up: bool, live_weight: u64, quorum: u32, hysteresis: u32) -> bool {
    let (q, h) = (u64::from(quorum), u64::from(hysteresis));
    if !was_up && live_weight >= q + h {
        true
    } else if was_up && live_weight < q.saturating_sub(h) {
        false
    } else {
        was_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_follows_keepalived_with_hysteresis() {
        // quorum 3, hysteresis 1: gained at 4, lost below 2.
        let table = [(false, 3, false), (false, 4, true), (true, 2, true), (true, 1, false), (true, 3, true), (false, 0, false)];
        for (was, live, expect) in table {
            assert_eq!(quorum_state(was, live, 3, 1), expect, "was {was} live {live}");
        }
        assert!(!quorum_state(true, 0, 1, 0), "default quorum 1: lost with no live server");
        assert!(quorum_state(false, 1, 1, 0));
    }

    #[test]
    fn live_weight_counts_only_up_servers() {
        let m = ServiceMembership {
            servers: vec![ServerState::Up { weight: 3 }, ServerState::Down, ServerState::Up { weight: 0 }],
            quorum_up: true,
        };
        assert_eq!(live_weight(&m), 3);
    }
}
