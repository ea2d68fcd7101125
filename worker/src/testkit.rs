//! Config builders shared by the worker's unit tests, its integration tests and its benchmark
//! example: one place that spells out every field, so a new config field is added once. Each
//! caller adjusts what its tests need with struct update syntax.

use hakeeper_common::config::{Backend, Balance, CrashLimit, Frontend, Global, HashType, HealthCheck, LogConfig, LogTarget, Mode, Server};
use hakeeper_common::ipc::WorkerConfig;
use std::net::SocketAddr;
use std::time::Duration;

/// The global settings of a test config: one thread, logs to stderr at info.
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
        pool_fd_ratios: hakeeper_common::config::default_pool_fd_ratios(),
        h2: Default::default(),
    }
}

/// A server of weight 1 with no limit, no cookie and no check; `index` gives its id.
pub fn server(index: usize, name: &str, addr: SocketAddr) -> Server {
    Server {
        name: name.into(),
        id: index as u32 + 1,
        addr,
        weight: 1,
        maxconn: 0,
        backup: false,
        disabled: false,
        cookie: None,
        check: None,
        pool: Default::default(),
        send_proxy: None,
        check_send_proxy: false,
        proxy_v2: Default::default(),
        tls: None,
        check_tls: None,
    }
}

/// A round-robin TCP backend over `servers`, 1 s timeouts, 3 retries, no redispatch.
pub fn tcp_backend(name: &str, servers: Vec<Server>) -> Backend {
    Backend {
        name: name.into(),
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
        servers,
    }
}

/// A TCP frontend on `bind` leading to backend 0, logged without a format.
pub fn tcp_frontend(name: &str, bind: SocketAddr) -> Frontend {
    Frontend {
        name: name.into(),
        binds: vec![bind],
        mode: Mode::Tcp,
        maxconn: 2000,
        timeout_client: Duration::from_secs(10),
        timeout_http_request: Duration::from_secs(5),
        timeout_http_keep_alive: Duration::from_secs(5),
        default_backend: Some(0),
        log: true,
        log_format: None,
        dontlognull: false,
        accept_proxy: false,
        tls: vec![None],
        bind_proto: vec![Default::default()],
    }
}

/// A TCP backend "be" with one server per (weight, maxconn, backup).
pub fn backend(servers: &[(u32, u32, bool)]) -> Backend {
    let addr = SocketAddr::from(([127, 0, 0, 1], 1));
    let servers = servers
        .iter()
        .enumerate()
        .map(|(i, &(weight, maxconn, backup))| Server { weight, maxconn, backup, ..server(i, &format!("s{i}"), addr) })
        .collect();
    tcp_backend("be", servers)
}

/// A worker config with these backends and no frontend.
pub fn worker_config(backends: Vec<Backend>) -> WorkerConfig {
    WorkerConfig { global: global(), frontends: Vec::new(), backends, stats: None, http: Default::default(), peers: Vec::new() }
}
