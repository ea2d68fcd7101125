//! Health check kinds: `option httpchk` (with the lint for its most common misreading),
//! `http-check`, `option mysql-check`.

use super::section::{directive, Section};
use super::Ctx;
use crate::config::raw::{RawHealthCheck, RawHttpCheck, RawMysqlCheck};

/// `option httpchk [<uri>] | <method> <uri> [<version>]`, arguments after `httpchk`.
pub fn httpchk(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let mut h = RawHttpCheck::default();
    match args {
        [] => {}
        [uri] => h.uri = Some(uri.clone()),
        [method, uri] => {
            h.method = Some(method.clone());
            h.uri = Some(uri.clone());
            if method.starts_with('/') || uri.starts_with("HTTP/") {
                ctx.notes.lint(
                    &ctx.file,
                    n,
                    format!(
                        "`option httpchk {method} {uri}` has two arguments, which HAProxy reads as METHOD URI: the check request is \
                         `{method} {uri} HTTP/1.0`, which servers reject, so checks fail; translated as written (method {method:?}, \
                         uri {uri:?}); write `option httpchk GET {method} {uri}` if a GET of {method} was meant"
                    ),
                );
            }
        }
        [method, uri, version, rest @ ..] => {
            h.method = Some(method.clone());
            h.uri = Some(uri.clone());
            // The old way to send headers: `HTTP/1.1\r\nHost:\ example.com`.
            match version.split_once("\r\n") {
                Some((v, headers)) => {
                    h.version = Some(v.to_string());
                    ctx.notes.untranslated(
                        &ctx.file,
                        n,
                        format!("headers after the HTTP version in `option httpchk` ({:?}) are not translated yet", headers),
                    );
                }
                None => h.version = Some(version.clone()),
            }
            if !rest.is_empty() {
                ctx.notes.untranslated(&ctx.file, n, format!("extra words after `option httpchk` not translated: {}", directive(rest)));
            }
        }
    }
    if let Some(RawHealthCheck::Http(old)) = &s.proxy.health_check {
        h.expect_status = old.expect_status;
    }
    s.proxy.health_check = Some(RawHealthCheck::Http(h));
}

/// `option mysql-check [user <name> [post-41|pre-41]]`, arguments after `mysql-check`.
pub fn mysql_check(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let user = match args {
        [] => String::new(),
        [kw, name, rest @ ..] if kw == "user" => {
            match rest {
                [] => {}
                [v] if v == "post-41" => {}
                _ => ctx.notes.untranslated(
                    &ctx.file,
                    n,
                    format!(
                        "`{}` after the user of `option mysql-check` not translated (hakeeper speaks the 4.1 protocol)",
                        directive(rest)
                    ),
                ),
            }
            name.clone()
        }
        _ => {
            ctx.notes.untranslated(&ctx.file, n, format!("`option mysql-check {}` not understood; not translated", directive(args)));
            return;
        }
    };
    s.proxy.health_check = Some(RawHealthCheck::Mysql(RawMysqlCheck { user }));
}

/// `http-check …`, arguments after `http-check`. Rules are kept on the section and applied once
/// its check kind (own or inherited) is known.
pub fn http_check(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let overlay = &mut s.http_check.get_or_insert_with(|| (n, RawHttpCheck::default())).1;
    match args.first().map(String::as_str) {
        Some("expect") => match &args[1..] {
            [kw, code] if kw == "status" && code.parse::<u16>().is_ok() => overlay.expect_status = code.parse().ok(),
            _ => ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`http-check {}` not translated yet (only `expect status N` is)", directive(args)),
            ),
        },
        Some("send") => {
            let mut rest = &args[1..];
            let mut ignored = Vec::new();
            while let Some((kw, tail)) = rest.split_first() {
                match (kw.as_str(), tail.first()) {
                    ("meth", Some(v)) => overlay.method = Some(v.clone()),
                    ("uri", Some(v)) => overlay.uri = Some(v.clone()),
                    ("ver", Some(v)) => overlay.version = Some(v.clone()),
                    (_, Some(v)) => ignored.push(format!("{kw} {v}")),
                    (_, None) => ignored.push(kw.clone()),
                }
                rest = tail.get(1..).unwrap_or_default();
            }
            if !ignored.is_empty() {
                ctx.notes.untranslated(&ctx.file, n, format!("`http-check send` parts not translated yet: {}", ignored.join(", ")));
            }
        }
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`http-check {}` not translated yet", directive(args))),
    }
}

/// Applies a section's `http-check` rules to its effective check kind (`inherited` is the one from
/// its defaults section).
pub fn apply_http_check(ctx: &mut Ctx, s: &mut Section, inherited: Option<&RawHealthCheck>) {
    let Some((n, overlay)) = s.http_check.take() else { return };
    if overlay == RawHttpCheck::default() {
        return;
    }
    let mut h = match s.proxy.health_check.as_ref().or(inherited) {
        Some(RawHealthCheck::Http(h)) => h.clone(),
        _ => {
            ctx.notes.untranslated(
                &ctx.file,
                n,
                format!(
                    "`http-check` in {} {} without `option httpchk`: HAProxy ignores it, and so does the import",
                    s.kind.word(),
                    s.name
                ),
            );
            return;
        }
    };
    h.method = overlay.method.or(h.method);
    h.uri = overlay.uri.or(h.uri);
    h.version = overlay.version.or(h.version);
    h.expect_status = overlay.expect_status.or(h.expect_status);
    s.proxy.health_check = Some(RawHealthCheck::Http(h));
}
