//! A client connection refused before a stream exists, by the accept loop or by a session's
//! handshake stage: counted and, for `silent-drop`, dropped without a word.

use crate::counters::Counters;
use crate::shared::Shared;
use hakeeper_common::config::TcpAction;
use std::net::SocketAddr;

/// A connection refused by `tcp-request session reject` (counted in `dses`, closed, not
/// logged: HAProxy's `tcp_exec_l5_rules()`), or by `silent-drop` at any stage before a
/// stream exists (counted in `dreq` as HAProxy's action counts it, dropped without a word).
pub fn deny_session<F: std::os::fd::AsFd>(shared: &Shared, sock: &F, addr: SocketAddr, frontend: usize, bind: usize, action: TcpAction) {
    let stats = &shared.stats.frontends[frontend];
    let name = &shared.config.frontends[frontend].name;
    if action == TcpAction::SilentDrop {
        Counters::add(&stats.counters.denied_requests, 1);
        Counters::add(&stats.listeners[bind].counters.denied_requests, 1);
        let how = crate::silent_drop::prepare(sock, addr);
        log::debug!("connection from {addr} to {name} silently dropped ({how:?})");
    } else {
        Counters::add(&stats.counters.denied_sessions, 1);
        Counters::add(&stats.listeners[bind].counters.denied_sessions, 1);
        log::debug!("session from {addr} to {name} rejected by tcp-request session");
    }
}
