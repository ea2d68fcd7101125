//! What installing hakeeper may leave on the machine: every path that names hakeeper, the systemd
//! enablement state, and the user and group. Taken before `dpkg -i` and after `dpkg --purge`, the
//! two snapshots must be equal.

use std::collections::BTreeSet;
use std::path::Path;

/// Trees walked; package databases and caches are skipped (dpkg and man-db own those).
const ROOTS: [&str; 5] = ["/etc", "/usr", "/var/lib", "/var/log", "/run/systemd"];
const SKIPPED: [&str; 4] = ["/var/lib/dpkg", "/var/lib/apt", "/var/lib/ucf", "/usr/lib/debug"];
/// Paths that count whatever their name: enablement symlinks, deb-systemd-helper's state, and the
/// stamp that `systemd-analyze verify` leaves when systemd is not running.
const WATCHED: [&str; 4] = [
    "/etc/systemd/system",
    "/var/lib/systemd/deb-systemd-helper-enabled",
    "/var/lib/systemd/deb-systemd-helper-masked",
    "/run/systemd/systemd-units-load",
];

#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub paths: BTreeSet<String>,
    pub user: bool,
    pub group: bool,
}

impl Snapshot {
    pub fn take() -> Snapshot {
        let mut paths = BTreeSet::new();
        for root in ROOTS {
            walk(Path::new(root), &mut paths);
        }
        Snapshot { paths, user: nix::unistd::User::from_name("hakeeper").ok().flatten().is_some(), group: group_exists() }
    }

    /// One line per difference, `+` for what `after` has and `self` has not.
    pub fn diff(&self, after: &Snapshot) -> Vec<String> {
        let mut out: Vec<String> = after.paths.difference(&self.paths).map(|p| format!("+ {p}")).collect();
        out.extend(self.paths.difference(&after.paths).map(|p| format!("- {p}")));
        if self.user != after.user {
            out.push(format!("user hakeeper: {} -> {}", self.user, after.user));
        }
        if self.group != after.group {
            out.push(format!("group hakeeper: {} -> {}", self.group, after.group));
        }
        out
    }
}

fn group_exists() -> bool {
    nix::unistd::Group::from_name("hakeeper").ok().flatten().is_some()
}

fn walk(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let text = path.to_string_lossy().into_owned();
        if SKIPPED.iter().any(|s| text == *s) {
            continue;
        }
        if text.contains("hakeeper") || WATCHED.iter().any(|w| text.starts_with(w)) {
            out.insert(text);
        }
        // file_type() does not follow symlinks, so a link to a directory is not walked.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, out);
        }
    }
}
