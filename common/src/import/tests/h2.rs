//! HTTP/2 keywords: `bind … proto`, `alpn h2` on TLS binds, and `tune.h2.*`.

use super::haproxy::{assert_warned, import_ok};
use super::*;
use crate::config::raw::{RawBindProto, RawH2};
use crate::config::{load_str, to_ron};
use crate::import::warning::WarningKind;

#[test]
fn tune_h2_reaches_global_h2() {
    let text = "global\n  tune.h2.header-table-size 8192\n  tune.h2.initial-window-size 1048576\n  tune.h2.max-concurrent-streams 200\n  tune.h2.max-frame-size 32768\nlisten l\n  mode http\n  bind :80\n  server s 127.0.0.1:81\n";
    let imported = import_ok(text);
    assert_eq!(
        imported.config.global.h2,
        Some(RawH2 {
            header_table_size: Some(8192),
            initial_window_size: Some(1 << 20),
            max_concurrent_streams: Some(200),
            max_frame_size: Some(32768)
        })
    );
    assert!(imported.warnings.is_empty(), "{:?}", printed(&imported));
    let c = load_str("t.ron", &to_ron(&imported.config).unwrap()).unwrap().config;
    assert_eq!((c.global.h2.header_table_size, c.global.h2.max_concurrent_streams), (8192, 200));
}

#[test]
fn unlimited_streams_become_the_bound_and_bad_values_are_reported() {
    let text = "global\n  tune.h2.max-concurrent-streams 0\n  tune.h2.initial-window-size lots\nlisten l\n  mode http\n  bind :80\n  server s 127.0.0.1:81\n";
    let imported = import_ok(text);
    assert_eq!(imported.config.global.h2.as_ref().and_then(|h| h.max_concurrent_streams), Some(1000));
    assert_warned(&imported, text, "max-concurrent-streams", WarningKind::Replaced, "1000");
    assert_warned(&imported, text, "initial-window-size", WarningKind::Untranslated, "not translated");
}

#[test]
fn bind_proto_is_translated() {
    let text = "frontend f\n  mode http\n  bind :80 proto h2\n  bind :81 proto h1\n  bind :82 proto quic\n  default_backend b\nbackend b\n  mode http\n  server s 127.0.0.1:81\n";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    let binds = &imported.config.frontend[0].bind;
    assert_eq!(binds.iter().map(|b| b.proto).collect::<Vec<_>>(), [Some(RawBindProto::H2), Some(RawBindProto::H1), None]);
    assert_warned(&imported, text, "proto quic", WarningKind::Untranslated, "proto quic");
    let ron = to_ron(&imported.config).unwrap();
    assert!(ron.contains("proto: h2") && ron.contains("proto: h1"), "{ron}");
    // The worker serves HTTP/2: the translated binds load as they are.
    let loaded = load_str("t.ron", &ron).map_err(|e| e.to_string()).expect("proto h2 accepted");
    assert_eq!(loaded.config.frontends[0].bind_proto[0], crate::config::model::BindProto::H2);
}

#[test]
fn alpn_h2_is_kept_in_the_offer_list() {
    let text = "frontend f\n  mode http\n  bind :443 ssl crt /etc/ssl/site.pem alpn h2,http/1.1\n  default_backend b\nbackend b\n  mode http\n  server s 127.0.0.1:81\n";
    let imported = import_haproxy_str("t.cfg", text).unwrap();
    let ssl = imported.config.frontend[0].bind[0].ssl.as_ref().unwrap();
    assert_eq!(ssl.alpn, ["h2", "http/1.1"]);
}

#[test]
fn a_stats_listen_with_proto_h2_serves_the_page_over_h2() {
    let text = "listen stats\n  mode http\n  bind 127.0.0.1:8404 proto h2\n  stats enable\n  stats uri /admin\n  stats auth mldn:java\n";
    let imported = import_ok(text);
    let stats = imported.config.stats.as_ref().expect("a stats page");
    assert_eq!(stats.bind.proto, Some(RawBindProto::H2));
    assert!(imported.warnings.is_empty(), "{:?}", printed(&imported));
    let loaded = load_str("t.ron", &to_ron(&imported.config).unwrap()).map_err(|e| e.to_string()).expect("accepted");
    assert_eq!(loaded.config.stats.map(|s| s.bind_proto), Some(crate::config::model::BindProto::H2));
}
