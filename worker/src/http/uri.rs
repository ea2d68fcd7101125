//! Parts of a request target, as HAProxy's samples see them: the path is what follows the
//! authority (for an absolute-form target) up to `?`; the query is what follows `?`.

/// The path of `target`: `/a/b` for `/a/b?x` and for `http://host/a/b?x`; empty for `*` and
/// for an authority alone.
pub fn path(target: &[u8]) -> &[u8] {
    let rest = match target.first() {
        Some(b'/') => target,
        _ => match find(target, b"://") {
            Some(i) => {
                let after = &target[i + 3..];
                match after.iter().position(|&b| b == b'/' || b == b'?') {
                    Some(j) if after[j] == b'/' => &after[j..],
                    _ => return b"",
                }
            }
            None => return b"",
        },
    };
    match rest.iter().position(|&b| b == b'?') {
        Some(q) => &rest[..q],
        None => rest,
    }
}

/// The query string of `target`, without `?`; `None` when there is no `?`.
pub fn query(target: &[u8]) -> Option<&[u8]> {
    target.iter().position(|&b| b == b'?').map(|q| &target[q + 1..])
}

/// The target without its query string.
pub fn without_query(target: &[u8]) -> &[u8] {
    match target.iter().position(|&b| b == b'?') {
        Some(q) => &target[..q],
        None => target,
    }
}

/// The part of an absolute-form target from its path on (`/a?b` for `http://h/a?b`); the
/// target itself in origin form.
pub fn origin_form(target: &[u8]) -> &[u8] {
    if target.first() == Some(&b'/') {
        return target;
    }
    match find(target, b"://") {
        Some(i) => {
            let after = &target[i + 3..];
            match after.iter().position(|&b| b == b'/' || b == b'?') {
                Some(j) => &after[j..],
                None => b"/",
            }
        }
        None => target,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(path(b"/a/b?x=1"), b"/a/b");
        assert_eq!(path(b"/"), b"/");
        assert_eq!(path(b"http://h.com/a?q"), b"/a");
        assert_eq!(path(b"http://h.com?q"), b"");
        assert_eq!(path(b"http://h.com"), b"");
        assert_eq!(path(b"*"), b"");
        assert_eq!(path(b"h.com:443"), b"");
    }

    #[test]
    fn queries_and_forms() {
        assert_eq!(query(b"/a?x=1&y"), Some(&b"x=1&y"[..]));
        assert_eq!(query(b"/a"), None);
        assert_eq!(without_query(b"/a?x"), b"/a");
        assert_eq!(origin_form(b"http://h/a?b"), b"/a?b");
        assert_eq!(origin_form(b"http://h"), b"/");
        assert_eq!(origin_form(b"/x"), b"/x");
    }
}
