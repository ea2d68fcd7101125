//! What docs/hakeeper.ron.5.md documents, read through the same Markdown reader as the man page,
//! compared with the model: one message per field or value that is missing or stale, naming
//! where to add (or remove) it.
//!
//! The document's convention: a `##` heading whose code spans are config paths
//! (`` `backend.servers.check` ``) is the section of the struct found at those paths; each
//! definition under it is a field, its term the field's name in backticks; the field's
//! definition says `Type:`, `Default:`, `Equivalent:` and `Example:`; a field whose type is one
//! of a set lists each value as a bullet starting with it in backticks (`` `hdr(NAME)` ``, and a
//! variant with fields names them: `` `min_servers_up(backend: NAME, servers: N)` ``).

use super::model::{Model, Section, Shape, ROOT_PATH};
use hakeeper_common::markdown::{code_spans, parse, Block};

/// The labels every field's definition carries.
const LABELS: &[&str] = &["Type:", "Default:", "Equivalent:", "Example:"];

struct DocField {
    name: String,
    line: usize,
    text: String,
    /// The first code span of each bullet.
    values: Vec<String>,
}

struct DocSection {
    heading: String,
    line: usize,
    /// The struct it documents, once matched, and the first of its paths the heading names.
    rust: Option<String>,
    path: String,
    fields: Vec<DocField>,
}

/// Every problem found, as messages for the engineer who changed the model or the document.
pub fn compare(model: &Model, root: &str, doc_name: &str, doc: &str) -> Vec<String> {
    let mut problems: Vec<String> = model.unsupported.clone();
    let sections = model.sections(root, &mut problems);
    let blocks = match parse(doc) {
        Ok(b) => b,
        Err(e) => return vec![format!("{doc_name}: {e}")],
    };
    let documented = read_doc(&blocks, &sections, doc_name, &mut problems);
    for section in &sections {
        let here: Vec<&DocSection> = documented.iter().filter(|d| d.rust.as_deref() == Some(section.rust.as_str())).collect();
        match here.as_slice() {
            [] => problems.push(format!(
                "{} (config paths {}) has no section in {doc_name}: add a `## Title: {}` heading with an entry for each of its \
                 fields: {}",
                section.rust,
                paths(section),
                heading_path(section),
                section.fields.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
            )),
            [doc] => compare_fields(model, section, doc, doc_name, &mut problems),
            many => problems.push(format!(
                "{} is documented under several headings ({}): keep one",
                section.rust,
                many.iter().map(|d| format!("line {}", d.line)).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    problems
}

fn paths(section: &Section) -> String {
    section.paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
}

fn heading_path(section: &Section) -> String {
    format!("`{}`", section.paths.first().map(String::as_str).unwrap_or(ROOT_PATH))
}

fn read_doc(blocks: &[Block], sections: &[Section], doc_name: &str, problems: &mut Vec<String>) -> Vec<DocSection> {
    let mut out: Vec<DocSection> = Vec::new();
    let mut current: Option<usize> = None;
    for block in blocks {
        match block {
            Block::Heading { level, text, line } => {
                current = None;
                if *level != 2 {
                    continue;
                }
                let spans = code_spans(text);
                let mut matched: Vec<&str> = Vec::new();
                let mut first_path = None;
                for span in &spans {
                    if let Some(s) = sections.iter().find(|s| s.paths.iter().any(|p| p == span)) {
                        first_path.get_or_insert(span.to_string());
                        if !matched.contains(&s.rust.as_str()) {
                            matched.push(&s.rust);
                        }
                    } else if span.contains('.') || sections.iter().any(|s| s.fields.iter().any(|f| f.name == *span)) {
                        problems.push(format!(
                            "{doc_name} line {line}: heading {text:?} names `{span}`, which is no config section (was it renamed?)"
                        ));
                    }
                }
                if matched.len() > 1 {
                    problems.push(format!("{doc_name} line {line}: heading {text:?} names sections of {}", matched.join(" and ")));
                }
                if let Some(rust) = matched.first() {
                    let path = first_path.unwrap_or_default();
                    out.push(DocSection { heading: text.clone(), line: *line, rust: Some(rust.to_string()), path, fields: Vec::new() });
                    current = Some(out.len() - 1);
                }
            }
            Block::Definition { term, body, line } => {
                let Some(i) = current else { continue };
                let name = match code_spans(term).as_slice() {
                    [one] if term.trim() == format!("`{one}`") => one.to_string(),
                    _ => {
                        problems.push(format!("{doc_name} line {line}: the entry {term:?} should be a field name in backticks"));
                        continue;
                    }
                };
                let mut text = String::new();
                let mut values = Vec::new();
                for b in body {
                    match b {
                        Block::Paragraph(lines) => {
                            text.push_str(&lines.join(" "));
                            text.push(' ');
                        }
                        Block::List(items) => values.extend(items.iter().filter_map(|it| code_spans(it).first().map(|s| s.to_string()))),
                        _ => {}
                    }
                }
                out[i].fields.push(DocField { name, line: *line, text, values });
            }
            _ => {}
        }
    }
    out
}

fn compare_fields(model: &Model, section: &Section, doc: &DocSection, doc_name: &str, problems: &mut Vec<String>) {
    let at = |field: &str| {
        let base = doc.path.as_str();
        if base == ROOT_PATH {
            field.to_string()
        } else {
            format!("{base}.{field}")
        }
    };
    for f in &section.fields {
        if !doc.fields.iter().any(|d| d.name == f.name) {
            problems.push(format!(
                "`{}` is not documented: add a `{}` entry under the heading {:?} ({doc_name} line {}) — it is {} in the model",
                at(&f.name),
                f.name,
                doc.heading,
                doc.line,
                f.rust
            ));
        }
    }
    for d in &doc.fields {
        let Some(f) = section.fields.iter().find(|f| f.name == d.name) else {
            problems.push(format!(
                "`{}` is documented ({doc_name} line {}) but {} has no such field: remove the entry or fix its name",
                at(&d.name),
                d.line,
                section.rust
            ));
            continue;
        };
        let missing: Vec<&str> = LABELS.iter().copied().filter(|l| !d.text.contains(l)).collect();
        if !missing.is_empty() {
            problems.push(format!("`{}` ({doc_name} line {}) does not say {}", at(&d.name), d.line, missing.join(", ")));
        }
        let Some(variants) = model.enum_variants(&f.ty) else {
            if !d.values.is_empty() {
                problems.push(format!("`{}` ({doc_name} line {}) lists values but is not one of a set in the model", at(&d.name), d.line));
            }
            continue;
        };
        let documented: Vec<(&str, &str)> =
            d.values.iter().map(|v| (v.split(['(', ' ']).next().unwrap_or(v.as_str()), v.as_str())).collect();
        for v in variants {
            match documented.iter().find(|(name, _)| *name == v.name) {
                None => problems.push(format!(
                    "`{}` value `{}` is not documented: add a bullet \"- `{}`: meaning\" to its entry ({doc_name} line {}) — it is {} \
                     in the model",
                    at(&d.name),
                    v.name,
                    v.name,
                    d.line,
                    v.rust
                )),
                Some((_, written)) => {
                    if let Shape::Struct(fields) = &v.shape {
                        for vf in fields {
                            if !written.contains(&format!("{}:", vf.name)) {
                                problems.push(format!(
                                    "`{}` value `{}` ({doc_name} line {}) does not name its field `{}` ({})",
                                    at(&d.name),
                                    v.name,
                                    d.line,
                                    vf.name,
                                    vf.rust
                                ));
                            }
                        }
                    }
                }
            }
        }
        for (name, _) in &documented {
            if !variants.iter().any(|v| v.name == *name) {
                problems.push(format!(
                    "`{}` value `{name}` is documented ({doc_name} line {}) but the model has no such value: remove or rename it",
                    at(&d.name),
                    d.line
                ));
            }
        }
    }
}
