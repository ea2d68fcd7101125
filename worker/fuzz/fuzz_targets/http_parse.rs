//! libFuzzer entry for the HTTP head parsers and body framing; the checks live in
//! `hakeeper_worker::http::fuzz` so that a stable test runs them too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hakeeper_worker::http::fuzz::fuzz_one(data);
});
