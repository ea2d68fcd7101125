//! The import fails closed: each line whose loss would weaken access control, encryption,
//! authentication or routing is reported as lossy (and left out), each on a small config that
//! shows it. Other losses stay ordinary warnings.

use super::haproxy::{import_ok, line_of};
use super::*;
use crate::config::raw::*;
use WarningKind::Replaced;

/// The lines reported as lossy, with their messages.
fn lossy_lines(imported: &Imported) -> Vec<(usize, String)> {
    imported.lossy().map(|w| (w.line, w.message.clone())).collect()
}

/// Asserts that exactly the lines of `needles` are lossy, each message with the `—` between what
/// it meant and why it cannot be kept, and containing the paired text.
fn assert_lossy(imported: &Imported, text: &str, expected: &[(&str, &str)]) {
    let got = lossy_lines(imported);
    let want: Vec<usize> = expected.iter().map(|(needle, _)| line_of(text, needle)).collect();
    assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), want, "lossy lines:\n{}", printed(imported).join("\n"));
    for ((_, message), (_, part)) in got.iter().zip(expected) {
        assert!(message.contains(" — ") && message.contains(part), "{message:?} should contain {part:?}");
    }
}

#[test]
fn tcp_content_switching_on_layer7_acls_is_lossy_not_left_to_the_default_backend() {
    // Routing on HTTP in mode tcp is something hakeeper cannot evaluate: without the rule every
    // client would reach the replica, so it is lossy. Layer-4 rules are kept.
    let text = "\
frontend mysql
  mode tcp
  bind :3306
  acl app_hosts src 10.0.1.0/24
  acl named hdr(host) -i db.example
  use_backend primary if app_hosts
  use_backend primary if named
  default_backend replica
backend primary
  mode tcp
  server p 10.0.0.1:3306
backend replica
  mode tcp
  server r 10.0.0.2:3306
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(&imported, text, &[("use_backend primary if named", "layer-4 and content fetches only, and ACL named reads HTTP")]);
    let rules = &imported.config.frontend[0].use_backend;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].cond.as_deref(), Some("if app_hosts"));
}

#[test]
fn access_rules_that_cannot_be_kept_are_lossy() {
    let text = "\
frontend web
  mode http
  bind :80
  acl admin_net src 10.0.0.0/8
  acl blocked cook(x) y
  http-request deny if { sc_http_req_rate(0) gt 10 }
  http-request tarpit if { path_beg /wp-login }
  http-request return status 403 if { path_beg /old-admin }
  http-request auth realm ops if { path_beg /ops }
  http-response deny if { res.hdr(x-leak) -m found }
  tcp-request content reject if { src 192.0.2.66 }
  tcp-request inspect-delay 5s
  block if { path_beg /old }
  use-server s2 if { path_beg /two }
  use_backend app if { req.cook(beta) -m found }
  http-request set-header X-A %[src]
  default_backend app
backend app
  mode http
  server s1 10.0.0.1:80
  server s2 10.0.0.2:80
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(
        &imported,
        text,
        &[
            ("acl blocked", "would have defined condition blocked"),
            ("return status 403", "would have applied `return`"),
            ("auth realm ops", "would have applied `auth`"),
            ("x-leak", "would have applied `deny`"),
            ("content reject", "rules in mode tcp only"),
            ("block if", "2.6 refuses it"),
            ("use-server", "would have sent matching requests to server s2"),
            ("use_backend app", "would have routed matching requests to app"),
        ],
    );
    // A sticky-counter rate limit is kept (it reads nothing until a rule tracks the counter).
    assert!(imported.config.frontend[0].http_request.iter().any(|r| r.contains("sc_http_req_rate(0) gt 10")));
    // Losing a header rule weakens nothing: an ordinary warning.
    let line = line_of(text, "X-A %[src]");
    assert!(imported.warnings.iter().any(|w| w.line == line && w.kind == WarningKind::Untranslated));
}

#[test]
fn tls_binds_translate_and_what_they_cannot_keep_is_lossy() {
    let text = "\
global
  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256
  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
  crt-base /etc/ssl/hk
frontend https
  mode http
  bind :80
  bind :443 ssl crt site.pem crt-list /etc/ssl/list.txt alpn h2,http/1.1 ca-file /etc/ssl/ca.pem verify optional
  bind :8443 ssl crt site.pem ciphers AES128-SHA
  bind :9443 ssl crt site.pem npn http/1.1
  default_backend app
backend app
  mode http
  server s1 10.0.0.1:80
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(&imported, text, &[("bind :8443", "AES128-SHA"), ("bind :9443", "`npn`")]);
    let fe = &imported.config.frontend[0];
    assert_eq!(fe.bind.len(), 2, "the untranslatable TLS binds are left out, not served in plaintext");
    assert_eq!(fe.bind[0], ":80");
    let ssl = fe.bind[1].ssl.as_ref().expect("a TLS bind");
    assert_eq!(fe.bind[1].addr, ":443");
    assert_eq!(ssl.crt, ["/etc/ssl/hk/site.pem"]);
    assert_eq!(ssl.crt_list.as_deref(), Some("/etc/ssl/list.txt"));
    assert_eq!(ssl.alpn, ["h2", "http/1.1"]);
    assert_eq!(ssl.ciphers.as_deref(), Some("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"));
    assert_eq!((ssl.min_version.as_deref(), ssl.tickets, ssl.verify), (Some("TLSv1.2"), Some(false), Some(RawClientVerify::Optional)));
    assert_eq!(ssl.ca_file.as_deref(), Some("/etc/ssl/ca.pem"));
    // The output reads back as the same config.
    let ron = crate::config::to_ron(&imported.config).unwrap();
    assert_eq!(crate::config::parse_raw("x", &ron).unwrap().frontend[0].bind, fe.bind);
}

#[test]
fn ssl_on_a_bind_or_a_server_is_lossy() {
    let text = "\
global
  ssl-default-server-ciphers ECDHE-RSA-AES128-GCM-SHA256
frontend https
  mode http
  bind :443 ssl crt /etc/ssl/site.pem strict-sni
  default_backend app
backend app
  mode http
  default-server ssl verify none
  server s1 10.0.0.1:443 ssl verify required ca-file /etc/ssl/ca.pem
  server s2 10.0.0.2:443 crl-file /etc/ssl/crl.pem
  server s3 10.0.0.3:443 sni ssl_fc_sni
  server s4 10.0.0.4:443 force-tlsv12
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(
        &imported,
        text,
        &[
            ("ssl-default-server-ciphers", "cannot restrict them"),
            ("bind :443", "TLS option `strict-sni` is not translated"),
            ("server s2", "revoked server certificates would be accepted"),
            ("server s3", "str(NAME) or req.hdr(NAME)"),
            ("server s4", "cannot cap the TLS version"),
        ],
    );
}

#[test]
fn a_wider_listener_a_disabled_proxy_and_env_variables_in_rules_are_lossy() {
    let text = "\
frontend internal
  mode http
  bind :8080 interface eth1
  acl trusted hdr(x-token) \"${TRUSTED_TOKEN}\"
  http-request deny unless trusted
  http-request set-header X-Env \"${ENV_NAME}\"
  default_backend app
frontend old
  mode http
  bind :8081
  disabled
  default_backend app
backend app
  mode http
  server s1 10.0.0.1:80
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(
        &imported,
        text,
        &[
            ("interface eth1", "only through interface eth1"),
            ("TRUSTED_TOKEN", "expanded by HAProxy at start-up"),
            ("  disabled", "would have kept frontend old stopped"),
        ],
    );
    // An environment variable in a header value changes no access: an ordinary warning.
    let line = line_of(text, "ENV_NAME");
    assert!(imported.warnings.iter().any(|w| w.line == line && w.kind == WarningKind::Untranslated));
}

#[test]
fn a_stats_section_keeps_no_rule_or_routing_quietly() {
    // HAProxy serves /stats and proxies the rest through the servers, after the deny rule.
    let text = "\
listen public
  mode http
  bind :8080
  acl internal src 10.0.0.0/8
  http-request deny if !internal
  stats enable
  stats uri /stats
  server s1 10.0.0.1:80
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(
        &imported,
        text,
        &[
            ("acl internal", "becomes hakeeper's stats page"),
            ("http-request deny", "`deny`"),
            ("server s1", "becomes hakeeper's stats page"),
        ],
    );
    assert!(imported.config.stats.is_some() && imported.config.listen.is_empty());
}

#[test]
fn the_frontend_of_a_stats_backend_loses_no_rule_quietly() {
    let text = "\
frontend fe
  mode http
  bind :9000
  acl api path_beg /api
  use_backend app if api
  default_backend stats_be
backend stats_be
  mode http
  stats enable
  stats uri /
backend app
  mode http
  server s1 10.0.0.1:80
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(&imported, text, &[("acl api", "frontend fe becomes"), ("use_backend app", "frontend fe becomes")]);
    assert!(imported.warnings.iter().any(|w| w.line == 1 && w.kind == Replaced));
}

#[test]
fn a_stats_page_whose_users_are_all_dropped_is_lossy() {
    let text = "\
userlist admins
  user ops password $6$abc$hashed
listen stats
  mode http
  bind :8404
  stats enable
  stats http-request auth unless { http_auth(admins) }
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(&imported, text, &[("stats http-request auth", "open to anyone")]);
}

#[test]
fn stats_rules_and_malformed_auth_are_lossy() {
    let text = "\
listen stats
  mode http
  bind :8404
  stats enable
  stats auth admin
  stats http-request deny unless { src 10.0.0.0/8 }
";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    assert_lossy(
        &imported,
        text,
        &[("stats auth admin", "expected USER:PASSWORD"), ("stats http-request deny", "no rules besides its users")],
    );
}

#[test]
fn errorfile_dev_null_imports_and_loads_cleanly() {
    // HAProxy's manual: `errorfile 408 /dev/null` closes silently instead of sending a 408 page.
    let text = "\
defaults
  mode http
  errorfile 408 /dev/null
frontend web
  bind :80
  default_backend app
backend app
  server s1 10.0.0.1:80
";
    let imported = import_ok(text);
    assert!(imported.warnings.is_empty(), "{}", printed(&imported).join("\n"));
    let dir = std::env::temp_dir().join(format!("hakeeper-devnull-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("h.ron");
    std::fs::write(&path, crate::config::to_ron(&imported.config).unwrap()).unwrap();
    let loaded = crate::config::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.config.http.frontends[0].errorfiles.iter().any(|e| e.code == 408 && e.response.as_deref() == Some(&[][..])));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keepalived_losses_are_lossy_or_noted() {
    let text = "\
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    authentication {
        auth_type AH
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.10
    }
}
virtual_server 192.0.2.10 80 {
    lb_kind NAT
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
                path /health
            }
        }
    }
}
";
    let imported = import_keepalived_str_with("k.conf", text, &ImportOptions { lvs_as_proxy: true }).unwrap();
    assert_lossy(&imported, text, &[("auth_type AH", "unauthenticated adverts")]);
    assert_eq!(imported.config.vrrp.instances[0].auth, None);
    let nat = line_of(text, "lb_kind NAT");
    assert!(imported.warnings.iter().any(|w| w.line == nat && w.kind == Replaced && w.message.contains("client's address")));
    // keepalived passes 2xx only when no status_code is given; HAProxy's httpchk default (3xx too) would not do.
    let Some(RawHealthCheck::Http(h)) = &imported.config.listen[0].health_check else { panic!("an HTTP check") };
    assert_eq!((h.expect_status, h.expect_status_range), (None, Some((200, 299))));
    let ron = crate::config::to_ron(&imported.config).unwrap();
    let loaded = crate::config::load_str("k.ron", &ron).unwrap_or_else(|e| panic!("{e}"));
    let crate::config::model::HealthCheck::Http { expect_status, .. } = &loaded.config.backends[0].health_check else { panic!() };
    assert_eq!(*expect_status, Some((200, 299)));
}

#[test]
fn the_seed_configs_lose_nothing_that_matters() {
    let dir = seed_dir();
    for (h, k) in [
        (Some("haproxy-tcp.cfg"), Some("keepalived-master.conf")),
        (Some("haproxy-http.cfg"), Some("keepalived-full.conf")),
        (None, Some("keepalived-backup.conf")),
    ] {
        let imported = import(h.map(|f| dir.join(f)).as_deref(), k.map(|f| dir.join(f)).as_deref()).unwrap();
        assert_eq!(imported.lossy().count(), 0, "{}", printed(&imported).join("\n"));
    }
}
