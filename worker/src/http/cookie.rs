//! Cookie persistence (`cookie NAME insert|prefix|rewrite [indirect] [nocache] [preserve]`
//! with each server's `cookie VALUE`), as HAProxy 2.6 does it:
//!
//! - Request: the cookie names a server. Known and UP (or DOWN with `option persist`): the
//!   request goes there ("direct"). Naming a DOWN server without `persist`: ignored, the
//!   request is balanced. `insert indirect` removes the cookie before the server sees it;
//!   `prefix` strips the `SERVER~` part.
//! - Response: `insert` adds `Set-Cookie: NAME=VALUE; path=/` unless the request came direct;
//!   with `nocache` a cacheable response also gets `Cache-control: private`. A cookie the
//!   server sets itself is deleted (insert, or direct + indirect), rewritten (`rewrite`),
//!   prefixed (`prefix`), or left alone (`preserve`).
//!
//! The outcomes are the third and fourth characters of the httplog termination state.

use super::headers::{trim, Headers};
use hakeeper_common::config::{CookieMode, CookiePersistence};
use std::borrow::Cow;

/// What a server looks like to persistence.
#[derive(Debug, Clone, Copy)]
pub struct CookieServer<'a> {
    pub cookie: Option<&'a str>,
    /// Usable as far as health goes (not DOWN, not in maintenance).
    pub up: bool,
}

/// The request's persistence cookie (`%tsc` third character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestCookie {
    /// `-`: no cookie persistence on this backend.
    NotConfigured,
    /// `N`: the client sent none.
    None,
    /// `I`: it names no server.
    Invalid,
    /// `D`: it names a DOWN server.
    Down,
    /// `V`: it names a usable server.
    Valid,
}

impl RequestCookie {
    pub fn code(self) -> char {
        match self {
            RequestCookie::NotConfigured => '-',
            RequestCookie::None => 'N',
            RequestCookie::Invalid => 'I',
            RequestCookie::Down => 'D',
            RequestCookie::Valid => 'V',
        }
    }
}

/// What happened to the persistence cookie in the response (`%tsc` fourth character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseCookie {
    NotConfigured,
    /// `N`: none set.
    None,
    /// `P`: the server set one, passed on as it was.
    Provided,
    /// `D`: the server's one was deleted.
    Deleted,
    /// `I`: the proxy inserted one.
    Inserted,
    /// `R`: the server's one was rewritten (rewrite or prefix mode).
    Rewritten,
}

impl ResponseCookie {
    pub fn code(self) -> char {
        match self {
            ResponseCookie::NotConfigured => '-',
            ResponseCookie::None => 'N',
            ResponseCookie::Provided => 'P',
            ResponseCookie::Deleted => 'D',
            ResponseCookie::Inserted => 'I',
            ResponseCookie::Rewritten => 'R',
        }
    }
}

/// The request-side verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    pub state: RequestCookie,
    /// The server the request must go to, skipping the balancer.
    pub server: Option<usize>,
}

impl Lookup {
    pub const NOT_CONFIGURED: Lookup = Lookup { state: RequestCookie::NotConfigured, server: None };
}

/// Reads the persistence cookie from the request's `Cookie` lines and rewrites them for the
/// server (indirect removal, prefix stripping).
pub fn on_request(cfg: &CookiePersistence, persist: bool, servers: &[CookieServer<'_>], headers: &mut Headers) -> Lookup {
    let mut lookup = Lookup { state: RequestCookie::None, server: None };
    let strip_whole = cfg.mode == CookieMode::Insert && cfg.indirect;
    headers.edit_values("cookie", |line| {
        let mut changed = false;
        let mut kept: Vec<Cow<'_, [u8]>> = Vec::new();
        for pair in line.split(|&b| b == b';') {
            let pair = trim(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                kept.push(Cow::Borrowed(pair));
                continue;
            };
            if trim(&pair[..eq]) != cfg.name.as_bytes() {
                kept.push(Cow::Borrowed(pair));
                continue;
            }
            let value = trim(&pair[eq + 1..]);
            let (key, app) = match cfg.mode {
                CookieMode::Prefix => match value.iter().position(|&b| b == b'~') {
                    Some(t) => (&value[..t], Some(&value[t + 1..])),
                    None => (value, None),
                },
                _ => (value, None),
            };
            if lookup.server.is_none() {
                lookup = judge(key, persist, servers);
            }
            if strip_whole {
                changed = true;
            } else if let Some(app) = app {
                let mut p = cfg.name.as_bytes().to_vec();
                p.push(b'=');
                p.extend_from_slice(app);
                kept.push(Cow::Owned(p));
                changed = true;
            } else {
                kept.push(Cow::Borrowed(pair));
            }
        }
        if !changed {
            return None;
        }
        let parts: Vec<&[u8]> = kept.iter().map(|p| p.as_ref()).filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            Some(None)
        } else {
            Some(Some(parts.join(&b"; "[..])))
        }
    });
    lookup
}

fn judge(key: &[u8], persist: bool, servers: &[CookieServer<'_>]) -> Lookup {
    match servers.iter().position(|s| s.cookie.is_some_and(|c| c.as_bytes() == key)) {
        None => Lookup { state: RequestCookie::Invalid, server: None },
        Some(i) if servers[i].up => Lookup { state: RequestCookie::Valid, server: Some(i) },
        Some(i) if persist => Lookup { state: RequestCookie::Down, server: Some(i) },
        Some(_) => Lookup { state: RequestCookie::Down, server: None },
    }
}

/// Applies persistence to a response from server `served`; `cacheable` says whether the
/// response may be cached (see [`super::cache`]).
pub fn on_response(
    cfg: &CookiePersistence,
    lookup: &Lookup,
    served: Option<usize>,
    servers: &[CookieServer<'_>],
    headers: &mut Headers,
    cacheable: bool,
) -> ResponseCookie {
    let direct = served.is_some() && lookup.server == served;
    let server_cookie = served.and_then(|i| servers.get(i)).and_then(|s| s.cookie);
    let mut outcome = ResponseCookie::None;
    let mut found = false;
    headers.edit_values("set-cookie", |line| {
        let value = trim(line);
        let eq = value.iter().position(|&b| b == b'=')?;
        if trim(&value[..eq]) != cfg.name.as_bytes() {
            return None;
        }
        found = true;
        outcome = ResponseCookie::Provided;
        if cfg.preserve {
            return None;
        }
        if (served.is_some() && cfg.mode == CookieMode::Insert) || (direct && cfg.indirect) {
            outcome = ResponseCookie::Deleted;
            return Some(None);
        }
        let srv = server_cookie?;
        let rest = &value[eq + 1..];
        let (own, attrs) = match rest.iter().position(|&b| b == b';') {
            Some(s) => (&rest[..s], &rest[s..]),
            None => (rest, &b""[..]),
        };
        let mut new = cfg.name.as_bytes().to_vec();
        new.push(b'=');
        new.extend_from_slice(srv.as_bytes());
        match cfg.mode {
            CookieMode::Rewrite => {}
            CookieMode::Prefix => {
                new.push(b'~');
                new.extend_from_slice(trim(own));
            }
            CookieMode::Insert | CookieMode::Passive => return None,
        }
        new.extend_from_slice(attrs);
        outcome = ResponseCookie::Rewritten;
        Some(Some(new))
    });
    if cfg.mode == CookieMode::Insert && served.is_some() && !(found && cfg.preserve) && !direct {
        headers.append(b"Set-Cookie", &set_cookie_value(cfg, server_cookie));
        outcome = ResponseCookie::Inserted;
        if cfg.nocache && cacheable {
            headers.append(b"Cache-control", b"private");
        }
    }
    outcome
}

/// `NAME=VALUE; path=/` with the configured attributes; a server without a cookie value makes
/// the client forget the cookie, as HAProxy does.
fn set_cookie_value(cfg: &CookiePersistence, value: Option<&str>) -> Vec<u8> {
    // One allocation of the right size: this runs for every response of a new client.
    const FORGET: &str = "; Expires=Thu, 01-Jan-1970 00:00:01 GMT";
    let mut s =
        String::with_capacity(cfg.name.len() + value.map_or(FORGET.len(), str::len) + 48 + cfg.domain.as_ref().map_or(0, String::len));
    s.push_str(&cfg.name);
    s.push('=');
    s.push_str(value.unwrap_or(""));
    if value.is_none() {
        s.push_str(FORGET);
    }
    s.push_str("; path=/");
    if let Some(d) = &cfg.domain {
        s.push_str("; domain=");
        s.push_str(d);
    }
    if cfg.httponly {
        s.push_str("; HttpOnly");
    }
    if cfg.secure {
        s.push_str("; Secure");
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(mode: CookieMode, indirect: bool, nocache: bool, preserve: bool) -> CookiePersistence {
        CookiePersistence { name: "SERVERID".into(), mode, indirect, nocache, preserve, httponly: false, secure: false, domain: None }
    }

    fn servers(up2: bool) -> Vec<CookieServer<'static>> {
        vec![
            CookieServer { cookie: Some("1"), up: true },
            CookieServer { cookie: Some("2"), up: up2 },
            CookieServer { cookie: None, up: true },
        ]
    }

    fn cookies(lines: &[&str]) -> Headers {
        let mut h = Headers::default();
        h.append(b"Host", b"x");
        for l in lines {
            h.append(b"Cookie", l.as_bytes());
        }
        h
    }

    fn values(h: &Headers, name: &str) -> Vec<String> {
        h.get_all(name).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
    }

    #[test]
    fn a_valid_cookie_picks_its_server() {
        let c = cfg(CookieMode::Insert, false, false, false);
        let mut h = cookies(&["a=b; SERVERID=2; c=d"]);
        assert_eq!(on_request(&c, false, &servers(true), &mut h), Lookup { state: RequestCookie::Valid, server: Some(1) });
        assert_eq!(values(&h, "cookie"), vec!["a=b; SERVERID=2; c=d"], "without indirect the server sees it");
    }

    #[test]
    fn indirect_removes_the_cookie_before_the_server() {
        let c = cfg(CookieMode::Insert, true, false, false);
        let mut h = cookies(&["a=b; SERVERID=1", "SERVERID=1"]);
        assert_eq!(on_request(&c, false, &servers(true), &mut h).server, Some(0));
        assert_eq!(values(&h, "cookie"), vec!["a=b"]);
    }

    #[test]
    fn missing_unknown_and_down_cookies() {
        let c = cfg(CookieMode::Insert, true, false, false);
        assert_eq!(on_request(&c, false, &servers(true), &mut cookies(&[])).state, RequestCookie::None);
        assert_eq!(
            on_request(&c, false, &servers(true), &mut cookies(&["SERVERID=9"])),
            Lookup { state: RequestCookie::Invalid, server: None }
        );
        assert_eq!(
            on_request(&c, false, &servers(false), &mut cookies(&["SERVERID=2"])),
            Lookup { state: RequestCookie::Down, server: None }
        );
        assert_eq!(
            on_request(&c, true, &servers(false), &mut cookies(&["SERVERID=2"])),
            Lookup { state: RequestCookie::Down, server: Some(1) },
            "option persist keeps going to a DOWN server"
        );
        assert_eq!(
            on_request(&c, false, &servers(true), &mut cookies(&["serverid=1"])).state,
            RequestCookie::None,
            "names are case-sensitive"
        );
    }

    #[test]
    fn prefix_mode_strips_the_server_part() {
        let c = cfg(CookieMode::Prefix, false, false, false);
        let mut h = cookies(&["JSESSIONID=abc; SERVERID=2~app-value"]);
        assert_eq!(on_request(&c, false, &servers(true), &mut h).server, Some(1));
        assert_eq!(values(&h, "cookie"), vec!["JSESSIONID=abc; SERVERID=app-value"]);
    }

    fn response(lines: &[&str]) -> Headers {
        let mut h = Headers::default();
        h.append(b"Content-Type", b"text/plain");
        for l in lines {
            h.append(b"Set-Cookie", l.as_bytes());
        }
        h
    }

    #[test]
    fn insert_sets_the_cookie_once_with_nocache() {
        let c = cfg(CookieMode::Insert, true, true, false);
        let fresh = Lookup { state: RequestCookie::None, server: None };
        let mut h = response(&[]);
        assert_eq!(on_response(&c, &fresh, Some(0), &servers(true), &mut h, true), ResponseCookie::Inserted);
        assert_eq!(values(&h, "set-cookie"), vec!["SERVERID=1; path=/"]);
        assert_eq!(values(&h, "cache-control"), vec!["private"]);
        // Not cacheable: no Cache-control added.
        let mut h = response(&[]);
        on_response(&c, &fresh, Some(0), &servers(true), &mut h, false);
        assert!(!h.contains("cache-control"));
        // The client came with a valid cookie for this server: nothing to set.
        let direct = Lookup { state: RequestCookie::Valid, server: Some(0) };
        let mut h = response(&[]);
        assert_eq!(on_response(&c, &direct, Some(0), &servers(true), &mut h, true), ResponseCookie::None);
        assert!(!h.contains("set-cookie"));
        // Redispatched elsewhere: a new cookie.
        let mut h = response(&[]);
        assert_eq!(on_response(&c, &direct, Some(1), &servers(true), &mut h, true), ResponseCookie::Inserted);
        assert_eq!(values(&h, "set-cookie"), vec!["SERVERID=2; path=/"]);
    }

    #[test]
    fn insert_replaces_a_server_set_cookie_unless_preserve() {
        let fresh = Lookup { state: RequestCookie::None, server: None };
        let mut h = response(&["SERVERID=mine; path=/app", "other=1"]);
        on_response(&cfg(CookieMode::Insert, false, false, false), &fresh, Some(0), &servers(true), &mut h, false);
        assert_eq!(values(&h, "set-cookie"), vec!["other=1", "SERVERID=1; path=/"]);
        let mut h = response(&["SERVERID=mine; path=/app"]);
        assert_eq!(
            on_response(&cfg(CookieMode::Insert, false, false, true), &fresh, Some(0), &servers(true), &mut h, false),
            ResponseCookie::Provided
        );
        assert_eq!(values(&h, "set-cookie"), vec!["SERVERID=mine; path=/app"]);
    }

    #[test]
    fn attributes_and_cookieless_servers() {
        let mut c = cfg(CookieMode::Insert, false, false, false);
        c.domain = Some(".abc.com".into());
        c.httponly = true;
        c.secure = true;
        let fresh = Lookup { state: RequestCookie::None, server: None };
        let mut h = response(&[]);
        on_response(&c, &fresh, Some(0), &servers(true), &mut h, false);
        assert_eq!(values(&h, "set-cookie"), vec!["SERVERID=1; path=/; domain=.abc.com; HttpOnly; Secure"]);
        let mut h = response(&[]);
        on_response(&c, &fresh, Some(2), &servers(true), &mut h, false);
        assert!(values(&h, "set-cookie")[0].starts_with("SERVERID=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"));
    }

    #[test]
    fn rewrite_and_prefix_modes_edit_the_server_cookie() {
        let fresh = Lookup { state: RequestCookie::None, server: None };
        let mut h = response(&["SERVERID=xyz; path=/; HttpOnly"]);
        assert_eq!(
            on_response(&cfg(CookieMode::Rewrite, false, false, false), &fresh, Some(1), &servers(true), &mut h, false),
            ResponseCookie::Rewritten
        );
        assert_eq!(values(&h, "set-cookie"), vec!["SERVERID=2; path=/; HttpOnly"]);
        let mut h = response(&["SERVERID=xyz; path=/"]);
        on_response(&cfg(CookieMode::Prefix, false, false, false), &fresh, Some(0), &servers(true), &mut h, false);
        assert_eq!(values(&h, "set-cookie"), vec!["SERVERID=1~xyz; path=/"]);
        // Direct access with indirect: the server's cookie is dropped instead.
        let direct = Lookup { state: RequestCookie::Valid, server: Some(0) };
        let mut h = response(&["SERVERID=xyz"]);
        assert_eq!(
            on_response(&cfg(CookieMode::Rewrite, true, false, false), &direct, Some(0), &servers(true), &mut h, false),
            ResponseCookie::Deleted
        );
        assert!(!h.contains("set-cookie"));
    }

    #[test]
    fn log_codes() {
        assert_eq!(RequestCookie::Valid.code(), 'V');
        assert_eq!(RequestCookie::NotConfigured.code(), '-');
        assert_eq!(ResponseCookie::Inserted.code(), 'I');
        assert_eq!(ResponseCookie::Rewritten.code(), 'R');
    }
}
