//! Script command lines split into words the way keepalived 2.2 splits them
//! (`alloc_strvec_quoted_escaped` in lib/parser.c), so that a notify script configured for
//! keepalived gets the same argv under hakeeper. keepalived then execs the first word directly
//! with the others as its arguments: no shell, so `|`, `;` or `>` are plain arguments.

/// keepalived's WHITE_SPACE.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Splits `text` into words: blanks separate words; `"…"` and `'…'` quote (either quote is
/// literal inside the other); a backslash escapes the next character everywhere, quotes
/// included, with C's `\a \b \f \n \r \t \v`, `\E` (escape), `\xHH…`, `\cX` (control-X) and up
/// to three octal digits. Errors: an unterminated quote, a trailing backslash, no word at all,
/// or escapes that do not form UTF-8.
pub fn split_command_line(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| is_blank(*c)).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match c {
                '\\' => {
                    chars.next();
                    let Some(e) = chars.next() else {
                        return Err(format!("command {text:?} ends with a lone backslash"));
                    };
                    escape(e, &mut chars, &mut word);
                }
                c if Some(c) == quote => {
                    chars.next();
                    quote = None;
                }
                '"' | '\'' if quote.is_none() => {
                    chars.next();
                    quote = Some(c);
                }
                c if quote.is_none() && is_blank(c) => break,
                c => {
                    chars.next();
                    let mut buf = [0u8; 4];
                    word.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if let Some(q) = quote {
            return Err(format!("command {text:?} is missing a terminating {q}"));
        }
        words.push(String::from_utf8(word).map_err(|_| format!("escapes in command {text:?} do not form UTF-8 text"))?);
    }
    if words.is_empty() {
        return Err("empty command".to_string());
    }
    Ok(words)
}

/// The byte(s) for the escape `\e…`; `e` is the character after the backslash.
fn escape(e: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut Vec<u8>) {
    let byte = match e {
        // keepalived folds every hex digit into one char, keeping the low 8 bits.
        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
            let mut v: u32 = 0;
            while let Some(d) = chars.next_if(char::is_ascii_hexdigit).and_then(|d| d.to_digit(16)) {
                v = (v << 4 | d) & 0xff;
            }
            v as u8
        }
        'c' if chars.peek().is_some() => chars.next().map(|x| (x as u32 & 0x1f) as u8).unwrap_or(0),
        '0'..='7' => {
            let mut v = e as u32 - '0' as u32;
            for _ in 0..2 {
                match chars.next_if(|d| ('0'..='7').contains(d)) {
                    Some(d) => v = v * 8 + (d as u32 - '0' as u32),
                    None => break,
                }
            }
            (v & 0xff) as u8
        }
        'a' => 0x07,
        'b' => 0x08,
        'E' => 0x1b,
        'f' => 0x0c,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 0x0b,
        other => {
            let mut buf = [0u8; 4];
            word.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            return;
        }
    };
    word.push(byte);
}

/// A word a shell would treat as syntax, not as an argument: keepalived passes it to the
/// program as it is, which is rarely what the author meant.
pub fn shell_syntax(words: &[String]) -> Option<&str> {
    const OPERATORS: [&str; 10] = ["|", "||", "&", "&&", ";", ">", ">>", "<", "2>&1", "&>"];
    words
        .iter()
        .skip(1)
        .map(String::as_str)
        .find(|w| OPERATORS.contains(w) || w.starts_with("$(") || w.starts_with('`') || w.starts_with("2>") || w.starts_with(">"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<String> {
        split_command_line(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn blanks_separate_words_and_quotes_group_them() {
        assert_eq!(split("/etc/ka/notify.sh master"), ["/etc/ka/notify.sh", "master"]);
        assert_eq!(split("  a\t b  "), ["a", "b"]);
        assert_eq!(split("/x.sh 'two words' \"and three more\""), ["/x.sh", "two words", "and three more"]);
        // Quotes join with the text around them, as in a shell.
        assert_eq!(split("/x.sh --name='VI 1'"), ["/x.sh", "--name=VI 1"]);
        assert_eq!(split("/x.sh \"it's\" 'say \"hi\"'"), ["/x.sh", "it's", "say \"hi\""]);
        assert_eq!(split("/x.sh ''"), ["/x.sh", ""]);
    }

    #[test]
    fn backslash_escapes_as_keepalived() {
        assert_eq!(split(r"/x.sh a\ b"), ["/x.sh", "a b"]);
        // Unlike a shell, keepalived processes escapes inside single quotes too.
        assert_eq!(split(r"/x.sh 'a\tb' \x41\101 \cA \E \q"), ["/x.sh", "a\tb", "AA", "\u{1}", "\u{1b}", "q"]);
        assert_eq!(split(r#"/x.sh "say \"hi\"""#), ["/x.sh", "say \"hi\""]);
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(split_command_line("/x.sh 'open").unwrap_err().contains("terminating '"));
        assert!(split_command_line("/x.sh \"open").unwrap_err().contains("terminating \""));
        assert!(split_command_line(r"/x.sh \").unwrap_err().contains("backslash"));
        assert_eq!(split_command_line("   ").unwrap_err(), "empty command");
        assert!(split_command_line(r"/x.sh \xff").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn shell_operators_are_noticed_after_the_program() {
        assert_eq!(shell_syntax(&split("/x.sh a | logger")), Some("|"));
        assert_eq!(shell_syntax(&split("/x.sh >/tmp/log")), Some(">/tmp/log"));
        assert_eq!(shell_syntax(&split("/x.sh $(hostname)")), Some("$(hostname)"));
        assert_eq!(shell_syntax(&split("/x.sh 'a | b' --x=1")), None);
    }
}
