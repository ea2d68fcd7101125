//! Config parsing and validation: good configs load, and each kind of mistake is reported at the
//! line and column of the field at fault.

use super::*;
use std::time::Duration;

const GOOD: &str = r#"(
  global: (user: "nobody", maxconn: 4096,
           log: (target: "udp://127.0.0.1:514", facility: "local1")),
  defaults: (mode: tcp, retries: 3, redispatch: true, abortonclose: true, maxconn: 2000,
             timeout: (connect: "5s", client: "50s", server: "50s")),
  listen: [(name: "proxy_status", bind: ["*:48066"], balance: roundrobin,
            servers: [(name: "server_1", addr: "192.0.2.1:8066", check: (inter: "10s")),
                      (name: "server_2", addr: "192.0.2.2:8066")])],
  stats: (bind: ":7777", uri: "/admin", auth: [("mldn", "java")], refresh: "30s", hide_version: true, admin: true),
  vrrp: (router_id: "lb1",
         scripts: [(name: "chk", builtin: proxy_alive, interval: "2s", weight: 2)],
         instances: [(name: "VI_1", interface: "eth1", vrid: 35, priority: 120, advert_int: "1s",
                      auth: pass("1111"), vips: ["192.0.2.100"], track: [(script: "chk")])]),
)"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load_str("t.ron", text) {
        Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        Err(ConfigError::Invalid(d)) => d,
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Asserts exactly one error at `line:col` whose text contains `needle`.
fn assert_error(text: &str, line: usize, col: usize, needle: &str) {
    let errs = errors(text);
    assert!(
        errs.iter().any(|d| d.line == line && d.col == col && d.to_string().contains(needle)),
        "expected error at {line}:{col} containing {needle:?}, got:\n{}",
        errs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn good_config_loads_with_defaults_applied() {
    let loaded = load_str("t.ron", GOOD).unwrap();
    let c = loaded.config;
    assert_eq!(c.frontends.len(), 1);
    assert_eq!(c.backends.len(), 1);
    let fe = &c.frontends[0];
    assert_eq!(fe.binds, vec!["0.0.0.0:48066".parse().unwrap()]);
    assert_eq!(fe.default_backend, Some(0));
    assert_eq!(fe.timeout_client, Duration::from_secs(50));
    let be = &c.backends[0];
    assert!(be.redispatch);
    assert_eq!(be.retries, 3);
    assert_eq!(be.timeout_queue, Duration::from_secs(5), "queue timeout defaults to connect");
    assert_eq!(be.servers[0].check.as_ref().unwrap().inter, Duration::from_secs(10));
    assert_eq!(be.servers[0].check.as_ref().unwrap().rise, 2);
    assert_eq!(be.servers[1].id, 2);
    assert!(be.servers[1].check.is_none());
    let stats = c.stats.unwrap();
    assert_eq!(stats.bind, "0.0.0.0:7777".parse().unwrap());
    assert_eq!(c.vrrp.instances[0].vrid, 35);
    assert_eq!(c.vrrp.instances[0].auth, VrrpAuth::Pass("1111".into()));
    assert_eq!(c.vrrp.instances[0].track[0].weight, 2);
}

#[test]
fn syntax_error_is_positioned() {
    assert_error("(\n  global: (maxconn: 12,,),\n)", 2, 24, "");
}

#[test]
fn unknown_field_is_rejected_with_position() {
    let e = errors("(\n  global: (\n    maxcon: 10),\n)");
    assert_eq!((e[0].line, e[0].col), (3, 5), "{}", e[0]);
    assert!(e[0].message.contains("maxcon"), "{}", e[0]);
}

#[test]
fn wrong_type_is_rejected() {
    let e = errors("(\n  global: (maxconn: \"lots\"),\n)");
    assert_eq!(e[0].line, 2, "{}", e[0]);
}

#[test]
fn bad_bind_address() {
    assert_error("(\n listen: [(name: \"a\",\n   bind: [\"*:99999\"])],\n)", 3, 11, "listen[0].bind[0]: invalid address");
}

#[test]
fn bad_server_address() {
    assert_error(
        "(\n listen: [(name: \"a\", bind: [\":1\"], servers: [\n   (name: \"s\", addr: \"10.0.0.300:80\")])],\n)",
        3,
        16,
        "listen[0].servers[0].addr: invalid server address",
    );
}

#[test]
fn duplicate_proxy_names() {
    assert_error("(\n backend: [(name: \"b\"),\n  (name: \"b\")],\n)", 3, 4, "duplicate backend name \"b\"");
}

#[test]
fn duplicate_server_names() {
    assert_error(
        "(\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\"),\n (name: \"s\", addr: \"127.0.0.1:2\")])],\n)",
        3,
        3,
        "duplicate server name",
    );
}

#[test]
fn dangling_backend_name() {
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"],\n    default_backend: \"nowhere\")],\n)",
        3,
        5,
        "frontend[0].default_backend: no backend named \"nowhere\"",
    );
}

#[test]
fn duplicate_vrid_on_one_interface() {
    let text = "(\n vrrp: (instances: [\n  (name: \"a\", interface: \"eth0\", vrid: 7, priority: 100, vips: [\"192.0.2.1\"]),\n  (name: \"b\", interface: \"eth0\", vrid: 7, priority: 100, vips: [\"192.0.2.2\"]),\n ]),\n)";
    assert_error(text, 4, 34, "duplicate VRID 7 on interface eth0");
    // The same VRID on another interface is fine.
    let ok = text.replacen(
        "\"eth0\", vrid: 7, priority: 100, vips: [\"192.0.2.2\"]",
        "\"eth1\", vrid: 7, priority: 100, vips: [\"192.0.2.2\"]",
        1,
    );
    load_str("t.ron", &ok).unwrap();
}

#[test]
fn bad_durations() {
    assert_error("(\n defaults: (timeout: (\n   connect: \"5 parsecs\")),\n)", 3, 4, "defaults");
    assert_error("(\n defaults: (timeout: (connect: \"5x\")),\n)", 2, 23, "invalid duration");
}

#[test]
fn weight_out_of_range() {
    assert_error(
        "(\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\",\n  weight: 300)])],\n)",
        3,
        3,
        "weight 300 out of range",
    );
}

#[test]
fn vrid_and_priority_out_of_range() {
    let text = "(\n vrrp: (instances: [(name: \"a\", interface: \"eth0\",\n   vrid: 0, priority: 300, vips: [\"192.0.2.1\"])]),\n)";
    assert_error(text, 3, 4, "vrid 0 out of range");
    assert_error(text, 3, 13, "priority 300 out of range");
}

#[test]
fn unknown_track_script() {
    assert_error(
        "(\n vrrp: (instances: [(name: \"a\", interface: \"eth0\", vrid: 1, priority: 100, vips: [\"192.0.2.1\"],\n   track: [(script: \"nope\")])]),\n)",
        3,
        13,
        "no script named \"nope\"",
    );
}

#[test]
fn bind_in_backend_and_servers_in_frontend() {
    assert_error("(\n backend: [(name: \"b\", bind: [\":80\"])],\n)", 2, 24, "not allowed in a backend");
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], servers: [(name: \"s\", addr: \"127.0.0.1:1\")])],\n)",
        2,
        40,
        "not allowed in a frontend",
    );
}

#[test]
fn same_address_bound_twice() {
    assert_error("(\n listen: [(name: \"a\", bind: [\":80\"]),\n  (name: \"b\", bind: [\"0.0.0.0:80\"])],\n)", 3, 22, "already bound");
}

#[test]
fn mode_mismatch_between_frontend_and_backend() {
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http, default_backend: \"b\")],\n backend: [(name: \"b\", mode: tcp)],\n)",
        2,
        40,
        "http mode but its backend",
    );
}

#[test]
fn ipv6_vip_needs_v3() {
    assert_error(
        "(\n vrrp: (instances: [(name: \"a\", interface: \"eth0\", vrid: 1, priority: 100,\n  vips: [\"2001:db8::1\"])]),\n)",
        2,
        21,
        "need VRRP version 3",
    );
}

#[test]
fn bad_log_facility() {
    assert_error("(\n global: (log: (target: \"udp://127.0.0.1:514\",\n  facility: \"local9\")),\n)", 3, 3, "unknown syslog facility");
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let e = errors("(\n listen: [(name: \"a\", bind: [\"x\"], servers: [(name: \"s\", addr: \"y\")])],\n)");
    assert!(e.len() >= 2, "{e:?}");
}

#[test]
fn missing_file_is_a_read_error() {
    let e = load_file(std::path::Path::new("/nonexistent/hakeeper.ron")).err().unwrap();
    assert!(e.to_string().starts_with("/nonexistent/hakeeper.ron: cannot read config"), "{e}");
}

#[test]
fn nopreempt_with_state_master_warns() {
    let loaded = load_str(
        "t.ron",
        "(vrrp: (instances: [(name: \"a\", interface: \"eth0\", vrid: 1, priority: 100, state: master, preempt: false, vips: [\"192.0.2.1\"])]))",
    )
    .unwrap();
    assert!(loaded.warnings.iter().any(|w| w.message.contains("nopreempt")));
    assert!(loaded.config.vrrp.instances[0].preempt);
}

#[test]
fn raw_config_round_trips_through_ron() {
    let raw = parse_raw("t.ron", GOOD).unwrap();
    let text = to_ron(&raw).unwrap();
    let again = parse_raw("out.ron", &text).unwrap();
    assert_eq!(raw, again, "{text}");
}

/// The seed's HTTP setup in RON: host routing, cookie persistence, forwardfor, httpclose.
const HTTP: &str = r#"(
  defaults: (mode: http, forwardfor: (), http_connection: close, log_format: httplog,
             errorfiles: [(code: 503, file: "errors/503.http")]),
  frontend: [(name: "main", bind: ["*:80"],
              acls: [(name: "web", criterion: "hdr(host) -i www.abc.com"),
                     (name: "img", criterion: "hdr(host) -i img.abc.com")],
              use_backend: [(backend: "webserver", cond: "if web"),
                            (backend: "imgserver", cond: "if img")],
              http_request: ["deny deny_status 403 if { src 192.0.2.66 }", "set-header X-Proto http"],
              default_backend: "dynamic")],
  backend: [(name: "webserver", balance: roundrobin,
             cookie: (name: "SERVERID", mode: insert, indirect: true, nocache: true),
             servers: [(name: "web1", addr: "192.0.2.1:8066", cookie: "1", weight: 5),
                       (name: "web2", addr: "192.0.2.2:8066", cookie: "2", weight: 3)]),
            (name: "imgserver", balance: source, servers: [(name: "img1", addr: "192.0.2.3:80")]),
            (name: "dynamic", balance: leastconn, persist: true, http_connection: server_close,
             errorfiles: [(code: 502, file: "/nonexistent/502.http")],
             servers: [(name: "app1", addr: "192.0.2.6:8080")])],
)"#;

#[test]
fn http_settings_load_into_the_l7_model() {
    let c = load_str("t.ron", HTTP).unwrap().config;
    let fe = &c.http.frontends[0];
    assert_eq!(fe.acls.len(), 3, "two named ACLs and one anonymous");
    assert_eq!(fe.use_backend.len(), 2);
    assert_eq!(c.backends[fe.use_backend[0].backend].name, "webserver");
    assert_eq!(c.backends[fe.use_backend[1].backend].name, "imgserver");
    assert_eq!(fe.use_backend[1].cond, Some(Cond { unless: false, any_of: vec![vec![AclRef { negate: false, acl: 1 }]] }));
    assert_eq!(fe.request_rules[0].action, RequestAction::Deny { status: 403 });
    assert_eq!(fe.connection, HttpConnMode::Close);
    assert_eq!(fe.forwardfor.as_ref().unwrap().header, "X-Forwarded-For");
    assert_eq!(fe.errorfiles.len(), 1);
    assert_eq!(fe.errorfiles[0].field, "defaults.errorfiles[0].file");
    assert_eq!(fe.listen_backend, None);
    let web = &c.http.backends[0];
    let cookie = web.cookie.as_ref().unwrap();
    assert_eq!((cookie.name.as_str(), cookie.mode, cookie.indirect, cookie.nocache), ("SERVERID", CookieMode::Insert, true, true));
    assert!(!web.persist);
    let dynamic = &c.http.backends[2];
    assert!(dynamic.persist);
    assert_eq!(dynamic.connection, HttpConnMode::ServerClose);
    let codes: Vec<u16> = dynamic.errorfiles.iter().map(|e| e.code).collect();
    assert_eq!(codes, vec![502, 503], "own errorfile first, then the inherited one");
}

#[test]
fn timeout_tunnel_is_inherited_per_backend_and_checked() {
    let text = r#"(defaults: (mode: http, timeout: (tunnel: "1h")),
      listen: [(name: "l", bind: [":8080"], servers: [(name: "s", addr: "192.0.2.1:80")])],
      backend: [(name: "ws", timeout: (tunnel: "30s"), servers: [(name: "s", addr: "192.0.2.2:80")])])"#;
    let c = load_str("t.ron", text).unwrap().config;
    assert_eq!(c.http.backends[0].timeout_tunnel, Some(Duration::from_secs(3600)), "inherited from defaults");
    assert_eq!(c.http.backends[1].timeout_tunnel, Some(Duration::from_secs(30)));
    let c = load_str("t.ron", r#"(backend: [(name: "b", mode: http, servers: [(name: "s", addr: "192.0.2.2:80")])])"#).unwrap().config;
    assert_eq!(c.http.backends[0].timeout_tunnel, None, "unset: client and server timeouts apply");
    // A listen's tunnel timeout is checked although its other L7 settings are checked once.
    assert_error("(listen: [(name: \"l\", bind: [\":8080\"],\n  timeout: (tunnel: \"5x\"))])", 2, 13, "listen[0].timeout.tunnel");
}

#[test]
fn listen_shares_its_rules_with_its_backend_and_points_at_it() {
    let text = r#"(listen: [(name: "l", bind: [":8080"], mode: http, acls: [(name: "a", criterion: "path_beg /x")],
        http_request: ["deny if a"], servers: [(name: "s", addr: "192.0.2.1:80")])])"#;
    let c = load_str("t.ron", text).unwrap().config;
    assert_eq!(c.http.frontends[0].listen_backend, Some(0));
    assert_eq!(c.http.backends[0].request_rules, c.http.frontends[0].request_rules);
}

#[test]
fn forwardfor_unit_struct_and_options() {
    let text =
        r#"(frontend: [(name: "f", bind: [":80"], mode: http, forwardfor: (except: "127.0.0.0/8", header: "X-Client", if_none: true))])"#;
    let c = load_str("t.ron", text).unwrap().config;
    let ff = c.http.frontends[0].forwardfor.clone().unwrap();
    assert_eq!((ff.except.unwrap().prefix_len, ff.header.as_str(), ff.if_none), (8, "X-Client", true));
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  forwardfor: (except: \"127.0.0.0/40\"))],\n)",
        3,
        16,
        "invalid network",
    );
}

#[test]
fn use_backend_names_must_resolve() {
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  use_backend: [(backend: \"nowhere\", cond: \"if TRUE\")])],\n)",
        3,
        18,
        "frontend[0].use_backend[0].backend: no backend named \"nowhere\"",
    );
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  use_backend: [(backend: \"b\")])],\n backend: [(name: \"b\", mode: tcp)],\n)",
        3,
        18,
        "tcp mode",
    );
}

#[test]
fn bad_acls_and_conditions_are_positioned() {
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  acls: [(name: \"a\", criterion: \"cook(x) y\")])],\n)",
        3,
        22,
        "acls[0].criterion: unknown fetch \"cook\"",
    );
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  use_backend: [(backend: \"f2\",\n    cond: \"if web\")])],\n backend: [(name: \"f2\", mode: http)],\n)",
        4,
        5,
        "no ACL named \"web\"",
    );
}

#[test]
fn bad_http_rules_are_positioned() {
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  http_request: [\"allow\", \"tarpit now\"])],\n)",
        3,
        27,
        "http_request[1]: tarpit: unexpected \"now\"",
    );
    assert_error("(\n backend: [(name: \"b\", mode: http,\n  http_response: [\"deny deny_status 299\"])],\n)", 3, 19, "deny_status 299");
}

#[test]
fn l7_rules_are_not_allowed_in_defaults() {
    assert_error(
        "(\n defaults: (mode: http,\n  acls: [(name: \"a\", criterion: \"src 10.0.0.0/8\")]),\n)",
        3,
        3,
        "not allowed in defaults",
    );
}

#[test]
fn cookie_values_must_tell_servers_apart() {
    let text = "(\n backend: [(name: \"b\", mode: http, cookie: (name: \"S\", mode: insert), servers: [\n  (name: \"a\", addr: \"192.0.2.1:80\", cookie: \"1\"),\n  (name: \"b\", addr: \"192.0.2.2:80\", cookie: \"1\")])],\n)";
    assert_error(text, 4, 37, "also the cookie of servers[0]");
    assert_error(
        "(\n backend: [(name: \"b\", mode: http, cookie: (name: \"S\", mode: insert), servers: [\n  (name: \"a\", addr: \"192.0.2.1:80\", cookie: \"x;y\")])],\n)",
        3,
        37,
        "invalid cookie value",
    );
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  cookie: (name: \"S\"))],\n)",
        3,
        3,
        "not allowed in a frontend",
    );
}

#[test]
fn errorfile_codes_are_checked() {
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], mode: http,\n  errorfiles: [(code: 302, file: \"/x\")])],\n)",
        3,
        17,
        "errorfile code 302",
    );
}

#[test]
fn l7_settings_in_tcp_mode_warn() {
    let loaded = load_str("t.ron", r#"(frontend: [(name: "f", bind: [":80"], http_request: ["deny"])])"#).unwrap();
    assert!(loaded.warnings.iter().any(|w| w.field == "frontend[0].http_request" && w.message.contains("ignored in mode tcp")));
}

/// Content switching in mode tcp reads layer-4 fetches only (HAProxy refuses layer-7 ones
/// without inspect-delay): a Host ACL is an error at the rule, a `src` one is fine.
#[test]
fn use_backend_in_a_tcp_frontend_needs_layer4_acls() {
    let text = "(\n frontend: [(name: \"db\", bind: [\":3306\"], default_backend: \"replica\",\n  acls: [(name: \"app\", criterion: \"hdr(host) -i x\")],\n  use_backend: [(backend: \"primary\", cond: \"if app\")])],\n backend: [(name: \"primary\", servers: [(name: \"p\", addr: \"127.0.0.1:1\")]), (name: \"replica\", servers: [(name: \"r\", addr: \"127.0.0.1:2\")])],\n)";
    assert_error(text, 4, 17, "reads HTTP (layer 7)");
    let good = text.replace("hdr(host) -i x", "src 10.0.1.0/24").replace("if app", "if app || { nbsrv(replica) lt 1 }");
    if let Err(e) = load_str("t.ron", &good) {
        panic!("{e}");
    }
    let unknown = good.replace("nbsrv(replica)", "nbsrv(nosuch)");
    assert!(errors(&unknown).iter().any(|d| d.to_string().contains("no backend named \"nosuch\"")));
}

#[test]
fn tcp_request_connection_rules_validate() {
    let text = "(\n frontend: [(name: \"db\", bind: [\":3306\"], default_backend: \"b\",\n  acls: [(name: \"bad\", criterion: \"src 192.0.2.0/24\")],\n  tcp_request_connection: [\"accept if { src_port 1024: }\", \"reject if bad\"])],\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\")])],\n)";
    let loaded = load_str("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.http.frontends[0].tcp_connection.len(), 2);
    let layer7 = text.replace("src 192.0.2.0/24", "path_beg /x");
    assert!(errors(&layer7).iter().any(|d| d.to_string().contains("tcp_request_connection[1]") && d.to_string().contains("layer 7")));
    let bad_verb = text.replace("reject if bad", "tarpit if bad");
    assert!(errors(&bad_verb).iter().any(|d| d.to_string().contains("not supported (accept, reject, silent-drop and track-sc0/1/2 are)")));
    let dropped = load_str("t.ron", &text.replace("reject if bad", "silent-drop if bad")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dropped.config.http.frontends[0].tcp_connection[1].action, crate::config::tcp::TcpAction::SilentDrop);
    // Session rules: layer 4 only (they run before any data), not in backends nor defaults.
    let session = text.replace("tcp_request_connection:", "tcp_request_session:");
    let loaded = load_str("t.ron", &session).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.http.frontends[0].tcp_session.len(), 2);
    let layer7 = session.replace("src 192.0.2.0/24", "path_beg /x");
    assert!(errors(&layer7).iter().any(|d| d.to_string().contains("tcp_request_session[1]") && d.to_string().contains("layer 7")));
    let content = session.replace("src 192.0.2.0/24", "req.len gt 1");
    assert!(errors(&content).iter().any(|d| d.to_string().contains("tcp_request_session[1]")));
    let in_backend = session
        .replace("  tcp_request_session: [\"accept if { src_port 1024: }\", \"reject if bad\"])],", "  )],")
        .replace("(name: \"b\", servers:", "(name: \"b\", tcp_request_session: [\"reject\"], servers:");
    assert!(
        errors(&in_backend).iter().any(|d| d.to_string().contains("`tcp_request_session` is not allowed in a backend")),
        "{:?}",
        errors(&in_backend)
    );
    // HTTP rules read connection fetches, as in HAProxy.
    let http =
        text.replace("bind: [\":3306\"],", "bind: [\":80\"], mode: http,").replace("(name: \"b\",", "(name: \"b\", mode: http,").replace(
            "tcp_request_connection: [\"accept if { src_port 1024: }\", \"reject if bad\"]",
            "use_backend: [(backend: \"b\", cond: \"if { dst_port 80 }\")]",
        );
    let loaded = load_str("t.ron", &http).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(loaded.config.http.frontends[0].acls[1].tests[0], AclTest::DstPort(_)));
}

#[test]
fn server_state_fetches_resolve_their_backend_and_server() {
    let text = "(\n frontend: [(name: \"fe\", bind: [\":80\"], default_backend: \"b\",\n  use_backend: [(backend: \"c\", cond: \"if ! { srv_is_up(b/s2) } || { connslots(b) lt 0 } || { so_id 2 } || { connslots ge 1 }\")])],\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\"), (name: \"s2\", addr: \"127.0.0.1:2\")]),\n  (name: \"c\", servers: [(name: \"s\", addr: \"127.0.0.1:3\")], acls: [(name: \"own\", criterion: \"srv_is_up(s)\")])],\n)";
    let loaded = load_str("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let tests: Vec<&AclTest> = loaded.config.http.frontends[0].acls.iter().flat_map(|a| &a.tests).collect();
    assert!(matches!(tests[0], AclTest::SrvIsUp { id: (0, 1), .. }), "{tests:?}");
    assert!(matches!(tests[1], AclTest::ConnSlots { id: Some(0), .. }));
    assert!(matches!(tests[2], AclTest::SoId(_)));
    assert!(matches!(tests[3], AclTest::ConnSlots { id: None, .. }), "a frontend's own proxy has no servers");
    // In a backend, a server without a backend name is the backend's own.
    assert!(matches!(loaded.config.http.backends[1].acls[0].tests[0], AclTest::SrvIsUp { id: (1, 0), .. }));
    for (broken, why) in [
        (text.replace("srv_is_up(b/s2)", "srv_is_up(c/s2)"), "no server \"s2\" in a backend named \"c\""),
        (text.replace("criterion: \"srv_is_up(s)\"", "criterion: \"srv_is_up(t)\""), "no server \"t\" in a backend named \"c\""),
        (text.replace("connslots(b)", "connslots(nosuch)"), "connslots(nosuch): no backend named \"nosuch\""),
        (text.replace("srv_is_up(s)", "srv_is_up(s) 1"), "unexpected pattern \"1\" (a boolean takes none)"),
    ] {
        assert!(errors(&broken).iter().any(|d| d.to_string().contains(why)), "{why}: {:?}", errors(&broken));
    }
}

#[test]
fn errorfiles_are_read_by_load_file_and_named_when_missing() {
    let dir = std::env::temp_dir().join(format!("hakeeper-errorfile-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("errors")).unwrap();
    std::fs::write(dir.join("errors/503.http"), "HTTP/1.0 503 Service Unavailable\nContent-Type: text/html\n\nsorry\n").unwrap();
    let good = HTTP.replace("/nonexistent/502.http", "errors/503.http");
    std::fs::write(dir.join("good.ron"), &good).unwrap();
    std::fs::write(dir.join("bad.ron"), HTTP).unwrap();
    let loaded = load_file(&dir.join("good.ron"));
    let err = load_file(&dir.join("bad.ron")).err();
    std::fs::remove_dir_all(&dir).unwrap();

    let c = loaded.unwrap().config;
    let e = &c.http.frontends[0].errorfiles[0];
    assert!(e
        .response
        .as_deref()
        .unwrap_or_default()
        .starts_with(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\nsorry\n"));
    let err = err.expect("missing errorfile accepted").to_string();
    assert!(err.contains("bad.ron:17:39: backend[2].errorfiles[0].file: cannot read errorfile /nonexistent/502.http"), "{err}");
}

#[test]
fn http_raw_config_round_trips_through_ron() {
    let raw = parse_raw("t.ron", HTTP).unwrap();
    let text = to_ron(&raw).unwrap();
    assert_eq!(raw, parse_raw("out.ron", &text).unwrap(), "{text}");
}

#[test]
fn worker_crash_limit_rise_is_configurable_and_positive() {
    let c = load_str("t.ron", "(global: (worker_crash_limit: (exits: 3, window: \"10s\", rise: \"2s\")))").unwrap().config;
    assert_eq!(c.global.worker_crash_limit.exits, 3);
    assert_eq!(c.global.worker_crash_limit.rise, Duration::from_secs(2));
    let d = load_str("t.ron", "(global: (maxconn: 10))").unwrap().config;
    assert_eq!(d.global.worker_crash_limit.rise, Duration::from_secs(10), "default rise");
    assert_error("(\n global: (worker_crash_limit: (exits: 3, window: \"10s\",\n   rise: \"0s\")),\n)", 3, 4, "rise must be more than 0");
}

#[test]
fn additional_log_targets_are_syslog_and_checked_at_their_position() {
    let text = "(global: (additional_logs: [\n  (target: \"udp://127.0.0.1:5514\", facility: \"local0\", level: \"notice\"),\n  (target: \"stderr\", facility: \"local9\")]))";
    assert_error(text, 3, 4, "global.additional_logs[1].target: an additional log target must be syslog");
    assert_error(text, 3, 22, "global.additional_logs[1].facility: unknown syslog facility \"local9\"");
    let good = "(global: (additional_logs: [(target: \"udp://127.0.0.1:5514\", facility: \"local0\", level: \"notice\")]))";
    let config = load_str("t.ron", good).map_err(|e| e.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let more = &config.config.global.additional_logs;
    assert_eq!(more.len(), 1);
    assert_eq!((&more[0].facility[..], &more[0].level[..]), ("local0", "notice"));
}

#[test]
fn connection_reuse_settings_are_inherited_and_checked() {
    use crate::config::http::HttpReuse;
    let text = r#"(defaults: (mode: http, http_reuse: always),
      backend: [(name: "a", prefer_last_server: true, servers: [(name: "s", addr: "192.0.2.1:80",
                 pool_max_conn: 10, pool_purge_delay: "2s", pool_low_conn: 2, max_reuse: 100)]),
                (name: "b", http_reuse: never, servers: [(name: "s", addr: "192.0.2.2:80")])])"#;
    let c = load_str("t.ron", text).unwrap().config;
    assert_eq!((c.http.backends[0].reuse, c.http.backends[0].prefer_last_server), (HttpReuse::Always, true), "from defaults");
    assert_eq!(c.http.backends[1].reuse, HttpReuse::Never);
    let pool = c.backends[0].servers[0].pool;
    assert_eq!((pool.max_conn, pool.purge_delay, pool.low_conn, pool.max_reuse), (Some(10), Duration::from_secs(2), 2, Some(100)));
    let default = c.backends[1].servers[0].pool;
    assert_eq!((default.max_conn, default.purge_delay, default.max_reuse), (None, Duration::from_secs(5), None), "HAProxy's defaults");
    let c = load_str("t.ron", r#"(backend: [(name: "b", mode: http, servers: [(name: "s", addr: "192.0.2.2:80")])])"#).unwrap().config;
    assert_eq!(c.http.backends[0].reuse, HttpReuse::Safe, "safe unless set");
    assert_error(
        "(backend: [(name: \"b\", servers: [(name: \"s\", addr: \"192.0.2.2:80\",\n  pool_purge_delay: \"soon\")])])",
        2,
        3,
        "backend[0].servers[0].pool_purge_delay",
    );
}

#[test]
fn stats_limits_have_small_defaults_and_are_checked() {
    let s = load_str("t.ron", GOOD).unwrap().config.stats.unwrap();
    assert_eq!((s.maxconn, s.timeout_http_request, s.timeout_client), (10, Duration::from_secs(10), Duration::from_secs(30)));
    let own = GOOD.replace("admin: true)", "admin: true, maxconn: 3, timeout: (http_request: \"2s\", client: \"5s\"))");
    let s = load_str("t.ron", &own).unwrap().config.stats.unwrap();
    assert_eq!((s.maxconn, s.timeout_http_request, s.timeout_client), (3, Duration::from_secs(2), Duration::from_secs(5)));
    let bad = |fields: &str| errors(&GOOD.replace("admin: true)", &format!("admin: true, {fields})")));
    let has = |errs: Vec<Diagnostic>, needle: &str| errs.iter().any(|d| d.to_string().contains(needle));
    assert!(has(bad("maxconn: 0"), "stats.maxconn"));
    assert!(has(bad("maxconn: 5000"), "out of range"));
    assert!(has(bad("timeout: (http_request: \"0s\")"), "stats.timeout.http_request"));
    assert!(has(bad("timeout: (client: \"0s\")"), "must be more than 0"));
    assert!(has(bad("timeout: (server: \"1s\")"), "server"));
}

#[test]
fn tcp_request_content_rules_validate() {
    let text = "(\n defaults: (tcp_request_inspect_delay: \"2s\"),\n frontend: [(name: \"mux\", bind: [\":443\"], default_backend: \"b\",\n  acls: [(name: \"tls\", criterion: \"req.payload(0,1) -m bin 16\")],\n  tcp_request_content: [\"accept if tls\", \"reject if { req.len gt 100 }\"],\n  use_backend: [(backend: \"t\", cond: \"if tls\")])],\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\")]), (name: \"t\", servers: [(name: \"s\", addr: \"127.0.0.1:2\")])],\n)";
    let loaded = load_str("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let fe = &loaded.config.http.frontends[0];
    assert_eq!((fe.tcp_content.len(), fe.inspect_delay), (2, std::time::Duration::from_secs(2)), "the delay is inherited");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let no_delay = text.replace("defaults: (tcp_request_inspect_delay: \"2s\"),", "");
    let w = load_str("t.ron", &no_delay).unwrap_or_else(|e| panic!("{e}")).warnings;
    assert!(w.iter().any(|d| d.to_string().contains("without `tcp_request_inspect_delay`")), "{w:?}");
    let layer7 = text.replace("req.len gt 100", "path_beg /x");
    assert!(errors(&layer7).iter().any(|d| d.to_string().contains("tcp_request_content[1]") && d.to_string().contains("layer 7")));
    let in_connection = text.replace("tcp_request_content:", "tcp_request_connection:");
    assert!(errors(&in_connection).iter().any(|d| d.to_string().contains("tcp_request_connection[0]")), "content fetches at accept");
    let bad_hex = text.replace("-m bin 16", "-m bin 1g");
    assert!(errors(&bad_hex).iter().any(|d| d.to_string().contains("not a hex string")));
    let http = text
        .replace("bind: [\":443\"],", "bind: [\":80\"], mode: http,")
        .replace("(name: \"b\",", "(name: \"b\", mode: http,")
        .replace("(name: \"t\",", "(name: \"t\", mode: http,");
    let e = errors(&http);
    assert!(e.iter().any(|d| d.to_string().contains("supported in mode tcp only")), "{e:?}");
    let in_backend = text.replace("(name: \"t\", servers:", "(name: \"t\", tcp_request_content: [\"reject\"], servers:");
    assert!(errors(&in_backend).iter().any(|d| d.to_string().contains("in a backend is not supported")));
}

#[test]
fn pattern_files_are_read_beside_the_config_at_load() {
    let dir = std::env::temp_dir().join(format!("hakeeper-acl-load-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("acl")).unwrap();
    std::fs::write(dir.join("acl/writers.lst"), "# the writers' network\n10.1.0.0/16\n").unwrap();
    std::fs::write(dir.join("acl/broken.lst"), "10.1.0.0/16\nnot-a-network\n").unwrap();
    let text = "(\n frontend: [(name: \"db\", bind: [\":3306\"], default_backend: \"b\",\n  acls: [(name: \"writers\", criterion: \"src -f acl/writers.lst\")],\n  use_backend: [(backend: \"b\", cond: \"if writers || { src -f acl/writers.lst }\")])],\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\")])],\n)";
    std::fs::write(dir.join("good.ron"), text).unwrap();
    std::fs::write(dir.join("bad.ron"), text.replace("acl/writers.lst\")", "acl/broken.lst\")")).unwrap();
    let good = load_file(&dir.join("good.ron"));
    let bad = load_file(&dir.join("bad.ron")).err();
    std::fs::remove_dir_all(&dir).unwrap();
    let c = good.unwrap_or_else(|e| panic!("{e}")).config;
    let nets: Vec<&AclTest> = c.http.frontends[0].acls.iter().flat_map(|a| &a.tests).collect();
    assert!(nets.iter().all(|t| matches!(t, AclTest::Src(n) if n.len() == 1 && n[0].contains("10.1.2.3".parse().unwrap()))), "{nets:?}");
    let err = bad.expect("a bad pattern accepted").to_string();
    assert!(err.contains("frontend[0].acls[0].criterion: acl/broken.lst:2: invalid network \"not-a-network\""), "{err}");
}

#[test]
fn tcp_response_rules_are_for_tcp_backends_and_read_the_response() {
    let good = "(\n listen: [(name: \"l\", bind: [\":80\"], tcp_response_inspect_delay: \"1s\",\n  tcp_response_content: [\"reject if { res.payload(0,3) -m str bad }\", \"close if { res.len gt 10 } { src 10.0.0.0/8 }\"],\n  servers: [(name: \"s\", addr: \"127.0.0.1:81\")])],\n)";
    let loaded = load_str("t.ron", good).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.http.backends[0].tcp_response.len(), 2);
    assert_eq!(loaded.config.http.backends[0].tcp_response[1].action, crate::config::tcp::TcpAction::Close);
    assert_error(
        "(\n frontend: [(name: \"f\", bind: [\":80\"], default_backend: \"b\",\n  tcp_response_content: [\"accept\"])],\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:81\")])],\n)",
        3,
        3,
        "not allowed in a frontend",
    );
    assert_error(
        "(\n backend: [(name: \"b\", mode: http,\n  tcp_response_content: [\"accept\"], servers: [(name: \"s\", addr: \"127.0.0.1:81\")])],\n)",
        3,
        3,
        "mode tcp only",
    );
    assert_error(
        "(\n listen: [(name: \"l\", bind: [\":80\"],\n  tcp_response_content: [\"reject if { req.len gt 1 }\"], servers: [(name: \"s\", addr: \"127.0.0.1:81\")])],\n)",
        3,
        26,
        "reads the request",
    );
    assert_error(
        "(\n listen: [(name: \"l\", bind: [\":80\"], tcp_request_inspect_delay: \"1s\",\n  tcp_request_content: [\"reject if { res.len gt 1 }\"], servers: [(name: \"s\", addr: \"127.0.0.1:81\")])],\n)",
        3,
        25,
        "only `tcp_response_content` rules",
    );
}

#[test]
fn proxy_v2_options_need_a_version_2_header() {
    assert_error(
        "(\n backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\",\n   send_proxy: v1, proxy_v2_options: [ssl])])],\n)",
        3,
        20,
        "set `send_proxy: v2`",
    );
    let ok = load_str(
        "t.ron",
        "(backend: [(name: \"b\", servers: [(name: \"s\", addr: \"127.0.0.1:1\", send_proxy: v2, proxy_v2_options: [cert_cn, crc32c])])])",
    )
    .expect("valid");
    let o = ok.config.backends[0].servers[0].proxy_v2;
    assert!(o.cert_cn && o.crc32c && o.sends_ssl() && !o.authority);
}

/// In mode tcp a stick rule can only use the client address; `src` rules load.
#[test]
fn tcp_stick_rules_take_src_only() {
    let base = |rules: &str| {
        format!(
            r#"(defaults: (mode: tcp),
  listen: [(name: "db", bind: ["127.0.0.1:3306"], stick_table: (key: ip, size: 10, expire: "1m"),
            stick_rules: [{rules}], servers: [(name: "a", addr: "127.0.0.1:3307")])])"#
        )
    };
    assert!(load_str("t.ron", &base(r#""on src""#)).is_ok());
    let errs = errors(&base(r#""on src", "match hdr(x)""#));
    assert!(
        errs.iter().any(|d| d.to_string().contains("stick_rules[1]") && d.to_string().contains("only use `src`")),
        "{}",
        errs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
    );
}
