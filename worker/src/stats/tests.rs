//! The stats page served for real on loopback: authentication, the outputs, admin actions, and
//! the worker's side of `hakeeper ctl`.

use super::csv::COLUMNS;
use super::testing::{http, worker_config, Page, MLDN, OPS};
use crate::shared::lock;
use hakeeper_common::ctl::{CtlReply, CtlRequest, VrrpView};
use hakeeper_common::ipc::{AdminState, FromWorker, VrrpState};
use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `data-server="NAME" data-status="STATUS"` pairs in the page, in order.
fn server_states(html: &str) -> Vec<(String, String)> {
    html.split("data-server=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let status = rest.split_once("data-status=\"")?.1.split_once('"')?.0;
            Some((name.to_string(), status.to_string()))
        })
        .collect()
}

#[test]
fn no_credentials_get_401_with_the_realm() {
    let page = Page::start(worker_config(true));
    let r = http(page.addr, "GET", "/admin", None, None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"Haproxy Statistics\""));
    assert!(!r.body.contains("server_1"), "nothing leaks before authentication");
    for path in ["/admin;csv", "/admin;json", "/metrics"] {
        assert_eq!(http(page.addr, "GET", path, None, None).status, 401, "{path}");
    }
}

#[test]
fn wrong_credentials_get_401() {
    let page = Page::start(worker_config(true));
    // mldn:wrong, and mldn's password for ops.
    for auth in ["bWxkbjp3cm9uZw==", "b3BzOmphdmE="] {
        let r = http(page.addr, "GET", "/admin", Some(auth), None);
        assert_eq!(r.status, 401, "{auth}");
        assert!(r.header("WWW-Authenticate").is_some_and(|v| v.starts_with("Basic realm=")));
    }
}

#[test]
fn right_credentials_of_each_user_get_the_page() {
    let page = Page::start(worker_config(true));
    for auth in [MLDN, OPS] {
        let r = http(page.addr, "GET", "/admin", Some(auth), None);
        assert_eq!(r.status, 200, "{auth}");
        assert_eq!(r.header("Refresh"), Some("30"));
        assert!(r.header("Content-Type").is_some_and(|v| v.starts_with("text/html")));
        assert_eq!(r.header("Server"), Some("hakeeper"), "hide_version leaves the version out");
        assert!(!r.body.contains(&format!("hakeeper {}", super::VERSION)), "no version in the page");
    }
    assert_eq!(http(page.addr, "GET", "/admin;norefresh", Some(MLDN), None).header("Refresh"), None);
    assert_eq!(http(page.addr, "GET", "/elsewhere", Some(MLDN), None).status, 404);
}

#[test]
fn html_shows_every_configured_server_with_its_state() {
    let page = Page::start(worker_config(false));
    page.shared.stats.backends[0].servers[1].up.store(false, Relaxed);
    let r = http(page.addr, "GET", "/admin", Some(MLDN), None);
    assert_eq!(r.status, 200);
    let states = server_states(&r.body);
    let expected: Vec<(String, String)> = [("server_1", "UP"), ("server_2", "DOWN"), ("server_3", "UP"), ("o1", "UP")]
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(states, expected);
    assert!(r.body.contains("data-proxy=\"proxy_status\"") && r.body.contains("data-proxy=\"other\""), "one table per proxy");
    assert!(r.body.contains("<tr class=\"down\""), "DOWN rows are coloured");
    assert!(!r.body.contains("<form"), "no admin form when admin is off");
    assert_eq!(http(page.addr, "POST", "/admin", Some(MLDN), Some("b=other&s=o1&action=maint")).status, 403);
}

#[test]
fn csv_has_haproxy_columns_and_rows() {
    let page = Page::start(worker_config(true));
    let r = http(page.addr, "GET", "/admin;csv", Some(MLDN), None);
    assert_eq!(r.status, 200);
    let mut lines = r.body.lines();
    let header = lines.next().expect("header");
    assert!(header.starts_with(
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,"
    ));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for row in &rows {
        assert_eq!(row.len(), COLUMNS.len() + 1, "every row has every column and a trailing comma: {row:?}");
    }
    let find = |px: &str, sv: &str| rows.iter().find(|r| r[0] == px && r[1] == sv).unwrap_or_else(|| panic!("{px}/{sv} in {rows:?}"));
    assert_eq!(find("proxy_status", "FRONTEND")[17], "OPEN");
    assert_eq!(find("proxy_status", "FRONTEND")[32], "0");
    assert_eq!(find("proxy_status", "server_1")[17], "UP");
    assert_eq!(find("proxy_status", "server_1")[32], "2");
    assert_eq!(find("proxy_status", "server_1")[28], "1", "sid");
    assert_eq!(find("proxy_status", "BACKEND")[17], "UP");
    assert_eq!(find("proxy_status", "BACKEND")[19], "3", "act");
    assert_eq!(find("proxy_status", "BACKEND")[32], "1");
    assert_eq!(find("proxy_status", "FRONTEND")[27], find("proxy_status", "BACKEND")[27], "a listen's halves share the iid");
}

/// Checks Prometheus text exposition format 0.0.4: comment and sample syntax, names, label
/// escapes, values, one TYPE per family before its samples, families contiguous, no duplicate
/// series. Returns the number of samples.
fn validate_prometheus(text: &str) -> Result<usize, String> {
    fn name_ok(n: &str, colon: bool) -> bool {
        let mut chars = n.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }
    let mut typed: Vec<String> = Vec::new();
    let mut seen_series = HashSet::new();
    let mut current: Option<String> = None;
    let mut finished: HashSet<String> = HashSet::new();
    let mut samples = 0;
    for (i, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line:?}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), _) if name_ok(name, true) => {}
                (Some("TYPE"), Some(name), Some(kind)) if name_ok(name, true) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at("unknown type"));
                    }
                    if typed.iter().any(|t| t == name) {
                        return Err(at("second TYPE for a family"));
                    }
                    typed.push(name.to_string());
                }
                (Some("HELP" | "TYPE"), _, _) => return Err(at("malformed HELP/TYPE")),
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value"))?;
        let name = &line[..name_end];
        if !name_ok(name, true) {
            return Err(at("bad metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = String::new();
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let mut end = None;
            loop {
                // label name
                let start = chars.peek().map(|(i, _)| *i).ok_or_else(|| at("unterminated labels"))?;
                if body[start..].starts_with('}') {
                    end = Some(start);
                    break;
                }
                let eq = body[start..].find('=').ok_or_else(|| at("label without ="))? + start;
                if !name_ok(&body[start..eq], false) {
                    return Err(at("bad label name"));
                }
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(at("label value not quoted"));
                }
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\' | '"' | 'n')) => {}
                            _ => return Err(at("bad escape in label value")),
                        },
                        Some((_, '"')) => break,
                        Some((_, '\n')) | None => return Err(at("unterminated label value")),
                        Some(_) => {}
                    }
                }
                match chars.peek() {
                    Some((_, ',')) => {
                        chars.next();
                    }
                    Some((i, '}')) => {
                        end = Some(*i);
                        break;
                    }
                    _ => return Err(at("expected , or } after a label")),
                }
                if end.is_some() {
                    break;
                }
            }
            let end = end.ok_or_else(|| at("unterminated labels"))?;
            labels = body[..end].to_string();
            rest = &body[end + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| at("no value"))?;
        if value.parse::<f64>().is_err() && !["NaN", "+Inf", "-Inf"].contains(&value) {
            return Err(at("value is not a number"));
        }
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| at("bad timestamp"))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing text"));
        }
        if !typed.iter().any(|t| t == name) {
            return Err(at("sample before its TYPE"));
        }
        if current.as_deref() != Some(name) {
            if finished.contains(name) {
                return Err(at("family not contiguous"));
            }
            if let Some(prev) = current.replace(name.to_string()) {
                finished.insert(prev);
            }
        }
        if !seen_series.insert(format!("{name}{{{labels}}}")) {
            return Err(at("duplicate series"));
        }
        samples += 1;
    }
    Ok(samples)
}

#[test]
fn the_validator_rejects_broken_exposition_text() {
    assert_eq!(validate_prometheus("# TYPE a gauge\na 1\na{x=\"y\"} 2\n"), Ok(2));
    for bad in [
        "a 1\n",
        "# TYPE a gauge\na one\n",
        "# TYPE a gauge\na{x=y} 1\n",
        "# TYPE a gauge\na{x=\"y} 1\n",
        "# TYPE a gauge\na 1\na 2\n",
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 1\n",
        "# TYPE 1a gauge\n1a 1\n",
        "# TYPE a gauges\na 1\n",
        "# TYPE a gauge\na{x=\"\\q\"} 1\n",
    ] {
        assert!(validate_prometheus(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn metrics_parse_as_prometheus_text() {
    let page = Page::start(worker_config(true));
    page.shared.stats_hub.set_vrrp(vec![VrrpView {
        name: "VI_\"1\"".into(),
        interface: "eth1".into(),
        vrid: 35,
        state: VrrpState::Master,
        priority: 122,
        base_priority: 120,
        vips: vec!["10.0.0.5/32".into()],
    }]);
    let r = http(page.addr, "GET", "/metrics", Some(MLDN), None);
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Type").is_some_and(|v| v.starts_with("text/plain; version=0.0.4")));
    let samples = validate_prometheus(&r.body).unwrap_or_else(|e| panic!("{e}\n{}", r.body));
    assert!(samples > 50, "{samples} samples");
    assert!(r.body.contains("haproxy_server_status{proxy=\"proxy_status\",server=\"server_1\",state=\"UP\"} 1"));
    assert!(r.body.contains("hakeeper_vrrp_effective_priority{instance=\"VI_\\\"1\\\"\",interface=\"eth1\",vrid=\"35\"} 122"));
}

#[test]
fn json_is_haproxy_typed_stats() {
    let page = Page::start(worker_config(true));
    let r = http(page.addr, "GET", "/admin;json", Some(MLDN), None);
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("valid JSON");
    let rows = v.as_array().expect("array of rows");
    assert_eq!(rows.len(), 1 + 4 + 2, "FRONTEND, 4 servers, 2 BACKENDs");
    let first = &rows[0][0];
    assert_eq!(first["field"]["name"], "pxname");
    assert_eq!(first["value"]["value"], "proxy_status");
    assert_eq!(first["objType"], "Frontend");
}

#[test]
fn admin_post_sets_maint_and_ready_and_reports_it() {
    let page = Page::start(worker_config(true));
    let server = &page.shared.stats.backends[0].servers[1];
    let r = http(page.addr, "POST", "/admin", Some(MLDN), Some("b=proxy_status&s=server_2&action=maint"));
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("/admin;st=DONE"));
    assert_eq!(server.admin_state(), AdminState::Maint, "applied before the answer");
    let html = http(page.addr, "GET", "/admin;st=DONE", Some(MLDN), None).body;
    assert!(server_states(&html).contains(&("server_2".into(), "MAINT".into())));
    assert!(html.contains("id=\"admin-status\" data-status=\"DONE\""));
    assert!(html.contains("<form method=\"post\" action=\"/admin\""), "admin form shown");
    wait_for("the MAINT report", || {
        lock(&page.reports).iter().any(|m| {
            *m == FromWorker::AdminChanged {
                backend: "proxy_status".into(),
                server: "server_2".into(),
                state: AdminState::Maint,
                weight: None,
            }
        })
    });
    // The same again changes nothing.
    let r = http(page.addr, "POST", "/admin", Some(MLDN), Some("b=proxy_status&s=server_2&action=maint"));
    assert_eq!(r.header("Location"), Some("/admin;st=NONE"));
    let r = http(page.addr, "POST", "/admin", Some(OPS), Some("b=proxy_status&s=server_2&s=server_3&action=ready"));
    assert_eq!(r.header("Location"), Some("/admin;st=DONE"));
    assert_eq!(server.admin_state(), AdminState::Ready);
    let r = http(page.addr, "POST", "/admin", Some(MLDN), Some("b=proxy_status&s=server_3&action=weight&weight=5"));
    assert_eq!(r.header("Location"), Some("/admin;st=DONE"));
    assert_eq!(page.shared.stats.backends[0].servers[2].weight.load(Relaxed), 5);
    wait_for("the weight report", || {
        lock(&page.reports).iter().any(|m| {
            *m == FromWorker::AdminChanged {
                backend: "proxy_status".into(),
                server: "server_3".into(),
                state: AdminState::Ready,
                weight: Some(5),
            }
        })
    });
    let r = http(page.addr, "POST", "/admin", Some(MLDN), Some("b=proxy_status&s=nosuch&action=maint"));
    assert_eq!(r.header("Location"), Some("/admin;st=ERRP"));
    let r = http(page.addr, "POST", "/admin", Some(MLDN), Some("b=proxy_status&s=server_1&action=explode"));
    assert_eq!(r.header("Location"), Some("/admin;st=ERRP"));
}

#[test]
fn unauthenticated_post_changes_nothing() {
    let page = Page::start(worker_config(true));
    for auth in [None, Some("bWxkbjp3cm9uZw==")] {
        let r = http(page.addr, "POST", "/admin", auth, Some("b=proxy_status&s=server_1&action=maint"));
        assert_eq!(r.status, 401);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(page.shared.stats.backends[0].servers[0].admin_state(), AdminState::Ready);
    assert!(lock(&page.reports).is_empty(), "nothing reported: {:?}", lock(&page.reports));
}

#[test]
fn ctl_commands_are_answered_on_the_channel() {
    let page = Page::start(worker_config(true));
    let ask = |id: u64, line: &str| {
        page.ctl(id, CtlRequest::parse(line).expect("parses"));
        let mut reply = None;
        wait_for(line, || {
            reply = lock(&page.reports).iter().find_map(|m| match m {
                FromWorker::CtlReply { id: i, reply } if *i == id => Some(reply.clone()),
                _ => None,
            });
            reply.is_some()
        });
        reply.expect("reply")
    };
    match ask(1, "show stat") {
        CtlReply::Stat(csv) => assert!(csv.starts_with("# pxname,svname,") && csv.contains("proxy_status,server_1,")),
        other => panic!("{other:?}"),
    }
    match ask(2, "disable server proxy_status/server_1") {
        CtlReply::Done(msg) => assert_eq!(msg, "server proxy_status/server_1 state MAINT"),
        other => panic!("{other:?}"),
    }
    match ask(3, "show servers") {
        CtlReply::Servers(rows) => {
            assert_eq!(rows.len(), 4);
            assert_eq!((rows[0].server.as_str(), rows[0].status.as_str()), ("server_1", "MAINT"));
        }
        other => panic!("{other:?}"),
    }
    match ask(4, "set server other/nosuch weight 3") {
        CtlReply::Error(e) => assert!(e.contains("no such server"), "{e}"),
        other => panic!("{other:?}"),
    }
    match ask(5, "show info") {
        CtlReply::Info(pairs) => assert!(pairs.iter().any(|(k, v)| k == "Servers" && v == "4")),
        other => panic!("{other:?}"),
    }
    assert_eq!(ask(6, "show vrrp"), CtlReply::Vrrp(Vec::new()));
    assert!(lock(&page.reports)
        .iter()
        .any(|m| matches!(m, FromWorker::AdminChanged { server, state: AdminState::Maint, .. } if server == "server_1")));
}

#[test]
fn the_frontend_limit_shown_is_the_one_enforced() {
    // A frontend allowed more sessions than the whole process: accept stops at the process's.
    let mut config = worker_config(false);
    config.global.maxconn = 100;
    config.frontends[0].maxconn = 2000;
    let page = Page::start(config);
    let r = http(page.addr, "GET", "/admin;csv", Some(MLDN), None);
    let header = r.body.lines().next().unwrap_or_default().trim_start_matches("# ").to_string();
    let at = header.split(',').position(|c| c == "slim").expect("slim column");
    let row = r.body.lines().find(|l| l.starts_with("proxy_status,FRONTEND,")).expect("frontend row");
    assert_eq!(row.split(',').nth(at), Some("100"), "{row}");
}
