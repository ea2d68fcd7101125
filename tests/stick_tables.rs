//! Stick tables with counters (issue #18), end to end: the real binary, real backends, clients
//! bound to different 127.0.0.x sources. HAProxy's rate-limit recipe (`track-sc0 src`, then
//! `deny deny_status 429 if { sc_http_req_rate(0) gt N }`) answers 429 to the noisy source only;
//! `conn_cur` limits concurrent connections per source in mode tcp and frees the slot when one
//! closes; a full table evicts its least recently used entry; counters survive a reload.

mod harness;

use harness::backends::NamedEcho;
use harness::differential_haproxy::listening;
use harness::http_backend::HttpBackend;
use harness::process::{free_port, wait_until, Appliance, TempDir};
use harness::stats::frontend_column;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

fn at(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn connect_from(src: Ipv4Addr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    let s = harness::relay::connect_from(src, dst)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

/// The first line a `NamedEcho` backend sends (its name), read byte by byte so that nothing
/// after it is consumed; `None` if the connection ends first.
fn greeting(s: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\n") {
        match s.read(&mut b) {
            Ok(1) => got.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&got).trim_end().to_string())
}

/// The status of one `GET /` from `src` on a connection of its own (0 if none came back).
fn get_status(src: Ipv4Addr, dst: SocketAddr) -> u16 {
    let Ok(mut s) = connect_from(src, dst) else { return 0 };
    if s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").is_err() {
        return 0;
    }
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn start(dir: &TempDir, config: String, ports: &[u16]) -> Appliance {
    let path = dir.file("h.ron");
    std::fs::write(&path, config).expect("write config");
    let mut hk = Appliance::start(&path, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || ports.iter().all(|p| listening(*p))), "not listening:\n{}", hk.log_text());
    hk
}

const NOISY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const QUIET: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

#[test]
fn http_req_rate_over_the_limit_gets_429_for_that_source_only() {
    let dir = TempDir::new("stick-rate");
    let web = HttpBackend::start("web");
    let (port, stats) = (free_port(), free_port());
    let ctl = dir.file("ctl.sock");
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody", ctl_socket: "{}"),
  defaults: (mode: http, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [(name: "fe", bind: ["127.0.0.1:{port}"], default_backend: "web",
    stick_table: (key: ip, size: 1000, expire: "30s", store: ["http_req_rate(10s)", "http_err_cnt", "bytes_out_cnt"]),
    http_request: ["track-sc0 src", "deny deny_status 429 if {{ sc_http_req_rate(0) gt 5 }}"])],
  backend: [(name: "web", servers: [(name: "w", addr: "{}")])],
  stats: (bind: "127.0.0.1:{stats}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            ctl.display(),
            web.addr
        ),
        &[port, stats],
    );
    let noisy: Vec<u16> = (0..8).map(|_| get_status(NOISY, at(port))).collect();
    assert_eq!(noisy, [200, 200, 200, 200, 200, 429, 429, 429], "{}", hk.log_text());
    assert_eq!(get_status(QUIET, at(port)), 200, "another source is served");
    assert_eq!(web.accepted(), 6, "denied requests never reach the server");

    // The runtime view, as HAProxy's `show table`, and `clear table … key` lets the source in.
    let ctl_cmd = |args: &[&str]| {
        let socket = ctl.display().to_string();
        let mut all = vec!["ctl", "--socket", socket.as_str()];
        all.extend_from_slice(args);
        let (code, out, err) = harness::process::run_cli(&all, Duration::from_secs(10));
        assert_eq!(code, 0, "ctl {args:?}: {out}{err}");
        out
    };
    let summary = ctl_cmd(&["show", "table"]);
    assert!(summary.contains("# table: fe, type: ip, size:1000, used:2"), "{summary}");
    // The stats page shows the table the same way (no peers section: `-`).
    let page = harness::stats::http(at(stats), "GET", "/admin", Some(harness::stats::MLDN), None).expect("stats page").body;
    assert!(
        page.contains("<tr data-table=\"fe\" data-used=\"2\"><td class=\"name\">fe</td><td class=\"name\">ip</td><td>1000</td><td>2</td>")
            && page.contains("<td class=\"name\">-</td></tr>"),
        "{page}"
    );
    let shown = ctl_cmd(&["show", "table", "fe", "data.http_req_rate", "gt", "5"]);
    assert!(shown.contains("key=127.0.0.2 use=0 exp=") && shown.contains("http_req_rate(10000)=8"), "{shown}");
    assert!(shown.contains("http_err_cnt=3"), "the three 429s are the client's errors: {shown}");
    assert!(!shown.contains("bytes_out_cnt=0"), "answers are counted: {shown}");
    assert!(!shown.contains("127.0.0.3"), "the filter keeps the quiet source out: {shown}");
    let json = ctl_cmd(&["--json", "show", "table", "fe"]);
    assert!(json.contains("\"key\": \"127.0.0.3\""), "{json}");
    ctl_cmd(&["clear", "table", "fe", "key", "127.0.0.2"]);
    assert_eq!(get_status(NOISY, at(port)), 200, "a cleared entry starts afresh");
    ctl_cmd(&["set", "table", "fe", "key", "127.0.0.2", "data.http_req_rate", "50"]);
    assert_eq!(get_status(NOISY, at(port)), 429, "set table raised the rate");

    // On one keep-alive connection too: each request counts.
    let mut s = connect_from(Ipv4Addr::new(127, 0, 0, 4), at(port)).expect("connect");
    let mut statuses = Vec::new();
    for _ in 0..7 {
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").expect("write");
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut b).expect("read"), 1, "closed after {statuses:?}");
            head.push(b[0]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let len: usize = text
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).expect("body");
        statuses.push(text.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0));
        if statuses.last() == Some(&429) {
            break;
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);

    // The bulk path, as HAProxy's stats socket takes `;`-separated commands: one line, answered
    // in order; a non-table command refuses the whole line.
    let mut batch: Vec<String> = (10..40).map(|i| format!("set table fe key 127.0.1.{i} data.http_req_rate 1")).collect();
    // A key alone creates its entry, as HAProxy's `set table T key K` does.
    batch.push("set table fe key 127.0.1.99".into());
    let out = ctl_cmd(&[batch.join("; ").as_str()]);
    assert_eq!(out.lines().filter(|l| l.contains(" set")).count(), 31, "{out}");
    let summary = ctl_cmd(&["show", "table"]);
    assert!(summary.contains("# table: fe, type: ip, size:1000, used:34"), "{summary}");
    let socket = ctl.display().to_string();
    let (code, _, err) =
        harness::process::run_cli(&["ctl", "--socket", &socket, "show table fe; disable server web/w"], Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only `show table`, `clear table` and `set table` can be joined"), "{err}");
    assert_eq!(get_status(QUIET, at(port)), 200, "the server was not disabled");
}

#[test]
fn conn_cur_limits_concurrent_connections_per_source_in_tcp_mode() {
    let dir = TempDir::new("stick-conncur");
    let db = NamedEcho::start("db");
    let port = free_port();
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "db", bind: ["127.0.0.1:{port}"],
    stick_table: (key: ip, size: 100, expire: "30s", store: ["conn_cur"]),
    tcp_request_connection: ["track-sc0 src", "reject if {{ sc_conn_cur(0) gt 2 }}"],
    servers: [(name: "d", addr: "{}")])],
)"#,
            db.addr
        ),
        &[port],
    );
    let mut first = connect_from(NOISY, at(port)).expect("connect");
    let mut second = connect_from(NOISY, at(port)).expect("connect");
    assert_eq!(greeting(&mut first).as_deref(), Some("db"));
    assert_eq!(greeting(&mut second).as_deref(), Some("db"));
    let mut third = connect_from(NOISY, at(port)).expect("connect");
    assert_eq!(greeting(&mut third), None, "a third concurrent connection from one source is rejected\n{}", hk.log_text());
    let mut other = connect_from(QUIET, at(port)).expect("connect");
    assert_eq!(greeting(&mut other).as_deref(), Some("db"), "another source is not limited");
    assert_eq!(db.accepted(), 3);
    // One closes: the source may connect again.
    drop(first);
    assert!(
        wait_until(Duration::from_secs(5), || {
            connect_from(NOISY, at(port)).ok().and_then(|mut s| greeting(&mut s)).as_deref() == Some("db")
        }),
        "the slot of a closed connection was not given back\n{}",
        hk.log_text()
    );
    drop(second);
}

/// `stick on src` in mode tcp, on a table (shareable with peers): each source stays on the
/// server its first connection got, where round-robin alone would rotate it over the three.
#[test]
fn stick_on_src_in_tcp_mode_keeps_each_source_on_its_server() {
    let dir = TempDir::new("stick-tcp-src");
    let servers = [NamedEcho::start("s1"), NamedEcho::start("s2"), NamedEcho::start("s3")];
    let port = free_port();
    let list: Vec<String> = servers.iter().map(|b| format!("(name: \"{}\", addr: \"{}\")", b.name, b.addr)).collect();
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: tcp, timeout: (connect: "1s", client: "10s", server: "10s")),
  listen: [(name: "db", bind: ["127.0.0.1:{port}"], balance: roundrobin,
    stick_table: (key: ip, size: 100, expire: "30s"),
    stick_rules: ["on src"],
    servers: [{}])],
)"#,
            list.join(", ")
        ),
        &[port],
    );
    let greeting_from = |src: Ipv4Addr| connect_from(src, at(port)).ok().and_then(|mut s| greeting(&mut s));
    let sources: Vec<Ipv4Addr> = (2..6).map(|k| Ipv4Addr::new(127, 0, 0, k)).collect();
    let mut seen: Vec<std::collections::BTreeSet<String>> = vec![Default::default(); sources.len()];
    for _ in 0..6 {
        for (i, src) in sources.iter().enumerate() {
            let got = greeting_from(*src).unwrap_or_else(|| panic!("no greeting for {src}\n{}", hk.log_text()));
            seen[i].insert(got);
        }
    }
    for (src, servers) in sources.iter().zip(&seen) {
        assert_eq!(servers.len(), 1, "{src} reached {servers:?}: not stuck\n{}", hk.log_text());
    }
    let used: std::collections::BTreeSet<&String> = seen.iter().flatten().collect();
    assert!(used.len() >= 2, "the first connections were not balanced: {used:?}");
    assert_eq!(servers.iter().map(|b| b.accepted()).sum::<usize>(), 24);
}

#[test]
fn a_full_table_evicts_its_least_recently_used_entry() {
    let dir = TempDir::new("stick-evict");
    let web = HttpBackend::start("web");
    let (port, stats) = (free_port(), free_port());
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "1s", client: "5s", server: "5s")),
  stats: (bind: "127.0.0.1:{stats}", uri: "/admin", auth: [("mldn", "java")]),
  listen: [(name: "web", bind: ["127.0.0.1:{port}"],
    stick_table: (key: ip, size: 2, expire: "1m", store: ["http_req_cnt"]),
    http_request: ["track-sc0 src", "deny deny_status 429 if {{ sc_http_req_cnt(0) gt 1 }}"],
    servers: [(name: "w", addr: "{}")])],
)"#,
            web.addr
        ),
        &[port, stats],
    );
    let (a, b, c) = (Ipv4Addr::new(127, 0, 0, 11), Ipv4Addr::new(127, 0, 0, 12), Ipv4Addr::new(127, 0, 0, 13));
    // An entry a connection still tracks is never evicted (as in HAProxy): each request waits
    // for the previous connection to be gone from the worker, not only from the client.
    let get = |src: Ipv4Addr| {
        assert!(wait_until(Duration::from_secs(5), || frontend_column(at(stats), "web", "scur") == 0), "{}", hk.log_text());
        get_status(src, at(port))
    };
    // A second request from a source the table remembers is denied.
    assert_eq!(get(a), 200);
    assert_eq!(get(b), 200);
    assert_eq!(get(a), 429, "{}", hk.log_text());
    // C needs room: B, the least recently used, goes; A stays.
    assert_eq!(get(c), 200);
    assert_eq!(get(b), 200, "B was evicted: it starts afresh");
    // B needed room in turn: A was then the least recently used.
    assert_eq!(get(c), 429, "C was kept");
    // `/metrics` shows the table's usage with the names of HAProxy's exporter.
    let metrics = harness::stats::http(at(stats), "GET", "/metrics", Some(harness::stats::MLDN), None).expect("metrics").body;
    assert!(metrics.contains("haproxy_sticktable_size{name=\"web\"} 2\n"), "{metrics}");
    assert!(metrics.contains("haproxy_sticktable_used{name=\"web\"} 2\n"), "{metrics}");
}

#[test]
fn counters_survive_a_reload() {
    let dir = TempDir::new("stick-reload");
    let web = HttpBackend::start("web");
    let port = free_port();
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [(name: "fe", bind: ["127.0.0.1:{port}"], default_backend: "web",
    stick_table: (key: ip, size: 1000, expire: "1m", store: ["http_req_cnt", "gpc0"]),
    http_request: ["track-sc0 src", "deny deny_status 429 if {{ sc_http_req_cnt(0) gt 3 }}"])],
  backend: [(name: "web", servers: [(name: "w", addr: "{}")])],
)"#,
            web.addr
        ),
        &[port],
    );
    let before: Vec<u16> = (0..3).map(|_| get_status(NOISY, at(port))).collect();
    assert_eq!(before, [200, 200, 200]);
    harness::process::signal(hk.pid, nix::sys::signal::Signal::SIGHUP);
    assert!(
        hk.wait_for_log("adopted 1 of 1 entries of stick table fe", Duration::from_secs(10)),
        "the new worker did not take the table over:\n{}",
        hk.log_text()
    );
    // The count went on from 3: the fourth request is the limit's first victim.
    assert_eq!(get_status(NOISY, at(port)), 429, "{}", hk.log_text());
    assert_eq!(get_status(QUIET, at(port)), 200);
}

/// The stats page's stick table section names the `peers` section a table is shared with.
#[test]
fn the_stats_page_names_the_peers_section_of_a_table() {
    let dir = TempDir::new("stick-page-peers");
    let web = HttpBackend::start("web");
    // The other peer never answers: a port that refuses connections and that no test can take.
    let (port, stats, me, other) = (free_port(), free_port(), free_port(), harness::process::refused_port());
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody", localpeer: "me"),
  defaults: (mode: http, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [(name: "fe", bind: ["127.0.0.1:{port}"], default_backend: "web",
    stick_table: (key: ip, size: 500, expire: "30s", peers: "lb", store: ["http_req_cnt"]),
    http_request: ["track-sc0 src"])],
  backend: [(name: "web", servers: [(name: "w", addr: "{}")])],
  peers: [(name: "lb", peers: [(name: "me", addr: "127.0.0.1:{me}"), (name: "other", addr: "127.0.0.1:{other}")])],
  stats: (bind: "127.0.0.1:{stats}", uri: "/admin", auth: [("mldn", "java")]),
)"#,
            web.addr
        ),
        &[port, stats],
    );
    assert_eq!(get_status(NOISY, at(port)), 200, "{}", hk.log_text());
    let page = harness::stats::http(at(stats), "GET", "/admin", Some(harness::stats::MLDN), None).expect("stats page").body;
    assert!(
        page.contains(
            "<tr data-table=\"fe\" data-used=\"1\"><td class=\"name\">fe</td><td class=\"name\">ip</td><td>500</td><td>1</td>\
<td>0</td><td class=\"name\">lb</td></tr>"
        ),
        "{page}"
    );
}

/// The `server=` line of the answer to `GET /` with `cookie` (if any), on its own connection.
fn served_by(dst: SocketAddr, cookie: Option<&str>) -> String {
    let Ok(mut s) = connect_from(Ipv4Addr::new(127, 0, 0, 1), dst) else { return String::new() };
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    if s.write_all(format!("GET / HTTP/1.1\r\nHost: t\r\n{cookie}Connection: close\r\n\r\n").as_bytes()).is_err() {
        return String::new();
    }
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).lines().find_map(|l| l.strip_prefix("server=")).unwrap_or("").to_string()
}

#[test]
fn stick_on_a_session_cookie_keeps_each_session_on_its_server() {
    let dir = TempDir::new("stick-cookie");
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let port = free_port();
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "1s", client: "5s", server: "5s")),
  listen: [(name: "app", bind: ["127.0.0.1:{port}"], balance: roundrobin,
    stick_table: (key: string, len: 32, size: 1000, expire: "30m"),
    stick_rules: ["on req.cook(JSESSIONID)"],
    servers: [(name: "a", addr: "{}"), (name: "b", addr: "{}")])],
)"#,
            a.addr, b.addr
        ),
        &[port],
    );
    // Without the cookie, round robin alternates.
    let free: Vec<String> = (0..4).map(|_| served_by(at(port), None)).collect();
    assert!(free.iter().any(|s| s == "a") && free.iter().any(|s| s == "b"), "{free:?}\n{}", hk.log_text());
    // Each session id sticks to the server that first answered it, whatever the balancer says.
    let sessions: Vec<(String, String)> =
        (0..6).map(|i| format!("JSESSIONID=s{i}; theme=dark")).map(|c| (c.clone(), served_by(at(port), Some(&c)))).collect();
    assert!(sessions.iter().any(|(_, s)| s == "a") && sessions.iter().any(|(_, s)| s == "b"), "{sessions:?}");
    for _ in 0..3 {
        // A request without the cookie moves round robin on by one: without stickiness each
        // session would now land on the other server.
        served_by(at(port), None);
        for (cookie, server) in &sessions {
            assert_eq!(&served_by(at(port), Some(cookie)), server, "{cookie} moved\n{}", hk.log_text());
        }
    }
}

/// The `server=` line of the answer to `GET path` with `cookie`, on its own connection.
fn served_path(dst: SocketAddr, path: &str, cookie: &str) -> String {
    let Ok(mut s) = connect_from(Ipv4Addr::new(127, 0, 0, 1), dst) else { return String::new() };
    if s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n").as_bytes()).is_err() {
        return String::new();
    }
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).lines().find_map(|l| l.strip_prefix("server=")).unwrap_or("").to_string()
}

/// `stick on KEY unless COND` (HAProxy evaluates a stick rule's condition on the request, for
/// the match and the store): HAProxy 2.6 and the imported hakeeper keep a session on its
/// server for the paths the condition lets through, balance the others and store nothing
/// for them.
#[test]
fn a_condition_on_stick_on_limits_it_to_matching_requests_as_in_haproxy() {
    let Some(haproxy) = harness::differential_haproxy::binary("a_condition_on_stick_on_limits_it_to_matching_requests_as_in_haproxy")
    else {
        return;
    };
    let dir = TempDir::new("stick-cond");
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let cfg = |port: u16, global: &str| {
        format!(
            "global\n{global}defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
             listen app\n  bind 127.0.0.1:{port}\n  balance roundrobin\n  acl static path_beg /static\n\
             \x20 stick-table type string len 32 size 1k expire 30m\n  stick on req.cook(SID) unless static\n\
             \x20 server a {}\n  server b {}\n",
            a.addr, b.addr
        )
    };
    let (hp, kp) = (free_port(), free_port());
    let ha_sock = dir.file("haproxy.sock");
    std::fs::write(dir.file("haproxy.cfg"), cfg(hp, &format!("  stats socket {} level admin\n", ha_sock.display()))).expect("write");
    std::fs::write(dir.file("import.cfg"), cfg(kp, "")).expect("write");
    let ron = dir.file("h.ron");
    let (code, out, err) = harness::process::run_cli(
        &["import", "--haproxy", &dir.file("import.cfg").display().to_string(), "-o", &ron.display().to_string()],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "import: {out}{err}");
    let ctl = dir.file("ctl.sock");
    let text = std::fs::read_to_string(&ron).expect("read");
    assert!(text.contains("on req.cook(SID) unless static"), "{text}");
    // The cfg's global section is empty: the import writes none.
    assert!(!text.contains("global:") && text.contains("\n(\n"), "{text}");
    std::fs::write(&ron, text.replacen("\n(\n", &format!("\n(\n  global: (ctl_socket: \"{}\"),\n", ctl.display()), 1)).expect("write");
    let mut ha = harness::differential_haproxy::Haproxy::start(&haproxy, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let mut hk = Appliance::start(&ron, &dir.file("h.log"));
    hk.wait_for_children(&["worker"], Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(10), || listening(hp) && listening(kp)), "{}\n{}", ha.log_text(), hk.log_text());
    assert!(!ha.exited(), "{}", ha.log_text());
    let run = |port: u16| {
        let sticky: Vec<String> = (0..5).map(|_| served_path(at(port), "/app", "SID=s1")).collect();
        let fresh: Vec<String> = (0..4).map(|_| served_path(at(port), "/static/logo.png", "SID=s2")).collect();
        (sticky, fresh)
    };
    for (name, port) in [("HAProxy", hp), ("hakeeper", kp)] {
        let (sticky, fresh) = run(port);
        assert!(sticky.iter().all(|s| s == &sticky[0] && !s.is_empty()), "{name}: /app stays on one server: {sticky:?}");
        assert!(fresh.iter().any(|s| s == "a") && fresh.iter().any(|s| s == "b"), "{name}: /static is balanced: {fresh:?}");
    }
    // Only the sticky session was stored, in both.
    let mut s = std::os::unix::net::UnixStream::connect(&ha_sock).expect("haproxy stats socket");
    s.write_all(b"show table\n").expect("write");
    let mut by_haproxy = String::new();
    let _ = s.read_to_string(&mut by_haproxy);
    assert!(by_haproxy.contains("# table: app, type: string, size:1024, used:1"), "{by_haproxy}");
    let socket = ctl.display().to_string();
    let (code, shown, err) = harness::process::run_cli(&["ctl", "--socket", &socket, "show", "table", "app"], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    assert!(shown.contains("# table: app, type: string, size:1024, used:1") && shown.contains("key=s1 "), "{shown}");
}

/// HAProxy's rate-limit recipe, as written in haproxy.cfg, run by HAProxy 2.6 and by hakeeper
/// on the file `hakeeper import` makes of it: the same answers for the same clients.
#[test]
fn haproxy_and_imported_hakeeper_rate_limit_alike() {
    let Some(haproxy) = harness::differential_haproxy::binary("haproxy_and_imported_hakeeper_rate_limit_alike") else { return };
    let dir = TempDir::new("stick-side");
    let web = HttpBackend::start("web");
    let cfg = |port: u16| {
        format!(
            "global\n  user nobody\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  stick-table type ip size 100k expire 30s store http_req_rate(10s),http_req_cnt\n\
             \x20 http-request track-sc0 src\n  http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt 5 }}\n\
             \x20 http-request deny deny_status 403 if {{ src_http_req_cnt gt 9 }}\n  default_backend web\n\
             backend web\n  server w {}\n",
            web.addr
        )
    };
    let (hp, kp) = (free_port(), free_port());
    std::fs::write(dir.file("haproxy.cfg"), cfg(hp)).expect("write");
    std::fs::write(dir.file("import.cfg"), cfg(kp)).expect("write");
    let ron = dir.file("h.ron");
    let (code, out, err) = harness::process::run_cli(
        &["import", "--haproxy", &dir.file("import.cfg").display().to_string(), "-o", &ron.display().to_string()],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "import: {out}{err}");
    let mut ha = harness::differential_haproxy::Haproxy::start(&haproxy, &dir.file("haproxy.cfg"), &dir.file("haproxy.log"));
    let hk = Appliance::start(&ron, &dir.file("h.log"));
    assert!(wait_until(Duration::from_secs(10), || listening(hp) && listening(kp)), "{}\n{}", ha.log_text(), hk.log_text());
    assert!(!ha.exited(), "{}", ha.log_text());
    let run = |port: u16| {
        let mut seen: Vec<u16> = (0..11).map(|_| get_status(NOISY, at(port))).collect();
        seen.push(get_status(QUIET, at(port)));
        seen
    };
    let (by_haproxy, by_hakeeper) = (run(hp), run(kp));
    assert_eq!(by_hakeeper, by_haproxy, "hakeeper (left) and HAProxy 2.6 (right)\n{}", hk.log_text());
    assert_eq!(by_haproxy[..6], [200, 200, 200, 200, 200, 429], "the recipe limits at all");
}

/// HAProxy's "mark the abuser" recipe: `sc-inc-gpc0` on a sensitive path, `deny` once the
/// mark passes a bound, read back by `src_get_gpc0` in another proxy's table, and `sc-set-gpt0`.
#[test]
fn gpc0_marks_an_abuser_for_other_rules_and_tables() {
    let dir = TempDir::new("stick-gpc0");
    let web = HttpBackend::start("web");
    let port = free_port();
    let hk = start(
        &dir,
        format!(
            r#"(
  global: (user: "nobody"),
  defaults: (mode: http, timeout: (connect: "1s", client: "5s", server: "5s")),
  frontend: [(name: "fe", bind: ["127.0.0.1:{port}"], default_backend: "web",
    http_request: ["track-sc1 src table marks",
                   "sc-inc-gpc0(1) if {{ path_beg /login }}",
                   "sc-set-gpt0(1) 7 if {{ path_beg /login }}",
                   "deny deny_status 403 if {{ src_get_gpc0(marks) gt 2 }}",
                   "deny deny_status 429 if {{ sc1_get_gpt0 eq 7 }} {{ path_beg /api }}"])],
  backend: [(name: "web", servers: [(name: "w", addr: "{}")]),
            (name: "marks", stick_table: (key: ip, size: 100, expire: "1m", store: ["gpc0", "gpt0"]))],
)"#,
            web.addr
        ),
        &[port],
    );
    let get = |src: Ipv4Addr, path: &str| {
        let Ok(mut s) = connect_from(src, at(port)) else { return 0 };
        let _ = s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes());
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        String::from_utf8_lossy(&got).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    };
    assert_eq!(get(QUIET, "/api"), 200);
    let logins: Vec<u16> = (0..4).map(|_| get(NOISY, "/login")).collect();
    assert_eq!(logins, [200, 200, 403, 403], "the third login marks gpc0 past 2\n{}", hk.log_text());
    assert_eq!(get(NOISY, "/"), 403, "marked: every path is denied");
    assert_eq!(get(QUIET, "/api"), 200, "the other source is not marked");
    let once = Ipv4Addr::new(127, 0, 0, 5);
    assert_eq!(get(once, "/login"), 200);
    assert_eq!(get(once, "/api"), 429, "gpt0 was set to 7 by the login");
}
