//! The fuzz target for the stats page's request handling, shared by the cargo-fuzz target
//! (`worker/fuzz/fuzz_targets/stats_request.rs`) and a stable test over generated inputs
//! (`HAKEEPER_FUZZ_SECS`, 5 s by default).
//!
//! Beyond "no panic": the bytes are fed to [`request::read`] the way the front feeds them (in
//! pieces, within its limits), and the outcome must not depend on how they were cut; a request
//! read whole is answered by [`handle`] with a response that parses back with the same status
//! and length and one `Connection: close`; nothing but a configured user gets a 2xx.

use super::auth;
use super::form::MAX_BODY;
use super::request::{self, Progress, MAX_HEAD};
use super::server::{handle, Answer, Ctx};
use super::StatsView;
use crate::admin::{AdminLink, AdminQueue};
use crate::counters::Stats as Counters;
use crate::http::head::parse_response;
use crate::status::StatsHub;
use crate::testkit;
use hakeeper_common::config;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Runs every check on one input; panics on a property violation.
pub fn fuzz_one(data: &[u8]) {
    let split = data.first().map_or(1, |b| usize::from(*b % 13) + 1);
    let whole = feed(data, usize::MAX);
    let pieces = feed(data, split);
    assert_eq!(whole, pieces, "the outcome depends on how the bytes were cut ({split} at a time)");
    if let Progress::Body { end, .. } = whole {
        // Waiting for a body: every byte was taken, and the wait is bounded.
        assert!(data.len() < end && end <= MAX_HEAD + MAX_BODY, "body end {end} after {} bytes", data.len());
    }
    if let Progress::Complete(req) = whole {
        answer(&req);
    }
}

/// What the front makes of `data` arriving `chunk` bytes at a time: it reads at most
/// [`MAX_HEAD`] bytes until the head is complete, then up to the request's end.
fn feed(data: &[u8], chunk: usize) -> Progress {
    let mut buf = Vec::new();
    let mut limit = MAX_HEAD;
    let mut progress = Progress::Head;
    let mut at = 0;
    while at < data.len() && buf.len() < limit {
        let n = chunk.min(limit - buf.len()).min(data.len() - at);
        buf.extend_from_slice(&data[at..at + n]);
        at += n;
        progress = request::read(&buf);
        match &progress {
            Progress::Head => {}
            Progress::Body { end, .. } => limit = *end,
            Progress::Complete(_) | Progress::Refused(_) => return progress,
        }
    }
    progress
}

fn answer(req: &request::Request) {
    let ctx = ctx();
    let response = match handle(req, ctx) {
        Answer::Now(r) => r,
        Answer::Admin(mut pending) => {
            // Nobody applies the actions here: dropping them answers "refused".
            drop(queue().take());
            pending.poll(Instant::now() + Duration::from_secs(5)).expect("an admin answer once its wait is over")
        }
    };
    if (200..300).contains(&response.status) {
        assert!(auth::check(&ctx.config.auth, req.authorization.as_deref()).allowed(), "a 2xx without valid credentials");
    }
    for head_only in [false, true] {
        let bytes = response.encode(&ctx.server_header, head_only);
        let head = match parse_response(&bytes) {
            Ok(Some(h)) => h,
            other => panic!("a response does not parse back: {other:?}\n{}", String::from_utf8_lossy(&bytes)),
        };
        assert_eq!(head.status, response.status);
        assert!(head.connection.close, "every answer closes");
        assert_eq!(head.headers.get_all("connection").count(), 1);
        let len = head.headers.get("content-length").and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok());
        assert_eq!(len, Some(response.body.len()));
        assert_eq!(bytes.len() - head.head_len, if head_only { 0 } else { response.body.len() });
    }
}

/// Where the page's admin actions go; nobody applies them.
fn queue() -> &'static Arc<AdminQueue> {
    static QUEUE: OnceLock<Arc<AdminQueue>> = OnceLock::new();
    QUEUE.get_or_init(Arc::default)
}

/// One page for every input: admin on, two users, two backends.
fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let addr = |i: u8| SocketAddr::from(([127, 0, 0, i], 8080));
        let servers = vec![testkit::server(0, "web1", addr(1)), testkit::server(1, "web2", addr(2))];
        let mut worker = testkit::worker_config(vec![testkit::tcp_backend("web", servers)]);
        worker.frontends.push(testkit::tcp_frontend("web", addr(9)));
        let stats = config::Stats {
            bind: addr(10),
            uri: "/admin".into(),
            realm: "Stats".into(),
            auth: vec![("mldn".into(), "java".into()), ("ops".into(), "pw2".into())],
            refresh: Some(Duration::from_secs(30)),
            hide_version: false,
            admin: true,
            maxconn: 10,
            timeout_http_request: Duration::from_secs(5),
            timeout_client: Duration::from_secs(10),
            tls: None,
            bind_proto: Default::default(),
        };
        worker.stats = Some(stats.clone());
        let counters = Arc::new(Counters::new(&worker.frontends, &worker.backends));
        let hub = Arc::new(StatsHub::new(&worker, &counters));
        let view = StatsView { config: Arc::new(worker), counters, hub: hub.clone(), tables: Default::default(), peers: Vec::new() };
        let admin = AdminLink::new(queue().clone(), Arc::new(|| Ok(())));
        Ctx::new(stats, view, admin)
    })
}

/// Inputs the mutations start from: what the page is sent.
pub const SEEDS: &[&[u8]] = &[
    b"GET /admin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic bWxkbjpqYXZh\r\n\r\n",
    b"GET /admin;csv;norefresh HTTP/1.0\r\nAuthorization: Basic b3BzOnB3Mg==\r\n\r\n",
    b"GET /admin;json;up HTTP/1.1\r\nAuthorization: Basic bWxkbjpqYXZh\r\n\r\n",
    b"HEAD /metrics HTTP/1.1\r\nAuthorization: basic bWxkbjpqYXZh\r\n\r\n",
    b"GET /admin;st=DONE HTTP/1.1\r\nAuthorization: Basic bWxkbjp3cm9uZw==\r\n\r\n",
    b"POST /admin HTTP/1.1\r\nAuthorization: Basic bWxkbjpqYXZh\r\nContent-Length: 32\r\n\r\nb=web&s=web1&s=web2&action=maint",
    b"POST /admin HTTP/1.1\r\nAuthorization: Basic bWxkbjpqYXZh\r\nContent-Length: 36\r\nExpect: 100-continue\r\n\r\nb=web&s=web1&action=weight&weight=50",
    b"POST /admin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"DELETE /admin HTTP/1.1\r\nAuthorization: Basic bWxkbjpqYXZh\r\n\r\n",
    b"GET /other HTTP/1.1\r\n\r\n",
];

/// One input: a seed mutated a few times.
pub fn generate(rng: &mut crate::http::fuzz::Rng) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[b"\r\n", b";", b"%", b"+", b"&", b"=", b"s=", b"\"", b"<", b" ", b":", b"\x00", b"\xff", b"Basic "];
    let mut data = SEEDS[rng.below(SEEDS.len())].to_vec();
    rng.mutate(&mut data, TOKENS, false);
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fuzz::run_generated;

    #[test]
    fn seeds_pass() {
        for s in SEEDS {
            fuzz_one(s);
        }
    }

    /// The stable stand-in for cargo-fuzz.
    #[test]
    fn fuzz_target_survives_generated_inputs() {
        let runs = run_generated(0x7374_6174_7370_6167, 100, generate, fuzz_one);
        eprintln!("stats fuzz: {runs} inputs");
    }
}
