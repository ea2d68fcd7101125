//! Logging for every role: syslog (UDP or a Unix socket) with the configured facility, or stderr
//! in foreground mode. One ident per role (`hakeeper-worker[PID]`) so operators can grep.
//! Sending never blocks the caller for long: a line that cannot be sent is counted and dropped.

use crate::config::{LogConfig, LogTarget};
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

/// Lines that could not be delivered to syslog (shown on the stats page).
pub static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("unknown syslog facility {0:?}")]
    Facility(String),
    #[error("cannot open syslog target {target}: {reason}")]
    Open { target: String, reason: String },
    #[error("a logger is already installed")]
    AlreadySet,
}

/// Where a role's log lines go, decided before a child drops its privileges (a chrooted worker
/// can no longer open `/dev/log`, so the socket is opened first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogSpec {
    pub config: LogConfig,
    /// Further syslog targets; ignored in foreground mode, where everything goes to stderr.
    pub additional: Vec<LogConfig>,
    pub foreground: bool,
}

pub fn level_filter(name: &str) -> LevelFilter {
    match name {
        "debug" => LevelFilter::Debug,
        "info" | "notice" => LevelFilter::Info,
        "warning" => LevelFilter::Warn,
        _ => LevelFilter::Error,
    }
}

/// Installs the process-wide logger for `role`.
pub fn init(role: &str, spec: &LogSpec) -> Result<(), LogError> {
    let (logger, level): (Box<dyn Log>, LevelFilter) = if spec.foreground || spec.config.target == LogTarget::Stderr {
        (Box::new(StderrLog { ident: ident(role) }), level_filter(&spec.config.level))
    } else {
        let targets =
            std::iter::once(&spec.config).chain(&spec.additional).map(|config| open_syslog(role, config)).collect::<Result<Vec<_>, _>>()?;
        let level = targets.iter().map(|t| t.level).max().unwrap_or(LevelFilter::Error);
        (Box::new(SyslogTargets { targets }), level)
    };
    log::set_boxed_logger(logger).map_err(|_| LogError::AlreadySet)?;
    log::set_max_level(level);
    Ok(())
}

fn ident(role: &str) -> String {
    if role.is_empty() || role == "supervisor" {
        "hakeeper".to_string()
    } else {
        format!("hakeeper-{role}")
    }
}

fn open_syslog(role: &str, config: &LogConfig) -> Result<SyslogTarget, LogError> {
    let facility: Facility = config.facility.parse().map_err(|_| LogError::Facility(config.facility.clone()))?;
    let formatter = Formatter3164 { facility, hostname: None, process: ident(role), pid: std::process::id() };
    let logger = match &config.target {
        LogTarget::Udp(addr) => {
            let local = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            syslog::udp(formatter, local, addr).map_err(|e| LogError::Open { target: format!("udp://{addr}"), reason: e.to_string() })?
        }
        LogTarget::Unix(path) => syslog::unix_custom(formatter, path)
            .map_err(|e| LogError::Open { target: format!("unix://{}", path.display()), reason: e.to_string() })?,
        LogTarget::Stderr => return Err(LogError::Open { target: "stderr".into(), reason: "not a syslog target".into() }),
    };
    if let LoggerBackend::Udp(sock, _) = &logger.backend {
        // A full socket buffer drops the line rather than stalling the event loop.
        let _ = sock.set_nonblocking(true);
    }
    if let LoggerBackend::Unix(sock) = &logger.backend {
        let _ = sock.set_nonblocking(true);
    }
    Ok(SyslogTarget { logger: Mutex::new(logger), level: level_filter(&config.level), severity: severity_of_name(&config.level) })
}

/// Syslog severity number of a level name (`err` = 3 … `debug` = 7).
fn severity_of_name(name: &str) -> u8 {
    crate::config::validate::LEVELS.iter().position(|l| *l == name).map_or(3, |p| p as u8)
}

/// Syslog severity a record is sent with (info lines aimed at [`NOTICE`] go as notice).
fn severity_of_record(level: Level, notice: bool) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info if notice => 5,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// One syslog destination with its own lowest severity.
struct SyslogTarget {
    logger: Mutex<Logger<LoggerBackend, Formatter3164>>,
    /// Coarse filter for `log::set_max_level`.
    level: LevelFilter,
    /// Highest severity number sent (syslog counts down: 3 = err, 5 = notice, 6 = info).
    severity: u8,
}

impl SyslogTarget {
    fn send(&self, level: Level, notice: bool, message: &str) {
        let Ok(mut logger) = self.logger.lock() else {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let result = match level {
            Level::Error => logger.err(message),
            Level::Warn => logger.warning(message),
            Level::Info if notice => logger.notice(message),
            Level::Info => logger.info(message),
            Level::Debug | Level::Trace => logger.debug(message),
        };
        if result.is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every configured syslog destination (HAProxy's several `log` lines); each line goes to the
/// ones whose level admits it.
struct SyslogTargets {
    targets: Vec<SyslogTarget>,
}

impl Log for SyslogTargets {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // HAProxy truncates lines at 1024 bytes; so do we, on a char boundary.
        let mut message = record.args().to_string();
        if message.len() > 1024 {
            let mut cut = 1024;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let notice = record.target() == NOTICE;
        let severity = severity_of_record(record.level(), notice);
        for target in self.targets.iter().filter(|t| severity <= t.severity) {
            target.send(record.level(), notice, &message);
        }
    }

    fn flush(&self) {}
}

/// Log target for lines that syslog should get at `notice` severity (state changes).
pub const NOTICE: &str = "notice";

struct StderrLog {
    ident: String,
}

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                Level::Error => "ERROR",
                Level::Warn => "WARNING",
                Level::Info => "INFO",
                _ => "DEBUG",
            };
            let line = format!("{}[{}]: {level}: {}\n", self.ident, std::process::id(), record.args());
            if std::io::stderr().write_all(line.as_bytes()).is_err() {
                DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn flush(&self) {}
}
