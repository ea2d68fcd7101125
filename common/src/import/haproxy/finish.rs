//! What can only be decided once the whole haproxy.cfg is read: which defaults section each proxy
//! uses, which section is the stats page, the rules that refer to other lines, and the lints.

use super::global::GlobalState;
use super::section::{directive, Kind, Section};
use super::userlist::{stats_users, Userlist};
use super::{check, http_finish, lossy, Ctx};
use crate::config::raw::{RawConfig, RawProxy, RawStats, RawStatsTimeouts, RawTimeouts};
use crate::config::STATS_MAX_MAXCONN;
use std::collections::HashMap;

pub fn finish(ctx: &mut Ctx, global: GlobalState, mut sections: Vec<Section>, userlists: &[Userlist]) -> RawConfig {
    for i in 0..sections.len() {
        sections[i].resolve_stick(&ctx.file, &mut ctx.notes);
        let s = &mut sections[i];
        s.proxy.http_request.append(&mut s.legacy_redirects);
        let inherited = sections[i].defaults.and_then(|d| sections[d].proxy.health_check.clone());
        check::apply_http_check(ctx, &mut sections[i], inherited.as_ref());
    }
    let mut removed = vec![false; sections.len()];
    let stats = stats_page(ctx, &sections, &mut removed, userlists);
    http_finish::resolve_unset_connection(&mut sections);
    http_finish::check_use_backend(ctx, &mut sections, &removed);
    http_finish::check_tcp_content(ctx, &mut sections, &removed);
    http_finish::check_server_cookies(ctx, &mut sections, &removed);
    let defaults = resolve_defaults(&mut sections, &removed);
    lint_cookies(ctx, &sections, &removed);
    lint_shared_addresses(ctx, &sections, &removed);

    let mut config = RawConfig { global: global.raw, defaults, stats, ..RawConfig::default() };
    for (s, gone) in sections.into_iter().zip(removed) {
        if gone {
            continue;
        }
        let mut p = s.proxy;
        p.name = s.name;
        match s.kind {
            Kind::Defaults => {}
            Kind::Frontend => config.frontend.push(p),
            Kind::Backend => config.backend.push(p),
            Kind::Listen => config.listen.push(p),
        }
    }
    config
}

/// Turns the first section with `stats` directives into RawConfig.stats. Every section with stats
/// directives is removed from the proxies; so is a frontend whose only job was to lead to a stats
/// backend.
fn stats_page(ctx: &mut Ctx, sections: &[Section], removed: &mut [bool], userlists: &[Userlist]) -> Option<RawStats> {
    let mut page: Option<(RawStats, String)> = None;
    let mut used = vec![false; userlists.len()];
    for (i, s) in sections.iter().enumerate() {
        let Some(stats_line) = s.stats.line else { continue };
        if s.kind == Kind::Defaults {
            continue;
        }
        removed[i] = true;
        if let Some((_, first)) = &page {
            let why = format!("hakeeper has one stats page (from {first}); {} {} is not translated", s.kind.word(), s.name);
            ctx.notes.untranslated(&ctx.file, stats_line, why.clone());
            report_lost_lines(ctx, s, &why, &|_| false);
            continue;
        }
        let binds = if s.kind.listens() {
            s.proxy.bind.clone()
        } else {
            match stats_frontend(sections, removed, &s.name) {
                Some(f) => {
                    removed[f] = true;
                    let fe = &sections[f];
                    ctx.notes.replaced(
                        &ctx.file,
                        fe.line,
                        format!("frontend {} leads to the stats backend {}: its bind serves hakeeper's stats page", fe.name, s.name),
                    );
                    // Its rules and other settings vanish with it.
                    let why = format!("frontend {} becomes hakeeper's stats page, which has no such setting", fe.name);
                    report_lost_lines(ctx, fe, &why, &|w| w.first().is_some_and(|k| k == "default_backend"));
                    fe.proxy.bind.clone()
                }
                None => Vec::new(),
            }
        };
        let Some((bind, extra)) = binds.split_first() else {
            let why = format!("stats in {} {} has no address to listen on (bind); the section is not translated", s.kind.word(), s.name);
            ctx.notes.untranslated(&ctx.file, stats_line, why.clone());
            report_lost_lines(ctx, s, &why, &|_| false);
            continue;
        };
        for b in extra {
            ctx.notes.untranslated(&ctx.file, stats_line, format!("the stats page listens on one address; bind {b} not translated"));
        }
        let why = format!("{} {} becomes hakeeper's stats page, which has no such setting", s.kind.word(), s.name);
        // Its `timeout http-request` and `timeout client` are translated below, as the page's own.
        report_lost_lines(ctx, s, &why, &|w| {
            w.first().is_some_and(|k| k == "timeout") && matches!(w.get(1).map(String::as_str), Some("http-request" | "client"))
        });
        let mut maxconn = s.proxy.maxconn.or_else(|| s.defaults.and_then(|d| sections[d].proxy.maxconn));
        if let Some(m) = maxconn.filter(|m| *m > STATS_MAX_MAXCONN) {
            ctx.notes.replaced(
                &ctx.file,
                stats_line,
                format!("maxconn {m} of the stats page lowered to {STATS_MAX_MAXCONN}, the most hakeeper's stats page serves at once"),
            );
            maxconn = Some(STATS_MAX_MAXCONN);
        }
        let timeout = stats_timeouts(s.proxy.timeout.as_ref(), s.defaults.and_then(|d| sections[d].proxy.timeout.as_ref()));
        let st = &s.stats;
        let mut auth = st.auth.clone();
        if let Some((name, line)) = &st.userlist {
            match userlists.iter().rposition(|l| &l.name == name) {
                Some(i) => {
                    used[i] = true;
                    auth.extend(stats_users(ctx, &userlists[i]));
                }
                None => {
                    ctx.notes.untranslated(&ctx.file, *line, format!("no userlist named {name:?}; the stats page gets no users from it"))
                }
            }
        }
        if auth.is_empty() && (!st.auth.is_empty() || st.userlist.is_some()) {
            let line = st.userlist.as_ref().map_or(stats_line, |(_, l)| *l);
            ctx.notes.lossy(
                &ctx.file,
                line,
                format!("the stats page of {} {} would have asked for a user and password", s.kind.word(), s.name),
                "none of its users could be translated: the page would be open to anyone",
            );
        }
        let raw = RawStats {
            bind: bind.clone(),
            uri: st.uri.clone(),
            realm: st.realm.clone(),
            auth,
            refresh: st.refresh.clone(),
            hide_version: st.hide_version,
            admin: st.admin,
            maxconn,
            timeout,
        };
        page = Some((raw, format!("{} {}", s.kind.word(), s.name)));
    }
    for (list, used) in userlists.iter().zip(used) {
        if !used {
            ctx.notes.untranslated(
                &ctx.file,
                list.line,
                format!(
                    "userlist {} is not used by the stats page (hakeeper uses userlists only for stats authentication); not translated",
                    list.name
                ),
            );
            for user in &list.users {
                ctx.notes.untranslated(
                    &ctx.file,
                    user.line,
                    format!("user {} of the unused userlist {}: not translated", user.name, list.name),
                );
            }
        }
    }
    page.map(|(raw, _)| raw)
}

/// The stats section's `timeout http-request` and `timeout client`, its own or else its
/// defaults'. As in HAProxy, a head with no `timeout http-request` gets `timeout client`.
fn stats_timeouts(own: Option<&RawTimeouts>, defaults: Option<&RawTimeouts>) -> Option<RawStatsTimeouts> {
    let pick = |f: fn(&RawTimeouts) -> &Option<String>| own.and_then(|t| f(t).clone()).or_else(|| defaults.and_then(|t| f(t).clone()));
    let client = pick(|t| &t.client);
    let http_request = pick(|t| &t.http_request).or_else(|| client.clone());
    (client.is_some() || http_request.is_some()).then_some(RawStatsTimeouts { http_request, client })
}

/// Reports each translated directive of a section that does not reach the output (it became, or
/// led to, the stats page, or was dropped): lossy when it routed or controlled access, a note for
/// logging (the stats page writes no access log), else untranslated. `skip` picks the directives
/// kept in another form.
fn report_lost_lines(ctx: &mut Ctx, s: &Section, why: &str, skip: &dyn Fn(&[String]) -> bool) {
    for (line, words) in &s.proxy_lines {
        let text = directive(words);
        let kw = words.first().map(String::as_str);
        if skip(words) {
            continue;
        }
        let logging = matches!(kw, Some("log"))
            || (kw == Some("option") && matches!(words.get(1).map(String::as_str), Some("httplog" | "tcplog" | "dontlognull")));
        if logging {
            ctx.notes.replaced(
                &ctx.file,
                *line,
                format!("`{text}` in {} {}: this section becomes hakeeper's stats page, which writes no access log", s.kind.word(), s.name),
            );
            continue;
        }
        let untranslated = format!("`{text}` in {} {} not translated: {why}", s.kind.word(), s.name);
        lossy::report_with(ctx, *line, lossy::meaning_beside_stats(words), why, untranslated);
    }
}

/// A frontend that sends everything else to backend `name`.
fn stats_frontend(sections: &[Section], removed: &[bool], name: &str) -> Option<usize> {
    sections.iter().enumerate().position(|(i, s)| {
        !removed[i] && s.kind == Kind::Frontend && s.proxy.default_backend.as_deref() == Some(name) && !s.proxy.bind.is_empty()
    })
}

/// Picks RawConfig.defaults: when every proxy uses the same defaults section it becomes the
/// RON `defaults`; otherwise (several defaults sections in use) each proxy gets its own defaults
/// written into it, since the RON config has one defaults block.
fn resolve_defaults(sections: &mut [Section], removed: &[bool]) -> RawProxy {
    let used: Vec<Option<usize>> =
        sections.iter().zip(removed).filter(|(s, gone)| s.kind != Kind::Defaults && !**gone).map(|(s, _)| s.defaults).collect();
    // With no proxies at all, the last defaults section is still worth keeping.
    let last = sections.iter().rposition(|s| s.kind == Kind::Defaults);
    let shared = if used.is_empty() { Some(last) } else { used.first().copied().filter(|first| used.iter().all(|u| u == first)) };
    // HAProxy allows default_backend in defaults; the RON config wants it on the frontends.
    for i in 0..sections.len() {
        let Some(d) = sections[i].defaults else { continue };
        let inherited = sections[d].proxy.default_backend.clone();
        let s = &mut sections[i];
        let takes_it = s.kind == Kind::Frontend || (s.kind == Kind::Listen && s.proxy.servers.is_empty());
        if takes_it && s.proxy.default_backend.is_none() {
            s.proxy.default_backend = inherited;
        }
    }
    match shared {
        Some(Some(d)) => {
            let mut defaults = sections[d].proxy.clone();
            defaults.default_backend = None;
            defaults
        }
        Some(None) => RawProxy::default(),
        None => {
            for i in 0..sections.len() {
                if sections[i].kind == Kind::Defaults || removed[i] {
                    continue;
                }
                if let Some(d) = sections[i].defaults {
                    let d = sections[d].proxy.clone();
                    let backend_side = sections[i].kind.serves();
                    inherit(&mut sections[i].proxy, &d, backend_side);
                }
            }
            RawProxy::default()
        }
    }
}

fn fill<T: Clone>(own: &mut Option<T>, from: &Option<T>) {
    if own.is_none() {
        own.clone_from(from);
    }
}

/// Writes the settings of defaults section `d` into `p` where `p` has none of its own; the
/// backend-only ones (cookie, persist) only into a section with servers (`backend_side`).
fn inherit(p: &mut RawProxy, d: &RawProxy, backend_side: bool) {
    fill(&mut p.mode, &d.mode);
    fill(&mut p.balance, &d.balance);
    fill(&mut p.hash_type, &d.hash_type);
    fill(&mut p.maxconn, &d.maxconn);
    fill(&mut p.retries, &d.retries);
    fill(&mut p.redispatch, &d.redispatch);
    fill(&mut p.abortonclose, &d.abortonclose);
    fill(&mut p.allbackups, &d.allbackups);
    fill(&mut p.log, &d.log);
    fill(&mut p.log_format, &d.log_format);
    fill(&mut p.dontlognull, &d.dontlognull);
    fill(&mut p.stick, &d.stick);
    fill(&mut p.health_check, &d.health_check);
    fill(&mut p.forwardfor, &d.forwardfor);
    fill(&mut p.http_connection, &d.http_connection);
    if backend_side {
        fill(&mut p.cookie, &d.cookie);
        fill(&mut p.persist, &d.persist);
    }
    // An errorfile of the proxy's own replaces the inherited one for that code only.
    for e in &d.errorfiles {
        if !p.errorfiles.iter().any(|o| o.code == e.code) {
            p.errorfiles.push(e.clone());
        }
    }
    if let Some(dt) = &d.timeout {
        let t = p.timeout.get_or_insert_with(RawTimeouts::default);
        fill(&mut t.connect, &dt.connect);
        fill(&mut t.client, &dt.client);
        fill(&mut t.server, &dt.server);
        fill(&mut t.queue, &dt.queue);
        fill(&mut t.check, &dt.check);
        fill(&mut t.http_request, &dt.http_request);
        fill(&mut t.http_keep_alive, &dt.http_keep_alive);
        fill(&mut t.tunnel, &dt.tunnel);
        fill(&mut t.tarpit, &dt.tarpit);
    }
}

/// A backend `cookie` with no server carrying a `cookie` value inserts nothing in HAProxy.
fn lint_cookies(ctx: &mut Ctx, sections: &[Section], removed: &[bool]) {
    for (s, gone) in sections.iter().zip(removed) {
        let Some(line) = s.cookie_line else { continue };
        if !gone && !s.proxy.servers.is_empty() && s.proxy.servers.iter().all(|sv| sv.cookie.is_none()) {
            ctx.notes.lint(
                &ctx.file,
                line,
                format!(
                    "{} {} sets `cookie` but none of its servers has `cookie VALUE`: no persistence cookie is ever set",
                    s.kind.word(),
                    s.name
                ),
            );
        }
    }
}

/// Two servers of one backend at the same address split one server's load and state.
fn lint_shared_addresses(ctx: &mut Ctx, sections: &[Section], removed: &[bool]) {
    for (s, gone) in sections.iter().zip(removed) {
        if *gone {
            continue;
        }
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (sv, line) in s.proxy.servers.iter().zip(&s.server_lines) {
            if let Some(prev) = seen.insert(&sv.addr, &sv.name) {
                ctx.notes.lint(
                    &ctx.file,
                    *line,
                    format!(
                        "servers {prev} and {} of {} {} share the address {}: they are one server counted twice",
                        sv.name,
                        s.kind.word(),
                        s.name,
                        sv.addr
                    ),
                );
            }
        }
    }
}
