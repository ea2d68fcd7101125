//! systemd's journal, spoken natively (the protocol of `sd_journal_send`, see systemd's
//! "Native Journal Protocol"): one datagram per line with `PRIORITY`, `SYSLOG_IDENTIFIER` per role,
//! `SYSLOG_FACILITY`, `HAKEEPER_ROLE` and the record's key-values (`BACKEND`, `SERVER`) as fields.
//! Used instead of plain stderr when stderr is the journal's stream, so that warnings keep
//! their priority and each line one identifier (the stream would tag every line
//! `hakeeper[PID]:` at priority info).

use super::{Out, DROPPED_LINES};
use log::kv::{Key, Value, VisitSource};
use log::Record;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// journald's socket for native messages.
const SOCKET: &str = "/run/systemd/journal/socket";
/// Overrides [`SOCKET`] (a container with the journal's socket elsewhere; the tests).
pub const SOCKET_ENV: &str = "HAKEEPER_JOURNAL_SOCKET";
/// Longest message sent in one datagram; longer ones are cut (journald's default datagram limit
/// is larger, but a log line this long is a bug being logged).
const MAX_MESSAGE: usize = 16 * 1024;

pub(super) struct Journal {
    sock: UnixDatagram,
    /// Fields every entry carries, already encoded.
    common: Vec<u8>,
    ident: String,
}

impl Journal {
    /// The journal, when systemd connected stderr to it (`JOURNAL_STREAM` names stderr's device
    /// and inode) and its socket takes a connection.
    pub(super) fn detect(role: &str, facility: u8) -> Option<Journal> {
        if !stderr_is_journal() {
            return None;
        }
        let path = std::env::var_os(SOCKET_ENV).map_or_else(|| PathBuf::from(SOCKET), PathBuf::from);
        let sock = UnixDatagram::unbound().ok()?;
        // Connected now, before a child chroots itself away from /run.
        sock.connect(&path).ok()?;
        sock.set_nonblocking(true).ok()?;
        let ident = super::ident(role);
        let role = if role.is_empty() { "supervisor" } else { role };
        let mut common = Vec::with_capacity(128);
        field(&mut common, "SYSLOG_IDENTIFIER", ident.as_bytes());
        field(&mut common, "SYSLOG_FACILITY", facility.to_string().as_bytes());
        field(&mut common, "SYSLOG_PID", std::process::id().to_string().as_bytes());
        field(&mut common, "HAKEEPER_ROLE", role.as_bytes());
        Some(Journal { sock, common, ident })
    }
}

/// Whether `JOURNAL_STREAM` (`DEVICE:INODE`) is the file stderr is open on.
fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else { return false };
    let Ok(stat) = nix::sys::stat::fstat(std::io::stderr()) else { return false };
    stream == format!("{}:{}", stat.st_dev, stat.st_ino)
}

/// Whether `/dev/log` is journald's socket (systemd's `systemd-journald-dev-log.socket`).
pub(super) fn owns_dev_log() -> bool {
    std::fs::canonicalize("/dev/log").is_ok_and(|p| p.starts_with("/run/systemd/journal"))
}

impl Out for Journal {
    fn send(&self, record: &Record, severity: u8, message: &str) {
        let entry = encode(&self.common, record, severity, message);
        if self.sock.send(&entry).is_ok() {
            return;
        }
        // journald is gone or overloaded: the stream still reaches it (or the terminal).
        let line = format!("{}[{}]: {message}\n", self.ident, std::process::id());
        if std::io::stderr().write_all(line.as_bytes()).is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One journal entry: the common fields, the priority, the record's key-values, the message.
fn encode(common: &[u8], record: &Record, severity: u8, message: &str) -> Vec<u8> {
    let mut entry = Vec::with_capacity(common.len() + message.len() + 64);
    entry.extend_from_slice(common);
    field(&mut entry, "PRIORITY", &[b'0' + severity.min(7)]);
    let _ = record.key_values().visit(&mut Fields(&mut entry));
    let cut = message.len().min(MAX_MESSAGE);
    field(&mut entry, "MESSAGE", &message.as_bytes()[..cut]);
    entry
}

/// Appends `NAME=value\n`, or the binary form (`NAME\n`, 64-bit little-endian length, value,
/// `\n`) when the value holds a newline.
fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A record's key-values as journal fields: names upper-cased, anything but `A-Z0-9_` dropped,
/// never a trusted (`_`-prefixed) field.
struct Fields<'a>(&'a mut Vec<u8>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let name: String = key
            .as_str()
            .chars()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let name = name.trim_start_matches('_');
        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
            field(self.0, name, value.to_string().as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(entry: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = entry;
        while !rest.is_empty() {
            let nl = rest.iter().position(|&b| b == b'\n').unwrap();
            let line = &rest[..nl];
            if let Some(eq) = line.iter().position(|&b| b == b'=') {
                out.push((String::from_utf8(line[..eq].to_vec()).unwrap(), line[eq + 1..].to_vec()));
                rest = &rest[nl + 1..];
            } else {
                let len = u64::from_le_bytes(rest[nl + 1..nl + 9].try_into().unwrap()) as usize;
                out.push((String::from_utf8(line.to_vec()).unwrap(), rest[nl + 9..nl + 9 + len].to_vec()));
                rest = &rest[nl + 9 + len + 1..];
            }
        }
        out
    }

    #[test]
    fn entries_carry_priority_fields_and_a_binary_safe_message() {
        let mut common = Vec::new();
        field(&mut common, "SYSLOG_IDENTIFIER", b"hakeeper-checker");
        let kvs = [("backend", "webserver"), ("server", "web1"), ("_pid", "1"), ("9x", "y")];
        let args = format_args!("two\nlines");
        let record = Record::builder().level(log::Level::Warn).args(args).key_values(&kvs).build();
        let got = fields(&encode(&common, &record, 4, "two\nlines"));
        let want: Vec<(String, Vec<u8>)> = [
            ("SYSLOG_IDENTIFIER", &b"hakeeper-checker"[..]),
            ("PRIORITY", b"4"),
            ("BACKEND", b"webserver"),
            ("SERVER", b"web1"),
            ("PID", b"1"),
            ("MESSAGE", b"two\nlines"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
        assert_eq!(got, want);
    }
}
