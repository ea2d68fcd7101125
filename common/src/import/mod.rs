//! `hakeeper import`: translates an haproxy.cfg and/or a keepalived.conf into the RON config.
//! Whatever cannot be translated is reported, one `FILE:LINE: warning: …` per directive, along
//! with lints for known traps and notes where hakeeper replaces something by its own. A line
//! whose loss weakens access control, encryption, authentication or routing is *lossy*
//! (`FILE:LINE: <meant> — <why>`): the import fails closed on it.

mod error;
mod haproxy;
mod keepalived;
mod units;
mod warning;

pub use error::ImportError;
pub use warning::{ImportWarning, WarningKind};

use crate::config::raw::RawConfig;
use std::path::Path;

/// The translated config and what was said about the input.
#[derive(Debug, Clone)]
pub struct Imported {
    pub config: RawConfig,
    pub warnings: Vec<ImportWarning>,
}

impl Imported {
    /// The warnings `--strict` turns into errors: parts of the input missing from the output.
    pub fn untranslated(&self) -> impl Iterator<Item = &ImportWarning> {
        self.warnings.iter().filter(|w| w.is_untranslated())
    }

    /// The lines whose loss weakens access control, encryption, authentication or routing: the
    /// import fails closed on them unless `--allow-lossy`.
    pub fn lossy(&self) -> impl Iterator<Item = &ImportWarning> {
        self.warnings.iter().filter(|w| w.is_lossy())
    }
}

/// How the importer translates what has more than one translation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// keepalived's `virtual_server`s become L4 listeners that hakeeper proxies (the importer's
    /// `--lvs-as-proxy`), instead of listens balanced by the kernel (`lvs` blocks).
    pub lvs_as_proxy: bool,
}

/// Translates the given files into one config: the proxies from HAProxy, VRRP and LVS virtual
/// servers from keepalived.
pub fn import(haproxy: Option<&Path>, keepalived: Option<&Path>) -> Result<Imported, ImportError> {
    import_with(haproxy, keepalived, &ImportOptions::default())
}

/// [`import`] with options.
pub fn import_with(haproxy: Option<&Path>, keepalived: Option<&Path>, options: &ImportOptions) -> Result<Imported, ImportError> {
    let h = match haproxy {
        Some(path) => Some(import_haproxy_str(&path.display().to_string(), &error::read_text(path)?)?),
        None => None,
    };
    let k = match keepalived {
        Some(path) => Some(keepalived::translate_file(path, options)?),
        None => None,
    };
    match (h, k) {
        (None, None) => Err(ImportError::NoInput),
        (Some(h), None) => Ok(h),
        (None, Some(k)) => Ok(k.imported),
        (Some(h), Some(k)) => Ok(merge(h, k)),
    }
}

/// Translates haproxy.cfg text; `name` is the file name used in warnings.
pub fn import_haproxy_str(name: &str, text: &str) -> Result<Imported, ImportError> {
    let (config, warnings) = haproxy::translate(name, text)?;
    Ok(Imported { config, warnings })
}

/// Translates keepalived.conf text; `name` is the file name used in warnings, and `include`
/// paths are relative to its directory.
pub fn import_keepalived_str(name: &str, text: &str) -> Result<Imported, ImportError> {
    keepalived::translate_str(name, text, &ImportOptions::default())
}

/// [`import_keepalived_str`] with options.
pub fn import_keepalived_str_with(name: &str, text: &str, options: &ImportOptions) -> Result<Imported, ImportError> {
    keepalived::translate_str(name, text, options)
}

/// One config from both: HAProxy's global, defaults, proxies and stats; keepalived's VRRP and
/// its virtual servers as extra listens.
fn merge(h: Imported, k: keepalived::Translation) -> Imported {
    let mut config = h.config;
    let mut warnings = h.warnings;
    let lvs_first = config.listen.len();
    config.listen.extend(k.imported.config.listen);
    config.vrrp = k.imported.config.vrrp;
    warnings.extend(k.imported.warnings);
    let mut merged = Imported { config, warnings };
    keepalived::lint_overlapping_binds(&mut merged, lvs_first, &k.listen_origins);
    let first = merged.warnings.first().map(|w| w.file.clone()).unwrap_or_default();
    keepalived::sort_by_file_then_line(&mut merged.warnings, &first);
    merged
}

#[cfg(test)]
mod tests;
