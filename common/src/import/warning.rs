//! What the importer says about the input: one line per directive it did not translate, per trap
//! it recognised, and per feature that hakeeper replaces by its own.

use std::fmt;

/// Why a warning was printed; `hakeeper import --strict` decides from this which ones fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// A directive, or part of one, that is not in the output.
    Untranslated,
    /// Translated as written, but it probably does not do what its author meant.
    Lint,
    /// hakeeper does this itself, in its own way; the message says how.
    Replaced,
}

/// One warning, printed as `FILE:LINE: warning: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    pub file: String,
    pub line: usize,
    pub kind: WarningKind,
    pub message: String,
}

impl ImportWarning {
    /// True for what `--strict` turns into an error: something of the input is missing from the output.
    pub fn is_untranslated(&self) -> bool {
        self.kind == WarningKind::Untranslated
    }
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: warning: {}", self.file, self.line, self.message)
    }
}

/// Collects warnings while a file is translated.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub list: Vec<ImportWarning>,
}

impl Notes {
    fn push(&mut self, file: &str, line: usize, kind: WarningKind, message: String) {
        self.list.push(ImportWarning { file: file.to_string(), line, kind, message });
    }

    pub fn untranslated(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.push(file, line, WarningKind::Untranslated, message.into());
    }

    pub fn lint(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.push(file, line, WarningKind::Lint, message.into());
    }

    pub fn replaced(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.push(file, line, WarningKind::Replaced, message.into());
    }
}
