//! libFuzzer target for the keepalived.conf importer (`import::import_keepalived_str`, what
//! `hakeeper import --keepalived` runs on the file's text).
//!
//! Properties as for the haproxy.cfg importer (see `checks.rs`). Inputs with an `include` are
//! skipped: it reads files named by the input, which is the file system's business, not the
//! parser's (and `include /dev/zero` would read forever, as it does in keepalived).

#![no_main]

mod checks;

use hakeeper_common::import;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Quotes join word parts (`inc"lude"` is `include`), so look without them.
    if text.replace(['"', '\''], "").contains("include") {
        return;
    }
    match import::import_keepalived_str("/nonexistent/fuzz.conf", text) {
        Ok(imported) => checks::assert_import_output(text, &imported),
        Err(e) => checks::assert_import_error(text, &e),
    }
});
