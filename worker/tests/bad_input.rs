//! Misbehaving peers: each ends its session with the right termination code, and no descriptor
//! leaks. One test in its own binary, so that the process's descriptor count means something.

mod support;

use std::io::Write;
use std::time::Duration;
use support::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Waits until the process is back to `expected` descriptors (peers close asynchronously).
fn settle(expected: usize, what: &str) {
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while open_fds() != expected {
        assert!(std::time::Instant::now() < end, "{what}: {} descriptors open, expected {expected}", open_fds());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `drive` three times against one worker. After the first run the worker may keep pooled
/// pipes; later runs must not add a single descriptor.
fn scenario(name: &str, behaviour: Behaviour, timeout_client: Duration, drive: impl Fn(&Worker), code: &str) {
    let server = TestServer::start("s1", behaviour);
    let mut fe = frontend(&format!("fe_{name}"));
    fe.timeout_client = timeout_client;
    let worker = Worker::start(config(fe, backend(&format!("be_{name}"), &[server.addr])));
    let mut steady = None;
    for run in 1..=3 {
        drive(&worker);
        let log = wait_logs(&format!("fe_{name} be_{name}/s1"), run, Duration::from_secs(5));
        assert!(log.iter().all(|l| l.contains(&format!(" {code} "))), "{name}: {log:#?}");
        wait_until("server side closed", || server.open() == 0);
        wait_until("sessions closed", || support::get(&worker.stats.process.cur) == 0);
        match steady {
            None => steady = Some(open_fds()),
            Some(n) => settle(n, name),
        }
    }
}

#[test]
fn resets_and_silence_end_with_the_right_code_and_leak_nothing() {
    init_logs();
    let baseline = open_fds();

    scenario(
        "client_reset",
        Behaviour::Tag,
        Duration::from_secs(10),
        |w| {
            let mut c = w.connect();
            assert_eq!(read_tag(&mut c), "s1");
            c.write_all(&[7u8; 50_000]).unwrap();
            reset(c);
        },
        "CD",
    );

    scenario(
        "server_reset",
        Behaviour::ResetAfterRead,
        Duration::from_secs(10),
        |w| {
            let mut c = w.connect();
            c.write_all(b"boom").unwrap();
            assert!(wait_closed(&mut c, Duration::from_secs(5)));
        },
        "SD",
    );

    scenario(
        "client_silent",
        Behaviour::Silent,
        Duration::from_millis(300),
        |w| {
            let mut c = w.connect();
            assert!(wait_closed(&mut c, Duration::from_secs(5)));
        },
        "cD",
    );

    settle(baseline, "after every worker stopped");
}
