//! `global_defs { … }` and the gratuitous ARP settings, which keepalived also allows per
//! instance but hakeeper keeps in one global place.

use super::tree::Node;
use super::{words_text, Ctx};
use crate::config::raw::{RawGarp, RawVrrp};
use crate::import::units::{keepalived_seconds, number};

/// Settings of global_defs that apply to the rest of the file.
#[derive(Debug, Default)]
pub struct Globals {
    pub router_id: Option<String>,
    pub script_user: Option<String>,
    pub enable_script_security: bool,
    pub version: Option<u8>,
    /// Gratuitous ARP settings: RawGarp field, value, and where it was set.
    garp: Vec<(&'static str, String, String)>,
}

impl Globals {
    /// Writes the global settings into the VRRP config.
    pub fn apply(self, vrrp: &mut RawVrrp) {
        vrrp.router_id = self.router_id;
        vrrp.script_user = self.script_user;
        vrrp.enable_script_security = self.enable_script_security;
        if self.garp.is_empty() {
            return;
        }
        let mut garp = RawGarp::default();
        for (field, value, _) in self.garp {
            match field {
                "master_repeat" => garp.master_repeat = value.parse().ok(),
                "master_delay" => garp.master_delay = Some(value),
                // keepalived's refresh of 0 is off, as no refresh is in hakeeper.
                "master_refresh" => garp.master_refresh = Some(value).filter(|v| v != "0s"),
                _ => garp.interval = Some(value),
            }
        }
        vrrp.garp = Some(garp);
    }
}

pub fn translate(ctx: &mut Ctx, g: &mut Globals, node: &Node) {
    for n in node.children() {
        let arg = n.arg(0);
        match (n.keyword(), arg) {
            ("router_id" | "lvs_id", Some(id)) => g.router_id = Some(id.to_string()),
            ("script_user", Some(user)) => {
                // `script_user USER GROUP` becomes "USER:GROUP".
                g.script_user = Some(match n.words.get(2) {
                    Some(group) => format!("{user}:{group}"),
                    None => user.to_string(),
                });
                if n.words.len() > 3 {
                    ctx.untranslated(n, format!("extra words after the group in `{}` not translated", n.words.join(" ")));
                }
            }
            ("enable_script_security", None) => g.enable_script_security = true,
            ("vrrp_version", Some(v)) => match v {
                "2" => g.version = Some(2),
                "3" => g.version = Some(3),
                _ => ctx.not_translated(n, ": VRRP version is 2 or 3"),
            },
            (
                "vrrp_garp_master_delay"
                | "vrrp_garp_master_repeat"
                | "vrrp_garp_master_refresh"
                | "vrrp_garp_interval"
                | "vrrp_gna_interval",
                Some(_),
            ) => garp(ctx, g, n, &n.keyword()["vrrp_".len()..], "global_defs"),
            ("vrrp_strict", None) => strict_lint(ctx, n),
            ("vrrp_skip_check_adv_addr", None) => ctx.replaced(
                n,
                "`vrrp_skip_check_adv_addr`: an optimisation that lets keepalived skip re-checking the address list of adverts from \
                 the same master; hakeeper checks every advert, which does not change which host holds the VIP",
            ),
            (
                "notification_email"
                | "notification_email_from"
                | "smtp_server"
                | "smtp_connect_timeout"
                | "smtp_helo_name"
                | "smtp_alert"
                | "smtp_alert_vrrp"
                | "smtp_alert_checker"
                | "email_faults",
                _,
            ) => mail_replaced(ctx, n),
            _ => ctx.not_translated(n, ""),
        }
    }
}

/// keepalived's SMTP alerts: hakeeper sends no mail; every state change it would have mailed
/// about is a syslog event (local1), and notify scripts can send mail where that is wanted.
pub fn mail_replaced(ctx: &mut Ctx, n: &Node) {
    let block = if n.block.is_some() { " { … }" } else { "" };
    ctx.replaced(
        n,
        format!(
            "`{}{block}`: hakeeper sends no e-mail; the VRRP and health-check transitions keepalived mailed about are logged \
             to syslog (local1), and a notify script can mail them",
            words_text(&n.words)
        ),
    );
}

pub fn strict_lint(ctx: &mut Ctx, n: &Node) {
    ctx.lint(
        n,
        format!(
            "`{}` not translated: in keepalived it adds DROP rules for the VIP (no_accept), so services on the VIP become \
             unreachable, and it forbids auth, unicast and preempt_delay; hakeeper serves on the VIP",
            n.keyword()
        ),
    );
}

/// One gratuitous ARP setting, `key` without its `vrrp_` prefix; `owner` says where it was
/// written (global_defs or an instance).
pub fn garp(ctx: &mut Ctx, g: &mut Globals, n: &Node, key: &str, owner: &str) {
    let what = words_text(&n.words);
    let Some(text) = n.arg(0) else {
        ctx.not_translated(n, ": needs a value");
        return;
    };
    let (field, value) = match key {
        "garp_master_repeat" => ("master_repeat", number::<u32>(text, "repeat").map(|v| v.to_string())),
        "garp_master_delay" => ("master_delay", keepalived_seconds(text)),
        "garp_master_refresh" => ("master_refresh", keepalived_seconds(text)),
        // hakeeper spaces ARPs and neighbour advertisements alike.
        "garp_interval" | "gna_interval" => ("interval", keepalived_seconds(text)),
        _ => {
            ctx.not_translated(n, "");
            return;
        }
    };
    let value = match value {
        Ok(v) => v,
        Err(e) => {
            ctx.untranslated(n, format!("`{what}`: {e}; not translated"));
            return;
        }
    };
    if field == "interval" && value == "0s" {
        ctx.lint(
            n,
            format!(
                "`{what}`: keepalived 2.2.8 rejects an interval of 0 as a config error; hakeeper sends the packets of a burst without \
                 spacing (its default), so nothing is set"
            ),
        );
        return;
    }
    if let Some((_, old, first)) = g.garp.iter().find(|(f, ..)| *f == field) {
        if *old != value {
            ctx.untranslated(
                n,
                format!("`{what}` of {owner} not translated: hakeeper's gratuitous ARP settings are global, and {first} already set {old}"),
            );
        }
        return;
    }
    if owner != "global_defs" {
        ctx.replaced(n, format!("`{what}` of {owner}: hakeeper's gratuitous ARP settings are global, so it applies to every instance"));
    }
    g.garp.push((field, value, owner.to_string()));
}
