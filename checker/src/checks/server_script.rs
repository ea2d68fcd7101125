//! A server checked by a command: keepalived's MISC_CHECK (with `misc_dynamic`), HAProxy's
//! external-check. The command runs through `/bin/sh -c` as `script_user`, in a process group of
//! its own, with HAProxy's external-check variables naming the server.

use crate::checks::status::{CheckResult, CheckStatus};
use crate::scripts::run_as::RunAs;
use crate::scripts::script_process::{Outcome, ScriptProcess};
use std::net::SocketAddr;
use std::time::Duration;

/// What a finished run says about the server's weight (only with `dynamic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightVerdict {
    /// Exit 0: the configured weight.
    Configured,
    /// Exit 2..255: code - 2.
    Set(u32),
}

pub struct ServerScript {
    pub command: String,
    /// None: the server's `inter`.
    pub timeout: Option<Duration>,
    pub dynamic: bool,
    pub run_as: RunAs,
    /// Why the command may not run (a user missing on this host, `enable_script_security`):
    /// every check then fails with this reason.
    pub refused: Option<String>,
    env: Vec<(&'static str, String)>,
}

impl ServerScript {
    pub fn new(command: &str, timeout: Option<Duration>, dynamic: bool, backend: &str, server: &str, target: SocketAddr) -> Self {
        let env = vec![
            ("HAPROXY_PROXY_NAME", backend.to_string()),
            ("HAPROXY_SERVER_NAME", server.to_string()),
            ("HAPROXY_SERVER_ADDR", target.ip().to_string()),
            ("HAPROXY_SERVER_PORT", target.port().to_string()),
        ];
        ServerScript { command: command.to_string(), timeout, dynamic, run_as: RunAs::Own, refused: None, env }
    }

    pub fn spawn(&self) -> std::io::Result<ScriptProcess> {
        ScriptProcess::spawn(&self.command, &self.env, self.run_as)
    }

    /// The check's result for a run that ended with `outcome`, and (with `dynamic`) the weight
    /// it asks for. keepalived: 0 passes, 1 fails, 2..255 pass with weight code - 2 under
    /// `misc_dynamic` and fail without it.
    pub fn judge(&self, outcome: Outcome, duration: Duration) -> (CheckResult, Option<WeightVerdict>) {
        let result = |status| CheckResult::new(status, duration);
        match outcome {
            Outcome::Exited(0) => (result(CheckStatus::ProcOk), self.dynamic.then_some(WeightVerdict::Configured)),
            Outcome::Exited(code @ 2..=255) if self.dynamic => {
                let weight = u32::try_from(code - 2).unwrap_or(0);
                (result(CheckStatus::ProcOk).with_code(code.unsigned_abs()), Some(WeightVerdict::Set(weight)))
            }
            Outcome::Exited(code) => (result(CheckStatus::ProcError).with_code(code.unsigned_abs()), None),
            Outcome::TimedOut => (result(CheckStatus::ProcTimeout), None),
            Outcome::Signaled(_) | Outcome::Lost => (result(CheckStatus::ProcError).with_info(outcome.describe()), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dynamic: bool) -> ServerScript {
        ServerScript::new("true", None, dynamic, "app", "s1", "127.0.0.1:80".parse().unwrap())
    }

    #[test]
    fn misc_dynamic_exit_codes() {
        let d = Duration::from_millis(4);
        let s = script(true);
        let (r, w) = s.judge(Outcome::Exited(0), d);
        assert_eq!((r.status, w), (CheckStatus::ProcOk, Some(WeightVerdict::Configured)));
        let (r, w) = s.judge(Outcome::Exited(1), d);
        assert_eq!((r.status, r.code, w), (CheckStatus::ProcError, 1, None));
        let (r, w) = s.judge(Outcome::Exited(2), d);
        assert_eq!((r.status, w), (CheckStatus::ProcOk, Some(WeightVerdict::Set(0))));
        let (r, w) = s.judge(Outcome::Exited(255), d);
        assert_eq!((r.status, r.code, w), (CheckStatus::ProcOk, 255, Some(WeightVerdict::Set(253))));
        assert_eq!(s.judge(Outcome::TimedOut, d).0.status, CheckStatus::ProcTimeout);
        assert_eq!(s.judge(Outcome::Signaled(9), d).0.reason(), "External check error, code: 0, info: \"killed by signal 9\"");
    }

    #[test]
    fn without_misc_dynamic_only_zero_passes() {
        let s = script(false);
        let d = Duration::ZERO;
        assert_eq!(s.judge(Outcome::Exited(0), d), (CheckResult::new(CheckStatus::ProcOk, d), None));
        let (r, w) = s.judge(Outcome::Exited(5), d);
        assert_eq!((r.status, w), (CheckStatus::ProcError, None));
        assert_eq!(r.reason(), "External check error, code: 5");
    }
}
