//! TLS termination on binds (`bind … ssl crt …`): certificates made by the test with openssl,
//! real clients (openssl s_client, curl) and real plaintext backends behind hakeeper.

mod harness;

use harness::backends::NamedEcho;
use harness::differential_haproxy::listening;
use harness::http_backend::HttpBackend;
use harness::process::{free_port, in_ci, output_within, run_cli, signal, wait_until, Appliance, TempDir};
use harness::tls_certs::{openssl, s_client, subject, Certs};
use std::process::Command;
use std::time::Duration;

fn curl_present(test: &str) -> bool {
    let ok = Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "{test}: curl is not installed (tests/install-deps installs it) and CI=true");
        eprintln!("skipping {test}: curl is not installed");
    }
    ok
}

/// curl with `args`; (exit code, stdout, stderr).
fn curl(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10"]).args(args);
    let out = output_within(cmd, Duration::from_secs(15)).expect("run curl");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

struct Setup {
    _dir: TempDir,
    certs: Certs,
    config: std::path::PathBuf,
    hk: Appliance,
}

/// Certificates for default.test, a.test and b.test, and hakeeper started with `config` (its
/// `{CERTS}` replaced by the certificates' directory), once `ports` listen.
fn start(name: &str, config: impl Fn(&str) -> String, ports: &[u16]) -> Setup {
    let dir = TempDir::new(name);
    let certs = Certs::new(&dir.file("certs"));
    let served = certs.dir.join("served");
    std::fs::create_dir_all(&served).expect("served dir");
    for (file, cn) in [("default.pem", "default.test"), ("a.pem", "a.test"), ("b.pem", "b.test")] {
        let pem = certs.issue(file, cn, "test", false);
        std::fs::copy(&pem, served.join(file)).expect("copy");
    }
    let path = dir.file("h.ron");
    std::fs::write(&path, config(certs.dir.to_str().expect("utf8"))).expect("write config");
    let mut hk = Appliance::start(&path, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || ports.iter().all(|p| listening(*p))), "not listening:\n{}", hk.log_text());
    Setup { _dir: dir, certs, config: path, hk }
}

#[test]
fn sni_alpn_keepalive_resumption_and_handshake_failures_in_mode_http() {
    let test = "sni_alpn_keepalive_resumption_and_handshake_failures_in_mode_http";
    if !openssl(test) || !curl_present(test) {
        return;
    }
    let web = HttpBackend::start("web1");
    let (plain, tls, stats) = (free_port(), free_port(), free_port());
    let s = start(
        "tls-http",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: http, log_format: httplog, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", default_backend: "be", bind: ["127.0.0.1:{plain}",
      (addr: "127.0.0.1:{tls}", ssl: (crt: ["{certs}/default.pem", "{certs}/a.pem", "{certs}/b.pem"], alpn: ["h2", "http/1.1"]))])],
  backend: [(name: "be", servers: [(name: "web1", addr: "{}")])],
  stats: (bind: "127.0.0.1:{stats}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
                web.addr
            )
        },
        &[plain, tls, stats],
    );
    // SNI picks the certificate; an unknown or absent name gets the default (the first).
    let linger = Duration::from_millis(300);
    for (args, want) in [
        (&["-servername", "a.test"][..], "CN = a.test"),
        (&["-servername", "b.test"][..], "CN = b.test"),
        (&["-servername", "c.test"][..], "CN = default.test"),
        (&["-noservername"][..], "CN = default.test"),
    ] {
        let out = s_client(tls, args, "", linger);
        assert!(subject(&out).ends_with(want), "{args:?}: {}\n{out}", subject(&out));
    }
    // ALPN: the bind's order wins (h2 first), and a client without h2 gets http/1.1.
    let out = s_client(tls, &["-servername", "a.test", "-alpn", "http/1.1,h2"], "", linger);
    assert!(out.contains("ALPN protocol: h2"), "{out}");
    let out = s_client(tls, &["-servername", "a.test", "-alpn", "http/1.1"], "", linger);
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");

    let url = format!("https://a.test:{tls}/");
    let resolve = format!("a.test:{tls}:127.0.0.1");
    let ca = s.certs.ca.to_str().expect("utf8");
    // curl --http2: h2 by ALPN, two streams on one connection, served through to the backend.
    let (code, out, err) = curl(&["-v", "--http2", "--cacert", ca, "--resolve", &resolve, &url, &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("server=web1").count(), 2, "{out}");
    assert!(err.contains("ALPN: server accepted h2") && err.contains("< HTTP/2 200"), "not HTTP/2:\n{err}");
    let h2_conns = web.accepted();

    // curl through to the plain backend over HTTP/1.1, twice on one kept-alive TLS connection.
    let (code, out, err) = curl(&["-v", "--http1.1", "--cacert", ca, "--resolve", &resolve, &url, &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("server=web1").count(), 2, "{out}");
    assert!(err.contains("e-using existing connection") || err.contains("eusing existing connection"), "not kept alive:\n{err}");
    assert!(web.accepted() <= h2_conns + 1, "one server connection for both requests (or the idle one kept from HTTP/2)");

    // TLS 1.2 session IDs and TLS 1.3 tickets resume.
    for version in ["-tls1_2", "-tls1_3"] {
        let sess = s.certs.dir.join(format!("sess{version}"));
        let sess = sess.to_str().expect("utf8");
        let first = s_client(tls, &[version, "-sess_out", sess], "", Duration::from_millis(500));
        assert!(first.contains("New, TLSv1."), "{first}");
        let again = s_client(tls, &[version, "-sess_in", sess], "", Duration::from_millis(500));
        assert!(again.contains("Reused, TLSv1."), "{version} not resumed:\n{again}");
    }

    // Not TLS at all: a handshake failure, logged as HAProxy logs it; nothing reaches a server.
    let accepted = web.accepted();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", tls)).expect("connect");
    use std::io::{Read, Write};
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    sock.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got);
    assert!(!String::from_utf8_lossy(&got).contains("HTTP/1."), "a plaintext request was answered: {got:?}");
    assert!(s.hk.wait_for_log("] web/2: SSL handshake failure", Duration::from_secs(5)), "{}", s.hk.log_text());
    assert_eq!(web.accepted(), accepted);
    // Counted as a request error of the frontend and of the TLS listener (the stats page's ereq).
    assert_eq!(harness::stats::frontend_column(([127, 0, 0, 1], stats).into(), "web", "ereq"), 1);
}

#[test]
fn client_certificates_verify_required() {
    let test = "client_certificates_verify_required";
    if !openssl(test) || !curl_present(test) {
        return;
    }
    let web = HttpBackend::start("web1");
    let (tls, opt) = (free_port(), free_port());
    let s = start(
        "tls-verify",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", default_backend: "be", bind: [
      (addr: "127.0.0.1:{tls}", ssl: (crt: ["{certs}/a.pem"], ca_file: "{certs}/ca.pem", verify: required))]),
    (name: "opt", default_backend: "be", http_request: ["deny if !{{ ssl_c_used }}"], bind: [
      (addr: "127.0.0.1:{opt}", ssl: (crt: ["{certs}/a.pem"], ca_file: "{certs}/ca.pem", verify: optional))])],
  backend: [(name: "be", servers: [(name: "web1", addr: "{}")])],
)"#,
                web.addr
            )
        },
        &[tls, opt],
    );
    let (crt, key) = s.certs.client();
    let url = format!("https://a.test:{tls}/");
    let resolve = format!("a.test:{tls}:127.0.0.1");
    let ca = s.certs.ca.to_str().expect("utf8");
    let (code, out, err) = curl(&["--cacert", ca, "--resolve", &resolve, &url]);
    assert_ne!(code, 0, "served without a client certificate: {out}");
    assert!(!out.contains("server=web1"), "{out} {err}");
    let (code, out, err) =
        curl(&["--cacert", ca, "--resolve", &resolve, "--cert", crt.to_str().expect("utf8"), "--key", key.to_str().expect("utf8"), &url]);
    assert_eq!((code, out.contains("server=web1")), (0, true), "{out} {err}");
    // A certificate from another CA is refused too.
    let other = Certs::new(&s.certs.dir.join("other"));
    let (ocrt, okey) = other.client();
    let (code, out, _) =
        curl(&["--cacert", ca, "--resolve", &resolve, "--cert", ocrt.to_str().expect("utf8"), "--key", okey.to_str().expect("utf8"), &url]);
    assert_ne!(code, 0, "served with a certificate of an unknown CA: {out}");
    assert_eq!(web.accepted(), 1);
    // verify optional: the handshake succeeds without a certificate, and ssl_c_used tells.
    let (url, resolve) = (format!("https://a.test:{opt}/"), format!("a.test:{opt}:127.0.0.1"));
    let (code, out, err) = curl(&["--cacert", ca, "--resolve", &resolve, "-o", "/dev/null", "-w", "%{http_code}", &url]);
    assert_eq!((code, out.as_str()), (0, "403"), "{err}");
    let (code, out, err) =
        curl(&["--cacert", ca, "--resolve", &resolve, "--cert", crt.to_str().expect("utf8"), "--key", key.to_str().expect("utf8"), &url]);
    assert_eq!((code, out.contains("server=web1")), (0, true), "{out} {err}");
    let (code, _, _) =
        curl(&["--cacert", ca, "--resolve", &resolve, "--cert", ocrt.to_str().expect("utf8"), "--key", okey.to_str().expect("utf8"), &url]);
    assert_ne!(code, 0, "verify optional still refuses a certificate it cannot verify");
}

#[test]
fn tls_offload_in_mode_tcp() {
    if !openssl("tls_offload_in_mode_tcp") {
        return;
    }
    let echo = NamedEcho::start("db1");
    let tls = free_port();
    let s = start(
        "tls-tcp",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, log_format: tcplog, timeout: (connect: "2s", client: "3s", server: "5s")),
  listen: [(name: "db", bind: [(addr: "127.0.0.1:{tls}", ssl: (crt: ["{certs}/served"]))],
            servers: [(name: "db1", addr: "{}")])],
)"#,
                echo.addr
            )
        },
        &[tls],
    );
    // A directory: every certificate in it, SNI among them, the first in name order the default.
    let out = s_client(tls, &["-servername", "b.test"], "", Duration::from_millis(300));
    assert!(subject(&out).ends_with("CN = b.test"), "{out}");
    let out = s_client(tls, &["-servername", "x.test"], "", Duration::from_millis(300));
    assert!(subject(&out).ends_with("CN = a.test"), "{out}");
    let before = echo.accepted();
    let out = s_client(tls, &["-quiet", "-servername", "b.test"], "ping-through-tls", Duration::from_millis(800));
    assert!(out.contains("db1") && out.contains("ping-through-tls"), "{out}\n{}", s.hk.log_text());
    assert_eq!(echo.accepted(), before + 1);
}

/// `curves` limits the key exchange groups to those listed: a bind with `P-256` negotiates it
/// with a client that prefers X25519 and refuses a client that offers X25519 only; the default
/// bind negotiates X25519 (OpenSSL's `SSL_CTX_set1_curves_list()`, HAProxy's `curves`).
#[test]
fn curves_limit_the_key_exchange_groups() {
    if !openssl("curves_limit_the_key_exchange_groups") {
        return;
    }
    let echo = NamedEcho::start("db1");
    let (p256, plain) = (free_port(), free_port());
    let _s = start(
        "tls-curves",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "2s", client: "3s", server: "5s")),
  listen: [(name: "db", bind: [(addr: "127.0.0.1:{p256}", ssl: (crt: ["{certs}/served"], curves: "P-256")),
                               (addr: "127.0.0.1:{plain}", ssl: (crt: ["{certs}/served"]))],
            servers: [(name: "db1", addr: "{}")])],
)"#,
                echo.addr
            )
        },
        &[p256, plain],
    );
    let linger = Duration::from_millis(300);
    for v in ["-tls1_2", "-tls1_3"] {
        let out = s_client(p256, &[v, "-curves", "X25519:P-256"], "", linger);
        assert!(out.contains("Server Temp Key: ECDH, prime256v1"), "{v} on the P-256 bind:\n{out}");
        let out = s_client(p256, &[v, "-curves", "X25519"], "", linger);
        assert!(!out.contains("Server Temp Key"), "{v}: a client with X25519 only got a key exchange:\n{out}");
        let out = s_client(plain, &[v, "-curves", "X25519:P-256"], "", linger);
        assert!(out.contains("Server Temp Key: X25519"), "{v} on the default bind:\n{out}");
    }
}

#[test]
fn check_names_the_file_of_a_bad_certificate() {
    if !openssl("check_names_the_file_of_a_bad_certificate") {
        return;
    }
    let dir = TempDir::new("tls-check");
    let certs = Certs::new(&dir.file("certs"));
    let a = certs.issue("a.pem", "a.test", "test", false);
    let b = certs.issue("b.pem", "b.test", "test", false);
    // a.test's certificate with b.test's key.
    let (ta, tb) = (std::fs::read_to_string(&a).expect("a"), std::fs::read_to_string(&b).expect("b"));
    let key_at = |t: &str| t.find("-----BEGIN PRIVATE KEY-----").expect("key");
    let mixed = certs.dir.join("mixed.pem");
    std::fs::write(&mixed, format!("{}{}", &ta[..key_at(&ta)], &tb[key_at(&tb)..])).expect("mixed");
    let garbage = certs.dir.join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n").expect("garbage");
    let expired = certs.expired("expired.pem");
    let cases = [
        (expired.display().to_string(), "expired on 2020-01-02 00:00:00 UTC"),
        (mixed.display().to_string(), "the private key does not match the certificate"),
        (garbage.display().to_string(), "certificate"),
        (certs.dir.join("missing.pem").display().to_string(), "cannot read"),
    ];
    for (file, why) in cases {
        let config = dir.file("h.ron");
        std::fs::write(
            &config,
            format!(
                "(\n  frontend: [(name: \"w\", mode: http, default_backend: \"be\",\n    bind: [(addr: \"127.0.0.1:1\", ssl: (crt: [\"{file}\"]))])],\n  backend: [(name: \"be\", mode: http, servers: [(name: \"s\", addr: \"127.0.0.1:2\")])],\n)"
            ),
        )
        .expect("config");
        let (code, out, err) = run_cli(&["check", "-c", config.to_str().expect("utf8")], Duration::from_secs(20));
        let text = format!("{out}{err}");
        assert_ne!(code, 0, "{file} accepted: {text}");
        assert!(text.contains(&file) && text.contains(why) && text.contains("frontend[0].bind[0].ssl.crt[0]"), "{file}: {text}");
        assert!(text.contains("h.ron:3:"), "no line number: {text}");
    }
    // A mistake inside the bind struct names the field, line and column.
    let config = dir.file("typo.ron");
    std::fs::write(
        &config,
        "(\n  frontend: [(name: \"w\", bind: [\"127.0.0.1:1\",\n    (addr: \"127.0.0.1:2\", ssl: (crt: [], tickts: false))])],\n)",
    )
    .expect("config");
    let (code, out, err) = run_cli(&["check", "-c", config.to_str().expect("utf8")], Duration::from_secs(20));
    let text = format!("{out}{err}");
    assert_ne!(code, 0);
    assert!(text.contains("typo.ron:3:") && text.contains("tickts") && !text.contains("variant"), "{text}");
}

#[test]
fn sighup_serves_a_replaced_certificate_without_a_failed_request() {
    let test = "sighup_serves_a_replaced_certificate_without_a_failed_request";
    if !openssl(test) || !curl_present(test) {
        return;
    }
    let web = HttpBackend::start("web1");
    let tls = free_port();
    let s = start(
        "tls-reload",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", default_backend: "be", bind: [(addr: "127.0.0.1:{tls}", ssl: (crt: ["{certs}/a.pem"]))])],
  backend: [(name: "be", servers: [(name: "web1", addr: "{}")])],
)"#,
                web.addr
            )
        },
        &[tls],
    );
    let org = |port| subject(&s_client(port, &["-servername", "a.test"], "", Duration::from_millis(300)));
    assert!(org(tls).contains("O = test"), "{}", org(tls));
    // A client loops meanwhile; every request must succeed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ca, url, resolve) = (s.certs.ca.display().to_string(), format!("https://a.test:{tls}/"), format!("a.test:{tls}:127.0.0.1"));
    let looping = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0, Vec::new());
            let end = std::time::Instant::now() + Duration::from_secs(30);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && std::time::Instant::now() < end {
                let (code, out, err) = curl(&["--cacert", &ca, "--resolve", &resolve, &url]);
                if code == 0 && out.contains("server=web1") {
                    ok += 1;
                } else {
                    failed.push(format!("{code} {out} {err}"));
                }
            }
            (ok, failed)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    s.certs.issue("a.pem", "a.test", "renewed", false);
    signal(s.hk.pid, nix::sys::signal::Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(10), || org(tls).contains("O = renewed")),
        "the new certificate is not served:\n{}",
        s.hk.log_text()
    );
    // A reload whose certificate does not load is refused; the running one keeps serving.
    std::fs::write(s.certs.dir.join("a.pem"), "garbage").expect("break the certificate");
    signal(s.hk.pid, nix::sys::signal::Signal::SIGHUP);
    assert!(s.hk.wait_for_log("a.pem", Duration::from_secs(10)), "the refused reload names no file:\n{}", s.hk.log_text());
    std::thread::sleep(Duration::from_millis(500));
    assert!(org(tls).contains("O = renewed"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = looping.join().expect("client loop");
    assert!(failed.is_empty() && ok > 3, "{ok} ok, failed: {failed:?}");
    let _ = &s.config;
}

/// An HTTP backend answering each request (Connection: close) with the X-Forwarded-Proto it got.
fn proto_backend() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match conn.read(&mut b) {
                    Ok(1) => head.push(b[0]),
                    _ => break,
                }
            }
            let text = String::from_utf8_lossy(&head).to_string();
            let proto = text
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-proto"))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_else(|| "-".into());
            let body = format!("proto={proto}");
            let _ =
                conn.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes());
        }
    });
    addr
}

#[test]
fn ssl_fc_redirects_the_plain_bind_and_marks_tls_requests() {
    let test = "ssl_fc_redirects_the_plain_bind_and_marks_tls_requests";
    if !openssl(test) || !curl_present(test) {
        return;
    }
    let backend = proto_backend();
    let (plain, tls) = (free_port(), free_port());
    let s = start(
        "tls-fetches",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: http, log_format: httplog, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", default_backend: "be",
      bind: ["127.0.0.1:{plain}", (addr: "127.0.0.1:{tls}", ssl: (crt: ["{certs}/a.pem"], alpn: ["http/1.1"]))],
      acls: [(name: "modern", criterion: "ssl_fc_protocol TLSv1.3")],
      http_request: ["redirect scheme https if !{{ ssl_fc }}",
                     "set-header X-Forwarded-Proto https if {{ ssl_fc }} {{ ssl_fc_sni a.test }} {{ ssl_fc_alpn http/1.1 }} !{{ ssl_c_used }}",
                     "set-header X-Tls13 yes if modern"])],
  backend: [(name: "be", servers: [(name: "s1", addr: "{backend}")])],
)"#
            )
        },
        &[plain, tls],
    );
    let (code, out, err) = curl(&["-i", &format!("http://a.test:{plain}/x?y"), "--resolve", &format!("a.test:{plain}:127.0.0.1")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("HTTP/1.1 302"), "{out}");
    assert!(out.to_ascii_lowercase().contains(&format!("location: https://a.test:{plain}/x?y")), "{out}");
    let ca = s.certs.ca.to_str().expect("utf8");
    let (code, out, err) = curl(&["--cacert", ca, "--resolve", &format!("a.test:{tls}:127.0.0.1"), &format!("https://a.test:{tls}/")]);
    assert_eq!((code, out.as_str()), (0, "proto=https"), "{err}");
    // httplog marks the TLS frontend with `~`, as HAProxy prints %ft.
    assert!(s.hk.wait_for_log("] web~ be/s1 ", Duration::from_secs(5)), "{}", s.hk.log_text());
    assert!(s.hk.log_text().contains("] web web/<NOSRV> "), "the plain redirect is logged without ~:\n{}", s.hk.log_text());
}

/// A TLS 1.2 ClientHello for `a.test` offering ECDHE-RSA-AES128-GCM-SHA256 (built by hand, so
/// that a test can cut it anywhere).
fn client_hello() -> Vec<u8> {
    let name = b"a.test";
    let mut sni = vec![0x00, 0x00];
    let list_len = (name.len() + 3) as u16;
    sni.extend_from_slice(&(list_len + 2).to_be_bytes());
    sni.extend_from_slice(&list_len.to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut ext = sni;
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17]); // supported_groups: secp256r1
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]); // ec_point_formats
    ext.extend_from_slice(&[0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x01]); // signature_algorithms: rsa_pkcs1_sha256
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0);
    body.extend_from_slice(&[0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![0x01, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// Sends `bytes`, then (if `fin`) shuts the write side, and reads until the proxy closes or 6 s
/// pass: (whether it closed, how long it took).
fn hostile_client(port: u16, bytes: &[u8], fin: bool) -> (bool, Duration) {
    use std::io::{Read, Write};
    let start = std::time::Instant::now();
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return (true, start.elapsed()) };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = s.write_all(bytes);
    if fin {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut buf = [0u8; 4096];
    while start.elapsed() < Duration::from_secs(6) {
        match s.read(&mut buf) {
            Ok(0) => return (true, start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (true, start.elapsed()),
        }
    }
    (false, start.elapsed())
}

const HOSTILE_HAPROXY_CFG: &str = "defaults
  mode tcp
  timeout connect 2s
  timeout client 2s
  timeout server 5s
frontend fe
  bind @FE@ ssl crt @CRT@
  default_backend be
backend be
  server s1 @SERVER@
";

#[test]
fn hostile_handshakes_hakeeper_is_never_more_permissive_than_haproxy() {
    let test = "hostile_handshakes_hakeeper_is_never_more_permissive_than_haproxy";
    let Some(haproxy_bin) = harness::differential_haproxy::binary(test) else { return };
    if !openssl(test) {
        return;
    }
    let dir = TempDir::new("tls-hostile");
    let certs = Certs::new(&dir.file("certs"));
    let crt = certs.issue("a.pem", "a.test", "test", false);
    let (echo_hap, echo_hk) = (NamedEcho::start("s-haproxy"), NamedEcho::start("s-hakeeper"));
    let (hap_port, hk_port) = (free_port(), free_port());
    let cfg = |port: u16, server: std::net::SocketAddr| {
        HOSTILE_HAPROXY_CFG
            .replace("@FE@", &format!("127.0.0.1:{port}"))
            .replace("@CRT@", crt.to_str().expect("utf8"))
            .replace("@SERVER@", &server.to_string())
    };
    std::fs::write(dir.file("haproxy.cfg"), cfg(hap_port, echo_hap.addr)).expect("write haproxy.cfg");
    std::fs::write(dir.file("for-import.cfg"), cfg(hk_port, echo_hk.addr)).expect("write cfg");
    // The same file, imported: the TLS bind is translated, not dropped.
    let ron = dir.file("hakeeper.ron");
    let (code, _, warnings) = run_cli(
        &["import", "--haproxy", dir.file("for-import.cfg").to_str().expect("utf8"), "-o", ron.to_str().expect("utf8")],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "hakeeper import failed:\n{warnings}");
    let mut haproxy = harness::differential_haproxy::Haproxy::start(&haproxy_bin, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hk = Appliance::start(&ron, &dir.file("hakeeper.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    let ready = wait_until(Duration::from_secs(10), || (listening(hap_port) && listening(hk_port)) || haproxy.exited());
    assert!(ready && !haproxy.exited(), "not both listening\nhaproxy:\n{}\nhakeeper:\n{}", haproxy.log_text(), hk.log_text());

    let hello = client_hello();
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("plaintext HTTP instead of a ClientHello", b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".to_vec(), false),
        ("random bytes", (0..300u32).map(|i| (i * 7919 % 251) as u8).collect(), false),
        ("a record header announcing 16 MB", vec![0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff], false),
        ("a truncated ClientHello, then FIN", hello[..hello.len() / 2].to_vec(), true),
        ("a truncated ClientHello, then a stall", hello[..hello.len() / 2].to_vec(), false),
        ("nothing: a stall", Vec::new(), false),
    ];
    let results: Vec<((bool, Duration), (bool, Duration))> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(_, bytes, fin)| {
                let (bytes, fin) = (bytes.clone(), *fin);
                s.spawn(move || {
                    let hap = std::thread::spawn({
                        let bytes = bytes.clone();
                        move || hostile_client(hap_port, &bytes, fin)
                    });
                    let hk = hostile_client(hk_port, &bytes, fin);
                    (hap.join().expect("haproxy client"), hk)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("case")).collect()
    });
    for ((name, _, _), &((hap_closed, hap_t), (hk_closed, hk_t))) in cases.iter().zip(&results) {
        eprintln!("{name}: haproxy closed={hap_closed} after {hap_t:?}; hakeeper closed={hk_closed} after {hk_t:?}");
        // Never more permissive: closed whenever HAProxy closed, and not much later (the stalls
        // end at `timeout client`, 2 s, in both).
        assert!(hk_closed || !hap_closed, "{name}: HAProxy closed, hakeeper kept the connection");
        assert!(hk_t <= hap_t + Duration::from_millis(1500), "{name}: hakeeper closed after {hk_t:?}, HAProxy after {hap_t:?}");
        assert!(hk_closed && hk_t < Duration::from_secs(4), "{name}: not closed within timeout client");
    }
    assert_eq!((echo_hap.accepted(), echo_hk.accepted()), (0, 0), "no hostile handshake reaches a server");
    // Each is logged as HAProxy logs a failed handshake.
    assert!(hk.wait_for_log("fe/1: SSL handshake failure", Duration::from_secs(3)), "{}", hk.log_text());
    assert!(hk.wait_for_log("fe/1: Timeout during SSL handshake", Duration::from_secs(3)), "{}", hk.log_text());
}

#[test]
fn crt_list_filters_wildcards_and_exclusions() {
    if !openssl("crt_list_filters_wildcards_and_exclusions") {
        return;
    }
    let web = HttpBackend::start("web1");
    let tls = free_port();
    let s = start(
        "tls-crtlist",
        |certs| {
            let wild = Certs { dir: std::path::PathBuf::from(certs), ca: std::path::PathBuf::from(certs).join("ca.pem") };
            wild.issue("wild.pem", "*.w.test", "wild", false);
            std::fs::write(
                format!("{certs}/list.txt"),
                format!("# default first\n{certs}/default.pem\n\n{certs}/wild.pem *.w.test !secret.w.test\n{certs}/a.pem [] a.test alias.test\n"),
            )
            .expect("crt-list");
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", default_backend: "be", bind: [(addr: "127.0.0.1:{tls}", ssl: (crt_list: "{certs}/list.txt"))])],
  backend: [(name: "be", servers: [(name: "web1", addr: "{}")])],
)"#,
                web.addr
            )
        },
        &[tls],
    );
    for (name, want) in [
        ("x.w.test", "CN = *.w.test"),
        ("secret.w.test", "CN = default.test"),
        ("alias.test", "CN = a.test"),
        ("a.test", "CN = a.test"),
        ("b.test", "CN = default.test"),
    ] {
        let out = s_client(tls, &["-servername", name], "", Duration::from_millis(300));
        assert!(subject(&out).ends_with(want), "{name}: {}\n{}", subject(&out), s.hk.log_text());
    }
}

#[test]
fn the_stats_page_is_served_over_tls() {
    let test = "the_stats_page_is_served_over_tls";
    if !openssl(test) || !curl_present(test) {
        return;
    }
    let web = HttpBackend::start("web1");
    let (tls, stats) = (free_port(), free_port());
    let s = start(
        "tls-stats",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "2s", client: "2s", server: "5s")),
  frontend: [(name: "web", default_backend: "be", bind: [(addr: "127.0.0.1:{tls}", ssl: (crt: ["{certs}/a.pem"]))])],
  backend: [(name: "be", servers: [(name: "web1", addr: "{}")])],
  stats: (bind: (addr: "127.0.0.1:{stats}", ssl: (crt: ["{certs}/b.pem"], alpn: ["h2", "http/1.1"])), uri: "/admin", auth: [("mldn", "java")],
         timeout: (http_request: "1s")),
)"#,
                web.addr
            )
        },
        &[tls, stats],
    );
    let ca = s.certs.ca.to_str().expect("utf8");
    let resolve = format!("b.test:{stats}:127.0.0.1");
    // ALPN picks h2 (curl offers it first), or HTTP/1.1 for a client that offers only that.
    for (version, want) in [("--http2", "\n2"), ("--http1.1", "\n1.1")] {
        let url = format!("https://b.test:{stats}/admin;csv");
        let (code, out, err) = curl(&[version, "--cacert", ca, "--resolve", &resolve, "-u", "mldn:java", "-w", "\n%{http_version}", &url]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("# pxname,svname") && out.contains("web,FRONTEND,") && out.ends_with(want), "{version}: {out}");
    }
    // A client that chose h2 and sends nothing gets the server preface and a GOAWAY once
    // `timeout http-request` is over, not an HTTP/1.1 408.
    let out = s_client(stats, &["-servername", "b.test", "-alpn", "h2"], "", Duration::from_secs(2));
    assert!(out.contains("ALPN protocol: h2"), "{out}");
    assert!(!out.contains("HTTP/1.1 408") && out.contains("\0\0\u{8}\u{7}\0\0\0\0\0"), "no GOAWAY: {out:?}");
    // Plaintext on the TLS stats port gets no page.
    let (code, out, _) = curl(&["-u", "mldn:java", &format!("http://127.0.0.1:{stats}/admin;csv")]);
    assert!(code != 0 && !out.contains("pxname"), "{out}");
}

/// An HTTP backend answering every request with `len` bytes and `Connection: close`, then FIN.
fn big_backend(len: usize) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        _ => return,
                    }
                }
                let body: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                let _ = conn.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n").as_bytes());
                let _ = conn.write_all(&body);
            });
        }
    });
    addr
}

#[test]
fn large_responses_arrive_whole_through_tls_in_both_modes() {
    let test = "large_responses_arrive_whole_through_tls_in_both_modes";
    if !openssl(test) || !curl_present(test) {
        return;
    }
    const LEN: usize = 8 * 1024 * 1024;
    let backend = big_backend(LEN);
    let (http, tcp) = (free_port(), free_port());
    let s = start(
        "tls-large",
        |certs| {
            format!(
                r#"(
  global: (user: "nobody"),
  defaults: (timeout: (connect: "2s", client: "5s", server: "5s")),
  frontend: [(name: "web", mode: http, default_backend: "be", bind: [(addr: "127.0.0.1:{http}", ssl: (crt: ["{certs}/a.pem"]))])],
  backend: [(name: "be", mode: http, servers: [(name: "s1", addr: "{backend}")])],
  listen: [(name: "raw", mode: tcp, bind: [(addr: "127.0.0.1:{tcp}", ssl: (crt: ["{certs}/a.pem"]))],
            servers: [(name: "s1", addr: "{backend}")])],
)"#
            )
        },
        &[http, tcp],
    );
    let ca = s.certs.ca.to_str().expect("utf8");
    for port in [http, tcp] {
        let url = format!("https://a.test:{port}/big");
        let resolve = format!("a.test:{port}:127.0.0.1");
        // --limit-rate: a slow reader, so that encrypted bytes wait in the proxy when the server closes.
        let (code, out, err) =
            curl(&["--cacert", ca, "--resolve", &resolve, "--limit-rate", "4M", "-o", "/dev/null", "-w", "%{size_download}", &url]);
        assert_eq!((code, out.trim()), (0, LEN.to_string().as_str()), "port {port}: {err}\n{}", s.hk.log_text());
    }
}
