//! `hakeeper check -c FILE`: exit 0 when valid, else 1 with one `FILE:LINE:COL: message` line
//! per problem. Warnings (lints) are printed too but do not fail the check.

use hakeeper_common::config::{self, Diagnostic};
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
                    eprintln!("{}: warning: global.user: user {user:?} does not exist on this host; `hakeeper run` will refuse to start", path.display());
                }
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
