//! `global`: the process settings (user, group, chroot, maxconn, nbthread, logging).

use super::Checker;
use crate::config::model::*;
use crate::config::raw::*;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn global(c: &mut Checker, g: &RawGlobal) -> Global {
    for (field, value) in [("user", &g.user), ("group", &g.group)] {
        if let Some(name) = value {
            if name.is_empty() || name.contains([':', '/', '\0']) {
                c.error(format!("global.{field}"), format!("invalid {field} name {name:?}"));
            }
        }
    }
    let chroot = g.chroot.as_ref().map(PathBuf::from);
    if let Some(dir) = &chroot {
        if !dir.is_absolute() {
            c.error("global.chroot", format!("chroot {:?} must be an absolute path", dir.display()));
        }
    }
    let maxconn = g.maxconn.unwrap_or(4096);
    if maxconn == 0 {
        c.error("global.maxconn", "maxconn must be at least 1");
    }
    let log = match &g.log {
        None => LogConfig { target: LogTarget::Unix(PathBuf::from("/dev/log")), facility: "local1".into(), level: "info".into() },
        Some(l) => log_config(c, "global.log", l),
    };
    let additional_logs = additional_logs(c, &g.additional_logs);
    let hard_stop_after = c.duration("global.hard_stop_after", g.hard_stop_after.as_ref(), Duration::from_secs(30));
    let worker_crash_limit = worker_crash_limit(c, g.worker_crash_limit.as_ref());
    let ctl_socket = PathBuf::from(g.ctl_socket.as_deref().unwrap_or(crate::ctl::DEFAULT_CTL_SOCKET));
    if !ctl_socket.is_absolute() {
        c.error("global.ctl_socket", format!("ctl_socket {:?} must be an absolute path", ctl_socket.display()));
    }
    let pool_fd_ratios = pool_fd_ratios(c, g);
    Global {
        user: g.user.clone(),
        group: g.group.clone(),
        chroot,
        maxconn,
        nbthread: g.nbthread.unwrap_or(0),
        log,
        additional_logs,
        hard_stop_after,
        worker_crash_limit,
        ctl_socket,
        pool_fd_ratios,
        h2: super::h2::tune(c, g.h2.as_ref()),
    }
}

/// `additional_logs`: more syslog targets beside `log`.
fn additional_logs(c: &mut Checker, logs: &[RawLog]) -> Vec<LogConfig> {
    logs.iter()
        .enumerate()
        .map(|(i, l)| {
            let field = format!("global.additional_logs[{i}]");
            let config = log_config(c, &field, l);
            if config.target == LogTarget::Stderr {
                c.error(format!("{field}.target"), "an additional log target must be syslog (udp:// or unix://), not stderr");
            }
            config
        })
        .collect()
}

/// `worker_crash_limit`: how many worker exits in `window` stop the respawns.
fn worker_crash_limit(c: &mut Checker, l: Option<&RawCrashLimit>) -> CrashLimit {
    let Some(l) = l else { return CrashLimit { exits: 5, window: Duration::from_secs(30), rise: Duration::from_secs(10) } };
    if l.exits == 0 {
        c.error("global.worker_crash_limit.exits", "exits must be at least 1");
    }
    let window = c.duration("global.worker_crash_limit.window", Some(&l.window), Duration::from_secs(30));
    let rise = c.duration("global.worker_crash_limit.rise", l.rise.as_ref(), Duration::from_secs(10));
    if rise.is_zero() {
        c.error("global.worker_crash_limit.rise", "rise must be more than 0");
    }
    CrashLimit { exits: l.exits.max(1), window, rise }
}

/// `pool_low_fd_ratio`, `pool_high_fd_ratio`: percentages, [`default_pool_fd_ratios`] when unset.
fn pool_fd_ratios(c: &mut Checker, g: &RawGlobal) -> (u32, u32) {
    let (low_default, high_default) = default_pool_fd_ratios();
    let mut ratio = |field: &str, v: Option<u32>, default: u32| match v {
        Some(r) if r > 100 => {
            c.error(format!("global.{field}"), format!("{field} {r} out of range 0..100 (a percentage)"));
            default
        }
        Some(r) => r,
        None => default,
    };
    (ratio("pool_low_fd_ratio", g.pool_low_fd_ratio, low_default), ratio("pool_high_fd_ratio", g.pool_high_fd_ratio, high_default))
}

pub const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7",
];

pub const LEVELS: &[&str] = &["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

pub(super) fn log_config(c: &mut Checker, field: &str, l: &RawLog) -> LogConfig {
    let target = if l.target == "stderr" {
        LogTarget::Stderr
    } else if let Some(path) = l.target.strip_prefix("unix://") {
        LogTarget::Unix(PathBuf::from(path))
    } else if let Some(addr) = l.target.strip_prefix("udp://") {
        match addr.parse::<SocketAddr>() {
            Ok(a) => LogTarget::Udp(a),
            Err(_) => match addr.parse::<IpAddr>() {
                Ok(ip) => LogTarget::Udp(SocketAddr::new(ip, 514)),
                Err(_) => {
                    c.error(format!("{field}.target"), format!("invalid UDP syslog address {addr:?}: expected IP or IP:PORT"));
                    LogTarget::Stderr
                }
            },
        }
    } else {
        c.error(format!("{field}.target"), format!("invalid log target {:?}: expected udp://IP:PORT, unix:///PATH or stderr", l.target));
        LogTarget::Stderr
    };
    let facility = if l.facility.is_empty() { "local1".to_string() } else { l.facility.clone() };
    if !FACILITIES.contains(&facility.as_str()) {
        c.error(format!("{field}.facility"), format!("unknown syslog facility {facility:?} (expected one of {})", FACILITIES.join(", ")));
    }
    let level = l.level.clone().unwrap_or_else(|| "info".into());
    if !LEVELS.contains(&level.as_str()) {
        c.error(format!("{field}.level"), format!("unknown log level {level:?} (expected one of {})", LEVELS.join(", ")));
    }
    LogConfig { target, facility, level }
}
