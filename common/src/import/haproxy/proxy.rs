//! Keywords of `defaults`, `frontend`, `backend` and `listen`.

use super::section::{directive, Kind, Section};
use super::server::{self, Address};
use super::{bind, check, http_options, http_rules, lossy, stats, Ctx};
use crate::config::raw::{RawBalance, RawBind, RawHashType, RawHealthCheck, RawHttpConnection, RawLogFormat, RawMode, RawTimeouts};
use crate::import::units::{haproxy_time, number};

/// HTTP features the RON config cannot hold yet: each such directive gets a "not translated yet"
/// line.
const HTTP_KEYWORDS: &[&str] = &[
    "use-server",
    "http-after-response",
    "http-error",
    "http-send-name-header",
    "errorfiles",
    "errorloc",
    "errorloc302",
    "errorloc303",
    "capture",
    "compression",
    "monitor-uri",
    "monitor",
    "unique-id-format",
    "unique-id-header",
    "reqadd",
    "rspadd",
    "filter",
    "force-persist",
    "ignore-persist",
];

const HTTP_OPTIONS: &[&str] = &[
    "originalto",
    "forceclose",
    "http-buffer-request",
    "http-pretend-keepalive",
    "http-no-delay",
    "http-use-proxy-header",
    "http-ignore-probes",
    "http-restrict-req-hdr-names",
    "accept-invalid-http-request",
    "accept-invalid-http-response",
    "checkcache",
    "h1-case-adjust-bogus-client",
    "h1-case-adjust-bogus-server",
];

/// Health checks RawHealthCheck has no kind for; servers are checked by TCP connect instead.
const OTHER_CHECKS: &[&str] =
    &["tcp-check", "ssl-hello-chk", "smtpchk", "ldap-check", "pgsql-check", "redis-check", "external-check", "spop-check"];

pub fn keyword(ctx: &mut Ctx, s: &mut Section, n: usize, words: &[String]) {
    let what = directive(words);
    let (negate, words) = match words[0].as_str() {
        "no" if words.len() > 1 => (true, &words[1..]),
        _ => (false, words),
    };
    let kw = words[0].as_str();
    // Rules may name `-f` pattern files: read (to check them) from haproxy.cfg's directory,
    // and written with absolute paths, since the RON may be loaded from elsewhere.
    let rule_words;
    let args = if matches!(kw, "acl" | "use_backend" | "http-request" | "http-response" | "redirect" | "tcp-request" | "tcp-response") {
        let dir = std::path::Path::new(&ctx.file).parent().unwrap_or(std::path::Path::new(""));
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        s.acl_table.set_pattern_dir(&dir);
        rule_words = http_rules::absolute_pattern_files(&words[1..], &dir);
        &rule_words[..]
    } else {
        &words[1..]
    };
    let arg = args.first().map(String::as_str);
    if negate && !matches!(kw, "option" | "log") {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated"));
        return;
    }
    // HAProxy rejects extra words after these; the importer says it ignored them.
    if matches!(kw, "mode" | "maxconn" | "retries" | "default_backend" | "log") && args.len() > 1 && !(kw == "log" && arg != Some("global"))
    {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: extra words `{}` not translated", directive(&args[1..])));
    }
    let p = &mut s.proxy;
    match (kw, arg) {
        ("mode", Some("tcp")) => p.mode = Some(RawMode::Tcp),
        ("mode", Some("http")) => p.mode = Some(RawMode::Http),
        ("balance", Some(_)) => balance(ctx, s, n, args),
        ("hash-type", Some(_)) => hash_type(ctx, s, n, args),
        ("maxconn", Some(v)) => match number(v, "maxconn") {
            Ok(v) => p.maxconn = Some(v),
            Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated")),
        },
        ("retries", Some(v)) => match number(v, "retries") {
            Ok(v) => p.retries = Some(v),
            Err(e) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated")),
        },
        ("timeout", Some(_)) => timeout(ctx, s, n, args),
        ("option", Some(_)) => option(ctx, s, n, negate, args),
        ("log", None) if negate => p.log = Some(false),
        ("log", Some("global")) if !negate => p.log = Some(true),
        ("log", Some(_)) if !negate => {
            p.log = Some(true);
            ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`{what}`: per-proxy log targets are not translated; this proxy logs to the global target"),
            );
        }
        ("default_backend", Some(v)) if s.kind != Kind::Backend => p.default_backend = Some(v.to_string()),
        ("bind", _) if s.kind.listens() => bind_line(ctx, s, n, args),
        ("server", Some(_)) if s.kind.serves() => server_line(ctx, s, n, args),
        ("default-server", Some(_)) if s.kind != Kind::Frontend => {
            let out = server::parse_params(&mut s.default_server, args, false);
            report_server_params(ctx, n, "default-server", out);
        }
        ("http-check", Some(_)) => check::http_check(ctx, s, n, args),
        ("stick", Some("on" | "match" | "store-request" | "store-response")) if s.kind.serves() => {
            super::stick::stick_rule(ctx, s, n, args)
        }
        ("stick-table", Some(_)) if s.kind != Kind::Defaults => super::stick::stick_table(ctx, s, n, args),
        ("stats", Some(_)) => stats::keyword(ctx, s, n, args),
        ("acl", Some(_)) => http_rules::acl(ctx, s, n, args),
        ("use_backend", Some(_)) => http_rules::use_backend(ctx, s, n, args),
        ("http-request", Some(_)) => http_rules::http_rule(ctx, s, n, args, false),
        ("redirect", Some(_)) => http_rules::legacy_redirect(ctx, s, n, args),
        ("http-response", Some(_)) => http_rules::http_rule(ctx, s, n, args, true),
        ("cookie", Some(_)) => http_options::cookie(ctx, s, n, args),
        ("errorfile", Some(_)) => http_options::errorfile(ctx, s, n, args),
        ("http-reuse", Some(_)) => http_options::http_reuse(ctx, s, n, args),
        ("disabled", None) => ctx.notes.lossy(
            &ctx.file,
            n,
            format!("`disabled` would have kept {} {} stopped", s.kind.word(), s.name),
            "hakeeper has no disabled proxies: it would serve it",
        ),
        ("use-server", _) => ctx.notes.lossy(
            &ctx.file,
            n,
            format!("`{what}` would have sent matching requests to server {}", arg.unwrap_or_default()),
            "hakeeper has no `use-server` rules yet",
        ),
        _ if HTTP_KEYWORDS.contains(&kw) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated yet (HTTP feature)")),
        ("tcp-request", _) => http_rules::tcp_request(ctx, s, n, args),
        ("tcp-response", _) => http_rules::tcp_response(ctx, s, n, args),
        _ if lossy::REMOVED_ACCESS.contains(&kw) => lossy::report(ctx, n, words, lossy::REMOVED_WHY, format!("`{what}` not translated")),
        ("bind" | "server" | "default-server" | "default_backend" | "stick" | "stick-table", _) => ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{what}` is not allowed in a {} section (HAProxy rejects it); not translated", s.kind.word()),
        ),
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated")),
    }
}

fn balance(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let algo = args[0].as_str();
    let extra = &args[1..];
    let b = match algo {
        "roundrobin" => RawBalance::Roundrobin,
        "static-rr" => RawBalance::StaticRr,
        "leastconn" => RawBalance::Leastconn,
        "first" => RawBalance::First,
        "source" => RawBalance::Source,
        "random" | "random(2)" => RawBalance::Random,
        "uri" => RawBalance::Uri,
        "url_param" if !extra.is_empty() => {
            let b = RawBalance::UrlParam(extra[0].clone());
            report_balance_extra(ctx, n, &extra[1..]);
            s.proxy.balance = Some(b);
            return;
        }
        _ => match algo.strip_prefix("hdr(").and_then(|h| h.strip_suffix(')')) {
            Some(h) if !h.is_empty() => RawBalance::Hdr(h.to_string()),
            _ => {
                ctx.notes.untranslated(&ctx.file, n, format!("`balance {}` not translated", directive(args)));
                return;
            }
        },
    };
    report_balance_extra(ctx, n, extra);
    s.proxy.balance = Some(b);
}

fn report_balance_extra(ctx: &mut Ctx, n: usize, extra: &[String]) {
    if !extra.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("balance options not translated: {}", directive(extra)));
    }
}

fn hash_type(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let t = match args[0].as_str() {
        "map-based" => RawHashType::MapBased,
        "consistent" => RawHashType::Consistent,
        _ => {
            ctx.notes.untranslated(&ctx.file, n, format!("`hash-type {}` not translated", directive(args)));
            return;
        }
    };
    // sdbm is HAProxy's default function; hakeeper has its own hash.
    if args.len() > 1 && !(args.len() == 2 && args[1] == "sdbm") {
        ctx.notes.untranslated(&ctx.file, n, format!("hash function `{}` not translated", directive(&args[1..])));
    }
    s.proxy.hash_type = Some(t);
}

fn timeout(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let what = format!("timeout {}", directive(args));
    let [name, value] = args else {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: expected a name and a time; not translated"));
        return;
    };
    let value = match haproxy_time(value) {
        Ok(v) => v,
        Err(e) => {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated"));
            return;
        }
    };
    let t = s.proxy.timeout.get_or_insert_with(RawTimeouts::default);
    let field = match name.as_str() {
        "connect" => &mut t.connect,
        "client" => &mut t.client,
        "server" => &mut t.server,
        "queue" => &mut t.queue,
        "check" => &mut t.check,
        "http-request" => &mut t.http_request,
        "http-keep-alive" => &mut t.http_keep_alive,
        "tunnel" => &mut t.tunnel,
        "tarpit" => &mut t.tarpit,
        _ => {
            if *t == RawTimeouts::default() {
                s.proxy.timeout = None;
            }
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated"));
            return;
        }
    };
    *field = Some(value);
}

fn option(ctx: &mut Ctx, s: &mut Section, n: usize, negate: bool, args: &[String]) {
    let what = format!("{}option {}", if negate { "no " } else { "" }, directive(args));
    let name = args[0].as_str();
    let rest = &args[1..];
    let p = &mut s.proxy;
    match name {
        "redispatch" => {
            p.redispatch = Some(!negate);
            match rest.first().map(String::as_str) {
                None | Some("-1") => {}
                Some("0") => p.redispatch = Some(false),
                Some(_) => ctx.notes.untranslated(
                    &ctx.file,
                    n,
                    format!("`{what}`: a redispatch interval is not translated; hakeeper redispatches on the last retry"),
                ),
            }
        }
        "abortonclose" => p.abortonclose = Some(!negate),
        "allbackups" => p.allbackups = Some(!negate),
        "dontlognull" => p.dontlognull = Some(!negate),
        "tcplog" | "httplog" if negate => p.log_format = None,
        "tcplog" => p.log_format = Some(RawLogFormat::Tcplog),
        "httplog" => {
            p.log_format = Some(RawLogFormat::Httplog);
            if !rest.is_empty() {
                ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: log format variant not translated"));
            }
        }
        "httpchk" | "mysql-check" if negate => p.health_check = None,
        "httpchk" => check::httpchk(ctx, s, n, rest),
        "mysql-check" => check::mysql_check(ctx, s, n, rest),
        "forwardfor" => http_options::forwardfor(ctx, s, n, negate, rest),
        "http-keep-alive" | "http-server-close" | "httpclose" if !rest.is_empty() => {
            ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: unexpected arguments; not translated"))
        }
        "http-keep-alive" => http_options::connection(s, negate, RawHttpConnection::KeepAlive),
        "http-server-close" => http_options::connection(s, negate, RawHttpConnection::ServerClose),
        "httpclose" => http_options::connection(s, negate, RawHttpConnection::Close),
        "persist" => http_options::persist(ctx, s, n, negate),
        "prefer-last-server" if s.kind == Kind::Frontend => ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{what}` in a frontend not translated: HAProxy ignores it there (it needs a backend)"),
        ),
        "prefer-last-server" => p.prefer_last_server = Some(!negate),
        _ if OTHER_CHECKS.contains(&name) && !negate => {
            p.health_check = Some(RawHealthCheck::Tcp);
            ctx.notes.untranslated(
                &ctx.file,
                n,
                format!("`{what}` not translated yet: servers with `check` are checked by a TCP connect instead"),
            );
        }
        _ if HTTP_OPTIONS.contains(&name) => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated yet (HTTP feature)")),
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated")),
    }
}

fn bind_line(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let mut b = bind::parse(args);
    for e in std::mem::take(&mut b.bad_addrs) {
        ctx.notes.untranslated(&ctx.file, n, e);
    }
    accept_proxy(ctx, s, n, args, &mut b);
    listener_id(ctx, s, n, &mut b);
    let ssl = match super::bind_ssl::translate(&b.options, &ctx.bind_tls) {
        Ok(Some((ssl, rest))) => {
            b.options = rest;
            Some(ssl)
        }
        Ok(None) => None,
        Err(e) => {
            // Not bound at all rather than bound without the TLS the clients expect.
            ctx.notes.lossy(&ctx.file, n, format!("`bind {}` would have accepted TLS connections", directive(args)), e);
            return;
        }
    };
    let proto = super::h2::bind_proto(ctx, n, args, &mut b.options);
    if let Some(i) = b.options.iter().position(|o| o == "interface" || o == "namespace") {
        // Without it the address is reachable from every interface (or the host's namespace).
        ctx.notes.lossy(
            &ctx.file,
            n,
            format!(
                "`bind {}` would have accepted connections only through {} {}",
                directive(args),
                b.options[i],
                b.options.get(i + 1).map(String::as_str).unwrap_or("")
            ),
            "hakeeper binds no listener to an interface or namespace",
        );
    } else if !b.options.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("bind options not translated: {}", directive(&b.options)));
    }
    s.proxy.bind.extend(b.addrs.into_iter().map(|addr| RawBind { addr, ssl: ssl.clone(), proto }));
}

/// `id N` on a bind: hakeeper numbers a section's binds from 1 in order (HAProxy's numbering
/// without `id`), which `so_id` reads; the same number is kept silently, another is reported.
fn listener_id(ctx: &mut Ctx, s: &Section, n: usize, b: &mut bind::Bind) {
    let Some(i) = b.options.iter().position(|o| o == "id") else { return };
    let value = b.options.get(i + 1).cloned().unwrap_or_default();
    b.options.drain(i..(i + 2).min(b.options.len()));
    let position = s.proxy.bind.len() + 1;
    if value.parse::<usize>().ok() != Some(position) || b.addrs.len() > 1 {
        ctx.notes.untranslated(
            &ctx.file,
            n,
            format!(
                "bind option `id {value}` not kept: hakeeper numbers a section's binds from 1 in order, so `so_id` sees {position} \
                 for this bind"
            ),
        );
    }
}

/// `accept-proxy`: hakeeper's `accept_proxy` covers all binds of a section, so the first bind
/// line decides and a later one that differs is lossy (either real clients would be refused, or
/// any client could claim any source address).
fn accept_proxy(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String], b: &mut bind::Bind) {
    let before = b.options.len();
    b.options.retain(|o| o != "accept-proxy");
    let wants = b.options.len() != before;
    let first = s.proxy.bind.is_empty();
    let has = s.proxy.accept_proxy == Some(true);
    if first {
        s.proxy.accept_proxy = wants.then_some(true);
    } else if wants != has {
        let (meant, why) = if wants {
            ("would have expected a PROXY header first", "hakeeper's accept_proxy is per section, and the section's first bind has none")
        } else {
            (
                "would have taken clients without a PROXY header",
                "hakeeper's accept_proxy is per section, and the section's first bind has it",
            )
        };
        ctx.notes.lossy(&ctx.file, n, format!("`bind {}` {meant}", directive(args)), why);
    }
}

fn server_line(ctx: &mut Ctx, s: &mut Section, n: usize, args: &[String]) {
    let [name, addr, params @ ..] = args else {
        ctx.notes.untranslated(&ctx.file, n, format!("`server {}`: expected a name and an address; not translated", directive(args)));
        return;
    };
    let mut p = s.default_server.clone();
    let out = server::parse_params(&mut p, params, true);
    report_server_params(ctx, n, &format!("server {name}"), out);
    let bind_port = single_bind_port(&s.proxy.bind);
    let addr = match server::address(addr, bind_port) {
        Address::Exact(a) => a,
        Address::Approximated(a, note) => {
            ctx.notes.replaced(&ctx.file, n, format!("server {name}: {note}"));
            a
        }
        Address::Invalid(e) => {
            ctx.notes.untranslated(&ctx.file, n, format!("server {name}: {e}; the server is not translated"));
            return;
        }
    };
    let (raw, lint) = server::build(name, addr, &p, &ctx.tls);
    if raw.ssl.is_some() {
        // The global TLS settings it would have inherited and that cannot be kept.
        for (line, what, why) in std::mem::take(&mut ctx.tls.lossy) {
            ctx.notes.lossy(&ctx.file, line, format!("`{what}` would have applied to the TLS connections to servers"), why);
        }
    }
    if let Some(l) = lint {
        ctx.notes.lint(&ctx.file, n, l);
    }
    s.proxy.servers.push(raw);
    s.server_lines.push(n);
}

/// The port of a section's binds when they all share one.
fn single_bind_port(binds: &[RawBind]) -> Option<u16> {
    let mut ports = binds.iter().filter_map(|b| b.addr.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()));
    let first = ports.next()?;
    ports.all(|p| p == first).then_some(first)
}

fn report_server_params(ctx: &mut Ctx, n: usize, who: &str, out: server::ParseOutcome) {
    for (what, why) in out.lossy {
        ctx.notes.lossy(&ctx.file, n, format!("`{who} … {what}` would have applied to the TLS connections to the server"), why);
    }
    for e in out.errors {
        ctx.notes.untranslated(&ctx.file, n, format!("{who}: {e}; not translated"));
    }
    if !out.untranslated.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("{who}: options not translated: {}", out.untranslated.join(", ")));
    }
}
