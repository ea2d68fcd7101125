//! `hakeeper check -c FILE [-L NAME] [--host]`: exit 0 when valid, else 1 with one `FILE:LINE:COL: message`
//! line per problem. Warnings (lints) are printed too but do not fail the check. What this host
//! lacks and `run` would refuse (chroot directory, VRRP interface, user) is a warning, or an
//! error with `--host`.

use hakeeper_common::config::host_check::{self, Host};
use hakeeper_common::config::locate::Locator;
use hakeeper_common::config::{self, Config, Diagnostic, ScriptAction};
use std::path::Path;
use std::process::ExitCode;

pub fn warning_line(d: &Diagnostic) -> String {
    let field = if d.field.is_empty() { String::new() } else { format!("{}: ", d.field) };
    format!("{}:{}:{}: warning: {field}{}", d.file, d.line, d.col, d.message)
}

/// The machine `check` runs on, as `run` would find it.
struct ThisHost;

impl Host for ThisHost {
    fn dir_problem(&self, path: &Path) -> Option<String> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => None,
            Ok(_) => Some("not a directory".into()),
            Err(e) => Some(e.to_string()),
        }
    }

    fn has_interface(&self, name: &str) -> bool {
        nix::net::if_::if_nametoindex(name).is_ok()
    }

    // A failed lookup counts as missing: `run` refuses to start on it too.
    fn user_uid(&self, name: &str) -> Option<u32> {
        nix::unistd::User::from_name(name).ok().flatten().map(|u| u.uid.as_raw())
    }

    fn has_group(&self, name: &str) -> bool {
        matches!(nix::unistd::Group::from_name(name), Ok(Some(_)))
    }
}

pub fn main(path: &Path, localpeer: Option<&str>, host_errors: bool) -> ExitCode {
    match config::load_file_as(path, localpeer) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("{}", warning_line(w));
            }
            let host = host_problems(path, &loaded.config, host_errors);
            let unsafe_scripts = script_security_errors(path, &loaded.config);
            let failed = !unsafe_scripts.is_empty() || (host_errors && !host.is_empty());
            for line in host.into_iter().chain(unsafe_scripts) {
                eprintln!("{line}");
            }
            if failed {
                return ExitCode::from(1);
            }
            println!("Configuration file is valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.report());
            ExitCode::from(1)
        }
    }
}

/// What this host lacks for the config, one `FILE:LINE:COL:` line each: a warning, or an error
/// with `--host`.
fn host_problems(path: &Path, config: &Config, as_errors: bool) -> Vec<String> {
    let findings = host_check::check(config, &ThisHost);
    if findings.is_empty() {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let locator = Locator::new(&text);
    let kind = if as_errors { "" } else { "warning: " };
    findings
        .into_iter()
        .map(|f| {
            let pos = locator.find(&f.path);
            format!("{}:{}:{}: {kind}{}: {}", path.display(), pos.line, pos.col, f.path, f.message)
        })
        .collect()
}

/// Under `enable_script_security`, a script that a non-root user could change is refused, as
/// keepalived does; `check` says so with the position of the offending field.
fn script_security_errors(path: &Path, config: &Config) -> Vec<String> {
    if !config.vrrp.enable_script_security {
        return Vec::new();
    }
    let mut commands: Vec<(String, &str)> = Vec::new();
    for (i, s) in config.vrrp.scripts.iter().enumerate() {
        if let ScriptAction::Command(cmd) = &s.action {
            commands.push((format!("vrrp.scripts[{i}].script"), cmd));
        }
    }
    for (i, inst) in config.vrrp.instances.iter().enumerate() {
        for (field, cmd) in [
            ("notify_master", &inst.notify_master),
            ("notify_backup", &inst.notify_backup),
            ("notify_fault", &inst.notify_fault),
            ("notify_stop", &inst.notify_stop),
            ("notify", &inst.notify),
        ] {
            if let Some(cmd) = cmd {
                commands.push((format!("vrrp.instances[{i}].{field}"), cmd));
            }
        }
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let locator = Locator::new(&text);
    commands
        .into_iter()
        .filter_map(|(field, cmd)| {
            hakeeper_checker::command_security_problem(cmd).map(|why| {
                let pos = locator.find(&field);
                format!("{}:{}:{}: {field}: refused by enable_script_security: {why}", path.display(), pos.line, pos.col)
            })
        })
        .collect()
}
