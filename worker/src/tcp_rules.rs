//! Layer-4 ACLs and the rules that use them: `tcp-request connection accept|reject`, run on a
//! connection as soon as it is accepted (HAProxy's `tcp_exec_l4_rules()`: before any session,
//! buffer or PROXY header), and `use_backend` in mode tcp (content switching on what a
//! connection has before its data).
//!
//! Fetches: `src`, `src_port`, `dst`, `dst_port` (the socket's, or a received PROXY header's
//! for `use_backend`; `tcp-request connection` runs before that header, as in HAProxy),
//! `fe_name`, `so_id`, `nbsrv(BACKEND)`, `srv_is_up([BACKEND/]SERVER)`, `connslots([BACKEND])`,
//! `always_true`/`always_false`; HTTP ACLs reach the same fetches through [`layer4_holds`].

use crate::shared::Shared;
use hakeeper_common::config::payload::Slice;
use hakeeper_common::config::{Acl, AclTest, Cond, FrontendHttp, Mode, TcpAction, TcpRule};
use std::net::SocketAddr;

/// What layer-4 and content ACLs look at.
pub struct ConnView<'a> {
    pub src: SocketAddr,
    /// `None`: unknown (the ACLs do not read it, or getsockname failed): `dst` tests fail.
    pub dst: Option<SocketAddr>,
    pub frontend: &'a str,
    /// `so_id`: the listener's id (its bind's 1-based position in the frontend).
    pub so_id: u32,
    pub shared: &'a Shared,
    /// The request bytes received so far (empty before any data).
    pub data: &'a [u8],
    /// No more bytes can come (client FIN, full buffer).
    pub closed: bool,
    /// The result must be decided now (HAProxy's `SMP_OPT_FINAL`): the inspect delay is over,
    /// no more data can come, or the rule runs where waiting is impossible.
    pub final_: bool,
    /// The client connection's TLS, when it has some (`ssl_fc*` fetches).
    pub tls: Option<std::sync::Arc<crate::tls::TlsFacts>>,
    /// The session's sticky counters (`sc*_` fetches, `track-sc` actions).
    pub track: Option<&'a crate::stick_runtime::track::Trackers>,
}

impl<'a> ConnView<'a> {
    /// A view before any data: connection rules and switching without inspection.
    pub fn at_accept(src: SocketAddr, dst: Option<SocketAddr>, frontend: &'a str, listener: usize, shared: &'a Shared) -> Self {
        ConnView { src, dst, frontend, so_id: so_id(listener), shared, data: &[], closed: false, final_: true, tls: None, track: None }
    }
}

/// HAProxy numbers a proxy's listeners from 1 in config order (`get_next_id()` from 1 when a
/// bind has no `id`); hakeeper's binds have no `id` keyword.
pub fn so_id(listener: usize) -> u32 {
    u32::try_from(listener).map_or(u32::MAX, |l| l.saturating_add(1))
}

/// HAProxy's three-valued ACL result (`ACL_TEST_FAIL` = 0, `ACL_TEST_MISS` = 1,
/// `ACL_TEST_PASS` = 3), combined with its bit operations: OR is `|`, AND is `&`, and negation
/// turns PASS and FAIL into each other and keeps MISS ("cannot tell yet").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tri(u8);

impl Tri {
    pub const FAIL: Tri = Tri(0);
    pub const MISS: Tri = Tri(1);
    pub const PASS: Tri = Tri(3);

    fn or(self, o: Tri) -> Tri {
        Tri(self.0 | o.0)
    }

    fn and(self, o: Tri) -> Tri {
        Tri(self.0 & o.0)
    }

    fn neg(self) -> Tri {
        Tri((3 >> self.0) & 3)
    }
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

/// HAProxy's `smp_fetch_srv_is_up()`: not in maintenance, and UP or not checked (a server
/// without `check` stays UP here). DRAIN is up: it only leaves the balancing.
pub fn server_is_up(shared: &Shared, backend: usize, server: usize) -> bool {
    shared.stats.backends.get(backend).and_then(|b| b.servers.get(server)).is_some_and(|s| s.running())
}

/// HAProxy's `smp_fetch_connslots()`: over the servers that are not stopped (DOWN or MAINT),
/// `(maxconn - current sessions) + (maxqueue - queued)`, or -1 as soon as one has no
/// `maxconn` or no `maxqueue` (HAProxy's "configuration is stupid" value). hakeeper has no
/// `maxqueue`, which is HAProxy's default of 0 (unlimited): so, as HAProxy for the same
/// config, any server not stopped gives -1, and a backend whose servers are all stopped, or a
/// frontend without servers (`None`), gives 0.
pub fn conn_slots(shared: &Shared, backend: Option<usize>) -> i64 {
    let Some(stats) = backend.and_then(|b| shared.stats.backends.get(b)) else { return 0 };
    if stats.servers.iter().any(|s| s.running()) {
        -1
    } else {
        0
    }
}

/// One fetch-and-match: the sample matched or not (and may still change as data arrives), or
/// could not be fetched (and may be fetchable later).
enum Outcome {
    Sample { matched: bool, may_change: bool },
    Missing { may_change: bool },
}

fn definite(matched: bool) -> Outcome {
    Outcome::Sample { matched, may_change: false }
}

fn test_outcome(test: &AclTest, v: &ConnView<'_>) -> Outcome {
    match test {
        AclTest::Src(nets) => definite(nets.iter().any(|n| n.contains(v.src.ip()))),
        AclTest::SrcPort(m) => definite(m.matches(i64::from(v.src.port()))),
        AclTest::Dst(nets) => definite(v.dst.is_some_and(|d| nets.iter().any(|n| n.contains(d.ip())))),
        AclTest::DstPort(m) => definite(v.dst.is_some_and(|d| m.matches(i64::from(d.port())))),
        AclTest::FeName(m) => definite(m.matches(v.frontend.as_bytes())),
        AclTest::Nbsrv { id, ints, .. } => definite(ints.matches(usable_servers(v.shared, *id))),
        AclTest::Const(b) => definite(*b),
        AclTest::SrvIsUp { id: (b, s), .. } => definite(server_is_up(v.shared, *b, *s)),
        AclTest::ConnSlots { id, ints, .. } => definite(ints.matches(conn_slots(v.shared, *id))),
        AclTest::SoId(m) => definite(m.matches(i64::from(v.so_id))),
        AclTest::Tls(f) => definite(crate::tls::facts::holds(f, v.tls.as_deref())),
        AclTest::Stick(f) => match crate::stick_runtime::track::fetch(f, v.shared, v.track, v.src.ip()) {
            Some(n) => definite(f.ints.matches(i64::try_from(n).unwrap_or(i64::MAX))),
            None => Outcome::Missing { may_change: false },
        },
        // HAProxy's `smp_fetch_len()` always flags its sample SMP_F_MAY_CHANGE.
        // `res.*` read the same view: a `tcp-response content` rule's view holds the response.
        AclTest::ReqLen(m) | AclTest::ResLen(m) => Outcome::Sample { matched: m.matches(v.data.len() as i64), may_change: true },
        AclTest::SslSni(m) => slice_outcome(hakeeper_common::config::tls_hello::sni(v.data), |name| m.matches(name)),
        AclTest::SslHelloType(m) => match hakeeper_common::config::tls_hello::hello_type(v.data) {
            Some(Ok(t)) => definite(m.matches(t)),
            Some(Err(())) => Outcome::Missing { may_change: true },
            None => Outcome::Missing { may_change: false },
        },
        AclTest::Payload { at, matcher } | AclTest::ResPayload { at, matcher } => match at.fetch(v.data, v.closed) {
            Slice::Found(bytes, may_change) => Outcome::Sample { matched: matcher.matches(bytes), may_change },
            Slice::TooShort => Outcome::Missing { may_change: true },
            Slice::Never => Outcome::Missing { may_change: false },
        },
        // Layer-7 tests: validation keeps them out of these rules.
        AclTest::Header { .. } | AclTest::Path(_) | AclTest::Url(_) | AclTest::Method(_) | AclTest::Version(_) => definite(false),
    }
}

/// A layer-4 test for HTTP ACLs, which see the connection as it is once the head has arrived.
pub fn layer4_holds(test: &AclTest, v: &ConnView<'_>) -> bool {
    matches!(test_outcome(test, v), Outcome::Sample { matched: true, .. })
}

/// A content sample's outcome: found (and matched or not), or missing for now or for good.
fn slice_outcome(s: Slice<'_>, matches: impl Fn(&[u8]) -> bool) -> Outcome {
    match s {
        Slice::Found(bytes, may_change) => Outcome::Sample { matched: matches(bytes), may_change },
        Slice::TooShort => Outcome::Missing { may_change: true },
        Slice::Never => Outcome::Missing { may_change: false },
    }
}

/// An ACL: its tests ORed, as HAProxy's `acl_exec_cond()` does for one term. A sample that may
/// still change makes a non-match a MISS until the result is final.
fn acl_eval(acl: &Acl, v: &ConnView<'_>) -> Tri {
    let mut res = Tri::FAIL;
    for test in &acl.tests {
        match test_outcome(test, v) {
            Outcome::Missing { may_change } => {
                if may_change && !v.final_ {
                    res = res.or(Tri::MISS);
                }
            }
            Outcome::Sample { matched, may_change } => {
                if matched {
                    return Tri::PASS;
                }
                if may_change && !v.final_ {
                    res = res.or(Tri::MISS);
                }
            }
        }
    }
    res
}

/// A condition's OR of ANDs before `unless` is applied: an AND stops at its first term that
/// does not pass, the OR at the first alternative that passes.
pub fn cond_eval(cond: &Cond, acls: &[Acl], v: &ConnView<'_>) -> Tri {
    let mut res = Tri::FAIL;
    for all in &cond.any_of {
        let mut suite = Tri::PASS;
        for r in all {
            let mut t = acls.get(r.acl).map_or(Tri::FAIL, |a| acl_eval(a, v));
            if r.negate {
                t = t.neg();
            }
            suite = suite.and(t);
            if suite != Tri::PASS {
                break;
            }
        }
        res = res.or(suite);
        if res == Tri::PASS {
            break;
        }
    }
    res
}

/// Whether `cond` holds; anything undecided counts as not matching.
pub fn cond_holds(cond: &Cond, acls: &[Acl], v: &ConnView<'_>) -> bool {
    (cond_eval(cond, acls, v) == Tri::PASS) != cond.unless
}

fn applies(cond: Option<&Cond>, acls: &[Acl], v: &ConnView<'_>) -> bool {
    cond.is_none_or(|c| cond_holds(c, acls, v))
}

/// What `tcp-request content` rules decided so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentVerdict {
    /// A rule cannot be decided on the data present: wait for more (or for the delay's end).
    Wait,
    Accept,
    Reject,
    SilentDrop,
    /// `tcp-response content close`.
    Close,
}

/// `tcp-request content` rules in order, as HAProxy's `tcp_inspect_request()` (and
/// `tcp-response content` rules, as `tcp_inspect_response()`): a rule whose
/// condition is undecided (MISS, with or without `unless`) stops the evaluation and waits;
/// the first rule that applies decides; none means accept.
pub fn content_verdict(rules: &[TcpRule], acls: &[Acl], v: &ConnView<'_>) -> ContentVerdict {
    for r in rules {
        let applies = match &r.cond {
            None => true,
            Some(c) => match cond_eval(c, acls, v) {
                Tri::MISS => return ContentVerdict::Wait,
                t => (t == Tri::PASS) != c.unless,
            },
        };
        if applies {
            return match r.action {
                TcpAction::Track { sc, table } => {
                    track_src(v, sc, table);
                    continue;
                }
                TcpAction::Accept => ContentVerdict::Accept,
                TcpAction::Reject => ContentVerdict::Reject,
                TcpAction::SilentDrop => ContentVerdict::SilentDrop,
                TcpAction::Close => ContentVerdict::Close,
            };
        }
    }
    ContentVerdict::Accept
}

/// `tcp-request connection` and `tcp-request session` rules in order: the first whose
/// condition holds decides; none means accept.
/// `track-scN` goes on to the next rule (HAProxy's `ACT_ACTION_TRK_SC*`).
pub fn connection_verdict(rules: &[TcpRule], acls: &[Acl], v: &ConnView<'_>) -> TcpAction {
    for r in rules {
        if !applies(r.cond.as_ref(), acls, v) {
            continue;
        }
        match r.action {
            TcpAction::Track { sc, table } => track_src(v, sc, table),
            action => return action,
        }
    }
    TcpAction::Accept
}

/// `track-scN src [table T]` of a tcp-request rule, on the view's counters.
fn track_src(v: &ConnView<'_>, sc: u8, table: usize) {
    let Some(trackers) = v.track else { return };
    let key = crate::stick_runtime::track::key_of(v.shared, table, &hakeeper_common::config::stick_syntax::TrackKey::Src, v.src.ip(), None);
    if let Some(key) = key {
        if !trackers.track(v.shared, sc, table, &key, crate::stick_runtime::track::Level::Connection, crate::stick::now_ms()) {
            log::debug!("stick table {} full: {} not tracked", v.shared.config.http.stick_tables[table].name, v.src.ip());
        }
    }
}

/// The `tcp-request session` rules of a frontend that has some; `None` (nothing to pay) for
/// every other frontend.
#[inline]
pub fn session_rules(shared: &Shared, frontend: usize) -> Option<&hakeeper_common::config::FrontendHttp> {
    shared.config.http.frontends.get(frontend).filter(|h| !h.tcp_session.is_empty())
}

/// The backend of the first `use_backend` rule whose condition holds.
pub fn switch_backend(fe: &FrontendHttp, v: &ConnView<'_>) -> Option<usize> {
    fe.use_backend.iter().find(|u| applies(u.cond.as_ref(), &fe.acls, v)).map(|u| u.backend)
}

/// Whether any of these ACLs reads the destination (worth a getsockname).
pub fn reads_dst(acls: &[Acl]) -> bool {
    acls.iter().flat_map(|a| &a.tests).any(|t| matches!(t, AclTest::Dst(_) | AclTest::DstPort(_)))
}

/// Whether a frontend switches TCP connections by content or inspects them first: its
/// backend is chosen when the session starts (or its inspection ends), not at accept.
pub fn tcp_switching(shared: &Shared, frontend: usize) -> bool {
    shared.config.frontends.get(frontend).is_some_and(|f| f.mode == Mode::Tcp)
        && shared.config.http.frontends.get(frontend).is_some_and(|h| !h.use_backend.is_empty() || !h.tcp_content.is_empty())
}

/// The inspect delay of a mode tcp frontend with `tcp-request content` rules; `None` for every
/// other frontend, which pays nothing for the feature.
#[inline]
pub fn content_inspection(shared: &Shared, frontend: usize) -> Option<std::time::Duration> {
    let h = shared.config.http.frontends.get(frontend)?;
    if h.tcp_content.is_empty() || shared.config.frontends.get(frontend).is_none_or(|f| f.mode != Mode::Tcp) {
        return None;
    }
    Some(h.inspect_delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::config::http_syntax::{
        parse_cond, parse_criterion, parse_tcp_connection_rule, parse_tcp_content_rule, split_words, AclTable,
    };

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
        // Validation's resolution, by hand: backend "db" is 0, its servers a and b are 0 and 1.
        match &mut test {
            AclTest::Nbsrv { id, .. } => *id = 0,
            AclTest::SrvIsUp { server, id, .. } => *id = (0, usize::from(server == "b")),
            AclTest::ConnSlots { backend, id, .. } => *id = backend.as_ref().map(|_| 0),
            _ => {}
        }
        acl_eval(&Acl { name: "t".into(), tests: vec![test] }, v) == Tri::PASS
    }

    #[test]
    fn layer4_fetches() {
        let (sh, _poll) = shared();
        let v = ConnView::at_accept("192.0.2.7:40000".parse().unwrap(), Some("10.0.0.5:8066".parse().unwrap()), "fe", 0, &sh);
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
    fn server_state_and_listener_fetches_as_haproxy() {
        use hakeeper_common::ipc::AdminState;
        use std::sync::atomic::Ordering::Relaxed;
        let (sh, _poll) = shared();
        let v = ConnView::at_accept("192.0.2.7:40000".parse().unwrap(), None, "fe", 1, &sh);
        assert!(holds("so_id 2", &v) && !holds("so_id 1", &v), "the second bind is listener 2");
        assert!(holds("srv_is_up(db/a)", &v) && holds("srv_is_up(db/b)", &v));
        // Both servers have no maxconn: HAProxy's "stupid configuration" value.
        assert_eq!(conn_slots(&sh, Some(0)), -1);
        assert!(holds("connslots(db) lt 0", &v) && !holds("connslots(db) ge 0", &v));
        assert!(holds("connslots eq 0", &v), "a frontend without servers has none");
        let st = &sh.stats.backends[0].servers;
        st[0].up.store(false, Relaxed);
        assert!(!holds("srv_is_up(db/a)", &v) && holds("srv_is_up(db/b)", &v));
        // DRAIN leaves the balancing but the server is up; MAINT is not.
        st[1].admin.store(crate::counters::admin_code(AdminState::Drain), Relaxed);
        assert!(holds("srv_is_up(db/b)", &v));
        assert_eq!(conn_slots(&sh, Some(0)), -1, "a draining server is not stopped");
        st[1].admin.store(crate::counters::admin_code(AdminState::Maint), Relaxed);
        assert!(!holds("srv_is_up(db/b)", &v));
        assert_eq!(conn_slots(&sh, Some(0)), 0, "stopped servers are skipped");
        assert!(!server_is_up(&sh, 0, 7) && !server_is_up(&sh, 3, 0), "out of range");
        assert_eq!(so_id(0), 1);
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
        let at = |src: &str| ConnView::at_accept(src.parse().unwrap(), None, "fe", 0, &sh);
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

    fn content_rules(rules: &[&str], acls: &[(&str, &str)]) -> (Vec<TcpRule>, Vec<Acl>) {
        let mut t = AclTable::default();
        for (name, c) in acls {
            t.define(name, parse_criterion(&split_words(c).unwrap()).unwrap());
        }
        let rules = rules.iter().map(|r| parse_tcp_content_rule(r, &mut t).unwrap()).collect();
        (rules, t.into_acls())
    }

    #[test]
    fn three_valued_logic_as_haproxy() {
        assert_eq!(Tri::MISS.neg(), Tri::MISS);
        assert_eq!(Tri::PASS.neg(), Tri::FAIL);
        assert_eq!(Tri::FAIL.neg(), Tri::PASS);
        assert_eq!(Tri::MISS.or(Tri::PASS), Tri::PASS);
        assert_eq!(Tri::MISS.and(Tri::FAIL), Tri::FAIL);
        assert_eq!(Tri::MISS.and(Tri::PASS), Tri::MISS);
    }

    #[test]
    fn content_rules_wait_for_data_until_final() {
        let (sh, _poll) = shared();
        let (rules, acls) = content_rules(
            &["reject if ssh", "accept if tls", "accept if { req.len ge 4 }"],
            &[("ssh", "req.payload(0,7) -m str SSH-2.0"), ("tls", "req.payload(0,1) -m bin 16")],
        );
        let at = |data: &'static [u8], final_: bool| ConnView {
            data,
            final_,
            ..ConnView::at_accept("127.0.0.1:5".parse().unwrap(), None, "fe", 0, &sh)
        };
        let v = |data, final_| content_verdict(&rules, &acls, &at(data, final_));
        assert_eq!(v(b"", false), ContentVerdict::Wait, "nothing yet: the first rule cannot tell");
        assert_eq!(v(b"SSH-2", false), ContentVerdict::Wait);
        assert_eq!(v(b"SSH-2.0-x", false), ContentVerdict::Reject);
        assert_eq!(v(b"\x16\x03\x01", false), ContentVerdict::Wait, "too short to tell it is not SSH");
        assert_eq!(v(b"\x16\x03\x01\x00\x05\x01\x00", false), ContentVerdict::Accept, "not SSH, and TLS");
        assert_eq!(v(b"GET / HTTP/1.0", false), ContentVerdict::Accept, "not SSH, not TLS, req.len reached");
        assert_eq!(v(b"GE", false), ContentVerdict::Wait, "req.len may still grow");
        assert_eq!(v(b"GE", true), ContentVerdict::Accept, "at expiry nothing matched: the default accept");
        assert_eq!(v(b"SSH", true), ContentVerdict::Accept, "a short payload is a non-match once final");
        // `unless` does not turn an undecided condition into a match.
        let (rules, acls) = content_rules(&["reject unless { req.len gt 0 }"], &[]);
        assert_eq!(content_verdict(&rules, &acls, &at(b"", false)), ContentVerdict::Wait);
        assert_eq!(content_verdict(&rules, &acls, &at(b"", true)), ContentVerdict::Reject);
        assert_eq!(content_verdict(&rules, &acls, &at(b"x", false)), ContentVerdict::Accept);
        // A layer-4 condition decides at once.
        let (rules, acls) = content_rules(&["reject if { src 127.0.0.1 }"], &[]);
        assert_eq!(content_verdict(&rules, &acls, &at(b"", false)), ContentVerdict::Reject);
        let (rules, acls) = content_rules(&["silent-drop if { req.payload(0,4) -m str DROP }"], &[]);
        assert_eq!(content_verdict(&rules, &acls, &at(b"DR", false)), ContentVerdict::Wait);
        assert_eq!(content_verdict(&rules, &acls, &at(b"DROP", false)), ContentVerdict::SilentDrop);
        assert_eq!(content_verdict(&rules, &acls, &at(b"KEEP", false)), ContentVerdict::Accept);
    }

    #[test]
    fn content_match_methods() {
        let (sh, _poll) = shared();
        let (rules, acls) = content_rules(
            &["accept if ssh", "reject if long", "accept if { req.len ge 1 }"],
            &[("ssh", "req.payload(0,0) -m reg ^SSH-[0-9]+\\.[0-9]+-"), ("long", "req.payload(0,0) -m len gt 8")],
        );
        let at = |data: &'static [u8], final_: bool| ConnView {
            data,
            final_,
            ..ConnView::at_accept("127.0.0.1:5".parse().unwrap(), None, "fe", 0, &sh)
        };
        let v = |data, final_| content_verdict(&rules, &acls, &at(data, final_));
        assert_eq!(v(b"SSH-2.0-x", false), ContentVerdict::Accept);
        assert_eq!(v(b"SSH", false), ContentVerdict::Wait, "the rest of the buffer may still grow");
        assert_eq!(v(b"GET / HTTP/1.0", true), ContentVerdict::Reject);
        assert_eq!(v(b"GET /", true), ContentVerdict::Accept);
    }

    #[test]
    fn tls_passthrough_by_server_name() {
        use hakeeper_common::config::tls_hello::client_hello;
        let (sh, _poll) = shared();
        let (rules, acls) = content_rules(
            &["accept if { req.ssl_hello_type 1 }", "reject if { req.len ge 5 } !tls"],
            &[("a", "req.ssl_sni -i a.example"), ("b", "req.ssl_sni -m end .b.example"), ("tls", "req.ssl_hello_type 1")],
        );
        let at = |data: &[u8], final_: bool| -> (ContentVerdict, bool, bool) {
            let data: &'static [u8] = Box::leak(data.to_vec().into_boxed_slice());
            let v = ConnView { data, final_, ..ConnView::at_accept("127.0.0.1:5".parse().unwrap(), None, "fe", 0, &sh) };
            let holds = |name: &str| acls.iter().find(|a| a.name == name).is_some_and(|a| acl_eval(a, &v) == Tri::PASS);
            (content_verdict(&rules, &acls, &v), holds("a"), holds("b"))
        };
        let hello = client_hello("A.Example");
        assert_eq!(at(&hello, false), (ContentVerdict::Accept, true, false), "-i matches the name whatever its case");
        assert_eq!(at(&client_hello("www.b.example"), false), (ContentVerdict::Accept, false, true));
        assert_eq!(at(&hello[..20], false).0, ContentVerdict::Wait, "half a hello waits");
        assert_eq!(at(&hello[..20], true).0, ContentVerdict::Reject, "at the delay's end an incomplete hello is not TLS");
        assert_eq!(at(b"GET / HTTP/1.1\r\n", false).0, ContentVerdict::Reject, "not TLS: decided at once");
    }

    #[test]
    fn payload_lv_and_negation() {
        let (sh, _poll) = shared();
        // A TLS record (type 0x16) whose 2-byte length at 3 is followed by a ClientHello.
        let hello: &[u8] = b"\x16\x03\x01\x00\x02\x01\x00";
        let (rules, acls) =
            content_rules(&["accept if !short hello"], &[("short", "req.len lt 5"), ("hello", "req.payload_lv(3,2) -m bin 0100")]);
        let at = |data: &'static [u8], final_: bool| ConnView {
            data,
            final_,
            ..ConnView::at_accept("127.0.0.1:5".parse().unwrap(), None, "fe", 0, &sh)
        };
        assert_eq!(content_verdict(&rules, &acls, &at(&hello[..6], false)), ContentVerdict::Wait);
        // `req.len` may always change: a negated one stays undecided until the end (HAProxy).
        assert_eq!(content_verdict(&rules, &acls, &at(hello, false)), ContentVerdict::Wait);
        assert_eq!(content_verdict(&rules, &acls, &at(hello, true)), ContentVerdict::Accept);
        let (rules, acls) = content_rules(&["accept if hello"], &[("hello", "req.payload_lv(3,2) -m bin 0100")]);
        assert_eq!(content_verdict(&rules, &acls, &at(&hello[..6], false)), ContentVerdict::Wait);
        assert_eq!(content_verdict(&rules, &acls, &at(hello, false)), ContentVerdict::Accept);
        assert_eq!(content_verdict(&rules, &acls, &at(b"\x16\x03\x01\x00\x01\x02", false)), ContentVerdict::Accept, "other: default");
    }
}
