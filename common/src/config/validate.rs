//! Raw config → checked [`Config`]: every value parsed, every name resolved, defaults applied.
//! All problems are collected (not just the first) with the path of the field at fault.

use super::model::*;
use super::raw::*;
use crate::duration::parse_duration;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod command_line;
mod h2;
mod l7;
mod lints;
mod lvs;
mod script_user;
mod server_tls;
mod tcp_content;
mod tcp_response;
mod vrrp_options;

pub use command_line::split_command_line;

/// A finding before positions are attached: the field path and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
}

#[derive(Default)]
struct Checker {
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Checker {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let message = message.into();
        // A bad value in `defaults` is reported once, not again for every proxy inheriting it.
        if self.errors.iter().any(|e| e.message == message && e.path.starts_with("defaults.")) {
            return;
        }
        self.errors.push(Finding { path: path.into(), message });
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding { path: path.into(), message: message.into() });
    }

    fn duration(&mut self, path: &str, text: Option<&String>, default: Duration) -> Duration {
        match text {
            None => default,
            Some(t) => match parse_duration(t) {
                Ok(d) => d,
                Err(e) => {
                    self.error(path, e);
                    default
                }
            },
        }
    }

    fn opt_duration(&mut self, path: &str, text: Option<&String>) -> Option<Duration> {
        text.map(|t| self.duration(path, Some(t), Duration::ZERO))
    }
}

/// The result of validation: the config and any warnings, or every error found.
pub struct Validated {
    pub config: Config,
    pub warnings: Vec<Finding>,
}

pub fn validate(raw: &RawConfig, source: PathBuf) -> Result<Validated, (Vec<Finding>, Vec<Finding>)> {
    let mut c = Checker::default();
    let global = global(&mut c, &raw.global);
    let (frontends, backends, lvs) = proxies(&mut c, raw);
    let stats = raw.stats.as_ref().map(|s| stats(&mut c, s));
    check_bind_conflicts(&mut c, raw, &frontends, &lvs, stats.as_ref());
    // Pattern files are read now, at start-up and on each reload, as HAProxy reads them.
    let pattern_dir = source.parent().map(Path::to_path_buf).unwrap_or_default();
    let http = l7::http_config(&mut c, raw, &frontends, &backends, &pattern_dir);
    let vrrp = vrrp(&mut c, &raw.vrrp, &backends);
    lvs::vip_carriers(&mut c, raw, &lvs, &vrrp);
    lints::lint(&mut c, raw);
    if c.errors.is_empty() {
        Ok(Validated { config: Config { source, global, frontends, backends, http, stats, vrrp, lvs }, warnings: c.warnings })
    } else {
        Err((c.errors, c.warnings))
    }
}

fn global(c: &mut Checker, g: &RawGlobal) -> Global {
    for (field, value) in [("user", &g.user), ("group", &g.group)] {
        if let Some(name) = value {
            if name.is_empty() || name.contains([':', '/', '\0']) {
                c.error(format!("global.{field}"), format!("invalid {field} name {name:?}"));
            }
        }
    }
    let chroot = g.chroot.as_ref().map(PathBuf::from);
    if let Some(dir) = &chroot {
        if !dir.is_absolute() {
            c.error("global.chroot", format!("chroot {:?} must be an absolute path", dir.display()));
        }
    }
    let maxconn = g.maxconn.unwrap_or(4096);
    if maxconn == 0 {
        c.error("global.maxconn", "maxconn must be at least 1");
    }
    let log = match &g.log {
        None => LogConfig { target: LogTarget::Unix(PathBuf::from("/dev/log")), facility: "local1".into(), level: "info".into() },
        Some(l) => log_config(c, "global.log", l),
    };
    let additional_logs = g
        .additional_logs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = format!("global.additional_logs[{i}]");
            let config = log_config(c, &field, l);
            if config.target == LogTarget::Stderr {
                c.error(format!("{field}.target"), "an additional log target must be syslog (udp:// or unix://), not stderr");
            }
            config
        })
        .collect();
    let hard_stop_after = c.duration("global.hard_stop_after", g.hard_stop_after.as_ref(), Duration::from_secs(30));
    let worker_crash_limit = match &g.worker_crash_limit {
        None => CrashLimit { exits: 5, window: Duration::from_secs(30), rise: Duration::from_secs(10) },
        Some(l) => {
            if l.exits == 0 {
                c.error("global.worker_crash_limit.exits", "exits must be at least 1");
            }
            let window = c.duration("global.worker_crash_limit.window", Some(&l.window), Duration::from_secs(30));
            let rise = c.duration("global.worker_crash_limit.rise", l.rise.as_ref(), Duration::from_secs(10));
            if rise.is_zero() {
                c.error("global.worker_crash_limit.rise", "rise must be more than 0");
            }
            CrashLimit { exits: l.exits.max(1), window, rise }
        }
    };
    let ctl_socket = PathBuf::from(g.ctl_socket.as_deref().unwrap_or(crate::ctl::DEFAULT_CTL_SOCKET));
    if !ctl_socket.is_absolute() {
        c.error("global.ctl_socket", format!("ctl_socket {:?} must be an absolute path", ctl_socket.display()));
    }
    let (low_default, high_default) = default_pool_fd_ratios();
    let mut ratio = |field: &str, v: Option<u32>, default: u32| match v {
        Some(r) if r > 100 => {
            c.error(format!("global.{field}"), format!("{field} {r} out of range 0..100 (a percentage)"));
            default
        }
        Some(r) => r,
        None => default,
    };
    let pool_fd_ratios =
        (ratio("pool_low_fd_ratio", g.pool_low_fd_ratio, low_default), ratio("pool_high_fd_ratio", g.pool_high_fd_ratio, high_default));
    Global {
        user: g.user.clone(),
        group: g.group.clone(),
        chroot,
        maxconn,
        nbthread: g.nbthread.unwrap_or(0),
        log,
        additional_logs,
        hard_stop_after,
        worker_crash_limit,
        ctl_socket,
        pool_fd_ratios,
        h2: h2::tune(c, g.h2.as_ref()),
    }
}

pub const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7",
];

pub const LEVELS: &[&str] = &["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

fn log_config(c: &mut Checker, field: &str, l: &RawLog) -> LogConfig {
    let target = if l.target == "stderr" {
        LogTarget::Stderr
    } else if let Some(path) = l.target.strip_prefix("unix://") {
        LogTarget::Unix(PathBuf::from(path))
    } else if let Some(addr) = l.target.strip_prefix("udp://") {
        match addr.parse::<SocketAddr>() {
            Ok(a) => LogTarget::Udp(a),
            Err(_) => match addr.parse::<IpAddr>() {
                Ok(ip) => LogTarget::Udp(SocketAddr::new(ip, 514)),
                Err(_) => {
                    c.error(format!("{field}.target"), format!("invalid UDP syslog address {addr:?}: expected IP or IP:PORT"));
                    LogTarget::Stderr
                }
            },
        }
    } else {
        c.error(format!("{field}.target"), format!("invalid log target {:?}: expected udp://IP:PORT, unix:///PATH or stderr", l.target));
        LogTarget::Stderr
    };
    let facility = if l.facility.is_empty() { "local1".to_string() } else { l.facility.clone() };
    if !FACILITIES.contains(&facility.as_str()) {
        c.error(format!("{field}.facility"), format!("unknown syslog facility {facility:?} (expected one of {})", FACILITIES.join(", ")));
    }
    let level = l.level.clone().unwrap_or_else(|| "info".into());
    if !LEVELS.contains(&level.as_str()) {
        c.error(format!("{field}.level"), format!("unknown log level {level:?} (expected one of {})", LEVELS.join(", ")));
    }
    LogConfig { target, facility, level }
}

/// Parses a listening address as HAProxy writes it: `*:80`, `:80`, `1.2.3.4:80`, `[::1]:80`.
pub fn parse_bind(text: &str) -> Result<SocketAddr, String> {
    let fixed = if let Some(port) = text.strip_prefix("*:") {
        format!("0.0.0.0:{port}")
    } else if let Some(port) = text.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else {
        text.to_string()
    };
    let addr: SocketAddr = fixed.parse().map_err(|_| format!("invalid address {text:?}: expected IP:PORT, *:PORT or [IPv6]:PORT"))?;
    if addr.port() == 0 {
        return Err(format!("invalid address {text:?}: port 0"));
    }
    Ok(addr)
}

fn parse_server_addr(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.parse().map_err(|_| format!("invalid server address {text:?}: expected IP:PORT or [IPv6]:PORT"))?;
    if addr.port() == 0 {
        return Err(format!("invalid server address {text:?}: port 0"));
    }
    if addr.ip().is_unspecified() {
        return Err(format!("invalid server address {text:?}: unspecified IP"));
    }
    Ok(addr)
}

/// Settings a proxy inherits from `defaults` unless it sets them itself.
fn inherit<T: Clone>(own: &Option<T>, defaults: &Option<T>) -> Option<T> {
    own.clone().or_else(|| defaults.clone())
}

fn inherit_timeouts(own: &Option<RawTimeouts>, defaults: &Option<RawTimeouts>) -> RawTimeouts {
    let own = own.clone().unwrap_or_default();
    let d = defaults.clone().unwrap_or_default();
    RawTimeouts {
        connect: own.connect.or(d.connect),
        client: own.client.or(d.client),
        server: own.server.or(d.server),
        queue: own.queue.or(d.queue),
        check: own.check.or(d.check),
        http_request: own.http_request.or(d.http_request),
        http_keep_alive: own.http_keep_alive.or(d.http_keep_alive),
        tunnel: own.tunnel.or(d.tunnel),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Listen,
    Frontend,
    Backend,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Listen => "listen",
            Section::Frontend => "frontend",
            Section::Backend => "backend",
        }
    }
}

fn proxies(c: &mut Checker, raw: &RawConfig) -> (Vec<Frontend>, Vec<Backend>, Vec<LvsService>) {
    let d = &raw.defaults;
    if !d.name.is_empty() {
        c.error("defaults.name", "defaults takes no name");
    }
    for (field, set) in [
        ("bind", !d.bind.is_empty()),
        ("servers", !d.servers.is_empty()),
        ("default_backend", d.default_backend.is_some()),
        ("accept_proxy", d.accept_proxy.is_some()),
        ("lvs", d.lvs.is_some()),
    ] {
        if set {
            c.error(format!("defaults.{field}"), format!("`{field}` is not allowed in defaults"));
        }
    }

    // Defaults are only inherited, so check their values here or a typo would go unnoticed.
    if let Some(t) = &d.timeout {
        for (field, value) in [
            ("connect", &t.connect),
            ("client", &t.client),
            ("server", &t.server),
            ("queue", &t.queue),
            ("check", &t.check),
            ("http_request", &t.http_request),
            ("http_keep_alive", &t.http_keep_alive),
            ("tunnel", &t.tunnel),
        ] {
            c.opt_duration(&format!("defaults.timeout.{field}"), value.as_ref());
        }
    }

    // Every section in file order, so that names resolve whatever order they are written in.
    let sections: Vec<(Section, usize, &RawProxy)> = raw
        .listen
        .iter()
        .enumerate()
        .map(|(i, p)| (Section::Listen, i, p))
        .chain(raw.frontend.iter().enumerate().map(|(i, p)| (Section::Frontend, i, p)))
        .chain(raw.backend.iter().enumerate().map(|(i, p)| (Section::Backend, i, p)))
        .collect();

    let mut backend_ids: HashMap<&str, (usize, String)> = HashMap::new();
    let mut frontend_names: HashMap<&str, String> = HashMap::new();
    let mut backends = Vec::new();
    for (section, i, p) in &sections {
        let path = format!("{}[{i}]", section.key());
        if p.name.is_empty() {
            c.error(format!("{path}.name"), format!("a {} needs a name", section.key()));
        } else if !p.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch)) {
            c.error(format!("{path}.name"), format!("invalid name {:?}: use letters, digits, '-', '_', '.', ':'", p.name));
        }
        if *section != Section::Backend {
            if let Some(prev) = frontend_names.insert(&p.name, path.clone()) {
                c.error(format!("{path}.name"), format!("duplicate frontend name {:?} (also {prev})", p.name));
            }
        }
        if *section != Section::Frontend {
            if let Some((_, prev)) = backend_ids.get(p.name.as_str()) {
                c.error(format!("{path}.name"), format!("duplicate backend name {:?} (also {prev})", p.name));
            } else {
                backend_ids.insert(&p.name, (backends.len(), path.clone()));
                backends.push(backend(c, &path, p, d));
            }
        }
    }

    let mut frontends = Vec::new();
    let mut lvs_services = Vec::new();
    let ipip = raw.listen.iter().any(|p| p.lvs.as_ref().is_some_and(|l| l.kind == Some(RawLvsKind::Tun))) && lvs::kernel_has_ipip();
    for (section, i, p) in &sections {
        let path = format!("{}[{i}]", section.key());
        if p.lvs.is_some() && *section != Section::Listen {
            c.error(format!("{path}.lvs"), format!("`lvs` is allowed only in a listen, not in a {}", section.key()));
        }
        if *section == Section::Listen && p.lvs.is_some() {
            // No user-space listener: the kernel balances the VIP (see `Config::lvs`).
            if let Some((id, _)) = backend_ids.get(p.name.as_str()) {
                if let Some(s) = lvs::lvs_service(c, &path, p, d, *id, &backends[*id], ipip) {
                    lvs_services.push(s);
                }
            }
            if p.default_backend.is_some() || !p.use_backend.is_empty() {
                c.error(format!("{path}.default_backend"), "an LVS virtual server balances over its own servers only");
            }
            continue;
        }
        match section {
            Section::Backend => {
                for (field, set) in [
                    ("bind", !p.bind.is_empty()),
                    ("default_backend", p.default_backend.is_some()),
                    ("accept_proxy", p.accept_proxy.is_some()),
                ] {
                    if set {
                        c.error(format!("{path}.{field}"), format!("`{field}` is not allowed in a backend"));
                    }
                }
            }
            Section::Frontend | Section::Listen => {
                if *section == Section::Frontend && !p.servers.is_empty() {
                    c.error(format!("{path}.servers"), "`servers` is not allowed in a frontend; put them in a backend");
                }
                let default_backend = match (&p.default_backend, section) {
                    (Some(name), _) => match backend_ids.get(name.as_str()) {
                        Some((id, _)) => Some(*id),
                        None => {
                            c.error(format!("{path}.default_backend"), format!("no backend named {name:?}"));
                            None
                        }
                    },
                    (None, Section::Listen) => backend_ids.get(p.name.as_str()).map(|(id, _)| *id),
                    (None, _) => d.default_backend.as_ref().and_then(|n| backend_ids.get(n.as_str()).map(|(id, _)| *id)),
                };
                let fe = frontend(c, &path, p, d, default_backend);
                if let Some(b) = fe.default_backend.and_then(|id| backends.get(id)) {
                    let b: &Backend = b;
                    // A mode tcp frontend may use an http backend: the connection is upgraded
                    // to HTTP once the backend is chosen, as HAProxy 2.6 does. Not the reverse.
                    if fe.mode == Mode::Http && b.mode == Mode::Tcp {
                        c.error(
                            format!("{path}.mode"),
                            format!(
                                "{} {:?} is in {} mode but its backend {:?} is in {} mode",
                                section.key(),
                                p.name,
                                mode_name(fe.mode),
                                b.name,
                                mode_name(b.mode)
                            ),
                        );
                    }
                }
                frontends.push(fe);
            }
        }
    }
    (frontends, backends, lvs_services)
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Tcp => "tcp",
        Mode::Http => "http",
    }
}

fn frontend(c: &mut Checker, path: &str, p: &RawProxy, d: &RawProxy, default_backend: Option<usize>) -> Frontend {
    if p.bind.is_empty() {
        c.error(format!("{path}.bind"), "at least one bind address is needed");
    }
    let mut binds = Vec::new();
    let mut tls = Vec::new();
    let http = inherit(&p.mode, &d.mode) == Some(Mode::Http);
    let bind_proto = p.bind.iter().enumerate().map(|(i, b)| h2::bind_proto(c, path, i, b, http)).collect();
    for (i, b) in p.bind.iter().enumerate() {
        let field = if b.ssl.is_some() { format!("{path}.bind[{i}].addr") } else { format!("{path}.bind[{i}]") };
        match parse_bind(&b.addr) {
            Ok(a) => binds.push(a),
            Err(e) => c.error(field, e),
        }
        tls.push(b.ssl.as_ref().map(|ssl| {
            let mut f = crate::tls::spec::Findings::default();
            let t = crate::tls::spec::check(ssl, &format!("{path}.bind[{i}].ssl"), http, &mut f);
            c.errors.extend(f.errors);
            c.warnings.extend(f.warnings);
            t
        }));
    }
    let t = inherit_timeouts(&p.timeout, &d.timeout);
    let timeout_client = c.duration(&format!("{path}.timeout.client"), t.client.as_ref(), Duration::from_secs(50));
    let timeout_http_request = c.duration(&format!("{path}.timeout.http_request"), t.http_request.as_ref(), timeout_client);
    let timeout_http_keep_alive = c.duration(&format!("{path}.timeout.http_keep_alive"), t.http_keep_alive.as_ref(), timeout_http_request);
    let maxconn = inherit(&p.maxconn, &d.maxconn).unwrap_or(2000);
    if maxconn == 0 {
        c.error(format!("{path}.maxconn"), "maxconn must be at least 1");
    }
    let log_format = inherit(&p.log_format, &d.log_format).map(|f| match f {
        RawLogFormat::Tcplog => LogFormat::Tcplog,
        RawLogFormat::Httplog => LogFormat::Httplog,
    });
    Frontend {
        name: p.name.clone(),
        binds,
        mode: inherit(&p.mode, &d.mode).unwrap_or(Mode::Tcp),
        maxconn,
        timeout_client,
        timeout_http_request,
        timeout_http_keep_alive,
        default_backend,
        log: inherit(&p.log, &d.log).unwrap_or(true),
        log_format,
        dontlognull: inherit(&p.dontlognull, &d.dontlognull).unwrap_or(false),
        // Per section, never inherited: `bind` options do not live in defaults.
        accept_proxy: p.accept_proxy.unwrap_or(false),
        tls,
        bind_proto,
    }
}

fn backend(c: &mut Checker, path: &str, p: &RawProxy, d: &RawProxy) -> Backend {
    let t = inherit_timeouts(&p.timeout, &d.timeout);
    let timeout_connect = c.duration(&format!("{path}.timeout.connect"), t.connect.as_ref(), Duration::from_secs(5));
    let timeout_server = c.duration(&format!("{path}.timeout.server"), t.server.as_ref(), Duration::from_secs(50));
    let timeout_queue = c.duration(&format!("{path}.timeout.queue"), t.queue.as_ref(), timeout_connect);
    let timeout_check = c.opt_duration(&format!("{path}.timeout.check"), t.check.as_ref());
    let balance = match inherit(&p.balance, &d.balance).unwrap_or(RawBalance::Roundrobin) {
        RawBalance::Roundrobin => Balance::Roundrobin,
        RawBalance::StaticRr => Balance::StaticRr,
        RawBalance::Leastconn => Balance::Leastconn,
        RawBalance::First => Balance::First,
        RawBalance::Source => Balance::Source,
        RawBalance::Random => Balance::Random,
        RawBalance::Uri => Balance::Uri,
        RawBalance::Hdr(h) => Balance::Hdr(h),
        RawBalance::UrlParam(u) => Balance::UrlParam(u),
    };
    let mode = inherit(&p.mode, &d.mode).unwrap_or(Mode::Tcp);
    if mode == Mode::Tcp && matches!(balance, Balance::Uri | Balance::Hdr(_) | Balance::UrlParam(_)) {
        c.error(format!("{path}.balance"), "this balance algorithm needs mode http");
    }
    let stick = inherit(&p.stick, &d.stick).map(|s| Stick {
        expire: c.duration(&format!("{path}.stick.expire"), Some(&s.expire), Duration::from_secs(1800)),
        size: s.size.unwrap_or(100_000),
    });
    let health_check = match inherit(&p.health_check, &d.health_check).unwrap_or(RawHealthCheck::Tcp) {
        RawHealthCheck::Tcp => HealthCheck::Tcp,
        RawHealthCheck::Http(h) => HealthCheck::Http {
            method: h.method.unwrap_or_else(|| "OPTIONS".into()),
            uri: h.uri.unwrap_or_else(|| "/".into()),
            version: h.version.unwrap_or_else(|| "HTTP/1.0".into()),
            expect_status: match (h.expect_status, h.expect_status_range) {
                (Some(code), None) => Some((code, code)),
                (None, Some((lo, hi))) if (100..=599).contains(&lo) && (lo..=599).contains(&hi) => Some((lo, hi)),
                (None, Some((lo, hi))) => {
                    c.error(format!("{path}.health_check"), format!("expect_status_range ({lo}, {hi}) is not a range of statuses 100-599"));
                    None
                }
                (Some(_), Some(_)) => {
                    c.error(format!("{path}.health_check"), "give expect_status or expect_status_range, not both");
                    None
                }
                (None, None) => None,
            },
        },
        RawHealthCheck::Mysql(m) => HealthCheck::Mysql { user: m.user },
        RawHealthCheck::Script(sc) => {
            if sc.command.trim().is_empty() {
                c.error(format!("{path}.health_check"), "a script check needs a command");
            }
            let timeout = c.opt_duration(&format!("{path}.health_check.timeout"), sc.timeout.as_ref());
            HealthCheck::Script { command: sc.command, timeout, dynamic: sc.dynamic }
        }
    };
    let mut servers = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ids: HashMap<u32, usize> = HashMap::new();
    for (i, s) in p.servers.iter().enumerate() {
        let sp = format!("{path}.servers[{i}]");
        if s.name.is_empty() {
            c.error(format!("{sp}.name"), "a server needs a name");
        } else if let Some(prev) = names.insert(&s.name, i) {
            c.error(format!("{sp}.name"), format!("duplicate server name {:?} (also servers[{prev}])", s.name));
        }
        let addr = match parse_server_addr(&s.addr) {
            Ok(a) => a,
            Err(e) => {
                c.error(format!("{sp}.addr"), e);
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1)
            }
        };
        let id = s.id.unwrap_or(i as u32 + 1);
        if id == 0 {
            c.error(format!("{sp}.id"), "server ids start at 1");
        } else if let Some(prev) = ids.insert(id, i) {
            c.error(format!("{sp}.id"), format!("duplicate server id {id} (also servers[{prev}])"));
        }
        let weight = s.weight.unwrap_or(1);
        if weight > 256 {
            c.error(format!("{sp}.weight"), format!("weight {weight} out of range 0..256"));
        }
        let check = s.check.as_ref().map(|k| {
            let inter = c.duration(&format!("{sp}.check.inter"), k.inter.as_ref(), Duration::from_secs(2));
            let rise = k.rise.unwrap_or(2);
            let fall = k.fall.unwrap_or(3);
            if rise == 0 {
                c.error(format!("{sp}.check.rise"), "rise must be at least 1");
            }
            if fall == 0 {
                c.error(format!("{sp}.check.fall"), "fall must be at least 1");
            }
            if inter.is_zero() {
                c.error(format!("{sp}.check.inter"), "inter must be more than 0");
            }
            Check {
                inter,
                fastinter: c.duration(&format!("{sp}.check.fastinter"), k.fastinter.as_ref(), inter),
                downinter: c.duration(&format!("{sp}.check.downinter"), k.downinter.as_ref(), inter),
                rise: rise.max(1),
                fall: fall.max(1),
                port: k.port.unwrap_or(addr.port()),
                initial_up: k.initial != Some(RawInitialHealth::Down),
            }
        });
        if s.mac.is_some() && p.lvs.is_none() {
            c.error(format!("{sp}.mac"), "`mac` is for the real servers of an LVS virtual server (lvs kind dr)");
        }
        let tls = server_tls::server_tls(c, &sp, s, mode, check.as_ref().map(|k| k.port), addr.port());
        servers.push(Server {
            name: s.name.clone(),
            id,
            addr,
            weight: weight.min(256),
            maxconn: s.maxconn.unwrap_or(0),
            backup: s.backup,
            disabled: s.disabled,
            cookie: s.cookie.clone(),
            check,
            pool: ServerPool {
                max_conn: s.pool_max_conn,
                purge_delay: c.duration(&format!("{sp}.pool_purge_delay"), s.pool_purge_delay.as_ref(), Duration::from_secs(5)),
                low_conn: s.pool_low_conn.unwrap_or(0),
                max_reuse: s.max_reuse,
            },
            send_proxy: s.send_proxy.map(|v| match v {
                RawProxyVersion::V1 => crate::proxy_protocol::Version::V1,
                RawProxyVersion::V2 => crate::proxy_protocol::Version::V2,
            }),
            check_send_proxy: s.check_send_proxy,
            tls: tls.settings,
            check_tls: tls.check,
        });
    }
    Backend {
        name: p.name.clone(),
        mode,
        balance,
        hash_type: match inherit(&p.hash_type, &d.hash_type).unwrap_or(RawHashType::MapBased) {
            RawHashType::MapBased => HashType::MapBased,
            RawHashType::Consistent => HashType::Consistent,
        },
        retries: inherit(&p.retries, &d.retries).unwrap_or(3),
        redispatch: inherit(&p.redispatch, &d.redispatch).unwrap_or(false),
        abortonclose: inherit(&p.abortonclose, &d.abortonclose).unwrap_or(false),
        allbackups: inherit(&p.allbackups, &d.allbackups).unwrap_or(false),
        timeout_connect,
        timeout_server,
        timeout_queue,
        timeout_check,
        stick,
        health_check,
        servers,
    }
}

fn stats(c: &mut Checker, s: &RawStats) -> Stats {
    h2::stats_bind_proto(c, &s.bind);
    let field = if s.bind.ssl.is_some() { "stats.bind.addr" } else { "stats.bind" };
    let bind = match parse_bind(&s.bind.addr) {
        Ok(a) => a,
        Err(e) => {
            c.error(field, e);
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1)
        }
    };
    let tls = s.bind.ssl.as_ref().map(|ssl| {
        let mut f = crate::tls::spec::Findings::default();
        let mut t = crate::tls::spec::check(ssl, "stats.bind.ssl", true, &mut f);
        c.errors.extend(f.errors);
        c.warnings.extend(f.warnings);
        if let Some(i) = t.alpn.iter().position(|p| p == "h2") {
            // The stats page is served by an HTTP/1.1 server of its own.
            c.warn(format!("stats.bind.ssl.alpn[{i}]"), "the stats page speaks HTTP/1.1: h2 is not offered");
            t.alpn.retain(|p| p != "h2");
        }
        t
    });
    let uri = s.uri.clone().unwrap_or_else(|| "/haproxy?stats".into());
    if !uri.starts_with('/') {
        c.error("stats.uri", format!("uri {uri:?} must start with '/'"));
    }
    for (i, (user, _)) in s.auth.iter().enumerate() {
        if user.is_empty() || user.contains(':') {
            c.error(format!("stats.auth[{i}]"), format!("invalid user name {user:?}"));
        }
    }
    if s.admin && s.auth.is_empty() {
        c.warn("stats.admin", "admin actions are enabled without any auth user: anyone who reaches the page can change server states");
    }
    let t = s.timeout.clone().unwrap_or_default();
    let timeout_client = c.duration("stats.timeout.client", t.client.as_ref(), STATS_TIMEOUT_CLIENT);
    let timeout_http_request = c.duration("stats.timeout.http_request", t.http_request.as_ref(), STATS_TIMEOUT_HTTP_REQUEST);
    for (path, d) in [("stats.timeout.client", timeout_client), ("stats.timeout.http_request", timeout_http_request)] {
        if d.is_zero() {
            c.error(path, "must be more than 0: an endless wait lets idle clients hold the stats page");
        }
    }
    let maxconn = s.maxconn.unwrap_or(STATS_MAXCONN);
    if !(1..=STATS_MAX_MAXCONN).contains(&maxconn) {
        c.error("stats.maxconn", format!("{maxconn} is out of range 1..={STATS_MAX_MAXCONN}"));
    }
    Stats {
        bind,
        uri,
        realm: s.realm.clone().unwrap_or_else(|| "HAProxy Statistics".into()),
        auth: s.auth.clone(),
        refresh: c.opt_duration("stats.refresh", s.refresh.as_ref()),
        hide_version: s.hide_version,
        admin: s.admin,
        maxconn,
        timeout_http_request,
        timeout_client,
        tls,
    }
}

fn check_bind_conflicts(c: &mut Checker, raw: &RawConfig, frontends: &[Frontend], lvs: &[LvsService], stats: Option<&Stats>) {
    let mut seen: HashMap<SocketAddr, String> = HashMap::new();
    // An LVS VIP:PORT takes the port's packets before any local socket could see them.
    let lvs_paths = raw.listen.iter().enumerate().filter(|(_, p)| p.lvs.is_some()).map(|(i, _)| format!("listen[{i}]"));
    for (s, path) in lvs.iter().zip(lvs_paths) {
        if let Some(prev) = seen.insert(s.vip, format!("{path}.bind[0]")) {
            c.error(format!("{path}.bind[0]"), format!("address {} is already bound by {prev}", s.vip));
        }
    }
    let paths = raw
        .listen
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lvs.is_none())
        .map(|(i, _)| format!("listen[{i}]"))
        .chain(raw.frontend.iter().enumerate().map(|(i, _)| format!("frontend[{i}]")));
    for (fe, path) in frontends.iter().zip(paths) {
        for (i, addr) in fe.binds.iter().enumerate() {
            if let Some(prev) = seen.insert(*addr, format!("{path}.bind[{i}]")) {
                c.error(format!("{path}.bind[{i}]"), format!("address {addr} is already bound by {prev}"));
            }
        }
    }
    if let Some(s) = stats {
        if let Some(prev) = seen.get(&s.bind) {
            c.error("stats.bind", format!("address {} is already bound by {prev}", s.bind));
        }
    }
}

fn parse_vip(text: &str) -> Result<VipAddr, String> {
    let (ip, prefix) = match text.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = ip.trim().parse().map_err(|_| format!("invalid virtual address {text:?}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match prefix {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|n| *n <= max).ok_or_else(|| format!("invalid prefix length in {text:?}"))?,
    };
    Ok(VipAddr { addr, prefix_len })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn vrrp(c: &mut Checker, v: &RawVrrp, backends: &[Backend]) -> Vrrp {
    let garp = match &v.garp {
        None => Garp::default(),
        Some(g) => {
            let d = Garp::default();
            Garp {
                master_repeat: g.master_repeat.unwrap_or(d.master_repeat),
                master_delay: c.duration("vrrp.garp.master_delay", g.master_delay.as_ref(), d.master_delay),
                master_refresh: c.opt_duration("vrrp.garp.master_refresh", g.master_refresh.as_ref()),
                interval: c.duration("vrrp.garp.interval", g.interval.as_ref(), d.interval),
            }
        }
    };
    let mut scripts = Vec::new();
    let mut script_ids: HashMap<&str, usize> = HashMap::new();
    for (i, s) in v.scripts.iter().enumerate() {
        let p = format!("vrrp.scripts[{i}]");
        if s.name.is_empty() {
            c.error(format!("{p}.name"), "a script needs a name");
        } else if script_ids.insert(&s.name, i).is_some() {
            c.error(format!("{p}.name"), format!("duplicate script name {:?}", s.name));
        }
        let action = match (&s.script, &s.builtin) {
            (Some(cmd), None) if !cmd.trim().is_empty() => ScriptAction::Command(cmd.clone()),
            (None, Some(RawBuiltinCheck::ProxyAlive)) => ScriptAction::Builtin(BuiltinCheck::ProxyAlive),
            (None, Some(RawBuiltinCheck::MinServersUp { backend, servers })) => match backends.iter().position(|b| &b.name == backend) {
                Some(id) => {
                    if *servers as usize > backends[id].servers.len() {
                        c.error(
                            format!("{p}.builtin"),
                            format!("backend {backend:?} has only {} servers, fewer than {servers}", backends[id].servers.len()),
                        );
                    }
                    ScriptAction::Builtin(BuiltinCheck::MinServersUp { backend: id, servers: *servers })
                }
                None => {
                    c.error(format!("{p}.builtin"), format!("no backend named {backend:?}"));
                    ScriptAction::Builtin(BuiltinCheck::ProxyAlive)
                }
            },
            (Some(_), Some(_)) => {
                c.error(format!("{p}.builtin"), "set either `script` or `builtin`, not both");
                ScriptAction::Builtin(BuiltinCheck::ProxyAlive)
            }
            _ => {
                c.error(format!("{p}.script"), "a script needs `script` (a command) or `builtin`");
                ScriptAction::Builtin(BuiltinCheck::ProxyAlive)
            }
        };
        let interval = c.duration(&format!("{p}.interval"), s.interval.as_ref(), Duration::from_secs(1));
        let weight = s.weight.unwrap_or(0);
        if !(-253..=253).contains(&weight) {
            c.error(format!("{p}.weight"), format!("weight {weight} out of range -253..253"));
        }
        for (field, value) in [("rise", s.rise), ("fall", s.fall)] {
            if value == Some(0) {
                c.error(format!("{p}.{field}"), format!("{field} must be at least 1"));
            }
        }
        scripts.push(VrrpScript {
            name: s.name.clone(),
            action,
            interval,
            timeout: c.duration(&format!("{p}.timeout"), s.timeout.as_ref(), interval),
            weight,
            rise: s.rise.unwrap_or(1).max(1),
            fall: s.fall.unwrap_or(1).max(1),
            user: s.user.as_deref().map(|u| script_user::resolve(c, &format!("{p}.user"), u)),
        });
    }

    let mut instances = Vec::new();
    let mut instance_ids: HashMap<&str, usize> = HashMap::new();
    let mut vrids: HashMap<(String, u32, bool), String> = HashMap::new();
    for (i, inst) in v.instances.iter().enumerate() {
        let p = format!("vrrp.instances[{i}]");
        if inst.name.is_empty() {
            c.error(format!("{p}.name"), "an instance needs a name");
        } else if instance_ids.insert(&inst.name, i).is_some() {
            c.error(format!("{p}.name"), format!("duplicate instance name {:?}", inst.name));
        }
        if inst.interface.is_empty() {
            c.error(format!("{p}.interface"), "an instance needs an interface");
        }
        if !(1..=255).contains(&inst.vrid) {
            c.error(format!("{p}.vrid"), format!("vrid {} out of range 1..255", inst.vrid));
        }
        if !(1..=255).contains(&inst.priority) {
            c.error(format!("{p}.priority"), format!("priority {} out of range 1..255", inst.priority));
        }
        let version = inst.version.unwrap_or(2);
        if version != 2 && version != 3 {
            c.error(format!("{p}.version"), format!("VRRP version {version} is not 2 or 3"));
        }
        let advert_int = c.duration(&format!("{p}.advert_int"), inst.advert_int.as_ref(), Duration::from_secs(1));
        if version == 2 && (advert_int.subsec_nanos() != 0 || advert_int.as_secs() == 0 || advert_int.as_secs() > 255) {
            c.error(format!("{p}.advert_int"), "VRRPv2 adverts are whole seconds from 1s to 255s");
        }
        if version == 3
            && (advert_int < Duration::from_millis(10)
                || advert_int > Duration::from_millis(40_950)
                || !advert_int.as_millis().is_multiple_of(10))
        {
            c.error(format!("{p}.advert_int"), "VRRPv3 adverts are centiseconds from 10ms to 40.95s");
        }
        let mut vips = Vec::new();
        if inst.vips.is_empty() {
            c.error(format!("{p}.vips"), "an instance needs at least one virtual address");
        }
        for (j, text) in inst.vips.iter().enumerate() {
            match parse_vip(text) {
                Ok(vip) => vips.push(vip),
                Err(e) => c.error(format!("{p}.vips[{j}]"), e),
            }
        }
        let v6 = vips.first().map(|a| a.addr.is_ipv6()).unwrap_or(false);
        if vips.iter().any(|a| a.addr.is_ipv6() != v6) {
            c.error(format!("{p}.vips"), "IPv4 and IPv6 virtual addresses cannot share an instance");
        }
        if v6 && version == 2 {
            c.error(format!("{p}.version"), "IPv6 virtual addresses need VRRP version 3");
        }
        if let Some(prev) = vrids.insert((inst.interface.clone(), inst.vrid, v6), inst.name.clone()) {
            c.error(format!("{p}.vrid"), format!("duplicate VRID {} on interface {} (also instance {prev:?})", inst.vrid, inst.interface));
        }
        let auth = match &inst.auth {
            None | Some(RawVrrpAuth::None) => VrrpAuth::None,
            Some(RawVrrpAuth::Pass(pw)) => {
                if pw.is_empty() {
                    c.error(format!("{p}.auth"), "empty password");
                }
                if pw.len() > 8 {
                    c.warn(format!("{p}.auth"), "password longer than 8 characters: only the first 8 are used, as keepalived does");
                }
                if version == 3 {
                    c.warn(format!("{p}.auth"), "VRRPv3 has no authentication; the password is ignored, as keepalived does");
                }
                VrrpAuth::Pass(pw.chars().take(8).collect())
            }
        };
        let initial_state = match inst.state {
            Some(RawVrrpState::Master) => InitialState::Master,
            _ => InitialState::Backup,
        };
        let mut preempt = inst.preempt.unwrap_or(true);
        if !preempt && initial_state == InitialState::Master {
            c.warn(format!("{p}.preempt"), "nopreempt needs state BACKUP; with state MASTER keepalived ignores it, and so does hakeeper");
            preempt = true;
        }
        let mut track = Vec::new();
        for (j, t) in inst.track.iter().enumerate() {
            match script_ids.get(t.script.as_str()) {
                Some(&id) => {
                    let weight = t.weight.unwrap_or(scripts.get(id).map(|s| s.weight).unwrap_or(0));
                    if !(-253..=253).contains(&weight) {
                        c.error(format!("{p}.track[{j}].weight"), format!("weight {weight} out of range -253..253"));
                    }
                    track.push(TrackScript { script: id, weight });
                }
                None => c.error(format!("{p}.track[{j}].script"), format!("no script named {:?}", t.script)),
            }
        }
        let parse_ip = |c: &mut Checker, path: String, text: &str| -> Option<IpAddr> {
            match text.parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    c.error(path, format!("invalid IP address {text:?}"));
                    None
                }
            }
        };
        let unicast_src_ip = inst.unicast_src_ip.as_ref().and_then(|t| parse_ip(c, format!("{p}.unicast_src_ip"), t));
        let unicast_peers =
            inst.unicast_peers.iter().enumerate().filter_map(|(j, t)| parse_ip(c, format!("{p}.unicast_peers[{j}]"), t)).collect();
        vrrp_options::notify_commands(c, &p, inst);
        let proxy_down = vrrp_options::proxy_down(c, &p, inst);
        let v3_checksum_pseudo_header = vrrp_options::pseudo_header(c, &p, inst, version, v6);
        let pair = vrrp_options::pair(c, &p, inst);
        instances.push(VrrpInstance {
            name: inst.name.clone(),
            interface: inst.interface.clone(),
            vrid: inst.vrid.clamp(1, 255) as u8,
            priority: inst.priority.clamp(1, 255) as u8,
            initial_state,
            version,
            preempt,
            preempt_delay: c.duration(&format!("{p}.preempt_delay"), inst.preempt_delay.as_ref(), Duration::ZERO),
            advert_int,
            auth,
            vips,
            track,
            track_interface: inst.track_interface.clone(),
            unicast_src_ip,
            unicast_peers,
            notify_master: inst.notify_master.clone(),
            notify_backup: inst.notify_backup.clone(),
            notify_fault: inst.notify_fault.clone(),
            notify_stop: inst.notify_stop.clone(),
            notify: inst.notify.clone(),
            proxy_down,
            v3_checksum_pseudo_header,
            pair,
        });
    }

    let mut sync_groups = Vec::new();
    let mut grouped: HashMap<usize, String> = HashMap::new();
    for (i, g) in v.sync_groups.iter().enumerate() {
        let p = format!("vrrp.sync_groups[{i}]");
        let mut members = Vec::new();
        for (j, name) in g.instances.iter().enumerate() {
            match instance_ids.get(name.as_str()) {
                Some(&id) => {
                    if let Some(prev) = grouped.insert(id, g.name.clone()) {
                        c.error(format!("{p}.instances[{j}]"), format!("instance {name:?} is already in sync group {prev:?}"));
                    }
                    members.push(id);
                }
                None => c.error(format!("{p}.instances[{j}]"), format!("no instance named {name:?}")),
            }
        }
        sync_groups.push(SyncGroup { name: g.name.clone(), instances: members });
    }

    Vrrp {
        router_id: v.router_id.clone().unwrap_or_else(hostname),
        script_user: v.script_user.as_deref().map(|u| script_user::resolve(c, "vrrp.script_user", u)),
        enable_script_security: v.enable_script_security,
        garp,
        scripts,
        instances,
        sync_groups,
    }
}

#[cfg(test)]
pub(super) fn kernel_has_ipip_for_tests() -> bool {
    lvs::kernel_has_ipip()
}
