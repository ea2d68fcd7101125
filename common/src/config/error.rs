//! Config errors: each one names the file, the line and column, and the field.

use std::fmt;
use std::path::PathBuf;

/// One finding about a config file, printed as `FILE:LINE:COL: field: message`, then (with
/// `{:#}`) the source line with a caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// Dotted field path such as `listen[0].servers[1].addr`; empty for syntax errors.
    pub field: String,
    pub message: String,
    /// The source line with a caret under the column (empty when there is no text to show).
    pub excerpt: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if f.alternate() && !self.excerpt.is_empty() {
            write!(f, "\n{}", self.excerpt)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read config: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Diagnostic>),
}

fn join_lines(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
}

impl ConfigError {
    /// The error as log lines, one finding each.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ConfigError::Read { .. } => vec![self.to_string()],
            ConfigError::Invalid(diags) => diags.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// The error as a person at a terminal reads it (`hakeeper check`, `hakeeper run`): each
    /// finding followed by its source line and a caret.
    pub fn report(&self) -> String {
        match self {
            ConfigError::Read { .. } => self.to_string(),
            ConfigError::Invalid(diags) => diags.iter().map(|d| format!("{d:#}")).collect::<Vec<_>>().join("\n"),
        }
    }
}
