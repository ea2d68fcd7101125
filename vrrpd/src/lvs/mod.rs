//! keepalived's LVS virtual servers (check/ipvswrapper.c, check/ipwrapper.c) on the kernel's
//! nftables data plane instead of IPVS, which this appliance's kernels lack.
//!
//! - [`membership`]: which real servers take new clients (the checker's verdicts, keepalived's
//!   `inhibit_on_failure`, `quorum`/`hysteresis` and `sorry_server`).
//! - [`ruleset`]: pure; the services and their membership → one nftables transaction that
//!   deletes and recreates every table hakeeper owns (`ip hakeeper_lvs`, `netdev
//!   hakeeper_lvs_dr_IFACE`), so a restart or a stale run never leaves duplicates.
//! - [`plane`]: pure; the services, the checker's verdicts, the quorum state and which VRRP
//!   instance carries each VIP → the membership to program now, and the `show lvs` views.
//! - [`neighbours`]: the DR interface's MAC and its real servers' from the neighbour table.
//! - [`applier`]: feeds a transaction to `nft -f -` (one atomic commit), reads the per-real-
//!   server counters, removes the owned tables.
//!
//! Persistence entries and DR flows are carried into the recreated tables (those naming a server
//! still listed); counters too. Departures from IPVS: NAT balances connections arriving from
//! other hosts (the `prerouting` hook), not connections opened on this host; a NAT connection
//! to a removed real server goes on (conntrack) where IPVS (`expire_nodest_conn=0`) drops its
//! packets, and a DR flow to a removed server is rescheduled (its new server resets it).

pub mod applier;
pub mod membership;
pub mod neighbours;
pub mod plane;
pub mod ruleset;

pub use applier::{Applier, ApplyError, RsCounter};
pub use membership::{live_weight, quorum_state, Membership, ServerState, ServiceMembership};
pub use neighbours::Resolver;
pub use plane::Plane;
pub use ruleset::{ruleset, Carried, OwnedTable, Transaction};
