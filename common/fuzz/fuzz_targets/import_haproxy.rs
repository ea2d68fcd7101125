//! libFuzzer target for the haproxy.cfg importer (`import::import_haproxy_str`, what
//! `hakeeper import --haproxy` runs on the file's text).
//!
//! Properties, beyond "no panic": a refused input gets a syntax error naming a line of it; a
//! translated one has warnings on lines of it, and RON output that parses back to the same raw
//! config and that `check` accepts or refuses with positioned errors (see `checks.rs`).

#![no_main]

mod checks;

use hakeeper_common::import;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match import::import_haproxy_str("fuzz.cfg", text) {
        Ok(imported) => checks::assert_import_output(text, &imported),
        Err(e) => checks::assert_import_error(text, &e),
    }
});
