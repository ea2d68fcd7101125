//! Splits an haproxy.cfg into lines of words the way HAProxy 2.6's `parse_line()` does:
//! blanks separate words; `"…"` and `'…'` quote (quotes may join a word: `a"b c"` is `ab c`);
//! outside single quotes a backslash escapes a blank, `#`, a quote or a backslash, and `\t \n \r
//! \xHH` are control characters (any other backslash is kept); an unquoted `#` starts a comment.
//! HAProxy 2.6 has no line continuation: a trailing backslash stays, and is pointed out.

use crate::import::error::ImportError;
use crate::import::warning::Notes;

/// One non-empty line: its 1-based number and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub words: Vec<String>,
}

pub fn tokenize(file: &str, text: &str, notes: &mut Notes) -> Result<Vec<Line>, ImportError> {
    let mut lines = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let number = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let words = split_line(file, number, raw, notes)?;
        if !words.is_empty() {
            lines.push(Line { number, words });
        }
    }
    Ok(lines)
}

fn split_line(file: &str, number: usize, raw: &str, notes: &mut Notes) -> Result<Vec<String>, ImportError> {
    let chars: Vec<char> = raw.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once anything of it was read, so that `""` is an (empty) word.
    let mut in_word = false;
    let (mut squote, mut dquote) = (false, false);
    let mut env_seen = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' && !squote {
            dquote = !dquote;
            in_word = true;
        } else if c == '\'' && !dquote {
            squote = !squote;
            in_word = true;
        } else if c == '\\' && !squote {
            let (ch, used) = unescape(&chars[i + 1..]);
            if used == 0 && i + 1 == chars.len() {
                notes.lint(
                    file,
                    number,
                    "line ends with a backslash: HAProxy 2.6 does not continue lines, so the backslash is kept and the next line is a \
                     directive of its own",
                );
            }
            word.push(ch);
            in_word = true;
            i += used;
        } else if c.is_whitespace() && !squote && !dquote {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
        } else if c == '#' && !squote && !dquote {
            break;
        } else {
            if c == '$' && dquote && chars.get(i + 1).is_some_and(|n| *n == '{' || n.is_ascii_alphabetic() || *n == '_') {
                env_seen = true;
            }
            word.push(c);
            in_word = true;
        }
        i += 1;
    }
    if squote || dquote {
        return Err(ImportError::syntax(file, number, format!("unmatched {} quote", if squote { "single" } else { "double" })));
    }
    if in_word {
        words.push(word);
    }
    if env_seen {
        const WHY: &str =
            "environment variables in double quotes are expanded by HAProxy at start-up; the importer keeps the text as written";
        match super::lossy::meaning(&words) {
            // A rule would then test, or route to, the literal `${…}` text.
            Some(meant) => notes.lossy(file, number, meant, WHY),
            None => notes.untranslated(file, number, WHY),
        }
    }
    Ok(words)
}

/// The character a backslash sequence stands for, given what follows the backslash, and how many
/// of those characters it used. Unknown sequences keep the backslash, as HAProxy does.
fn unescape(rest: &[char]) -> (char, usize) {
    match rest.first() {
        Some(' ') => (' ', 1),
        Some('\t') => ('\t', 1),
        Some('\\') => ('\\', 1),
        Some('#') => ('#', 1),
        Some('\'') => ('\'', 1),
        Some('"') => ('"', 1),
        Some('t') => ('\t', 1),
        Some('n') => ('\n', 1),
        Some('r') => ('\r', 1),
        Some('x') => {
            let hex: String = rest.iter().skip(1).take(2).collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(b) if hex.len() == 2 => (char::from(b), 3),
                _ => ('\\', 0),
            }
        }
        _ => ('\\', 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut notes = Notes::default();
        let lines = tokenize("t.cfg", line, &mut notes).unwrap();
        lines.into_iter().next().map(|l| l.words).unwrap_or_default()
    }

    #[test]
    fn blanks_separate_words_and_comments_end_lines() {
        assert_eq!(words("  log     global   "), ["log", "global"]);
        assert_eq!(words("\tserver s1 10.0.0.1:80\tcheck # the first"), ["server", "s1", "10.0.0.1:80", "check"]);
        assert_eq!(words("maxconn 10#comment"), ["maxconn", "10"]);
        assert!(words("# only a comment").is_empty());
    }

    #[test]
    fn backslash_escapes() {
        assert_eq!(words(r"stats realm XingCloud\ Haproxy"), ["stats", "realm", "XingCloud Haproxy"]);
        assert_eq!(words(r"a\#b c\\d e\'f"), ["a#b", r"c\d", "e'f"]);
        assert_eq!(words(r"x\x41y \q"), ["xAy", r"\q"]);
        assert_eq!(words(r"option httpchk GET / HTTP/1.1\r\nHost:\ a"), ["option", "httpchk", "GET", "/", "HTTP/1.1\r\nHost: a"]);
    }

    #[test]
    fn quotes_group_and_join() {
        assert_eq!(words(r#"stats realm "My Stats" x"#), ["stats", "realm", "My Stats", "x"]);
        assert_eq!(words(r#"a'b c'd "e # f""#), ["ab cd", "e # f"]);
        assert_eq!(words(r#"'no \ escape' "\"q\"""#), [r"no \ escape", "\"q\""]);
        assert_eq!(words(r#"x "" y"#), ["x", "", "y"]);
    }

    #[test]
    fn unmatched_quote_is_an_error_with_its_line() {
        let mut notes = Notes::default();
        let err = tokenize("t.cfg", "global\n  log \"127.0.0.1 local0\n", &mut notes).unwrap_err();
        assert_eq!(err.to_string(), "t.cfg:2: error: unmatched double quote");
    }

    #[test]
    fn trailing_backslash_is_kept_and_pointed_out() {
        let mut notes = Notes::default();
        let lines = tokenize("t.cfg", "global\n  maxconn 10 \\\n  nbthread 2\n", &mut notes).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].words, ["maxconn", "10", "\\"]);
        assert_eq!(lines[2].number, 3);
        assert_eq!(notes.list.len(), 1);
        assert!(notes.list[0].to_string().starts_with("t.cfg:2: warning: line ends with a backslash"), "{}", notes.list[0]);
    }

    #[test]
    fn environment_variables_are_flagged_not_expanded() {
        let mut notes = Notes::default();
        let lines = tokenize("t.cfg", "  bind \"${ADDR}:80\"\n", &mut notes).unwrap();
        assert_eq!(lines[0].words, ["bind", "${ADDR}:80"]);
        assert_eq!(notes.list.len(), 1);
        assert_eq!(notes.list[0].line, 1);
    }

    #[test]
    fn crlf_line_ends_are_accepted() {
        assert_eq!(words("maxconn 10\r\n"), ["maxconn", "10"]);
    }
}
