//! The `global` section.

use super::section::directive;
use super::Ctx;
use crate::config::raw::{RawGlobal, RawLog};
use crate::config::validate::{FACILITIES, LEVELS};
use crate::import::units::{haproxy_time, number};
use std::net::{IpAddr, SocketAddr};

/// Global state that spans lines.
#[derive(Debug, Default)]
pub struct GlobalState {
    pub raw: RawGlobal,
}

pub fn keyword(ctx: &mut Ctx, g: &mut GlobalState, n: usize, words: &[String]) {
    let kw = words[0].as_str();
    let arg = words.get(1).map(String::as_str);
    let what = directive(words);
    if let Some(done) = super::bind_ssl::global_keyword(&mut ctx.bind_tls, words) {
        // The bases apply to servers' `ca-file`/`crt` too.
        match (kw, arg) {
            ("ca-base", Some(v)) => ctx.tls.ca_base = Some(v.to_string()),
            ("crt-base", Some(v)) => ctx.tls.crt_base = Some(v.to_string()),
            _ => {}
        }
        if let Err(e) = done {
            ctx.notes.lossy(&ctx.file, n, format!("`{what}` would have applied to the TLS binds"), e);
        }
        return;
    }
    if super::h2::tune(ctx, &mut g.raw.h2, n, words) {
        return;
    }
    let bad = |ctx: &mut Ctx, e: String| ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: {e}; not translated"));
    let arity = match kw {
        "maxconn"
        | "nbthread"
        | "chroot"
        | "user"
        | "group"
        | "hard-stop-after"
        | "nbproc"
        | "tune.pool-low-fd-ratio"
        | "tune.pool-high-fd-ratio"
        | "ssl-server-verify"
        | "ca-base"
        | "crt-base"
        | "localpeer" => 2,
        "daemon" | "master-worker" => 1,
        _ => usize::MAX,
    };
    if words.len() > arity {
        ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: extra words `{}` not translated", directive(&words[arity..])));
    }
    match (kw, arg) {
        ("log", Some(_)) => log(ctx, g, n, &words[1..]),
        ("maxconn", Some(v)) => match number(v, "maxconn") {
            Ok(v) => g.raw.maxconn = Some(v),
            Err(e) => bad(ctx, e),
        },
        ("nbthread", Some(v)) => match number(v, "nbthread") {
            Ok(v) => g.raw.nbthread = Some(v),
            Err(e) => bad(ctx, e),
        },
        ("tune.pool-low-fd-ratio", Some(v)) => match number(v, kw) {
            Ok(v) => g.raw.pool_low_fd_ratio = Some(v),
            Err(e) => bad(ctx, e),
        },
        ("tune.pool-high-fd-ratio", Some(v)) => match number(v, kw) {
            Ok(v) => g.raw.pool_high_fd_ratio = Some(v),
            Err(e) => bad(ctx, e),
        },
        ("chroot", Some(v)) => g.raw.chroot = Some(v.to_string()),
        ("localpeer", Some(v)) => g.raw.localpeer = Some(v.to_string()),
        ("user", Some(v)) => g.raw.user = Some(v.to_string()),
        ("group", Some(v)) => g.raw.group = Some(v.to_string()),
        ("hard-stop-after", Some(v)) => match haproxy_time(v) {
            Ok(v) => g.raw.hard_stop_after = Some(v),
            Err(e) => bad(ctx, e),
        },
        ("ssl-server-verify", Some("none")) => ctx.tls.verify = Some(crate::config::raw::RawVerify::None),
        ("ssl-server-verify", Some("required")) => ctx.tls.verify = Some(crate::config::raw::RawVerify::Required),
        ("ca-base", Some(v)) => ctx.tls.ca_base = Some(v.to_string()),
        ("crt-base", Some(v)) => ctx.tls.crt_base = Some(v.to_string()),
        ("ssl-default-server-options", Some(_)) => super::server::default_server_options(&mut ctx.tls, n, &words[1..]),
        (k, Some(_)) if k.starts_with("ssl-default-server-") => {
            ctx.tls.lossy.push((n, what.clone(), super::server::global_tls_why(k)));
        }
        // hakeeper's supervisor always detaches (unless --foreground) and always runs one worker
        // process under a master, so these say what it does anyway.
        ("daemon" | "master-worker", _) => {}
        ("nbproc", Some("1")) => {}
        ("nbproc", Some(_)) => ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{what}` not translated: hakeeper runs one worker process with threads; set nbthread instead"),
        ),
        ("uid" | "gid", Some(_)) => ctx.notes.untranslated(
            &ctx.file,
            n,
            format!("`{what}` not translated: hakeeper takes user and group names; use `user`/`group`"),
        ),
        // hakeeper's runtime API is its ctl socket: the same commands, a different client.
        ("stats", _) => ctx.notes.replaced(
            &ctx.file,
            n,
            format!(
                "`{what}`: hakeeper's runtime API is `hakeeper ctl` on its own socket (global.ctl_socket, default \
                 /run/hakeeper/ctl.sock, root only): show info, show stat, enable/disable server, set server … state|weight \
                 answer as HAProxy's do (replies in JSON); scripts that send these to this socket with socat call `hakeeper ctl` instead"
            ),
        ),
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` not translated")),
    }
}

/// `log <target> [len N] [format F] [sample R:S] <facility> [<level> [<minlevel>]]`.
/// The first one becomes `log`, later ones `additional_logs`.
fn log(ctx: &mut Ctx, g: &mut GlobalState, n: usize, args: &[String]) {
    let target = match log_target(&args[0]) {
        Ok(t) => t,
        Err(e) => {
            ctx.notes.untranslated(&ctx.file, n, format!("`log {}`: {e}; not translated", directive(args)));
            return;
        }
    };
    let mut rest = &args[1..];
    let mut ignored = Vec::new();
    while let [kw, value, tail @ ..] = rest {
        if !matches!(kw.as_str(), "len" | "format" | "sample") {
            break;
        }
        ignored.push(format!("{kw} {value}"));
        rest = tail;
    }
    let (facility, level) = match rest {
        [facility] => (facility.clone(), None),
        [facility, level] => (facility.clone(), Some(level.clone())),
        [facility, level, minlevel] => {
            ignored.push(format!("minimum level {minlevel}"));
            (facility.clone(), Some(level.clone()))
        }
        _ => {
            ctx.notes.untranslated(&ctx.file, n, format!("`log {}`: expected a facility; not translated", directive(args)));
            return;
        }
    };
    if !FACILITIES.contains(&facility.as_str()) || level.as_ref().is_some_and(|l| !LEVELS.contains(&l.as_str())) {
        ctx.notes.untranslated(&ctx.file, n, format!("`log {}`: unknown facility or level; not translated", directive(args)));
        return;
    }
    if !ignored.is_empty() {
        ctx.notes.untranslated(&ctx.file, n, format!("log options not translated: {}", ignored.join(", ")));
    }
    let later = g.raw.log.is_some();
    if target == "stderr" && later {
        ctx.notes.untranslated(&ctx.file, n, format!("`log {}` not translated: stderr can only be the first log target", directive(args)));
        return;
    }
    if args[0] == "stdout" {
        ctx.notes.replaced(
            &ctx.file,
            n,
            "log to stdout: hakeeper logs to stderr with `--foreground` and to syslog otherwise; translated as stderr",
        );
    }
    let log = RawLog { target, facility, level };
    if later {
        g.raw.additional_logs.push(log);
    } else {
        g.raw.log = Some(log);
    }
}

/// HAProxy log targets as hakeeper's: `udp://IP:PORT`, `unix:///PATH`, `stderr`.
fn log_target(text: &str) -> Result<String, String> {
    if text == "stderr" || text == "stdout" {
        return Ok("stderr".into());
    }
    if let Some(path) = text.strip_prefix("unix@").or(Some(text).filter(|t| t.starts_with('/'))) {
        return Ok(format!("unix://{path}"));
    }
    let mut addr = text;
    for prefix in ["udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"] {
        if let Some(rest) = addr.strip_prefix(prefix) {
            addr = rest;
        }
    }
    if addr.contains('@') {
        return Err(format!("log target {text:?} is not a UDP or unix socket target"));
    }
    if let Ok(sa) = addr.parse::<SocketAddr>() {
        return Ok(format!("udp://{sa}"));
    }
    let (host, port) = super::server::split_host_port(addr);
    let port: u16 = match port {
        None | Some("") => 514,
        Some(p) => p.parse().map_err(|_| format!("invalid port in log target {text:?}"))?,
    };
    let ip: IpAddr = host.parse().map_err(|_| format!("log target {text:?} is not an IP address"))?;
    Ok(format!("udp://{}", SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_targets() {
        assert_eq!(log_target("127.0.0.1").as_deref(), Ok("udp://127.0.0.1:514"));
        assert_eq!(log_target("10.1.1.1:5514").as_deref(), Ok("udp://10.1.1.1:5514"));
        assert_eq!(log_target("udp@10.1.1.1:5514").as_deref(), Ok("udp://10.1.1.1:5514"));
        assert_eq!(log_target("/dev/log").as_deref(), Ok("unix:///dev/log"));
        assert_eq!(log_target("unix@/dev/log").as_deref(), Ok("unix:///dev/log"));
        assert_eq!(log_target("stderr").as_deref(), Ok("stderr"));
        assert_eq!(log_target("[::1]:514").as_deref(), Ok("udp://[::1]:514"));
        assert!(log_target("ring@buf").is_err());
        assert!(log_target("loghost").is_err());
    }
}
