//! Test certificates made with the `openssl` command (a CA, a server certificate it signs, and
//! a CA that signs nothing of ours), and `openssl s_server` as a real TLS server. Without
//! openssl a test is skipped, except under CI=true, where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// `None` (skip) when openssl is missing outside CI.
pub fn openssl_available(test: &str) -> bool {
    let found = Command::new("openssl").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: openssl is not installed and CI=true: failing instead of skipping");
        eprintln!("{test}: skipped, openssl is not installed");
    }
    found
}

/// A temporary directory of certificates, removed on drop.
pub struct Pki {
    pub dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Pki {
    /// `ca.pem` signs `server.pem` (key `server.key`) for DNS `names` and 127.0.0.1;
    /// `other-ca.pem` is an unrelated CA; `client.pem` is a client certificate and key by `ca`.
    pub fn new(names: &[&str]) -> Pki {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!("hakeeper-tls-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        for ca in ["ca", "other-ca"] {
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            let (key, pem, subj) = (format!("{ca}.key"), format!("{ca}.pem"), format!("/CN=hakeeper test {ca}"));
            args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
            args.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
            openssl(&dir, &args);
        }
        let sans: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).chain(["IP:127.0.0.1".to_string()]).collect();
        std::fs::write(dir.join("server.ext"), format!("subjectAltName={}\nbasicConstraints=CA:FALSE\n", sans.join(","))).expect("ext");
        std::fs::write(dir.join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").expect("ext");
        for (who, cn) in [("server", names.first().copied().unwrap_or("localhost")), ("client", "hakeeper client")] {
            let mut args = vec!["req"];
            args.extend(ec);
            let (key, csr, pem, ext, subj) =
                (format!("{who}.key"), format!("{who}.csr"), format!("{who}.crt"), format!("{who}.ext"), format!("/CN={cn}"));
            args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
            openssl(&dir, &args);
            openssl(
                &dir,
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
                    &pem,
                    "-days",
                    "2",
                    "-extfile",
                    &ext,
                ],
            );
        }
        let client =
            [std::fs::read_to_string(dir.join("client.crt")).expect("crt"), std::fs::read_to_string(dir.join("client.key")).expect("key")]
                .concat();
        std::fs::write(dir.join("client.pem"), client).expect("client.pem");
        Pki { dir }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).expect("read pem")
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `openssl s_server` on 127.0.0.1 (a free port it picks), killed by PID on drop.
pub struct SServer {
    pub child: Child,
    pub port: u16,
}

impl SServer {
    /// `extra`: more s_server options (`-www`, `-servername`, `-Verify 1`, ...).
    pub fn start(pki: &Pki, extra: &[&str]) -> SServer {
        let cert = pki.path("server.crt");
        let key = pki.path("server.key");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-naccept", "1000", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(extra)
            // Kept open: s_server quits at the end of its standard input.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("ACCEPT ").and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| p.parse::<u16>().ok()) {
                    let _ = tx.send(port);
                }
            }
        });
        let end = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(port) = rx.recv_timeout(Duration::from_millis(100)) {
                break port;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                panic!("openssl s_server did not start within 10 s");
            }
        };
        SServer { child, port }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
