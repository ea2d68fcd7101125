//! Applies a [`Transaction`] with `nft -f -` (the script on stdin: one netlink batch, applied
//! whole or not at all), reads the real servers' counters, and removes the owned tables.
//!
//! Why `nft` rather than a netlink crate: `rustables` has no numgen, jhash, dynamic-set update
//! nor `fwd` expressions; `nftnl` binds the C libnftnl (a build dependency, and rules still
//! assembled expression by expression); the `nftables` crate only wraps this same `nft -j`
//! executable. The text script keeps the rules readable in tests and in `nft list ruleset`.

use super::ruleset::{Carried, MapEntry, OwnedTable, Transaction};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `nft` run may take before it is killed.
const NFT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot run {command}: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("{command} failed ({status}): {stderr}")]
    Failed { command: String, status: String, stderr: String },
    #[error("{command} did not finish within {NFT_TIMEOUT:?}; killed")]
    Timeout { command: String },
    #[error("{command}: unexpected output: {reason}")]
    Output { command: String, reason: String },
}

/// A real server's counters (both directions of its connections for NAT; frames forwarded
/// to it for DR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsCounter {
    pub service: String,
    pub server: String,
    pub packets: u64,
    pub bytes: u64,
}

/// Runs `nft` (or a command that ends with it, e.g. `ip netns exec NS nft`).
#[derive(Debug, Clone)]
pub struct Applier {
    command: Vec<String>,
}

impl Default for Applier {
    fn default() -> Self {
        Applier { command: vec!["nft".into()] }
    }
}

impl Applier {
    /// `command`: the program and its leading arguments, e.g. `["ip", "netns", "exec", "lb", "nft"]`.
    pub fn with_command(command: Vec<String>) -> Applier {
        Applier { command }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, ApplyError> {
        let text = format!("{} {}", self.command.join(" "), args.join(" "));
        let Some((program, lead)) = self.command.split_first() else {
            return Err(ApplyError::Spawn { command: text, source: std::io::Error::other("empty command") });
        };
        let mut child = Command::new(program)
            .args(lead)
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ApplyError::Spawn { command: text.clone(), source })?;
        // Both pipes are drained while nft runs: a listing larger than the pipe's buffer (64 KiB;
        // a DR flow map under load holds tens of thousands of entries) would otherwise block nft
        // on its write until the timeout killed it.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let written = match (stdin, child.stdin.take()) {
            // Dropping the pipe after the write closes nft's stdin.
            (Some(input), Some(mut pipe)) => pipe.write_all(input.as_bytes()),
            _ => Ok(()),
        };
        let deadline = Instant::now() + NFT_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Not joined: a grandchild may still hold the pipes; the readers end
                    // with it.
                    return Err(ApplyError::Timeout { command: text });
                }
                Err(source) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ApplyError::Spawn { command: text, source });
                }
            }
        };
        let (out, err) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
        if !status.success() {
            return Err(ApplyError::Failed {
                command: text,
                status: status.to_string(),
                stderr: String::from_utf8_lossy(&err).trim().to_string(),
            });
        }
        // nft exited 0 but did not take the whole script: it cannot have applied it.
        written.map_err(|source| ApplyError::Spawn { command: text.clone(), source })?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Runs the command with `args`; its standard output.
    pub fn output(&self, args: &[&str]) -> Result<String, ApplyError> {
        self.run(args, None)
    }

    fn json(&self, args: &[&str]) -> Result<Vec<serde_json::Value>, ApplyError> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let text = self.run(&all, None)?;
        let command = format!("{} {}", self.command.join(" "), all.join(" "));
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ApplyError::Output { command: command.clone(), reason: e.to_string() })?;
        match v.get("nftables").and_then(|n| n.as_array()) {
            Some(items) => Ok(items.clone()),
            None => Err(ApplyError::Output { command, reason: "no `nftables` array".into() }),
        }
    }

    /// The hakeeper-owned tables present now (a killed run's included).
    pub fn owned_tables(&self) -> Result<Vec<OwnedTable>, ApplyError> {
        Ok(self
            .json(&["list", "tables"])?
            .iter()
            .filter_map(|item| item.get("table"))
            .filter_map(|t| Some((t.get("family")?.as_str()?, t.get("name")?.as_str()?)))
            .filter(|(family, name)| OwnedTable::is_owned(family, name))
            .map(|(family, name)| OwnedTable { family: family.into(), name: name.into() })
            .collect())
    }

    /// Every named counter of the given tables, and with `maps` every dynamic map entry.
    /// Without, only the counters are listed: a DR flow map under load holds tens of thousands
    /// of entries, which the periodic counter read has no use for.
    fn table_state(&self, tables: &[OwnedTable], maps: bool) -> Result<Carried, ApplyError> {
        let mut out = Carried::default();
        for t in tables {
            let what = if maps { "table" } else { "counters" };
            let listed = if maps {
                self.json(&["list", what, &t.family, &t.name])?
            } else {
                self.json(&["list", what, "table", &t.family, &t.name])?
            };
            for item in listed {
                if let Some(c) = item.get("counter") {
                    let (Some(name), Some(p), Some(b)) = (
                        c.get("name").and_then(|v| v.as_str()),
                        c.get("packets").and_then(|v| v.as_u64()),
                        c.get("bytes").and_then(|v| v.as_u64()),
                    ) else {
                        continue;
                    };
                    out.counters.insert((t.clone(), name.to_string()), (p, b));
                } else if let Some(m) = item.get("map") {
                    let Some(name) = m.get("name").and_then(|v| v.as_str()) else { continue };
                    let entries =
                        m.get("elem").and_then(|e| e.as_array()).map(|e| e.iter().filter_map(map_entry).collect()).unwrap_or_default();
                    out.entries.insert((t.clone(), name.to_string()), entries);
                }
            }
        }
        Ok(out)
    }

    /// Replaces every owned table by the transaction's, atomically; counters of real servers
    /// that stay are carried over.
    pub fn apply(&self, tx: &Transaction) -> Result<(), ApplyError> {
        let existing = self.owned_tables()?;
        let carried = self.table_state(&existing, true)?;
        let script = tx.render(&existing, &carried);
        self.run(&["-f", "-"], Some(&script)).map(|_| ())
    }

    /// The real servers' counters, as the transaction names them.
    pub fn counters(&self, tx: &Transaction) -> Result<Vec<RsCounter>, ApplyError> {
        let tables: Vec<OwnedTable> = tx.tables.iter().map(|t| t.table.clone()).collect();
        let values = self.table_state(&tables, false)?.counters;
        Ok(tx
            .counters
            .iter()
            .map(|c| {
                let (packets, bytes) = values.get(&(c.table.clone(), c.counter.clone())).copied().unwrap_or((0, 0));
                RsCounter { service: c.service.clone(), server: c.server.clone(), packets, bytes }
            })
            .collect())
    }

    /// Removes every owned table (on stop), in one transaction.
    pub fn remove(&self) -> Result<(), ApplyError> {
        let existing = self.owned_tables()?;
        if existing.is_empty() {
            return Ok(());
        }
        let script = Transaction::default().render(&existing, &Carried::default());
        self.run(&["-f", "-"], Some(&script)).map(|_| ())
    }
}

/// Reads `pipe` to its end on a thread of its own; the bytes read.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// nft's JSON for a key or value: `"10.0.0.1"`, `80`, `{"concat": ["192.0.2.11", 80]}`, as
/// its text syntax writes it.
fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Object(o) => {
            let parts = o.get("concat")?.as_array()?;
            let texts: Option<Vec<String>> = parts.iter().map(json_text).collect();
            Some(texts?.join(" . "))
        }
        _ => None,
    }
}

/// One `[{"elem": {"val": KEY, "expires": N}}, VALUE]` of a map's `elem` list.
fn map_entry(v: &serde_json::Value) -> Option<MapEntry> {
    let pair = v.as_array()?;
    let (elem, value) = (pair.first()?, pair.get(1)?);
    let inner = elem.get("elem")?;
    Some(MapEntry { key: json_text(inner.get("val")?)?, value: json_text(value)?, expires: inner.get("expires")?.as_u64()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_entries_are_read_from_nft_json() {
        let persist: serde_json::Value =
            serde_json::from_str(r#"[{"elem": {"val": "10.0.0.0", "expires": 99}}, {"concat": ["192.0.2.11", 80]}]"#).unwrap();
        assert_eq!(map_entry(&persist), Some(MapEntry { key: "10.0.0.0".into(), value: "192.0.2.11 . 80".into(), expires: 99 }));
        let flow: serde_json::Value =
            serde_json::from_str(r#"[{"elem": {"val": {"concat": ["10.0.0.1", 4000]}, "expires": 49}}, "02:00:00:00:00:0b"]"#).unwrap();
        assert_eq!(map_entry(&flow), Some(MapEntry { key: "10.0.0.1 . 4000".into(), value: "02:00:00:00:00:0b".into(), expires: 49 }));
        let odd: serde_json::Value = serde_json::from_str(r#"[{"elem": {"val": [1]}}, true]"#).unwrap();
        assert_eq!(map_entry(&odd), None);
    }

    fn sh(script: &str) -> Applier {
        Applier::with_command(vec!["sh".into(), "-c".into(), script.into(), "sh".into()])
    }

    #[test]
    fn a_listing_larger_than_a_pipe_buffer_is_read_whole_and_in_time() {
        // A DR flow map under load lists megabytes; nft must not block on a full pipe.
        let started = Instant::now();
        let out = sh("head -c 1000000 /dev/zero | tr '\\0' x").output(&[]).unwrap();
        assert_eq!(out.len(), 1_000_000);
        assert!(out.bytes().all(|b| b == b'x'));
        assert!(started.elapsed() < NFT_TIMEOUT / 2, "took {:?}", started.elapsed());
    }

    #[test]
    fn a_large_script_in_and_a_large_answer_out_do_not_deadlock() {
        let script: String = (0..40_000).map(|i| format!("add element ip t m {{ 10.0.{}.{} }}\n", i / 256 % 256, i % 256)).collect();
        assert!(script.len() > 1 << 20);
        let out = Applier::with_command(vec!["cat".into()]).run(&[], Some(&script)).unwrap();
        assert_eq!(out, script);
    }

    #[test]
    fn a_failure_with_a_large_stderr_reports_it() {
        let err = sh("head -c 300000 /dev/zero | tr '\\0' e >&2; exit 3").output(&[]).unwrap_err();
        match err {
            ApplyError::Failed { status, stderr, .. } => {
                assert!(status.contains('3'), "{status}");
                assert_eq!(stderr.len(), 300_000);
            }
            other => panic!("{other}"),
        }
    }
}
