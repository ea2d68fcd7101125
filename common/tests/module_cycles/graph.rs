//! A crate's module tree read from its source with syn, and the module each `crate::`, `super::`,
//! `self::` or child-module path points to, for the import-cycle test.
//!
//! A path is resolved the way rustc resolves it, as far as modules go: it walks child modules, and
//! a name that is not a module is looked up among the module's `use` items (globs included), so
//! `super::Config` re-exported by `pub use model::*` counts as a use of `model`, not of the facade.
//! Code under `#[cfg(test)]` is left out: test modules may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path as FsPath, PathBuf};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Attribute, Expr, Item, Meta, Token, UseTree};

/// A module by its path from the crate root (`[]` is the root).
pub type ModPath = Vec<String>;

/// One `use` of a module: the path as written and the name it binds (`None` for a glob).
#[derive(Debug, Clone)]
struct Import {
    segments: Vec<String>,
    name: Option<String>,
}

#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    children: BTreeSet<String>,
    /// Structs, enums, functions, constants… defined here.
    items: BTreeSet<String>,
    imports: Vec<Import>,
    /// Every path in the module's code (its `use` items included), as written.
    references: Vec<Vec<String>>,
}

#[derive(Debug, Default)]
pub struct Crate {
    modules: BTreeMap<ModPath, Module>,
}

/// An edge of the module graph with the file and path that make it, for the failure message.
#[derive(Debug, Clone)]
pub struct Use {
    pub from: ModPath,
    pub to: ModPath,
    pub file: PathBuf,
    pub path: String,
}

fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| match &a.meta {
        Meta::List(list) if list.path.is_ident("cfg") => {
            let tokens = list.tokens.to_string();
            !tokens.contains("not") && tokens.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "test")
        }
        _ => false,
    })
}

fn flatten_use(prefix: &mut Vec<String>, tree: &UseTree, out: &mut Vec<Import>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(prefix, &p.tree, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.to_string();
            // `use foo::{self}` names `foo` itself.
            if name == "self" {
                out.push(Import { segments: prefix.clone(), name: prefix.last().cloned() });
            } else {
                let mut segments = prefix.clone();
                segments.push(name.clone());
                out.push(Import { segments, name: Some(name) });
            }
        }
        UseTree::Rename(r) => {
            let mut segments = prefix.clone();
            let name = r.ident.to_string();
            if name != "self" {
                segments.push(name);
            }
            out.push(Import { segments, name: Some(r.rename.to_string()) });
        }
        UseTree::Glob(_) => out.push(Import { segments: prefix.clone(), name: None }),
        UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(prefix, t, out);
            }
        }
    }
}

/// Collects the paths of a module's code, skipping nested modules (read on their own) and
/// test-only items.
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast Item) {
        let attrs = match item {
            Item::Mod(_) | Item::Use(_) => return,
            Item::Fn(i) => &i.attrs,
            Item::Impl(i) => &i.attrs,
            Item::Const(i) => &i.attrs,
            Item::Static(i) => &i.attrs,
            Item::Struct(i) => &i.attrs,
            Item::Enum(i) => &i.attrs,
            Item::Trait(i) => &i.attrs,
            Item::Type(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_test_only(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    /// `pub(crate)`, `pub(super)`: visibility, not a use.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    /// `format!`, `log::info!`, `matches!`… bodies: read as a list of expressions where they are one.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        syn::visit::visit_macro(self, mac);
        if let Ok(exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for e in &exprs {
                self.visit_expr(e);
            }
        }
    }
}

fn item_name(item: &Item) -> Option<String> {
    Some(
        match item {
            Item::Const(i) => &i.ident,
            Item::Enum(i) => &i.ident,
            Item::Fn(i) => &i.sig.ident,
            Item::Static(i) => &i.ident,
            Item::Struct(i) => &i.ident,
            Item::Trait(i) => &i.ident,
            Item::Type(i) => &i.ident,
            Item::Union(i) => &i.ident,
            Item::Macro(i) => i.ident.as_ref()?,
            _ => return None,
        }
        .to_string(),
    )
}

impl Crate {
    /// Reads the crate whose root file is `root` (`src/lib.rs`).
    pub fn read(root: &FsPath) -> Result<Crate, String> {
        let mut krate = Crate::default();
        let dir = root.parent().ok_or_else(|| format!("{}: no directory", root.display()))?.to_path_buf();
        krate.read_file(Vec::new(), root, &dir)?;
        Ok(krate)
    }

    /// `dir` is where the module's `mod x;` files are: `src/` for `lib.rs` and `mod.rs`, `src/a/`
    /// for `src/a.rs`.
    fn read_file(&mut self, path: ModPath, file: &FsPath, dir: &FsPath) -> Result<(), String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        self.read_items(path, file, dir, &parsed.items)
    }

    fn read_items(&mut self, path: ModPath, file: &FsPath, dir: &FsPath, items: &[Item]) -> Result<(), String> {
        let mut module = Module { file: file.to_path_buf(), ..Module::default() };
        let mut nested = Vec::new();
        for item in items {
            match item {
                Item::Mod(m) if !is_test_only(&m.attrs) => {
                    let name = m.ident.to_string();
                    module.children.insert(name.clone());
                    nested.push((name, m));
                }
                Item::Use(u) if !is_test_only(&u.attrs) => {
                    let mut imports = Vec::new();
                    flatten_use(&mut Vec::new(), &u.tree, &mut imports);
                    module.references.extend(imports.iter().map(|i| i.segments.clone()));
                    module.imports.extend(imports);
                }
                _ => {
                    if let Some(name) = item_name(item) {
                        module.items.insert(name);
                    }
                }
            }
        }
        let mut paths = Paths::default();
        for item in items {
            paths.visit_item(item);
        }
        module.references.extend(paths.found);
        self.modules.insert(path.clone(), module);
        for (name, m) in nested {
            let mut child = path.clone();
            child.push(name.clone());
            if let Some((_, content)) = &m.content {
                self.read_items(child, file, &dir.join(&name), content)?;
            } else {
                let flat = dir.join(format!("{name}.rs"));
                let (child_file, child_dir) =
                    if flat.exists() { (flat, dir.join(&name)) } else { (dir.join(&name).join("mod.rs"), dir.join(&name)) };
                self.read_file(child, &child_file, &child_dir)?;
            }
        }
        Ok(())
    }

    /// The module a path written in module `from` points to, `None` for another crate or a local
    /// name.
    fn resolve(&self, from: &ModPath, segments: &[String], depth: u32) -> Option<ModPath> {
        let module = self.modules.get(from)?;
        let first = segments.first()?;
        let (mut current, rest) = match first.as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (from.clone(), &segments[1..]),
            "super" => {
                let mut base = from.clone();
                let mut rest = segments;
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            name if module.children.contains(name) => (from.clone(), segments),
            _ => return None,
        };
        for (i, seg) in rest.iter().enumerate() {
            let here = self.modules.get(&current)?;
            if here.children.contains(seg) {
                current.push(seg.clone());
                continue;
            }
            if here.items.contains(seg) || depth > 16 {
                break;
            }
            if let Some(through) = self.through_imports(&current, seg, depth) {
                if i + 1 == rest.len() {
                    return Some(through);
                }
                let mut more = vec!["crate".to_string()];
                more.extend(through);
                more.extend(rest[i + 1..].iter().cloned());
                return self.resolve(&Vec::new(), &more, depth + 1);
            }
            break;
        }
        Some(current)
    }

    /// Where a name that module `at` imports (by name or by glob) is defined.
    fn through_imports(&self, at: &ModPath, name: &str, depth: u32) -> Option<ModPath> {
        let module = self.modules.get(at)?;
        if let Some(import) = module.imports.iter().find(|i| i.name.as_deref() == Some(name)) {
            return self.resolve(at, &import.segments, depth + 1);
        }
        for glob in module.imports.iter().filter(|i| i.name.is_none()) {
            let target = self.resolve(at, &glob.segments, depth + 1)?;
            let there = self.modules.get(&target)?;
            if there.items.contains(name) || there.children.contains(name) {
                return Some(target);
            }
            if let Some(found) = self.through_imports(&target, name, depth + 1) {
                return Some(found);
            }
        }
        None
    }

    /// Every module-to-module use in the crate, with where it is written.
    pub fn uses(&self) -> Vec<Use> {
        let mut out = Vec::new();
        for (from, module) in &self.modules {
            for reference in &module.references {
                if let Some(to) = self.resolve(from, reference, 0) {
                    out.push(Use { from: from.clone(), to, file: module.file.clone(), path: reference.join("::") });
                }
            }
        }
        out
    }
}

/// The first cycle of a directed graph, as its nodes in order (`a → b → a` is `[a, b]`).
pub fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                return Some(stack[start..].to_vec());
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}
