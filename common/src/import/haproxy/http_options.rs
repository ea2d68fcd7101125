//! The per-proxy HTTP settings: `cookie`, `errorfile`, `option forwardfor`, the connection mode
//! options and `option persist`. Values the validator would refuse are reported, not written.

use super::section::{directive, Kind, Section};
use super::Ctx;
use crate::config::http::ERROR_CODES;
use crate::config::http_syntax::{is_token_byte, parse_net};
use crate::config::raw::{RawCookie, RawCookieMode, RawErrorFile, RawForwardFor, RawHttpConnection, RawHttpReuse};

/// RFC 6265 cookie-octets, what the validator accepts in a cookie value or domain.
pub fn is_cookie_octet(ch: char) -> bool {
    ch.is_ascii_graphic() && !matches!(ch, '"' | ',' | ';' | '\\')
}

/// `cookie NAME [insert|prefix|rewrite] [indirect] [nocache] [preserve] [httponly] [secure] [domain D]...`
pub fn cookie(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("cookie {}", directive(args));
    if s.kind == Kind::Frontend {
        ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{what}` in a frontend not translated: HAProxy ignores it there (it needs a backend)"),
        );
        return;
    }
    let [name, opts @ ..] = args else { return };
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: invalid cookie name {name:?}; not translated"));
        return;
    }
    let mut k = RawCookie { name: name.clone(), ..RawCookie::default() };
    let mut ignored: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(w) = opts.get(i) {
        let value = opts.get(i + 1);
        match (w.as_str(), value) {
            ("insert" | "prefix" | "rewrite", _) => {
                let mode = match w.as_str() {
                    "insert" => RawCookieMode::Insert,
                    "prefix" => RawCookieMode::Prefix,
                    _ => RawCookieMode::Rewrite,
                };
                if k.mode.is_some_and(|m| m != mode) {
                    ignored.push(format!("{w} (a second mode)"));
                } else {
                    k.mode = Some(mode);
                }
            }
            ("indirect", _) => k.indirect = true,
            ("nocache", _) => k.nocache = true,
            ("preserve", _) => k.preserve = true,
            ("httponly", _) => k.httponly = true,
            ("secure", _) => k.secure = true,
            ("domain", Some(d)) => {
                if k.domain.is_some() {
                    ignored.push(format!("domain {d} (hakeeper sets one domain)"));
                } else if d.is_empty() || !d.chars().all(is_cookie_octet) {
                    ignored.push(format!("domain {d:?} (not a valid cookie domain)"));
                } else {
                    k.domain = Some(d.clone());
                }
                i += 1;
            }
            ("maxidle" | "maxlife" | "attr", Some(v)) => {
                ignored.push(format!("{w} {v}"));
                i += 1;
            }
            (other, _) => ignored.push(other.to_string()),
        }
        i += 1;
    }
    if !ignored.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("cookie options not translated: {}", ignored.join(", ")));
    }
    if s.kind.serves() {
        s.cookie_line.get_or_insert(n);
    }
    s.proxy.cookie = Some(k);
}

/// `errorfile CODE FILE`. The path is kept as written.
pub fn errorfile(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("errorfile {}", directive(args));
    let [code, file] = args else {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: expected a status code and a file; not translated"));
        return;
    };
    let code = match code.parse::<u16>() {
        Ok(c) if ERROR_CODES.contains(&c) => c,
        _ => {
            ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`{what}`: status {code} has no error response (one of {ERROR_CODES:?}); not translated"),
            );
            return;
        }
    };
    if file.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: empty file name; not translated"));
        return;
    }
    if !file.starts_with('/') {
        ctx.notes.lint(
            &ctx.file,
            n,
            format!(
                "`{what}`: a relative path; HAProxy reads it from its working directory, hakeeper from the directory of its config file"
            ),
        );
    }
    let list = &mut s.proxy.errorfiles;
    // A later errorfile for the same code replaces the earlier one, as in HAProxy.
    list.retain(|e| e.code != code);
    list.push(RawErrorFile { code, file: file.clone() });
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
pub fn forwardfor(ctx: &mut Ctx, s: &mut Section, n: usize, negate: bool, rest: &[String]) {
    let what = format!("{}option forwardfor {}", if negate { "no " } else { "" }, directive(rest)).trim_end().to_string();
    if negate {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated"));
        return;
    }
    let mut f = RawForwardFor::default();
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        let value = rest.get(i + 1);
        let problem = match (w.as_str(), value) {
            ("except", Some(v)) => parse_net(v).map(|_| f.except = Some(v.clone())).err(),
            ("header", Some(v)) if !v.is_empty() && v.bytes().all(is_token_byte) => {
                f.header = Some(v.clone());
                None
            }
            ("header", Some(v)) => Some(format!("invalid header name {v:?}")),
            ("if-none", _) => {
                f.if_none = true;
                i += 1;
                continue;
            }
            (other, _) => Some(format!("unexpected {other:?}")),
        };
        if let Some(p) = problem {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {p}; not translated"));
            return;
        }
        i += 2;
    }
    s.proxy.forwardfor = Some(f);
}

/// `[no] option http-keep-alive|http-server-close|httpclose`.
pub fn connection(s: &mut Section, negate: bool, mode: RawHttpConnection) {
    let p = &mut s.proxy;
    if !negate {
        p.http_connection = Some(mode);
        s.unset_connection = None;
        return;
    }
    // HAProxy clears the mode when it is the one named, which leaves keep-alive, its default.
    match p.http_connection {
        _ if mode == RawHttpConnection::KeepAlive => {}
        Some(own) if own == mode => p.http_connection = Some(RawHttpConnection::KeepAlive),
        Some(_) => {}
        None => s.unset_connection = Some(mode),
    }
}

/// `[no] option persist`, a backend setting.
pub fn persist(ctx: &mut Ctx, s: &mut Section, n: usize, negate: bool) {
    if s.kind == Kind::Frontend {
        ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{}option persist` in a frontend not translated: HAProxy ignores it there", if negate { "no " } else { "" }),
        );
        return;
    }
    s.proxy.persist = Some(!negate);
}

/// `http-reuse never|safe|aggressive|always`.
pub fn http_reuse(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("http-reuse {}", directive(args));
    if s.kind == Kind::Frontend {
        ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{what}` in a frontend not translated: HAProxy ignores it there (it needs a backend)"),
        );
        return;
    }
    let mode = match args {
        [m] => match m.as_str() {
            "never" => RawHttpReuse::Never,
            "safe" => RawHttpReuse::Safe,
            "aggressive" => RawHttpReuse::Aggressive,
            "always" => RawHttpReuse::Always,
            _ => {
                ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: unknown mode (HAProxy rejects it); not translated"));
                return;
            }
        },
        _ => {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: expected one mode; not translated"));
            return;
        }
    };
    s.proxy.http_reuse = Some(mode);
}
