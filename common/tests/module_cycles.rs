//! Keeps the arrows between modules pointing one way (issue #15): no import cycle among the
//! worker's top-level modules, none among the submodules of `worker/src/session`, none among
//! `common/src/config/*` and `common/src/ctl.rs`. A failure names the cycle and, for each
//! arrow, the file and path that make it, and every group of modules tied in a cycle.

#[path = "module_cycles/graph.rs"]
mod graph;

use graph::{find_cycle, Crate, ModPath, Use};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".."))
}

fn read(krate: &str) -> Crate {
    let root = workspace().join(krate).join("src/lib.rs");
    Crate::read(&root).unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
}

type Edges = BTreeMap<String, BTreeSet<String>>;
/// For each arrow, the first use that makes it.
type Evidence = BTreeMap<(String, String), Use>;

/// The graph of the uses whose both ends `node` maps to a node, without self-loops.
fn graph(uses: &[Use], node: impl Fn(&ModPath) -> Option<String>) -> (Edges, Evidence) {
    let mut edges = Edges::new();
    let mut why = BTreeMap::new();
    for u in uses {
        let (Some(from), Some(to)) = (node(&u.from), node(&u.to)) else { continue };
        if from == to {
            continue;
        }
        edges.entry(to.clone()).or_default();
        edges.entry(from.clone()).or_default().insert(to.clone());
        why.entry((from, to)).or_insert_with(|| u.clone());
    }
    (edges, why)
}

fn reaches(edges: &Edges, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(n) = todo.pop() {
        for next in edges.get(&n).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    false
}

/// Panics naming a cycle, the arrows that make it, and every group of modules tied in a cycle.
fn assert_acyclic(what: &str, uses: &[Use], node: impl Fn(&ModPath) -> Option<String>) {
    let (edges, why) = graph(uses, node);
    assert!(!edges.is_empty(), "{what}: no module found, the test reads the wrong tree");
    let Some(cycle) = find_cycle(&edges) else { return };
    let mut message = format!("{what}: import cycle {} -> {}\n", cycle.join(" -> "), cycle[0]);
    for (i, from) in cycle.iter().enumerate() {
        let to = &cycle[(i + 1) % cycle.len()];
        if let Some(u) = why.get(&(from.clone(), to.clone())) {
            message += &format!("  {from} -> {to}: {} uses {}\n", u.file.display(), u.path);
        }
    }
    let mut grouped = BTreeSet::new();
    for a in edges.keys() {
        if grouped.contains(a) {
            continue;
        }
        let group: Vec<&String> = edges.keys().filter(|b| *b == a || (reaches(&edges, a, b) && reaches(&edges, b, a))).collect();
        if group.len() > 1 {
            message += &format!("  tied in one cycle: {}\n", group.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            for ((from, to), u) in &why {
                if group.contains(&from) && group.contains(&to) {
                    message += &format!("    {from} -> {to}: {} uses {}\n", u.file.display(), u.path);
                }
            }
            grouped.extend(group.into_iter().cloned());
        }
    }
    panic!("{message}");
}

#[test]
fn worker_top_level_modules_have_no_import_cycle() {
    let uses = read("worker").uses();
    // The crate root (lib.rs) is the thread starter: it may use every module, none uses it.
    assert_acyclic("worker", &uses, |p| Some(p.first().cloned().unwrap_or_else(|| "crate".into())));
}

/// Among the submodules of `worker/src/session` (`handshake`, `http`, `tcp`, `upstream`, …).
/// `session/mod.rs` itself is not a node: it defines the `Session` aggregate, which its
/// submodules extend with `impl Session` blocks, so parent and children point at each other by
/// construction until `Session` is split into per-protocol types (STYLE.md, "what to grow out
/// of"). A cycle between two submodules, direct or through the parent's re-exports, fails.
#[test]
fn worker_session_submodules_have_no_import_cycle() {
    let uses = read("worker").uses();
    assert_acyclic("worker::session", &uses, |p| match p.as_slice() {
        [s, child, ..] if s == "session" => Some(format!("session::{child}")),
        _ => None,
    });
}

#[test]
fn config_and_ctl_modules_have_no_import_cycle() {
    let uses = read("common").uses();
    assert_acyclic("common config+ctl", &uses, |p| match p.as_slice() {
        [c] if c == "ctl" || c == "config" => Some(c.clone()),
        [c, child, ..] if c == "config" => Some(format!("config::{child}")),
        _ => None,
    });
}

/// The reader itself: a cycle through a re-export and a glob is found, a one-way chain is not.
#[test]
fn the_reader_follows_reexports_and_finds_a_cycle() {
    let dir = std::env::temp_dir().join(format!("hakeeper-module-cycles-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a")).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let write = |name: &str, text: &str| std::fs::write(src.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    write("lib.rs", "mod a;\nmod b;\npub use b::*;\n");
    write("a/mod.rs", "mod inner;\npub struct A;\n");
    write("a/inner.rs", "fn f() { let _ = crate::Thing; }\n");
    write("b.rs", "pub struct Thing;\n#[cfg(test)]\nmod tests { use crate::a::A; }\n");
    let uses = Crate::read(&src.join("lib.rs")).unwrap_or_else(|e| panic!("{e}"));
    let uses = uses.uses();
    let top = |p: &ModPath| p.first().cloned();
    let (edges, _) = graph(&uses, top);
    assert_eq!(edges.get("a").map(|s| s.iter().cloned().collect::<Vec<_>>()), Some(vec!["b".to_string()]));
    assert_eq!(find_cycle(&edges), None);
    write("b.rs", "pub struct Thing;\nfn g(_: super::a::A) {}\n");
    let uses = Crate::read(&src.join("lib.rs")).unwrap_or_else(|e| panic!("{e}")).uses();
    let (edges, _) = graph(&uses, top);
    assert_eq!(find_cycle(&edges), Some(vec!["a".to_string(), "b".to_string()]));
    let _ = std::fs::remove_dir_all(&dir);
}
