//! `vrrp.instances`: keepalived's `vrrp_instance` blocks: interface, VRID, priority, protocol
//! version and advert interval, virtual addresses, authentication, preemption, tracked scripts,
//! unicast peers and the options of [`super::vrrp_options`].

use super::{parse_vip, vrrp_options, Checker};
use crate::config::model::*;
use crate::config::raw::*;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// Who already has a VRID: (interface, VRID, IPv6) to the instance's name.
type Vrids = HashMap<(String, u32, bool), String>;

/// The instances, and their indexes by name for the sync groups.
pub(super) fn instances<'a>(
    c: &mut Checker,
    raw: &'a [RawVrrpInstance],
    scripts: &[VrrpScript],
    script_ids: &HashMap<&str, usize>,
) -> (Vec<VrrpInstance>, HashMap<&'a str, usize>) {
    let mut instances = Vec::new();
    let mut instance_ids: HashMap<&str, usize> = HashMap::new();
    let mut vrids = Vrids::new();
    for (i, inst) in raw.iter().enumerate() {
        let p = format!("vrrp.instances[{i}]");
        if inst.name.is_empty() {
            c.error(format!("{p}.name"), "an instance needs a name");
        } else if instance_ids.insert(&inst.name, i).is_some() {
            c.error(format!("{p}.name"), format!("duplicate instance name {:?}", inst.name));
        }
        instances.push(instance(c, &p, inst, scripts, script_ids, &mut vrids));
    }
    (instances, instance_ids)
}

fn instance(
    c: &mut Checker,
    p: &str,
    inst: &RawVrrpInstance,
    scripts: &[VrrpScript],
    script_ids: &HashMap<&str, usize>,
    vrids: &mut Vrids,
) -> VrrpInstance {
    if inst.interface.is_empty() {
        c.error(format!("{p}.interface"), "an instance needs an interface");
    }
    if !(1..=255).contains(&inst.vrid) {
        c.error(format!("{p}.vrid"), format!("vrid {} out of range 1..255", inst.vrid));
    }
    if !(1..=255).contains(&inst.priority) {
        c.error(format!("{p}.priority"), format!("priority {} out of range 1..255", inst.priority));
    }
    let version = inst.version.unwrap_or(2);
    if version != 2 && version != 3 {
        c.error(format!("{p}.version"), format!("VRRP version {version} is not 2 or 3"));
    }
    let advert_int = advert_int(c, p, inst, version);
    let (vips, v6) = vips(c, p, inst, version);
    if let Some(prev) = vrids.insert((inst.interface.clone(), inst.vrid, v6), inst.name.clone()) {
        c.error(format!("{p}.vrid"), format!("duplicate VRID {} on interface {} (also instance {prev:?})", inst.vrid, inst.interface));
    }
    let auth = auth(c, p, inst, version);
    let (initial_state, preempt) = preempt(c, p, inst);
    let track = track(c, p, inst, scripts, script_ids);
    let unicast_src_ip = inst.unicast_src_ip.as_ref().and_then(|t| parse_ip(c, format!("{p}.unicast_src_ip"), t));
    let unicast_peers =
        inst.unicast_peers.iter().enumerate().filter_map(|(j, t)| parse_ip(c, format!("{p}.unicast_peers[{j}]"), t)).collect();
    vrrp_options::notify_commands(c, p, inst);
    let proxy_down = vrrp_options::proxy_down(c, p, inst);
    let v3_checksum_pseudo_header = vrrp_options::pseudo_header(c, p, inst, version, v6);
    let pair = vrrp_options::pair(c, p, inst);
    VrrpInstance {
        name: inst.name.clone(),
        interface: inst.interface.clone(),
        vrid: inst.vrid.clamp(1, 255) as u8,
        priority: inst.priority.clamp(1, 255) as u8,
        initial_state,
        version,
        preempt,
        preempt_delay: c.duration(&format!("{p}.preempt_delay"), inst.preempt_delay.as_ref(), Duration::ZERO),
        advert_int,
        auth,
        vips,
        track,
        track_interface: inst.track_interface.clone(),
        unicast_src_ip,
        unicast_peers,
        notify_master: inst.notify_master.clone(),
        notify_backup: inst.notify_backup.clone(),
        notify_fault: inst.notify_fault.clone(),
        notify_stop: inst.notify_stop.clone(),
        notify: inst.notify.clone(),
        proxy_down,
        v3_checksum_pseudo_header,
        pair,
    }
}

/// `advert_int`: whole seconds in VRRPv2 (RFC 3768), centiseconds in VRRPv3 (RFC 5798).
fn advert_int(c: &mut Checker, p: &str, inst: &RawVrrpInstance, version: u8) -> Duration {
    let advert_int = c.duration(&format!("{p}.advert_int"), inst.advert_int.as_ref(), Duration::from_secs(1));
    if version == 2 && (advert_int.subsec_nanos() != 0 || advert_int.as_secs() == 0 || advert_int.as_secs() > 255) {
        c.error(format!("{p}.advert_int"), "VRRPv2 adverts are whole seconds from 1s to 255s");
    }
    if version == 3
        && (advert_int < Duration::from_millis(10)
            || advert_int > Duration::from_millis(40_950)
            || !advert_int.as_millis().is_multiple_of(10))
    {
        c.error(format!("{p}.advert_int"), "VRRPv3 adverts are centiseconds from 10ms to 40.95s");
    }
    advert_int
}

/// `vips`: at least one, all of one family; IPv6 needs VRRPv3. Also whether they are IPv6.
fn vips(c: &mut Checker, p: &str, inst: &RawVrrpInstance, version: u8) -> (Vec<VipAddr>, bool) {
    let mut vips = Vec::new();
    if inst.vips.is_empty() {
        c.error(format!("{p}.vips"), "an instance needs at least one virtual address");
    }
    for (j, text) in inst.vips.iter().enumerate() {
        match parse_vip(text) {
            Ok(vip) => vips.push(vip),
            Err(e) => c.error(format!("{p}.vips[{j}]"), e),
        }
    }
    let v6 = vips.first().map(|a| a.addr.is_ipv6()).unwrap_or(false);
    if vips.iter().any(|a| a.addr.is_ipv6() != v6) {
        c.error(format!("{p}.vips"), "IPv4 and IPv6 virtual addresses cannot share an instance");
    }
    if v6 && version == 2 {
        c.error(format!("{p}.version"), "IPv6 virtual addresses need VRRP version 3");
    }
    (vips, v6)
}

/// `auth`: keepalived's `authentication { auth_type PASS }`, 8 characters at most.
fn auth(c: &mut Checker, p: &str, inst: &RawVrrpInstance, version: u8) -> VrrpAuth {
    match &inst.auth {
        None | Some(RawVrrpAuth::None) => VrrpAuth::None,
        Some(RawVrrpAuth::Pass(pw)) => {
            if pw.is_empty() {
                c.error(format!("{p}.auth"), "empty password");
            }
            if pw.len() > 8 {
                c.warn(format!("{p}.auth"), "password longer than 8 characters: only the first 8 are used, as keepalived does");
            }
            if version == 3 {
                c.warn(format!("{p}.auth"), "VRRPv3 has no authentication; the password is ignored, as keepalived does");
            }
            VrrpAuth::Pass(pw.chars().take(8).collect())
        }
    }
}

/// `state` and `preempt`: nopreempt with state MASTER is ignored, as keepalived ignores it.
fn preempt(c: &mut Checker, p: &str, inst: &RawVrrpInstance) -> (InitialState, bool) {
    let initial_state = match inst.state {
        Some(RawVrrpState::Master) => InitialState::Master,
        _ => InitialState::Backup,
    };
    let mut preempt = inst.preempt.unwrap_or(true);
    if !preempt && initial_state == InitialState::Master {
        c.warn(format!("{p}.preempt"), "nopreempt needs state BACKUP; with state MASTER keepalived ignores it, and so does hakeeper");
        preempt = true;
    }
    (initial_state, preempt)
}

/// `track`: keepalived's `track_script`, each naming a script, with the script's weight unless
/// the instance gives its own.
fn track(c: &mut Checker, p: &str, inst: &RawVrrpInstance, scripts: &[VrrpScript], script_ids: &HashMap<&str, usize>) -> Vec<TrackScript> {
    let mut track = Vec::new();
    for (j, t) in inst.track.iter().enumerate() {
        match script_ids.get(t.script.as_str()) {
            Some(&id) => {
                let weight = t.weight.unwrap_or(scripts.get(id).map(|s| s.weight).unwrap_or(0));
                if !(-253..=253).contains(&weight) {
                    c.error(format!("{p}.track[{j}].weight"), format!("weight {weight} out of range -253..253"));
                }
                track.push(TrackScript { script: id, weight });
            }
            None => c.error(format!("{p}.track[{j}].script"), format!("no script named {:?}", t.script)),
        }
    }
    track
}

fn parse_ip(c: &mut Checker, path: String, text: &str) -> Option<IpAddr> {
    match text.parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            c.error(path, format!("invalid IP address {text:?}"));
            None
        }
    }
}
