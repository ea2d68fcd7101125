//! Stick tables on `/metrics`, with the names of HAProxy's Prometheus exporter
//! (`haproxy_sticktable_size`, `haproxy_sticktable_used`, label `name`), plus hakeeper's
//! `hakeeper_sticktable_entry_bytes` (the most an entry takes, for memory planning).

use crate::shared::lock;
use crate::stick::Table;
use std::fmt::Write;
use std::sync::Mutex;

/// One table's figures; `name` escaped as a label value.
struct Row {
    name: String,
    size: u32,
    used: usize,
    entry_bytes: usize,
}

/// A metric: name, help, and how a row gives its value.
type Family = (&'static str, &'static str, fn(&Row) -> u64);

/// The families, appended to the rest of the exposition (nothing when there is no table).
pub fn render(tables: &[Mutex<Table>]) -> String {
    if tables.is_empty() {
        return String::new();
    }
    let rows: Vec<Row> = tables
        .iter()
        .map(|t| {
            let t = lock(t);
            Row {
                name: t.def.name.replace('\\', "\\\\").replace('"', "\\\""),
                size: t.def.size,
                used: t.len(),
                entry_bytes: t.entry_bytes(),
            }
        })
        .collect();
    let mut out = String::new();
    let families: [Family; 3] = [
        ("haproxy_sticktable_size", "Stick table size.", |r| u64::from(r.size)),
        ("haproxy_sticktable_used", "Number of entries used in this stick table.", |r| r.used as u64),
        ("hakeeper_sticktable_entry_bytes", "Most bytes one entry of this stick table takes.", |r| r.entry_bytes as u64),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for r in &rows {
            let _ = writeln!(out, "{name}{{name=\"{}\"}} {}", r.name, value(r));
        }
    }
    out
}
