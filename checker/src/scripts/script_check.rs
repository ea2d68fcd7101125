//! One `vrrp_script` with a command: keepalived's schedule (a run every `interval`, skipped while
//! the previous one still runs), its timeout, and its rise/fall counter.

use crate::scripts::run_as::RunAs;
use crate::scripts::script_counter::ScriptCounter;
use crate::scripts::script_process::{Outcome, ScriptProcess};
use hakeeper_common::config::VrrpScript;
use std::time::Duration;

/// keepalived's grace between SIGTERM and SIGKILL for a script past its timeout.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

pub struct ScriptCheck {
    /// Index into `CheckerConfig::scripts`.
    pub index: usize,
    pub name: String,
    pub command: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub counter: ScriptCounter,
    pub running: Option<ScriptProcess>,
    /// Set when `enable_script_security` (or a user missing on this host) refused the script:
    /// it never runs and stays failed.
    pub refused: Option<String>,
    pub run_as: RunAs,
}

impl ScriptCheck {
    pub fn new(index: usize, script: &VrrpScript, command: &str) -> Self {
        ScriptCheck {
            index,
            name: script.name.clone(),
            command: command.to_string(),
            interval: script.interval,
            timeout: script.timeout,
            counter: ScriptCounter::new(script.rise, script.fall),
            running: None,
            refused: None,
            run_as: RunAs::Own,
        }
    }

    /// Counts a finished run; returns the new state when it changed (or was first decided).
    pub fn record(&mut self, outcome: Outcome) -> Option<bool> {
        let change = self.counter.record(outcome.ok());
        match change {
            Some(true) => log::info!("VRRP_Script({}) succeeded", self.name),
            Some(false) => log::warn!("VRRP_Script({}) failed ({})", self.name, outcome.describe()),
            None => log::debug!("VRRP_Script({}) {}", self.name, if outcome.ok() { "succeeded".to_string() } else { outcome.describe() }),
        }
        change
    }

    /// Starts a run unless one is still going. Returns whether a process was started; a script
    /// that cannot be started counts as failed (the caller records it).
    pub fn launch(&mut self) -> Result<bool, std::io::Error> {
        if self.running.is_some() {
            log::debug!("VRRP_Script({}) is still running, skipping this run", self.name);
            return Ok(false);
        }
        self.running = Some(ScriptProcess::spawn(&self.command, &[], self.run_as)?);
        Ok(true)
    }
}
