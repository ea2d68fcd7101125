//! TLS towards servers in imported configs: HAProxy's `ssl` and its keywords on `server` and
//! `default-server`, `check-ssl`/`check-sni`, the global `ssl-server-verify`, `ca-base`,
//! `crt-base` and `ssl-default-server-options`; keepalived's `SSL_GET`.

use super::haproxy::{assert_warned, import_ok};
use super::*;
use crate::config::raw::{RawHealthCheck, RawServerSsl, RawVerify};
use crate::config::{load_str, to_ron};

#[test]
fn server_tls_keywords_translate() {
    let text = "\
global
  ca-base /etc/ssl/hk
  ssl-default-server-options no-sslv3 no-tlsv10 ssl-min-ver TLSv1.2
backend app
  mode http
  option httpchk GET /health
  default-server ssl verify required ca-file ca.pem
  server s1 10.0.0.1:443 sni req.hdr(host) crt /etc/ssl/client.pem alpn h2,http/1.1 check check-sni app.example
  server s2 10.0.0.2:443 verify none no-ssl check check-ssl
  server s3 10.0.0.3:443 sni str(app.example) verifyhost app.example ssl-min-ver TLSv1.3 check port 8080
";
    let imported = import_ok(text);
    assert!(imported.lossy().next().is_none(), "{:?}", printed(&imported));
    let be = imported.config.backend.iter().find(|b| b.name == "app").expect("app");
    let s1 = &be.servers[0];
    assert_eq!(
        s1.ssl,
        Some(RawServerSsl {
            enabled: None,
            verify: Some(RawVerify::Required),
            ca_file: Some("/etc/ssl/hk/ca.pem".into()),
            sni: Some("req.hdr(host)".into()),
            crt: Some("/etc/ssl/client.pem".into()),
            alpn: vec!["http/1.1".into()],
            ..RawServerSsl::default()
        })
    );
    assert_eq!((s1.check_ssl, s1.check_sni.as_deref()), (None, Some("app.example")), "checks inherit ssl on the traffic port");
    let s2 = be.servers[1].ssl.as_ref().expect("s2 ssl");
    assert_eq!((s2.enabled, s2.verify), (Some(false), Some(RawVerify::None)));
    assert_eq!(be.servers[1].check_ssl, Some(true));
    let s3 = be.servers[2].ssl.as_ref().expect("s3 ssl");
    assert_eq!(
        (s3.sni.as_deref(), s3.verifyhost.as_deref(), s3.min_version.as_deref()),
        (Some("str(app.example)"), Some("app.example"), Some("TLSv1.3"))
    );
}

#[test]
fn tls_keywords_without_ssl_or_check_ssl_configure_nothing() {
    let text = "\
backend app
  mode http
  default-server verify none
  server s1 10.0.0.1:80 check
";
    let imported = import_ok(text);
    assert_eq!(imported.config.backend[0].servers[0].ssl, None);
}

#[test]
fn ssl_server_verify_none_is_the_servers_default() {
    let text = "\
global
  ssl-server-verify none
backend app
  mode tcp
  server s1 10.0.0.1:443 ssl
";
    let imported = import_ok(text);
    let ssl = imported.config.backend[0].servers[0].ssl.as_ref().expect("ssl");
    assert_eq!((ssl.enabled, ssl.verify), (None, Some(RawVerify::None)));
}

#[test]
fn unused_global_tls_settings_are_ordinary_warnings() {
    let text = "\
global
  ssl-default-server-ciphers ECDHE-RSA-AES128-GCM-SHA256
backend app
  mode tcp
  server s1 10.0.0.1:80
";
    let imported = import_ok(text);
    assert!(imported.lossy().next().is_none(), "{:?}", printed(&imported));
    assert_warned(&imported, text, "ssl-default-server-ciphers", WarningKind::Untranslated, "not translated");
}

#[test]
fn keepalived_ssl_get_is_an_http_check_over_tls() {
    let text = "\
virtual_server 192.0.2.100 443 {
  delay_loop 3
  lb_algo rr
  protocol TCP
  real_server 192.0.2.10 443 {
    SSL_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 2
    }
  }
}
";
    let imported = import_keepalived_str("k.conf", text).unwrap_or_else(|e| panic!("{e}"));
    let ron = to_ron(&imported.config).unwrap();
    load_str("t.ron", &ron).unwrap_or_else(|e| panic!("imported config fails check:\n{e}\n{ron}"));
    let l = &imported.config.listen[0];
    let Some(RawHealthCheck::Http(http)) = &l.health_check else { panic!("{:?}", l.health_check) };
    assert_eq!((http.uri.as_deref(), http.expect_status), (Some("/health"), Some(200)));
    let s = &l.servers[0];
    assert_eq!(s.check_ssl, Some(true));
    let ssl = s.ssl.as_ref().expect("ssl");
    assert_eq!(
        (ssl.enabled, ssl.verify),
        (Some(false), Some(RawVerify::None)),
        "traffic stays plain; SSL_GET judges the answer, not the certificate"
    );
    assert!(imported.warnings.iter().any(|w| w.kind == WarningKind::Replaced && w.message.contains("SSL_GET")), "{:?}", printed(&imported));
}
