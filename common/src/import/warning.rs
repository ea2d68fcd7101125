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
    /// Not in the output, and its absence weakens access control (deny, reject, auth,
    /// ACL-guarded routing), encryption (ssl), authentication or routing: the import fails
    /// unless `--allow-lossy`. The message reads `<what it would have meant> — <why it cannot be kept>`.
    Lossy,
}

/// One warning, printed as `FILE:LINE: warning: MESSAGE` (a lossy one as `FILE:LINE: MESSAGE`).
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
        matches!(self.kind, WarningKind::Untranslated | WarningKind::Lossy)
    }

    /// True for what fails the import unless `--allow-lossy`.
    pub fn is_lossy(&self) -> bool {
        self.kind == WarningKind::Lossy
    }
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            WarningKind::Lossy => write!(f, "{}:{}: {}", self.file, self.line, self.message),
            _ => write!(f, "{}:{}: warning: {}", self.file, self.line, self.message),
        }
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

    /// A line whose loss weakens security or routing: `meant` says what it would have done,
    /// `why` why hakeeper cannot keep it.
    pub fn lossy(&mut self, file: &str, line: usize, meant: impl AsRef<str>, why: impl AsRef<str>) {
        self.push(file, line, WarningKind::Lossy, format!("{} — {}", meant.as_ref(), why.as_ref()));
    }

    pub fn replaced(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.push(file, line, WarningKind::Replaced, message.into());
    }
}
