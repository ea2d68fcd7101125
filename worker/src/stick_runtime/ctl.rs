//! The worker's answers to `show table`, `clear table` and `set table` (HAProxy's stats socket
//! commands of the same names): read and changed under each table's lock, so the event loops
//! are held only for the time one table takes to walk.

use crate::shared::{lock, Shared};
use crate::stick::table::{Slot, Table};
use hakeeper_common::config::stick_table::{StickDataType, StickStorage};
use hakeeper_common::ctl::{CtlReply, CtlRequest};
use hakeeper_common::ctl_table::{DataFilter, EntryView, TableView};
use hakeeper_common::stick_data::StickKey;

fn find<'a>(shared: &'a Shared, name: &str) -> Result<&'a std::sync::Mutex<Table>, String> {
    shared.tables.iter().find(|t| lock(t).def.name == name).ok_or_else(|| format!("no such table {name:?}"))
}

/// A data value as `show table` prints it (`server_id` signed).
fn value(t: &Table, slot: Slot, d: StickDataType, now: u32) -> Option<i64> {
    if d.storage() == StickStorage::Sint {
        return t.read_sint(slot, d).map(i64::from);
    }
    t.read(slot, d, now).map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn passes(t: &Table, slot: Slot, filter: Option<&DataFilter>, now: u32) -> bool {
    filter.is_none_or(|f| value(t, slot, f.data, now).is_some_and(|v| f.holds(v)))
}

fn view(t: &mut Table, entries: bool, filter: Option<&DataFilter>, now: u32) -> TableView {
    t.purge(now);
    let entries = entries.then(|| {
        t.slots()
            .into_iter()
            .filter(|&s| passes(t, s, filter, now))
            .map(|s| EntryView {
                id: s,
                key: t.key(s).to_string(),
                used_by: t.refs(s),
                expire_ms: t.expire_in(s, now),
                data: t
                    .def
                    .store
                    .iter()
                    .filter_map(|st| {
                        let name = if st.data.is_rate() {
                            format!("{}({})", st.data.name(), t.period(st.data))
                        } else {
                            st.data.name().to_string()
                        };
                        Some((name, value(t, s, st.data, now)?))
                    })
                    .collect(),
            })
            .collect()
    });
    TableView {
        name: t.def.name.clone(),
        key_type: t.def.key.name().into(),
        size: t.def.size,
        used: t.len(),
        entry_bytes: t.entry_bytes(),
        entries,
    }
}

/// Answers a table request; `None` for the other requests.
pub fn answer(shared: &Shared, request: &CtlRequest) -> Option<CtlReply> {
    let now = crate::stick::now_ms();
    let reply = match request {
        CtlRequest::ShowTable { name: None, .. } => {
            CtlReply::Tables(shared.tables.iter().map(|t| view(&mut lock(t), false, None, now)).collect())
        }
        CtlRequest::ShowTable { name: Some(name), filter } => match find(shared, name) {
            Ok(t) => CtlReply::Tables(vec![view(&mut lock(t), true, filter.as_ref(), now)]),
            Err(e) => CtlReply::Error(e),
        },
        CtlRequest::ClearTable { name, key, filter } => match find(shared, name) {
            Err(e) => CtlReply::Error(e),
            Ok(t) => {
                let mut t = lock(t);
                match key {
                    Some(k) => match StickKey::parse(k, t.def.key) {
                        None => CtlReply::Error(format!("{k:?} is not a key of table {name} (type {})", t.def.key.name())),
                        Some(k) if t.remove(&k) => CtlReply::Done(format!("removed key {k} from table {name}")),
                        Some(k) => CtlReply::Done(format!("table {name}: no entry {k} that no session tracks")),
                    },
                    None => {
                        let n = t.remove_where(|t, s| passes(t, s, filter.as_ref(), now));
                        CtlReply::Done(format!("removed {n} entries from table {name}"))
                    }
                }
            }
        },
        CtlRequest::SetTable { name, key, values } => match find(shared, name) {
            Err(e) => CtlReply::Error(e),
            Ok(t) => {
                let mut t = lock(t);
                let Some(k) = StickKey::parse(key, t.def.key) else {
                    return Some(CtlReply::Error(format!("{key:?} is not a key of table {name} (type {})", t.def.key.name())));
                };
                if let Some((d, _)) = values.iter().find(|(d, _)| !t.stores(*d)) {
                    return Some(CtlReply::Error(format!("table {name} does not store {}", d.name())));
                }
                let Some(slot) = t.get_or_create(&k, now) else { return Some(CtlReply::Error(format!("table {name} is full"))) };
                for (d, v) in values {
                    t.set(slot, *d, *v, now);
                }
                t.touch_local(slot, now);
                CtlReply::Done(format!("table {name}: key {k} set"))
            }
        },
        _ => return None,
    };
    Some(reply)
}
