//! The request target's form (RFC 9112 section 3.2) and its agreement with `Host` (RFC 9110
//! section 7.2), checked before anything routes on them, so that ACLs see the authority and
//! path the server will act on.
//!
//! HAProxy 2.6 (`h1_parse_msg_hdrs`, `http_scheme_based_normalize`) refuses with 400: a `#`
//! or a control byte in the target, a target that is no known form, CONNECT without
//! authority-form, an absolute-form authority that differs from `Host` once the scheme's
//! default port is dropped. hakeeper refuses more, where RFC 9110/9112 call the message
//! invalid and HAProxy still forwards it (tests/differential/KNOWN-DIFFERENCES.md): `DEL` in
//! the target, `*` with a method other than OPTIONS, userinfo, an empty host, a scheme other
//! than http/https, and a `Host` value that is not `host[:port]` (or holds a comma). An
//! absolute-form or CONNECT request without `Host` gets one from its authority, which the
//! server acts on (RFC 9112 section 3.2.2), where HAProxy forwards it without.

/// Why a request target (or its `Host`) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("fragment (#) in the request target")]
    Fragment,
    #[error("control, space or non-ASCII byte in the request target")]
    BadByte,
    #[error("request target is not origin-, absolute-, authority- or asterisk-form")]
    UnknownForm,
    #[error("asterisk-form target outside OPTIONS")]
    AsteriskNotOptions,
    #[error("CONNECT target is not host:port")]
    ConnectNotAuthority,
    #[error("scheme other than http or https")]
    Scheme,
    #[error("userinfo in the authority")]
    Userinfo,
    #[error("invalid authority")]
    BadAuthority,
    #[error("invalid Host value")]
    BadHost,
    #[error("Host differs from the request target's authority")]
    HostMismatch,
}

/// The four forms of RFC 9112 section 3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`.
    Origin,
    /// `scheme://authority/path?query`: where the authority sits in the target, and the port
    /// the scheme implies.
    Absolute { authority: (usize, usize), default_port: &'static [u8] },
    /// `host:port`, CONNECT only.
    Authority,
    /// `*`, OPTIONS only.
    Asterisk,
}

/// Checks every byte of `target`: visible ASCII only (RFC 3986 has no place for controls,
/// blanks or raw non-ASCII bytes), and no fragment, which a client never sends (RFC 9112
/// section 3.2) and which would hide the path's real end from `path_end` (CVE-2023-45539).
fn check_bytes(target: &[u8]) -> Result<(), TargetError> {
    for &b in target {
        match b {
            b'#' => return Err(TargetError::Fragment),
            0x21..=0x7e => {}
            _ => return Err(TargetError::BadByte),
        }
    }
    Ok(())
}

/// Whether `b` may appear in a reg-name or IP literal's host (RFC 3986 section 3.2.2), less the
/// comma: HAProxy's `hdr()` splits values on commas, so a Host with one would be read as two.
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+;=".contains(&b)
}

/// Checks `host [":" port]`; returns where the port's colon is, if any. An IP literal
/// (`[...]`) may hold colons; a port is digits and may be empty (RFC 3986 section 3.2.3).
fn check_authority(a: &[u8]) -> Result<Option<usize>, TargetError> {
    let host_end = if a.first() == Some(&b'[') {
        let close = a.iter().position(|&b| b == b']').ok_or(TargetError::BadAuthority)?;
        let inner = &a[1..close];
        if inner.is_empty() || !inner.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return Err(TargetError::BadAuthority);
        }
        close + 1
    } else {
        a.iter().position(|&b| b == b':').unwrap_or(a.len())
    };
    let (host, rest) = a.split_at(host_end);
    if host.is_empty() {
        return Err(TargetError::BadAuthority);
    }
    if host[0] != b'[' && !host.iter().all(|&b| is_host_byte(b)) {
        return Err(if host.contains(&b'@') { TargetError::Userinfo } else { TargetError::BadAuthority });
    }
    match rest.split_first() {
        None => Ok(None),
        Some((b':', port)) if port.iter().all(u8::is_ascii_digit) => Ok(Some(host_end)),
        Some(_) => Err(if rest.contains(&b'@') { TargetError::Userinfo } else { TargetError::BadAuthority }),
    }
}

/// Classifies `target` for `method`.
pub fn classify(method: &[u8], target: &[u8]) -> Result<TargetForm, TargetError> {
    check_bytes(target)?;
    if method == b"CONNECT" {
        if target.contains(&b'@') {
            return Err(TargetError::Userinfo);
        }
        return match check_authority(target) {
            Ok(Some(colon)) if colon + 1 < target.len() => Ok(TargetForm::Authority),
            _ => Err(TargetError::ConnectNotAuthority),
        };
    }
    match target.first() {
        Some(b'/') => return Ok(TargetForm::Origin),
        Some(b'*') if target.len() == 1 => {
            return if method == b"OPTIONS" { Ok(TargetForm::Asterisk) } else { Err(TargetError::AsteriskNotOptions) };
        }
        _ => {}
    }
    let Some(sep) = target.windows(3).position(|w| w == b"://") else { return Err(TargetError::UnknownForm) };
    let scheme = &target[..sep];
    let default_port: &'static [u8] = if scheme.eq_ignore_ascii_case(b"http") {
        b"80"
    } else if scheme.eq_ignore_ascii_case(b"https") {
        b"443"
    } else if !scheme.is_empty() && scheme.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
        return Err(TargetError::Scheme);
    } else {
        return Err(TargetError::UnknownForm);
    };
    let start = sep + 3;
    // The authority ends at the path; a query right after it is refused, as HAProxy does.
    let end = target[start..].iter().position(|&b| b == b'/' || b == b'?').map_or(target.len(), |i| start + i);
    if target.get(end) == Some(&b'?') {
        return Err(TargetError::BadAuthority);
    }
    let authority = &target[start..end];
    if authority.contains(&b'@') {
        return Err(TargetError::Userinfo);
    }
    check_authority(authority)?;
    Ok(TargetForm::Absolute { authority: (start, end), default_port })
}

/// `authority` without a port that is empty or equal to `default_port` (`None`: any port
/// goes, as HAProxy drops it from a CONNECT's Host), as HAProxy normalizes both the target and
/// `Host` before comparing them.
pub fn without_default_port<'a>(authority: &'a [u8], default_port: Option<&[u8]>) -> &'a [u8] {
    match check_authority(authority) {
        Ok(Some(colon)) => {
            let port = &authority[colon + 1..];
            if port.is_empty() || default_port.is_none_or(|d| d == port) {
                &authority[..colon]
            } else {
                authority
            }
        }
        _ => authority,
    }
}

/// Checks a `Host` value: empty (allowed for a target with no authority, RFC 9110 section 7.2)
/// or `host[:port]`.
pub fn check_host(value: &[u8]) -> Result<(), TargetError> {
    if value.is_empty() {
        return Ok(());
    }
    match check_authority(value) {
        Ok(_) => Ok(()),
        Err(TargetError::Userinfo) | Err(TargetError::BadAuthority) => Err(TargetError::BadHost),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_forms() {
        assert_eq!(classify(b"GET", b"/a?b"), Ok(TargetForm::Origin));
        assert_eq!(classify(b"OPTIONS", b"*"), Ok(TargetForm::Asterisk));
        assert_eq!(classify(b"CONNECT", b"www.abc.com:443"), Ok(TargetForm::Authority));
        assert_eq!(classify(b"CONNECT", b"[::1]:443"), Ok(TargetForm::Authority));
        assert_eq!(classify(b"GET", b"http://www.abc.com/abs"), Ok(TargetForm::Absolute { authority: (7, 18), default_port: b"80" }));
        assert_eq!(classify(b"GET", b"HTTPS://h:8443"), Ok(TargetForm::Absolute { authority: (8, 14), default_port: b"443" }));
        assert!(classify(b"GET", b"http://[::1]:8080/p").is_ok());
    }

    #[test]
    fn hostile_targets_are_refused() {
        for (method, target, err) in [
            ("GET", "/secret.bak#x", TargetError::Fragment),
            ("GET", "http://h/p#f", TargetError::Fragment),
            ("GET", "/a\x7fb", TargetError::BadByte),
            ("GET", "/a\tb", TargetError::BadByte),
            ("GET", "/a\u{e9}", TargetError::BadByte),
            ("GET", "admin/x", TargetError::UnknownForm),
            ("GET", "http:/admin/x", TargetError::UnknownForm),
            ("GET", "www.abc.com:80", TargetError::UnknownForm),
            ("GET", "", TargetError::UnknownForm),
            ("GET", "*", TargetError::AsteriskNotOptions),
            ("OPTIONS", "**", TargetError::UnknownForm),
            ("CONNECT", "/p", TargetError::ConnectNotAuthority),
            ("CONNECT", "www.abc.com", TargetError::ConnectNotAuthority),
            ("CONNECT", "www.abc.com:", TargetError::ConnectNotAuthority),
            ("CONNECT", "http://www.abc.com/", TargetError::ConnectNotAuthority),
            ("CONNECT", "u@www.abc.com:443", TargetError::Userinfo),
            ("GET", "ftp://h/p", TargetError::Scheme),
            ("GET", "://h/p", TargetError::UnknownForm),
            ("GET", "http://www.abc.com@img.abc.com/ui", TargetError::Userinfo),
            ("GET", "http:///p", TargetError::BadAuthority),
            ("GET", "http://h?x", TargetError::BadAuthority),
            ("GET", "http://h:8x/", TargetError::BadAuthority),
            ("GET", "http://h,i/", TargetError::BadAuthority),
            ("GET", "http://[zz]/", TargetError::BadAuthority),
        ] {
            assert_eq!(classify(method.as_bytes(), target.as_bytes()), Err(err), "{method} {target:?}");
        }
    }

    #[test]
    fn default_ports_are_dropped() {
        assert_eq!(without_default_port(b"h:80", Some(b"80")), b"h");
        assert_eq!(without_default_port(b"h:", Some(b"80")), b"h");
        assert_eq!(without_default_port(b"h:8080", Some(b"80")), b"h:8080");
        assert_eq!(without_default_port(b"h", Some(b"80")), b"h");
        assert_eq!(without_default_port(b"[::1]:443", Some(b"443")), b"[::1]");
        assert_eq!(without_default_port(b"h:8443", None), b"h");
    }

    #[test]
    fn host_values() {
        for ok in ["", "a", "www.abc.com:80", "[::1]:8080", "a-b_c~d"] {
            assert_eq!(check_host(ok.as_bytes()), Ok(()), "{ok:?}");
        }
        for bad in ["a b", "u@a", "a/b", "a,b", ":80", "a:8x", "[::1"] {
            assert_eq!(check_host(bad.as_bytes()), Err(TargetError::BadHost), "{bad:?}");
        }
    }
}
