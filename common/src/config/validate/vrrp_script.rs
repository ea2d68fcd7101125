//! `vrrp.scripts`: keepalived's `vrrp_script` blocks (a command, or a built-in check of this
//! host's proxy), with their interval, timeout, weight, rise, fall and user.

use super::{script_user, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashMap;
use std::time::Duration;

/// The scripts, and their indexes by name for the instances' `track`.
pub(super) fn scripts<'a>(c: &mut Checker, raw: &'a [RawVrrpScript], backends: &[Backend]) -> (Vec<VrrpScript>, HashMap<&'a str, usize>) {
    let mut scripts = Vec::new();
    let mut script_ids: HashMap<&str, usize> = HashMap::new();
    for (i, s) in raw.iter().enumerate() {
        let p = format!("vrrp.scripts[{i}]");
        if s.name.is_empty() {
            c.error(format!("{p}.name"), "a script needs a name");
        } else if script_ids.insert(&s.name, i).is_some() {
            c.error(format!("{p}.name"), format!("duplicate script name {:?}", s.name));
        }
        scripts.push(script(c, &p, s, backends));
    }
    (scripts, script_ids)
}

fn script(c: &mut Checker, p: &str, s: &RawVrrpScript, backends: &[Backend]) -> VrrpScript {
    let action = action(c, p, s, backends);
    let interval = c.duration(&format!("{p}.interval"), s.interval.as_ref(), Duration::from_secs(1));
    let weight = s.weight.unwrap_or(0);
    if !(-253..=253).contains(&weight) {
        c.error(format!("{p}.weight"), format!("weight {weight} out of range -253..253"));
    }
    for (field, value) in [("rise", s.rise), ("fall", s.fall)] {
        if value == Some(0) {
            c.error(format!("{p}.{field}"), format!("{field} must be at least 1"));
        }
    }
    VrrpScript {
        name: s.name.clone(),
        action,
        interval,
        timeout: c.duration(&format!("{p}.timeout"), s.timeout.as_ref(), interval),
        weight,
        rise: s.rise.unwrap_or(1).max(1),
        fall: s.fall.unwrap_or(1).max(1),
        user: s.user.as_deref().map(|u| script_user::resolve(c, &format!("{p}.user"), u)),
    }
}

/// What the script runs: `script` (a command) or `builtin`, exactly one.
fn action(c: &mut Checker, p: &str, s: &RawVrrpScript, backends: &[Backend]) -> ScriptAction {
    match (&s.script, &s.builtin) {
        (Some(cmd), None) if !cmd.trim().is_empty() => ScriptAction::Command(cmd.clone()),
        (None, Some(RawBuiltinCheck::ProxyAlive)) => ScriptAction::Builtin(BuiltinCheck::ProxyAlive),
        (None, Some(RawBuiltinCheck::MinServersUp { backend, servers })) => match backends.iter().position(|b| &b.name == backend) {
            Some(id) => {
                if *servers as usize > backends[id].servers.len() {
                    c.error(
                        format!("{p}.builtin"),
                        format!("backend {backend:?} has only {} servers, fewer than {servers}", backends[id].servers.len()),
                    );
                }
                ScriptAction::Builtin(BuiltinCheck::MinServersUp { backend: id, servers: *servers })
            }
            None => {
                c.error(format!("{p}.builtin"), format!("no backend named {backend:?}"));
                ScriptAction::Builtin(BuiltinCheck::ProxyAlive)
            }
        },
        (Some(_), Some(_)) => {
            c.error(format!("{p}.builtin"), "set either `script` or `builtin`, not both");
            ScriptAction::Builtin(BuiltinCheck::ProxyAlive)
        }
        _ => {
            c.error(format!("{p}.script"), "a script needs `script` (a command) or `builtin`");
            ScriptAction::Builtin(BuiltinCheck::ProxyAlive)
        }
    }
}
