//! Importer tests: the seed's files end to end, then each format's details.

mod h2;
mod haproxy;
mod http;
mod keepalived;
mod lossy;
mod peers;
mod proxy_protocol;
mod seed;
mod server_tls;
mod stick;

use super::*;
use std::path::PathBuf;

/// The seed's config files, beside the checkout (`/work/shared/seed` for `/work/main`).
pub fn seed_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed");
    assert!(
        dir.is_dir(),
        "the seed's configs are missing: expected them in {} (shared/seed beside the checkout); the import tests need them",
        dir.display()
    );
    dir
}

/// The warnings as printed, with the file name cut to its last component.
pub fn printed(imported: &Imported) -> Vec<String> {
    imported
        .warnings
        .iter()
        .map(|w| {
            let file = std::path::Path::new(&w.file).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            ImportWarning { file, ..w.clone() }.to_string()
        })
        .collect()
}
