//! `-f FILE` pattern files, read when the config is loaded (and again on each reload), as
//! HAProxy's `pat_ref_read_from_file()` reads them: one pattern per line; a line whose first
//! character is `#` is a comment; leading blanks and tabs are stripped, trailing ones are part
//! of the pattern; an empty line is skipped. A relative path is taken from the config file's
//! directory.

use std::io::Read;
use std::path::Path;

/// A bound on one file, so that `/dev/zero` or a mistaken path to a huge file is refused
/// instead of read into memory.
pub const MAX_PATTERN_FILE: u64 = 16 << 20;

/// One pattern and where it came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePattern {
    pub text: String,
    pub line: usize,
}

/// The patterns of `text`, with their line numbers.
pub fn patterns_of(text: &str) -> Vec<FilePattern> {
    text.split('\n')
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .map(|(i, l)| {
            let l = l.trim_start_matches([' ', '\t']);
            // fgets() keeps the CR of a CRLF line, and HAProxy cuts the line there.
            let l = l.split('\r').next().unwrap_or_default();
            FilePattern { text: l.to_string(), line: i + 1 }
        })
        .filter(|p| !p.text.is_empty())
        .collect()
}

/// Reads `file` (relative to `dir`) and returns its patterns; the error names the file.
pub fn read_patterns(file: &str, dir: &Path) -> Result<Vec<FilePattern>, String> {
    let path = if Path::new(file).is_absolute() { Path::new(file).to_path_buf() } else { dir.join(file) };
    let f = std::fs::File::open(&path).map_err(|e| format!("cannot read pattern file {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_PATTERN_FILE + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read pattern file {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_PATTERN_FILE {
        return Err(format!("pattern file {} is larger than {} MiB", path.display(), MAX_PATTERN_FILE >> 20));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(patterns_of(&text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            Err(format!("{}:{line}: the pattern is not UTF-8 text", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_haproxy_reads_them() {
        let got = patterns_of("# comment\n10.0.0.0/8\n\n  \t192.0.2.1\r\n #not a comment\ntrailing  \n");
        let texts: Vec<(&str, usize)> = got.iter().map(|p| (p.text.as_str(), p.line)).collect();
        assert_eq!(texts, [("10.0.0.0/8", 2), ("192.0.2.1", 4), ("#not a comment", 5), ("trailing  ", 6)]);
        assert!(patterns_of("").is_empty() && patterns_of("#only\n\n   \n").is_empty());
    }

    #[test]
    fn files_are_read_relative_to_the_config_and_bounded() {
        let dir = std::env::temp_dir().join(format!("hakeeper-patterns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nets.lst"), "# office\n10.0.0.0/8\n").unwrap();
        std::fs::write(dir.join("bad.lst"), b"ok\n\xff\n").unwrap();
        let nets = read_patterns("nets.lst", &dir);
        let bad = read_patterns("bad.lst", &dir);
        let missing = read_patterns("/nonexistent/x.lst", &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(nets.unwrap(), vec![FilePattern { text: "10.0.0.0/8".into(), line: 2 }]);
        assert!(bad.unwrap_err().ends_with("bad.lst:2: the pattern is not UTF-8 text"));
        assert!(missing.unwrap_err().starts_with("cannot read pattern file /nonexistent/x.lst"));
        assert!(read_patterns("/dev/zero", Path::new("/")).unwrap_err().contains("larger than"));
    }
}
