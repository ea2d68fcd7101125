//! libFuzzer entry for the stats page's request handling (reading a request from the bytes as
//! the front feeds them, routing, authentication, the admin form, the response); the checks
//! live in `hakeeper_worker::stats::fuzz` so that a stable test runs them too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hakeeper_worker::stats::fuzz::fuzz_one(data);
});
