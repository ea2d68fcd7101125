//! `;json`: HAProxy's typed JSON stats (`show stat json`): one array per row, one object per
//! non-empty field, carrying the field's position and name from the CSV and a typed value.

use super::csv::{fields, COLUMNS};
use super::snapshot::{RowKind, Snapshot};
use serde_json::{json, Value};

const TEXT_COLUMNS: [&str; 9] = ["pxname", "svname", "status", "check_status", "check_desc", "addr", "cookie", "mode", "algo"];

fn obj_type(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Frontend => "Frontend",
        RowKind::Backend => "Backend",
        RowKind::Server => "Server",
    }
}

fn typed(name: &str, v: &str) -> Value {
    match v.parse::<u64>() {
        Ok(n) if !TEXT_COLUMNS.contains(&name) => json!({ "type": "u64", "value": n }),
        _ => json!({ "type": "str", "value": v }),
    }
}

pub fn render(snapshot: &Snapshot) -> String {
    let rows: Vec<Value> = snapshot
        .rows
        .iter()
        .map(|row| {
            let values = fields(row);
            let objects: Vec<Value> = COLUMNS
                .iter()
                .zip(values.iter())
                .enumerate()
                .filter(|(_, (_, v))| !v.is_empty())
                .map(|(pos, (name, v))| {
                    json!({
                        "objType": obj_type(row.kind),
                        "proxyId": row.iid,
                        "id": row.sid,
                        "field": { "pos": pos, "name": name },
                        "processNum": 1,
                        "value": typed(name, v),
                    })
                })
                .collect();
            Value::Array(objects)
        })
        .collect();
    Value::Array(rows).to_string()
}
