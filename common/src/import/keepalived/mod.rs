//! keepalived.conf → RawConfig: VRRP from `global_defs`, `vrrp_script`, `vrrp_instance` and
//! `vrrp_sync_group`; LVS `virtual_server`s become listens with an `lvs` block (or, with
//! `lvs_as_proxy`, L4 listeners).

mod global_defs;
mod lvs;
pub mod tree;
mod vrrp;

use super::error::{read_text, ImportError};
use super::warning::{ImportWarning, Notes};
use super::{ImportOptions, Imported};
use crate::config::raw::RawConfig;
use std::collections::HashMap;
use std::path::Path;
use tree::Node;

/// What was said about the input, with helpers that take a node for its file and line.
#[derive(Default)]
pub struct Ctx {
    pub notes: Notes,
}

impl Ctx {
    pub fn untranslated(&mut self, node: &Node, message: impl Into<String>) {
        self.notes.untranslated(&node.file, node.line, message);
    }

    pub fn lint(&mut self, node: &Node, message: impl Into<String>) {
        self.notes.lint(&node.file, node.line, message);
    }

    /// See [`Notes::lossy`].
    pub fn lossy(&mut self, node: &Node, meant: impl AsRef<str>, why: impl AsRef<str>) {
        self.notes.lossy(&node.file, node.line, meant, why);
    }

    pub fn replaced(&mut self, node: &Node, message: impl Into<String>) {
        self.notes.replaced(&node.file, node.line, message);
    }

    /// A directive not translated, shown as written.
    pub fn not_translated(&mut self, node: &Node, why: &str) {
        let what = words_text(&node.words);
        let block = if node.block.is_some() { " { … }" } else { "" };
        self.untranslated(node, format!("`{what}{block}` not translated{why}"));
    }
}

/// Words as written, quoting those with blanks.
pub fn words_text(words: &[String]) -> String {
    words
        .iter()
        .map(|w| if w.is_empty() || w.contains(char::is_whitespace) { format!("{w:?}") } else { w.clone() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The translation plus where each listener came from (for lints once merged with HAProxy's).
pub struct Translation {
    pub imported: Imported,
    pub listen_origins: Vec<(String, usize)>,
}

pub fn translate_file(path: &Path, options: &ImportOptions) -> Result<Translation, ImportError> {
    let text = read_text(path)?;
    translate(&path.display().to_string(), &text, options)
}

pub fn translate_str(name: &str, text: &str, options: &ImportOptions) -> Result<Imported, ImportError> {
    translate(name, text, options).map(|t| t.imported)
}

fn translate(name: &str, text: &str, options: &ImportOptions) -> Result<Translation, ImportError> {
    let mut ctx = Ctx::default();
    let nodes = tree::parse(name, text, &mut ctx.notes)?;
    let mut config = RawConfig::default();
    // global_defs first: vrrp_version and the garp settings apply to instances written before it.
    let mut globals = global_defs::Globals::default();
    for node in nodes.iter().filter(|n| n.keyword() == "global_defs") {
        global_defs::translate(&mut ctx, &mut globals, node);
    }
    let mut listen_origins = Vec::new();
    let mut replaced_scripts = HashMap::new();
    let mut instance_nodes = Vec::new();
    for node in &nodes {
        match node.keyword() {
            "global_defs" => {}
            "vrrp_script" => {
                if let Some((script, stops)) = vrrp::script(&mut ctx, node) {
                    if stops {
                        replaced_scripts.insert(script.name.clone(), node.line);
                    }
                    config.vrrp.scripts.push(script);
                }
            }
            "vrrp_instance" => {
                if let Some(inst) = vrrp::instance(&mut ctx, &mut globals, node, &replaced_scripts) {
                    config.vrrp.instances.push(inst);
                    instance_nodes.push(node);
                }
            }
            "vrrp_sync_group" => {
                if let Some(g) = vrrp::sync_group(&mut ctx, node) {
                    config.vrrp.sync_groups.push(g);
                }
            }
            "virtual_server" => {
                if let Some(listen) = lvs::virtual_server(&mut ctx, node, options.lvs_as_proxy) {
                    listen_origins.push((node.file.to_string(), node.line));
                    config.listen.push(listen);
                }
            }
            _ => ctx.not_translated(node, ""),
        }
    }
    globals.apply(&mut config.vrrp);
    vrrp::lint_owner_weights(&mut ctx, &config.vrrp, &instance_nodes);
    lvs::dr_interfaces(&mut ctx, &mut config, &listen_origins);
    lvs::lint_vips(&mut ctx, &config, &listen_origins);
    let mut warnings = ctx.notes.list;
    sort_by_file_then_line(&mut warnings, name);
    Ok(Translation { imported: Imported { config, warnings }, listen_origins })
}

/// Warnings of the main file first, then each included file, each in line order.
pub(crate) fn sort_by_file_then_line(warnings: &mut [ImportWarning], main: &str) {
    let mut order: Vec<String> = vec![main.to_string()];
    for w in warnings.iter() {
        if !order.contains(&w.file) {
            order.push(w.file.clone());
        }
    }
    warnings.sort_by_key(|w| (order.iter().position(|f| *f == w.file), w.line));
}

/// After merging: an LVS listener on the same port as an HAProxy bind on the wildcard address (or
/// the same address) cannot be bound next to it.
pub fn lint_overlapping_binds(merged: &mut Imported, lvs_first: usize, origins: &[(String, usize)]) {
    let config = &merged.config;
    let haproxy_binds: Vec<(&str, &str)> = config.listen[..lvs_first]
        .iter()
        .chain(&config.frontend)
        .flat_map(|p| p.bind.iter().map(move |b| (p.name.as_str(), b.as_str())))
        .chain(config.stats.iter().map(|s| ("stats", s.bind.as_str())))
        .collect();
    let mut found = Vec::new();
    for (listen, (file, line)) in config.listen[lvs_first..].iter().zip(origins) {
        for b in &listen.bind {
            let Some((ip, port)) = b.addr.rsplit_once(':') else { continue };
            for (name, hb) in &haproxy_binds {
                let Some((hip, hport)) = hb.rsplit_once(':') else { continue };
                let wildcard = matches!(hip, "" | "*" | "0.0.0.0" | "[::]");
                if hport == port && (wildcard || hip == ip) {
                    found.push(ImportWarning {
                        file: file.clone(),
                        line: *line,
                        kind: super::WarningKind::Lint,
                        message: format!(
                            "virtual_server {b} and `bind {hb}` of HAProxy's {name} use the same port: both cannot be bound on one host"
                        ),
                    });
                }
            }
        }
    }
    merged.warnings.extend(found);
}
