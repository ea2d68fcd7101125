//! Stick tables, tracking and stick rules from haproxy.cfg: HAProxy's rate-limit recipes and
//! session-cookie persistence translate whole and pass `hakeeper check`.

use super::haproxy::{import_ok, line_of};
use super::*;
use crate::config::raw::*;

#[test]
fn rate_limit_recipes_and_cookie_stickiness_translate() {
    // HAProxy refuses a table naming a peers section that does not exist: the section is here.
    let text = "\
peers lb
  peer lb1 192.0.2.1:10000
frontend fe
  mode http
  bind :80
  stick-table type ip size 100k expire 30s nopurge peers lb store http_req_rate(10s),conn_cur store gpc0
  tcp-request connection track-sc1 src
  tcp-request connection reject if { sc1_conn_cur gt 10 }
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 20 }
  http-request sc-inc-gpc0(0) if { path_beg /login }
  http-request deny if { src_get_gpc0 gt 5 }
  default_backend app
backend app
  mode http
  stick-table type string len 32 size 1m expire 30m
  acl static path_beg /static
  stick on req.cook(JSESSIONID) unless static
  stick store-response res.cook(JSESSIONID)
  server s1 10.0.0.1:80
  server s2 10.0.0.2:80
backend db
  stick-table type ip size 200k expire 30m
  stick on src
  server d1 10.0.0.3:3306
";
    let imported = import_ok(text);
    assert_eq!(imported.lossy().count(), 0, "{:?}", printed(&imported));
    let fe = &imported.config.frontend[0];
    assert_eq!(
        fe.stick_table,
        Some(RawStickTable {
            key: RawStickKey::Ip,
            len: None,
            size: 102_400,
            expire: Some("30s".into()),
            nopurge: true,
            peers: Some("lb".into()),
            store: vec!["http_req_rate(10s)".into(), "conn_cur".into(), "gpc0".into()],
        })
    );
    assert_eq!(fe.tcp_request_connection, ["track-sc1 src", "reject if { sc1_conn_cur gt 10 }"]);
    assert_eq!(fe.http_request.len(), 4);
    let app = imported.config.backend.iter().find(|b| b.name == "app").unwrap();
    assert_eq!(app.stick_table.as_ref().map(|t| (t.key, t.len, t.size)), Some((RawStickKey::String, Some(32), 1_048_576)));
    assert_eq!(app.stick_rules, ["on req.cook(JSESSIONID) unless static", "store-response res.cook(JSESSIONID)"]);
    // `stick on src` alone on an address table stays the client-address persistence.
    let db = imported.config.backend.iter().find(|b| b.name == "db").unwrap();
    assert_eq!((db.stick.is_some(), db.stick_table.is_none(), db.stick_rules.is_empty()), (true, true, true));
}

#[test]
fn what_cannot_be_kept_is_reported_at_its_line() {
    let text = "\
frontend fe
  mode http
  bind :80
  stick on src
  http-request track-sc0 src table nowhere
  default_backend app
backend app
  mode http
  stick-table type ip size 1k srvkey addr
  stick match src if { no_such_fetch(1) x }
  stick store-response res.cook(S) unless { res.hdr(x-no-stick) -m found }
  server s1 10.0.0.1:80
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    let lines: Vec<usize> = imported.warnings.iter().map(|w| w.line).collect();
    for needle in ["stick on src", "table nowhere", "srvkey addr", "stick match src", "store-response res.cook(S) unless"] {
        assert!(lines.contains(&line_of(text, needle)), "{needle} not reported: {:?}", printed(&imported));
    }
}
