//! Errors that stop an import: a file that cannot be read, or syntax too broken to go on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{file}:{line}: error: {message}")]
    Syntax { file: String, line: usize, message: String },
    #[error("nothing to import: give an HAProxy file, a keepalived file, or both")]
    NoInput,
}

impl ImportError {
    pub(crate) fn syntax(file: &str, line: usize, message: impl Into<String>) -> Self {
        ImportError::Syntax { file: file.to_string(), line, message: message.into() }
    }
}

/// Reads a config file; configs with comments in a legacy encoding still import, since every
/// keyword is ASCII.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read { path: path.to_path_buf(), source })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
