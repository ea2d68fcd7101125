//! Checks shared by the config and importer targets.

// Each target uses its part.
#![allow(dead_code)]

use hakeeper_common::config::{self, ConfigError, Diagnostic};
use hakeeper_common::import::{ImportError, Imported};

/// Every diagnostic has a message and a position inside `text` (line 1.., column 1.. up to one
/// past the end of its line), so that `hakeeper check` points at something real.
pub fn assert_positions(text: &str, diags: &[Diagnostic]) {
    let lines: Vec<&str> = text.split('\n').collect();
    for d in diags {
        assert!(!d.message.trim().is_empty(), "a diagnostic without a message: {d:?}");
        assert!(d.line >= 1 && d.line <= lines.len(), "line {} outside the {}-line input: {d}", d.line, lines.len());
        let width = lines[d.line - 1].chars().count();
        assert!(d.col >= 1 && d.col <= width + 1, "column {} outside line {} ({width} chars): {d}", d.col, d.line);
    }
}

/// A config error: at least one line, each positioned inside the text.
pub fn assert_clear_error(text: &str, e: &ConfigError) {
    match e {
        ConfigError::Invalid(diags) => {
            assert!(!diags.is_empty(), "an invalid config with no diagnostic");
            assert_positions(text, diags);
        }
        ConfigError::Read { .. } => panic!("load_str read a file: {e}"),
    }
}

/// An import error names a line of the input and says something.
pub fn assert_import_error(text: &str, e: &ImportError) {
    match e {
        ImportError::Syntax { line, message, .. } => {
            assert!(!message.trim().is_empty(), "a syntax error without a message");
            let lines = text.split('\n').count();
            assert!(*line >= 1 && *line <= lines, "syntax error at line {line} of a {lines}-line input: {e}");
        }
        ImportError::Read { .. } | ImportError::NoInput => panic!("unexpected import error from text: {e}"),
    }
}

/// What holds for a successful import today: warnings name lines of the input; the RON written
/// for it (as `hakeeper import` writes it) parses back to the same raw config; and `check` on
/// that RON either accepts it or reports positioned errors (an import may carry values that
/// validation refuses, e.g. a backend with no server: the operator sees them at `check`).
pub fn assert_import_output(text: &str, imported: &Imported) {
    let lines = text.split('\n').count();
    for w in &imported.warnings {
        assert!(!w.message.trim().is_empty(), "a warning without a message");
        assert!(w.line >= 1 && w.line <= lines, "warning at line {} of a {lines}-line input: {w}", w.line);
    }
    let ron = match config::to_ron(&imported.config) {
        Ok(r) => r,
        Err(e) => panic!("imported config cannot be written as RON: {e}\n{:?}", imported.config),
    };
    match config::parse_raw("import.ron", &ron) {
        Ok(raw) => assert_eq!(raw, imported.config, "the RON written by import reads back differently\n{ron}"),
        Err(e) => panic!("the RON written by import does not parse: {e}\n{ron}"),
    }
    if let Err(e) = config::load_str("import.ron", &ron) {
        assert_clear_error(&ron, &e);
    }
}
