//! End-to-end: `hakeeper import` fails closed (exit 2, each lossy line listed, nothing written)
//! unless `--allow-lossy`; `hakeeper check` reports what this host lacks, and fails on it with
//! `--host`.

mod harness;

use harness::process::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// Routing on HTTP in a tcp frontend (mode tcp does not parse it), a TLS option hakeeper cannot
/// honour on the listener (which is then left out, never served in plaintext), and a deny rule hakeeper cannot evaluate: three lines whose loss would weaken
/// routing, encryption and access control.
const LOSSY_CFG: &str = "\
frontend mysql
  mode tcp
  bind :3306
  acl app_hosts hdr(host) -i db.example
  use_backend primary if app_hosts
  default_backend replica
frontend https
  mode http
  bind :8443 ssl crt /etc/ssl/site.pem strict-sni
  bind :8080
  http-request deny if { req.body_size gt 10 }
  default_backend web
backend primary
  mode tcp
  server p 127.0.0.1:3307
backend replica
  mode tcp
  server r 127.0.0.1:3308
backend web
  mode http
  server w 127.0.0.1:8081
";

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf8 path")
}

#[test]
fn lossy_import_exits_2_lists_each_line_and_allow_lossy_writes_it() {
    let dir = TempDir::new("import-closed");
    let cfg = dir.file("haproxy.cfg");
    std::fs::write(&cfg, LOSSY_CFG).expect("write cfg");
    let out = dir.file("out.ron");

    let (code, stdout, err) = run_cli(&["import", "--haproxy", s(&cfg), "-o", s(&out)], T);
    assert_eq!(code, 2, "{stdout}{err}");
    assert!(!out.exists(), "nothing is written when the import fails closed");
    let listed: Vec<&str> = err.lines().filter(|l| l.contains(" — ")).collect();
    let prefix = |n: usize| format!("{}:{n}: ", cfg.display());
    assert_eq!(listed.len(), 3, "{err}");
    assert!(listed[0].starts_with(&prefix(5)) && listed[0].contains("tcp"), "{}", listed[0]);
    assert!(listed[1].starts_with(&prefix(9)) && listed[1].contains("TLS"), "{}", listed[1]);
    assert!(listed[2].starts_with(&prefix(11)) && listed[2].contains("deny"), "{}", listed[2]);
    assert!(err.contains("--allow-lossy"), "the way out is named: {err}");

    // --strict alone does not let it through either.
    let (code, _, _) = run_cli(&["import", "--strict", "--haproxy", s(&cfg), "-o", s(&out)], T);
    assert_eq!(code, 2);
    assert!(!out.exists());

    let (code, stdout, err) = run_cli(&["import", "--allow-lossy", "--haproxy", s(&cfg), "-o", s(&out)], T);
    assert_eq!(code, 0, "{stdout}{err}");
    assert_eq!(err.lines().filter(|l| l.contains(" — ")).count(), 3, "the lines are still reported: {err}");
    let ron = std::fs::read_to_string(&out).expect("the config is written");
    assert!(!ron.contains("use_backend: [(backend: \"primary\""), "the tcp rule is not written: {ron}");
    let (code, o, e) = run_cli(&["check", "-c", s(&out)], T);
    assert_eq!(code, 0, "the written config passes check: {o}{e}");
}

#[test]
fn import_help_names_allow_lossy() {
    let (code, out, _) = run_cli(&["import", "--help"], T);
    assert_eq!(code, 0);
    assert!(out.contains("--allow-lossy") && out.contains("exit status 2"), "{out}");
}

#[test]
fn errorfile_dev_null_imports_and_checks_cleanly() {
    let dir = TempDir::new("import-devnull");
    let cfg = dir.file("haproxy.cfg");
    std::fs::write(
        &cfg,
        "defaults\n  mode http\n  errorfile 408 /dev/null\nfrontend web\n  bind :8080\n  default_backend app\nbackend app\n  server s 127.0.0.1:8081\n",
    )
    .expect("write cfg");
    let out = dir.file("out.ron");
    let (code, _, err) = run_cli(&["import", "--strict", "--haproxy", s(&cfg), "-o", s(&out)], T);
    assert_eq!((code, err.as_str()), (0, ""), "imports with nothing to say");
    let (code, o, e) = run_cli(&["check", "-c", s(&out)], T);
    assert_eq!(code, 0, "{o}{e}");
    assert!(!e.contains("errorfile"), "{e}");
}

#[test]
fn check_warns_about_what_this_host_lacks_and_host_makes_it_fail() {
    let dir = TempDir::new("check-host");
    let path = dir.file("h.ron");
    let chroot = dir.file("no-such-chroot");
    let text = format!(
        "(\n  global: (chroot: \"{}\"),\n  vrrp: (instances: [(name: \"VI_1\", interface: \"hk-nosuch0\",\n    vrid: 51, priority: 100, vips: [\"192.0.2.10\"])]),\n)\n",
        chroot.display()
    );
    std::fs::write(&path, text).expect("write ron");

    let (code, out, err) = run_cli(&["check", "-c", s(&path)], T);
    assert_eq!(code, 0, "warnings only by default: {out}{err}");
    let at = |line: usize, col: usize| format!("{}:{line}:{col}: ", path.display());
    let chroot_line = err.lines().find(|l| l.contains("global.chroot")).unwrap_or_else(|| panic!("chroot reported: {err}"));
    assert!(chroot_line.starts_with(&format!("{}warning: ", at(2, 12))), "{chroot_line}");
    let iface = err.lines().find(|l| l.contains("hk-nosuch0")).unwrap_or_else(|| panic!("interface reported: {err}"));
    assert!(iface.starts_with(&format!("{}warning: ", at(3, 37))), "{iface}");

    let (code, out, err) = run_cli(&["check", "--host", "-c", s(&path)], T);
    assert_eq!(code, 1, "--host makes them errors: {out}{err}");
    assert!(!out.contains("valid"), "{out}");
    assert!(err.lines().any(|l| l.starts_with(&at(2, 12)) && !l.contains("warning:") && l.contains("would refuse to start")), "{err}");
    assert!(err.lines().any(|l| l.starts_with(&at(3, 37)) && !l.contains("warning:")), "{err}");
}

#[test]
fn server_tls_it_cannot_keep_fails_the_import_instead_of_becoming_plaintext() {
    let dir = TempDir::new("import-closed-tls");
    let cfg = dir.file("haproxy.cfg");
    std::fs::write(
        &cfg,
        "\
backend web
  mode http
  server w1 127.0.0.1:8443 ssl verify required ca-file /etc/ssl/ca.pem crl-file /etc/ssl/crl.pem
  server w2 127.0.0.1:8444 ssl verify none
",
    )
    .expect("write cfg");
    let out = dir.file("out.ron");
    let (code, stdout, err) = run_cli(&["import", "--haproxy", s(&cfg), "-o", s(&out)], T);
    assert_eq!(code, 2, "{stdout}{err}");
    assert!(!out.exists());
    let listed: Vec<&str> = err.lines().filter(|l| l.contains(" — ")).collect();
    assert_eq!(listed.len(), 1, "{err}");
    assert!(listed[0].starts_with(&format!("{}:3: ", cfg.display())) && listed[0].contains("crl-file"), "{}", listed[0]);
    // What translates is kept: w2's TLS.
    let (code, _, err) = run_cli(&["import", "--allow-lossy", "--haproxy", s(&cfg), "-o", s(&out)], T);
    assert_eq!(code, 0, "{err}");
    let ron = std::fs::read_to_string(&out).expect("written");
    assert!(ron.contains("verify: none"), "{ron}");
}

/// keepalived's virtual_server becomes an `lvs` listen (the kernel balances it) by default, and
/// the L4 proxy translation of before with `--lvs-as-proxy`; both pass `hakeeper check`, and
/// neither warns that the data plane is missing.
#[test]
fn import_keeps_virtual_servers_in_the_kernel_unless_lvs_as_proxy() {
    let dir = TempDir::new("import-lvs");
    let conf = dir.file("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100\n  }\n}\n\
         virtual_server 192.0.2.100 80 {\n  delay_loop 2\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 192.0.2.11 8080 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n",
    )
    .expect("write conf");
    let kernel = dir.file("kernel.ron");
    let (code, o, e) = run_cli(&["import", "--keepalived", s(&conf), "-o", s(&kernel)], T);
    assert_eq!(code, 0, "{o}{e}");
    let ron = std::fs::read_to_string(&kernel).expect("written");
    assert!(ron.contains("lvs:"), "an lvs listen: {ron}");
    let (code, o, e) = run_cli(&["check", "-c", s(&kernel)], T);
    assert_eq!(code, 0, "{o}{e}");
    assert!(!e.contains("data plane"), "no round-1 warning: {e}");

    let proxy = dir.file("proxy.ron");
    let (code, o, e) = run_cli(&["import", "--lvs-as-proxy", "--keepalived", s(&conf), "-o", s(&proxy)], T);
    assert_eq!(code, 0, "{o}{e}");
    let ron = std::fs::read_to_string(&proxy).expect("written");
    assert!(!ron.contains("lvs:") && ron.contains("192.0.2.100:80"), "an L4 proxy listen on the VIP: {ron}");
    let (code, o, e) = run_cli(&["check", "-c", s(&proxy)], T);
    assert_eq!(code, 0, "{o}{e}");
    let (_, help, _) = run_cli(&["import", "--help"], T);
    assert!(help.contains("--lvs-as-proxy"), "{help}");
}
