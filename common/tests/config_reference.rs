//! docs/hakeeper.ron.5.md, the reference that becomes hakeeper.ron(5), documents every field
//! and every value of the config model, and nothing the model no longer has. The model is read
//! from the `Raw*` types' source (common/src/config/raw.rs, and raw/*.rs should it be split),
//! so a field added there fails this test until it is documented, with a message that names it.

#[path = "config_reference/compare.rs"]
mod compare;
#[path = "config_reference/model.rs"]
mod model;

use model::Model;
use std::path::{Path, PathBuf};

const ROOT: &str = "RawConfig";

fn common_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// raw.rs and, if the model grows into a directory, every file in config/raw/.
fn model_sources() -> Vec<(String, String)> {
    let config = common_dir().join("src/config");
    let mut files = vec![config.join("raw.rs")];
    if let Ok(dir) = std::fs::read_dir(config.join("raw")) {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "rs")).collect();
        more.sort();
        files.extend(more);
    }
    files.iter().filter(|f| f.exists()).map(|f| (display(f), std::fs::read_to_string(f).expect("read model source"))).collect()
}

fn display(path: &Path) -> String {
    path.strip_prefix(common_dir().join("..")).unwrap_or(path).display().to_string()
}

#[test]
fn every_config_field_and_value_is_documented() {
    let doc_path = common_dir().join("../docs/hakeeper.ron.5.md");
    let doc = std::fs::read_to_string(&doc_path).expect("read docs/hakeeper.ron.5.md");
    let model = Model::from_sources(&model_sources()).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    let sections = model.sections(ROOT, &mut problems);
    assert!(sections.len() > 20 && problems.is_empty(), "the model was not read: {} sections, {problems:?}", sections.len());
    let problems = compare::compare(&model, ROOT, "docs/hakeeper.ron.5.md", &doc);
    assert!(
        problems.is_empty(),
        "docs/hakeeper.ron.5.md is out of step with the config model ({} problems):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// A model in the shape of raw.rs, small enough to see what the test must catch.
const MODEL: &str = r#"
    #[serde(deny_unknown_fields, default)]
    pub struct RawConfig {
        pub global: RawGlobal,
        pub listen: Vec<RawProxy>,
        #[serde(skip)]
        pub internal: u32,
    }
    #[serde(deny_unknown_fields, default)]
    pub struct RawGlobal {
        pub maxconn: Option<u32>,
        #[serde(rename = "hard-stop")]
        pub hard_stop_after: Option<String>,
        #[serde(flatten)]
        pub tuning: RawTuning,
    }
    pub struct RawTuning { pub nbthread: Option<u32> }
    pub struct RawProxy {
        pub name: String,
        pub mode: Option<RawMode>,
        pub check: Option<RawCheck>,
        pub builtin: Option<RawBuiltin>,
    }
    #[serde(rename_all = "snake_case")]
    pub enum RawMode { Tcp, HttpKeepAlive, #[serde(rename = "h2")] Http2 }
    #[serde(rename_all = "snake_case")]
    pub enum RawCheck { Tcp, Http(RawHttpCheck) }
    pub struct RawHttpCheck { pub uri: Option<String> }
    #[serde(rename_all = "snake_case")]
    pub enum RawBuiltin { ProxyAlive, MinUp { backend: String, servers: u32 } }
"#;

fn entry(name: &str, values: &[&str]) -> String {
    let mut e = format!("`{name}`\n: Type: x. Default: y. \\\n  Equivalent: none. \\\n");
    for v in values {
        e.push_str(&format!("  - `{v}`: meaning\n"));
    }
    e.push_str("  Example: `z`\n\n");
    e
}

/// The document that matches MODEL exactly.
fn doc(skip: &str) -> String {
    let mut d = String::from("# SECTIONS\n\n## File: `hakeeper.ron`\n\n");
    d += &entry("global", &[]);
    d += &entry("listen", &[]);
    d += "## Global: `global`\n\n";
    d += &entry("maxconn", &[]);
    d += &entry("hard-stop", &[]);
    d += &entry("nbthread", &[]);
    d += "## Proxies: `listen`\n\n";
    d += &entry("name", &[]);
    d += &entry("mode", &["tcp", "http_keep_alive", "h2"]);
    d += &entry("check", &["tcp", "http((…))"]);
    d += &entry("builtin", &["proxy_alive", "min_up(backend: NAME, servers: N)"]);
    d += "## HTTP check: `listen.check.http`\n\n";
    d += &entry("uri", &[]);
    d.replace(skip, "")
}

fn problems(doc: &str) -> Vec<String> {
    let model = Model::from_sources(&[("raw.rs".into(), MODEL.into())]).expect("parse");
    compare::compare(&model, ROOT, "doc.md", doc)
}

#[test]
fn a_document_in_step_with_the_model_passes() {
    assert_eq!(problems(&doc("@")), Vec::<String>::new());
}

#[test]
fn an_undocumented_field_is_named_with_where_to_add_it() {
    let p = problems(&doc(&entry("maxconn", &[])));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("`global.maxconn` is not documented") && p[0].contains("RawGlobal.maxconn"), "{}", p[0]);
    // Flattened and renamed fields count under the name the file uses.
    let p = problems(&doc(&entry("nbthread", &[])));
    assert!(p.len() == 1 && p[0].contains("`global.nbthread`") && p[0].contains("RawTuning.nbthread"), "{p:?}");
    let p = problems(&doc(&entry("hard-stop", &[])));
    assert!(p.len() == 1 && p[0].contains("`global.hard-stop`"), "{p:?}");
}

#[test]
fn a_documented_field_the_model_lacks_is_stale() {
    let stale = doc("@") + "## More: `global`\n\n";
    assert!(problems(&stale).iter().any(|p| p.contains("several headings")));
    let renamed = doc("@").replace("`hard-stop`\n", "`hard_stop_after`\n");
    let p = problems(&renamed);
    assert!(p.iter().any(|p| p.contains("`global.hard_stop_after` is documented") && p.contains("no such field")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("`global.hard-stop` is not documented")), "{p:?}");
    // A skipped field is not the file's: documenting it is an error too.
    let p = problems(&doc("@").replace("## Global", &format!("{}## Global", entry("internal", &[]))));
    assert!(p.iter().any(|p| p.contains("`internal` is documented")), "{p:?}");
}

#[test]
fn enum_values_are_checked_both_ways() {
    let p = problems(&doc("  - `h2`: meaning\n"));
    assert!(p.len() == 1 && p[0].contains("`listen.mode` value `h2` is not documented") && p[0].contains("RawMode::Http2"), "{p:?}");
    let p = problems(&doc("@").replace("`http_keep_alive`", "`keep_alive`"));
    assert!(p.iter().any(|p| p.contains("value `keep_alive` is documented") && p.contains("no such value")), "{p:?}");
    let p = problems(&doc("@").replace("servers: N", "count: N"));
    assert!(p.len() == 1 && p[0].contains("does not name its field `servers`"), "{p:?}");
}

#[test]
fn sections_behind_enum_variants_and_labels_are_required() {
    let p = problems(&doc("## HTTP check: `listen.check.http`\n\n"));
    assert!(p.iter().any(|p| p.contains("RawHttpCheck (config paths `listen.check.http`) has no section")), "{p:?}");
    let p = problems(&doc("  Equivalent: none. \\\n"));
    assert_eq!(p.len(), 10, "one per entry: {p:?}");
    assert!(p.iter().all(|p| p.contains("does not say Equivalent:")), "{p:?}");
}

#[test]
fn types_the_test_cannot_document_are_reported() {
    let model =
        Model::from_sources(&[("raw.rs".into(), MODEL.replace("pub name: String,", "pub name: HashMap<String, u32>,"))]).expect("parse");
    let p = compare::compare(&model, ROOT, "doc.md", &doc("@"));
    assert!(p.iter().any(|p| p.contains("HashMap")), "{p:?}");
}
