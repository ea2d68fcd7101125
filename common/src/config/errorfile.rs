//! Reading `errorfile` responses at load time (by the supervisor, which can read them before any
//! child is chrooted): each file must hold a complete raw HTTP/1.x response. The bytes travel
//! to the worker inside the config.

use super::http::ErrorFile;
use super::model::Config;
use super::validate::Finding;
use std::path::Path;

/// Largest errorfile accepted: it must fit in one forwarding buffer.
pub const MAX_ERRORFILE: usize = 16 * 1024;

/// Reads every errorfile of `config` into its `response`. A relative path is taken from
/// `base` (the config file's directory). Returns one finding per unreadable or invalid file,
/// naming the config field it came from.
pub fn read_errorfiles(config: &mut Config, base: &Path) -> Vec<Finding> {
    let mut problems: Vec<Finding> = Vec::new();
    let lists =
        config.http.frontends.iter_mut().map(|f| &mut f.errorfiles).chain(config.http.backends.iter_mut().map(|b| &mut b.errorfiles));
    for list in lists {
        for e in list.iter_mut() {
            match read_one(e, base) {
                Ok(bytes) => e.response = Some(bytes),
                Err(message) => {
                    // A file inherited from defaults is reported once.
                    if !problems.iter().any(|p| p.path == e.field) {
                        problems.push(Finding { path: e.field.clone(), message });
                    }
                }
            }
        }
    }
    problems
}

/// Reads at most one byte more than [`MAX_ERRORFILE`], so that a device such as `/dev/zero`
/// is refused rather than read forever. An empty file (HAProxy's manual shows
/// `errorfile 408 /dev/null`) stays empty: HAProxy then sends nothing and closes.
fn read_one(e: &ErrorFile, base: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let path = if e.path.is_absolute() { e.path.clone() } else { base.join(&e.path) };
    let cannot = |err: std::io::Error| format!("cannot read errorfile {}: {err}", path.display());
    let file = std::fs::File::open(&path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_ERRORFILE as u64 + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() > MAX_ERRORFILE {
        return Err(format!("errorfile {} is more than {MAX_ERRORFILE} bytes", path.display()));
    }
    if bytes.is_empty() {
        return Ok(bytes);
    }
    normalize(&bytes).map_err(|why| format!("errorfile {}: {why}", path.display()))
}

/// Checks that `raw` is an HTTP/1.x response, and returns it with CRLF line ends in its head
/// and a Content-Length when it has none (so that the client connection can stay open).
pub fn normalize(raw: &[u8]) -> Result<Vec<u8>, String> {
    let (head_end, body_start) = match find(raw, b"\r\n\r\n") {
        Some(i) if find(raw, b"\n\n").is_none_or(|j| j > i) => (i, i + 4),
        _ => match find(raw, b"\n\n") {
            Some(i) => (i, i + 2),
            None => return Err("no blank line after the response head".into()),
        },
    };
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "the response head is not text".to_string())?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status = lines.next().unwrap_or("");
    let code = status
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status.strip_prefix("HTTP/1.0 "))
        .ok_or("the first line is not an HTTP/1.x status line")?;
    if code.len() < 3 || !code.as_bytes()[..3].iter().all(u8::is_ascii_digit) || code.as_bytes().get(3).is_some_and(|b| *b != b' ') {
        return Err(format!("bad status line {status:?}"));
    }
    let mut out = Vec::with_capacity(raw.len() + 32);
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut framed = false;
    for line in lines {
        let Some((name, _)) = line.split_once(':') else {
            return Err(format!("bad header line {line:?}"));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(format!("bad header line {line:?}"));
        }
        framed |= name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body = &raw[body_start..];
    if !framed {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_files_become_crlf_with_a_length() {
        let raw = b"HTTP/1.0 503 Service Unavailable\nCache-Control: no-cache\nConnection: close\n\n<html>down</html>\n";
        let out = normalize(raw).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Length: 18\r\n\r\n<html>down</html>\n"
        );
    }

    #[test]
    fn crlf_files_with_a_length_are_kept() {
        let raw = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno";
        assert_eq!(normalize(raw).unwrap(), raw);
    }

    #[test]
    fn an_empty_file_or_dev_null_reads_as_an_empty_response() {
        let e = ErrorFile { code: 408, path: "/dev/null".into(), field: "frontend[0].errorfiles[0]".into(), response: None };
        assert_eq!(read_one(&e, Path::new("/")), Ok(Vec::new()));
        let zero = ErrorFile { path: "/dev/zero".into(), ..e };
        assert!(read_one(&zero, Path::new("/")).unwrap_err().contains("more than"));
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(normalize(b"<html>oops</html>").is_err());
        assert!(normalize(b"HTTP/2 503 x\r\n\r\n").is_err());
        assert!(normalize(b"HTTP/1.1 5x3 x\r\n\r\n").is_err());
        assert!(normalize(b"HTTP/1.1 503 x\r\nno colon\r\n\r\n").is_err());
        assert!(normalize(b"HTTP/1.1 503 x\r\nA: b").is_err());
    }
}
