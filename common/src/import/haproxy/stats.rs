//! `stats …` in a proxy section. A section with any of them becomes hakeeper's stats page
//! (RawConfig.stats) instead of a proxy; see `finish` for that conversion.

use super::section::{directive, Kind, Section};
use super::Ctx;
use crate::import::units::haproxy_time;

/// The stats settings of one section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsDirectives {
    /// First `stats` line: the section serves the stats page.
    pub line: Option<usize>,
    pub uri: Option<String>,
    pub realm: Option<String>,
    pub auth: Vec<(String, String)>,
    pub refresh: Option<String>,
    pub hide_version: bool,
    pub admin: bool,
    /// `stats http-request auth … unless { http_auth(LIST) }`: the userlist and the line.
    pub userlist: Option<(String, usize)>,
}

/// `stats …`, arguments after `stats`.
pub fn keyword(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("stats {}", directive(args));
    if s.kind == Kind::Defaults {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}` in defaults not translated: put the stats settings in one listen section"));
        return;
    }
    let st = &mut s.stats;
    let arg = args.get(1).cloned();
    let sub = args.first().map(String::as_str).unwrap_or("");
    // HAProxy turns the stats page on with any of these, not only `stats enable`.
    st.line.get_or_insert(n);
    let missing = |ctx: &mut Ctx| ctx.notes.untranslated(&ctx.file, n, format!("`{what}` needs a value; not translated"));
    match (sub, arg) {
        ("enable", _) => {}
        ("uri", Some(uri)) => st.uri = Some(uri),
        ("realm", Some(realm)) => st.realm = Some(realm),
        ("auth", Some(pair)) => match pair.split_once(':') {
            Some((user, pass)) => st.auth.push((user.to_string(), pass.to_string())),
            None => ctx.notes.lossy(
                &ctx.file,
                n,
                format!("`{what}` would have required a user and password on the stats page"),
                "expected USER:PASSWORD",
            ),
        },
        ("refresh", Some(t)) => match haproxy_time(&t) {
            Ok(t) => st.refresh = Some(t),
            Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated")),
        },
        ("hide-version", _) => st.hide_version = true,
        ("admin", _) => match &args[1..] {
            [kw, cond] if (kw == "if" && cond == "TRUE") || (kw == "unless" && cond == "FALSE") => st.admin = true,
            _ => ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`{what}`: only an unconditional `stats admin if TRUE` is translated; admin actions stay off"),
            ),
        },
        ("http-request", Some(action)) if action == "auth" => http_request_auth(ctx, st, n, &what, &args[2..]),
        // `stats http-request deny|allow …` guards the page; hakeeper's page has only its users.
        ("http-request", Some(action)) => ctx.notes.lossy(
            &ctx.file,
            n,
            format!("`{what}` would have applied `{action}` to requests for the stats page"),
            "hakeeper's stats page has no rules besides its users",
        ),
        ("uri" | "realm" | "auth" | "refresh", None) => missing(ctx),
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated")),
    }
}

/// `stats http-request auth [realm R] unless { http_auth(LIST) }`: basic auth against a userlist.
fn http_request_auth(ctx: &mut Ctx, st: &mut StatsDirectives, n: usize, what: &str, args: &[String]) {
    let (realm, cond) = match args {
        [kw, realm, rest @ ..] if kw == "realm" => (Some(realm.clone()), rest),
        rest => (None, rest),
    };
    match super::userlist::auth_condition(cond) {
        Some(list) => {
            if realm.is_some() {
                st.realm = realm;
            }
            st.userlist = Some((list, n));
        }
        None => ctx.notes.lossy(
            &ctx.file,
            n,
            format!("`{what}` would have required a user and password on the stats page"),
            "only `unless { http_auth(LIST) }` (or `if !{ http_auth(LIST) }`) is supported",
        ),
    }
}
