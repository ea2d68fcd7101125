//! RON syntax and type errors in the config's own terms: the field they are in, "did you mean"
//! for a misspelt field or value, the type expected by name, and what was written instead (ron
//! and serde speak of Rust structs, raw identifiers and "integers").

use super::locate::{Locator, Pos};
use super::suggest::closest;
use ron::error::{Error, SpannedError};

/// What an operator reads for a ron error: (field path, message).
pub fn describe(e: &SpannedError, text: &str) -> (String, String) {
    let pos = Pos { line: e.span.start.line.max(1), col: e.span.start.col.max(1) };
    let field = Locator::new(text).field_at(pos).unwrap_or_default();
    let found = token_at(text, pos);
    let expected = |what: &str| match &found {
        Some(t) => format!("expected {what}, found `{t}`"),
        None => format!("expected {what}"),
    };
    let message = match &e.code {
        Error::NoSuchStructField { expected: known, found: name, outer } => {
            let section = outer.as_deref().map(section_name).unwrap_or_default();
            let within = if section.is_empty() { String::new() } else { format!(" in `{section}`") };
            match closest(name, known) {
                Some(s) => format!("unknown field `{name}`{within}: did you mean `{s}`?"),
                None => format!("unknown field `{name}`{within}; the fields here are {}", list(known)),
            }
        }
        Error::NoSuchEnumVariant { expected: known, found: name, .. } => match closest(name, known) {
            Some(s) => format!("unknown value `{name}`: did you mean `{s}`?"),
            None => format!("unknown value `{name}`; expected one of {}", list(known)),
        },
        Error::SuggestRawIdentifier(word) | Error::InvalidIdentifier(word) => bare_word(word),
        Error::MissingStructField { field: name, .. } => format!("missing field `{name}`"),
        Error::DuplicateStructField { field: name, .. } => format!("field `{name}` is given twice"),
        Error::ExpectedInteger | Error::IntegerOutOfBounds | Error::InvalidIntegerDigit { .. } => expected("a whole number"),
        Error::ExpectedFloat => expected("a number"),
        Error::ExpectedBoolean => expected("`true` or `false`"),
        Error::ExpectedString | Error::ExpectedStringEnd => expected("a quoted string (\"…\")"),
        Error::ExpectedArray => expected("a list `[…]`"),
        Error::ExpectedStructLike | Error::ExpectedNamedStructLike(_) => expected("a section `( … )`"),
        Error::ExpectedMap => expected("a map `{ … }`"),
        Error::ExpectedComma => expected("a comma"),
        Error::InvalidValueForType { expected: what, found: got } => format!("expected {what}, found {got}"),
        Error::Message(m) => m.replace("`Raw", "`"),
        other => other.to_string().replace("`Raw", "`"),
    };
    (field, message)
}

/// The section a serde struct name stands for (`RawGlobal` → `global`, `RawServer` → `server`).
fn section_name(rust: &str) -> String {
    let name = rust.strip_prefix("Raw").unwrap_or(rust);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// A bare word RON cannot read, such as HAProxy's `static-rr`: names use `_`, text is quoted.
fn bare_word(word: &str) -> String {
    if word.contains('-') {
        format!(
            "`{word}` cannot be written bare: names use `_` where HAProxy uses `-` (`{}`), and text is quoted (\"{word}\")",
            word.replace('-', "_")
        )
    } else {
        format!("`{word}` cannot be written bare: names are letters, digits and `_`, and text is quoted (\"{word}\")")
    }
}

/// The value written at `pos`: a quoted string, or a word up to the next delimiter.
fn token_at(text: &str, pos: Pos) -> Option<String> {
    let line = text.lines().nth(pos.line - 1)?;
    let rest: String = line.chars().skip(pos.col - 1).collect();
    let rest = rest.trim_start();
    let token = if let Some(body) = rest.strip_prefix('"') {
        let end = body.find('"').map_or(body.len(), |e| e + 1);
        format!("\"{}", &body[..end.min(body.len())])
    } else {
        rest.chars().take_while(|c| !matches!(c, ',' | ')' | ']' | '}' | ' ' | '\t')).collect()
    };
    (!token.is_empty()).then_some(token)
}

/// The line at `pos` with a caret under its column, as compilers show it (long lines are cut
/// to a window around the column).
pub fn excerpt(text: &str, pos: Pos) -> String {
    const WIDTH: usize = 100;
    let Some(line) = text.lines().nth(pos.line.saturating_sub(1)) else { return String::new() };
    let chars: Vec<char> = line.chars().collect();
    let col = pos.col.saturating_sub(1).min(chars.len());
    let from = col.saturating_sub(WIDTH / 2).min(chars.len().saturating_sub(WIDTH));
    let to = (from + WIDTH).min(chars.len());
    let (lead, tail) = (if from > 0 { "…" } else { "" }, if to < chars.len() { "…" } else { "" });
    let shown: String = chars[from..to].iter().collect();
    let number = pos.line.to_string();
    let pad = " ".repeat(number.len());
    let caret = " ".repeat(col - from + lead.chars().count());
    format!("{number} | {lead}{shown}{tail}\n{pad} | {caret}^")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (String, String) {
        let e = super::super::ron_options().from_str::<super::super::raw::RawConfig>(text).expect_err("must fail");
        describe(&e, text)
    }

    #[test]
    fn misspelt_fields_and_values_get_a_suggestion() {
        let (field, msg) = err("(global: (maxconnn: 100))");
        assert_eq!((field.as_str(), msg.as_str()), ("global.maxconnn", "unknown field `maxconnn` in `global`: did you mean `maxconn`?"));
        let (_, msg) = err("(listen: [(name: \"p\", bind: [\"127.0.0.1:1\"], balance: round_robin, servers: [])])");
        assert_eq!(msg, "unknown value `round_robin`: did you mean `roundrobin`?");
    }

    #[test]
    fn haproxy_words_and_wrong_types_are_explained_with_the_field() {
        let (field, msg) = err("(listen: [(name: \"p\", bind: [\"127.0.0.1:1\"], balance: static-rr, servers: [])])");
        assert_eq!(field, "listen[0].balance");
        assert!(msg.starts_with("`static-rr` cannot be written bare: names use `_`") && msg.contains("`static_rr`"), "{msg}");
        let text = "(listen: [(name: \"p\", bind: [\"127.0.0.1:1\"], servers: [(name: \"s\", addr: \"127.0.0.1:9\", weight: \"x\")])])";
        let (field, msg) = err(text);
        assert_eq!((field.as_str(), msg.as_str()), ("listen[0].servers[0].weight", "expected a whole number, found `\"x\"`"));
    }

    #[test]
    fn the_excerpt_puts_a_caret_under_the_column() {
        let text = "(\n  global: (maxconnn: 100),\n)";
        assert_eq!(excerpt(text, Pos { line: 2, col: 13 }), "2 |   global: (maxconnn: 100),\n  |             ^");
        let long = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let shown = excerpt(&long, Pos { line: 1, col: 301 });
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[1].chars().position(|c| c == '^').expect("caret");
        assert_eq!(lines[0].chars().nth(caret), Some('X'), "{shown}");
    }
}
