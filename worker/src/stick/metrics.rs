//! Stick tables on `/metrics`, with the names of HAProxy's Prometheus exporter
//! (`haproxy_sticktable_size`, `haproxy_sticktable_used`, label `name`), plus hakeeper's
//! `hakeeper_sticktable_entry_bytes` (the most an entry takes, for memory planning).

use super::Table;
use crate::shared::lock;
use std::fmt::Write;
use std::sync::Mutex;

/// The families, appended to the rest of the exposition (nothing when there is no table).
pub fn render(tables: &[Mutex<Table>]) -> String {
    if tables.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, u32, usize, usize)> = tables
        .iter()
        .map(|t| {
            let t = lock(t);
            (t.def.name.replace('\\', "\\\\").replace('"', "\\\""), t.def.size, t.len(), t.entry_bytes())
        })
        .collect();
    let mut out = String::new();
    let families: [(&str, &str, fn(&(String, u32, usize, usize)) -> u64); 3] = [
        ("haproxy_sticktable_size", "Stick table size.", |r| u64::from(r.1)),
        ("haproxy_sticktable_used", "Number of entries used in this stick table.", |r| r.2 as u64),
        ("hakeeper_sticktable_entry_bytes", "Most bytes one entry of this stick table takes.", |r| r.3 as u64),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for r in &rows {
            let _ = writeln!(out, "{name}{{name=\"{}\"}} {}", r.0, value(r));
        }
    }
    out
}
