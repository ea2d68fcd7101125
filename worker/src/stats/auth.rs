//! HTTP Basic authentication for the stats page (`stats auth user:password`, several users,
//! `realm`). Passwords are compared in constant time, and every configured user is tried so that
//! the time taken does not tell which user names exist.

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No user is configured: the page is open (admin actions are then anonymous).
    Open,
    User(String),
    Denied,
}

impl Access {
    pub fn allowed(&self) -> bool {
        !matches!(self, Access::Denied)
    }

    /// Who to name in the log for an admin action.
    pub fn who(&self) -> String {
        match self {
            Access::User(u) => format!("stats user {u}"),
            _ => "anonymous stats user".into(),
        }
    }
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Standard base64 with optional padding; None on any other byte.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.trim_end_matches('=').as_bytes();
    if bytes.len() % 4 == 1 || text.len() - bytes.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= b64_value(c)? << (18 - 6 * i);
        }
        let n = chunk.len() - 1;
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// Equal contents in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// Checks an `Authorization` header value against the configured `(user, password)` pairs.
pub fn check(users: &[(String, String)], authorization: Option<&str>) -> Access {
    if users.is_empty() {
        return Access::Open;
    }
    let Some(value) = authorization else { return Access::Denied };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else { return Access::Denied };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Access::Denied;
    }
    let Some(decoded) = base64_decode(encoded.trim()) else { return Access::Denied };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else { return Access::Denied };
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    let mut matched = None;
    for (u, p) in users {
        let ok = constant_time_eq(u.as_bytes(), user) & constant_time_eq(p.as_bytes(), pass);
        if ok && matched.is_none() {
            matched = Some(u.clone());
        }
    }
    matched.map_or(Access::Denied, Access::User)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<(String, String)> {
        vec![("mldn".into(), "java".into()), ("ops".into(), "s3cret:with:colons".into())]
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("bWxkbjpqYXZh").as_deref(), Some(&b"mldn:java"[..]));
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode("Y"), None);
        assert_eq!(base64_decode("YQ==="), None);
        assert_eq!(base64_decode("bW*k"), None);
    }

    #[test]
    fn no_credentials_are_denied() {
        assert_eq!(check(&users(), None), Access::Denied);
        assert_eq!(check(&users(), Some("")), Access::Denied);
        assert_eq!(check(&users(), Some("Basic")), Access::Denied);
    }

    #[test]
    fn wrong_credentials_are_denied() {
        // mldn:wrong, nobody:java, mldn (no colon), a bearer token, garbage base64
        for header in ["Basic bWxkbjp3cm9uZw==", "Basic bm9ib2R5OmphdmE=", "Basic bWxkbg==", "Bearer bWxkbjpqYXZh", "Basic !!!!"] {
            assert_eq!(check(&users(), Some(header)), Access::Denied, "{header}");
        }
        // A password that is a prefix of the right one.
        assert_eq!(check(&users(), Some("Basic bWxkbjpqYXY=")), Access::Denied);
    }

    #[test]
    fn right_credentials_name_the_user() {
        assert_eq!(check(&users(), Some("Basic bWxkbjpqYXZh")), Access::User("mldn".into()));
        assert_eq!(check(&users(), Some("basic   bWxkbjpqYXZh ")), Access::User("mldn".into()));
        // The password may itself contain colons: only the first one separates.
        assert_eq!(check(&users(), Some("Basic b3BzOnMzY3JldDp3aXRoOmNvbG9ucw==")), Access::User("ops".into()));
    }

    #[test]
    fn without_users_the_page_is_open() {
        assert_eq!(check(&[], None), Access::Open);
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"java", b"java"));
        assert!(!constant_time_eq(b"java", b"javb"));
        assert!(!constant_time_eq(b"java", b"jav"));
        assert!(!constant_time_eq(b"", b"\0"));
        assert!(constant_time_eq(b"", b""));
    }
}
