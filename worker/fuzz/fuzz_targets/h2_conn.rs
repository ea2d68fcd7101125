//! libFuzzer target for the HTTP/2 connection (`hakeeper_worker::h2::conn`): the properties are
//! in `worker/src/h2/fuzz.rs`, which a stable unit test also runs.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hakeeper_worker::h2::fuzz::fuzz_one(data);
});
