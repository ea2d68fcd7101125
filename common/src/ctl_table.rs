//! `hakeeper ctl show table [NAME [data.X OP V]]`, `clear table NAME [key K | data.X OP V]`,
//! `set table NAME key K data.X V…`: the requests' arguments and the answer, printed as
//! HAProxy's stats socket prints `show table` (management.txt, "show table"):
//!
//! ```text
//! # table: fe, type: ip, size:1000, used:2
//! 0x1: key=192.0.2.7 use=0 exp=29830 http_req_rate(10000)=8
//! ```
//!
//! (the first column is the entry's slot, where HAProxy prints its address).

use crate::config::stick_table::StickDataType;
use crate::config::tcp::IntOp;
use serde::{Deserialize, Serialize};

/// `data.X OP V`: entries whose value of X compares so with V. HAProxy's ops: eq ne le lt ge gt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFilter {
    pub data: StickDataType,
    /// `None` for `ne`.
    pub op: Option<IntOp>,
    pub value: i64,
}

impl DataFilter {
    pub fn holds(&self, v: i64) -> bool {
        match self.op {
            None => v != self.value,
            Some(IntOp::Eq) => v == self.value,
            Some(IntOp::Le) => v <= self.value,
            Some(IntOp::Lt) => v < self.value,
            Some(IntOp::Ge) => v >= self.value,
            Some(IntOp::Gt) => v > self.value,
        }
    }
}

fn data_name(word: &str) -> Result<StickDataType, String> {
    let name = word.strip_prefix("data.").ok_or_else(|| format!("expected data.TYPE, not {word:?}"))?;
    StickDataType::from_name(name).ok_or_else(|| format!("unknown data type {name:?}"))
}

/// Parses `data.X OP V`.
pub fn parse_filter(words: &[&str]) -> Result<DataFilter, String> {
    let [d, op, v] = words else { return Err("expected data.TYPE OP VALUE (OP: eq ne le lt ge gt)".into()) };
    let op = match *op {
        "eq" => Some(IntOp::Eq),
        "ne" => None,
        "le" => Some(IntOp::Le),
        "lt" => Some(IntOp::Lt),
        "ge" => Some(IntOp::Ge),
        "gt" => Some(IntOp::Gt),
        other => return Err(format!("unknown operator {other:?}: eq ne le lt ge gt")),
    };
    let value = v.parse().map_err(|_| format!("{v:?} is not an integer"))?;
    Ok(DataFilter { data: data_name(d)?, op, value })
}

/// Parses `[data.X V [data.Y W]…]`: none creates (or refreshes) the entry alone, as HAProxy's
/// `set table <table> key <key> [data.<data_type> <value>]*`.
pub fn parse_values(words: &[&str]) -> Result<Vec<(StickDataType, i64)>, String> {
    if !words.len().is_multiple_of(2) {
        return Err("expected data.TYPE VALUE pairs".into());
    }
    words.chunks(2).map(|p| Ok((data_name(p[0])?, p[1].parse().map_err(|_| format!("{:?} is not an integer", p[1]))?))).collect()
}

/// One table as `show table` shows it; `entries` only when the table was named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableView {
    pub name: String,
    /// `ip`, `ipv6`, `integer`, `string`, `binary`.
    pub key_type: String,
    pub size: u32,
    pub used: usize,
    /// Bytes an entry takes at most.
    pub entry_bytes: usize,
    pub entries: Option<Vec<EntryView>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: u32,
    pub key: String,
    /// Sessions tracking it.
    pub used_by: u32,
    /// Milliseconds before it expires (`None`: never).
    pub expire_ms: Option<u32>,
    /// As HAProxy names them: `gpc0`, `http_req_rate(10000)`; a rate as its current value.
    pub data: Vec<(String, i64)>,
}

/// The text HAProxy's `show table` prints.
pub fn render(tables: &[TableView]) -> String {
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("# table: {}, type: {}, size:{}, used:{}\n", t.name, t.key_type, t.size, t.used));
        for e in t.entries.iter().flatten() {
            out.push_str(&format!("0x{:x}: key={} use={} exp={}", e.id, e.key, e.used_by, e.expire_ms.unwrap_or(0)));
            for (name, v) in &e.data {
                out.push_str(&format!(" {name}={v}"));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_values_parse_as_haproxy_writes_them() {
        let f = parse_filter(&["data.http_req_rate", "gt", "10"]).unwrap();
        assert_eq!((f.data, f.holds(11), f.holds(10)), (StickDataType::HttpReqRate, true, false));
        assert!(parse_filter(&["data.gpc0", "ne", "0"]).unwrap().holds(1));
        assert!(parse_filter(&["data.nope", "gt", "1"]).is_err());
        assert!(parse_filter(&["gpc0", "gt", "1"]).is_err());
        assert!(parse_filter(&["data.gpc0", "like", "1"]).is_err());
        assert_eq!(parse_values(&["data.gpt0", "1", "data.gpc0", "5"]).unwrap(), vec![(StickDataType::Gpt0, 1), (StickDataType::Gpc0, 5)]);
        assert!(parse_values(&["data.gpt0"]).is_err());
        assert_eq!(parse_values(&[]), Ok(vec![]), "a key alone");
    }

    #[test]
    fn show_table_prints_haproxys_lines() {
        let t = TableView {
            name: "fe".into(),
            key_type: "ip".into(),
            size: 1000,
            used: 1,
            entry_bytes: 100,
            entries: Some(vec![EntryView {
                id: 1,
                key: "192.0.2.7".into(),
                used_by: 0,
                expire_ms: Some(29830),
                data: vec![("http_req_rate(10000)".into(), 8)],
            }]),
        };
        assert_eq!(render(&[t]), "# table: fe, type: ip, size:1000, used:1\n0x1: key=192.0.2.7 use=0 exp=29830 http_req_rate(10000)=8\n");
    }
}
