//! The stats page's stick tables: each table's name, key type, size, entries in use and the
//! `peers` section it is shared with, as HAProxy's `show table` summary line gives them
//! (`# table: NAME, type: T, size:N, used:N`), for an operator who reads the page rather than
//! the ctl socket. Read under each table's lock, one table at a time.

use super::html::escape;
use crate::shared::lock;
use crate::stick::Table;
use std::fmt::Write;
use std::sync::Mutex;

/// One table as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickRow {
    pub name: String,
    /// `ip`, `ipv6`, `integer`, `string`, `binary`.
    pub key_type: String,
    pub size: u32,
    pub used: usize,
    /// The `peers` section the table's updates go to, if any.
    pub peers: Option<String>,
}

/// The rows of `tables`, in config order.
pub fn rows(tables: &[Mutex<Table>]) -> Vec<StickRow> {
    tables
        .iter()
        .map(|t| {
            let t = lock(t);
            StickRow {
                name: t.def.name.clone(),
                key_type: t.def.key.name().to_string(),
                size: t.def.size,
                used: t.len(),
                peers: t.def.peers.clone(),
            }
        })
        .collect()
}

/// The section; nothing when no table is configured.
pub fn stick_html(out: &mut String, rows: &[StickRow]) {
    if rows.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"stick-tables\">Stick tables</h2>\n");
    out.push_str(
        "<table class=\"stick\"><tr><th class=\"name\">Table</th><th class=\"name\">Type</th><th>Size</th><th>Used</th>\
<th>Used %</th><th class=\"name\">Peers</th></tr>\n",
    );
    for r in rows {
        let percent = if r.size == 0 { 0 } else { r.used as u64 * 100 / u64::from(r.size) };
        let _ = writeln!(
            out,
            "<tr data-table=\"{0}\" data-used=\"{3}\"><td class=\"name\">{0}</td><td class=\"name\">{1}</td><td>{2}</td><td>{3}</td>\
<td>{percent}</td><td class=\"name\">{4}</td></tr>",
            escape(&r.name),
            escape(&r.key_type),
            r.size,
            r.used,
            r.peers.as_deref().map_or_else(|| "-".to_string(), escape),
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::config::stick_table::{StickKeyType, StickTableDef};
    use hakeeper_common::stick_data::StickKey;

    fn table(name: &str, size: u32, peers: Option<&str>) -> Mutex<Table> {
        Mutex::new(Table::new(StickTableDef {
            name: name.into(),
            key: StickKeyType::Ip,
            size,
            expire: None,
            nopurge: false,
            peers: peers.map(Into::into),
            store: Vec::new(),
        }))
    }

    #[test]
    fn each_table_shows_its_type_size_use_and_peers() {
        let tables = vec![table("fe", 1000, Some("lbs")), table("<be>", 200, None)];
        {
            let mut t = lock(&tables[0]);
            for k in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
                let key = StickKey::parse(k, StickKeyType::Ip).expect("an ip key");
                assert!(t.get_or_create(&key, 0).is_some());
            }
        }
        let mut out = String::new();
        stick_html(&mut out, &rows(&tables));
        assert!(out.contains("<h2 id=\"stick-tables\">Stick tables</h2>"), "{out}");
        assert!(
            out.contains(
                "<tr data-table=\"fe\" data-used=\"3\"><td class=\"name\">fe</td><td class=\"name\">ip</td><td>1000</td><td>3</td>\
<td>0</td><td class=\"name\">lbs</td></tr>"
            ),
            "{out}"
        );
        assert!(
            out.contains("data-table=\"&lt;be&gt;\" data-used=\"0\"")
                && out.contains("<td>200</td><td>0</td><td>0</td><td class=\"name\">-</td>"),
            "{out}"
        );
        let mut none = String::new();
        stick_html(&mut none, &[]);
        assert!(none.is_empty(), "no section without tables");
    }
}
