//! `vrrp_script`, `vrrp_instance` and `vrrp_sync_group`.

use super::global_defs::{self, Globals};
use super::tree::Node;
use super::{words_text, Ctx};
use crate::config::raw::{
    RawBuiltinCheck, RawSyncGroup, RawTrackScript, RawVrrp, RawVrrpAuth, RawVrrpInstance, RawVrrpScript, RawVrrpState,
};
use crate::import::units::{keepalived_seconds, number};
use std::collections::HashMap;
use std::net::IpAddr;

/// What a tracked script does, as far as the importer can tell from its command.
#[derive(Debug, PartialEq, Eq)]
enum ScriptKind {
    /// The seed's `haproxy_check.sh`: stops keepalived when no haproxy process is left.
    StopsKeepalived,
    /// Exits non-zero when no haproxy process runs (`killall -0 haproxy`, `pidof haproxy`, …).
    HaproxyAlive,
    Other,
}

fn script_kind(command: &str) -> ScriptKind {
    let words: Vec<&str> = command.split_whitespace().collect();
    let program = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let Some(first) = words.first().map(|w| program(w)) else { return ScriptKind::Other };
    if first.ends_with("haproxy_check.sh") {
        return ScriptKind::StopsKeepalived;
    }
    let names_haproxy = words.iter().skip(1).any(|w| program(w.trim_matches(['"', '\''])) == "haproxy");
    let process_tool = matches!(first.as_str(), "killall" | "pidof" | "pgrep");
    let service_tool = first == "systemctl" && words.contains(&"is-active");
    if names_haproxy && (process_tool || service_tool) {
        return ScriptKind::HaproxyAlive;
    }
    ScriptKind::Other
}

/// `vrrp_script NAME { … }`; also says whether it is the seed's keepalived-stopping check.
pub fn script(ctx: &mut Ctx, node: &Node) -> Option<(RawVrrpScript, bool)> {
    let Some(name) = node.arg(0) else {
        ctx.not_translated(node, ": a vrrp_script needs a name");
        return None;
    };
    let mut s = RawVrrpScript { name: name.to_string(), ..Default::default() };
    let mut script_node = None;
    for n in node.children() {
        let what = words_text(&n.words);
        let arg = n.arg(0);
        let bad = |ctx: &mut Ctx, e: String| ctx.untranslated(n, format!("`{what}`: {e}; not translated"));
        match (n.keyword(), arg) {
            ("script", Some(_)) => {
                // keepalived takes the rest of the line as the command.
                s.script = Some(command(&n.words[1..]));
                script_node = Some(n);
            }
            ("interval", Some(v)) => match keepalived_seconds(v) {
                Ok(v) => s.interval = Some(v),
                Err(e) => bad(ctx, e),
            },
            ("timeout", Some(v)) => match keepalived_seconds(v) {
                Ok(v) => s.timeout = Some(v),
                Err(e) => bad(ctx, e),
            },
            ("weight", Some(v)) => {
                match number::<i32>(v, "weight") {
                    Ok(v) => s.weight = Some(v),
                    Err(e) => bad(ctx, e),
                }
                if n.words.len() > 2 {
                    ctx.untranslated(n, format!("`{what}`: `{}` not translated", words_text(&n.words[2..])));
                }
            }
            ("rise", Some(v)) => match number(v, "rise") {
                Ok(v) => s.rise = Some(v),
                Err(e) => bad(ctx, e),
            },
            ("fall", Some(v)) => match number(v, "fall") {
                Ok(v) => s.fall = Some(v),
                Err(e) => bad(ctx, e),
            },
            ("user", Some(u)) => {
                // `user USER GROUP` becomes "USER:GROUP".
                s.user = Some(match n.words.get(2) {
                    Some(group) => format!("{u}:{group}"),
                    None => u.to_string(),
                });
                if n.words.len() > 3 {
                    ctx.untranslated(n, format!("extra words after the group in `{}` not translated", n.words.join(" ")));
                }
            }
            _ => ctx.not_translated(n, ""),
        }
    }
    let Some(cmd) = s.script.clone() else {
        ctx.untranslated(node, format!("vrrp_script {name} has no script; not translated"));
        return None;
    };
    let kind = script_kind(&cmd);
    let at = script_node.unwrap_or(node);
    match kind {
        ScriptKind::StopsKeepalived => {
            let weight = s.weight.unwrap_or(0);
            ctx.replaced(
                at,
                format!(
                    "vrrp_script {name}: {cmd:?} (which stops keepalived when no haproxy process is left) is replaced by hakeeper's \
                     built-in proxy health track (builtin: proxy_alive); its weight {weight} becomes 0, so that a dead proxy puts the \
                     instance in FAULT and releases the VIP, as stopping keepalived did"
                ),
            );
            s.weight = Some(0);
        }
        ScriptKind::HaproxyAlive => ctx.replaced(
            at,
            format!("vrrp_script {name}: {cmd:?} is replaced by hakeeper's built-in proxy health track (builtin: proxy_alive)"),
        ),
        ScriptKind::Other => return Some((s, false)),
    }
    s.script = None;
    s.builtin = Some(RawBuiltinCheck::ProxyAlive);
    Some((s, kind == ScriptKind::StopsKeepalived))
}

/// A command written as one quoted word or as several words.
fn command(words: &[String]) -> String {
    match words {
        [one] => one.clone(),
        _ => words_text(words),
    }
}

/// A notify command (`notify_master CMD [USER [GROUP]]`): keepalived 2.2 (`notify_script_init`)
/// takes one word as the command, so a command with arguments must be quoted, and reads the
/// next words as the user and group to run it as.
fn notify_command(ctx: &mut Ctx, n: &Node) -> String {
    if let [keyword, command, user, group @ ..] = n.words.as_slice() {
        let group = group.first().map(|g| format!(" and {g:?} as its group")).unwrap_or_default();
        ctx.untranslated(
            n,
            format!(
                "`{}`: keepalived reads {user:?} as the user to run {command} as{group}, not as an argument (quote the whole \
                 command to pass arguments); the user is not translated: notify scripts run as the checker's user, and \
                 {keyword} runs {command} without arguments",
                words_text(&n.words)
            ),
        );
    }
    n.words[1].clone()
}

/// keepalived ignores track weights on the address owner (priority 255), whose priority never
/// changes: there a weighted track cannot move the VIP, only a failing weight-0 one (FAULT) can.
/// (Whether a weight is too small to change which host wins depends on the peer's priority,
/// which is in another host's file: not decidable here.)
pub fn lint_owner_weights(ctx: &mut Ctx, vrrp: &RawVrrp, nodes: &[&Node]) {
    for (inst, node) in vrrp.instances.iter().zip(nodes) {
        if inst.priority != 255 {
            continue;
        }
        let weight = |t: &RawTrackScript| t.weight.or_else(|| vrrp.scripts.iter().find(|s| s.name == t.script).and_then(|s| s.weight));
        let weighted: Vec<&str> = inst.track.iter().filter(|t| weight(t).unwrap_or(0) != 0).map(|t| t.script.as_str()).collect();
        if weighted.is_empty() {
            continue;
        }
        let at = node.children().iter().find(|n| n.keyword() == "priority").unwrap_or(node);
        ctx.lint(
            at,
            format!(
                "vrrp_instance {}: priority 255 (the address owner) never changes, so the weights of {} are ignored (by \
                 keepalived too); only a weight-0 track that fails (FAULT) moves the VIP",
                inst.name,
                weighted.join(", ")
            ),
        );
    }
}

/// `vrrp_instance NAME { … }`. `replaced` lists scripts that became the built-in check with
/// FAULT semantics (their line), whose per-instance weights no longer apply.
pub fn instance(ctx: &mut Ctx, g: &mut Globals, node: &Node, replaced: &HashMap<String, usize>) -> Option<RawVrrpInstance> {
    let Some(name) = node.arg(0) else {
        ctx.not_translated(node, ": a vrrp_instance needs a name");
        return None;
    };
    let owner = format!("vrrp_instance {name}");
    let mut inst = RawVrrpInstance { name: name.to_string(), priority: 100, version: g.version, ..Default::default() };
    let (mut has_vrid, mut has_interface) = (false, false);
    let mut nopreempt_line: Option<&Node> = None;
    let mut preempt_delay_line: Option<&Node> = None;
    for n in node.children() {
        let what = words_text(&n.words);
        let arg = n.arg(0);
        let bad = |ctx: &mut Ctx, e: String| ctx.untranslated(n, format!("`{what}`: {e}; not translated"));
        match (n.keyword(), arg) {
            ("state", Some("MASTER")) => inst.state = Some(RawVrrpState::Master),
            ("state", Some("BACKUP")) => inst.state = Some(RawVrrpState::Backup),
            ("interface", Some(i)) => {
                inst.interface = i.to_string();
                has_interface = true;
            }
            ("virtual_router_id", Some(v)) => match number(v, "virtual_router_id") {
                Ok(v) => {
                    inst.vrid = v;
                    has_vrid = true;
                }
                Err(e) => bad(ctx, e),
            },
            ("priority", Some(v)) => match number(v, "priority") {
                Ok(v) => inst.priority = v,
                Err(e) => bad(ctx, e),
            },
            ("advert_int", Some(v)) => match keepalived_seconds(v) {
                Ok(v) => inst.advert_int = Some(v),
                Err(e) => bad(ctx, e),
            },
            ("version", Some("2")) => inst.version = Some(2),
            ("version", Some("3")) => inst.version = Some(3),
            ("nopreempt", None) => {
                inst.preempt = Some(false);
                nopreempt_line = Some(n);
            }
            ("preempt", None) => inst.preempt = Some(true),
            ("preempt_delay", Some(v)) => match keepalived_seconds(v) {
                Ok(v) => {
                    inst.preempt_delay = Some(v);
                    preempt_delay_line = Some(n);
                }
                Err(e) => bad(ctx, e),
            },
            ("authentication", None) if n.block.is_some() => inst.auth = authentication(ctx, n),
            ("virtual_ipaddress", None) if n.block.is_some() => {
                for v in n.children() {
                    if let Some(vip) = vip(ctx, v, &inst.interface) {
                        inst.vips.push(vip);
                    }
                }
            }
            ("track_script", None) if n.block.is_some() => {
                for t in n.children() {
                    if let Some(track) = track_script(ctx, t, replaced) {
                        inst.track.push(track);
                    }
                }
            }
            ("track_interface", None) if n.block.is_some() => {
                for t in n.children() {
                    inst.track_interface.push(t.keyword().to_string());
                    if t.words.len() > 1 {
                        ctx.untranslated(
                            t,
                            format!(
                                "`{}`: interface weights are not translated; a tracked interface that goes down means FAULT",
                                words_text(&t.words)
                            ),
                        );
                    }
                }
            }
            ("unicast_src_ip" | "mcast_src_ip", Some(ip)) => inst.unicast_src_ip = Some(ip.to_string()),
            ("unicast_peer", None) if n.block.is_some() => {
                for p in n.children() {
                    inst.unicast_peers.push(p.keyword().to_string());
                    if p.words.len() > 1 {
                        ctx.untranslated(p, format!("unicast peer options `{}` not translated", words_text(&p.words[1..])));
                    }
                }
            }
            ("notify_master", Some(_)) => inst.notify_master = Some(notify_command(ctx, n)),
            ("notify_backup", Some(_)) => inst.notify_backup = Some(notify_command(ctx, n)),
            ("notify_fault", Some(_)) => inst.notify_fault = Some(notify_command(ctx, n)),
            ("notify_stop", Some(_)) => inst.notify_stop = Some(notify_command(ctx, n)),
            ("notify", Some(_)) => inst.notify = Some(notify_command(ctx, n)),
            ("garp_master_delay" | "garp_master_repeat" | "garp_master_refresh" | "garp_interval" | "gna_interval", Some(_)) => {
                global_defs::garp(ctx, g, n, n.keyword(), &owner)
            }
            ("strict_mode", _) => global_defs::strict_lint(ctx, n),
            // keepalived accepts packets to the VIP unless strict; so does a hakeeper host.
            ("accept", None) => {}
            ("skip_check_adv_addr", None) => {
                ctx.replaced(n, "`skip_check_adv_addr`: an optimisation of keepalived's advert checks; hakeeper checks every advert")
            }
            ("smtp_alert", _) => super::global_defs::mail_replaced(ctx, n),
            _ => ctx.not_translated(n, ""),
        }
    }
    if !has_interface {
        ctx.untranslated(node, format!("vrrp_instance {name} has no interface; the imported config will not pass check until one is set"));
    }
    if !has_vrid {
        ctx.untranslated(
            node,
            format!("vrrp_instance {name} has no virtual_router_id; the imported config will not pass check until one is set"),
        );
    }
    // One `unicast_peer` names the only other router: written out as `pair: true` so the reader
    // of the imported config sees the fast takeover on a priority-0 advert (keepalived itself
    // waits Skew_Time, RFC 5798 §6.4.2; the pair has no other backup that timer would favour).
    if inst.unicast_peers.len() == 1 {
        inst.pair = Some(true);
    }
    if inst.state == Some(RawVrrpState::Master) {
        if let Some(n) = nopreempt_line {
            ctx.lint(
                n,
                format!(
                    "nopreempt with state MASTER in vrrp_instance {name}: keepalived ignores nopreempt unless the state is BACKUP \
                     (it warns and clears it), and so does hakeeper; for a VIP that stays where it is, use state BACKUP on every host"
                ),
            );
        }
        if let Some(n) = preempt_delay_line {
            ctx.lint(
                n,
                format!("preempt_delay with state MASTER in vrrp_instance {name}: keepalived ignores it unless the state is BACKUP"),
            );
        }
    }
    Some(inst)
}

fn authentication(ctx: &mut Ctx, node: &Node) -> Option<RawVrrpAuth> {
    let mut kind = None;
    let mut pass = None;
    for n in node.children() {
        match (n.keyword(), n.arg(0)) {
            ("auth_type", Some(t)) => kind = Some((t.to_string(), n)),
            ("auth_pass", Some(p)) => pass = Some(p.to_string()),
            _ => ctx.not_translated(n, ""),
        }
    }
    match (kind, pass) {
        (Some((t, _)), Some(p)) if t == "PASS" => Some(RawVrrpAuth::Pass(p)),
        (Some((t, n)), _) if t != "PASS" => {
            ctx.lossy(
                n,
                format!("auth_type {t} would have authenticated the VRRP adverts of this instance"),
                "hakeeper supports only auth_type PASS: the instance would accept unauthenticated adverts",
            );
            None
        }
        _ => {
            ctx.lossy(
                node,
                "`authentication { … }` would have authenticated the VRRP adverts of this instance",
                "it needs auth_type PASS and auth_pass: the instance would accept unauthenticated adverts",
            );
            None
        }
    }
}

/// One `virtual_ipaddress` line: `ADDR[/LEN] [brd X] [dev IF] [scope S] [label L] …`.
fn vip(ctx: &mut Ctx, n: &Node, interface: &str) -> Option<String> {
    let addr = n.keyword();
    let ip = addr.split_once('/').map(|(ip, _)| ip).unwrap_or(addr);
    if ip.parse::<IpAddr>().is_err() {
        ctx.not_translated(n, ": not an IP address");
        return None;
    }
    if n.words.len() > 1 {
        let on = if interface.is_empty() { String::new() } else { format!(" ({interface})") };
        ctx.untranslated(
            n,
            format!(
                "virtual address options `{}` not translated: hakeeper adds {addr} to the instance's interface{on}",
                words_text(&n.words[1..])
            ),
        );
    }
    Some(addr.to_string())
}

/// One `track_script` line: `NAME [weight W [reverse]]`.
fn track_script(ctx: &mut Ctx, n: &Node, replaced: &HashMap<String, usize>) -> Option<RawTrackScript> {
    let name = n.keyword().to_string();
    let mut t = RawTrackScript { script: name.clone(), weight: None };
    match &n.words[1..] {
        [] => {}
        [kw, w, rest @ ..] if kw == "weight" => {
            match number::<i32>(w, "weight") {
                Ok(w) if replaced.contains_key(&name) => ctx.replaced(
                    n,
                    format!(
                        "weight {w} of the replaced script {name} not used: hakeeper's built-in proxy track puts the instance in FAULT"
                    ),
                ),
                Ok(w) => t.weight = Some(w),
                Err(e) => ctx.untranslated(n, format!("`{}`: {e}; not translated", words_text(&n.words))),
            }
            if !rest.is_empty() {
                ctx.untranslated(n, format!("`{}` not translated", words_text(rest)));
            }
        }
        _ => ctx.untranslated(n, format!("`{}`: expected NAME [weight W]; the weight is not translated", words_text(&n.words))),
    }
    Some(t)
}

/// `vrrp_sync_group NAME { group { I1 I2 … } … }`.
pub fn sync_group(ctx: &mut Ctx, node: &Node) -> Option<RawSyncGroup> {
    let Some(name) = node.arg(0) else {
        ctx.not_translated(node, ": a vrrp_sync_group needs a name");
        return None;
    };
    let mut g = RawSyncGroup { name: name.to_string(), instances: Vec::new() };
    for n in node.children() {
        match n.keyword() {
            "group" if n.block.is_some() => {
                for m in n.children() {
                    g.instances.extend(m.words.iter().cloned());
                }
            }
            _ => ctx.not_translated(n, " (hakeeper's sync groups only move their instances together)"),
        }
    }
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::import::WarningKind;

    #[test]
    fn notify_words_after_the_command_are_keepalived_user_and_group() {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n \
                    notify_master /etc/ka/master.sh keepalived_script\n notify \"/etc/ka/notify.sh 'a b'\"\n}\n";
        let imported = super::super::translate_str("k.conf", text, &Default::default()).unwrap();
        let inst = &imported.config.vrrp.instances[0];
        assert_eq!(inst.notify_master.as_deref(), Some("/etc/ka/master.sh"));
        assert_eq!(inst.notify.as_deref(), Some("/etc/ka/notify.sh 'a b'"));
        let w: Vec<_> = imported.warnings.iter().filter(|w| w.line == 7).collect();
        assert!(w.len() == 1 && w[0].kind == WarningKind::Untranslated && w[0].message.contains("as the user"), "{w:?}");
        let ron = crate::config::to_ron(&imported.config).unwrap();
        let loaded = crate::config::load_str("t.ron", &ron).unwrap_or_else(|e| panic!("{e}\n{ron}"));
        assert_eq!(loaded.config.vrrp.instances[0].notify.as_deref(), Some("/etc/ka/notify.sh 'a b'"));
    }

    #[test]
    fn weights_on_the_address_owner_are_linted() {
        let text = "vrrp_script chk {\n script /bin/true\n weight 10\n}\nvrrp_instance VI_1 {\n interface eth0\n \
                    virtual_router_id 1\n priority 255\n virtual_ipaddress {\n  192.0.2.1\n }\n track_script {\n  chk\n }\n}\n";
        let imported = super::super::translate_str("k.conf", text, &Default::default()).unwrap();
        let lint: Vec<_> = imported.warnings.iter().filter(|w| w.kind == WarningKind::Lint).collect();
        assert!(lint.len() == 1 && lint[0].line == 8 && lint[0].message.contains("weights of chk are ignored"), "{lint:?}");
        let lower = text.replace("priority 255", "priority 254");
        let imported = super::super::translate_str("k.conf", &lower, &Default::default()).unwrap();
        assert!(imported.warnings.iter().all(|w| w.kind != WarningKind::Lint));
    }

    #[test]
    fn script_kinds() {
        assert_eq!(script_kind("/etc/keepalived/haproxy_check.sh"), ScriptKind::StopsKeepalived);
        assert_eq!(script_kind("killall -0 haproxy"), ScriptKind::HaproxyAlive);
        assert_eq!(script_kind("/usr/bin/pidof haproxy"), ScriptKind::HaproxyAlive);
        assert_eq!(script_kind("systemctl is-active --quiet haproxy"), ScriptKind::HaproxyAlive);
        assert_eq!(script_kind("/etc/keepalived/chk_nginx.sh"), ScriptKind::Other);
        assert_eq!(script_kind("killall -0 nginx"), ScriptKind::Other);
        assert_eq!(script_kind(""), ScriptKind::Other);
    }
}
