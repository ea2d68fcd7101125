//! Layer-4 ACLs and the rules that use them: `tcp-request connection accept|reject`, run on a
//! connection as soon as it is accepted (HAProxy's `tcp_exec_l4_rules()`: before any session,
//! buffer or PROXY header), and `use_backend` in mode tcp (content switching on what a
//! connection has before its data).
//!
//! Fetches: `src`, `src_port`, `dst`, `dst_port` (the socket's, or a received PROXY header's
//! for `use_backend`; `tcp-request connection` runs before that header, as in HAProxy),
//! `fe_name`, `nbsrv(BACKEND)`, `always_true`/`always_false`.

use crate::shared::Shared;
use hakeeper_common::config::{Acl, AclTest, Cond, FrontendHttp, Mode, TcpAction, TcpRule};
use std::net::SocketAddr;

/// What layer-4 ACLs look at.
pub struct ConnView<'a> {
    pub src: SocketAddr,
    /// `None`: unknown (the ACLs do not read it, or getsockname failed): `dst` tests fail.
    pub dst: Option<SocketAddr>,
    pub frontend: &'a str,
    pub shared: &'a Shared,
}

/// HAProxy's `be_usable_srv()`: the usable active servers, else 1 when the first backup takes
/// the traffic, else the usable backups (`option allbackups`).
pub fn usable_servers(shared: &Shared, backend: usize) -> i64 {
    let (Some(cfg), Some(stats)) = (shared.config.backends.get(backend), shared.stats.backends.get(backend)) else { return 0 };
    let usable = |s: usize| {
        stats.servers.get(s).is_some_and(|st| {
            st.running()
                && st.admin_state() == hakeeper_common::ipc::AdminState::Ready
                && st.weight.load(std::sync::atomic::Ordering::Relaxed) > 0
        })
    };
    let count = |backup: bool| cfg.servers.iter().enumerate().filter(|(i, s)| s.backup == backup && usable(*i)).count() as i64;
    match count(false) {
        0 if cfg.allbackups => count(true),
        0 => count(true).min(1),
        n => n,
    }
}

fn test_holds(test: &AclTest, v: &ConnView<'_>) -> bool {
    match test {
        AclTest::Src(nets) => nets.iter().any(|n| n.contains(v.src.ip())),
        AclTest::SrcPort(m) => m.matches(i64::from(v.src.port())),
        AclTest::Dst(nets) => v.dst.is_some_and(|d| nets.iter().any(|n| n.contains(d.ip()))),
        AclTest::DstPort(m) => v.dst.is_some_and(|d| m.matches(i64::from(d.port()))),
        AclTest::FeName(m) => m.matches(v.frontend.as_bytes()),
        AclTest::Nbsrv { id, ints, .. } => ints.matches(usable_servers(v.shared, *id)),
        AclTest::Const(b) => *b,
        // Layer-7 tests: validation keeps them out of these rules.
        AclTest::Header { .. } | AclTest::Path(_) | AclTest::Url(_) | AclTest::Method(_) | AclTest::Version(_) => false,
    }
}

/// Whether `cond` holds: an OR of ANDs of (possibly negated) ACLs, each an OR of its tests.
pub fn cond_holds(cond: &Cond, acls: &[Acl], v: &ConnView<'_>) -> bool {
    let acl = |i: usize| acls.get(i).is_some_and(|a| a.tests.iter().any(|t| test_holds(t, v)));
    let any = cond.any_of.iter().any(|all| all.iter().all(|r| acl(r.acl) != r.negate));
    any != cond.unless
}

fn applies(cond: Option<&Cond>, acls: &[Acl], v: &ConnView<'_>) -> bool {
    cond.is_none_or(|c| cond_holds(c, acls, v))
}

/// `tcp-request connection` rules in order: the first whose condition holds decides; none
/// means accept.
pub fn connection_verdict(rules: &[TcpRule], acls: &[Acl], v: &ConnView<'_>) -> TcpAction {
    rules.iter().find(|r| applies(r.cond.as_ref(), acls, v)).map_or(TcpAction::Accept, |r| r.action)
}

/// The backend of the first `use_backend` rule whose condition holds.
pub fn switch_backend(fe: &FrontendHttp, v: &ConnView<'_>) -> Option<usize> {
    fe.use_backend.iter().find(|u| applies(u.cond.as_ref(), &fe.acls, v)).map(|u| u.backend)
}

/// Whether any of these ACLs reads the destination (worth a getsockname).
pub fn reads_dst(acls: &[Acl]) -> bool {
    acls.iter().flat_map(|a| &a.tests).any(|t| matches!(t, AclTest::Dst(_) | AclTest::DstPort(_)))
}

/// Whether a frontend switches TCP connections by content: its backend is chosen when the
/// session starts, not at accept.
pub fn tcp_switching(shared: &Shared, frontend: usize) -> bool {
    shared.config.frontends.get(frontend).is_some_and(|f| f.mode == Mode::Tcp)
        && shared.config.http.frontends.get(frontend).is_some_and(|h| !h.use_backend.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::config::http_syntax::{parse_cond, parse_criterion, parse_tcp_connection_rule, split_words, AclTable};

    fn shared() -> (Shared, mio::Poll) {
        use crate::testkit::{server, tcp_backend, tcp_frontend, worker_config};
        let mut be = tcp_backend("db", vec![server(0, "a", "127.0.0.1:1".parse().unwrap())]);
        be.servers.push(server(1, "b", "127.0.0.1:2".parse().unwrap()));
        let mut config = worker_config(vec![be]);
        config.frontends.push(tcp_frontend("fe", "127.0.0.1:3".parse().unwrap()));
        let poll = mio::Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), mio::Token(1)).unwrap();
        let link = crate::shared::ThreadLink { waker, inbox: std::sync::Mutex::new(Vec::new()) };
        (Shared::new(config, vec![link], 1), poll)
    }

    fn holds(criterion: &str, v: &ConnView<'_>) -> bool {
        let mut test = parse_criterion(&split_words(criterion).unwrap()).unwrap();
        if let AclTest::Nbsrv { id, .. } = &mut test {
            *id = 0;
        }
        test_holds(&test, v)
    }

    #[test]
    fn layer4_fetches() {
        let (sh, _poll) = shared();
        let v =
            ConnView { src: "192.0.2.7:40000".parse().unwrap(), dst: Some("10.0.0.5:8066".parse().unwrap()), frontend: "fe", shared: &sh };
        assert!(holds("src 192.0.2.0/24", &v) && !holds("src 198.51.100.0/24", &v));
        assert!(holds("src_port 1024:", &v) && !holds("src_port lt 1024", &v));
        assert!(holds("dst 10.0.0.5", &v) && holds("dst_port 8066 3306", &v) && !holds("dst_port 3306", &v));
        assert!(holds("fe_name fe", &v) && !holds("fe_name other", &v));
        assert!(holds("nbsrv(db) eq 2", &v) && !holds("nbsrv(db) lt 1", &v));
        assert!(holds("always_true", &v) && !holds("always_false", &v));
        let no_dst = ConnView { dst: None, ..v };
        assert!(!holds("dst 10.0.0.5", &no_dst) && !holds("dst_port 8066", &no_dst));
    }

    #[test]
    fn nbsrv_counts_usable_servers_and_backups_as_haproxy() {
        let (sh, _poll) = shared();
        let st = &sh.stats.backends[0].servers;
        assert_eq!(usable_servers(&sh, 0), 2);
        st[0].up.store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(usable_servers(&sh, 0), 1);
        st[1].weight.store(0, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(usable_servers(&sh, 0), 0, "weight 0 is not usable");
        assert_eq!(usable_servers(&sh, 9), 0, "no such backend");
    }

    #[test]
    fn connection_rules_first_match_decides() {
        let (sh, _poll) = shared();
        let mut t = AclTable::default();
        t.define("bad", parse_criterion(&split_words("src 192.0.2.0/24").unwrap()).unwrap());
        t.define("vip", parse_criterion(&split_words("src 192.0.2.7").unwrap()).unwrap());
        let rules: Vec<TcpRule> =
            ["accept if vip", "reject if bad"].iter().map(|r| parse_tcp_connection_rule(r, &mut t).unwrap()).collect();
        let acls = t.into_acls();
        let at = |src: &str| ConnView { src: src.parse().unwrap(), dst: None, frontend: "fe", shared: &sh };
        assert_eq!(connection_verdict(&rules, &acls, &at("192.0.2.7:1")), TcpAction::Accept);
        assert_eq!(connection_verdict(&rules, &acls, &at("192.0.2.8:1")), TcpAction::Reject);
        assert_eq!(connection_verdict(&rules, &acls, &at("198.51.100.1:1")), TcpAction::Accept);
        let mut t2 = AclTable::default();
        let unless = parse_cond(&split_words("unless { src 10.0.0.0/8 }").unwrap(), &mut t2).unwrap();
        let rule = vec![TcpRule { action: TcpAction::Reject, cond: Some(unless) }];
        let acls2 = t2.into_acls();
        assert_eq!(connection_verdict(&rule, &acls2, &at("10.1.1.1:1")), TcpAction::Accept);
        assert_eq!(connection_verdict(&rule, &acls2, &at("192.0.2.8:1")), TcpAction::Reject);
    }
}
