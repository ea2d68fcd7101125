//! Validation of the L7 settings (ACLs, `use_backend`, http rules, cookie, forwardfor,
//! connection mode, errorfiles) into [`HttpConfig`], after the L4 pass has built the frontends
//! and backends it refers to.

use super::super::http::*;
use super::super::http_syntax::{
    is_token_byte, parse_cond, parse_net, parse_request_rule, parse_response_rule, parse_tcp_connection_rule, parse_tcp_content_rule,
    parse_tcp_session_rule, split_words, AclTable,
};
use super::super::tcp::TcpRule;
use super::{Checker, Section};
use crate::config::model::{Backend, Frontend, Mode};
use crate::config::raw::*;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// The settings inherited from `defaults`, checked once.
struct Inherited {
    forwardfor: Option<ForwardFor>,
    connection: Option<HttpConnMode>,
    errorfiles: Vec<ErrorFile>,
    cookie: Option<CookiePersistence>,
    persist: Option<bool>,
    reuse: Option<HttpReuse>,
    prefer_last_server: Option<bool>,
    inspect_delay: Option<std::time::Duration>,
    response_inspect_delay: Option<std::time::Duration>,
}

/// `pattern_dir`: where ACLs' `-f` pattern files are read from (the config file's directory).
pub(super) fn http_config(
    c: &mut Checker,
    raw: &RawConfig,
    frontends: &[Frontend],
    backends: &[Backend],
    pattern_dir: &std::path::Path,
) -> HttpConfig {
    let d = &raw.defaults;
    for (field, set) in [
        ("acls", !d.acls.is_empty()),
        ("use_backend", !d.use_backend.is_empty()),
        ("http_request", !d.http_request.is_empty()),
        ("http_response", !d.http_response.is_empty()),
        ("tcp_request_connection", !d.tcp_request_connection.is_empty()),
        ("tcp_request_session", !d.tcp_request_session.is_empty()),
        ("tcp_request_content", !d.tcp_request_content.is_empty()),
        ("tcp_response_content", !d.tcp_response_content.is_empty()),
    ] {
        if set {
            c.error(format!("defaults.{field}"), format!("`{field}` is not allowed in defaults; put it in a frontend, listen or backend"));
        }
    }
    let inherited = Inherited {
        forwardfor: d.forwardfor.as_ref().and_then(|f| forwardfor(c, "defaults", f)),
        connection: d.http_connection.map(conn_mode),
        errorfiles: errorfiles(c, "defaults", &d.errorfiles),
        cookie: d.cookie.as_ref().and_then(|k| cookie(c, "defaults", k)),
        persist: d.persist,
        reuse: d.http_reuse.map(reuse_mode),
        prefer_last_server: d.prefer_last_server,
        inspect_delay: c.opt_duration("defaults.tcp_request_inspect_delay", d.tcp_request_inspect_delay.as_ref()),
        response_inspect_delay: c.opt_duration("defaults.tcp_response_inspect_delay", d.tcp_response_inspect_delay.as_ref()),
    };
    let backend_ids: HashMap<&str, usize> = backends.iter().enumerate().rev().map(|(i, b)| (b.name.as_str(), i)).collect();

    let mut http = HttpConfig::default();
    let sticks = super::stick_table::names(raw);
    let front_sections = raw
        .listen
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lvs.is_none())
        .map(|(i, p)| (Section::Listen, i, p))
        .chain(raw.frontend.iter().enumerate().map(|(i, p)| (Section::Frontend, i, p)));
    // LVS listens have no frontend (no user-space listener): they are not among `frontends`.
    for ((section, i, p), fe) in front_sections.zip(frontends) {
        let path = format!("{}[{i}]", section.key());
        let (acls, request_rules, response_rules) = proxy_rules(c, &path, p, pattern_dir, &sticks);
        let mut use_backend = Vec::new();
        let mut table = acls;
        for (j, u) in p.use_backend.iter().enumerate() {
            let up = format!("{path}.use_backend[{j}]");
            let Some(&backend) = backend_ids.get(u.backend.as_str()) else {
                c.error(format!("{up}.backend"), format!("no backend named {:?}", u.backend));
                continue;
            };
            if fe.mode == Mode::Http && backends[backend].mode != Mode::Http {
                c.error(
                    format!("{up}.backend"),
                    format!("backend {:?} is in tcp mode; an http frontend can only use http backends", u.backend),
                );
            }
            let cond = match &u.cond {
                None => None,
                Some(text) => match split_words(text).and_then(|w| parse_cond(&w, &mut table)) {
                    Ok(cond) => Some(cond),
                    Err(e) => {
                        c.error(format!("{up}.cond"), e);
                        None
                    }
                },
            };
            use_backend.push(UseBackend { backend, cond });
        }
        let mut tcp_connection = Vec::new();
        for (j, line) in p.tcp_request_connection.iter().enumerate() {
            match parse_tcp_connection_rule(line, &mut table) {
                Ok(r) => tcp_connection.push(r),
                Err(e) => c.error(format!("{path}.tcp_request_connection[{j}]"), e),
            }
        }
        let mut tcp_session = Vec::new();
        for (j, line) in p.tcp_request_session.iter().enumerate() {
            match parse_tcp_session_rule(line, &mut table) {
                Ok(r) => tcp_session.push(r),
                Err(e) => c.error(format!("{path}.tcp_request_session[{j}]"), e),
            }
        }
        let mut tcp_content = Vec::new();
        for (j, line) in p.tcp_request_content.iter().enumerate() {
            match parse_tcp_content_rule(line, &mut table) {
                Ok(r) => tcp_content.push(r),
                Err(e) => c.error(format!("{path}.tcp_request_content[{j}]"), e),
            }
        }
        let inspect_delay = c
            .opt_duration(&format!("{path}.tcp_request_inspect_delay"), p.tcp_request_inspect_delay.as_ref())
            .or(inherited.inspect_delay)
            .unwrap_or_default();
        if section == Section::Frontend {
            reject_backend_only(c, &path, p);
            super::tcp_response::reject_in_frontend(c, &path, p);
        }
        if fe.mode == Mode::Tcp {
            warn_tcp(c, &path, p);
        }
        let mut acls = table.into_acls();
        resolve_nbsrv(c, &path, &p.name, &mut acls, backends, &backend_ids);
        check_layers(c, &path, fe.mode, &acls, &use_backend, &request_rules, &response_rules, [&tcp_connection, &tcp_session]);
        super::tcp_content::check_content_rules(c, &path, fe.mode, p, &acls, &tcp_content, inspect_delay);
        http.frontends.push(FrontendHttp {
            tcp_connection,
            tcp_session,
            tcp_content,
            inspect_delay,
            acls,
            use_backend,
            request_rules,
            response_rules,
            forwardfor: own_forwardfor(c, &path, p, &inherited),
            connection: p.http_connection.map(conn_mode).or(inherited.connection).unwrap_or_default(),
            errorfiles: merge_errorfiles(errorfiles(c, &path, &p.errorfiles), &inherited.errorfiles),
            listen_backend: if section == Section::Listen { backend_ids.get(p.name.as_str()).copied() } else { None },
            timeout_tarpit: tarpit_timeout(c, &path, p, d),
        });
    }

    let mut seen: HashSet<&str> = HashSet::new();
    let back_sections = raw
        .listen
        .iter()
        .enumerate()
        .map(|(i, p)| (Section::Listen, i, p))
        .chain(raw.backend.iter().enumerate().map(|(i, p)| (Section::Backend, i, p)));
    for (section, i, p) in back_sections {
        // Mirrors the L4 pass: a duplicate name was reported there and built no backend.
        if !seen.insert(p.name.as_str()) {
            continue;
        }
        let path = format!("{}[{i}]", section.key());
        let Some(be) = backends.get(http.backends.len()) else { break };
        if section == Section::Backend {
            if !p.use_backend.is_empty() {
                c.error(format!("{path}.use_backend"), "`use_backend` is not allowed in a backend");
            }
            if !p.tcp_request_connection.is_empty() {
                c.error(format!("{path}.tcp_request_connection"), "`tcp_request_connection` is not allowed in a backend");
            }
            if !p.tcp_request_session.is_empty() {
                c.error(format!("{path}.tcp_request_session"), "`tcp_request_session` is not allowed in a backend");
            }
            if !p.tcp_request_content.is_empty() {
                c.error(
                    format!("{path}.tcp_request_content"),
                    "`tcp_request_content` in a backend is not supported; put the rules in the frontend or listen that uses it",
                );
            }
            if p.tcp_request_inspect_delay.is_some() {
                c.warn(format!("{path}.tcp_request_inspect_delay"), "`tcp_request_inspect_delay` has no effect in a backend");
            }
            if be.mode == Mode::Tcp {
                warn_tcp(c, &path, p);
            }
        }
        // A listen's rules were checked (and reported) with its frontend half; parse them
        // again quietly for the backend half.
        let (acls, request_rules, response_rules) = if section == Section::Listen {
            let mut quiet = Checker::default();
            proxy_rules(&mut quiet, &path, p, pattern_dir, &sticks)
        } else {
            proxy_rules(c, &path, p, pattern_dir, &sticks)
        };
        let cookie_cfg = match &p.cookie {
            Some(k) => cookie(c, &path, k),
            None => inherited.cookie.clone(),
        };
        if let Some(k) = &cookie_cfg {
            check_server_cookies(c, &path, p, be, k);
        }
        let mut table = acls;
        let stick_rules = super::stick_table::parse_rules(c, &path, p, &sticks, &mut table);
        let tcp_response = super::tcp_response::parse_rules(c, &path, p, &mut table);
        let response_inspect_delay = c
            .opt_duration(&format!("{path}.tcp_response_inspect_delay"), p.tcp_response_inspect_delay.as_ref())
            .or(inherited.response_inspect_delay)
            .unwrap_or_default();
        let mut acls = table.into_acls();
        super::tcp_response::check_rules(c, &path, be.mode, p, &acls, &tcp_response, response_inspect_delay);
        // A listen's ACLs were checked (and reported) as its frontend half.
        let mut quiet = Checker::default();
        resolve_nbsrv(if section == Section::Listen { &mut quiet } else { c }, &path, &p.name, &mut acls, backends, &backend_ids);
        if be.mode == Mode::Http && section == Section::Backend {
            check_layers(c, &path, Mode::Http, &acls, &[], &request_rules, &response_rules, [&[], &[]]);
        }
        let quiet_fe = section == Section::Listen;
        let mut scratch = Checker::default();
        let ck: &mut Checker = if quiet_fe { &mut scratch } else { c };
        http.backends.push(BackendHttp {
            stick_rules,
            acls,
            request_rules,
            response_rules,
            forwardfor: own_forwardfor(ck, &path, p, &inherited),
            connection: p.http_connection.map(conn_mode).or(inherited.connection).unwrap_or_default(),
            errorfiles: merge_errorfiles(errorfiles(ck, &path, &p.errorfiles), &inherited.errorfiles),
            cookie: cookie_cfg,
            persist: p.persist.or(inherited.persist).unwrap_or(false),
            timeout_tunnel: c
                .opt_duration(&format!("{path}.timeout.tunnel"), super::inherit_timeouts(&p.timeout, &d.timeout).tunnel.as_ref()),
            reuse: p.http_reuse.map(reuse_mode).or(inherited.reuse).unwrap_or_default(),
            prefer_last_server: p.prefer_last_server.or(inherited.prefer_last_server).unwrap_or(false),
            tcp_response,
            response_inspect_delay,
            timeout_tarpit: tarpit_timeout(&mut Checker::default(), &path, p, d),
        });
    }
    http
}

/// Points each `nbsrv(NAME)`, `srv_is_up([NAME/]SERVER)` and `connslots([NAME])` test at its
/// backend and server; a missing name is the proxy's own (`proxy`), as HAProxy's default
/// argument is the current proxy.
fn resolve_nbsrv(c: &mut Checker, path: &str, proxy: &str, acls: &mut [Acl], backends: &[Backend], backend_ids: &HashMap<&str, usize>) {
    for acl in acls {
        for test in &mut acl.tests {
            match test {
                AclTest::Nbsrv { backend, id, .. } => match backend_ids.get(backend.as_str()) {
                    Some(&i) => *id = i,
                    None => c.error(format!("{path}.acls"), format!("ACL {:?}: nbsrv({backend}): no backend named {backend:?}", acl.name)),
                },
                AclTest::SrvIsUp { backend, server, id } => {
                    let name = backend.as_deref().unwrap_or(proxy);
                    let found =
                        backend_ids.get(name).and_then(|&b| Some((b, backends.get(b)?.servers.iter().position(|s| s.name == *server)?)));
                    match found {
                        Some(ids) => *id = ids,
                        None => c.error(
                            format!("{path}.acls"),
                            format!("ACL {:?}: srv_is_up: no server {server:?} in a backend named {name:?}", acl.name),
                        ),
                    }
                }
                AclTest::ConnSlots { backend, id, .. } => {
                    match (backend.as_deref(), backend_ids.get(backend.as_deref().unwrap_or(proxy))) {
                        (_, Some(&i)) => *id = Some(i),
                        (Some(name), None) => {
                            c.error(format!("{path}.acls"), format!("ACL {:?}: connslots({name}): no backend named {name:?}", acl.name))
                        }
                        // A frontend's own proxy has no servers: HAProxy counts 0 slots.
                        (None, None) => *id = None,
                    }
                }
                _ => {}
            }
        }
    }
}

/// What each rule may look at: `tcp-request connection` and mode tcp see a connection before
/// any data (HAProxy refuses layer-7 fetches there); HTTP rules see the connection and the
/// request's head, but not the raw bytes `req.len` and `req.payload*` read.
#[allow(clippy::too_many_arguments)]
fn check_layers(
    c: &mut Checker,
    path: &str,
    mode: Mode,
    acls: &[Acl],
    use_backend: &[UseBackend],
    request: &[HttpRule<RequestAction>],
    response: &[HttpRule<ResponseAction>],
    tcp_connection: [&[TcpRule]; 2],
) {
    let acls_of = |cond: Option<&Cond>| -> Vec<&Acl> {
        cond.map(|c| c.any_of.iter().flatten().filter_map(|r| acls.get(r.acl)).collect()).unwrap_or_default()
    };
    let need_l4 = |c: &mut Checker, field: String, cond: Option<&Cond>| {
        for acl in acls_of(cond) {
            if !acl.tests.iter().all(AclTest::is_layer4) {
                c.error(
                    field.clone(),
                    format!(
                        "ACL {:?} reads the request (layer 7), which this rule runs before; only layer-4 fetches can be used",
                        acl.name
                    ),
                );
            }
        }
    };
    for (field, rules) in ["tcp_request_connection", "tcp_request_session"].iter().zip(tcp_connection) {
        for (j, r) in rules.iter().enumerate() {
            need_l4(c, format!("{path}.{field}[{j}]"), r.cond.as_ref());
        }
    }
    if mode == Mode::Tcp {
        // `use_backend` runs after the content rules, so it may also read the request's
        // first bytes (HAProxy's switching rules see what inspection waited for).
        for (j, u) in use_backend.iter().enumerate() {
            for acl in acls_of(u.cond.as_ref()) {
                if acl.tests.iter().any(AclTest::is_response_content) {
                    c.error(format!("{path}.use_backend[{j}]"), super::tcp_response::response_only(&acl.name));
                } else if !acl.tests.iter().all(|t| t.is_layer4() || t.is_content() || t.is_tls()) {
                    c.error(
                        format!("{path}.use_backend[{j}]"),
                        format!(
                            "ACL {:?} reads HTTP (layer 7), which mode tcp does not parse; only layer-4 fetches, req.len and \
                             req.payload*, req.ssl_sni and req.ssl_hello_type can be used",
                            acl.name
                        ),
                    );
                }
            }
        }
        return;
    }
    let conds = use_backend
        .iter()
        .enumerate()
        .map(|(j, u)| (format!("use_backend[{j}]"), u.cond.as_ref()))
        .chain(request.iter().enumerate().map(|(j, r)| (format!("http_request[{j}]"), r.cond.as_ref())))
        .chain(response.iter().enumerate().map(|(j, r)| (format!("http_response[{j}]"), r.cond.as_ref())));
    for (field, cond) in conds {
        for acl in acls_of(cond) {
            if acl.tests.iter().any(AclTest::is_content) {
                c.error(
                    format!("{path}.{field}"),
                    format!(
                        "ACL {:?}: req.len, req.payload*, req.ssl_sni and req.ssl_hello_type are supported in mode tcp only, not in HTTP \
                         rules",
                        acl.name
                    ),
                );
            }
            if acl.tests.iter().any(AclTest::is_response_content) {
                c.error(format!("{path}.{field}"), super::tcp_response::response_only(&acl.name));
            }
        }
    }
}

/// ACLs and http rules of one section.
fn proxy_rules(
    c: &mut Checker,
    path: &str,
    p: &RawProxy,
    pattern_dir: &std::path::Path,
    sticks: &[String],
) -> (AclTable, Vec<HttpRule<RequestAction>>, Vec<HttpRule<ResponseAction>>) {
    let mut table = AclTable::with_pattern_dir(pattern_dir);
    table.set_stick_scope(crate::config::stick_syntax::StickScope::new(sticks.to_vec(), &p.name));
    for (j, a) in p.acls.iter().enumerate() {
        let ap = format!("{path}.acls[{j}]");
        if a.name.is_empty() || !a.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch)) {
            c.error(format!("{ap}.name"), format!("invalid ACL name {:?}: use letters, digits, '-', '_', '.', ':'", a.name));
            continue;
        }
        match split_words(&a.criterion).and_then(|w| table.criterion(&w)) {
            Ok(test) => table.define(&a.name, test),
            Err(e) => c.error(format!("{ap}.criterion"), e),
        }
    }
    let mut request = Vec::new();
    for (j, line) in p.http_request.iter().enumerate() {
        match parse_request_rule(line, &mut table) {
            Ok(r) => request.push(r),
            Err(e) => c.error(format!("{path}.http_request[{j}]"), e),
        }
    }
    let mut response = Vec::new();
    for (j, line) in p.http_response.iter().enumerate() {
        match parse_response_rule(line, &mut table) {
            Ok(r) => response.push(r),
            Err(e) => c.error(format!("{path}.http_response[{j}]"), e),
        }
    }
    (table, request, response)
}

fn reject_backend_only(c: &mut Checker, path: &str, p: &RawProxy) {
    for (field, set) in [
        ("cookie", p.cookie.is_some()),
        ("persist", p.persist.is_some()),
        ("http_reuse", p.http_reuse.is_some()),
        ("prefer_last_server", p.prefer_last_server.is_some()),
    ] {
        if set {
            c.error(format!("{path}.{field}"), format!("`{field}` is not allowed in a frontend; put it in the backend"));
        }
    }
}

/// HTTP settings written in a tcp-mode section are ignored, as HAProxy ignores them (with a
/// warning). `use_backend` switches TCP connections on layer-4 ACLs (see [`check_layers`]).
fn warn_tcp(c: &mut Checker, path: &str, p: &RawProxy) {
    if !p.acls.is_empty()
        && p.use_backend.is_empty()
        && p.tcp_request_connection.is_empty()
        && p.tcp_request_session.is_empty()
        && p.tcp_request_content.is_empty()
        && p.tcp_response_content.is_empty()
    {
        c.warn(format!("{path}.acls"), "`acls` are used by no rule hakeeper applies in mode tcp");
    }
    for (field, set) in [
        ("http_request", !p.http_request.is_empty()),
        ("http_response", !p.http_response.is_empty()),
        ("cookie", p.cookie.is_some()),
        ("forwardfor", p.forwardfor.is_some()),
        ("http_connection", p.http_connection.is_some()),
        ("errorfiles", !p.errorfiles.is_empty()),
        ("http_reuse", p.http_reuse.is_some()),
        ("prefer_last_server", p.prefer_last_server.is_some()),
    ] {
        if set {
            c.warn(format!("{path}.{field}"), format!("`{field}` is ignored in mode tcp: it needs mode http"));
        }
    }
}

/// `timeout tarpit`, else the section's `timeout connect` (HAProxy's check_config_validity()
/// gives a proxy without a tarpit timeout its connect timeout), else hakeeper's connect default.
/// A bad value is reported once, for the frontend half of a section.
fn tarpit_timeout(c: &mut Checker, path: &str, p: &RawProxy, d: &RawProxy) -> std::time::Duration {
    let t = super::inherit_timeouts(&p.timeout, &d.timeout);
    let connect = t.connect.as_deref().and_then(|v| crate::duration::parse_duration(v).ok()).unwrap_or(std::time::Duration::from_secs(5));
    c.opt_duration(&format!("{path}.timeout.tarpit"), t.tarpit.as_ref()).unwrap_or(connect)
}

fn reuse_mode(m: RawHttpReuse) -> HttpReuse {
    match m {
        RawHttpReuse::Never => HttpReuse::Never,
        RawHttpReuse::Safe => HttpReuse::Safe,
        RawHttpReuse::Aggressive => HttpReuse::Aggressive,
        RawHttpReuse::Always => HttpReuse::Always,
    }
}

fn conn_mode(m: RawHttpConnection) -> HttpConnMode {
    match m {
        RawHttpConnection::KeepAlive => HttpConnMode::KeepAlive,
        RawHttpConnection::ServerClose => HttpConnMode::ServerClose,
        RawHttpConnection::Close => HttpConnMode::Close,
    }
}

fn own_forwardfor(c: &mut Checker, path: &str, p: &RawProxy, inherited: &Inherited) -> Option<ForwardFor> {
    match &p.forwardfor {
        Some(f) => forwardfor(c, path, f),
        None => inherited.forwardfor.clone(),
    }
}

fn forwardfor(c: &mut Checker, path: &str, f: &RawForwardFor) -> Option<ForwardFor> {
    let except = match f.except.as_deref().map(parse_net) {
        None => None,
        Some(Ok(net)) => Some(net),
        Some(Err(e)) => {
            c.error(format!("{path}.forwardfor.except"), e);
            return None;
        }
    };
    let header = f.header.clone().unwrap_or_else(|| "X-Forwarded-For".into());
    if header.is_empty() || !header.bytes().all(is_token_byte) {
        c.error(format!("{path}.forwardfor.header"), format!("invalid header name {header:?}"));
        return None;
    }
    Some(ForwardFor { except, header, if_none: f.if_none })
}

/// RFC 6265 cookie-octets: what a cookie name or value may hold without quoting.
fn is_cookie_octet(ch: char) -> bool {
    ch.is_ascii_graphic() && !matches!(ch, '"' | ',' | ';' | '\\')
}

fn cookie(c: &mut Checker, path: &str, k: &RawCookie) -> Option<CookiePersistence> {
    if k.name.is_empty() || !k.name.bytes().all(is_token_byte) {
        c.error(format!("{path}.cookie.name"), format!("invalid cookie name {:?}", k.name));
        return None;
    }
    if let Some(domain) = &k.domain {
        if domain.is_empty() || !domain.chars().all(is_cookie_octet) {
            c.error(format!("{path}.cookie.domain"), format!("invalid cookie domain {domain:?}"));
        }
    }
    let mode = match k.mode {
        Some(RawCookieMode::Insert) => CookieMode::Insert,
        Some(RawCookieMode::Prefix) => CookieMode::Prefix,
        Some(RawCookieMode::Rewrite) => CookieMode::Rewrite,
        None => CookieMode::Passive,
    };
    if k.nocache && mode != CookieMode::Insert {
        c.warn(format!("{path}.cookie.nocache"), "nocache only acts in insert mode");
    }
    Some(CookiePersistence {
        name: k.name.clone(),
        mode,
        indirect: k.indirect,
        nocache: k.nocache,
        preserve: k.preserve,
        httponly: k.httponly,
        secure: k.secure,
        domain: k.domain.clone(),
    })
}

fn check_server_cookies(c: &mut Checker, path: &str, p: &RawProxy, be: &Backend, k: &CookiePersistence) {
    let mut values: HashMap<&str, usize> = HashMap::new();
    for (i, s) in be.servers.iter().enumerate() {
        let Some(v) = s.cookie.as_deref() else { continue };
        let sp = format!("{path}.servers[{i}].cookie");
        if v.is_empty() || !v.chars().all(is_cookie_octet) {
            c.error(sp, format!("invalid cookie value {v:?}: no blanks, quotes, commas, semicolons or backslashes"));
        } else if k.mode == CookieMode::Prefix && v.contains('~') {
            c.error(sp, format!("cookie value {v:?} contains '~', the prefix delimiter"));
        } else if let Some(prev) = values.insert(v, i) {
            c.error(sp, format!("cookie value {v:?} is also the cookie of servers[{prev}]: persistence could not tell them apart"));
        }
    }
    if !be.servers.is_empty() && be.servers.iter().all(|s| s.cookie.is_none()) && p.cookie.is_some() {
        c.warn(format!("{path}.cookie"), "no server has a `cookie` value: no persistence cookie is ever set");
    }
}

fn errorfiles(c: &mut Checker, path: &str, list: &[RawErrorFile]) -> Vec<ErrorFile> {
    let mut out: Vec<ErrorFile> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let ep = format!("{path}.errorfiles[{i}]");
        if !ERROR_CODES.contains(&e.code) {
            c.error(format!("{ep}.code"), format!("errorfile code {} is not one of {ERROR_CODES:?}", e.code));
            continue;
        }
        if e.file.is_empty() {
            c.error(format!("{ep}.file"), "errorfile needs a file");
            continue;
        }
        if out.iter().any(|o| o.code == e.code) {
            c.error(format!("{ep}.code"), format!("a second errorfile for {}", e.code));
            continue;
        }
        out.push(ErrorFile { code: e.code, path: PathBuf::from(&e.file), field: format!("{ep}.file"), response: None });
    }
    out
}

/// A proxy's own errorfiles, then the inherited ones for the codes it does not set.
fn merge_errorfiles(mut own: Vec<ErrorFile>, inherited: &[ErrorFile]) -> Vec<ErrorFile> {
    for e in inherited {
        if !own.iter().any(|o| o.code == e.code) {
            own.push(e.clone());
        }
    }
    own
}
