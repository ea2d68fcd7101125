//! Hostile HTTP/1.1 input (issue "Hostile input: never weaker than HAProxy"): each case goes,
//! over raw TCP, to HAProxy 2.6 and to hakeeper (the same haproxy.cfg, imported) in the same
//! run, both in front of one loopback backend that records exactly what it received. For every
//! case, hakeeper is never the more permissive one: when HAProxy refuses, hakeeper refuses and
//! the backend gets nothing it answers; when both forward, the backend got the same request
//! (method, target, Host, route, body, trailers). Each case also states what each proxy does,
//! so that a change on either side shows; where hakeeper is stricter, the table says so and
//! tests/differential/KNOWN-DIFFERENCES.md says why.

mod harness;

use harness::differential_haproxy::{binary as haproxy_binary, listening, Haproxy};
use harness::hostile_backend::{exchange, parse_message, Answer, Message, RecordingBackend};
use harness::process::{free_port, run_cli, wait_until, Appliance, TempDir};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What a proxy does with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The backend answers it and the client gets that answer.
    Forwards,
    /// The client gets an error (4xx, 502) or an incomplete response; the backend answers
    /// nothing.
    Refuses,
    /// In the table only: HAProxy's answer depends on how the bytes reach it (seen with
    /// invalid trailer names when many requests arrive at once).
    Either,
}
use Fate::{Either as E, Forwards as F, Refuses as R};

/// One hostile request: id, bytes (an `X-Case` line is inserted after the request line),
/// HAProxy's fate, hakeeper's, and whether both forwards must mean the same.
struct Case {
    id: &'static str,
    request: &'static str,
    haproxy: Fate,
    hakeeper: Fate,
    same_meaning: bool,
}

const fn case(id: &'static str, request: &'static str, haproxy: Fate, hakeeper: Fate) -> Case {
    Case { id, request, haproxy, hakeeper, same_meaning: true }
}

const CHUNKED: &str = "POST /t HTTP/1.1\r\nHost: www.abc.com\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";

/// Requests (the chunked ones: `CHUNKED` then the trailer section, see `request_bytes`).
const CASES: &[Case] = &[
    // A fragment hides the real end of the path from `path_end` (CVE-2023-45539).
    case("frag", "GET /secret.bak#x HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("frag-plain", "GET /a#x HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("frag-abs", "GET http://www.abc.com/p#f HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("bak", "GET /secret.bak HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("bak-pct", "GET /secret%2ebak HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    // Bytes in the target.
    case("target-tab", "GET /a\tb HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("target-ctl", "GET /a\x01b HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("target-del", "GET /a\x7fb HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, R),
    case("target-two-spaces", "GET  /a HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, R),
    case("target-pct-bad", "GET /a%zz HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    // Forms (RFC 9112 3.2).
    case("form-relative", "GET admin/x HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("form-scheme-no-slashes", "GET http:/admin/x HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("form-authority-get", "GET www.abc.com:80 HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("form-star-get", "GET * HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, R),
    case("form-star-options", "OPTIONS * HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("connect-path", "CONNECT /p HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("connect-no-port", "CONNECT www.abc.com HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("connect-absolute", "CONNECT http://www.abc.com/ HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("connect-host-mismatch", "CONNECT www.abc.com:443 HTTP/1.1\r\nHost: img.abc.com:443\r\n\r\n", R, R),
    case("connect-userinfo", "CONNECT u@www.abc.com:443 HTTP/1.1\r\nHost: www.abc.com:443\r\n\r\n", F, R),
    // Absolute-form: the authority and Host must agree; ACLs read what the server acts on.
    case("abs-host-mismatch", "GET http://img.abc.com/abs HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("abs-match", "GET http://www.abc.com/abs HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("abs-match-img", "GET http://img.abc.com/abs HTTP/1.1\r\nHost: img.abc.com\r\n\r\n", F, F),
    case("abs-case", "GET http://WWW.abc.com/p HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("abs-no-path", "GET http://www.abc.com HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("abs-query-no-path", "GET http://www.abc.com?x HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("abs-port-80", "GET http://www.abc.com:80/p HTTP/1.1\r\nHost: www.abc.com:80\r\n\r\n", F, F),
    case("abs-port-80-bare-host", "GET http://www.abc.com:80/p HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("abs-port-empty", "GET http://www.abc.com:/p HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("abs-port-8080", "GET http://www.abc.com:8080/p HTTP/1.1\r\nHost: www.abc.com:8080\r\n\r\n", F, F),
    case("abs-port-8080-mismatch", "GET http://www.abc.com:8080/p HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("abs-https-443", "GET https://www.abc.com:443/p HTTP/1.1\r\nHost: www.abc.com:443\r\n\r\n", F, F),
    case("abs-ipv6", "GET http://[::1]:8080/p HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", F, F),
    case("abs-secret-port-80", "GET http://secret.abc.com:80/ HTTP/1.1\r\nHost: secret.abc.com:80\r\n\r\n", R, R),
    case("abs-userinfo", "GET http://www.abc.com@img.abc.com/ui HTTP/1.1\r\nHost: img.abc.com\r\n\r\n", F, R),
    case("abs-userinfo-in-host", "GET http://www.abc.com@img.abc.com/ui HTTP/1.1\r\nHost: www.abc.com@img.abc.com\r\n\r\n", R, R),
    case("abs-empty-host", "GET http:///p HTTP/1.1\r\nHost: \r\n\r\n", F, R),
    case("abs-ftp", "GET ftp://www.abc.com/p HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, R),
    case("abs-secret-no-host", "GET http://secret.abc.com/ HTTP/1.1\r\n\r\n", F, R),
    Case {
        id: "abs-img-no-host",
        request: "GET http://img.abc.com/abs HTTP/1.1\r\n\r\n",
        haproxy: F,
        hakeeper: F,
        // HAProxy routes it without a Host (to `web`) while the server acts on img.abc.com;
        // hakeeper takes Host from the authority and routes it to `img`.
        same_meaning: false,
    },
    // Host.
    case("host-empty", "GET /p HTTP/1.1\r\nHost: \r\n\r\n", F, F),
    case("host-missing", "GET /p HTTP/1.1\r\n\r\n", F, F),
    case("host-twice-same", "GET /p HTTP/1.1\r\nHost: www.abc.com\r\nHost: www.abc.com\r\n\r\n", F, R),
    case("host-twice-differ", "GET /p HTTP/1.1\r\nHost: www.abc.com\r\nHost: img.abc.com\r\n\r\n", R, R),
    case("host-comma", "GET /p HTTP/1.1\r\nHost: img.abc.com, www.abc.com\r\n\r\n", F, R),
    case("host-space", "GET /p HTTP/1.1\r\nHost: a b\r\n\r\n", F, R),
    case("host-userinfo", "GET /p HTTP/1.1\r\nHost: u@img.abc.com\r\n\r\n", F, R),
    case("host-slash", "GET /p HTTP/1.1\r\nHost: a/b\r\n\r\n", F, R),
    // Chunked trailers ("T:" marks the trailer section appended to CHUNKED).
    case("trailer-ok", "T:X-Sum: 1\r\n\r\n", F, F),
    case("trailer-none", "T:\r\n", F, F),
    case("trailer-no-colon", "T:badtrailer\r\n\r\n", R, R),
    case("trailer-request-line", "T:GET /admin HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("trailer-empty-name", "T:: 1\r\n\r\n", R, R),
    case("trailer-folded", "T:X-Sum: 1\r\n 2\r\n\r\n", F, R),
    case("trailer-content-length", "T:Content-Length: 5\r\n\r\n", F, R),
    case("trailer-transfer-encoding", "T:Transfer-Encoding: chunked\r\n\r\n", F, R),
    case("trailer-host", "T:Host: secret.abc.com\r\n\r\n", F, R),
    case("trailer-space-in-name", "T:X Sum: 1\r\n\r\n", E, R),
    case("trailer-space-before-colon", "T:X-Sum : 1\r\n\r\n", E, R),
    case("trailer-ctl", "T:X-Sum: a\x01b\r\n\r\n", F, R),
    case("trailer-del", "T:X-Sum: a\x7fb\r\n\r\n", F, R),
    case("trailer-bare-lf", "T:X-Sum: 1\n\r\n", F, R),
    // Chunked responses whose trailers the backend chooses (`/resp/<variant>`): a client must
    // not get a bad trailer section as a complete response.
    case("response-trailer-ok", "GET /resp/good-trailer HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, F),
    case("response-trailer-no-colon", "GET /resp/no-colon HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("response-trailer-status-line", "GET /resp/status-line HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", R, R),
    case("response-trailer-content-length", "GET /resp/content-length HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, R),
    case("response-trailer-folded", "GET /resp/folded HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", F, R),
];

/// Both proxies: `/secret.bak`-style paths and the host secret.abc.com are denied (403);
/// img.abc.com goes to backend `img`, the rest to `web`; each backend tells the server which
/// it is. One server behind both.
const CONFIG: &str = "defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend main
  bind @FE@
  acl bak path_end .bak
  acl secret hdr(host) -i secret.abc.com
  acl img hdr(host) -i img.abc.com
  http-request deny if bak
  http-request deny if secret
  use_backend img if img
  default_backend web
backend web
  http-request set-header X-Route web
  server s1 @SERVER@
backend img
  http-request set-header X-Route img
  server s1 @SERVER@
";

fn request_bytes(c: &Case, marker: &str) -> Vec<u8> {
    let full = match c.request.strip_prefix("T:") {
        Some(trailers) => format!("{CHUNKED}{trailers}"),
        None => c.request.to_string(),
    };
    let line_end = full.find("\r\n").expect("a request line") + 2;
    format!("{}X-Case: {marker}\r\n{}", &full[..line_end], &full[line_end..]).into_bytes()
}

/// What one proxy did with one case.
#[derive(Debug)]
struct Observed {
    answer: Answer,
    /// The requests the backend answered for this case.
    forwarded: Vec<Message>,
    /// Raw bytes of every backend connection for this case, for failure messages.
    raw: Vec<String>,
}

impl Observed {
    fn fate(&self) -> Fate {
        let client_ok = self.answer.status == 200 && self.answer.complete;
        if client_ok && self.forwarded.len() == 1 {
            Fate::Forwards
        } else {
            Fate::Refuses
        }
    }

    fn brief(&self) -> String {
        format!(
            "status {} complete {} forwarded {} backend bytes {:?}",
            self.answer.status,
            self.answer.complete,
            self.forwarded.len(),
            self.raw
        )
    }
}

/// The parts of a forwarded request that carry its meaning, as the server reads them.
#[derive(Debug, PartialEq, Eq)]
struct Meaning {
    method: String,
    target: String,
    host: String,
    route: String,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

fn meaning(m: &Message) -> Meaning {
    let mut words = m.start_line.split(' ');
    Meaning {
        method: words.next().unwrap_or("").to_string(),
        target: words.next().unwrap_or("").to_string(),
        host: m.header("host").unwrap_or("<none>").to_ascii_lowercase(),
        route: m.header("x-route").unwrap_or("<none>").to_string(),
        body: m.body.clone(),
        trailers: m.trailers.clone(),
    }
}

fn start_proxies(dir: &TempDir, haproxy_bin: &std::path::Path, backend: SocketAddr) -> (Haproxy, Appliance, SocketAddr, SocketAddr) {
    let (hap_port, hk_port) = (free_port(), free_port());
    let cfg = |port: u16| CONFIG.replace("@FE@", &format!("127.0.0.1:{port}")).replace("@SERVER@", &backend.to_string());
    std::fs::write(dir.file("haproxy.cfg"), cfg(hap_port)).expect("write haproxy.cfg");
    std::fs::write(dir.file("for-import.cfg"), cfg(hk_port)).expect("write cfg for import");
    let ron = dir.file("hakeeper.ron");
    let (code, _, warnings) = run_cli(
        &["import", "--haproxy", &dir.file("for-import.cfg").display().to_string(), "-o", &ron.display().to_string()],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "hakeeper import failed:\n{warnings}");
    let mut haproxy = Haproxy::start(haproxy_bin, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hakeeper = Appliance::start(&ron, &dir.file("hakeeper.log"));
    hakeeper.wait_for_children(&["worker"], Duration::from_secs(10));
    let ready = wait_until(Duration::from_secs(10), || (listening(hap_port) && listening(hk_port)) || haproxy.exited());
    assert!(
        ready && !haproxy.exited(),
        "the proxies are not both listening\nhaproxy log:\n{}\nhakeeper log:\n{}",
        haproxy.log_text(),
        hakeeper.log_text()
    );
    (haproxy, hakeeper, SocketAddr::from(([127, 0, 0, 1], hap_port)), SocketAddr::from(([127, 0, 0, 1], hk_port)))
}

#[test]
fn hakeeper_is_never_more_permissive_than_haproxy() {
    let Some(haproxy_bin) = haproxy_binary("hostile_http") else { return };
    let started = Instant::now();
    let dir = TempDir::new("hostile-http");
    let backend = RecordingBackend::start();
    let (haproxy, hakeeper, hap, hk) = start_proxies(&dir, &haproxy_bin, backend.addr);
    // hakeeper's worker may still be starting; its listener queues connections meanwhile.
    std::thread::sleep(Duration::from_millis(200));

    // Every case to both proxies at once; the X-Case marker says whose request the backend got.
    let answers: Vec<(Answer, Answer)> = std::thread::scope(|s| {
        let handles: Vec<_> = CASES
            .iter()
            .map(|c| {
                let (a, b) = (request_bytes(c, &format!("{}-haproxy", c.id)), request_bytes(c, &format!("{}-hakeeper", c.id)));
                (s.spawn(move || exchange(hap, &a)), s.spawn(move || exchange(hk, &b)))
            })
            .collect();
        handles.into_iter().map(|(a, b)| (a.join().expect("haproxy client"), b.join().expect("hakeeper client"))).collect()
    });
    assert!(wait_until(Duration::from_secs(5), || backend.active() == 0), "the backend still reads connections");

    let observe = |c: &Case, who: &str, answer: Answer| {
        let received = backend.received(&format!("{}-{who}", c.id));
        Observed {
            answer,
            forwarded: received.iter().filter(|r| r.answered).filter_map(|r| parse_message(&r.raw)).collect(),
            raw: received.iter().map(|r| String::from_utf8_lossy(&r.raw).into_owned()).collect(),
        }
    };
    let mut failures = Vec::new();
    let mut table = String::new();
    for (c, (a, b)) in CASES.iter().zip(answers) {
        let (from_hap, from_hk) = (observe(c, "haproxy", a), observe(c, "hakeeper", b));
        let (fate_hap, fate_hk) = (from_hap.fate(), from_hk.fate());
        table.push_str(&format!(
            "  {:32} haproxy {:?} {:3} | hakeeper {:?} {:3}\n",
            c.id, fate_hap, from_hap.answer.status, fate_hk, from_hk.answer.status
        ));
        if fate_hap == Fate::Refuses && fate_hk == Fate::Forwards {
            failures.push(format!(
                "{}: HAProxy refuses and hakeeper forwards\n    haproxy {}\n    hakeeper {}",
                c.id,
                from_hap.brief(),
                from_hk.brief()
            ));
        }
        if fate_hap != c.haproxy && c.haproxy != Fate::Either {
            failures.push(format!("{}: HAProxy {:?}, the table says {:?}\n    haproxy {}", c.id, fate_hap, c.haproxy, from_hap.brief()));
        }
        if fate_hk != c.hakeeper {
            failures.push(format!("{}: hakeeper {:?}, the table says {:?}\n    hakeeper {}", c.id, fate_hk, c.hakeeper, from_hk.brief()));
        }
        let response_case = c.request.contains("/resp/");
        if fate_hk == Fate::Refuses && !response_case && !from_hk.forwarded.is_empty() {
            failures.push(format!("{}: hakeeper refused, yet the backend answered a request\n    hakeeper {}", c.id, from_hk.brief()));
        }
        if fate_hap == Fate::Forwards && fate_hk == Fate::Forwards && c.same_meaning {
            let (x, y) = (meaning(&from_hap.forwarded[0]), meaning(&from_hk.forwarded[0]));
            if x != y {
                failures.push(format!("{}: the backend got different requests\n    from haproxy  {x:?}\n    from hakeeper {y:?}", c.id));
            }
            let (rx, ry) = (
                from_hap.answer.message.as_ref().map(|m| (&m.body, &m.trailers)),
                from_hk.answer.message.as_ref().map(|m| (&m.body, &m.trailers)),
            );
            if rx != ry {
                failures.push(format!("{}: the clients got different responses\n    from haproxy  {rx:?}\n    from hakeeper {ry:?}", c.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}\n\nall cases:\n{table}\nhaproxy log:\n{}\nhakeeper log:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n"),
        haproxy.log_text(),
        hakeeper.log_text()
    );
    eprintln!("{} hostile cases compared in {:?}:\n{table}", CASES.len(), started.elapsed());
}

#[test]
fn case_ids_are_unique_and_markers_are_not_prefixes() {
    let mut ids: Vec<&str> = CASES.iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CASES.len(), "duplicate case id");
    // The backend finds a case by `x-case: ID-proxy\r`, so ids may share prefixes.
    let bytes = request_bytes(&CASES[0], "frag-haproxy");
    assert!(String::from_utf8_lossy(&bytes).starts_with("GET /secret.bak#x HTTP/1.1\r\nX-Case: frag-haproxy\r\nHost:"));
    let chunked = request_bytes(CASES.iter().find(|c| c.id == "trailer-ok").expect("trailer-ok"), "t");
    assert!(chunked.ends_with(b"1\r\nx\r\n0\r\nX-Sum: 1\r\n\r\n"));
}
