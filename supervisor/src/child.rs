//! The child side of a fork+exec: started as `hakeeper: ROLE` (its `argv[0]`, what `ps` shows),
//! with its channel at descriptor 3 and its start-up spec in a pipe at 4. The spec says who to become;
//! the child sets up logging (opening /dev/log before a chroot hides it), drops privileges,
//! and only then reads its config from the supervisor and starts work.

use crate::privileges::{self, Privileges};
use hakeeper_common::ipc::{CHILD_CHANNEL_FD, CHILD_SPEC_FD, CHILD_TITLE_PREFIX};
use hakeeper_common::logging::{self, LogSpec};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Worker,
    Checker,
    Vrrpd,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Checker => "checker",
            Role::Vrrpd => "vrrpd",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        [Role::Worker, Role::Checker, Role::Vrrpd].into_iter().find(|r| r.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSpec {
    pub privileges: Privileges,
    pub log: LogSpec,
    /// The supervisor's PID, to detect that it died before the parent-death signal was armed.
    pub parent: i32,
}

/// Exit code meaning "do not restart me": the config cannot be served.
pub const EXIT_NO_RESTART: u8 = 2;

/// The child role this process was started as, from its `argv[0]` (`hakeeper: worker`), with
/// the arguments that follow it; `None` for a command-line invocation.
pub fn invoked_as() -> Option<(String, Vec<String>)> {
    let mut args = std::env::args();
    let role = args.next()?.strip_prefix(CHILD_TITLE_PREFIX)?.to_string();
    Some((role, args.collect()))
}

pub fn main(role_name: &str) -> ExitCode {
    let Some(role) = Role::from_name(role_name) else {
        eprintln!("hakeeper: unknown child role {role_name:?}");
        return ExitCode::from(EXIT_NO_RESTART);
    };
    // `ps -e`, `top` and `ss -p` show the kernel's name of the process: ours, not `exe`.
    let _ = nix::sys::prctl::set_name(c"hakeeper");
    let mut spec_text = String::new();
    // SAFETY: the supervisor placed the spec pipe's read end at this fd before exec, and
    // nothing else in this process owns it.
    let spec_pipe = unsafe { OwnedFd::from_raw_fd(CHILD_SPEC_FD) };
    if let Err(e) = std::fs::File::from(spec_pipe).read_to_string(&mut spec_text) {
        eprintln!("hakeeper-{}: cannot read the start-up spec: {e}", role.name());
        return ExitCode::from(EXIT_NO_RESTART);
    }
    let spec: ChildSpec = match ron::from_str(&spec_text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hakeeper-{}: bad start-up spec: {e}", role.name());
            return ExitCode::from(EXIT_NO_RESTART);
        }
    };
    if let Err(e) = logging::init(role.name(), &spec.log) {
        eprintln!("hakeeper-{}: {e}", role.name());
    }
    // The checker may need to run scripts as `script_user`: it keeps what that takes and gives
    // it up itself once its config shows no script needs it.
    let keep: &[caps::Capability] = if role == Role::Checker { &privileges::SCRIPT_USER_CAPS } else { &[] };
    if let Err(e) = privileges::apply(&spec.privileges, spec.parent, keep) {
        log::error!("cannot drop privileges: {e}");
        return ExitCode::from(1);
    }
    // SAFETY: the supervisor placed our end of the socketpair at this fd before exec, and
    // nothing else in this process owns it.
    let channel = unsafe { OwnedFd::from_raw_fd(CHILD_CHANNEL_FD) };
    let result = match role {
        Role::Worker => hakeeper_worker::run(channel).map_err(|e| e.to_string()),
        Role::Checker => hakeeper_checker::run(channel).map_err(|e| e.to_string()),
        Role::Vrrpd => hakeeper_vrrpd::run(channel).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{} failed: {e}", role.name());
            ExitCode::from(1)
        }
    }
}
