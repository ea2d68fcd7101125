//! Maps a field path such as `listen[0].servers[1].addr` to its line and column in the RON text.
//!
//! serde and ron report positions only for syntax errors; validation errors (a dangling backend
//! name, a duplicate VRID) need them too, so this module skims the text once and records where
//! each field and list element starts. It only needs to understand RON's structure (brackets,
//! strings, comments, `name: value` pairs), not its values.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of every field path in a RON document.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<String, Pos>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        let tokens = tokenize(text);
        let mut locator = Locator::default();
        let mut parser = Skimmer { tokens: &tokens, at: 0, out: &mut locator.positions };
        parser.skip_attributes();
        parser.value("");
        locator
    }

    /// The field written last before `pos` (where a syntax error at `pos` is).
    pub fn field_at(&self, pos: Pos) -> Option<String> {
        self.positions
            .iter()
            .filter(|(path, p)| !path.is_empty() && (p.line, p.col) <= (pos.line, pos.col))
            .max_by_key(|(path, p)| (p.line, p.col, path.len()))
            .map(|(path, _)| path.clone())
    }

    /// Position of `path`, or of its nearest ancestor that is written in the file (a missing
    /// field is reported where its enclosing struct starts).
    pub fn find(&self, path: &str) -> Pos {
        let mut path = path;
        loop {
            if let Some(pos) = self.positions.get(path) {
                return *pos;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return self.positions.get("").copied().unwrap_or(Pos { line: 1, col: 1 }),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open(char),
    Close(char),
    Comma,
    Colon,
    Ident(String),
    /// Strings, numbers, chars: anything that is a leaf value.
    Atom,
    Hash,
    Bang,
}

fn tokenize(text: &str) -> Vec<(Tok, Pos)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    // Advances over n chars keeping line/col right.
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize, chars: &[char]| {
        for _ in 0..n {
            if *i >= chars.len() {
                return;
            }
            if chars[*i] == '\n' {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        match c {
            c if c.is_whitespace() => advance(&mut i, &mut line, &mut col, 1, &chars),
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let mut depth = 0usize;
                loop {
                    if i >= chars.len() {
                        break;
                    }
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        advance(&mut i, &mut line, &mut col, 2, &chars);
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        advance(&mut i, &mut line, &mut col, 2, &chars);
                        if depth == 0 {
                            break;
                        }
                    } else {
                        advance(&mut i, &mut line, &mut col, 1, &chars);
                    }
                }
            }
            '(' | '[' | '{' => {
                out.push((Tok::Open(c), pos));
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            ')' | ']' | '}' => {
                out.push((Tok::Close(c), pos));
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            ',' => {
                out.push((Tok::Comma, pos));
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            ':' => {
                out.push((Tok::Colon, pos));
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            '#' => {
                out.push((Tok::Hash, pos));
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            '!' => {
                out.push((Tok::Bang, pos));
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            '"' => {
                advance(&mut i, &mut line, &mut col, 1, &chars);
                while i < chars.len() && chars[i] != '"' {
                    let n = if chars[i] == '\\' { 2 } else { 1 };
                    advance(&mut i, &mut line, &mut col, n, &chars);
                }
                advance(&mut i, &mut line, &mut col, 1, &chars);
                out.push((Tok::Atom, pos));
            }
            '\'' => {
                advance(&mut i, &mut line, &mut col, 1, &chars);
                while i < chars.len() && chars[i] != '\'' {
                    let n = if chars[i] == '\\' { 2 } else { 1 };
                    advance(&mut i, &mut line, &mut col, n, &chars);
                }
                advance(&mut i, &mut line, &mut col, 1, &chars);
                out.push((Tok::Atom, pos));
            }
            'r' if matches!(chars.get(i + 1), Some('"') | Some('#')) => {
                // Raw string r#"..."#: count the hashes, then find the matching close.
                advance(&mut i, &mut line, &mut col, 1, &chars);
                let mut hashes = 0;
                while chars.get(i) == Some(&'#') {
                    hashes += 1;
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
                advance(&mut i, &mut line, &mut col, 1, &chars);
                while i < chars.len() {
                    if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                        advance(&mut i, &mut line, &mut col, 1 + hashes, &chars);
                        break;
                    }
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
                out.push((Tok::Atom, pos));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
                let word: String = chars[start..i].iter().collect();
                out.push((Tok::Ident(word), pos));
            }
            _ => {
                // Numbers and anything else: a leaf value up to the next delimiter.
                while i < chars.len() && !matches!(chars[i], ',' | ')' | ']' | '}' | ':') && !chars[i].is_whitespace() {
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
                out.push((Tok::Atom, pos));
            }
        }
    }
    out
}

struct Skimmer<'a> {
    tokens: &'a [(Tok, Pos)],
    at: usize,
    out: &'a mut HashMap<String, Pos>,
}

impl Skimmer<'_> {
    fn peek(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.at + ahead).map(|(t, _)| t)
    }

    fn pos(&self) -> Option<Pos> {
        self.tokens.get(self.at).map(|(_, p)| *p)
    }

    fn skip_attributes(&mut self) {
        while self.peek(0) == Some(&Tok::Hash) {
            // #![enable(...)]
            let mut depth = 0i32;
            self.at += 1;
            while let Some(tok) = self.peek(0).cloned() {
                self.at += 1;
                match tok {
                    Tok::Open(_) => depth += 1,
                    Tok::Close(_) => {
                        depth -= 1;
                        if depth <= 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn record(&mut self, path: &str, pos: Pos) {
        self.out.entry(path.to_string()).or_insert(pos);
    }

    /// Skims one value whose path is `path`.
    fn value(&mut self, path: &str) {
        let Some(pos) = self.pos() else { return };
        self.record(path, pos);
        match self.peek(0).cloned() {
            Some(Tok::Ident(name)) => {
                self.at += 1;
                if self.peek(0) == Some(&Tok::Open('(')) {
                    // `Some(x)` and newtype-like wrappers are transparent; a named struct
                    // `Name(field: ...)` is a struct.
                    let transparent = name == "Some";
                    self.group(path, ')', transparent);
                }
            }
            Some(Tok::Open(c)) => {
                let close = match c {
                    '(' => ')',
                    '[' => ']',
                    _ => '}',
                };
                self.group(path, close, false);
            }
            Some(_) => self.at += 1,
            None => {}
        }
    }

    /// Skims a bracketed group starting at its opening token.
    fn group(&mut self, path: &str, close: char, transparent: bool) {
        self.at += 1; // the opening bracket
        let mut index = 0usize;
        loop {
            match self.peek(0).cloned() {
                None => return,
                Some(Tok::Close(_)) => {
                    self.at += 1;
                    return;
                }
                Some(Tok::Comma) => {
                    self.at += 1;
                }
                Some(Tok::Ident(field)) if self.peek(1) == Some(&Tok::Colon) && close != '}' => {
                    let pos = self.pos();
                    self.at += 2;
                    let child = if path.is_empty() { field } else { format!("{path}.{field}") };
                    if let Some(pos) = pos {
                        self.record(&child, pos);
                    }
                    self.value(&child);
                }
                Some(_) => {
                    let child = if transparent {
                        path.to_string()
                    } else if close == ']' {
                        format!("{path}[{index}]")
                    } else {
                        format!("{path}.{index}")
                    };
                    self.value(&child);
                    if close == '}' && self.peek(0) == Some(&Tok::Colon) {
                        // map entry: key already skimmed, now the value
                        self.at += 1;
                        self.value(&child);
                    }
                    index += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"#![enable(implicit_some)]
// a comment with (brackets] and "quotes
(
  global: (user: "hakeeper", /* nested /* comment */ */ maxconn: 4096),
  listen: [
    (name: "a", bind: ["*:1"], servers: [
        (name: "s1", addr: "10.0.0.1:80"),
        (name: "s2", addr: r#"1.2.3.4:5"#),
    ]),
  ],
  stats: Some((bind: ":7777")),
  vrrp: (instances: [(name: "VI_1", auth: pass("x"), vrid: 35)]),
)
"##;

    #[test]
    fn finds_nested_fields_and_list_elements() {
        let l = Locator::new(DOC);
        assert_eq!(l.find("global.user"), Pos { line: 4, col: 12 });
        assert_eq!(l.find("global.maxconn"), Pos { line: 4, col: 57 });
        assert_eq!(l.find("listen[0].servers[1].addr"), Pos { line: 8, col: 22 });
        assert_eq!(l.find("listen[0].servers[0]"), Pos { line: 7, col: 9 });
        assert_eq!(l.find("stats.bind"), Pos { line: 11, col: 16 });
        assert_eq!(l.find("vrrp.instances[0].vrid"), Pos { line: 12, col: 54 });
    }

    #[test]
    fn missing_field_falls_back_to_parent() {
        let l = Locator::new(DOC);
        assert_eq!(l.find("listen[0].servers[1].weight"), l.find("listen[0].servers[1]"));
        assert_eq!(l.find("nothing.at.all"), Pos { line: 3, col: 1 });
    }
}
