//! The child side of a fork+exec: `hakeeper __child ROLE SPEC`. The spec says who to become;
//! the child sets up logging (opening /dev/log before a chroot hides it), drops privileges,
//! and only then reads its config from the supervisor and starts work.

use crate::privileges::{self, Privileges};
use hakeeper_common::ipc::CHILD_CHANNEL_FD;
use hakeeper_common::logging::{self, LogSpec};
use serde::{Deserialize, Serialize};
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

pub fn main(role_name: &str, spec_text: &str) -> ExitCode {
    let Some(role) = Role::from_name(role_name) else {
        eprintln!("hakeeper: unknown child role {role_name:?}");
        return ExitCode::from(EXIT_NO_RESTART);
    };
    let spec: ChildSpec = match ron::from_str(spec_text) {
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
