//! haproxy.cfg details beyond the seed: defaults sections, stats in a backend, check kinds,
//! persistence, and that everything not translated is reported at its line.

use super::*;
use crate::config::raw::*;
use crate::config::{load_str, to_ron};

/// Line number of the first line of `text` containing `needle`.
pub(super) fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or_else(|| panic!("{needle:?} not in the config"))
}

/// Imports and validates; returns the import.
pub(super) fn import_ok(text: &str) -> Imported {
    let imported = import_haproxy_str("t.cfg", text).unwrap_or_else(|e| panic!("{e}"));
    let ron = to_ron(&imported.config).unwrap();
    if let Err(e) = load_str("t.ron", &ron) {
        panic!("imported config fails check:\n{e}\n{ron}\nwarnings:\n{}", printed(&imported).join("\n"));
    }
    imported
}

/// Asserts a warning of `kind` at the line of `needle` whose message contains `part`.
pub(super) fn assert_warned(imported: &Imported, text: &str, needle: &str, kind: WarningKind, part: &str) {
    let line = line_of(text, needle);
    assert!(
        imported.warnings.iter().any(|w| w.line == line && w.kind == kind && w.message.contains(part)),
        "expected a {kind:?} warning at line {line} ({needle:?}) containing {part:?}; got:\n{}",
        printed(imported).join("\n")
    );
}

fn proxy<'a>(list: &'a [RawProxy], name: &str) -> &'a RawProxy {
    list.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no proxy {name}"))
}

const DEFAULTS: &str = "\
defaults tcpdef
  mode tcp
  timeout connect 3s
  timeout client 1m
  default-server inter 3s fall 2
defaults httpdef from tcpdef
  mode http
  option httpchk GET /health
  http-check expect status 204
listen l4 from tcpdef
  bind :9000
  server a 127.0.0.1:9001 check
backend web
  server w1 127.0.0.1:8081 check
  server w2 127.0.0.1:8082 check rise 5
frontend f
  bind :8080
  default_backend web
";

#[test]
fn several_named_defaults_are_written_into_each_proxy() {
    let imported = import_ok(DEFAULTS);
    assert!(imported.warnings.is_empty(), "{}", printed(&imported).join("\n"));
    let c = &imported.config;
    assert_eq!(c.defaults, RawProxy::default(), "two defaults sections in use: none is shared");
    let l4 = proxy(&c.listen, "l4");
    assert_eq!(l4.mode, Some(RawMode::Tcp));
    assert_eq!(l4.health_check, None);
    let t = l4.timeout.as_ref().unwrap();
    assert_eq!((t.connect.as_deref(), t.client.as_deref()), (Some("3s"), Some("1m")));
    let a = l4.servers[0].check.as_ref().unwrap();
    assert_eq!((a.inter.as_deref(), a.fall), (Some("3s"), Some(2)), "default-server applies");

    let web = proxy(&c.backend, "web");
    assert_eq!(web.mode, Some(RawMode::Http));
    assert_eq!(web.timeout.as_ref().unwrap().connect.as_deref(), Some("3s"), "`from tcpdef` copies its settings");
    assert_eq!(
        web.health_check,
        Some(RawHealthCheck::Http(RawHttpCheck {
            method: Some("GET".into()),
            uri: Some("/health".into()),
            version: None,
            expect_status: Some(204),
            expect_status_range: None
        }))
    );
    let w2 = web.servers[1].check.as_ref().unwrap();
    assert_eq!((w2.inter.as_deref(), w2.rise, w2.fall), (Some("3s"), Some(5), Some(2)));
    assert_eq!(proxy(&c.frontend, "f").mode, Some(RawMode::Http));
}

#[test]
fn one_defaults_section_stays_the_shared_defaults() {
    let text =
        "defaults\n  mode tcp\n  default_backend b\n  timeout server 5000\nfrontend f\n  bind :1\nbackend b\n  server s 127.0.0.1:2\n";
    let imported = import_ok(text);
    let c = &imported.config;
    assert_eq!(c.defaults.mode, Some(RawMode::Tcp));
    assert_eq!(c.defaults.default_backend, None, "moved onto the frontends");
    assert_eq!(c.frontend[0].default_backend.as_deref(), Some("b"));
    assert_eq!(c.frontend[0].mode, None, "inherited, not copied");
    assert_eq!(c.defaults.timeout.as_ref().unwrap().server.as_deref(), Some("5s"));
}

#[test]
fn stats_in_a_backend_takes_the_bind_of_its_frontend() {
    let text = "\
frontend stats_fe
  bind 127.0.0.1:8404
  default_backend stats_be
backend stats_be
  stats enable
  stats uri /s
  stats realm \"Our stats\"
  stats admin if LOCALHOST
  stats show-legends
";
    let imported = import_ok(text);
    let c = &imported.config;
    assert!(c.frontend.is_empty() && c.backend.is_empty());
    let s = c.stats.as_ref().unwrap();
    assert_eq!((s.bind.as_str(), s.uri.as_deref(), s.realm.as_deref(), s.admin), ("127.0.0.1:8404", Some("/s"), Some("Our stats"), false));
    assert_warned(&imported, text, "frontend stats_fe", WarningKind::Replaced, "serves hakeeper's stats page");
    assert_warned(&imported, text, "stats admin", WarningKind::Untranslated, "admin actions stay off");
    assert_warned(&imported, text, "show-legends", WarningKind::Untranslated, "not translated");
}

#[test]
fn a_second_stats_section_and_proxying_in_a_stats_section_are_reported() {
    let text = "\
listen one
  bind :81
  stats uri /a
  balance leastconn
  server s 127.0.0.1:9 check
listen two
  bind :82
  stats enable
";
    let imported = import_ok(text);
    assert_eq!(imported.config.stats.as_ref().unwrap().bind, ":81");
    assert!(imported.config.listen.is_empty());
    assert_warned(&imported, text, "balance leastconn", WarningKind::Untranslated, "becomes hakeeper's stats page");
    assert_warned(&imported, text, "server s", WarningKind::Lossy, "becomes hakeeper's stats page");
    assert_warned(&imported, text, "stats enable", WarningKind::Untranslated, "one stats page");
}

const MANY: &str = "\
# leading comment
nbthread 2
global
  nbproc 2
  nbthread 4
  user haproxy
  group haproxy
  hard-stop-after 30s
  stats socket /run/haproxy.sock mode 660
  log /dev/log local2 info
  log 10.0.0.9 local3
defaults
  mode tcp
  no option abortonclose
  option redispatch 2
  timeout tarpit 5s
  timeout client-fin 5s
  timeout queue 90s
listen db
  bind :3306 ssl crt /etc/x.pem
  balance source
  hash-type consistent
  option mysql-check user haproxy
  stick-table type ip size 200k expire 30m
  stick on src
  server db1 10.0.0.1 check inter 1500 downinter 5s fastinter 500ms send-proxy-v2-ssl slowstart 10s
  server db2 10.0.0.2:3306 backup weight 0 maxconn 50 id 7 disabled
  server db3 10.0.0.2:3306 inter 2s
  foo bar
backend h
  mode http
  balance hdr(Host)
  option httpchk /ping
  cookie SRV insert
  server h1 10.0.1.1:80 check
backend h2
  mode http
  balance url_param uid check_post
  option httpchk HEAD / HTTP/1.1\\r\\nHost:\\ example.com
  server h1 10.0.1.1:80 check port 8080
backend h3
  mode http
  balance uri whole
  option httpchk
  http-check expect rstatus ^2
  server h1 10.0.1.1:80 check
backend h4
  balance rdp-cookie
  option smtpchk
  server s 10.0.1.2:25 check
userlist admins
  user admin insecure-password secret
";

#[test]
fn many_keywords_translate_or_are_reported_at_their_line() {
    let imported = import_ok(MANY);
    let c = &imported.config;
    let t = MANY;
    use WarningKind::*;
    assert_warned(&imported, t, "nbthread 2", Untranslated, "outside any section");
    assert_warned(&imported, t, "nbproc 2", Untranslated, "nbthread");
    assert_eq!((c.global.nbthread, c.global.user.as_deref(), c.global.group.as_deref()), (Some(4), Some("haproxy"), Some("haproxy")));
    assert_eq!(c.global.hard_stop_after.as_deref(), Some("30s"));
    assert_warned(&imported, t, "stats socket", Replaced, "hakeeper's runtime API is `hakeeper ctl`");
    let log = c.global.log.as_ref().unwrap();
    assert_eq!((log.target.as_str(), log.facility.as_str(), log.level.as_deref()), ("unix:///dev/log", "local2", Some("info")));
    let more = &c.global.additional_logs;
    assert_eq!(more.len(), 1);
    assert_eq!((more[0].target.as_str(), more[0].facility.as_str(), more[0].level.as_deref()), ("udp://10.0.0.9:514", "local3", None));

    assert_eq!((c.defaults.abortonclose, c.defaults.redispatch), (Some(false), Some(true)));
    assert_warned(&imported, t, "option redispatch 2", Untranslated, "interval");
    assert_warned(&imported, t, "timeout client-fin", Untranslated, "not translated");
    assert_eq!(c.defaults.timeout.as_ref().unwrap().tarpit.as_deref(), Some("5s"));
    assert_eq!(c.defaults.timeout.as_ref().unwrap().queue.as_deref(), Some("90s"));

    let db = proxy(&c.listen, "db");
    assert_eq!((db.bind[0].addr.as_str(), db.bind[0].ssl.as_ref().map(|s| s.crt.clone())), (":3306", Some(vec!["/etc/x.pem".to_string()])));
    assert_eq!((db.balance.clone(), db.hash_type), (Some(RawBalance::Source), Some(RawHashType::Consistent)));
    assert_eq!(db.health_check, Some(RawHealthCheck::Mysql(RawMysqlCheck { user: "haproxy".into() })));
    assert_eq!(db.stick, Some(RawStick { expire: "30m".into(), size: Some(204_800) }));
    let db1 = &db.servers[0];
    assert_eq!(db1.addr, "10.0.0.1:3306", "no port: the port the client connected to, the only bind port");
    let c1 = db1.check.as_ref().unwrap();
    assert_eq!((c1.inter.as_deref(), c1.downinter.as_deref(), c1.fastinter.as_deref()), (Some("1500ms"), Some("5s"), Some("500ms")));
    assert_warned(&imported, t, "server db1", Untranslated, "options not translated: slowstart 10s");
    assert_eq!((db1.send_proxy, db1.proxy_v2_options.as_slice()), (Some(RawProxyVersion::V2), &[RawProxyV2Option::Ssl][..]));
    let db2 = &db.servers[1];
    assert_eq!(
        (db2.backup, db2.weight, db2.maxconn, db2.id, db2.disabled, db2.check.is_none()),
        (true, Some(0), Some(50), Some(7), true, true)
    );
    assert_warned(&imported, t, "server db3", Lint, "share the address 10.0.0.2:3306");
    assert_warned(&imported, t, "server db3", Lint, "no `check`");
    assert_warned(&imported, t, "foo bar", Untranslated, "`foo bar` not translated");

    let h = proxy(&c.backend, "h");
    assert_eq!(h.balance, Some(RawBalance::Hdr("Host".into())));
    assert_eq!(h.health_check, Some(RawHealthCheck::Http(RawHttpCheck { uri: Some("/ping".into()), ..Default::default() })));
    assert_eq!(h.cookie.as_ref().map(|k| k.mode), Some(Some(RawCookieMode::Insert)));
    assert_warned(&imported, t, "cookie SRV insert", Lint, "none of its servers has `cookie VALUE`");

    let h2 = proxy(&c.backend, "h2");
    assert_eq!(h2.balance, Some(RawBalance::UrlParam("uid".into())));
    assert_warned(&imported, t, "url_param uid", Untranslated, "check_post");
    assert_eq!(
        h2.health_check,
        Some(RawHealthCheck::Http(RawHttpCheck {
            method: Some("HEAD".into()),
            uri: Some("/".into()),
            version: Some("HTTP/1.1".into()),
            expect_status: None,
            expect_status_range: None
        }))
    );
    assert_warned(&imported, t, "HEAD / HTTP/1.1", Untranslated, "Host: example.com");
    assert_eq!(h2.servers[0].check.as_ref().unwrap().port, Some(8080));

    let h3 = proxy(&c.backend, "h3");
    assert_eq!(h3.balance, Some(RawBalance::Uri));
    assert_warned(&imported, t, "balance uri whole", Untranslated, "balance options not translated: whole");
    assert_eq!(h3.health_check, Some(RawHealthCheck::Http(RawHttpCheck::default())));
    assert_warned(&imported, t, "rstatus", Untranslated, "only `expect status N`");

    let h4 = proxy(&c.backend, "h4");
    assert_eq!((h4.balance.as_ref(), h4.health_check.as_ref()), (None, Some(&RawHealthCheck::Tcp)));
    assert_warned(&imported, t, "rdp-cookie", Untranslated, "not translated");
    assert_warned(&imported, t, "option smtpchk", Untranslated, "TCP connect instead");
    assert_warned(&imported, t, "userlist admins", Untranslated, "userlist admins is not used by the stats page");
    assert_warned(&imported, t, "user admin", Untranslated, "unused userlist admins");
    // Every warning is at a line of its own directive, in order.
    let lines: Vec<usize> = imported.warnings.iter().map(|w| w.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn extra_words_are_reported() {
    let text = "global\n  maxconn 10 20\n  daemon now\ndefaults\n  mode tcp please\n  log global x\n";
    let imported = import_ok(text);
    assert_eq!((imported.config.global.maxconn, imported.config.defaults.mode), (Some(10), Some(RawMode::Tcp)));
    for needle in ["maxconn 10 20", "daemon now", "mode tcp please", "log global x"] {
        assert_warned(&imported, text, needle, WarningKind::Untranslated, "extra words");
    }
}

#[test]
fn server_without_port_takes_the_only_bind_port() {
    let text = "listen db\n  bind :3306\n  server s1 10.0.0.1 check\n  server s2 unix@/run/x.sock\n";
    let imported = import_ok(text);
    let db = &imported.config.listen[0];
    assert_eq!(db.servers.len(), 1);
    assert_eq!(db.servers[0].addr, "10.0.0.1:3306");
    assert_warned(&imported, text, "server s1", WarningKind::Replaced, "translated as 3306");
    assert_warned(&imported, text, "server s2", WarningKind::Untranslated, "the server is not translated");
}

#[test]
fn httpchk_lint_names_the_line_and_the_fix() {
    let text = "backend b\n  mode http\n  option httpchk /index.html HTTP/1.0\n  server s 127.0.0.1:80 check\n";
    let imported = import_ok(text);
    assert_eq!(imported.warnings.len(), 1);
    let w = imported.warnings[0].to_string();
    assert!(w.starts_with("t.cfg:3: warning: `option httpchk /index.html HTTP/1.0` has two arguments"), "{w}");
    assert!(w.contains("`option httpchk GET /index.html HTTP/1.0`"), "{w}");
    // The three-argument form and the one-argument form are what people mean: no lint.
    for ok in ["option httpchk GET /index.html HTTP/1.0", "option httpchk /index.html", "option httpchk OPTIONS /"] {
        let text = format!("backend b\n  mode http\n  {ok}\n");
        assert!(import_ok(&text).warnings.is_empty(), "{ok}");
    }
}

#[test]
fn http_check_without_httpchk_is_reported() {
    let text = "backend b\n  http-check expect status 200\n  server s 127.0.0.1:80 check\n";
    let imported = import_ok(text);
    assert_eq!(imported.config.backend[0].health_check, None);
    assert_warned(&imported, text, "http-check", WarningKind::Untranslated, "without `option httpchk`");
}

#[test]
fn time_units_normalise() {
    let text = "defaults\n  timeout connect 5000\n  timeout client 30000ms\n  timeout server 1m\n  timeout check 1500\n  timeout tunnel 1h\n  timeout http-request 10s\n";
    let t = import_ok(text).config.defaults.timeout.unwrap();
    assert_eq!(
        [t.connect, t.client, t.server, t.check, t.tunnel, t.http_request].map(|v| v.unwrap_or_default()),
        ["5s", "30s", "1m", "1500ms", "1h", "10s"]
    );
    let bad = "defaults\n  timeout connect 5 s\n";
    let imported = import_ok(bad);
    assert_warned(&imported, bad, "timeout connect", WarningKind::Untranslated, "expected a name and a time");
    let bad = "defaults\n  timeout connect 5x\n";
    let imported = import_ok(bad);
    assert_eq!(imported.config.defaults.timeout, None);
    assert_warned(&imported, bad, "timeout connect", WarningKind::Untranslated, "invalid duration");
}

#[test]
fn proxy_timeout_tunnel_reaches_the_backend_model() {
    let text = "defaults\n  mode http\n  timeout tunnel 1h\nbackend ws\n  timeout tunnel 30s\n  server s 127.0.0.1:80\nbackend plain\n  server p 127.0.0.1:81\n";
    let imported = import_ok(text);
    assert_eq!(proxy(&imported.config.backend, "ws").timeout.as_ref().and_then(|t| t.tunnel.as_deref()), Some("30s"));
    let c = load_str("t.ron", &to_ron(&imported.config).unwrap()).unwrap().config;
    let tunnel = |name: &str| c.http.backends[c.backends.iter().position(|b| b.name == name).unwrap()].timeout_tunnel;
    assert_eq!(tunnel("ws"), Some(std::time::Duration::from_secs(30)));
    assert_eq!(tunnel("plain"), Some(std::time::Duration::from_secs(3600)), "from defaults");
}

#[test]
fn escaped_and_quoted_words_reach_the_config() {
    let text = "listen s\n  bind :1\n  stats realm My\\ Realm\\ \\#1\n  stats auth 'ad min':\"p w\"\n";
    let s = import_ok(text).config.stats.unwrap();
    assert_eq!(s.realm.as_deref(), Some("My Realm #1"));
    assert_eq!(s.auth, [("ad min".to_string(), "p w".to_string())]);
}

#[test]
fn syntax_errors_stop_the_import_with_file_and_line() {
    let e = import_haproxy_str("bad.cfg", "global\n  maxconn 1\nlisten x\n  bind \":80\n").unwrap_err();
    assert_eq!(e.to_string(), "bad.cfg:4: error: unmatched double quote");
}

#[test]
fn userlist_users_become_stats_users() {
    let text = "\
listen stats
  bind 127.0.0.1:8404
  stats enable
  stats uri /admin
  stats http-request auth realm Ops unless { http_auth(ops) }
userlist ops
  group admins users alice
  user alice insecure-password s3cret groups admins
  user bob password $6$salt$hash
userlist spare
  user carol insecure-password x
";
    let imported = import_ok(text);
    let s = imported.config.stats.as_ref().unwrap();
    assert_eq!(s.auth, [("alice".to_string(), "s3cret".to_string())]);
    assert_eq!(s.realm.as_deref(), Some("Ops"));
    use WarningKind::*;
    assert_warned(&imported, text, "user bob", Untranslated, "cannot check crypt(3) password hashes");
    assert_warned(&imported, text, "group admins", Replaced, "same rights");
    assert_warned(&imported, text, "userlist spare", Untranslated, "not used by the stats page");
    assert_warned(&imported, text, "user carol", Untranslated, "unused userlist spare");
    assert!(!imported.warnings.iter().any(|w| w.line == line_of(text, "http_auth")), "{:#?}", printed(&imported));
}

#[test]
fn stats_auth_against_a_missing_userlist_or_another_condition_is_reported() {
    let text = "\
listen stats
  bind 127.0.0.1:8404
  stats enable
  stats http-request auth unless { http_auth(nobody) }
  stats http-request auth if { src 10.0.0.0/8 }
";
    let imported = import_ok(text);
    assert_warned(&imported, text, "http_auth(nobody)", WarningKind::Untranslated, "no userlist named \"nobody\"");
    // With no user left, the page would be open: that line fails the import.
    assert_warned(&imported, text, "http_auth(nobody)", WarningKind::Lossy, "open to anyone");
    assert_warned(&imported, text, "src 10.0.0.0/8", WarningKind::Lossy, "only `unless { http_auth(LIST) }`");
}

#[test]
fn http_reuse_and_pool_keywords_reach_the_backend_model() {
    use crate::config::http::HttpReuse;
    let text = "defaults\n  mode http\n  http-reuse aggressive\nbackend app\n  option prefer-last-server\n  server s 127.0.0.1:80 pool-max-conn 50 pool-purge-delay 1s max-reuse -1\nbackend legacy\n  http-reuse never\n  server p 127.0.0.1:81\n";
    let imported = import_ok(text);
    let c = load_str("t.ron", &to_ron(&imported.config).unwrap()).unwrap().config;
    let b = |name: &str| c.backends.iter().position(|b| b.name == name).unwrap();
    assert_eq!((c.http.backends[b("app")].reuse, c.http.backends[b("app")].prefer_last_server), (HttpReuse::Aggressive, true));
    assert_eq!(c.http.backends[b("legacy")].reuse, HttpReuse::Never);
    let pool = c.backends[b("app")].servers[0].pool;
    assert_eq!((pool.max_conn, pool.purge_delay, pool.max_reuse), (Some(50), std::time::Duration::from_secs(1), None));
}

#[test]
fn stats_timeouts_and_maxconn_come_from_the_section_or_its_defaults() {
    let text = "\
defaults
  mode http
  timeout client 30s
  maxconn 5000
listen stats
  bind 127.0.0.1:8404
  timeout http-request 4s
  stats enable
  stats uri /admin
";
    let imported = import_ok(text);
    let s = imported.config.stats.as_ref().unwrap();
    let t = s.timeout.as_ref().unwrap();
    assert_eq!((t.http_request.as_deref(), t.client.as_deref()), (Some("4s"), Some("30s")));
    assert_eq!(s.maxconn, Some(1000), "lowered to the page's limit");
    assert_warned(&imported, text, "stats enable", WarningKind::Replaced, "lowered to 1000");
    assert!(!imported.warnings.iter().any(|w| w.line == line_of(text, "http-request")), "{:?}", printed(&imported));

    // Without timeout http-request, HAProxy waits for the head as long as timeout client.
    let imported = import_ok("listen stats\n  bind 127.0.0.1:8404\n  timeout client 7s\n  maxconn 5\n  stats enable\n");
    let s = imported.config.stats.as_ref().unwrap();
    let t = s.timeout.as_ref().unwrap();
    assert_eq!((t.http_request.as_deref(), t.client.as_deref(), s.maxconn), (Some("7s"), Some("7s"), Some(5)));
}

#[test]
fn pool_fd_ratios_reach_the_global_model() {
    let text = "global\n  maxconn 500\n  tune.pool-low-fd-ratio 10\n  tune.pool-high-fd-ratio 30\nlisten l\n  mode http\n  bind :80\n  server s 127.0.0.1:81\n";
    let imported = import_ok(text);
    let c = load_str("t.ron", &to_ron(&imported.config).unwrap()).unwrap().config;
    assert_eq!(c.global.pool_fd_ratios, (10, 30));
    let c = load_str("t.ron", "(listen: [(name: \"l\", bind: [\":80\"])])").unwrap().config;
    assert_eq!(c.global.pool_fd_ratios, (20, 25), "HAProxy's defaults");
}
