//! A notify command line turned into what is exec'd, as keepalived 2.2 prepares notify scripts
//! (lib/notify.c): the line is split into words (quotes and escapes as keepalived), a bare
//! program name is looked up in PATH, the program must be an executable regular file, and under
//! `enable_script_security` no one but root may be able to change it or its directories.
//! keepalived disables a notify script that fails any of this; hakeeper refuses that run.

use crate::scripts::security::script_security_problem;
use hakeeper_common::config::validate::split_command_line;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What to exec: the program's path and every argument after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl NotifyCommand {
    /// The command as a shell would quote it, for log lines.
    pub fn display(&self) -> String {
        let quote = |w: &str| {
            if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "/._-=:,@+%".contains(c)) {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        };
        std::iter::once(quote(&self.program.to_string_lossy())).chain(self.args.iter().map(|a| quote(a))).collect::<Vec<_>>().join(" ")
    }
}

/// `command` split and resolved, with `extra` appended (the generic `notify` gets
/// INSTANCE NAME STATE PRIORITY); the reason it must not run otherwise.
pub fn prepare(command: &str, extra: &[String], script_security: bool) -> Result<NotifyCommand, String> {
    let mut words = split_command_line(command)?;
    let name = words.remove(0);
    let program = resolve(&name)?;
    let meta = program.metadata().map_err(|e| format!("cannot access {}: {e}", program.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", program.display()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("{} is not executable", program.display()));
    }
    if script_security {
        if let Some(why) = script_security_problem(&program) {
            return Err(format!("refused by enable_script_security: {why}"));
        }
    }
    words.extend(extra.iter().cloned());
    Ok(NotifyCommand { program, args: words })
}

/// A name with a slash is a path; a bare name is searched in PATH, as execvp would.
fn resolve(name: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(name))
        .find(|p| executable_file(p))
        .ok_or_else(|| format!("cannot find {name} in PATH"))
}

fn executable_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn words_and_extra_arguments_in_order() {
        let extra = ["INSTANCE", "VI_1", "MASTER", "100"].map(String::from);
        let c = prepare("/bin/echo 'two words' plain", &extra, false).unwrap();
        assert_eq!(c.program, PathBuf::from("/bin/echo"));
        assert_eq!(c.args, ["two words", "plain", "INSTANCE", "VI_1", "MASTER", "100"]);
        assert_eq!(c.display(), "/bin/echo 'two words' plain INSTANCE VI_1 MASTER 100");
    }

    #[test]
    fn bare_names_are_found_in_path() {
        let c = prepare("true", &[], false).unwrap();
        assert!(c.program.is_absolute() && c.program.ends_with("true"), "{c:?}");
        assert!(prepare("hakeeper-no-such-notify", &[], false).unwrap_err().contains("PATH"));
    }

    #[test]
    fn missing_or_non_executable_programs_are_refused() {
        assert!(prepare("/nonexistent/notify.sh", &[], false).unwrap_err().contains("cannot access"));
        assert!(prepare("/etc", &[], false).unwrap_err().contains("not a regular file"));
        let dir = std::env::temp_dir().join(format!("hakeeper-notify-cmd-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let script = dir.join("n.sh");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(prepare(&script.to_string_lossy(), &[], false).unwrap_err().contains("not executable"));
        fs::set_permissions(&script, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(prepare(&script.to_string_lossy(), &[], false).is_ok());
        assert!(prepare(&script.to_string_lossy(), &[], true).unwrap_err().contains("enable_script_security"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsplittable_lines_are_refused() {
        assert!(prepare("/bin/echo 'open", &[], false).unwrap_err().contains("terminating"));
    }
}
