//! keepalived.conf as a tree: each line is a statement (its words), and `{ … }` gives the
//! statement before it a block. Comments start with `#` or `!` outside quotes; `"…"` quotes; a
//! trailing backslash continues the line; braces need no blanks around them; a block may open on
//! the next line. `include PATTERN` is spliced in where it stands, relative to the including file.

use crate::import::error::{read_text, ImportError};
use crate::import::warning::Notes;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Includes nested deeper than this are taken for a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub words: Vec<String>,
    pub file: Rc<str>,
    pub line: usize,
    pub block: Option<Vec<Node>>,
}

impl Node {
    pub fn keyword(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(String::as_str)
    }

    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

/// One logical line after includes are expanded.
struct Line {
    file: Rc<str>,
    number: usize,
    toks: Vec<Tok>,
}

/// Parses `text` (read from `name`), expanding includes.
pub fn parse(name: &str, text: &str, notes: &mut Notes) -> Result<Vec<Node>, ImportError> {
    let mut lines = Vec::new();
    expand(Rc::from(name), text, 0, notes, &mut lines)?;
    build(lines)
}

fn expand(file: Rc<str>, text: &str, depth: usize, notes: &mut Notes, out: &mut Vec<Line>) -> Result<(), ImportError> {
    for (number, toks) in logical_lines(&file, text)? {
        match toks.as_slice() {
            [Tok::Word(kw), Tok::Word(pattern)] if kw == "include" => {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(ImportError::syntax(
                        &file,
                        number,
                        format!("includes nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)"),
                    ));
                }
                let paths = include_paths(&file, pattern);
                if paths.is_empty() {
                    notes.untranslated(&file, number, format!("include {pattern:?} matches no file; nothing included"));
                }
                for path in paths {
                    let text = read_text(&path)?;
                    expand(Rc::from(path.display().to_string()), &text, depth + 1, notes, out)?;
                }
            }
            [Tok::Word(kw), ..] if kw.starts_with('@') || kw.starts_with('$') || kw.starts_with('~') => {
                notes.untranslated(
                    &file,
                    number,
                    format!("keepalived's conditional, parameter and sequence lines (`{kw}`) are not translated; line skipped"),
                );
            }
            _ => out.push(Line { file: file.clone(), number, toks }),
        }
    }
    Ok(())
}

/// Splits text into numbered logical lines of tokens.
fn logical_lines(file: &str, text: &str) -> Result<Vec<(usize, Vec<Tok>)>, ImportError> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let stripped = strip_comment(raw);
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        let trimmed = stripped.trim_end();
        if let Some(head) = trimmed.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(stripped);
        let toks = split(file, start, &joined)?;
        if !toks.is_empty() {
            out.push((start, toks));
        }
    }
    if let Some((start, joined)) = pending {
        let toks = split(file, start, &joined)?;
        if !toks.is_empty() {
            out.push((start, toks));
        }
    }
    Ok(out)
}

/// The line up to a `#` or `!` that is not inside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#' | '!') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn split(file: &str, number: usize, line: &str) -> Result<Vec<Tok>, ImportError> {
    let mut toks = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else {
                word.push(c);
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                in_word = true;
            }
            '{' | '}' => {
                if in_word {
                    toks.push(Tok::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
                toks.push(if c == '{' { Tok::Open } else { Tok::Close });
            }
            c if c.is_whitespace() => {
                if in_word {
                    toks.push(Tok::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(ImportError::syntax(file, number, "unmatched quote"));
    }
    if in_word {
        toks.push(Tok::Word(word));
    }
    Ok(toks)
}

/// The files an include names: relative to the including file; `*`, `?` in the last component.
fn include_paths(including: &str, pattern: &str) -> Vec<PathBuf> {
    let base = Path::new(including).parent().unwrap_or(Path::new(""));
    let full = if Path::new(pattern).is_absolute() { PathBuf::from(pattern) } else { base.join(pattern) };
    let Some(name) = full.file_name().and_then(|n| n.to_str()) else { return Vec::new() };
    if !name.contains(['*', '?']) {
        return if full.exists() { vec![full] } else { Vec::new() };
    }
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { &dir }) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|f| wildcard(name, f)) && e.path().is_file())
        .map(|e| dir.join(e.file_name()))
        .collect();
    found.sort();
    found
}

/// Shell-style match of `*` and `?`.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// An open block: the nodes read so far, and where it opened.
struct Frame {
    nodes: Vec<Node>,
    file: Rc<str>,
    line: usize,
}

fn build(lines: Vec<Line>) -> Result<Vec<Node>, ImportError> {
    let mut stack = vec![Frame { nodes: Vec::new(), file: Rc::from(""), line: 0 }];
    for line in lines {
        let mut words = Vec::new();
        for tok in line.toks {
            match tok {
                Tok::Word(w) => words.push(w),
                Tok::Open => {
                    let top = stack.last_mut().map(|f| &mut f.nodes);
                    let Some(top) = top else { break };
                    if words.is_empty() {
                        // `{` on a line of its own opens the block of the statement before it.
                        match top.last_mut() {
                            Some(prev) if prev.block.is_none() => prev.block = Some(Vec::new()),
                            _ => return Err(ImportError::syntax(&line.file, line.number, "`{` without a keyword before it")),
                        }
                    } else {
                        let node =
                            Node { words: std::mem::take(&mut words), file: line.file.clone(), line: line.number, block: Some(Vec::new()) };
                        top.push(node);
                    }
                    stack.push(Frame { nodes: Vec::new(), file: line.file.clone(), line: line.number });
                }
                Tok::Close => {
                    push_statement(&mut stack, &mut words, &line.file, line.number);
                    if stack.len() < 2 {
                        return Err(ImportError::syntax(&line.file, line.number, "`}` without a matching `{`"));
                    }
                    if let Some(done) = stack.pop() {
                        if let Some(owner) = stack.last_mut().and_then(|f| f.nodes.last_mut()) {
                            owner.block = Some(done.nodes);
                        }
                    }
                }
            }
        }
        push_statement(&mut stack, &mut words, &line.file, line.number);
    }
    if stack.len() > 1 {
        let open = &stack[stack.len() - 1];
        return Err(ImportError::syntax(&open.file, open.line, "block opened here is not closed (missing `}`)"));
    }
    Ok(stack.pop().map(|f| f.nodes).unwrap_or_default())
}

fn push_statement(stack: &mut [Frame], words: &mut Vec<String>, file: &Rc<str>, line: usize) {
    if words.is_empty() {
        return;
    }
    if let Some(top) = stack.last_mut() {
        top.nodes.push(Node { words: std::mem::take(words), file: file.clone(), line, block: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Vec<Node> {
        parse("k.conf", text, &mut Notes::default()).unwrap()
    }

    #[test]
    fn blocks_comments_and_quotes() {
        let t = tree(
            "! header comment\nvrrp_script chk { # trailing\n  script \"/bin/check arg\"\n  interval 2 ! bang comment\n}\nvrrp_instance VI_1\n{\n  virtual_ipaddress { 10.0.0.5 }\n}\n",
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].words, ["vrrp_script", "chk"]);
        assert_eq!(t[0].line, 2);
        let c = t[0].children();
        assert_eq!(c[0].words, ["script", "/bin/check arg"]);
        assert_eq!(c[1].words, ["interval", "2"]);
        assert_eq!(c[1].line, 4);
        assert_eq!(t[1].words, ["vrrp_instance", "VI_1"]);
        assert_eq!(t[1].children()[0].children()[0].words, ["10.0.0.5"]);
    }

    #[test]
    fn braces_need_no_blanks_and_lines_continue() {
        let t = tree("a{b 1}\nc \\\n  d e\nf\n");
        assert_eq!(t[0].words, ["a"]);
        assert_eq!(t[0].children()[0].words, ["b", "1"]);
        assert_eq!(t[1].words, ["c", "d", "e"]);
        assert_eq!(t[1].line, 2);
        assert_eq!(t[2].line, 4);
    }

    #[test]
    fn quoted_comment_characters_stay() {
        let t = tree("auth_pass \"a#b!c\"\n");
        assert_eq!(t[0].words, ["auth_pass", "a#b!c"]);
    }

    #[test]
    fn unbalanced_braces_are_errors_with_lines() {
        let e = parse("k.conf", "a {\n b\n", &mut Notes::default()).unwrap_err();
        assert_eq!(e.to_string(), "k.conf:1: error: block opened here is not closed (missing `}`)");
        let e = parse("k.conf", "a\n}\n", &mut Notes::default()).unwrap_err();
        assert_eq!(e.to_string(), "k.conf:2: error: `}` without a matching `{`");
        let e = parse("k.conf", "x \"open\n", &mut Notes::default()).unwrap_err();
        assert_eq!(e.to_string(), "k.conf:1: error: unmatched quote");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "vi_1.conf"));
        assert!(wildcard("vi_?.conf", "vi_1.conf"));
        assert!(!wildcard("*.conf", "vi_1.conf.bak"));
        assert!(wildcard("*", ""));
    }
}
