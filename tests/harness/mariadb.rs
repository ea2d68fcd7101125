//! A private MariaDB server for tests: its own datadir in a temp dir (mariadb-install-db), its
//! own port on 127.0.0.1 and its own socket, stopped and removed by PID when dropped. It needs
//! Debian's `mariadb-server` package (installed by tests/install-deps); without it a test skips,
//! or fails under CI=true.
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVERS: &[&str] = &["/usr/sbin/mariadbd", "/usr/sbin/mysqld"];
const INSTALLERS: &[&str] = &["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"];
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

fn first_existing(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A MariaDB datadir, and the server running on it (when started).
pub struct MariaDb {
    dir: PathBuf,
    server: PathBuf,
    child: Option<Child>,
    port: u16,
}

impl MariaDb {
    /// Initialises a fresh datadir. Returns `None` (with a message) when MariaDB is not
    /// installed, unless CI=true, where that fails the test.
    pub fn install_or_skip(test: &str) -> Option<MariaDb> {
        let (Some(server), Some(installer)) = (first_existing(SERVERS), first_existing(INSTALLERS)) else {
            let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
            assert!(!ci, "{test} needs mariadb-server (mariadbd, mariadb-install-db) and CI=true: failing instead of skipping");
            eprintln!("skipping {test}: mariadb-server is not installed (run tests/install-deps as root)");
            return None;
        };
        match MariaDb::install(test, &server, &installer) {
            Ok(db) => Some(db),
            Err(e) => panic!("{test}: cannot initialise MariaDB: {e}"),
        }
    }

    fn install(tag: &str, server: &Path, installer: &Path) -> Result<MariaDb, String> {
        let dir = std::env::temp_dir().join(format!("hakeeper-mariadb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let db = MariaDb { dir, server: server.to_path_buf(), child: None, port: 0 };
        let mut cmd = Command::new(installer);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", db.datadir().display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .arg("--skip-name-resolve");
        if is_root() {
            cmd.arg("--user=root");
        }
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("run {}: {e}", installer.display()))?;
        if !out.status.success() {
            return Err(format!("{} failed ({}): {}", installer.display(), out.status, String::from_utf8_lossy(&out.stderr)));
        }
        Ok(db)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn datadir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Starts mariadbd on 127.0.0.1:`port`, running `init_sql` (e.g. CREATE USER) at start-up,
    /// and waits until it greets clients.
    pub fn start(&mut self, port: u16, init_sql: &str) -> Result<(), String> {
        if self.child.is_some() {
            return Err("already running".into());
        }
        let init = self.dir.join("init.sql");
        std::fs::write(&init, init_sql).map_err(|e| format!("write {}: {e}", init.display()))?;
        let mut cmd = Command::new(&self.server);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.datadir().display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", self.dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", self.log_path().display()))
            .arg(format!("--tmpdir={}", self.dir.display()))
            .arg(format!("--init-file={}", init.display()))
            .arg("--skip-name-resolve")
            .arg("--skip-log-bin")
            .arg("--max-connect-errors=1000000")
            .arg("--innodb-buffer-pool-size=16M");
        if is_root() {
            cmd.arg("--user=root");
        }
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the server if the
        // thread that started it dies without stopping it (a test that crashed).
        unsafe {
            cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {}: {e}", self.server.display()))?;
        self.child = Some(child);
        self.port = port;
        let end = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if greets(addr) {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!("mariadbd exited ({status}): {}", self.log_tail()));
            }
            if Instant::now() > end {
                self.stop();
                return Err(format!("mariadbd not ready within {START_TIMEOUT:?}: {}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server: SIGTERM, then SIGKILL if it has not exited within 30 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("mariadbd.err")
    }

    /// The end of the server's error log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// True when something on `addr` sends the first bytes of a MySQL greeting.
fn greets(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut head = [0u8; 5];
    s.read_exact(&mut head).is_ok() && head[4] == 10
}
