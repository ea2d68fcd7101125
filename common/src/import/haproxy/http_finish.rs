//! The HTTP settings that refer to other sections, resolved once the whole file is read: the
//! backends `use_backend` names, server cookie values under a backend's `cookie`, and
//! `no option httpclose` against the inherited mode.

use super::section::{Kind, Section};
use super::Ctx;
use crate::config::raw::{RawCookieMode, RawHttpConnection, RawMode};
use crate::import::haproxy::http_options::is_cookie_octet;
use std::collections::HashMap;

/// A section's mode: its own, else its defaults section's, else tcp.
fn mode_of(sections: &[Section], i: usize) -> RawMode {
    let s = &sections[i];
    s.proxy.mode.or_else(|| s.defaults.and_then(|d| sections[d].proxy.mode)).unwrap_or(RawMode::Tcp)
}

/// `no option httpclose` (or `http-server-close`) in a section with no mode of its own resets
/// the inherited mode to keep-alive when it is the one named, and changes nothing otherwise.
pub fn resolve_unset_connection(sections: &mut [Section]) {
    for i in 0..sections.len() {
        let Some(unset) = sections[i].unset_connection else { continue };
        let inherited = sections[i].defaults.and_then(|d| sections[d].proxy.http_connection);
        if inherited == Some(unset) {
            sections[i].proxy.http_connection = Some(RawHttpConnection::KeepAlive);
        }
    }
}

/// Drops, as a lossy line, each `use_backend` rule whose backend does not exist, became the
/// stats page, or is a tcp backend behind an http frontend (HAProxy refuses both), and each rule
/// of a tcp-mode frontend whose condition reads the request (hakeeper switches TCP connections
/// on layer-4 and content fetches only).
pub fn check_use_backend(ctx: &mut Ctx, sections: &mut [Section], removed: &[bool]) {
    for i in 0..sections.len() {
        if removed[i] || !sections[i].kind.listens() || sections[i].proxy.use_backend.is_empty() {
            continue;
        }
        let fe_mode = mode_of(sections, i);
        let mut keep = Vec::new();
        for (j, rule) in sections[i].proxy.use_backend.iter().enumerate() {
            let line = sections[i].use_backend_lines[j];
            let target =
                |gone: bool| sections.iter().enumerate().position(|(k, b)| removed[k] == gone && b.kind.serves() && b.name == rule.backend);
            let problem = match target(false) {
                _ if fe_mode == RawMode::Tcp && sections[i].use_backend_layer7[j].is_some() => Some(format!(
                    "hakeeper switches connections in mode tcp on layer-4 and content fetches only, and ACL {} reads HTTP",
                    sections[i].use_backend_layer7[j].as_deref().unwrap_or_default()
                )),
                Some(b) if fe_mode == RawMode::Http && mode_of(sections, b) != RawMode::Http => Some(format!(
                    "backend {} is in tcp mode and {} {} in http mode",
                    rule.backend,
                    sections[i].kind.word(),
                    sections[i].name
                )),
                Some(_) => None,
                None if target(true).is_some() => Some(format!("backend {} became hakeeper's stats page", rule.backend)),
                None => Some(format!("there is no backend named {}", rule.backend)),
            };
            let guard = rule.cond.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
            match problem {
                Some(p) => ctx.notes.lossy(
                    &ctx.file,
                    line,
                    format!("`use_backend {}{guard}` would have routed matching requests to {}", rule.backend, rule.backend),
                    p,
                ),
                None => keep.push(j),
            }
        }
        let s = &mut sections[i];
        let rules = std::mem::take(&mut s.proxy.use_backend);
        let lines = std::mem::take(&mut s.use_backend_lines);
        let layer7 = std::mem::take(&mut s.use_backend_layer7);
        for j in keep {
            s.proxy.use_backend.push(rules[j].clone());
            s.use_backend_lines.push(lines[j]);
            s.use_backend_layer7.push(layer7[j].clone());
        }
    }
}

/// Under a `cookie` (own or inherited), each server's cookie value must tell it apart: a value
/// the validator refuses (blanks, quotes, `~` with prefix, one shared by two servers) is dropped
/// from that server, with a warning at its line.
pub fn check_server_cookies(ctx: &mut Ctx, sections: &mut [Section], removed: &[bool]) {
    for i in 0..sections.len() {
        if removed[i] || !sections[i].kind.serves() || sections[i].kind == Kind::Defaults {
            continue;
        }
        let cookie = sections[i].proxy.cookie.clone().or_else(|| sections[i].defaults.and_then(|d| sections[d].proxy.cookie.clone()));
        let Some(cookie) = cookie else { continue };
        let s = &mut sections[i];
        let mut values: HashMap<String, String> = HashMap::new();
        for (sv, line) in s.proxy.servers.iter_mut().zip(&s.server_lines) {
            let Some(v) = sv.cookie.clone() else { continue };
            let problem = if v.is_empty() || !v.chars().all(is_cookie_octet) {
                Some(format!("cookie value {v:?} has blanks, quotes, commas, semicolons or backslashes"))
            } else if cookie.mode == Some(RawCookieMode::Prefix) && v.contains('~') {
                Some(format!("cookie value {v:?} contains '~', the prefix delimiter"))
            } else {
                values
                    .get(&v)
                    .map(|prev| format!("cookie value {v:?} is also the cookie of server {prev}: persistence could not tell them apart"))
            };
            match problem {
                Some(p) => {
                    sv.cookie = None;
                    ctx.notes.untranslated(&ctx.file, *line, format!("server {}: {p}; its cookie is not translated", sv.name));
                }
                None => {
                    values.insert(v, sv.name.clone());
                }
            }
        }
    }
}

/// Drops, as lossy lines, the `tcp-request content` rules of http-mode frontends and the
/// `tcp-response content` rules of http-mode backends: hakeeper runs them in mode tcp only.
pub fn check_tcp_content(ctx: &mut Ctx, sections: &mut [Section], removed: &[bool]) {
    for i in 0..sections.len() {
        if removed[i] || sections[i].proxy.tcp_request_content.is_empty() || mode_of(sections, i) != RawMode::Http {
            continue;
        }
        let s = &mut sections[i];
        for (rule, line) in s.proxy.tcp_request_content.drain(..).zip(s.tcp_content_lines.drain(..)) {
            ctx.notes.lossy(
                &ctx.file,
                line,
                format!("`tcp-request content {rule}` would have decided which connections are accepted"),
                "hakeeper runs `tcp-request content` rules in mode tcp only",
            );
        }
    }
    for i in 0..sections.len() {
        if removed[i] || sections[i].proxy.tcp_response_content.is_empty() || mode_of(sections, i) != RawMode::Http {
            continue;
        }
        let s = &mut sections[i];
        for (rule, line) in s.proxy.tcp_response_content.drain(..).zip(s.tcp_response_lines.drain(..)) {
            ctx.notes.lossy(
                &ctx.file,
                line,
                format!("`tcp-response content {rule}` would have decided which responses are forwarded"),
                "hakeeper runs `tcp-response content` rules in mode tcp only",
            );
        }
    }
}
