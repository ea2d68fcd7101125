//! `enable_script_security`, after keepalived's `check_security` (notify.c): a script is refused
//! when its file, or any directory on its path, could be changed by a user other than root.
//!
//! A component is unsafe when it is not owned by root, or when it is group-writable with a
//! non-root group, or world-writable (directories with the sticky bit, like /tmp, are exempt
//! from the write-bit test, as in keepalived). keepalived applies this only to scripts it runs as
//! root; hakeeper applies it to every script, because the user a script will run as is not
//! decided here.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

const S_ISVTX: u32 = 0o1000;
const S_IWGRP: u32 = 0o020;
const S_IWOTH: u32 = 0o002;

/// Why the script at `path` must not run under `enable_script_security`, or `None` when it may.
/// A bare name is looked up in `PATH`, as a shell would.
pub fn script_security_problem(path: &Path) -> Option<String> {
    let path = match resolve(path) {
        Ok(p) => p,
        Err(why) => return Some(why),
    };
    let canonical = match fs::canonicalize(&path) {
        Ok(p) => p,
        Err(e) => return Some(format!("cannot access script {}: {e}", path.display())),
    };
    // The name as configured, with its directories resolved: if the script itself is a symlink,
    // the link must be safe too (whoever can replace it can replace the script).
    let named = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            match fs::canonicalize(dir) {
                Ok(d) => d.join(name),
                Err(e) => return Some(format!("cannot access directory {}: {e}", dir.display())),
            }
        }
        _ => canonical.clone(),
    };
    if let Some(why) = unsafe_component(&named) {
        return Some(format!("script {} is unsafe: {why}", path.display()));
    }
    if canonical != named {
        if let Some(why) = unsafe_component(&canonical) {
            return Some(format!("script {} is unsafe: {why}", path.display()));
        }
    }
    None
}

/// The same for a script command line: its first word is the program.
pub fn command_security_problem(command: &str) -> Option<String> {
    let program = command.split_whitespace().next()?;
    script_security_problem(Path::new(program))
}

fn resolve(path: &Path) -> Result<PathBuf, String> {
    if path.components().count() > 1 || path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .ok_or_else(|| format!("cannot find script {} in PATH", path.display()))
}

/// Walks `/`, then each prefix of the absolute `path`, without following symlinks.
fn unsafe_component(path: &Path) -> Option<String> {
    let mut prefix = PathBuf::new();
    let components: Vec<Component> = path.components().collect();
    for (i, component) in components.iter().enumerate() {
        prefix.push(component.as_os_str());
        let last = i + 1 == components.len();
        let meta = match fs::symlink_metadata(&prefix) {
            Ok(m) => m,
            Err(e) => return Some(format!("cannot stat {}: {e}", prefix.display())),
        };
        let kind = meta.file_type();
        if !last && !kind.is_dir() {
            return Some(format!("{} is not a directory", prefix.display()));
        }
        if last && !(kind.is_file() || kind.is_symlink()) {
            let what = if kind.is_dir() {
                "a directory"
            } else if kind.is_fifo() || kind.is_socket() {
                "a special file"
            } else {
                "not a regular file"
            };
            return Some(format!("{} is {what}", prefix.display()));
        }
        let mode = meta.mode();
        if meta.uid() != 0 {
            return Some(format!("{} is owned by uid {}, not root", display(&prefix), meta.uid()));
        }
        let write_bits_matter = (kind.is_dir() && mode & S_ISVTX == 0) || kind.is_file();
        if write_bits_matter && mode & S_IWOTH != 0 {
            return Some(format!("{} is world-writable", display(&prefix)));
        }
        if write_bits_matter && meta.gid() != 0 && mode & S_IWGRP != 0 {
            return Some(format!("{} is writable by group gid {}", display(&prefix), meta.gid()));
        }
    }
    None
}

fn display(p: &Path) -> String {
    if p.as_os_str() == OsStr::new("/") {
        "/".into()
    } else {
        p.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hakeeper-security-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn system_programs_are_safe() {
        assert_eq!(script_security_problem(Path::new("/bin/sh")), None, "/bin is a symlink to usr/bin on Debian");
        assert_eq!(script_security_problem(Path::new("true")), None, "bare names are found in PATH");
        assert_eq!(command_security_problem("/usr/bin/test -e /etc/passwd"), None);
    }

    #[test]
    fn world_writable_script_is_refused() {
        let dir = temp_dir("ww");
        let script = dir.join("check.sh");
        fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o777)).unwrap();
        let why = script_security_problem(&script).expect("must be refused");
        // As root the temp dir is root's and the file's mode is the problem; otherwise the owner is.
        let expected = if nix::unistd::geteuid().is_root() { "world-writable" } else { "not root" };
        assert!(why.contains(expected), "{why}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writable_directory_or_link_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            // Everything a non-root test can create is owned by a non-root user: covered above.
            return;
        }
        let dir = temp_dir("dir");
        let script = dir.join("check.sh");
        fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(script_security_problem(&script), None);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let why = script_security_problem(&script).expect("a world-writable directory is refused");
        assert!(why.contains("world-writable"), "{why}");
        // The sticky bit (as on /tmp) makes a writable directory acceptable, as in keepalived.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(script_security_problem(&script), None);
        // A safe link to an unsafe file is refused.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let sub = dir.join("open");
        fs::create_dir(&sub).unwrap();
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o777)).unwrap();
        let target = sub.join("real.sh");
        fs::write(&target, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.join("link.sh");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let why = script_security_problem(&link).expect("link to a file in a world-writable directory");
        assert!(why.contains("open is world-writable"), "{why}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_script_is_a_problem() {
        let why = script_security_problem(Path::new("/nonexistent/hakeeper/check.sh")).unwrap();
        assert!(why.contains("cannot access"), "{why}");
        assert!(script_security_problem(Path::new("hakeeper-no-such-program")).unwrap().contains("PATH"));
    }
}
