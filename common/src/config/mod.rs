//! The RON config: [`raw`] as written, [`model`] as validated, and the loading that joins them.

pub mod error;
pub mod locate;
pub mod model;
pub mod raw;
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
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    load_str(&path.display().to_string(), &text)
}

/// Parses RON text into the raw structs, with syntax errors positioned in `file`.
pub fn parse_raw(file: &str, text: &str) -> Result<RawConfig, ConfigError> {
    ron_options().from_str::<RawConfig>(text).map_err(|e| {
        // serde names the Rust structs; operators know the sections.
        let message = e.code.to_string().replace("`Raw", "`");
        ConfigError::Invalid(vec![Diagnostic {
            file: file.to_string(),
            line: e.span.start.line.max(1),
            col: e.span.start.col.max(1),
            field: String::new(),
            message,
        }])
    })
}

/// Parses and validates RON text; `file` names it in messages.
pub fn load_str(file: &str, text: &str) -> Result<Loaded, ConfigError> {
    let raw = parse_raw(file, text)?;
    let locator = Locator::new(text);
    let position = |f: validate::Finding| {
        let pos = locator.find(&f.path);
        Diagnostic { file: file.to_string(), line: pos.line, col: pos.col, field: f.path, message: f.message }
    };
    match validate::validate(&raw, file.into()) {
        Ok(v) => Ok(Loaded { config: v.config, warnings: v.warnings.into_iter().map(position).collect() }),
        Err((errors, _warnings)) => Err(ConfigError::Invalid(errors.into_iter().map(position).collect())),
    }
}

/// Writes a raw config as RON, the way `hakeeper import` prints it.
pub fn to_ron(raw: &RawConfig) -> Result<String, ron::Error> {
    let pretty = ron::ser::PrettyConfig::new().struct_names(false).indentor("  ".to_string()).extensions(Extensions::IMPLICIT_SOME);
    ron::ser::to_string_pretty(raw, pretty)
}

#[cfg(test)]
mod tests;
