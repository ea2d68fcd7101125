//! The PROXY protocol in haproxy.cfg: `accept-proxy` on binds, `send-proxy`, `send-proxy-v2`
//! and `check-send-proxy` on servers.

use super::haproxy::{assert_warned, import_ok};
use super::*;

#[test]
fn accept_proxy_on_every_bind_is_the_sections() {
    let text = "\
frontend fe
  mode tcp
  bind 127.0.0.1:8066 accept-proxy
  bind 127.0.0.1:8067 accept-proxy
  default_backend be
backend be
  mode tcp
  server s1 10.0.0.1:8066
";
    let imported = import_ok(text);
    let fe = imported.config.frontend.iter().find(|p| p.name == "fe").expect("fe");
    assert_eq!(fe.accept_proxy, Some(true));
    assert_eq!(fe.bind.len(), 2);
    assert!(imported.lossy().next().is_none(), "{:?}", printed(&imported));
    assert!(!printed(&imported).join("\n").contains("accept-proxy"), "accept-proxy is translated, not reported");
}

#[test]
fn binds_disagreeing_on_accept_proxy_are_lossy() {
    let text = "\
frontend fe
  mode tcp
  bind 127.0.0.1:8066
  bind 127.0.0.1:8067 accept-proxy
  default_backend be
frontend fe2
  mode tcp
  bind 127.0.0.1:8068 accept-proxy
  bind 127.0.0.1:8069
  default_backend be
backend be
  mode tcp
  server s1 10.0.0.1:8066
";
    let imported = import_haproxy_str("t.cfg", text).expect("import");
    assert_warned(&imported, text, "8067 accept-proxy", WarningKind::Lossy, "would have expected a PROXY header first");
    assert_warned(&imported, text, "bind 127.0.0.1:8069", WarningKind::Lossy, "without a PROXY header");
    let fe = imported.config.frontend.iter().find(|p| p.name == "fe").expect("fe");
    assert_eq!(fe.accept_proxy, None, "the first bind decides");
}

#[test]
fn send_proxy_keywords_on_servers() {
    let text = "\
backend be
  mode tcp
  default-server send-proxy
  server s1 10.0.0.1:8066
  server s2 10.0.0.2:8066 send-proxy-v2 check check-send-proxy
  server s3 10.0.0.3:8066 no-send-proxy
  server s4 10.0.0.4:8066 send-proxy-v2 no-send-proxy-v2
frontend fe
  mode tcp
  bind 127.0.0.1:8066
  default_backend be
";
    let imported = import_ok(text);
    let be = imported.config.backend.iter().find(|p| p.name == "be").expect("be");
    let got: Vec<_> = be.servers.iter().map(|s| (s.name.as_str(), s.send_proxy, s.check_send_proxy)).collect();
    use crate::config::raw::RawProxyVersion::{V1, V2};
    assert_eq!(got, [("s1", Some(V1), false), ("s2", Some(V2), true), ("s3", None, false), ("s4", Some(V1), false)]);
    assert!(!printed(&imported).join("\n").contains("send-proxy"), "translated, not reported: {:?}", printed(&imported));
}

#[test]
fn proxy_v2_options_and_the_ssl_shorthands() {
    let text = "\
backend be
  mode tcp
  server s1 10.0.0.1:8066 send-proxy-v2 proxy-v2-options ssl-cipher,authority,crc32c,unique-id
  server s2 10.0.0.2:8066 send-proxy-v2-ssl-cn
  server s3 10.0.0.3:8066 proxy-v2-options cert-key
frontend fe
  mode tcp
  bind 127.0.0.1:8066
  default_backend be
";
    let imported = import_haproxy_str("t.cfg", text).expect("import");
    let be = imported.config.backend.iter().find(|p| p.name == "be").expect("be");
    use crate::config::raw::RawProxyV2Option::*;
    use crate::config::raw::RawProxyVersion::V2;
    let got: Vec<_> = be.servers.iter().map(|s| (s.send_proxy, s.proxy_v2_options.clone())).collect();
    assert_eq!(
        got,
        [(Some(V2), vec![SslCipher, Authority, Crc32c]), (Some(V2), vec![Ssl, CertCn]), (None, vec![])],
        "without send-proxy-v2 the options do nothing in HAProxy, and are left out"
    );
    assert_warned(&imported, text, "server s1", WarningKind::Untranslated, "proxy-v2-options unique-id");
    let ron = crate::config::to_ron(&imported.config).expect("ron");
    crate::config::load_str("t.ron", &ron).unwrap_or_else(|e| panic!("{e}\n{ron}"));
    let bad = import_haproxy_str("t.cfg", &text.replace("cert-key", "cert-key,bogus"));
    assert!(format!("{bad:?}").contains("bogus"), "an unknown option is named: {bad:?}");
}

#[test]
fn tcp_request_connection_rules_and_tcp_switching_are_translated() {
    let text = "\
frontend mysql
  mode tcp
  bind 127.0.0.1:3306
  acl writers src 10.0.1.0/24
  acl blocked src 192.0.2.0/24
  acl primary_down nbsrv(primary) lt 1
  tcp-request connection accept if { src 10.0.1.5 }
  tcp-request connection reject if blocked
  tcp-request connection reject if { path_beg /x }
  tcp-request content reject if blocked
  use_backend replica if writers primary_down
  use_backend primary if writers
  default_backend replica
backend primary
  mode tcp
  server p 10.0.0.1:3306
backend replica
  mode tcp
  server r 10.0.0.2:3306
";
    let imported = import_haproxy_str("t.cfg", text).expect("import");
    let fe = &imported.config.frontend[0];
    assert_eq!(fe.tcp_request_connection, ["accept if { src 10.0.1.5 }", "reject if blocked"]);
    assert_eq!(fe.use_backend.len(), 2);
    assert_warned(&imported, text, "reject if { path_beg", WarningKind::Lossy, "reads the request");
    assert_eq!(fe.tcp_request_content, ["reject if blocked"]);
    let ron = crate::config::to_ron(&imported.config).expect("ron");
    crate::config::load_str("t.ron", &ron).unwrap_or_else(|e| panic!("{e}\n{ron}"));
}

#[test]
fn tcp_request_content_rules_and_inspect_delay_are_translated() {
    let text = "\
defaults
  mode tcp
  tcp-request inspect-delay 5s
frontend mux
  bind 127.0.0.1:443
  acl tls req.payload(0,1) -m bin 16
  acl ssh req_len ge 7
  tcp-request content reject if { req.payload(0,4) -m bin 00000000 }
  tcp-request content accept if tls
  tcp-request content reject if { hdr(host) -m found }
  tcp-request content silent-drop if { req.len gt 4000 }
  tcp-request content set-var(sess.x) str(a)
  tcp-request session reject if { src 10.9.0.0/16 }
  tcp-request session silent-drop if { src_port lt 1024 }
  tcp-request session reject if { req.len gt 1 }
  tcp-request connection silent-drop if { src 10.8.0.0/16 }
  use_backend tls if tls
  use_backend ssh if { req.payload_lv(0,1) -m str SSH }
  default_backend web
backend tls
  tcp-request inspect-delay 2s
  tcp-request content reject if { src 10.9.9.9 }
  server t 10.0.0.1:443
backend ssh
  server s 10.0.0.2:22
backend web
  server w 10.0.0.3:80
";
    let imported = import_haproxy_str("t.cfg", text).expect("import");
    let fe = &imported.config.frontend[0];
    assert_eq!(imported.config.defaults.tcp_request_inspect_delay.as_deref(), Some("5s"));
    assert_eq!(
        fe.tcp_request_content,
        ["reject if { req.payload(0,4) -m bin 00000000 }", "accept if tls", "silent-drop if { req.len gt 4000 }"]
    );
    assert_eq!(fe.tcp_request_session, ["reject if { src 10.9.0.0/16 }", "silent-drop if { src_port lt 1024 }"]);
    assert_eq!(fe.tcp_request_connection, ["silent-drop if { src 10.8.0.0/16 }"]);
    assert_warned(&imported, text, "session reject if { req.len", WarningKind::Lossy, "reads the request");
    assert_warned(&imported, text, "set-var", WarningKind::Untranslated, "not translated");
    assert_eq!(fe.use_backend.len(), 2, "content switching is kept");
    assert_warned(&imported, text, "hdr(host) -m found", WarningKind::Lossy, "reads HTTP");
    assert_warned(&imported, text, "10.9.9.9", WarningKind::Lossy, "frontend and listen sections only");
    assert_warned(&imported, text, "inspect-delay 2s", WarningKind::Untranslated, "no content rules");
    let ron = crate::config::to_ron(&imported.config).expect("ron");
    let loaded = crate::config::load_str("t.ron", &ron).unwrap_or_else(|e| panic!("{e}\n{ron}"));
    assert_eq!(loaded.config.http.frontends[0].tcp_content.len(), 3);
    assert_eq!(loaded.config.http.frontends[0].tcp_session.len(), 2);
    assert_eq!(loaded.config.http.frontends[0].inspect_delay, std::time::Duration::from_secs(5));
}

#[test]
fn bind_ids_follow_hakeepers_numbering_or_are_reported() {
    let text = "\
frontend f
  mode tcp
  bind 127.0.0.1:1000 id 1
  bind 127.0.0.1:1001 id 7
  use_backend b if { so_id 2 }
  default_backend b
backend b
  mode tcp
  server s 10.0.0.1:1
";
    let imported = import_haproxy_str("t.cfg", text).expect("import");
    assert_eq!(imported.config.frontend[0].bind.len(), 2);
    assert_warned(&imported, text, "id 7", WarningKind::Untranslated, "`so_id` sees 2 for this bind");
    let line_of_first = text.lines().position(|l| l.contains("id 1")).unwrap() + 1;
    assert!(imported.warnings.iter().all(|w| w.line != line_of_first), "the same number is kept silently");
}

#[test]
fn tcp_response_content_rules_and_inspect_delay_are_translated() {
    let text = "\
defaults
  mode tcp
frontend f
  bind 127.0.0.1:3306
  tcp-response content reject if { res.len gt 2 }
  default_backend db
backend db
  tcp-response inspect-delay 2s
  tcp-response content reject if { res.payload(0,4) -m str -ERR }
  tcp-response content close if { res.len gt 4000 }
  tcp-response content accept if { src 10.0.0.0/8 }
  tcp-response content reject if { req.len gt 1 }
  tcp-response content set-var(sess.x) str(a)
  server s 10.0.0.2:3306
backend web
  mode http
  tcp-response content reject if { res.len gt 3 }
  server w 10.0.0.3:80
";
    let imported = import_haproxy_str("t.cfg", text).expect("import");
    let db = &imported.config.backend[0];
    assert_eq!(db.tcp_response_inspect_delay.as_deref(), Some("2s"));
    assert_eq!(
        db.tcp_response_content,
        ["reject if { res.payload(0,4) -m str -ERR }", "close if { res.len gt 4000 }", "accept if { src 10.0.0.0/8 }"]
    );
    assert_warned(&imported, text, "reject if { req.len", WarningKind::Lossy, "reads the request");
    assert_warned(&imported, text, "set-var", WarningKind::Untranslated, "not translated");
    assert_warned(&imported, text, "res.len gt 2", WarningKind::Lossy, "backend and listen");
    assert_warned(&imported, text, "res.len gt 3", WarningKind::Lossy, "mode tcp only");
    assert!(imported.config.backend[1].tcp_response_content.is_empty(), "dropped in mode http");
    let ron = crate::config::to_ron(&imported.config).expect("ron");
    let loaded = crate::config::load_str("t.ron", &ron).unwrap_or_else(|e| panic!("{e}\n{ron}"));
    assert_eq!(loaded.config.http.backends[0].tcp_response.len(), 3);
    assert_eq!(loaded.config.http.backends[0].response_inspect_delay, std::time::Duration::from_secs(2));
}
