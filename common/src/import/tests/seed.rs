//! The seed's files: each imports, its RON passes validation, and says exactly what it should.

use super::*;
use crate::config::http::{CookieMode, HttpConnMode};
use crate::config::raw::*;
use crate::config::{load_str, to_ron, Loaded};
use WarningKind::{Lint, Replaced};

/// Imports seed files and checks the RON round trip through the validator.
fn import_seed(haproxy: Option<&str>, keepalived: Option<&str>) -> (Imported, Loaded) {
    let dir = seed_dir();
    let h = haproxy.map(|f| dir.join(f));
    let k = keepalived.map(|f| dir.join(f));
    let imported = import(h.as_deref(), k.as_deref()).unwrap_or_else(|e| panic!("import failed: {e}"));
    let ron = to_ron(&imported.config).unwrap();
    let loaded = load_str("imported.ron", &ron).unwrap_or_else(|e| panic!("imported config fails check:\n{e}\n{ron}"));
    // What the RON says is what was imported.
    assert_eq!(crate::config::parse_raw("imported.ron", &ron).unwrap(), imported.config);
    (imported, loaded)
}

/// (file name, line, kind) of each warning, in order.
fn where_and_kind(imported: &Imported) -> Vec<(String, usize, WarningKind)> {
    imported
        .warnings
        .iter()
        .map(|w| (std::path::Path::new(&w.file).file_name().unwrap().to_string_lossy().into_owned(), w.line, w.kind))
        .collect()
}

fn expect_warnings(imported: &Imported, expected: &[(&str, usize, WarningKind)]) {
    let got = where_and_kind(imported);
    let want: Vec<(String, usize, WarningKind)> = expected.iter().map(|(f, l, k)| (f.to_string(), *l, *k)).collect();
    assert_eq!(got, want, "warnings:\n{}", printed(imported).join("\n"));
}

fn message_at(imported: &Imported, line: usize) -> &str {
    imported.warnings.iter().find(|w| w.line == line).map(|w| w.message.as_str()).unwrap_or_else(|| panic!("no warning at line {line}"))
}

#[test]
fn tcp_seed_with_master_imports_exactly() {
    let (imported, loaded) = import_seed(Some("haproxy-tcp.cfg"), Some("keepalived-master.conf"));
    let c = &imported.config;
    let log = c.global.log.as_ref().unwrap();
    assert_eq!((log.target.as_str(), log.facility.as_str(), log.level.as_deref()), ("udp://127.0.0.1:514", "local1", None));
    assert_eq!(c.global.maxconn, Some(4096));
    assert_eq!(c.global.chroot.as_deref(), Some("/usr/share/haproxy"));
    let d = &c.defaults;
    assert_eq!(d.mode, Some(RawMode::Tcp));
    assert_eq!((d.abortonclose, d.redispatch, d.retries, d.maxconn, d.log), (Some(true), Some(true), Some(3), Some(2000), Some(true)));
    let t = d.timeout.as_ref().unwrap();
    assert_eq!((t.connect.as_deref(), t.client.as_deref(), t.server.as_deref()), (Some("5s"), Some("50s"), Some("50s")));

    assert_eq!(c.listen.len(), 1);
    assert!(c.frontend.is_empty() && c.backend.is_empty(), "the stats frontend becomes the stats page");
    let l = &c.listen[0];
    assert_eq!(
        (l.name.as_str(), l.bind.as_slice(), l.balance.as_ref()),
        ("proxy_status", &["*:48066".into()][..], Some(&RawBalance::Roundrobin))
    );
    let servers: Vec<(&str, &str, Option<&str>)> =
        l.servers.iter().map(|s| (s.name.as_str(), s.addr.as_str(), s.check.as_ref().and_then(|c| c.inter.as_deref()))).collect();
    assert_eq!(
        servers,
        [
            ("server_1", "10.0.0.1:8066", Some("10s")),
            ("server_2", "10.0.0.2:8066", Some("10s")),
            ("server_3", "10.0.0.3:8066", Some("10s"))
        ]
    );

    let s = c.stats.as_ref().unwrap();
    assert_eq!((s.bind.as_str(), s.uri.as_deref(), s.refresh.as_deref()), (":7777", Some("/admin"), Some("30s")));
    assert_eq!(s.auth, [("mldn".to_string(), "java".to_string())]);
    assert!(s.hide_version && s.admin);
    assert_eq!(s.maxconn, Some(10));

    let v = &c.vrrp;
    assert_eq!(v.router_id.as_deref(), Some("haproxymaster"));
    assert_eq!(v.scripts.len(), 1);
    let chk = &v.scripts[0];
    assert_eq!((chk.name.as_str(), chk.builtin.clone(), chk.script.as_deref()), ("chk_haproxy", Some(RawBuiltinCheck::ProxyAlive), None));
    assert_eq!((chk.interval.as_deref(), chk.weight), (Some("2s"), Some(0)));
    let vi = &v.instances[0];
    assert_eq!((vi.name.as_str(), vi.interface.as_str(), vi.vrid, vi.priority), ("VI_1", "eth1", 35, 120));
    assert_eq!((vi.state, vi.preempt, vi.advert_int.as_deref()), (Some(RawVrrpState::Master), Some(false), Some("1s")));
    assert_eq!(vi.auth, Some(RawVrrpAuth::Pass("1111".into())));
    assert_eq!(vi.vips, ["10.0.0.5"]);
    assert_eq!(vi.track, [RawTrackScript { script: "chk_haproxy".into(), weight: None }]);

    expect_warnings(
        &imported,
        &[("haproxy-tcp.cfg", 29, Replaced), ("keepalived-master.conf", 5, Replaced), ("keepalived-master.conf", 14, Lint)],
    );
    assert!(message_at(&imported, 5).contains("builtin: proxy_alive"));
    assert!(message_at(&imported, 14).starts_with("nopreempt with state MASTER"));
    assert_eq!(imported.untranslated().count(), 0);

    // The validated config: a frontend and backend from the listen, the stats page, VRRP.
    let cfg = loaded.config;
    assert_eq!(cfg.frontends.len(), 1);
    assert_eq!(cfg.backends[0].servers.len(), 3);
    assert_eq!(cfg.stats.unwrap().bind, "0.0.0.0:7777".parse().unwrap());
    assert_eq!(cfg.vrrp.instances[0].vrid, 35);
}

#[test]
fn backup_seed_imports_with_only_the_replaced_script_noted() {
    let (imported, loaded) = import_seed(Some("haproxy-tcp.cfg"), Some("keepalived-backup.conf"));
    let vi = &imported.config.vrrp.instances[0];
    assert_eq!((vi.vrid, vi.priority, vi.state, vi.preempt), (35, 110, Some(RawVrrpState::Backup), Some(false)));
    assert_eq!(imported.config.vrrp.router_id.as_deref(), Some("haproxyslave"));
    expect_warnings(&imported, &[("haproxy-tcp.cfg", 29, Replaced), ("keepalived-backup.conf", 5, Replaced)]);
    assert!(!loaded.config.vrrp.instances[0].preempt);

    let (alone, _) = import_seed(None, Some("keepalived-backup.conf"));
    expect_warnings(&alone, &[("keepalived-backup.conf", 5, Replaced)]);
    assert!(alone.config.listen.is_empty() && alone.config.stats.is_none());
}

#[test]
fn http_seed_imports_its_routing_and_persistence() {
    let (imported, loaded) = import_seed(Some("haproxy-http.cfg"), None);
    let c = &imported.config;
    let log = c.global.log.as_ref().unwrap();
    assert_eq!((log.target.as_str(), log.facility.as_str()), ("udp://127.0.0.1:514", "local0"));
    assert_eq!(c.global.maxconn, Some(4096));
    let d = &c.defaults;
    assert_eq!((d.mode, d.retries, d.log_format, d.dontlognull), (Some(RawMode::Http), Some(2), Some(RawLogFormat::Httplog), Some(true)));
    let t = d.timeout.as_ref().unwrap();
    assert_eq!(
        [&t.connect, &t.client, &t.server, &t.check, &t.http_keep_alive, &t.http_request, &t.queue].map(|v| v.as_deref()),
        [Some("5s"), Some("30s"), Some("30s"), Some("2s"), Some("10s"), Some("10s"), Some("1m")]
    );
    assert_eq!(c.frontend.len(), 1);
    assert_eq!((c.frontend[0].bind.as_slice(), c.frontend[0].default_backend.as_deref()), (&["*:80".into()][..], Some("dynamic")));
    let names: Vec<&str> = c.backend.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["webserver", "imgserver", "dynamic"]);
    let web = &c.backend[0];
    assert_eq!(
        web.health_check,
        Some(RawHealthCheck::Http(RawHttpCheck { method: Some("/index.html".into()), uri: Some("HTTP/1.0".into()), ..Default::default() }))
    );
    let web1 = &web.servers[0];
    assert_eq!((web1.cookie.as_deref(), web1.weight), (Some("1"), Some(5)));
    let chk = web1.check.as_ref().unwrap();
    assert_eq!((chk.inter.as_deref(), chk.rise, chk.fall), (Some("2s"), Some(2), Some(3)));
    assert_eq!(c.backend[1].balance, Some(RawBalance::Source));
    assert_eq!(c.backend[2].balance, Some(RawBalance::Leastconn));
    let s = c.stats.as_ref().unwrap();
    assert_eq!((s.bind.as_str(), s.uri.as_deref(), s.realm.as_deref()), ("0.0.0.0:1080", Some("/stats"), Some("XingCloud Haproxy")));
    assert_eq!(s.auth, [("admin".to_string(), "admin".to_string()), ("Frank".to_string(), "Frank".to_string())]);
    assert!(s.admin && s.hide_version);

    // L7: host routing, cookie insert, forwardfor and httpclose from defaults.
    assert_eq!(d.forwardfor, Some(RawForwardFor::default()));
    assert_eq!(d.http_connection, Some(RawHttpConnection::Close));
    let fe = &c.frontend[0];
    assert_eq!(
        fe.acls,
        [
            RawAcl { name: "web".into(), criterion: "hdr(host) -i www.abc.com".into() },
            RawAcl { name: "img".into(), criterion: "hdr(host) -i img.abc.com".into() }
        ]
    );
    assert_eq!(
        fe.use_backend,
        [
            RawUseBackend { backend: "webserver".into(), cond: Some("if web".into()) },
            RawUseBackend { backend: "imgserver".into(), cond: Some("if img".into()) }
        ]
    );
    assert_eq!(
        web.cookie,
        Some(RawCookie { name: "SERVERID".into(), mode: Some(RawCookieMode::Insert), indirect: true, nocache: true, ..Default::default() })
    );
    assert_eq!(web.servers[1].cookie.as_deref(), Some("2"));

    // Both log targets translate, the second with its own facility and level.
    let more = &c.global.additional_logs;
    assert_eq!(more.len(), 1);
    assert_eq!(
        (more[0].target.as_str(), more[0].facility.as_str(), more[0].level.as_deref()),
        ("udp://127.0.0.1:514", "local1", Some("notice"))
    );

    // What is left: the stats page's access log (replaced) and the httpchk trap (translated as written).
    let f = "haproxy-http.cfg";
    expect_warnings(&imported, &[(f, 32, Replaced), (f, 52, Lint)]);
    assert!(message_at(&imported, 52).contains("reads as METHOD URI"), "{}", message_at(&imported, 52));

    // The validated routing: www → webserver, img → imgserver, else dynamic.
    let cfg = &loaded.config;
    let names: Vec<&str> = cfg.backends.iter().map(|b| b.name.as_str()).collect();
    let fh = &cfg.http.frontends[0];
    let routes: Vec<(&str, &str)> = fh
        .use_backend
        .iter()
        .map(|u| {
            let cond = u.cond.as_ref().unwrap();
            (names[u.backend], fh.acls[cond.any_of[0][0].acl].name.as_str())
        })
        .collect();
    assert_eq!(routes, [("webserver", "web"), ("imgserver", "img")]);
    assert_eq!(names[cfg.frontends[0].default_backend.unwrap()], "dynamic");
    let web_http = &cfg.http.backends[0];
    let k = web_http.cookie.as_ref().unwrap();
    assert_eq!((k.name.as_str(), k.mode, k.indirect, k.nocache), ("SERVERID", CookieMode::Insert, true, true));
    assert_eq!(fh.connection, HttpConnMode::Close);
    assert_eq!(fh.forwardfor.as_ref().map(|f| f.header.as_str()), Some("X-Forwarded-For"));
    assert_eq!(loaded.config.backends.len(), 3);
}

#[test]
fn full_keepalived_seed_imports_vrrp_and_lvs() {
    let (imported, loaded) = import_seed(None, Some("keepalived-full.conf"));
    let v = &imported.config.vrrp;
    assert_eq!(
        (v.router_id.as_deref(), v.script_user.as_deref(), v.enable_script_security),
        (Some("LVS_DEVEL"), Some("keepalived_script"), true)
    );
    assert_eq!(v.garp, None, "garp intervals of 0 set nothing");
    let chk = &v.scripts[0];
    assert_eq!(chk.script.as_deref(), Some("/etc/keepalived/chk_nginx.sh"));
    assert_eq!(
        (chk.interval.as_deref(), chk.weight, chk.fall, chk.rise, chk.user.as_deref()),
        (Some("3s"), Some(-20), Some(3), Some(2), Some("keepalived_script"))
    );
    let (vi1, vi2) = (&v.instances[0], &v.instances[1]);
    assert_eq!((vi1.vrid, vi1.priority, vi1.state), (51, 100, Some(RawVrrpState::Master)));
    assert_eq!(vi1.notify_master.as_deref(), Some("/etc/keepalived/start_haproxy.sh start"));
    assert_eq!(vi1.notify_fault.as_deref(), Some("/etc/keepalived/start_haproxy.sh stop"));
    assert_eq!((vi2.vrid, vi2.priority, vi2.vips.as_slice()), (52, 90, &["192.168.119.131".to_string()][..]));

    let l = &imported.config.listen;
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].bind.as_slice(), l[0].mode, l[0].health_check.as_ref()),
        (&["192.168.119.130:80".into()][..], Some(RawMode::Tcp), Some(&RawHealthCheck::Tcp))
    );
    // lb_kind DR, lb_algo rr: the kernel's DR on the interface of the instance holding the VIP.
    let lvs = l[0].lvs.as_ref().unwrap();
    assert_eq!(
        (lvs.kind, lvs.interface.as_deref(), l[0].balance.as_ref()),
        (Some(RawLvsKind::Dr), Some("ens33"), Some(&RawBalance::StaticRr))
    );
    assert_eq!(l[1].lvs.as_ref().and_then(|l| l.interface.as_deref()), Some("ens33"));
    assert_eq!(l[0].timeout.as_ref().unwrap().check.as_deref(), Some("10s"));
    let rs = &l[0].servers[0];
    assert_eq!((rs.addr.as_str(), rs.weight), ("192.168.119.120:80", Some(1)));
    let c = rs.check.as_ref().unwrap();
    // delay_loop 6 → inter; delay_before_retry 3 → fastinter; retry 3 → fall 4; one success → UP.
    assert_eq!((c.inter.as_deref(), c.fastinter.as_deref(), c.rise, c.fall, c.port), (Some("6s"), Some("3s"), Some(1), Some(4), None));
    assert!(l[0].stick.is_none(), "persistence_timeout is commented out in the seed");

    let f = "keepalived-full.conf";
    expect_warnings(
        &imported,
        &[
            (f, 4, Replaced),
            (f, 7, Replaced),
            (f, 8, Replaced),
            (f, 9, Replaced),
            (f, 11, Replaced),
            (f, 12, Lint),
            (f, 13, Lint),
            (f, 14, Lint),
        ],
    );
    assert!(message_at(&imported, 4).contains("sends no e-mail") && message_at(&imported, 4).contains("syslog"));
    assert!(message_at(&imported, 12).contains("DROP rules"));
    assert!(message_at(&imported, 13).contains("rejects an interval of 0"));
    assert_eq!((loaded.config.frontends.len(), loaded.config.lvs.len()), (0, 2), "no user-space listener: the kernel balances");
}

#[test]
fn full_keepalived_seed_as_proxy_keeps_l4_listeners() {
    let dir = seed_dir();
    let k = dir.join("keepalived-full.conf");
    let imported = import_with(None, Some(&k), &ImportOptions { lvs_as_proxy: true }).unwrap_or_else(|e| panic!("{e}"));
    let loaded = load_str("imported.ron", &to_ron(&imported.config).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.config.listen.iter().all(|l| l.lvs.is_none()));
    assert!(message_at(&imported, 49).contains("NAT-like"));
    assert!(message_at(&imported, 88).contains("NAT-like"));
    assert_eq!((loaded.config.frontends.len(), loaded.config.lvs.len()), (2, 0));
}

#[test]
fn http_seed_with_full_keepalived_flags_the_shared_port() {
    let (imported, _) = import_seed(Some("haproxy-http.cfg"), Some("keepalived-full.conf"));
    let overlaps: Vec<&ImportWarning> = imported.warnings.iter().filter(|w| w.message.contains("use the same port")).collect();
    assert_eq!(overlaps.len(), 2, "{}", printed(&imported).join("\n"));
    assert_eq!((overlaps[0].line, overlaps[1].line), (46, 85));
    // HAProxy's warnings come first, then keepalived's, each in line order.
    let files: Vec<bool> = imported.warnings.iter().map(|w| w.file.ends_with("haproxy-http.cfg")).collect();
    assert!(files.windows(2).all(|w| w[0] >= w[1]));
}
