//! The admin form's body (`application/x-www-form-urlencoded`), as HAProxy's stats page posts
//! it: `b=BACKEND`, one `s=SERVER` per ticked box, `action=ready|drain|maint|weight`, and for
//! the weight action `weight=N`.

/// Most bytes of form body read; the form of a backend with hundreds of servers fits.
pub const MAX_BODY: usize = 64 * 1024;

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `+` is a space, `%XX` a byte; a malformed escape is kept as it is.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the form asks for, before names are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminForm {
    pub backend: Option<String>,
    pub servers: Vec<String>,
    pub action: Option<String>,
    pub weight: Option<String>,
}

pub fn parse(body: &str) -> AdminForm {
    let mut form = AdminForm::default();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v);
        match decode(k).as_str() {
            "b" => form.backend = Some(v),
            "s" => form.servers.push(v),
            "action" => form.action = Some(v),
            "weight" => form.weight = Some(v),
            _ => {}
        }
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_form_bodies_parse() {
        let f = parse("s=server_1&s=server%5F2&action=maint&b=proxy_status");
        assert_eq!(f.backend.as_deref(), Some("proxy_status"));
        assert_eq!(f.servers, vec!["server_1", "server_2"]);
        assert_eq!(f.action.as_deref(), Some("maint"));
        let f = parse("b=web+farm&s=a&action=weight&weight=7&unknown=1");
        assert_eq!(f.backend.as_deref(), Some("web farm"));
        assert_eq!(f.weight.as_deref(), Some("7"));
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("a%zzb"), "a%zzb");
        assert_eq!(decode("%41%4"), "A%4");
    }
}
