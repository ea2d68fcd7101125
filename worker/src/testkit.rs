//! Config builders for the unit tests.

use hakeeper_common::config::{Backend, Balance, CrashLimit, Global, HashType, HealthCheck, LogConfig, LogTarget, Mode, Server};
use hakeeper_common::ipc::WorkerConfig;
use std::time::Duration;

/// A TCP backend "be" with one server per (weight, maxconn, backup).
pub fn backend(servers: &[(u32, u32, bool)]) -> Backend {
    Backend {
        name: "be".into(),
        mode: Mode::Tcp,
        balance: Balance::Roundrobin,
        hash_type: HashType::MapBased,
        retries: 3,
        redispatch: false,
        abortonclose: false,
        allbackups: false,
        timeout_connect: Duration::from_secs(1),
        timeout_server: Duration::from_secs(1),
        timeout_queue: Duration::from_secs(1),
        timeout_check: None,
        stick: None,
        health_check: HealthCheck::Tcp,
        servers: servers
            .iter()
            .enumerate()
            .map(|(i, &(weight, maxconn, backup))| Server {
                name: format!("s{i}"),
                id: i as u32 + 1,
                addr: "127.0.0.1:1".parse().unwrap(),
                weight,
                maxconn,
                backup,
                disabled: false,
                cookie: None,
                check: None,
            })
            .collect(),
    }
}

/// The global settings every unit-test config uses.
pub fn global() -> Global {
    Global {
        user: None,
        group: None,
        chroot: None,
        maxconn: 4096,
        nbthread: 1,
        log: LogConfig { target: LogTarget::Stderr, facility: "local1".into(), level: "info".into() },
        additional_logs: Vec::new(),
        hard_stop_after: Duration::from_secs(5),
        worker_crash_limit: CrashLimit { exits: 5, window: Duration::from_secs(30), rise: Duration::from_secs(10) },
        ctl_socket: "/run/hakeeper/ctl.sock".into(),
    }
}

/// A worker config with these backends and no frontend.
pub fn worker_config(backends: Vec<Backend>) -> WorkerConfig {
    WorkerConfig { global: global(), frontends: Vec::new(), backends, stats: None, http: Default::default() }
}
