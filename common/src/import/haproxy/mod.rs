//! haproxy.cfg → RawConfig. The file is split into words (see [`tokenize`]), read section by
//! section, and finished once everything is known (defaults, stats page, lints).

mod bind;
mod bind_ssl;
mod check;
mod finish;
mod global;
mod h2;
mod http_finish;
mod http_options;
mod http_rules;
mod lossy;
mod peers;
mod proxy;
mod section;
mod server;
mod stats;
pub mod stick;
pub mod tokenize;
mod userlist;

use crate::config::raw::RawConfig;
use crate::import::error::ImportError;
use crate::import::warning::{ImportWarning, Notes};
use section::{directive, Kind, Section};

/// The file being translated and what was said about it.
pub struct Ctx {
    pub file: String,
    pub notes: Notes,
    /// `global`'s TLS settings for servers (read before the proxies, as HAProxy requires).
    pub tls: server::TlsGlobals,
    /// `global`'s TLS defaults for binds.
    pub bind_tls: bind_ssl::Defaults,
    /// Sections that declare a `stick-table` (rules may name them before they are read).
    pub stick_tables: Vec<String>,
}

/// Sections HAProxy knows that hakeeper does not translate; their lines are each reported.
const OTHER_SECTIONS: &[&str] =
    &["resolvers", "mailers", "program", "http-errors", "ring", "cache", "fcgi-app", "log-forward", "crt-store", "traces"];

enum Current {
    Nothing,
    Global,
    Section(usize),
    /// An untranslated section: its header text.
    Other(String),
    Userlist(usize),
    Peers(usize),
}

pub fn translate(file: &str, text: &str) -> Result<(RawConfig, Vec<ImportWarning>), ImportError> {
    let mut ctx = Ctx {
        file: file.to_string(),
        notes: Notes::default(),
        tls: Default::default(),
        bind_tls: bind_ssl::Defaults::default(),
        stick_tables: Vec::new(),
    };
    let lines = tokenize::tokenize(file, text, &mut ctx.notes)?;
    ctx.stick_tables = stick::declared_tables(&lines);
    let mut global = global::GlobalState::default();
    let mut sections: Vec<Section> = Vec::new();
    let mut userlists: Vec<userlist::Userlist> = Vec::new();
    let mut peers: Vec<peers::PeersSection> = Vec::new();
    let mut last_defaults: Option<usize> = None;
    let mut current = Current::Nothing;
    for line in &lines {
        let n = line.number;
        let words = &line.words;
        let kw = words[0].as_str();
        if let Some(kind) = section_kind(kw) {
            current = match kind {
                None => {
                    if words.len() > 1 {
                        ctx.notes.untranslated(file, n, format!("`{}`: arguments of global not translated", directive(words)));
                    }
                    Current::Global
                }
                Some(kind) => start_section(&mut ctx, &mut sections, &mut last_defaults, kind, n, words),
            };
            continue;
        }
        if kw == "userlist" {
            current = match &words[1..] {
                [name] => {
                    userlists.push(userlist::Userlist { name: name.clone(), line: n, users: Vec::new() });
                    Current::Userlist(userlists.len() - 1)
                }
                _ => {
                    ctx.notes.untranslated(file, n, format!("`{}`: expected one name; section not translated", directive(words)));
                    Current::Other(directive(words))
                }
            };
            continue;
        }
        if kw == "peers" {
            current = match &words[1..] {
                [name] => {
                    peers.push(peers::PeersSection::new(name));
                    Current::Peers(peers.len() - 1)
                }
                _ => {
                    ctx.notes.untranslated(file, n, format!("`{}`: expected one name; section not translated", directive(words)));
                    Current::Other(directive(words))
                }
            };
            continue;
        }
        if OTHER_SECTIONS.contains(&kw) {
            ctx.notes.untranslated(file, n, format!("section `{}` not translated", directive(words)));
            current = Current::Other(directive(words));
            continue;
        }
        match &current {
            Current::Nothing => ctx.notes.untranslated(file, n, format!("`{}` outside any section; not translated", directive(words))),
            Current::Global => global::keyword(&mut ctx, &mut global, n, words),
            Current::Userlist(i) => userlist::keyword(&mut ctx, &mut userlists[*i], n, words),
            Current::Peers(i) => peers::keyword(&mut ctx, &mut peers[*i], n, words),
            Current::Other(header) => ctx.notes.untranslated(file, n, format!("`{}` (in `{header}`) not translated", directive(words))),
            Current::Section(i) => {
                let s = &mut sections[*i];
                let before = s.proxy.clone();
                proxy::keyword(&mut ctx, s, n, words);
                // Remembered in case the section turns out to be the stats page.
                if s.proxy != before && !matches!(kw, "bind" | "mode" | "maxconn" | "stats") {
                    s.proxy_lines.push((n, words.clone()));
                }
            }
        }
    }
    // Global TLS settings no server used are lost harmlessly.
    for (n, what, why) in std::mem::take(&mut ctx.tls.lossy) {
        ctx.notes.untranslated(file, n, format!("`{what}` not translated: {why}"));
    }
    let mut config = finish::finish(&mut ctx, global, sections, &userlists);
    config.peers = peers.into_iter().map(|p| p.finish(&mut ctx)).collect();
    let mut warnings = ctx.notes.list;
    warnings.sort_by_key(|w| w.line);
    Ok((config, warnings))
}

/// `Some(None)` for global, `Some(Some(kind))` for a proxy section, `None` otherwise.
fn section_kind(kw: &str) -> Option<Option<Kind>> {
    match kw {
        "global" => Some(None),
        "defaults" => Some(Some(Kind::Defaults)),
        "frontend" => Some(Some(Kind::Frontend)),
        "backend" => Some(Some(Kind::Backend)),
        "listen" => Some(Some(Kind::Listen)),
        _ => None,
    }
}

/// `defaults [NAME] [from DEFAULTS]` or `frontend|backend|listen NAME [from DEFAULTS]`.
fn start_section(
    ctx: &mut Ctx,
    sections: &mut Vec<Section>,
    last_defaults: &mut Option<usize>,
    kind: Kind,
    n: usize,
    words: &[String],
) -> Current {
    let (name, from) = match &words[1..] {
        [] => (None, None),
        [name] => (Some(name.as_str()), None),
        [kw, from] if kw == "from" => (None, Some(from.as_str())),
        [name, kw, from] if kw == "from" => (Some(name.as_str()), Some(from.as_str())),
        _ => {
            ctx.notes.untranslated(&ctx.file, n, format!("`{}`: unexpected arguments; section not translated", directive(words)));
            return Current::Other(directive(words));
        }
    };
    let named_defaults = match from {
        None => *last_defaults,
        Some(f) => {
            let found = sections.iter().rposition(|s| s.kind == Kind::Defaults && s.name == f);
            if found.is_none() {
                ctx.notes.untranslated(&ctx.file, n, format!("no defaults section named {f:?}; the preceding defaults are used"));
            }
            found.or(*last_defaults)
        }
    };
    let index = sections.len();
    let section = if kind == Kind::Defaults {
        // A defaults section starts afresh, or from the one it names.
        let mut d = Section::new(kind, name.unwrap_or_default().to_string(), n, None, Default::default());
        if let Some(f) = from.and(named_defaults) {
            d.proxy = sections[f].proxy.clone();
            d.default_server = sections[f].default_server.clone();
        }
        *last_defaults = Some(index);
        d
    } else {
        let Some(name) = name else {
            ctx.notes.untranslated(&ctx.file, n, format!("`{}` without a name; section not translated", kind.word()));
            return Current::Other(directive(words));
        };
        let default_server = named_defaults.map(|d| sections[d].default_server.clone()).unwrap_or_default();
        let mut s = Section::new(kind, name.to_string(), n, named_defaults, default_server);
        s.acl_table.set_stick_scope(crate::config::stick_syntax::StickScope::new(ctx.stick_tables.clone(), name));
        s
    };
    sections.push(section);
    Current::Section(index)
}
