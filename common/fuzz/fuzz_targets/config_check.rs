//! libFuzzer target for the RON config loader and validation: what `hakeeper check` runs on a
//! file's text (`config::load_str`; errorfiles, read from disk afterwards, are left out).
//!
//! Properties, beyond "no panic": loading is deterministic (same config and warnings, or the same
//! error lines, twice); every error and warning has a message and a line/column inside the
//! input; a config that validates, written back as RON the way `hakeeper import` writes it,
//! loads again to the same validated config.

#![no_main]

mod checks;

use hakeeper_common::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let first = config::load_str("fuzz.ron", text);
    let second = config::load_str("fuzz.ron", text);
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.config, b.config, "validation is not deterministic");
            assert_eq!(a.warnings, b.warnings, "warnings are not deterministic");
            checks::assert_positions(text, &a.warnings);
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.lines(), b.lines(), "errors are not deterministic");
            checks::assert_clear_error(text, a);
        }
        _ => panic!("one load passed and the other failed"),
    }
    let Ok(loaded) = first else { return };
    let raw = match config::parse_raw("fuzz.ron", text) {
        Ok(r) => r,
        Err(e) => panic!("a config that loads does not parse: {e}"),
    };
    let written = match config::to_ron(&raw) {
        Ok(w) => w,
        Err(e) => panic!("a valid config cannot be written as RON: {e}"),
    };
    match config::load_str("fuzz.ron", &written) {
        Ok(again) => assert_eq!(again.config, loaded.config, "written back, the config means something else\n{written}"),
        Err(e) => panic!("written back, a valid config no longer loads: {e}\n{written}"),
    }
});
