//! Certificates made by the test itself with `openssl`: a test CA, server certificates for
//! `a.test`, `b.test` and a default one (each a PEM file with chain and key, as HAProxy's `crt`
//! takes it), and a client certificate, all under the test's temporary directory.

use super::process::{in_ci, output_within};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Certs {
    pub dir: PathBuf,
    pub ca: PathBuf,
}

/// The openssl binary, or `None` (a skip) outside CI when it is missing; a failure under CI.
pub fn openssl(test: &str) -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(!in_ci(), "{test}: openssl is not installed (tests/install-deps installs it) and CI=true");
        eprintln!("skipping {test}: openssl is not installed");
    }
    found
}

pub fn run_openssl(args: &[&str], dir: &Path) {
    let mut cmd = Command::new("openssl");
    cmd.args(args).current_dir(dir);
    let out = output_within(cmd, Duration::from_secs(30)).expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Certs {
    /// A CA in `dir` (created).
    pub fn new(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).expect("cert dir");
        run_openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=hakeeper test CA",
            ],
            dir,
        );
        Certs { dir: dir.to_path_buf(), ca: dir.join("ca.pem") }
    }

    /// Issues a certificate for `cn` (also its only DNS SAN, none when `cn` has a space);
    /// `org` lets a test tell two certificates of one name apart. Returns the PEM (cert + key).
    pub fn issue(&self, file: &str, cn: &str, org: &str, client: bool) -> PathBuf {
        let key = format!("{file}.key.tmp");
        let csr = format!("{file}.csr");
        let crt = format!("{file}.crt");
        let ext = format!("{file}.ext");
        let usage = if client { "clientAuth" } else { "serverAuth" };
        let san = if cn.contains(' ') { String::new() } else { format!("subjectAltName=DNS:{cn}\n") };
        std::fs::write(self.dir.join(&ext), format!("{san}extendedKeyUsage={usage}\n")).expect("ext file");
        run_openssl(
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", &format!("/O={org}/CN={cn}")],
            &self.dir,
        );
        run_openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "30",
                "-extfile",
                &ext,
            ],
            &self.dir,
        );
        let pem = self.dir.join(file);
        let body = [std::fs::read(self.dir.join(&crt)).expect("crt"), std::fs::read(self.dir.join(&key)).expect("key")].concat();
        // Written aside and renamed: a reload reading it meanwhile sees the old or the new one.
        let tmp = self.dir.join(format!("{file}.new"));
        std::fs::write(&tmp, body).expect("write pem");
        std::fs::rename(&tmp, &pem).expect("rename pem");
        for f in [&key, &csr, &crt, &ext] {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
        pem
    }

    /// A self-signed certificate for `expired.test` that expired in January 2020, with its key
    /// (made with `openssl ca`, which takes explicit dates).
    pub fn expired(&self, file: &str) -> PathBuf {
        let work = self.dir.join("expired-ca");
        std::fs::create_dir_all(&work).expect("ca dir");
        std::fs::write(work.join("index.txt"), "").expect("index");
        std::fs::write(work.join("serial"), "01\n").expect("serial");
        std::fs::write(
            work.join("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n",
        )
        .expect("cnf");
        run_openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "r.csr", "-subj", "/CN=expired.test"], &work);
        run_openssl(
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-selfsign",
                "-keyfile",
                "k.pem",
                "-in",
                "r.csr",
                "-startdate",
                "200101000000Z",
                "-enddate",
                "200102000000Z",
                "-batch",
                "-notext",
                "-out",
                "c.pem",
            ],
            &work,
        );
        let pem = self.dir.join(file);
        let body = [std::fs::read(work.join("c.pem")).expect("crt"), std::fs::read(work.join("k.pem")).expect("key")].concat();
        std::fs::write(&pem, body).expect("write pem");
        let _ = std::fs::remove_dir_all(&work);
        pem
    }

    /// The client certificate and key as separate files (curl's `--cert`/`--key`).
    pub fn client(&self) -> (PathBuf, PathBuf) {
        let pem = self.issue("client.pem", "client one", "clients", true);
        let text = std::fs::read_to_string(&pem).expect("client pem");
        let split = text.find("-----BEGIN PRIVATE KEY-----").expect("a key in the pem");
        let (crt, key) = (self.dir.join("client.crt"), self.dir.join("client.key"));
        std::fs::write(&crt, &text[..split]).expect("client crt");
        std::fs::write(&key, &text[split..]).expect("client key");
        (crt, key)
    }
}

/// `openssl s_client` to 127.0.0.1:`port` with `args`, stdin closed after `linger`; returns its
/// stdout and stderr together.
pub fn s_client(port: u16, args: &[&str], stdin: &str, linger: Duration) -> String {
    let connect = format!("127.0.0.1:{port}");
    let mut script =
        format!("(printf '%s' '{}'; sleep {}) | openssl s_client -connect {connect}", stdin.replace('\'', ""), linger.as_secs_f64());
    for a in args {
        script.push(' ');
        script.push_str(a);
    }
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let out = output_within(cmd, linger + Duration::from_secs(10)).expect("run s_client");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The subject line s_client printed for the server's certificate.
pub fn subject(out: &str) -> String {
    out.lines().find(|l| l.starts_with("subject=")).unwrap_or("").to_string()
}
