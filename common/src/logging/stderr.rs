//! Plain lines on stderr (foreground mode outside the journal): `hakeeper-worker[PID]: LEVEL: text`.

use super::{Out, DROPPED_LINES};
use log::{Level, Record};
use std::io::Write;
use std::sync::atomic::Ordering;

pub(super) struct Stderr {
    pub ident: String,
}

impl Out for Stderr {
    fn send(&self, record: &Record, _severity: u8, message: &str) {
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARNING",
            Level::Info => "INFO",
            _ => "DEBUG",
        };
        let line = format!("{}[{}]: {level}: {message}\n", self.ident, std::process::id());
        if std::io::stderr().write_all(line.as_bytes()).is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
    }
}
