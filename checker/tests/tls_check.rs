//! `check-ssl` against a real TLS server (`openssl s_server`, certificates made by the test):
//! a TCP check passes on a verified handshake ("Layer6 check passed"), an HTTP check sends its
//! request over TLS, and a wrong CA, a plain-text server or a silent one mark the server DOWN
//! with HAProxy's layer-6 reasons.

mod support;
#[allow(dead_code)]
#[path = "../../tests/harness/pki.rs"]
mod tls;

use hakeeper_common::config::{CheckTls, HealthCheck, Server, ServerTls, Sni, TlsMaterial, TlsVersion, Verify};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use support::*;
use tls::{openssl_available, Pki, SServer};

fn tls_settings(pki: &Pki, ca: Option<&str>, verify: Verify) -> ServerTls {
    ServerTls {
        traffic: true,
        verify,
        ca_file: ca.map(|c| pki.path(c)),
        verifyhost: None,
        sni: None::<Sni>,
        crt: None,
        alpn: Vec::new(),
        min_version: TlsVersion::Tls12,
        field: "backend[0].servers[0].ssl".into(),
        material: TlsMaterial { ca_pem: ca.map(|c| pki.read(c)).unwrap_or_default(), identity_pem: None },
    }
}

/// A TLS-checked server, DOWN until its first check passes (so that a pass is a transition).
fn tls_server(addr: SocketAddr, tls: ServerTls, sni: Option<&str>, initial_up: bool) -> Server {
    let mut check = check(ms(300), 1, 1, addr.port());
    check.initial_up = initial_up;
    Server { tls: Some(tls), check_tls: Some(CheckTls { sni: sni.map(String::from) }), ..server("s1", addr, Some(check)) }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn tcp_check_over_tls_passes_on_a_verified_handshake() {
    if !openssl_available("tcp_check_over_tls_passes_on_a_verified_handshake") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    let s = SServer::start(&pki, &[]);
    let srv = tls_server(local(s.port), tls_settings(&pki, Some("ca.pem"), Verify::Required), Some("app.example"), false);
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![srv])]));
    let (_, _, up, reason, _, _) = checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
    assert!(up, "{reason}");
    assert_eq!(reason, "Layer6 check passed");
    checker.stop();
}

#[test]
fn http_check_over_tls_sends_its_request_inside_tls() {
    if !openssl_available("http_check_over_tls_sends_its_request_inside_tls") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    // -www answers `GET /` with a 200 status page.
    let s = SServer::start(&pki, &["-www"]);
    let hc = HealthCheck::Http { method: "GET".into(), uri: "/".into(), version: "HTTP/1.0".into(), expect_status: None };
    let srv = tls_server(local(s.port), tls_settings(&pki, Some("ca.pem"), Verify::Required), Some("app.example"), false);
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", hc, vec![srv])]));
    let (_, _, up, reason, _, _) = checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
    assert!(up, "{reason}");
    assert_eq!(reason, "Layer7 check passed, code: 200");
    checker.stop();
}

#[test]
fn certificate_from_another_ca_is_a_layer6_failure() {
    if !openssl_available("certificate_from_another_ca_is_a_layer6_failure") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    let s = SServer::start(&pki, &[]);
    let srv = tls_server(local(s.port), tls_settings(&pki, Some("other-ca.pem"), Verify::Required), Some("app.example"), true);
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![srv])]));
    let (_, _, up, reason, _, _) = checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
    assert!(!up);
    assert!(reason.starts_with("Layer6 invalid response, info: \"SSL handshake failure: "), "{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    checker.stop();
}

#[test]
fn verify_none_accepts_any_certificate_and_a_wrong_name_fails_verification() {
    if !openssl_available("verify_none_accepts_any_certificate_and_a_wrong_name_fails_verification") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    let s = SServer::start(&pki, &[]);
    let lax = tls_server(local(s.port), tls_settings(&pki, Some("other-ca.pem"), Verify::None), Some("app.example"), false);
    let mut misnamed = tls_server(local(s.port), tls_settings(&pki, Some("ca.pem"), Verify::Required), Some("other.example"), true);
    misnamed.name = "s2".into();
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![lax, misnamed])]));
    let mut verdicts = Vec::new();
    for _ in 0..2 {
        let (_, server, up, reason, _, _) =
            checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
        verdicts.push((server, up, reason));
    }
    verdicts.sort();
    assert_eq!((verdicts[0].0, verdicts[0].1), (0, true), "{verdicts:?}");
    assert_eq!((verdicts[1].0, verdicts[1].1), (1, false), "{verdicts:?}");
    assert!(verdicts[1].2.contains("not valid for name"), "the check_sni name is verified: {verdicts:?}");
    checker.stop();
}

#[test]
fn check_sni_is_sent() {
    if !openssl_available("check_sni_is_sent") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    // The server aborts a handshake whose SNI is not app.example.
    let cert = pki.path("server.crt").display().to_string();
    let key = pki.path("server.key").display().to_string();
    let s = SServer::start(&pki, &["-servername", "app.example", "-servername_fatal", "-cert2", &cert, "-key2", &key]);
    let good = tls_server(local(s.port), tls_settings(&pki, None, Verify::None), Some("app.example"), false);
    let mut bad = tls_server(local(s.port), tls_settings(&pki, None, Verify::None), Some("wrong.example"), true);
    bad.name = "s2".into();
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![good, bad])]));
    let mut verdicts = Vec::new();
    for _ in 0..2 {
        let (_, server, up, reason, _, _) =
            checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
        verdicts.push((server, up, reason));
    }
    verdicts.sort();
    assert_eq!((verdicts[0].0, verdicts[0].1), (0, true), "{verdicts:?}");
    assert_eq!((verdicts[1].0, verdicts[1].1), (1, false), "{verdicts:?}");
    assert!(verdicts[1].2.starts_with("Layer6 invalid response"), "{verdicts:?}");
    checker.stop();
}

#[test]
fn plain_text_server_is_a_layer6_failure() {
    let pki_free = ServerTls { ca_file: None, material: TlsMaterial::default(), ..tls_settings_without_files(Verify::None) };
    // A plain HTTP server: answers anything with a 400 and closes.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    listener.set_nonblocking(true).expect("nonblocking");
    let thread = std::thread::spawn(move || {
        while !stopping.load(std::sync::atomic::Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
                }
                Err(_) => std::thread::sleep(ms(5)),
            }
        }
    });
    let srv = tls_server(addr, pki_free, None, true);
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![srv])]));
    let verdict = checker.server_change(ms(5000));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = thread.join();
    let (_, _, up, reason, _, _) = verdict.expect("a verdict");
    assert!(!up);
    assert!(reason.starts_with("Layer6 invalid response, info: \"SSL handshake failure"), "{reason}");
    checker.stop();
}

#[test]
fn silent_server_is_a_layer6_timeout() {
    // Connections complete in the kernel's backlog, and nothing ever answers the ClientHello.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let srv = tls_server(addr, tls_settings_without_files(Verify::None), None, true);
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![srv])]));
    let (_, _, up, reason, duration, _) =
        checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
    assert!(!up);
    assert_eq!(reason, "Layer6 timeout");
    assert!(duration >= ms(250), "the connect deadline (inter) bounds the handshake: {duration:?}");
    checker.stop();
    drop(listener);
}

fn tls_settings_without_files(verify: Verify) -> ServerTls {
    ServerTls {
        traffic: true,
        verify,
        ca_file: None,
        verifyhost: None,
        sni: None,
        crt: None,
        alpn: Vec::new(),
        min_version: TlsVersion::Tls12,
        field: "backend[0].servers[0].ssl".into(),
        material: TlsMaterial::default(),
    }
}

#[test]
fn without_sni_the_chain_is_verified_and_verifyhost_names_the_certificate() {
    if !openssl_available("without_sni_the_chain_is_verified_and_verifyhost_names_the_certificate") {
        return;
    }
    let pki = Pki::new(&["app.example"]);
    let s = SServer::start(&pki, &[]);
    // HAProxy: with no SNI and no verifyhost, the certificate's names are ignored.
    let chain_only = tls_server(local(s.port), tls_settings(&pki, Some("ca.pem"), Verify::Required), None, false);
    let mut named = tls_settings(&pki, Some("ca.pem"), Verify::Required);
    named.verifyhost = Some("other.example".into());
    let mut misnamed = tls_server(local(s.port), named, None, true);
    misnamed.name = "s2".into();
    let mut checker = CheckerUnderTest::start(backends_only(vec![backend("be", HealthCheck::Tcp, vec![chain_only, misnamed])]));
    let mut verdicts = Vec::new();
    for _ in 0..2 {
        let (_, server, up, reason, _, _) =
            checker.server_change(ms(5000)).unwrap_or_else(|| panic!("no verdict; results: {:?}", checker.results));
        verdicts.push((server, up, reason));
    }
    verdicts.sort();
    assert_eq!((verdicts[0].0, verdicts[0].1), (0, true), "{verdicts:?}");
    assert_eq!((verdicts[1].0, verdicts[1].1), (1, false), "{verdicts:?}");
    assert!(verdicts[1].2.contains("not valid for name \\\"other.example\\\""), "{verdicts:?}");
    checker.stop();
}
