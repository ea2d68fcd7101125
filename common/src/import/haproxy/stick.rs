//! `stick-table` and `stick match|on|store-request|store-response` lines. A section whose only
//! rule is `stick on src` on an address table that stores nothing but `server_id` becomes the
//! backend's `stick` (client-address persistence, which also works in mode tcp); any other
//! table becomes a `stick_table` (with `store`, `nopurge`, `peers`, key types and lengths) and
//! the rules `stick_rules`. `track-sc`, `sc_*`/`src_*` fetches and `sc-inc-gpc0`/`sc-set-gpt0`
//! go through the rules' own translation, checked against the tables the file declares.

use super::section::{directive, Section};
use super::Ctx;
use crate::config::raw::{RawStick, RawStickKey, RawStickTable};
use crate::import::units::{haproxy_size, haproxy_time};

/// The sections of the file that declare a stick table (scanned before any is read, so that a
/// rule may name a table declared further down).
pub fn declared_tables(lines: &[super::tokenize::Line]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for l in lines {
        match l.words[0].as_str() {
            "frontend" | "backend" | "listen" => current = l.words.get(1).map(String::as_str),
            "defaults" | "global" | "peers" | "userlist" | "resolvers" | "mailers" | "program" | "http-errors" | "ring" | "cache" => {
                current = None
            }
            "stick-table" => {
                if let Some(c) = current {
                    out.push(c.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// `stick-table type T [len N] size N [expire T] [nopurge] [peers P] [srvkey K] [store …]…`.
pub fn stick_table(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let mut t = RawStickTable::default();
    let mut ignored = Vec::new();
    let mut i = 0;
    let mut size = None;
    while i < args.len() {
        let value = args.get(i + 1).map(String::as_str);
        match (args[i].as_str(), value) {
            ("type", Some(k)) => {
                t.key = match k {
                    "ip" => RawStickKey::Ip,
                    "ipv6" => RawStickKey::Ipv6,
                    "integer" => RawStickKey::Integer,
                    "string" => RawStickKey::String,
                    "binary" => RawStickKey::Binary,
                    other => {
                        ctx.notes.untranslated(
                            &ctx.file,
                            n,
                            format!("`stick-table {}`: unknown type {other:?}; not translated", directive(args)),
                        );
                        return;
                    }
                }
            }
            ("len", Some(v)) => match v.parse() {
                Ok(l) => t.len = Some(l),
                Err(_) => ignored.push(format!("len {v}")),
            },
            ("size", Some(v)) => match haproxy_size(v) {
                Ok(v) => size = Some(v),
                Err(e) => ignored.push(e),
            },
            ("expire", Some(v)) => match haproxy_time(v) {
                Ok(v) => t.expire = Some(v),
                Err(e) => ignored.push(e),
            },
            ("peers", Some(p)) => t.peers = Some(p.to_string()),
            ("store", Some(list)) => t.store.extend(list.split(',').filter(|w| !w.is_empty()).map(str::to_string)),
            ("nopurge", _) => {
                t.nopurge = true;
                i += 1;
                continue;
            }
            (kw, Some(v)) => ignored.push(format!("{kw} {v}")),
            (kw, None) => ignored.push(kw.to_string()),
        }
        i += 2;
    }
    let Some(size) = size else {
        ctx.notes.untranslated(&ctx.file, n, format!("`stick-table {}`: no size (HAProxy requires one); not translated", directive(args)));
        return;
    };
    t.size = size;
    if !ignored.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("stick-table options not translated: {}", ignored.join(", ")));
    }
    s.stick_table = Some((n, t));
}

/// `stick match|on|store-request|store-response KEY [table T] [if|unless COND]`.
pub fn stick_rule(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let text = super::http_rules::rule_text(args);
    if s.kind == super::section::Kind::Frontend {
        ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`stick {}`: stick rules belong in a backend or listen (HAProxy refuses them in a frontend)", directive(args)),
        );
        return;
    }
    let scope = crate::config::stick_syntax::StickScope::new(ctx.stick_tables.clone(), &s.name);
    match crate::config::http_syntax::parse_stick_rule(&text, &scope, &mut s.acl_table) {
        Ok(_) => s.stick_rules.push((n, text)),
        Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`stick {}`: {e}; not translated", directive(args))),
    }
}

/// Decides, at the end of the section, between `stick` and `stick_table` + `stick_rules`.
pub fn resolve(s: &mut Section, file: &str, notes: &mut crate::import::warning::Notes) {
    let table = s.stick_table.take();
    let only_on_src = matches!(s.stick_rules.as_slice(), [(_, r)] if r == "on src");
    match table {
        Some((line, t))
            if only_on_src
                && matches!(t.key, RawStickKey::Ip | RawStickKey::Ipv6)
                && t.store.iter().all(|d| d == "server_id")
                && !t.nopurge
                && t.peers.is_none() =>
        {
            let expire = t.expire.unwrap_or_else(|| {
                notes.untranslated(
                    file,
                    line,
                    "stick-table without expire: HAProxy keeps entries until the table is full; translated as expire 24d",
                );
                "24d".into()
            });
            s.proxy.stick = Some(RawStick { expire, size: Some(t.size) });
            s.stick_rules.clear();
        }
        Some((_, t)) => s.proxy.stick_table = Some(t),
        None => {}
    }
    s.proxy.stick_rules = s.stick_rules.drain(..).map(|(_, r)| r).collect();
}
