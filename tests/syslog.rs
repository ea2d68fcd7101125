//! End-to-end: a detached `hakeeper run` logs to a UDP syslog listener with facility local1.

mod harness;

use harness::process::*;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[test]
fn udp_syslog_receives_lines_with_facility_local1() {
    let dir = TempDir::new("syslog");
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind syslog sink");
    sink.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let sink_addr = sink.local_addr().expect("addr");
    let port = free_port();
    let config = dir.file("h.ron");
    std::fs::write(
        &config,
        format!(
            "(global: (user: \"nobody\", log: (target: \"udp://{sink_addr}\", facility: \"local1\")),\n listen: [(name: \"p\", bind: [\"127.0.0.1:{port}\"], servers: [(name: \"s\", addr: \"127.0.0.1:9\")])])"
        ),
    )
    .expect("write config");
    let pidfile = dir.file("h.pid");
    // Without --foreground: detaches, and logs go to syslog, not stderr.
    let (code, _, err) =
        run_cli(&["run", "-c", config.to_str().expect("utf8"), "--pidfile", pidfile.to_str().expect("utf8")], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(Duration::from_secs(5), || pidfile.exists()), "pid file written");
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("pidfile").trim().parse().expect("pid");
    let guard = Cleanup(pid);

    let mut lines = Vec::new();
    let end = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    while Instant::now() < end && !lines.iter().any(|l: &String| l.contains("hakeeper-worker[")) {
        if let Ok(n) = sink.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    assert!(!lines.is_empty(), "no syslog line received");
    for line in &lines {
        let pri: u32 = line
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .and_then(|(p, _)| p.parse().ok())
            .unwrap_or_else(|| panic!("no PRI in {line:?}"));
        assert_eq!(pri / 8, 17, "facility local1 (17) in {line:?}");
    }
    assert!(lines.iter().any(|l| l.contains(" hakeeper[")), "supervisor ident: {lines:?}");
    assert!(lines.iter().any(|l| l.contains(" hakeeper-worker[")), "one ident per role: {lines:?}");
    drop(guard);
}

struct Cleanup(i32);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let kids: Vec<i32> = children_of(self.0).iter().map(|(_, p)| *p).collect();
        signal(self.0, nix::sys::signal::Signal::SIGTERM);
        wait_until(Duration::from_secs(6), || !alive(self.0));
        for p in kids.into_iter().chain([self.0]) {
            if alive(p) {
                signal(p, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}
