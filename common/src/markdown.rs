//! The small Markdown subset that docs/hakeeper.ron.5.md is written in, parsed into blocks so
//! that `hakeeper __generate` can turn it into a man page and the reference test can read which
//! fields it documents. Both read the same parse, so the page an operator reads and the page the
//! test checks cannot differ.
//!
//! The subset: `#`/`##` headings, paragraphs (a line ending in `\` is a hard break), fenced code
//! blocks, `- ` bullet lists, and definition lists as pandoc writes them (a term line, then
//! `: ` and the definition, continued by lines indented two spaces). Inline: `` `code` ``,
//! `*emphasis*`, `**strong**`. Anything else that Markdown would give a meaning to (tables,
//! quotes, numbered lists, deeper headings) is an error rather than text rendered wrongly.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading {
        level: u8,
        text: String,
        line: usize,
    },
    /// Lines as written; one ending in `\` breaks the line there.
    Paragraph(Vec<String>),
    Code(Vec<String>),
    /// Items, each the text of its lines joined by spaces.
    List(Vec<String>),
    Definition {
        term: String,
        body: Vec<Block>,
        line: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a document; line numbers in blocks and errors count from 1.
pub fn parse(text: &str) -> Result<Vec<Block>, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    parse_lines(&lines, 1)
}

fn indented(line: &str) -> Option<&str> {
    line.strip_prefix("  ")
}

fn parse_lines(lines: &[&str], first_line: usize) -> Result<Vec<Block>, ParseError> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = first_line + i;
        let err = |message: String| Err(ParseError { line: number, message });
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        if line.starts_with("```") {
            let Some(len) = lines[i + 1..].iter().position(|l| l.starts_with("```")) else {
                return err("code block without its closing ```".into());
            };
            blocks.push(Block::Code(lines[i + 1..i + 1 + len].iter().map(|l| l.to_string()).collect()));
            i += len + 2;
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let level = 1 + rest.bytes().take_while(|&b| b == b'#').count();
            let text = rest.trim_start_matches('#');
            if level > 2 || !text.starts_with(' ') {
                return err(format!("heading {line:?}: only `# ` and `## ` headings are supported"));
            }
            blocks.push(Block::Heading { level: level as u8, text: text.trim().to_string(), line: number });
            i += 1;
            continue;
        }
        if let Some(problem) = unsupported(line) {
            return err(problem);
        }
        if line.starts_with("- ") {
            let mut items = Vec::new();
            while let Some(item) = lines.get(i).and_then(|l| l.strip_prefix("- ")) {
                let mut text = item.trim().to_string();
                i += 1;
                while let Some(more) = lines.get(i).and_then(|l| indented(l)).filter(|m| !m.trim().is_empty()) {
                    text.push(' ');
                    text.push_str(more.trim());
                    i += 1;
                }
                items.push(text);
            }
            blocks.push(Block::List(items));
            continue;
        }
        if let Some(first) = lines.get(i + 1).and_then(|l| l.strip_prefix(": ")) {
            // The definition: its first line, then every indented or blank line up to the
            // next line that starts at the margin.
            let mut body = vec![first];
            let mut j = i + 2;
            while let Some(l) = lines.get(j) {
                if let Some(more) = indented(l) {
                    body.push(more);
                } else if l.trim().is_empty() && lines.get(j + 1).is_some_and(|n| indented(n).is_some()) {
                    body.push("");
                } else {
                    break;
                }
                j += 1;
            }
            let body = parse_lines(&body, number + 1)?;
            blocks.push(Block::Definition { term: line.trim().to_string(), body, line: number });
            i = j;
            continue;
        }
        let mut para = Vec::new();
        while let Some(l) = lines.get(i) {
            if l.trim().is_empty() || l.starts_with("```") || l.starts_with('#') || l.starts_with("- ") {
                break;
            }
            if lines.get(i + 1).is_some_and(|n| n.starts_with(": ")) {
                break;
            }
            if let Some(problem) = unsupported(l) {
                return Err(ParseError { line: first_line + i, message: problem });
            }
            para.push(l.trim().to_string());
            i += 1;
        }
        blocks.push(Block::Paragraph(para));
    }
    Ok(blocks)
}

/// Markdown this subset does not render, named so the writer can rephrase.
fn unsupported(line: &str) -> Option<String> {
    let t = line.trim_start();
    let what = if t.starts_with('|') {
        "tables"
    } else if t.starts_with('>') {
        "block quotes"
    } else if t.starts_with("* ") || t.starts_with("+ ") {
        "`*` and `+` lists (use `- `)"
    } else if t.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
        "numbered lists"
    } else if t.starts_with("    ") || line.starts_with('\t') {
        "indented code (use ``` fences)"
    } else {
        return None;
    };
    Some(format!("{what} are not supported by the man page converter: {line:?}"))
}

/// A piece of inline text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline<'a> {
    Text(&'a str),
    Code(&'a str),
    Emphasis(&'a str),
    Strong(&'a str),
}

/// Splits a line into text, code spans, emphasis and strong emphasis. An opening mark without
/// its closing one is text.
pub fn inlines(text: &str) -> Vec<Inline<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = rest.find(['`', '*']).unwrap_or(rest.len());
        if next > 0 {
            out.push(Inline::Text(&rest[..next]));
            rest = &rest[next..];
            continue;
        }
        let mark = if rest.starts_with('`') {
            "`"
        } else if rest.starts_with("**") {
            "**"
        } else {
            "*"
        };
        let inner = &rest[mark.len()..];
        match inner.find(mark).filter(|&end| end > 0) {
            Some(end) => {
                let span = &inner[..end];
                out.push(match mark {
                    "`" => Inline::Code(span),
                    "**" => Inline::Strong(span),
                    _ => Inline::Emphasis(span),
                });
                rest = &inner[end + mark.len()..];
            }
            None => {
                out.push(Inline::Text(mark));
                rest = inner;
            }
        }
    }
    out
}

/// The code spans of a line, in order.
pub fn code_spans(text: &str) -> Vec<&str> {
    inlines(text).into_iter().filter_map(|i| if let Inline::Code(c) = i { Some(c) } else { None }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_the_subset() {
        let text = "# NAME\n\nsome text\nmore \\\nnext\n\n## Fields: `global`\n\n`maxconn`\n: Type: integer.\n  Example: `x`\n  - `a`: one\n  - `b`: two\n    continued\n\n  second paragraph\n\n```\n(a: 1)\n```\n- item\n";
        let blocks = parse(text).unwrap();
        assert_eq!(blocks[0], Block::Heading { level: 1, text: "NAME".into(), line: 1 });
        assert_eq!(blocks[1], Block::Paragraph(vec!["some text".into(), "more \\".into(), "next".into()]));
        assert_eq!(blocks[2], Block::Heading { level: 2, text: "Fields: `global`".into(), line: 7 });
        let Block::Definition { term, body, line } = &blocks[3] else { panic!("{:?}", blocks[3]) };
        assert_eq!((term.as_str(), *line), ("`maxconn`", 9));
        assert_eq!(
            body,
            &vec![
                Block::Paragraph(vec!["Type: integer.".into(), "Example: `x`".into()]),
                Block::List(vec!["`a`: one".into(), "`b`: two continued".into()]),
                Block::Paragraph(vec!["second paragraph".into()]),
            ]
        );
        assert_eq!(blocks[4], Block::Code(vec!["(a: 1)".into()]));
        assert_eq!(blocks[5], Block::List(vec!["item".into()]));
        assert_eq!(blocks.len(), 6);
    }

    #[test]
    fn markdown_outside_the_subset_is_refused_with_its_line() {
        for (text, line, word) in [
            ("a\n\n| x | y |\n", 3, "tables"),
            ("> quote\n", 1, "quotes"),
            ("text\n1. one\n", 2, "numbered"),
            ("### deep\n", 1, "headings"),
            ("```\nopen\n", 1, "closing"),
            ("* star\n", 1, "lists"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(word), "{text:?}: {e}");
        }
    }

    #[test]
    fn inline_marks() {
        assert_eq!(
            inlines("a `b*c` *d* **e** f*"),
            vec![
                Inline::Text("a "),
                Inline::Code("b*c"),
                Inline::Text(" "),
                Inline::Emphasis("d"),
                Inline::Text(" "),
                Inline::Strong("e"),
                Inline::Text(" f"),
                Inline::Text("*"),
            ]
        );
        assert_eq!(code_spans("`x` and `y.z`"), vec!["x", "y.z"]);
        assert_eq!(inlines("a ` b"), vec![Inline::Text("a "), Inline::Text("`"), Inline::Text(" b")]);
    }
}
