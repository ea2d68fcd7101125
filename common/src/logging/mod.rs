//! Logging for every role: the configured syslog targets (UDP or a Unix socket, each with its
//! facility and lowest level) always; and in foreground mode (or with a `stderr` target) the
//! console: the journal's native protocol when stderr is connected to the journal (systemd sets
//! `JOURNAL_STREAM`), plain lines on stderr otherwise. One ident per role (`hakeeper-worker`) so
//! operators can grep. Sending never blocks the caller for long: a line that cannot be sent is
//! counted and dropped.

mod journal;
mod stderr;
mod syslog_target;

use crate::config::{LogConfig, LogTarget};
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::atomic::AtomicU64;

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
    /// Further syslog targets (HAProxy's second `log` line).
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
    let console = spec.foreground || spec.config.target == LogTarget::Stderr;
    let mut sinks: Vec<Sink> = Vec::new();
    let mut journal_owns_dev_log = false;
    if console {
        let level = level_filter(&spec.config.level);
        let severity = severity_of_name(&spec.config.level);
        let facility = facility_number(&spec.config.facility)?;
        match journal::Journal::detect(role, facility) {
            Some(j) => {
                journal_owns_dev_log = journal::owns_dev_log();
                sinks.push(Sink { out: Box::new(j), level, severity });
            }
            None => sinks.push(Sink { out: Box::new(stderr::Stderr { ident: ident(role) }), level, severity }),
        }
    }
    for config in std::iter::once(&spec.config).chain(&spec.additional) {
        if config.target == LogTarget::Stderr {
            continue;
        }
        if journal_owns_dev_log && is_dev_log(&config.target) {
            // Under systemd, /dev/log is journald's: the journal already has the line, with its
            // facility for rsyslog to file it; sending it there too would store it twice.
            continue;
        }
        match syslog_target::open(role, config) {
            Ok(t) => sinks.push(Sink { level: level_filter(&config.level), severity: severity_of_name(&config.level), out: Box::new(t) }),
            // In the foreground the console still logs: a syslog target that is not there (no
            // syslog daemon on a test machine) is reported, not fatal.
            Err(e) if console => {
                // Said once, by the supervisor: its children find the same.
                if role.is_empty() || role == "supervisor" {
                    let _ = writeln!(std::io::stderr(), "{}: {e}; logging to the console only", ident(role));
                }
            }
            Err(e) => return Err(e),
        }
    }
    let level = sinks.iter().map(|s| s.level).max().unwrap_or(LevelFilter::Error);
    log::set_boxed_logger(Box::new(Sinks { sinks })).map_err(|_| LogError::AlreadySet)?;
    log::set_max_level(level);
    Ok(())
}

fn is_dev_log(target: &LogTarget) -> bool {
    matches!(target, LogTarget::Unix(p) if p == std::path::Path::new("/dev/log"))
}

/// The syslog facility number of a name (`local1` = 17).
fn facility_number(name: &str) -> Result<u8, LogError> {
    let facility: ::syslog::Facility = name.parse().map_err(|_| LogError::Facility(name.to_string()))?;
    Ok((facility as u32 >> 3) as u8)
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

fn ident(role: &str) -> String {
    if role.is_empty() || role == "supervisor" {
        "hakeeper".to_string()
    } else {
        format!("hakeeper-{role}")
    }
}

/// One destination of log lines.
trait Out: Send + Sync {
    /// Sends one line; `severity` is the record's syslog severity.
    fn send(&self, record: &Record, severity: u8, message: &str);
}

/// A destination with its own lowest severity.
struct Sink {
    out: Box<dyn Out>,
    /// Coarse filter for `log::set_max_level`.
    level: LevelFilter,
    /// Highest severity number sent (syslog counts down: 3 = err, 5 = notice, 6 = info).
    severity: u8,
}

/// Every destination; each line goes to the ones whose level admits it.
struct Sinks {
    sinks: Vec<Sink>,
}

impl Log for Sinks {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let severity = severity_of_record(record.level(), record.target() == NOTICE);
        let mut message: Option<String> = None;
        for sink in self.sinks.iter().filter(|s| severity <= s.severity) {
            let text = message.get_or_insert_with(|| record.args().to_string());
            sink.out.send(record, severity, text);
        }
    }

    fn flush(&self) {}
}

/// Log target for lines that syslog should get at `notice` severity (state changes).
pub const NOTICE: &str = "notice";
