//! The config model as serde reads it, taken from the source of the `Raw*` types with syn: each
//! struct's fields and each enum's variants under their serde names (`rename`, `rename_all`,
//! `flatten`, `skip` honoured), and the RON paths at which each struct appears.

use std::collections::BTreeMap;
use syn::{Attribute, Fields, GenericArgument, Item, LitStr, PathArguments, Type};

/// What a field's type holds once `Option`, `Vec` and `Box` are unwrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// A struct or enum of the model.
    Model(String),
    /// A string, number, boolean, path or tuple of them.
    Scalar,
    /// A type the reference test does not know how to document (named as written).
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The name in the config file.
    pub name: String,
    /// `RawStruct.field`, for messages.
    pub rust: String,
    pub ty: TypeRef,
    /// `#[serde(flatten)]`: its struct's fields are this struct's.
    pub flatten: bool,
}

#[derive(Debug, Clone)]
pub enum Shape {
    Unit,
    Newtype(TypeRef),
    Tuple,
    Struct(Vec<Field>),
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub rust: String,
    pub shape: Shape,
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Struct(Vec<Field>),
    Enum(Vec<Variant>),
}

#[derive(Debug, Default)]
pub struct Model {
    pub types: BTreeMap<String, TypeDef>,
    /// Attributes the test cannot honour, as messages.
    pub unsupported: Vec<String>,
}

/// One struct as the config shows it: where it appears and the fields a file may write in it.
#[derive(Debug, Clone)]
pub struct Section {
    pub rust: String,
    pub paths: Vec<String>,
    pub fields: Vec<Field>,
}

/// The name the whole file is documented under.
pub const ROOT_PATH: &str = "hakeeper.ron";

impl Model {
    /// Reads every struct and enum of the given sources.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Model, String> {
        let mut model = Model::default();
        for (file, text) in sources {
            let parsed = syn::parse_file(text).map_err(|e| format!("{file}: {e}"))?;
            for item in parsed.items {
                model.add_item(file, &item);
            }
        }
        Ok(model)
    }

    fn add_item(&mut self, file: &str, item: &Item) {
        match item {
            Item::Struct(s) => {
                let container = serde_attrs(&s.attrs);
                let rule = rename_rule(&container);
                let name = s.ident.to_string();
                let fields = self.fields(file, &name, &s.fields, rule.as_deref());
                self.types.insert(name, TypeDef::Struct(fields));
            }
            Item::Enum(e) => {
                let container = serde_attrs(&e.attrs);
                let name = e.ident.to_string();
                for key in ["untagged", "tag", "content"] {
                    if container.iter().any(|(k, _)| k == key) {
                        self.unsupported.push(format!("{file}: enum {name} has #[serde({key})], which the reference test cannot read"));
                    }
                }
                let rule = rename_rule(&container);
                let mut variants = Vec::new();
                for v in &e.variants {
                    let attrs = serde_attrs(&v.attrs);
                    if has(&attrs, "skip") || has(&attrs, "skip_deserializing") || has(&attrs, "other") {
                        continue;
                    }
                    let ident = v.ident.to_string();
                    let rust = format!("{name}::{ident}");
                    let shape = match &v.fields {
                        Fields::Unit => Shape::Unit,
                        Fields::Unnamed(f) if f.unnamed.len() == 1 => Shape::Newtype(type_ref(&f.unnamed[0].ty)),
                        Fields::Unnamed(_) => Shape::Tuple,
                        Fields::Named(_) => {
                            let vrule = rename_rule(&attrs);
                            Shape::Struct(self.fields(file, &rust, &v.fields, vrule.as_deref()))
                        }
                    };
                    variants.push(Variant { name: serde_name(&attrs, &ident, rule.as_deref(), Case::Pascal), rust, shape });
                }
                self.types.insert(name, TypeDef::Enum(variants));
            }
            _ => {}
        }
    }

    fn fields(&mut self, file: &str, owner: &str, fields: &Fields, rule: Option<&str>) -> Vec<Field> {
        let mut out = Vec::new();
        for f in fields {
            let Some(ident) = &f.ident else { continue };
            let attrs = serde_attrs(&f.attrs);
            if has(&attrs, "skip") || has(&attrs, "skip_deserializing") {
                continue;
            }
            for key in ["deserialize_with", "with"] {
                if has(&attrs, key) {
                    self.unsupported.push(format!("{file}: {owner}.{ident} has #[serde({key})]: document its form by hand"));
                }
            }
            let ident = ident.to_string();
            let ident = ident.trim_start_matches("r#");
            out.push(Field {
                name: serde_name(&attrs, ident, rule, Case::Snake),
                rust: format!("{owner}.{ident}"),
                ty: type_ref(&f.ty),
                flatten: has(&attrs, "flatten"),
            });
        }
        out
    }

    /// The fields a file writes in struct `name`, flattened ones expanded.
    fn visible_fields(&self, name: &str, problems: &mut Vec<String>) -> Vec<Field> {
        let Some(TypeDef::Struct(fields)) = self.types.get(name) else { return Vec::new() };
        let mut out = Vec::new();
        for f in fields {
            match (&f.ty, f.flatten) {
                (TypeRef::Model(inner), true) => out.extend(self.visible_fields(inner, problems)),
                (_, true) => problems.push(format!("{} is flattened but is not a struct of the model", f.rust)),
                (_, false) => out.push(f.clone()),
            }
        }
        out
    }

    /// Every struct reachable from `root`, with every path it appears at, in the order first met.
    pub fn sections(&self, root: &str, problems: &mut Vec<String>) -> Vec<Section> {
        let mut sections: Vec<Section> = Vec::new();
        let mut queue = vec![(root.to_string(), ROOT_PATH.to_string())];
        while let Some((rust, path)) = queue.pop() {
            let first = match sections.iter_mut().find(|s| s.rust == rust) {
                Some(s) if s.paths.contains(&path) => continue,
                Some(s) => {
                    s.paths.push(path.clone());
                    false
                }
                None => {
                    let fields = self.visible_fields(&rust, problems);
                    sections.push(Section { rust: rust.clone(), paths: vec![path.clone()], fields });
                    true
                }
            };
            if path.split('.').count() > 12 {
                problems.push(format!("{rust} contains itself ({path}): the reference test cannot list its paths"));
                continue;
            }
            let fields = self.visible_fields(&rust, &mut Vec::new());
            let mut children = Vec::new();
            // Problems of a type are reported at its first path only.
            let mut again = Vec::new();
            for f in &fields {
                let field_path = if path == ROOT_PATH { f.name.clone() } else { format!("{path}.{}", f.name) };
                match &f.ty {
                    TypeRef::Model(t) => self.reach(t, &field_path, &mut children, if first { &mut *problems } else { &mut again }),
                    TypeRef::Unknown(t) if first => problems.push(format!(
                        "{} has type {t}, which the reference test does not know: teach tests/config_reference/model.rs",
                        f.rust
                    )),
                    _ => {}
                }
            }
            // Depth-first in field order, so sections come out in the order a reader meets them.
            queue.extend(children.into_iter().rev());
        }
        sections
    }

    /// A field of type `t` at `path`: a struct is a section there; an enum's newtype and struct
    /// variants may hold sections at `path.variant`.
    fn reach(&self, t: &str, path: &str, out: &mut Vec<(String, String)>, problems: &mut Vec<String>) {
        match self.types.get(t) {
            Some(TypeDef::Struct(_)) => out.push((t.to_string(), path.to_string())),
            Some(TypeDef::Enum(variants)) => {
                for v in variants {
                    let vpath = format!("{path}.{}", v.name);
                    match &v.shape {
                        Shape::Newtype(TypeRef::Model(inner)) => match self.types.get(inner) {
                            Some(TypeDef::Struct(_)) => out.push((inner.clone(), vpath)),
                            _ => problems.push(format!("{} wraps {inner}, which the reference test cannot document", v.rust)),
                        },
                        Shape::Struct(fields) => {
                            for f in fields {
                                if let TypeRef::Model(inner) = &f.ty {
                                    self.reach(inner, &format!("{vpath}.{}", f.name), out, problems);
                                }
                            }
                        }
                        Shape::Newtype(TypeRef::Unknown(u)) => {
                            problems.push(format!("{} holds {u}, which the reference test does not know", v.rust))
                        }
                        _ => {}
                    }
                }
            }
            None => problems.push(format!("type {t} is not in the model sources")),
        }
    }

    pub fn enum_variants(&self, t: &TypeRef) -> Option<&[Variant]> {
        match t {
            TypeRef::Model(name) => match self.types.get(name) {
                Some(TypeDef::Enum(v)) => Some(v),
                _ => None,
            },
            _ => None,
        }
    }
}

const SCALARS: &[&str] = &[
    "String", "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    "PathBuf",
];

/// The documented type behind `Option`, `Vec`, `Box`; the model type or scalar it names.
fn type_ref(ty: &Type) -> TypeRef {
    match ty {
        Type::Tuple(t) => {
            if t.elems.iter().all(|e| type_ref(e) == TypeRef::Scalar) {
                TypeRef::Scalar
            } else {
                TypeRef::Unknown("a tuple holding sections".into())
            }
        }
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else { return TypeRef::Unknown("an empty path".into()) };
            let name = last.ident.to_string();
            if matches!(name.as_str(), "Option" | "Vec" | "Box") {
                if let PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(GenericArgument::Type(inner)) = args.args.first() {
                        return type_ref(inner);
                    }
                }
                return TypeRef::Unknown(name);
            }
            if SCALARS.contains(&name.as_str()) {
                TypeRef::Scalar
            } else if name.starts_with("Raw") || name.chars().next().is_some_and(char::is_uppercase) {
                TypeRef::Model(name)
            } else {
                TypeRef::Unknown(name)
            }
        }
        _ => TypeRef::Unknown("a type that is not a path or tuple".into()),
    }
}

/// `#[serde(...)]` contents as `(key, value)`: `rename(deserialize = "x")` is
/// `("rename.deserialize", "x")`, a flag has no value.
fn serde_attrs(attrs: &[Attribute]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            if meta.input.peek(syn::Token![=]) {
                let value: LitStr = meta.value()?.parse()?;
                out.push((key, Some(value.value())));
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    let sub = inner.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                    let value: LitStr = inner.value()?.parse()?;
                    out.push((format!("{key}.{sub}"), Some(value.value())));
                    Ok(())
                })?;
            } else {
                out.push((key, None));
            }
            Ok(())
        });
    }
    out
}

fn has(attrs: &[(String, Option<String>)], key: &str) -> bool {
    attrs.iter().any(|(k, _)| k == key)
}

fn value<'a>(attrs: &'a [(String, Option<String>)], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| attrs.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.as_deref()))
}

fn rename_rule(attrs: &[(String, Option<String>)]) -> Option<String> {
    value(attrs, &["rename_all.deserialize", "rename_all"]).map(str::to_string)
}

#[derive(Clone, Copy)]
enum Case {
    Snake,
    Pascal,
}

fn serde_name(attrs: &[(String, Option<String>)], ident: &str, rule: Option<&str>, case: Case) -> String {
    if let Some(name) = value(attrs, &["rename.deserialize", "rename"]) {
        return name.to_string();
    }
    let words: Vec<String> = match case {
        Case::Snake => ident.split('_').filter(|w| !w.is_empty()).map(str::to_lowercase).collect(),
        Case::Pascal => {
            let mut words: Vec<String> = Vec::new();
            for ch in ident.chars() {
                match words.last_mut() {
                    Some(w) if !ch.is_uppercase() => w.push(ch),
                    _ => words.push(ch.to_lowercase().collect()),
                }
            }
            words
        }
    };
    let capital = |w: &String| {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
    };
    match rule {
        None => ident.to_string(),
        Some("lowercase") => words.concat(),
        Some("UPPERCASE") => words.concat().to_uppercase(),
        Some("PascalCase") => words.iter().map(capital).collect(),
        Some("camelCase") => words.iter().enumerate().map(|(i, w)| if i == 0 { w.clone() } else { capital(w) }).collect(),
        Some("snake_case") => words.join("_"),
        Some("SCREAMING_SNAKE_CASE") => words.join("_").to_uppercase(),
        Some("kebab-case") => words.join("-"),
        Some("SCREAMING-KEBAB-CASE") => words.join("-").to_uppercase(),
        Some(other) => format!("{ident} (unknown rename_all {other:?})"),
    }
}
