//! `hakeeper check -c FILE`: exit 0 when valid, else 1 with one `FILE:LINE:COL: message` line
//! per problem. Warnings (lints) are printed too but do not fail the check.

use hakeeper_common::config::locate::Locator;
use hakeeper_common::config::{self, Config, Diagnostic, ScriptAction};
use std::path::Path;
use std::process::ExitCode;

pub fn warning_line(d: &Diagnostic) -> String {
    let field = if d.field.is_empty() { String::new() } else { format!("{}: ", d.field) };
    format!("{}:{}:{}: warning: {field}{}", d.file, d.line, d.col, d.message)
}

pub fn main(path: &Path) -> ExitCode {
    match config::load_file(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("{}", warning_line(w));
            }
            let g = &loaded.config.global;
            if let Some(user) = &g.user {
                if matches!(nix::unistd::User::from_name(user), Ok(None)) {
                    eprintln!(
                        "{}: warning: global.user: user {user:?} does not exist on this host; `hakeeper run` will refuse to start",
                        path.display()
                    );
                }
            }
            let unsafe_scripts = script_security_errors(path, &loaded.config);
            if !unsafe_scripts.is_empty() {
                for line in unsafe_scripts {
                    eprintln!("{line}");
                }
                return ExitCode::from(1);
            }
            println!("Configuration file is valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            for line in e.lines() {
                eprintln!("{line}");
            }
            ExitCode::from(1)
        }
    }
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
