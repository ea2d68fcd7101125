//! Markdown blocks (see `hakeeper_common::markdown`) as a man page in the man(7) macros:
//! `#` headings become `.SH`, `##` `.SS`, definitions `.TP`, bullets `.IP \(bu`, code blocks
//! no-fill displays, code spans bold and emphasis italic.

use hakeeper_common::markdown::{inlines, Block, Inline};

/// The page header: name, section, and the footer's source and manual.
pub struct Title<'a> {
    pub name: &'a str,
    pub section: &'a str,
    pub source: &'a str,
    pub manual: &'a str,
}

pub fn render(title: &Title, blocks: &[Block]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        ".TH \"{}\" \"{}\" \"\" \"{}\" \"{}\"\n",
        quoted(&title.name.to_uppercase()),
        quoted(title.section),
        quoted(title.source),
        quoted(title.manual)
    ));
    out.push_str(&render_blocks(blocks));
    out
}

/// Blocks without a page header, to follow sections rendered elsewhere.
pub fn render_blocks(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        top_block(&mut out, block);
    }
    out
}

fn top_block(out: &mut String, block: &Block) {
    match block {
        Block::Heading { level: 1, text, .. } => out.push_str(&format!(".SH {}\n", macro_text(&text.to_uppercase()))),
        Block::Heading { text, .. } => out.push_str(&format!(".SS {}\n", macro_text(text))),
        Block::Paragraph(lines) => {
            out.push_str(".PP\n");
            paragraph(out, lines);
        }
        Block::Code(lines) => code(out, lines),
        Block::List(items) => list(out, items),
        Block::Definition { term, body, .. } => {
            out.push_str(".TP\n");
            out.push_str(&line(term));
            out.push('\n');
            for (i, b) in body.iter().enumerate() {
                match b {
                    // The first paragraph is the tag's own; later ones keep its indent.
                    Block::Paragraph(lines) if i == 0 => paragraph(out, lines),
                    Block::Paragraph(lines) => {
                        out.push_str(".IP\n");
                        paragraph(out, lines);
                    }
                    Block::List(items) => {
                        out.push_str(".RS\n");
                        list(out, items);
                        out.push_str(".RE\n");
                    }
                    other => top_block(out, other),
                }
            }
        }
    }
}

fn paragraph(out: &mut String, lines: &[String]) {
    for l in lines {
        match l.strip_suffix('\\') {
            Some(broken) => {
                out.push_str(&line(broken.trim_end()));
                out.push_str("\n.br\n");
            }
            None => {
                out.push_str(&line(l));
                out.push('\n');
            }
        }
    }
}

fn list(out: &mut String, items: &[String]) {
    for item in items {
        out.push_str(".IP \\(bu 2\n");
        out.push_str(&line(item));
        out.push('\n');
    }
}

fn code(out: &mut String, lines: &[String]) {
    out.push_str(".PP\n.RS 4\n.nf\n");
    for l in lines {
        out.push_str(&guard(&escape(l, true)));
        out.push('\n');
    }
    out.push_str(".fi\n.RE\n");
}

/// One line of running text with its inline marks.
fn line(text: &str) -> String {
    let mut s = String::new();
    for piece in inlines(text) {
        match piece {
            Inline::Text(t) => s.push_str(&escape(t, false)),
            Inline::Code(c) | Inline::Strong(c) => s.push_str(&format!("\\fB{}\\fR", escape(c, true))),
            Inline::Emphasis(e) => s.push_str(&format!("\\fI{}\\fR", escape(e, false))),
        }
    }
    guard(&s)
}

/// The text after `.SH`/`.SS`: their arguments are words, so quotes must not end one.
fn macro_text(text: &str) -> String {
    line(text).replace('"', "\\(dq")
}

fn quoted(text: &str) -> String {
    escape(text, false).replace('"', "\\(dq")
}

/// A line that starts with `.` or `'` would be a request: `\&` makes it text.
fn guard(line: &str) -> String {
    if line.starts_with('.') || line.starts_with('\'') {
        format!("\\&{line}")
    } else {
        line.to_string()
    }
}

/// Backslashes and non-ASCII characters as roff escapes; in code, `-` as a minus sign so that
/// options and values can be copied from the page.
fn escape(text: &str, code: bool) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => s.push_str("\\e"),
            '-' if code => s.push_str("\\-"),
            c if c.is_ascii() => s.push(c),
            c => s.push_str(&format!("\\[u{:04X}]", c as u32)),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::markdown::parse;

    fn page(markdown: &str) -> String {
        let title = Title { name: "x.conf", section: "5", source: "x 1.0", manual: "File Formats" };
        render(&title, &parse(markdown).expect("subset"))
    }

    #[test]
    fn headings_paragraphs_and_code_become_man_macros() {
        let roff = page("# NAME\n\nx.conf - a file\n\n## Fields: `global`\n\n```\n.dot \\ -x\n```\n");
        assert_eq!(
            roff,
            ".TH \"X.CONF\" \"5\" \"\" \"x 1.0\" \"File Formats\"\n.SH NAME\n.PP\nx.conf - a file\n.SS Fields: \\fBglobal\\fR\n\
             .PP\n.RS 4\n.nf\n\\&.dot \\e \\-x\n.fi\n.RE\n"
        );
    }

    #[test]
    fn definitions_with_breaks_lists_and_second_paragraphs() {
        let roff = page("`maxconn`\n: Type: *integer*. \\\n  Example: `a-b`\n  - `x`: one\n\n  More \u{2026}\n");
        assert_eq!(
            roff.lines().skip(1).collect::<Vec<_>>(),
            [
                ".TP",
                "\\fBmaxconn\\fR",
                "Type: \\fIinteger\\fR.",
                ".br",
                "Example: \\fBa\\-b\\fR",
                ".RS",
                ".IP \\(bu 2",
                "\\fBx\\fR: one",
                ".RE",
                ".IP",
                "More \\[u2026]",
            ]
        );
    }

    #[test]
    fn text_that_looks_like_a_request_stays_text() {
        assert!(page("'quoted\n").contains("\n.PP\n\\&'quoted\n"));
        assert!(page("# A \"B\"\n").contains(".SH A \\(dqB\\(dq\n"));
    }
}
