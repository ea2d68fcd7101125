//! A syslog destination (RFC 3164 over UDP or a Unix datagram socket), as HAProxy's `log` lines.

use super::{ident, LogError, Out, DROPPED_LINES};
use crate::config::{LogConfig, LogTarget};
use log::Record;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

/// HAProxy truncates syslog lines at 1024 bytes (`len` of its `log` line); so do we.
const MAX_LINE: usize = 1024;

/// Opens one configured syslog destination.
pub(super) fn open(role: &str, config: &LogConfig) -> Result<SyslogTarget, LogError> {
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
    Ok(SyslogTarget { logger: Mutex::new(logger) })
}

pub(super) struct SyslogTarget {
    logger: Mutex<Logger<LoggerBackend, Formatter3164>>,
}

impl Out for SyslogTarget {
    fn send(&self, _record: &Record, severity: u8, message: &str) {
        let message = truncate(message, MAX_LINE);
        let Ok(mut logger) = self.logger.lock() else {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let result = match severity {
            0..=3 => logger.err(message),
            4 => logger.warning(message),
            5 => logger.notice(message),
            6 => logger.info(message),
            _ => logger.debug(message),
        };
        if result.is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// At most `max` bytes of `s`, cut on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        let s = format!("{}é", "a".repeat(1023));
        assert_eq!(super::truncate(&s, 1024).len(), 1023);
        assert_eq!(super::truncate("short", 1024), "short");
    }
}
