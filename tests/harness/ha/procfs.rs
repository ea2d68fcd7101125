//! What the HA tests read from /proc: process trees, open descriptors and resident memory.

/// The direct children of `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        if parent(child) == Some(pid) {
            out.push(child);
        }
    }
    out.sort();
    out
}

/// The parent PID of `pid` (field 4 of /proc/PID/stat, after the parenthesised command).
pub fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// The command line, arguments joined by spaces.
pub fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
}

pub fn read_pid(path: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Open descriptors and resident memory of a set of processes.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    pub fds: usize,
    pub rss_kib: u64,
    /// (pid, command line, fds, VmRSS kiB) of each process.
    pub processes: Vec<(i32, String, usize, u64)>,
}

pub fn footprint(pids: &[i32]) -> Footprint {
    let mut f = Footprint::default();
    for &pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        let fds = fds.count();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        f.fds += fds;
        f.rss_kib += rss;
        f.processes.push((pid, cmdline(pid), fds, rss));
    }
    f
}
