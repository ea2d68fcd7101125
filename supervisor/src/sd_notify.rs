//! systemd's service notifications (sd_notify(3)): `READY=1` once the listeners are bound and a
//! worker serves, `RELOADING=1` (with `MONOTONIC_USEC`) and `READY=1` around a reload, `STATUS=`
//! lines, `STOPPING=1`, and the watchdog: `WATCHDOG=1` only while every child answers the
//! supervisor's pings, so that a wedged child (not only a wedged supervisor) makes systemd act.
//! Spoken only when systemd asks for it (`NOTIFY_SOCKET`); the children never see the variables.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The variables systemd sets for the service's main process; removed from what children inherit.
pub const ENV: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

pub struct Notifier {
    sock: UnixDatagram,
    to: SocketAddr,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// The notifier systemd asked for, if any, with its watchdog interval (`WATCHDOG_USEC`, when
    /// `WATCHDOG_PID` is absent or names this process).
    pub fn from_env() -> Option<Notifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let to = match path.as_encoded_bytes().strip_prefix(b"@") {
            // Linux abstract socket (systemd's default is a path in /run).
            Some(name) => <SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(name).ok()?,
            None => SocketAddr::from_pathname(&path).ok()?,
        };
        let sock = UnixDatagram::unbound().ok()?;
        sock.set_nonblocking(true).ok()?;
        let ours = std::env::var("WATCHDOG_PID").map_or(true, |p| p.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|us| *us > 0 && ours)
            .map(Duration::from_micros);
        Some(Notifier { sock, to, watchdog })
    }

    /// How often systemd expects `WATCHDOG=1`, if it does.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends newline-separated `KEY=value` assignments; a lost notification is logged, never
    /// waited for.
    pub fn send(&self, state: &str) {
        if let Err(e) = self.sock.send_to_addr(state.as_bytes(), &self.to) {
            log::debug!("sd_notify {state:?}: {e}");
        }
    }
}

/// `RELOADING=1` with the monotonic time systemd wants beside it (µs).
pub fn reloading() -> String {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
        .unwrap_or(0);
    format!("RELOADING=1\nMONOTONIC_USEC={now}\nSTATUS=reloading the configuration")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let line = super::reloading();
        let usec: u64 = line.lines().find_map(|l| l.strip_prefix("MONOTONIC_USEC=")).and_then(|v| v.parse().ok()).expect("usec");
        assert!(line.starts_with("RELOADING=1\n") && usec > 0, "{line}");
    }
}
