//! The RON config: [`raw`] as written, [`model`] as validated, and the loading that joins them.

pub mod acl;
mod bind_form;
pub mod error;
pub mod errorfile;
pub mod host_check;
pub mod http;
pub mod http_syntax;
pub mod locate;
pub mod model;
pub mod pattern;
pub mod pattern_file;
pub mod payload;
pub mod raw;
pub mod server_tls;
pub mod stick_rule;
pub mod stick_syntax;
pub mod stick_table;
mod suggest;
mod syntax;
pub mod tcp;
pub mod tls_hello;
pub mod validate;

pub use error::{ConfigError, Diagnostic};
pub use model::*;
pub use raw::RawConfig;

use locate::Locator;
use ron::extensions::Extensions;
use std::path::Path;

/// A config that passed validation, with the warnings found on the way.
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// RON options used for reading and writing: `Some(...)` may be left out.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Reads and validates a config file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    load_file_as(path, None)
}

/// [`load_file`], with this host's peer name given on the command line (HAProxy's `-L`), which
/// takes the place of `global.localpeer`.
pub fn load_file_as(path: &Path, localpeer: Option<&str>) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    let file = path.display().to_string();
    let mut loaded = load_str_as(&file, &text, localpeer)?;
    // Errorfiles are read here, at start-up and on reload, as HAProxy reads them.
    let base = path.parent().unwrap_or(Path::new("."));
    let mut problems = errorfile::read_errorfiles(&mut loaded.config, base);
    // So are the servers' CA and certificate files.
    problems.extend(crate::tls_client::files::read_tls_files(&mut loaded.config, base));
    // Certificates too: a reload whose certificate does not load is refused like any error.
    problems.extend(crate::tls::load::load_config(&mut loaded.config, base));
    if !problems.is_empty() {
        let locator = Locator::new(&text);
        let diags = problems
            .into_iter()
            .map(|f| {
                let pos = locator.find(&f.path);
                Diagnostic {
                    file: file.clone(),
                    line: pos.line,
                    col: pos.col,
                    field: f.path,
                    message: f.message,
                    excerpt: syntax::excerpt(&text, pos),
                }
            })
            .collect();
        return Err(ConfigError::Invalid(diags));
    }
    Ok(loaded)
}

/// Parses RON text into the raw structs, with syntax errors positioned in `file`.
pub fn parse_raw(file: &str, text: &str) -> Result<RawConfig, ConfigError> {
    ron_options().from_str::<RawConfig>(text).map_err(|e| {
        let (field, message) = syntax::describe(&e, text);
        let pos = locate::Pos { line: e.span.start.line.max(1), col: e.span.start.col.max(1) };
        ConfigError::Invalid(vec![Diagnostic {
            file: file.to_string(),
            line: pos.line,
            col: pos.col,
            field,
            message,
            excerpt: syntax::excerpt(text, pos),
        }])
    })
}

/// Parses and validates RON text; `file` names it in messages.
pub fn load_str(file: &str, text: &str) -> Result<Loaded, ConfigError> {
    load_str_as(file, text, None)
}

/// [`load_str`] with a command-line peer name (see [`load_file_as`]).
pub fn load_str_as(file: &str, text: &str, localpeer: Option<&str>) -> Result<Loaded, ConfigError> {
    let mut raw = parse_raw(file, text)?;
    if let Some(name) = localpeer {
        raw.global.localpeer = Some(name.to_string());
    }
    let locator = Locator::new(text);
    let position = |f: validate::Finding| {
        let pos = locator.find(&f.path);
        Diagnostic {
            file: file.to_string(),
            line: pos.line,
            col: pos.col,
            field: f.path,
            message: f.message,
            excerpt: syntax::excerpt(text, pos),
        }
    };
    match validate::validate(&raw, file.into(), &host_name()) {
        Ok(v) => Ok(Loaded { config: v.config, warnings: v.warnings.into_iter().map(position).collect() }),
        Err((errors, _warnings)) => Err(ConfigError::Invalid(errors.into_iter().map(position).collect())),
    }
}

/// This host's name, the default `vrrp.router_id` (keepalived's default `router_id` is the
/// host name too). Read here so that validation does no I/O of its own.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Writes a raw config as RON, the way `hakeeper import` prints it.
pub fn to_ron(raw: &RawConfig) -> Result<String, ron::Error> {
    let pretty = ron::ser::PrettyConfig::new().struct_names(false).indentor("  ".to_string()).extensions(Extensions::IMPLICIT_SOME);
    ron::ser::to_string_pretty(raw, pretty)
}

#[cfg(test)]
mod lvs_tests;
#[cfg(test)]
mod tests;
