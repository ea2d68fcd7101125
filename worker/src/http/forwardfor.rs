//! `option forwardfor [except NET] [header NAME] [if-none]`: appends a header line naming the
//! client address. It applies when the frontend or the backend enables it; the backend's header
//! name wins; a client in either proxy's `except` network gets none; `if-none` only adds it
//! when the request has none, and only when every enabling proxy says `if-none`.

use super::headers::Headers;
use hakeeper_common::config::ForwardFor;
use std::io::Write;
use std::net::IpAddr;

pub fn apply(frontend: Option<&ForwardFor>, backend: Option<&ForwardFor>, client: IpAddr, headers: &mut Headers) {
    let Some(name) = backend.or(frontend).map(|f| f.header.as_str()) else {
        return;
    };
    let always = [frontend, backend].into_iter().flatten().any(|f| !f.if_none);
    if !always && headers.contains(name) {
        return;
    }
    if [frontend, backend].into_iter().flatten().any(|f| f.except.is_some_and(|net| net.contains(client))) {
        return;
    }
    // Formatted on the stack: this runs for every request.
    let mut text = [0u8; 64];
    let mut rest = &mut text[..];
    if write!(rest, "{client}").is_ok() {
        let len = 64 - rest.len();
        headers.append(name.as_bytes(), &text[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::config::http_syntax::parse_net;

    fn ff(except: Option<&str>, header: &str, if_none: bool) -> ForwardFor {
        ForwardFor { except: except.map(|e| parse_net(e).unwrap()), header: header.into(), if_none }
    }

    fn run(fe: Option<&ForwardFor>, be: Option<&ForwardFor>, client: &str, existing: Option<&str>) -> Vec<String> {
        let mut h = Headers::default();
        if let Some(v) = existing {
            h.append(b"X-Forwarded-For", v.as_bytes());
        }
        apply(fe, be, client.parse().unwrap(), &mut h);
        h.iter().map(|(n, v)| format!("{}: {}", String::from_utf8_lossy(n), String::from_utf8_lossy(v))).collect()
    }

    #[test]
    fn appends_a_new_line() {
        let f = ff(None, "X-Forwarded-For", false);
        assert_eq!(run(Some(&f), None, "192.0.2.7", Some("10.0.0.1")), vec!["X-Forwarded-For: 10.0.0.1", "X-Forwarded-For: 192.0.2.7"]);
        assert_eq!(run(None, Some(&f), "2001:db8::1", None), vec!["X-Forwarded-For: 2001:db8::1"]);
        assert!(run(None, None, "192.0.2.7", None).is_empty());
    }

    #[test]
    fn except_and_if_none_and_header_name() {
        let except = ff(Some("127.0.0.0/8"), "X-Forwarded-For", false);
        assert!(run(Some(&except), None, "127.0.0.1", None).is_empty());
        assert_eq!(run(Some(&except), None, "192.0.2.1", None).len(), 1);
        let if_none = ff(None, "X-Forwarded-For", true);
        assert_eq!(run(Some(&if_none), None, "192.0.2.1", Some("10.0.0.1")), vec!["X-Forwarded-For: 10.0.0.1"]);
        assert_eq!(run(Some(&if_none), None, "192.0.2.1", None), vec!["X-Forwarded-For: 192.0.2.1"]);
        let named = ff(None, "X-Client", false);
        let plain = ff(None, "X-Forwarded-For", false);
        assert_eq!(run(Some(&plain), Some(&named), "192.0.2.1", None), vec!["X-Client: 192.0.2.1"]);
    }
}
