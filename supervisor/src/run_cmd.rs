//! `hakeeper run`: load and check the config, set up logging, bind, detach unless
//! `--foreground`, then supervise until SIGTERM/SIGINT.

use crate::check_cmd::warning_line;
use crate::daemon;
use crate::supervisor::{ConfigSource, Supervisor};
use hakeeper_common::logging::{self, LogSpec};
use std::path::Path;
use std::process::ExitCode;

pub fn main(source: ConfigSource, foreground: bool, pidfile: Option<&Path>) -> ExitCode {
    let loaded = match source.load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}", e.report());
            return ExitCode::from(1);
        }
    };
    for w in &loaded.warnings {
        eprintln!("{}", warning_line(w));
    }
    let spec = LogSpec { config: loaded.config.global.log.clone(), additional: loaded.config.global.additional_logs.clone(), foreground };
    if let Err(e) = logging::init("supervisor", &spec) {
        eprintln!("hakeeper: {e}");
        return ExitCode::from(1);
    }
    // A binary upgrade re-executed this process: it takes over what the previous one handed
    // down, and stays where it is (no second detach, the PID systemd knows).
    let taken = match crate::upgrade::take() {
        Some(Ok(taken)) => Some(taken),
        Some(Err(e)) => {
            log::error!("upgrade: {e}; starting without the previous supervisor's sockets");
            None
        }
        None => None,
    };
    let upgraded = taken.is_some();
    let supervisor = match Supervisor::new(source, loaded.config, foreground, taken) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{e}");
            if !foreground {
                eprintln!("hakeeper: {e}");
            }
            return ExitCode::from(1);
        }
    };
    if !foreground && !upgraded {
        if let Err(e) = daemon::detach() {
            eprintln!("hakeeper: {e}");
            return ExitCode::from(1);
        }
    }
    if let Some(path) = pidfile {
        if let Err(e) = daemon::write_pidfile(path) {
            log::error!("{e}");
            return ExitCode::from(1);
        }
    }
    if upgraded {
        log::info!("hakeeper {} re-executed by a binary upgrade (pid {})", env!("CARGO_PKG_VERSION"), std::process::id());
    } else {
        log::info!("hakeeper {} started (pid {})", env!("CARGO_PKG_VERSION"), std::process::id());
    }
    let result = supervisor.run();
    if let Some(path) = pidfile {
        let _ = std::fs::remove_file(path);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(1)
        }
    }
}
