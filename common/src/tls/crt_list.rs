//! HAProxy's `crt-list` file: one certificate per line, `FILE [ssl options] [SNI filter ...]`
//! (`ssl_sock_load_cert_list_file()`). A filter is a name (`www.example.com`), a wildcard of
//! one label (`*.example.com`) or an exclusion (`!secure.example.com`); without filters the
//! certificate serves the names it carries. Blank lines and `#` comments are skipped.
//!
//! Departure, on purpose: per-line SSL options (`[alpn h2 verify required]`) are refused with
//! an error rather than applied partly; an empty `[]` is accepted.

/// One line of a crt-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrtListLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub file: String,
    /// SNI names and `*.` wildcards this certificate serves (lower case).
    pub filters: Vec<String>,
    /// Names excluded with `!`.
    pub negative: Vec<String>,
}

/// Parses a crt-list's text. An error names the line.
pub fn parse(text: &str) -> Result<Vec<CrtListLine>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let (file, rest) = content.split_once(char::is_whitespace).unwrap_or((content, ""));
        let mut rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Err(format!("line {line}: '[' without a closing ']'"));
            };
            let options = after[..end].trim();
            if !options.is_empty() {
                return Err(format!("line {line}: per-certificate SSL options [{options}] are not supported; set them on the bind"));
            }
            rest = &after[end + 1..];
        }
        let mut filters = Vec::new();
        let mut negative = Vec::new();
        for word in rest.split_whitespace() {
            if word.starts_with('#') {
                break;
            }
            let (neg, name) = match word.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, word),
            };
            check_filter(name).map_err(|why| format!("line {line}: SNI filter {word:?}: {why}"))?;
            let name = name.to_ascii_lowercase();
            if neg {
                negative.push(name);
            } else {
                filters.push(name);
            }
        }
        out.push(CrtListLine { line, file: file.to_string(), filters, negative });
    }
    Ok(out)
}

/// A filter is a host name, possibly with a leading `*.` label.
fn check_filter(name: &str) -> Result<(), &'static str> {
    let host = name.strip_prefix("*.").unwrap_or(name);
    if host.is_empty() || host.contains('*') {
        return Err("a wildcard may only be a whole first label (*.example.com)");
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_') {
        return Err("not a host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_filters_negations_and_comments() {
        let text = "# certs\n\n/etc/a.pem\n/etc/b.pem [] *.b.test !secret.b.test B.TEST\n  /etc/c.pem   c.test # tail\n";
        let l = parse(text).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!((l[0].line, l[0].file.as_str(), l[0].filters.len()), (3, "/etc/a.pem", 0));
        assert_eq!(l[1].filters, ["*.b.test", "b.test"]);
        assert_eq!(l[1].negative, ["secret.b.test"]);
        assert_eq!((l[2].line, l[2].filters.as_slice()), (5, &["c.test".to_string()][..]));
    }

    #[test]
    fn options_and_bad_filters_are_errors_naming_the_line() {
        assert_eq!(
            parse("a.pem\nb.pem [alpn h2] x.test").unwrap_err(),
            "line 2: per-certificate SSL options [alpn h2] are not supported; set them on the bind"
        );
        assert!(parse("a.pem [alpn h2").unwrap_err().starts_with("line 1: '['"));
        assert!(parse("a.pem a.*.test").unwrap_err().starts_with("line 1: SNI filter \"a.*.test\""));
        assert!(parse("a.pem !").is_err());
    }
}
