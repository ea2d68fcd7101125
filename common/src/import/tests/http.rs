//! The L7 keywords: ACLs and `use_backend`, http rules, cookie persistence, forwardfor, the
//! connection modes, `option persist` and `errorfile`. Each imported config is validated; what
//! the validator would refuse must come out as a warning instead.

use super::haproxy::{assert_warned, import_ok};
use super::*;
use crate::config::http::*;
use crate::config::raw::*;
use crate::config::{load_str, to_ron, Config};
use WarningKind::{Lint, Lossy, Untranslated};

/// Imports, validates, and returns both.
fn import_checked(text: &str) -> (Imported, Config) {
    let imported = import_ok(text);
    let ron = to_ron(&imported.config).unwrap();
    let loaded = load_str("t.ron", &ron).unwrap_or_else(|e| panic!("{e}\n{ron}"));
    (imported, loaded.config)
}

fn untranslated(imported: &Imported) -> Vec<String> {
    imported.untranslated().map(ToString::to_string).collect()
}

const ROUTING: &str = "\
defaults
  mode http
frontend f
  bind :8080
  acl spaced hdr(host) -i \"a b\"
  acl api path_beg /api /v2
  acl api path_end .json
  acl local src 127.0.0.0/8 10.0.0.0/255.0.0.0
  acl post method POST
  use_backend b_api if api !post || local
  use_backend b_spaced if spaced
  use_backend b_other unless api
  use_backend b_anon if { hdr_end(host) -i .example.com } METH_GET
  use_backend b_always
  default_backend b_api
backend b_api
  server s1 127.0.0.1:9001
backend b_spaced
  server s1 127.0.0.1:9002
backend b_other
  server s1 127.0.0.1:9003
backend b_anon
  server s1 127.0.0.1:9004
backend b_always
  server s1 127.0.0.1:9005
";

#[test]
fn acls_and_use_backend_keep_haproxy_syntax() {
    let (imported, cfg) = import_checked(ROUTING);
    assert!(imported.warnings.is_empty(), "{}", printed(&imported).join("\n"));
    let f = &imported.config.frontend[0];
    let acls: Vec<(&str, &str)> = f.acls.iter().map(|a| (a.name.as_str(), a.criterion.as_str())).collect();
    assert_eq!(
        acls,
        [
            ("spaced", "hdr(host) -i \"a b\""),
            ("api", "path_beg /api /v2"),
            ("api", "path_end .json"),
            ("local", "src 127.0.0.0/8 10.0.0.0/255.0.0.0"),
            ("post", "method POST")
        ]
    );
    let rules: Vec<(&str, Option<&str>)> = f.use_backend.iter().map(|u| (u.backend.as_str(), u.cond.as_deref())).collect();
    assert_eq!(
        rules,
        [
            ("b_api", Some("if api !post || local")),
            ("b_spaced", Some("if spaced")),
            ("b_other", Some("unless api")),
            ("b_anon", Some("if { hdr_end(host) -i .example.com } METH_GET")),
            ("b_always", None)
        ]
    );

    let fh = &cfg.http.frontends[0];
    let spaced = fh.acls.iter().find(|a| a.name == "spaced").unwrap();
    assert_eq!(
        spaced.tests,
        [AclTest::Header { name: "host".into(), matcher: StrMatcher::text(StrMatch::Exact, true, vec!["a b".into()]) }]
    );
    assert_eq!(fh.acls.iter().find(|a| a.name == "api").unwrap().tests.len(), 2, "two lines with one name are ORed");
    let first = fh.use_backend[0].cond.as_ref().unwrap();
    assert_eq!((first.unless, first.any_of.len(), first.any_of[0].len()), (false, 2, 2));
    assert!(first.any_of[0][1].negate, "!post");
    assert!(fh.use_backend[2].cond.as_ref().unwrap().unless);
    assert_eq!(fh.use_backend[3].cond.as_ref().unwrap().any_of[0].len(), 2, "anonymous ACL and METH_GET");
    assert!(fh.use_backend[4].cond.is_none());
}

#[test]
fn routing_the_validator_would_refuse_is_reported_and_left_out() {
    let text = "\
frontend f
  mode http
  bind :8080
  acl known hdr(host) www
  acl bad cook(x) y
  acl \"sp ace\" path /x
  use_backend web if later
  acl later path /later
  use_backend nowhere if known
  use_backend tcpb if known
  use_backend web if known ||
  use_backend %[req.hdr(host)]
  use_backend web if later
  default_backend web
backend web
  mode http
  use_backend web # in a backend
  server s 127.0.0.1:1
backend tcpb
  server s 127.0.0.1:2
defaults
  acl d path /
";
    let (imported, _) = import_checked(text);
    assert_warned(&imported, text, "acl bad", Lossy, "unknown fetch \"cook\"");
    assert_warned(&imported, text, "sp ace", Untranslated, "invalid ACL name");
    assert_warned(&imported, text, "use_backend web if later", Lossy, "no ACL named \"later\"");
    assert_warned(&imported, text, "use_backend nowhere", Lossy, "no backend named nowhere");
    assert_warned(&imported, text, "use_backend tcpb", Lossy, "tcp mode");
    assert_warned(&imported, text, "known ||", Lossy, "incomplete condition");
    assert_warned(&imported, text, "%[req", Lossy, "log-format");
    assert_warned(&imported, text, "# in a backend", Untranslated, "not allowed in a backend");
    assert_warned(&imported, text, "acl d path", Untranslated, "in defaults");
    let f = &imported.config.frontend[0];
    assert_eq!(f.acls.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["known", "later"]);
    // Only the rule after `acl later` survives: ACLs are declared before use, as in HAProxy.
    assert_eq!(f.use_backend, [RawUseBackend { backend: "web".into(), cond: Some("if later".into()) }]);
    assert!(imported.config.backend[0].use_backend.is_empty());
}

#[test]
fn http_rules_become_rule_strings() {
    let text = "\
frontend f
  mode http
  bind :8080
  acl bad src 192.0.2.0/24
  acl old hdr(host) -i old.example.com
  http-request deny if bad
  http-request deny status 429 if { path_beg /slow }
  http-request redirect location https://new.example.com code 301 if old
  http-request redirect scheme https unless { hdr(x-forwarded-proto) https }
  http-request set-header X-Proto \"plain http\"
  http-request add-header X-Pct 100%%
  http-request del-header Proxy
  http-request set-header X-Src %[src]
  http-request tarpit status 429 if { path_beg /wp-login }
  http-response set-header X-Served-By lb1
  http-response add-header Via hakeeper
  http-response del-header Server if !bad
  http-response redirect location /
  default_backend b
backend b
  mode http
  http-request set-header X-Backend b
  server s 127.0.0.1:1
defaults
  http-request deny # in defaults
";
    let (imported, cfg) = import_checked(text);
    let f = &imported.config.frontend[0];
    assert_eq!(
        f.http_request,
        [
            "deny if bad",
            "deny deny_status 429 if { path_beg /slow }",
            "redirect location https://new.example.com code 301 if old",
            "redirect scheme https unless { hdr(x-forwarded-proto) https }",
            "set-header X-Proto \"plain http\"",
            "add-header X-Pct 100%%",
            "del-header Proxy",
            "tarpit deny_status 429 if { path_beg /wp-login }",
        ]
    );
    assert_eq!(f.http_response, ["set-header X-Served-By lb1", "add-header Via hakeeper", "del-header Server if !bad"]);
    assert_eq!(imported.config.backend[0].http_request, ["set-header X-Backend b"]);
    assert_warned(&imported, text, "X-Src", Untranslated, "log-format expressions");
    assert_warned(&imported, text, "http-response redirect", Lossy, "not supported");
    assert_warned(&imported, text, "# in defaults", Lossy, "in defaults");
    assert_eq!(untranslated(&imported).len(), 3, "{:#?}", untranslated(&imported));

    let rules = &cfg.http.frontends[0].request_rules;
    assert_eq!(rules[1].action, RequestAction::Deny { status: 429 });
    assert_eq!(rules[4].action, RequestAction::SetHeader { name: "X-Proto".into(), value: "plain http".into() });
    assert_eq!(rules[5].action, RequestAction::AddHeader { name: "X-Pct".into(), value: "100%".into() });
}

#[test]
fn cookie_modes_and_options() {
    let text = "\
defaults
  mode http
  cookie DEF insert
backend ins
  cookie SRV insert indirect nocache preserve httponly secure domain .example.com domain .example.org maxidle 30m dynamic
  server a 127.0.0.1:1 cookie a
  server b 127.0.0.1:2 cookie b
backend pre
  cookie JSESSIONID prefix
  server a 127.0.0.1:3 cookie x~y
  server b 127.0.0.1:4 cookie b
  server c 127.0.0.1:5 cookie b
  server d 127.0.0.1:6 cookie \"s p\"
backend rew
  cookie SID rewrite
  server a 127.0.0.1:7 cookie 1
backend inherits
  server a 127.0.0.1:8 cookie 1
backend passive
  cookie JS
  server a 127.0.0.1:9 cookie 1
frontend f
  bind :8080
  cookie X insert
  default_backend ins
";
    let (imported, cfg) = import_checked(text);
    let c = &imported.config;
    let ins = c.backend[0].cookie.as_ref().unwrap();
    assert_eq!(
        *ins,
        RawCookie {
            name: "SRV".into(),
            mode: Some(RawCookieMode::Insert),
            indirect: true,
            nocache: true,
            preserve: true,
            httponly: true,
            secure: true,
            domain: Some(".example.com".into())
        }
    );
    assert_warned(&imported, text, "cookie SRV", Untranslated, "domain .example.org (hakeeper sets one domain), maxidle 30m, dynamic");
    assert_eq!(c.backend[1].cookie.as_ref().unwrap().mode, Some(RawCookieMode::Prefix));
    let pre: Vec<Option<&str>> = c.backend[1].servers.iter().map(|s| s.cookie.as_deref()).collect();
    assert_eq!(pre, [None, Some("b"), None, None]);
    assert_warned(&imported, text, "cookie x~y", Untranslated, "the prefix delimiter");
    assert_warned(&imported, text, "server c", Untranslated, "also the cookie of server b");
    assert_warned(&imported, text, "server d", Untranslated, "blanks");
    assert_eq!(c.backend[2].cookie.as_ref().unwrap().mode, Some(RawCookieMode::Rewrite));
    assert_eq!(c.backend[4].cookie.as_ref().unwrap().mode, None, "no mode: the cookie is only read");
    assert_eq!(c.defaults.cookie.as_ref().unwrap().name, "DEF");
    assert!(c.frontend[0].cookie.is_none());
    assert_warned(&imported, text, "cookie X insert", Untranslated, "in a frontend");

    assert_eq!(cfg.http.backends[3].cookie.as_ref().unwrap().name, "DEF", "inherited from defaults");
    assert_eq!(cfg.http.backends[4].cookie.as_ref().unwrap().mode, CookieMode::Passive);
}

#[test]
fn a_cookie_without_server_values_is_linted_in_import_and_check() {
    let text = "backend b\n  mode http\n  cookie SRV insert\n  server a 127.0.0.1:1\n  server b 127.0.0.1:1\n";
    let imported = import_ok(text);
    assert_warned(&imported, text, "cookie SRV", Lint, "none of its servers has `cookie VALUE`");
    assert_warned(&imported, text, "server b", Lint, "share the address 127.0.0.1:1");
    assert_eq!(untranslated(&imported), Vec::<String>::new());
    let loaded = load_str("t.ron", &to_ron(&imported.config).unwrap()).unwrap();
    let fields: Vec<&str> = loaded.warnings.iter().map(|w| w.field.as_str()).collect();
    assert!(fields.contains(&"backend[0].cookie"), "{fields:?}");
    assert!(fields.contains(&"backend[0].servers[1].addr"), "{fields:?}");
}

#[test]
fn forwardfor_connection_modes_and_persist() {
    let text = "\
defaults
  mode http
  option httpclose
  option persist
frontend f
  bind :8080
  option forwardfor except 127.0.0.0/8 header X-Client if-none
  option http-server-close
  option persist # in a frontend
  default_backend b1
backend b1
  option forwardfor
  no option httpclose
  no option persist
  server s 127.0.0.1:1
backend b2
  option http-keep-alive
  option forwardfor except not-a-net
  server s 127.0.0.1:2
backend b3
  no option http-server-close
  option forwardfor header \"X Bad\"
  server s 127.0.0.1:3
backend b4
  option httpclose
  no option httpclose
  no option forwardfor
  server s 127.0.0.1:4
";
    let (imported, cfg) = import_checked(text);
    let c = &imported.config;
    assert_eq!(
        c.frontend[0].forwardfor,
        Some(RawForwardFor { except: Some("127.0.0.0/8".into()), header: Some("X-Client".into()), if_none: true })
    );
    assert_eq!(c.frontend[0].http_connection, Some(RawHttpConnection::ServerClose));
    assert_eq!(c.frontend[0].persist, None);
    assert_warned(&imported, text, "# in a frontend", Untranslated, "in a frontend");
    assert_eq!(c.backend[0].forwardfor, Some(RawForwardFor::default()));
    assert_eq!(c.backend[0].http_connection, Some(RawHttpConnection::KeepAlive), "no option httpclose undoes the defaults");
    assert_eq!(c.backend[0].persist, Some(false));
    assert_eq!((c.backend[1].http_connection, c.backend[1].forwardfor.as_ref()), (Some(RawHttpConnection::KeepAlive), None));
    assert_warned(&imported, text, "not-a-net", Untranslated, "invalid network");
    assert_eq!(c.backend[2].http_connection, None, "the defaults' mode is httpclose, not http-server-close");
    assert_warned(&imported, text, "X Bad", Untranslated, "invalid header name");
    assert_eq!(c.backend[3].http_connection, Some(RawHttpConnection::KeepAlive));
    assert_warned(&imported, text, "no option forwardfor", Untranslated, "not translated");

    let modes: Vec<HttpConnMode> = cfg.http.backends.iter().map(|b| b.connection).collect();
    assert_eq!(modes, [HttpConnMode::KeepAlive, HttpConnMode::KeepAlive, HttpConnMode::Close, HttpConnMode::KeepAlive]);
    let persist: Vec<bool> = cfg.http.backends.iter().map(|b| b.persist).collect();
    assert_eq!(persist, [false, true, true, true]);
    let ff = cfg.http.frontends[0].forwardfor.as_ref().unwrap();
    assert_eq!((ff.header.as_str(), ff.if_none, ff.except.map(|n| n.prefix_len)), ("X-Client", true, Some(8)));
}

#[test]
fn errorfiles_keep_their_paths() {
    let text = "\
defaults
  mode http
  errorfile 503 /etc/haproxy/errors/503.http
  errorfile 502 /etc/haproxy/errors/502.http
frontend f
  bind :8080
  errorfile 403 errors/403.http
  errorfile 403 /srv/403.http
  errorfile 302 /srv/302.http
  errorfile 500
  default_backend b
backend b
  errorfile 503 /srv/b503.http
  server s 127.0.0.1:1
";
    let (imported, cfg) = import_checked(text);
    let c = &imported.config;
    let files = |list: &[RawErrorFile]| list.iter().map(|e| (e.code, e.file.clone())).collect::<Vec<_>>();
    assert_eq!(files(&c.defaults.errorfiles), [(503, "/etc/haproxy/errors/503.http".into()), (502, "/etc/haproxy/errors/502.http".into())]);
    assert_eq!(files(&c.frontend[0].errorfiles), [(403, "/srv/403.http".to_string())], "the later line for a code wins");
    assert_warned(&imported, text, "errors/403.http", Lint, "relative path");
    assert_warned(&imported, text, "errorfile 302", Untranslated, "no error response");
    assert_warned(&imported, text, "errorfile 500", Untranslated, "expected a status code and a file");
    let codes: Vec<(u16, String)> = cfg.http.backends[0].errorfiles.iter().map(|e| (e.code, e.path.display().to_string())).collect();
    assert_eq!(codes, [(503, "/srv/b503.http".into()), (502, "/etc/haproxy/errors/502.http".into())]);
}

#[test]
fn several_defaults_sections_pass_their_http_settings_on() {
    let text = "\
defaults web
  mode http
  cookie SRV insert
  option forwardfor
  option http-server-close
  option persist
  errorfile 503 /e/503.http
defaults other
  mode http
frontend f from web
  bind :8080
  errorfile 403 /e/403.http
  default_backend b
backend b from web
  server s 127.0.0.1:1 cookie s
backend o from other
  server s 127.0.0.1:2
";
    let (imported, cfg) = import_checked(text);
    let c = &imported.config;
    assert_eq!(c.defaults, RawProxy::default());
    let f = &c.frontend[0];
    assert_eq!((f.cookie.as_ref(), f.persist), (None, None), "backend settings stay off the frontend");
    assert_eq!((f.forwardfor.is_some(), f.http_connection), (true, Some(RawHttpConnection::ServerClose)));
    assert_eq!(f.errorfiles.iter().map(|e| e.code).collect::<Vec<_>>(), [403, 503]);
    let b = &c.backend[0];
    assert_eq!((b.cookie.as_ref().map(|k| k.name.as_str()), b.persist), (Some("SRV"), Some(true)));
    assert_eq!((c.backend[1].cookie.as_ref(), c.backend[1].forwardfor.as_ref()), (None, None));
    assert!(cfg.http.backends[0].cookie.is_some() && cfg.http.backends[1].cookie.is_none());
}

#[test]
fn legacy_redirect_runs_after_the_http_request_rules() {
    let text = "\
frontend f
  mode http
  bind :8080
  acl old hdr(host) -i old.example.com
  redirect prefix https://new.example.com code 301 if old
  http-request deny if { path_beg /private }
  redirect location /moved set-cookie GONE=1
  default_backend b
backend b
  mode http
  server s 127.0.0.1:1
";
    let (imported, _) = import_checked(text);
    let f = &imported.config.frontend[0];
    // HAProxy evaluates `redirect` rules after all `http-request` rules of the section.
    assert_eq!(f.http_request, ["deny if { path_beg /private }", "redirect prefix https://new.example.com code 301 if old"]);
    assert_warned(&imported, text, "set-cookie GONE", Lossy, "not supported");
    assert_eq!(untranslated(&imported).len(), 1, "{:#?}", untranslated(&imported));
}

#[test]
fn match_methods_pattern_files_and_server_fetches_are_kept() {
    let dir = std::env::temp_dir().join(format!("hakeeper-import-lst-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("writers.lst"), "# writers\n10.1.0.0/16\n").unwrap();
    let text = "\
frontend f
  mode tcp
  bind :3306
  acl writers src -f writers.lst
  acl missing src -f nosuch.lst
  acl big req.len -m int gt 100
  acl sshre req.payload(0,0) -m reg -i ^ssh-
  use_backend primary if writers { srv_is_up(primary/p1) } { so_id 1 }
  use_backend primary if { connslots(primary) lt 0 } sshre big
  use_backend replica if { req.ssl_sni -i a.example } { req.ssl_hello_type 1 }
  default_backend replica
backend primary
  mode tcp
  server p1 127.0.0.1:3307 check
backend replica
  mode tcp
  server r1 127.0.0.1:3308
";
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, text).unwrap();
    let imported = crate::import::import(Some(&cfg), None);
    std::fs::remove_dir_all(&dir).unwrap();
    let imported = imported.unwrap_or_else(|e| panic!("{e}"));
    let acls = &imported.config.frontend[0].acls;
    let writers = acls.iter().find(|a| a.name == "writers").unwrap();
    assert_eq!(writers.criterion, format!("src -f {}", dir.join("writers.lst").display()), "made absolute");
    assert!(acls.iter().any(|a| a.criterion == "req.payload(0,0) -m reg -i ^ssh-"));
    assert_eq!(imported.config.frontend[0].use_backend.len(), 3, "{:?}", imported.config.frontend[0].use_backend);
    assert_warned(&imported, text, "acl missing", Lossy, "cannot read pattern file");
}
