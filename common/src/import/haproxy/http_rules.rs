//! `acl`, `use_backend`, `http-request` and `http-response`: copied into the RON in HAProxy's
//! own syntax, and checked with the validator's parser as they are read, so that a line the
//! validator would reject becomes a warning instead of an invalid config.

use super::section::{directive, Kind, Section};
use super::{lossy, Ctx};
use crate::config::http_syntax::{parse_cond, parse_request_rule, parse_response_rule};
use crate::config::raw::{RawAcl, RawUseBackend};

/// Words back into one string that [`split_words`] reads as the same words: plain words stay as
/// written, others are double-quoted with `"` and `\` escaped.
pub fn rule_text(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty() && !w.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\')) {
                w.clone()
            } else {
                format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words with each `-f FILE` made absolute against `dir` (where haproxy.cfg is).
pub fn absolute_pattern_files(words: &[String], dir: &std::path::Path) -> Vec<String> {
    let mut out = words.to_vec();
    for i in 1..out.len() {
        if words[i - 1] == "-f" && !std::path::Path::new(&words[i]).is_absolute() {
            out[i] = dir.join(&words[i]).display().to_string();
        }
    }
    out
}

/// The names the validator accepts for an ACL.
fn valid_acl_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch))
}

/// `acl NAME CRITERION...`
pub fn acl(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("acl {}", directive(args));
    if s.kind == Kind::Defaults {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}` in defaults not translated (HAProxy 2.6 rejects it there)"));
        return;
    }
    let [name, criterion @ ..] = args else { return };
    if !valid_acl_name(name) {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: invalid ACL name {name:?}; not translated"));
        return;
    }
    match s.acl_table.criterion(criterion) {
        Ok(test) => {
            s.acl_table.define(name, test);
            s.proxy.acls.push(RawAcl { name: name.clone(), criterion: rule_text(criterion) });
        }
        // Rules naming this ACL would match differently without it.
        Err(e) => ctx.notes.lossy(
            &ctx.file,
            n,
            format!("`{what}` would have defined condition {name} of access or routing rules"),
            format!("hakeeper cannot evaluate it: {e}"),
        ),
    }
}

/// `use_backend NAME [if|unless COND]`; whether NAME exists is checked once the file is read.
pub fn use_backend(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("use_backend {}", directive(args));
    if !s.kind.listens() {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}` is not allowed in a {} section; not translated", s.kind.word()));
        return;
    }
    let [backend, cond @ ..] = args else { return };
    let meant = format!("`{what}` would have routed matching requests to {backend}");
    if backend.contains('%') {
        ctx.notes.lossy(&ctx.file, n, meant, "backend names built at run time (log-format) are not supported");
        return;
    }
    let mut layer7 = None;
    let cond = if cond.is_empty() {
        None
    } else {
        match parse_cond(cond, &mut s.acl_table) {
            Ok(parsed) => {
                // Whether mode tcp could evaluate it is known once the section's mode is.
                // (Content fetches are fine there: `tcp-request content` waits for the data.)
                layer7 = s.acl_table.first_http(&parsed).map(str::to_string);
                Some(rule_text(cond))
            }
            Err(e) => {
                ctx.notes.lossy(&ctx.file, n, meant, format!("hakeeper cannot evaluate its condition: {e}"));
                return;
            }
        }
    };
    s.proxy.use_backend.push(RawUseBackend { backend: backend.clone(), cond });
    s.use_backend_lines.push(n);
    s.use_backend_layer7.push(layer7);
}

/// `tcp-request connection|session accept|reject|silent-drop [if|unless COND]` on layer-4
/// fetches, `tcp-request content accept|reject|silent-drop [if|unless COND]` on layer-4 and
/// content fetches,
/// `tcp-request inspect-delay TIME`; other `tcp-request` forms are reported (lossy when they
/// refuse connections).
pub fn tcp_request(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("tcp-request {}", directive(args));
    let words = [&["tcp-request".to_string()][..], args].concat();
    let kind = args.first().map(String::as_str);
    if kind == Some("inspect-delay") {
        inspect_delay(ctx, s, n, args, &what);
        return;
    }
    let content = kind == Some("content");
    let session = kind == Some("session");
    let translatable = matches!(kind, Some("connection" | "session" | "content"))
        && args.get(1).is_some_and(|a| matches!(a.as_str(), "accept" | "reject" | "silent-drop") || a.starts_with("track-sc"))
        && s.kind.listens();
    if !translatable {
        let why = if s.kind.listens() {
            "hakeeper has only `tcp-request connection|session|content accept|reject|silent-drop|track-sc0/1/2` rules and \
             `tcp-request inspect-delay` yet"
        } else {
            "hakeeper takes `tcp-request connection|session|content` rules in frontend and listen sections only"
        };
        lossy::report(ctx, n, &words, why, format!("`{what}` not translated"));
        return;
    }
    let text = rule_text(&args[1..]);
    let meant = format!("`{what}` would have decided which connections are accepted");
    let parsed = if content {
        crate::config::http_syntax::parse_tcp_content_rule(&text, &mut s.acl_table)
    } else if session {
        crate::config::http_syntax::parse_tcp_session_rule(&text, &mut s.acl_table)
    } else {
        crate::config::http_syntax::parse_tcp_connection_rule(&text, &mut s.acl_table)
    };
    match parsed {
        Ok(rule) => {
            let cond = rule.cond.as_ref();
            if content {
                if let Some(acl) = cond.and_then(|c| s.acl_table.first_http(c)) {
                    let why = format!("ACL {acl} reads HTTP, which hakeeper's mode tcp content rules cannot evaluate");
                    ctx.notes.lossy(&ctx.file, n, meant, why);
                    return;
                }
                s.proxy.tcp_request_content.push(text);
                s.tcp_content_lines.push(n);
                return;
            }
            if let Some(acl) = cond.and_then(|c| s.acl_table.first_layer7(c)) {
                let why = format!("ACL {acl} reads the request, which these rules run before (HAProxy refuses it too)");
                ctx.notes.lossy(&ctx.file, n, meant, why);
                return;
            }
            if session {
                s.proxy.tcp_request_session.push(text);
            } else {
                s.proxy.tcp_request_connection.push(text);
            }
        }
        Err(e) => ctx.notes.lossy(&ctx.file, n, meant, format!("hakeeper cannot evaluate it: {e}")),
    }
}

/// `tcp-response content accept|reject|close [if|unless COND]` on layer-4 and response content
/// fetches and `tcp-response inspect-delay TIME`, in backend and listen sections (and the
/// delay in defaults); other forms are reported (lossy when they refuse responses).
pub fn tcp_response(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("tcp-response {}", directive(args));
    let words = [&["tcp-response".to_string()][..], args].concat();
    match args.first().map(String::as_str) {
        Some("inspect-delay") => {
            if !s.kind.serves() && s.kind != Kind::Defaults {
                ctx.notes.untranslated(
                    &ctx.file,
                    n,
                    format!("`{what}` in a {} section not translated: HAProxy uses it in backends", s.kind.word()),
                );
                return;
            }
            let [_, value] = args else {
                ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: expected a time; not translated"));
                return;
            };
            match crate::import::units::haproxy_time(value) {
                Ok(v) => s.proxy.tcp_response_inspect_delay = Some(v),
                Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated")),
            }
            return;
        }
        Some("content") if s.kind.serves() && matches!(args.get(1).map(String::as_str), Some("accept" | "reject" | "close")) => {}
        _ => {
            let why = if s.kind.serves() {
                "hakeeper has only `tcp-response content accept|reject|close` rules and `tcp-response inspect-delay` yet"
            } else {
                "hakeeper takes `tcp-response content` rules in backend and listen sections only (HAProxy too)"
            };
            lossy::report(ctx, n, &words, why, format!("`{what}` not translated"));
            return;
        }
    }
    let text = rule_text(&args[1..]);
    let meant = format!("`{what}` would have decided which responses are forwarded");
    match crate::config::http_syntax::parse_tcp_response_rule(&text, &mut s.acl_table) {
        Ok(rule) => {
            if let Some(acl) = rule.cond.as_ref().and_then(|c| s.acl_table.first_not_response(c)) {
                let why = format!("ACL {acl} reads the request or HTTP, which tcp-response content rules cannot evaluate");
                ctx.notes.lossy(&ctx.file, n, meant, why);
                return;
            }
            s.proxy.tcp_response_content.push(text);
            s.tcp_response_lines.push(n);
        }
        Err(e) => ctx.notes.lossy(&ctx.file, n, meant, format!("hakeeper cannot evaluate it: {e}")),
    }
}

/// `tcp-request inspect-delay TIME` in defaults, frontend or listen sections (a backend's
/// delay serves backend content rules, which hakeeper does not have).
fn inspect_delay(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String], what: &str) {
    if !s.kind.listens() && s.kind != Kind::Defaults {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}` in a {} section not translated: it has no content rules", s.kind.word()));
        return;
    }
    let [_, value] = args else {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: expected a time; not translated"));
        return;
    };
    match crate::import::units::haproxy_time(value) {
        Ok(v) => s.proxy.tcp_request_inspect_delay = Some(v),
        Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated")),
    }
}

/// `http-request ACTION...` (`response` false) or `http-response ACTION...`.
pub fn http_rule(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String], response: bool) {
    let kw = if response { "http-response" } else { "http-request" };
    let what = format!("{kw} {}", directive(args));
    let action = args.first().map_or("", String::as_str);
    let access = lossy::is_access_action(action);
    let meant = format!("`{what}` would have applied `{action}` to matching requests");
    if s.kind == Kind::Defaults {
        let why = "rules in defaults are not supported: put it in the frontends or backends";
        if access {
            ctx.notes.lossy(&ctx.file, n, meant, why);
        } else {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}` in defaults not translated: {why}"));
        }
        return;
    }
    let mut words = args.to_vec();
    // HAProxy 2.6 takes `deny|tarpit status N` as well as `deny|tarpit deny_status N`.
    if words.len() > 2 && (words[0] == "deny" || words[0] == "tarpit") && words[1] == "status" {
        words[1] = "deny_status".into();
    }
    let text = rule_text(&words);
    let checked = if response {
        parse_response_rule(&text, &mut s.acl_table).map(|_| ())
    } else {
        parse_request_rule(&text, &mut s.acl_table).map(|_| ())
    };
    match checked {
        Ok(()) if response => s.proxy.http_response.push(text),
        Ok(()) => s.proxy.http_request.push(text),
        Err(e) if access => ctx.notes.lossy(&ctx.file, n, meant, format!("hakeeper cannot apply it: {e}")),
        Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated: {e}")),
    }
}

/// Legacy `redirect location|prefix|scheme …`: the same rule as `http-request redirect …` with
/// a static target, kept apart until the section ends (see `Section::legacy_redirects`).
pub fn legacy_redirect(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("redirect {}", directive(args));
    let meant = format!("`{what}` would have redirected matching requests");
    if s.kind == Kind::Defaults {
        ctx.notes.lossy(&ctx.file, n, meant, "rules in defaults are not supported: put it in the frontends or backends");
        return;
    }
    let words: Vec<String> = std::iter::once("redirect".to_string()).chain(args.iter().cloned()).collect();
    let text = rule_text(&words);
    match parse_request_rule(&text, &mut s.acl_table) {
        Ok(_) => s.legacy_redirects.push(text),
        Err(e) => ctx.notes.lossy(&ctx.file, n, meant, format!("hakeeper cannot apply it: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::http_syntax::split_words;

    #[test]
    fn rule_text_reads_back_as_the_same_words() {
        for words in [
            vec!["hdr(host)", "-i", "www.abc.com"],
            vec!["hdr(host)", "-i", "a b"],
            vec!["set-header", "X-A", "say \"hi\" \\ there"],
            vec!["x", "", "it's"],
            vec!["tab\there"],
        ] {
            let words: Vec<String> = words.into_iter().map(String::from).collect();
            let text = rule_text(&words);
            assert_eq!(split_words(&text).unwrap(), words, "{text}");
        }
        assert_eq!(rule_text(&["hdr(host)".into(), "-i".into(), "a b".into()]), "hdr(host) -i \"a b\"");
    }
}
