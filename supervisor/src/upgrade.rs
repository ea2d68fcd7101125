//! Binary upgrade, the I/O half (the decisions are `policy/upgrade.rs`): finding the binary now
//! on disk, having it check the config, and re-executing it in place with the listening sockets
//! and the workers' channels kept open across exec (as HAProxy's master re-exec passes its
//! listeners with `-x`). What travels: a record in a memfd whose descriptor is named by
//! [`RECORD_ENV`]; the record names each inherited descriptor and what it is (a listener's
//! address; a worker's PID, generation and unread channel bytes), plus the policy's state
//! under a version. A binary that does not know the version says so and starts clean, keeping
//! the listeners and the workers all the same.

use crate::policy::{CarriedWorker, Inherited, UpgradeState};
use crate::supervisor::ConfigSource;
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the record's descriptor in the re-executed supervisor.
pub const RECORD_ENV: &str = "HAKEEPER_UPGRADE_FD";
/// The layout of [`UpgradeState`] this binary writes and reads.
pub const STATE_VERSION: u32 = 1;
/// Longest the new binary's `check` may take.
const CHECK_WAIT: Duration = Duration::from_secs(10);
/// Largest record read back (a record holds a few hundred bytes per worker).
const RECORD_MAX: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("cannot find the binary on disk: {0}")]
    Binary(std::io::Error),
    #[error("cannot run {path} check: {source}")]
    Check { path: String, source: std::io::Error },
    #[error("{path} did not check the configuration within {secs} s")]
    CheckTimeout { path: String, secs: u64 },
    #[error("{path} rejects the configuration:\n{output}")]
    Rejected { path: String, output: String },
    #[error("cannot write the upgrade record: {0}")]
    Record(String),
    #[error("cannot keep descriptor {fd} open across exec: {source}")]
    Inherit { fd: RawFd, source: nix::Error },
    #[error("cannot execute {path}: {source}")]
    Exec { path: String, source: nix::Error },
    #[error("cannot read the upgrade record (descriptor {fd}): {reason}")]
    Read { fd: String, reason: String },
}

/// A worker's channel as the record names it. This layout and [`Record`]'s never change, so
/// that any later binary can at least take over the descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordWorker {
    pub pid: i32,
    pub fd: RawFd,
    pub generation: u64,
    pub draining: bool,
    pub serving: bool,
    /// Bytes read from the channel but not yet a whole frame.
    pub pending: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The layout of `state`.
    pub version: u32,
    pub listeners: Vec<(SocketAddr, RawFd)>,
    pub workers: Vec<RecordWorker>,
    /// [`UpgradeState`] in RON.
    pub state: String,
    /// The `hakeeper ctl upgrade` client waiting for the outcome: the new supervisor answers it
    /// once its worker serves.
    #[serde(default)]
    pub ctl_client: Option<RawFd>,
}

/// What the re-executed supervisor takes over.
pub struct Taken {
    pub listeners: Vec<(SocketAddr, OwnedFd)>,
    /// Each adopted worker's channel and the bytes it had pending.
    pub channels: Vec<(i32, OwnedFd, Vec<u8>)>,
    pub inherited: Inherited,
    /// The waiting `hakeeper ctl upgrade` client's connection.
    pub ctl_client: Option<OwnedFd>,
    /// What to log once logging runs (an unknown version, a descriptor that was not there).
    pub notes: Vec<String>,
}

/// The file `/proc/self/exe` names: after a package upgrade replaced it, the new binary (the
/// kernel marks the old, unlinked one " (deleted)").
pub fn new_binary() -> Result<PathBuf, UpgradeError> {
    let link = std::fs::read_link("/proc/self/exe").map_err(UpgradeError::Binary)?;
    let bytes = link.as_os_str().as_bytes();
    let path = match bytes.strip_suffix(b" (deleted)") {
        Some(stripped) => PathBuf::from(std::ffi::OsStr::from_bytes(stripped)),
        None => link,
    };
    std::fs::metadata(&path).map_err(UpgradeError::Binary)?;
    Ok(path)
}

/// Has `binary` check the running config (`hakeeper check -c FILE`; the demo's built-in config
/// cannot be checked by path, so the binary only has to run). Bounded by [`CHECK_WAIT`].
pub fn check_config(binary: &Path, source: &ConfigSource) -> Result<(), UpgradeError> {
    let shown = binary.display().to_string();
    let mut cmd = Command::new(binary);
    match source {
        ConfigSource::File(path, localpeer) => {
            cmd.arg("check").arg("-c").arg(path);
            if let Some(name) = localpeer {
                cmd.arg("-L").arg(name);
            }
            &mut cmd
        }
        ConfigSource::Embedded { .. } => cmd.arg("--version"),
    };
    for var in crate::sd_notify::ENV {
        cmd.env_remove(var);
    }
    cmd.env_remove(RECORD_ENV).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| UpgradeError::Check { path: shown.clone(), source })?;
    let started = Instant::now();
    // Its output is a few lines: it fits in the pipes while it runs.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < CHECK_WAIT => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(UpgradeError::CheckTimeout { path: shown, secs: CHECK_WAIT.as_secs() });
            }
            Err(source) => return Err(UpgradeError::Check { path: shown, source }),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut output = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut output);
    }
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut output);
    }
    let output = if output.trim().is_empty() { format!("it exited with {status}") } else { output.trim_end().to_string() };
    Err(UpgradeError::Rejected { path: shown, output })
}

/// Re-executes `binary` with this process's arguments, keeping `listeners` and the workers'
/// channels open. Returns only if that failed, with every descriptor as it was.
pub fn exec(
    binary: &Path,
    listeners: Vec<(SocketAddr, RawFd)>,
    workers: Vec<RecordWorker>,
    state: &UpgradeState,
    ctl_client: Option<RawFd>,
) -> UpgradeError {
    let state = match ron::to_string(state) {
        Ok(s) => s,
        Err(e) => return UpgradeError::Record(e.to_string()),
    };
    let record = Record { version: STATE_VERSION, listeners, workers, state, ctl_client };
    let memfd = match write_record(&record) {
        Ok(fd) => fd,
        Err(e) => return e,
    };
    let mut kept: Vec<RawFd> =
        record.listeners.iter().map(|(_, fd)| *fd).chain(record.workers.iter().map(|w| w.fd)).chain(record.ctl_client).collect();
    kept.push(memfd.as_raw_fd());
    for (k, fd) in kept.iter().enumerate() {
        if let Err(source) = set_cloexec(*fd, false) {
            restore(&kept[..k]);
            return UpgradeError::Inherit { fd: *fd, source };
        }
    }
    let path = match CString::new(binary.as_os_str().as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            restore(&kept);
            return UpgradeError::Record(e.to_string());
        }
    };
    let args: Vec<CString> = std::env::args_os().filter_map(|a| CString::new(a.as_bytes()).ok()).collect();
    let mut env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != RECORD_ENV)
        .filter_map(|(k, v)| {
            let mut pair = k;
            pair.push("=");
            pair.push(v);
            CString::new(pair.as_bytes()).ok()
        })
        .collect();
    if let Ok(var) = CString::new(format!("{RECORD_ENV}={}", memfd.as_raw_fd())) {
        env.push(var);
    }
    let error = match nix::unistd::execve(&path, &args, &env) {
        Err(source) => UpgradeError::Exec { path: binary.display().to_string(), source },
        Ok(never) => match never {},
    };
    restore(&kept);
    error
}

fn write_record(record: &Record) -> Result<OwnedFd, UpgradeError> {
    let text = ron::to_string(record).map_err(|e| UpgradeError::Record(e.to_string()))?;
    let fd = nix::sys::memfd::memfd_create(c"hakeeper-upgrade", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|e| UpgradeError::Record(format!("memfd: {e}")))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(text.as_bytes()).map_err(|e| UpgradeError::Record(e.to_string()))?;
    file.rewind().map_err(|e| UpgradeError::Record(e.to_string()))?;
    Ok(OwnedFd::from(file))
}

fn set_cloexec(fd: RawFd, on: bool) -> Result<(), nix::Error> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    // SAFETY: a descriptor this process holds open for the duration of the call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut flags = FdFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFD)?);
    flags.set(FdFlag::FD_CLOEXEC, on);
    fcntl(fd, FcntlArg::F_SETFD(flags)).map(|_| ())
}

fn restore(fds: &[RawFd]) {
    for fd in fds {
        let _ = set_cloexec(*fd, true);
    }
}

/// In the re-executed supervisor: the record, if this process is one, with the descriptors it
/// names taken over (close-on-exec again, so the children do not inherit them). The variable
/// is removed so the children never see it.
pub fn take() -> Option<Result<Taken, UpgradeError>> {
    let var = std::env::var(RECORD_ENV).ok()?;
    std::env::remove_var(RECORD_ENV);
    let fail = |reason: String| UpgradeError::Read { fd: var.clone(), reason };
    let Ok(fd) = var.trim().parse::<RawFd>() else { return Some(Err(fail("not a descriptor number".into()))) };
    let Some(memfd) = own(fd) else { return Some(Err(fail("not open".into()))) };
    let mut text = String::new();
    if let Err(e) = std::fs::File::from(memfd).take(RECORD_MAX).read_to_string(&mut text) {
        return Some(Err(fail(e.to_string())));
    }
    Some(decode(&text).map_err(fail).map(adopt))
}

/// The record; `Err` only when even its stable part does not decode.
pub fn decode(text: &str) -> Result<Record, String> {
    ron::from_str(text).map_err(|e| e.to_string())
}

/// The state of a record of `version`, if this binary knows that layout.
pub fn decode_state(version: u32, text: &str) -> Result<UpgradeState, String> {
    if version != STATE_VERSION {
        return Err(format!("state record version {version} is unknown to this binary (it reads version {STATE_VERSION})"));
    }
    ron::from_str(text).map_err(|e| format!("bad state record: {e}"))
}

fn adopt(record: Record) -> Taken {
    let mut notes = Vec::new();
    let mut listeners = Vec::new();
    for (addr, fd) in record.listeners {
        match own(fd) {
            Some(owned) => listeners.push((addr, owned)),
            None => notes.push(format!("inherited listener {addr} (descriptor {fd}) is not open; binding it again")),
        }
    }
    let mut channels = Vec::new();
    let mut workers = Vec::new();
    for w in record.workers {
        match own(w.fd) {
            Some(owned) => {
                channels.push((w.pid, owned, w.pending));
                workers.push(CarriedWorker { pid: w.pid, generation: w.generation, draining: w.draining, serving: w.serving });
            }
            None => notes.push(format!("the channel of worker pid {} (descriptor {}) is not open; not adopting it", w.pid, w.fd)),
        }
    }
    let ctl_client = record.ctl_client.and_then(own);
    let state = match decode_state(record.version, &record.state) {
        Ok(s) => Some(s),
        Err(why) => {
            notes.push(format!("{why}: clean start, keeping the listeners and the old workers"));
            None
        }
    };
    Taken { listeners, channels, inherited: Inherited { workers, state, ctl: None }, ctl_client, notes }
}

/// Takes over an inherited descriptor if it is open, setting close-on-exec again.
fn own(fd: RawFd) -> Option<OwnedFd> {
    if fd < 3 || set_cloexec(fd, true).is_err() {
        return None;
    }
    // SAFETY: the previous supervisor left `fd` open for this process, which nothing else here
    // has taken; fcntl just confirmed it is open.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: u32, state: String) -> Record {
        Record {
            version,
            listeners: vec![("127.0.0.1:8080".parse().expect("addr"), 7)],
            workers: vec![RecordWorker { pid: 42, fd: 9, generation: 3, draining: false, serving: true, pending: vec![0, 0, 0, 5] }],
            state,
            ctl_client: Some(11),
        }
    }

    #[test]
    fn a_record_round_trips_with_its_state() {
        let state = UpgradeState { generation: 3, switched_over: true, proxy_up: true, ..UpgradeState::default() };
        let text = ron::to_string(&record(STATE_VERSION, ron::to_string(&state).expect("state"))).expect("record");
        let back = decode(&text).expect("decode");
        assert_eq!(back, record(STATE_VERSION, ron::to_string(&state).expect("state")));
        assert_eq!(decode_state(back.version, &back.state), Ok(state));
    }

    #[test]
    fn an_unknown_state_version_is_refused_but_the_descriptors_still_decode() {
        // A later binary's record: a state this one cannot read, under version 2.
        let text = ron::to_string(&record(2, "(generation: 3, something_new: [1, 2])".into())).expect("record");
        let back = decode(&text).expect("the stable part decodes");
        assert_eq!(back.listeners.len(), 1);
        assert_eq!(back.workers[0].pid, 42);
        let err = decode_state(back.version, &back.state).expect_err("version 2 refused");
        assert!(err.contains("version 2 is unknown"), "{err}");
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_panic() {
        assert!(decode("(version: 1, listeners: [").is_err());
        assert!(decode_state(STATE_VERSION, "(generation: \"x\")").is_err());
    }
}
