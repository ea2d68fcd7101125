//! Re-encryption (`server … ssl`): hakeeper's plain HTTP bind in front of TLS servers (a rustls
//! backend with certificates the test makes with openssl). Verified connections carry requests
//! (curl through); a certificate from another CA is a failed connect (503, `SC--`, the reason
//! logged, `econ` counted); `verify: none` accepts it; the SNI is the configured one, per
//! request with `req.hdr(host)`; keep-alive requests reuse one TLS connection, and never one
//! opened with another SNI.

mod harness;

use harness::differential_haproxy::listening;
use harness::pki::{openssl_available, Pki};
use harness::process::{free_port, output_within, wait_until, Appliance, TempDir};
use harness::tls_backend::TlsBackend;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// `curl` GETs of `urls` on one client connection (keep-alive): (status codes, bodies).
fn curl(urls: &[String], host: Option<&str>) -> (Vec<u16>, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "10", "-w", "|%{http_code}\n"]);
    if let Some(h) = host {
        cmd.args(["-H", &format!("Host: {h}")]);
    }
    cmd.args(urls);
    let out = output_within(cmd, Duration::from_secs(15)).expect("run curl (tests/install-deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let codes = text.lines().filter_map(|l| l.rsplit_once('|')).filter_map(|(_, c)| c.parse().ok()).collect();
    (codes, text)
}

/// A column of one server's row in the stats CSV.
fn server_stat(stats: SocketAddr, backend: &str, server: &str, column: &str) -> u64 {
    harness::stats::row_column(stats, backend, server, column)
}

#[test]
fn re_encryption_verifies_sends_sni_and_reuses_tls_connections() {
    if !openssl_available("re_encryption_verifies_sends_sni_and_reuses_tls_connections") {
        return;
    }
    let pki = Pki::new(&["app.example", "www.example", "other.example"]);
    let tcp = TlsBackend::start(&pki.path("server.crt"), &pki.path("server.key"));
    let tcp_port = free_port();
    let (good, wrong, lax, per_host) = (
        TlsBackend::start(&pki.path("server.crt"), &pki.path("server.key")),
        TlsBackend::start(&pki.path("server.crt"), &pki.path("server.key")),
        TlsBackend::start(&pki.path("server.crt"), &pki.path("server.key")),
        TlsBackend::start(&pki.path("server.crt"), &pki.path("server.key")),
    );
    let dir = TempDir::new("tls-upstream");
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let stats_port = free_port();
    let (ca, other) = (pki.path("ca.pem").display().to_string(), pki.path("other-ca.pem").display().to_string());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, log_format: httplog, retries: 1, timeout: (connect: "2s", client: "5s", server: "5s")),
  frontend: [(name: "fe_good", bind: ["127.0.0.1:{}"], default_backend: "good"),
             (name: "fe_wrong", bind: ["127.0.0.1:{}"], default_backend: "wrong"),
             (name: "fe_lax", bind: ["127.0.0.1:{}"], default_backend: "lax"),
             (name: "fe_host", bind: ["127.0.0.1:{}"], default_backend: "per_host")],
  backend: [(name: "good", servers: [(name: "s1", addr: "{}",
                 ssl: (verify: required, ca_file: "{ca}", sni: "str(app.example)", alpn: ["http/1.1"]))]),
            (name: "wrong", servers: [(name: "s1", addr: "{}",
                 ssl: (ca_file: "{other}", sni: "str(app.example)"))]),
            (name: "lax", servers: [(name: "s1", addr: "{}", ssl: (verify: none, ca_file: "{other}"))]),
            (name: "per_host", http_reuse: always,
             servers: [(name: "s1", addr: "{}", ssl: (ca_file: "{ca}", sni: "req.hdr(host)"))])],
  listen: [(name: "tcp_tls", mode: tcp, log_format: tcplog, bind: ["127.0.0.1:{tcp_port}"],
            servers: [(name: "s1", addr: "{tcp}", ssl: (ca_file: "{ca}", sni: "str(app.example)"))])],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            ports[0],
            ports[1],
            ports[2],
            ports[3],
            good.addr,
            wrong.addr,
            lax.addr,
            per_host.addr,
            tcp = tcp.addr,
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(10), || ports.iter().chain([&stats_port, &tcp_port]).all(|p| listening(*p))),
        "not listening:\n{}",
        hk.log_text()
    );
    let url = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");

    // Verified, with the configured SNI; three keep-alive requests, one TLS connection.
    let (codes, text) = curl(&[url(ports[0], "/a"), url(ports[0], "/b"), url(ports[0], "/c")], None);
    assert_eq!(codes, [200, 200, 200], "{text}\n{}", hk.log_text());
    assert_eq!(text.matches("sni=app.example conn=1").count(), 3, "{text}");
    assert_eq!(good.handshakes(), 1, "keep-alive requests reuse the TLS connection");
    assert_eq!(good.snis(), [Some("app.example".to_string())]);

    // A certificate from another CA: no request reaches the server; 503, SC--, why, econ.
    let (codes, text) = curl(&[url(ports[1], "/")], None);
    assert_eq!(codes, [503], "{text}");
    assert_eq!(wrong.handshakes(), 0);
    assert!(hk.wait_for_log("Connection to server wrong/s1 failed: SSL handshake failure", Duration::from_secs(5)), "{}", hk.log_text());
    assert!(hk.log_text().contains("UnknownIssuer"), "{}", hk.log_text());
    assert!(hk.wait_for_log(" fe_wrong wrong/s1 ", Duration::from_secs(5)), "{}", hk.log_text());
    let line = hk.log_text().lines().find(|l| l.contains(" fe_wrong wrong/s1 ")).unwrap_or_default().to_string();
    assert!(line.contains(" 503 ") && line.contains(" SC-- "), "httplog line: {line}");
    assert_eq!(server_stat(SocketAddr::from(([127, 0, 0, 1], stats_port)), "wrong", "s1", "econ"), 1);

    // verify: none accepts it (and sends no SNI: none is configured).
    let (codes, text) = curl(&[url(ports[2], "/")], None);
    assert_eq!(codes, [200], "{text}\n{}", hk.log_text());
    assert_eq!(lax.snis(), [None]);

    // SNI from the Host header, per request; an idle connection is reused only for its own SNI.
    let (codes, text) = curl(&[url(ports[3], "/")], Some("www.example"));
    assert_eq!((codes, text.contains("sni=www.example conn=1")), (vec![200], true), "{text}\n{}", hk.log_text());
    let (codes, text) = curl(&[url(ports[3], "/")], Some("other.example"));
    assert_eq!((codes, text.contains("sni=other.example conn=2")), (vec![200], true), "{text}");
    let (codes, text) = curl(&[url(ports[3], "/")], Some("www.example"));
    assert_eq!((codes, text.contains("sni=www.example conn=1")), (vec![200], true), "reused by SNI (http-reuse always): {text}");
    assert_eq!(per_host.handshakes(), 2);
    // A name the certificate does not carry fails verification.
    let (codes, _) = curl(&[url(ports[3], "/")], Some("evil.example"));
    assert_eq!(codes, [503]);
    assert!(hk.wait_for_log("not valid for name", Duration::from_secs(5)), "{}", hk.log_text());

    // mode tcp: the bytes are re-encrypted as they are; two requests on one client connection
    // travel on its one TLS connection, and the client's close ends it.
    let (codes, text) = curl(&[url(tcp_port, "/a"), url(tcp_port, "/b")], None);
    assert_eq!(codes, [200, 200], "{text}\n{}", hk.log_text());
    assert_eq!(text.matches("sni=app.example conn=1").count(), 2, "{text}");
    assert_eq!(tcp.snis(), [Some("app.example".to_string())]);
    assert!(hk.wait_for_log(" tcp_tls tcp_tls/s1 ", Duration::from_secs(5)), "a tcplog line:\n{}", hk.log_text());
    hk.terminate(Duration::from_secs(10));
}

#[test]
fn client_certificate_is_shown_to_servers_that_require_one() {
    if !openssl_available("client_certificate_is_shown_to_servers_that_require_one") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    let (cert, key, ca) = (pki.path("server.crt"), pki.path("server.key"), pki.path("ca.pem"));
    let (with, without) =
        (TlsBackend::start_requiring_client_cert(&cert, &key, &ca), TlsBackend::start_requiring_client_cert(&cert, &key, &ca));
    let dir = TempDir::new("tls-upstream-crt");
    let (p1, p2) = (free_port(), free_port());
    let (ca, crt) = (ca.display().to_string(), pki.path("client.pem").display().to_string());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, log_format: httplog, retries: 0, timeout: (connect: "2s", client: "5s", server: "5s")),
  frontend: [(name: "fe_crt", bind: ["127.0.0.1:{p1}"], default_backend: "crt"),
             (name: "fe_none", bind: ["127.0.0.1:{p2}"], default_backend: "none")],
  backend: [(name: "crt", servers: [(name: "s1", addr: "{}", ssl: (ca_file: "{ca}", sni: "str(app.example)", crt: "{crt}"))]),
            (name: "none", servers: [(name: "s1", addr: "{}", ssl: (ca_file: "{ca}", sni: "str(app.example)"))])],
)"#,
            with.addr, without.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(p1) && listening(p2)), "not listening:\n{}", hk.log_text());
    let (codes, text) = curl(&[format!("http://127.0.0.1:{p1}/")], None);
    assert_eq!(codes, [200], "{text}\n{}", hk.log_text());
    // Without one the server refuses it. Under TLSv1.3 the refusal (an alert) comes after the
    // client's side of the handshake is over, with the answer (as it does to HAProxy): the
    // server aborted the request, nothing reaches the client.
    let (codes, text) = curl(&[format!("http://127.0.0.1:{p2}/")], None);
    assert_eq!(without.handshakes(), 0);
    assert!(hk.wait_for_log(" fe_none none/s1 ", Duration::from_secs(5)), "{}", hk.log_text());
    let line = hk.log_text().lines().find(|l| l.contains(" fe_none none/s1 ")).unwrap_or_default().to_string();
    assert!(!codes.contains(&200) && line.contains(" SH-"), "{codes:?} {text}; httplog line: {line}");
    assert!(!hk.log_text().contains("PRIVATE KEY"), "the key is never logged");
    hk.terminate(Duration::from_secs(10));
}

/// The same haproxy.cfg run by HAProxy 2.6 and, imported, by hakeeper: the same answers for a
/// verified server, one with a certificate from another CA, one not verified, and a wrong name.
#[test]
fn same_answers_as_haproxy_for_the_same_server_tls_config() {
    let test = "same_answers_as_haproxy_for_the_same_server_tls_config";
    if !openssl_available(test) {
        return;
    }
    let Some(haproxy) = harness::differential_haproxy::binary(test) else { return };
    let pki = Pki::new(&["app.example"]);
    let backend = TlsBackend::start(&pki.path("server.crt"), &pki.path("server.key"));
    let dir = TempDir::new("tls-upstream-diff");
    let (ca, other) = (pki.path("ca.pem").display().to_string(), pki.path("other-ca.pem").display().to_string());
    let cases = [
        ("good", format!("ssl verify required ca-file {ca} sni str(app.example)")),
        ("wrong_ca", format!("ssl verify required ca-file {other} sni str(app.example)")),
        ("unverified", format!("ssl verify none ca-file {other}")),
        ("wrong_name", format!("ssl verify required ca-file {ca} sni str(evil.example)")),
    ];
    let cfg = |ports: &[u16]| {
        let mut text =
            "global\n  user nobody\ndefaults\n  mode http\n  retries 1\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n"
                .to_string();
        for ((name, params), port) in cases.iter().zip(ports) {
            text += &format!("frontend fe_{name}\n  bind 127.0.0.1:{port}\n  default_backend {name}\n");
            text += &format!("backend {name}\n  server s1 {} {params}\n", backend.addr);
        }
        text
    };
    let hap_ports: Vec<u16> = cases.iter().map(|_| free_port()).collect();
    let hk_ports: Vec<u16> = cases.iter().map(|_| free_port()).collect();
    std::fs::write(dir.file("haproxy.cfg"), cfg(&hap_ports)).expect("write haproxy.cfg");
    std::fs::write(dir.file("hk.cfg"), cfg(&hk_ports)).expect("write hk.cfg");
    let ron = dir.file("hk.ron");
    let (code, out, err) = harness::process::run_cli(
        &["import", "--haproxy", dir.file("hk.cfg").to_str().expect("path"), "-o", ron.to_str().expect("path")],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "the import keeps every TLS setting: {out}{err}");
    let mut hap = harness::differential_haproxy::Haproxy::start(&haproxy, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hk = Appliance::start(&ron, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    let all: Vec<u16> = hap_ports.iter().chain(&hk_ports).copied().collect();
    assert!(
        wait_until(Duration::from_secs(10), || all.iter().all(|p| listening(*p))),
        "not listening:\nhaproxy: {}\nhakeeper: {}",
        hap.log_text(),
        hk.log_text()
    );
    assert!(!hap.exited(), "{}", hap.log_text());
    let mut answers = Vec::new();
    for ((name, _), (hp, kp)) in cases.iter().zip(hap_ports.iter().zip(&hk_ports)) {
        let (h, _) = curl(&[format!("http://127.0.0.1:{hp}/")], None);
        let (k, text) = curl(&[format!("http://127.0.0.1:{kp}/")], None);
        assert_eq!(k, h, "{name}: hakeeper {text} vs haproxy\n{}", hk.log_text());
        answers.push((*name, k));
    }
    assert_eq!(
        answers,
        [("good", vec![200]), ("wrong_ca", vec![503]), ("unverified", vec![200]), ("wrong_name", vec![503])],
        "the expected answers, from both"
    );
    hk.terminate(Duration::from_secs(10));
}

/// Checks of an `ssl` server run over TLS (HAProxy: checks inherit `ssl` on the traffic port),
/// verified with the files the supervisor read: UP after a verified handshake, DOWN with the
/// layer-6 reason when the certificate is from another CA.
#[test]
fn health_checks_of_ssl_servers_run_over_verified_tls() {
    if !openssl_available("health_checks_of_ssl_servers_run_over_verified_tls") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    let (cert, key) = (pki.path("server.crt"), pki.path("server.key"));
    let (good, wrong) = (TlsBackend::start(&cert, &key), TlsBackend::start(&cert, &key));
    let dir = TempDir::new("tls-upstream-check");
    let port = free_port();
    let (ca, other) = (pki.path("ca.pem").display().to_string(), pki.path("other-ca.pem").display().to_string());
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "5s", server: "5s")),
  listen: [(name: "app", bind: ["127.0.0.1:{port}"],
            servers: [(name: "good", addr: "{}", check: (inter: "300ms", rise: 1, fall: 1, initial: down),
                       ssl: (ca_file: "{ca}"), check_sni: "app.example"),
                      (name: "wrong", addr: "{}", check: (inter: "300ms", rise: 1, fall: 1),
                       ssl: (ca_file: "{other}"), check_sni: "app.example")])],
)"#,
            good.addr, wrong.addr
        ),
    )
    .expect("write config");
    let mut hk = Appliance::start(&config, &dir.file("h.log"));
    hk.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    assert!(hk.wait_for_log("Server app/good is UP, reason: Layer6 check passed", Duration::from_secs(10)), "{}", hk.log_text());
    assert!(
        hk.wait_for_log(
            "Server app/wrong is DOWN, reason: Layer6 invalid response, info: \"SSL handshake failure: ",
            Duration::from_secs(10)
        ),
        "{}",
        hk.log_text()
    );
    assert!(good.snis().iter().all(|s| s.as_deref() == Some("app.example")), "check_sni: {:?}", good.snis());
    hk.terminate(Duration::from_secs(10));
}
