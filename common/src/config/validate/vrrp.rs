//! `vrrp`: the router id, gratuitous ARP settings, track scripts ([`super::vrrp_script`]),
//! instances ([`super::vrrp_instance`]) and sync groups, as keepalived's `vrrp_*` blocks.

use super::vrrp_instance::instances;
use super::vrrp_script::scripts;
use super::{script_user, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashMap;

/// `hostname`: this host's name, keepalived's default `router_id`.
pub(super) fn vrrp(c: &mut Checker, v: &RawVrrp, backends: &[Backend], hostname: &str) -> Vrrp {
    let garp = garp(c, v.garp.as_ref());
    let (scripts, script_ids) = scripts(c, &v.scripts, backends);
    let (instances, instance_ids) = instances(c, &v.instances, &scripts, &script_ids);
    let sync_groups = sync_groups(c, &v.sync_groups, &instance_ids);
    Vrrp {
        router_id: v.router_id.clone().unwrap_or_else(|| hostname.to_string()),
        script_user: v.script_user.as_deref().map(|u| script_user::resolve(c, "vrrp.script_user", u)),
        enable_script_security: v.enable_script_security,
        garp,
        scripts,
        instances,
        sync_groups,
        announce: None,
    }
}

/// `vrrp.garp`: keepalived's `vrrp_garp_*` settings.
fn garp(c: &mut Checker, g: Option<&RawGarp>) -> Garp {
    let d = Garp::default();
    let Some(g) = g else { return d };
    Garp {
        master_repeat: g.master_repeat.unwrap_or(d.master_repeat),
        master_delay: c.duration("vrrp.garp.master_delay", g.master_delay.as_ref(), d.master_delay),
        master_refresh: c.opt_duration("vrrp.garp.master_refresh", g.master_refresh.as_ref()),
        interval: c.duration("vrrp.garp.interval", g.interval.as_ref(), d.interval),
    }
}

/// `vrrp.sync_groups`: each instance in one group at most.
fn sync_groups(c: &mut Checker, groups: &[RawSyncGroup], instance_ids: &HashMap<&str, usize>) -> Vec<SyncGroup> {
    let mut sync_groups = Vec::new();
    let mut grouped: HashMap<usize, String> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        let p = format!("vrrp.sync_groups[{i}]");
        let mut members = Vec::new();
        for (j, name) in g.instances.iter().enumerate() {
            match instance_ids.get(name.as_str()) {
                Some(&id) => {
                    if let Some(prev) = grouped.insert(id, g.name.clone()) {
                        c.error(format!("{p}.instances[{j}]"), format!("instance {name:?} is already in sync group {prev:?}"));
                    }
                    members.push(id);
                }
                None => c.error(format!("{p}.instances[{j}]"), format!("no instance named {name:?}")),
            }
        }
        sync_groups.push(SyncGroup { name: g.name.clone(), instances: members });
    }
    sync_groups
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use crate::config::parse_raw;

    const CONFIG: &str = r#"(
  listen: [(name: "web", bind: ["*:8080"], servers: [(name: "w1", addr: "192.0.2.1:80")])],
  vrrp: (instances: [(name: "VI_1", interface: "eth1", vrid: 35, priority: 120, vips: ["192.0.2.100"])]),
)"#;

    fn router_id(text: &str) -> String {
        let raw = parse_raw("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
        match validate(&raw, "t.ron".into(), "lb7.example") {
            Ok(v) => v.config.vrrp.router_id,
            Err((errors, _)) => panic!("{errors:?}"),
        }
    }

    /// keepalived's `router_id` defaults to the host name; validation takes it from its caller.
    #[test]
    fn router_id_defaults_to_the_host_name_given() {
        assert_eq!(router_id(CONFIG), "lb7.example");
        assert_eq!(router_id(&CONFIG.replace("vrrp: (", "vrrp: (router_id: \"lb1\", ")), "lb1");
    }
}
