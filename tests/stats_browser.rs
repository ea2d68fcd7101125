//! End-to-end in a real browser: Debian's chromium, headless, loads the stats page with
//! credentials, finds every configured server with its state, submits an admin action through
//! the page's own form (MAINT, then READY), and saves screenshots under
//! target/test-output/stats/.

mod harness;

use harness::backends::{connect_and_name, NamedEcho};
use harness::cdp::{chromium, Browser};
use harness::process::*;
use harness::stats::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const STATES_JS: &str = "JSON.stringify([...document.querySelectorAll('tr[data-server]')].map(r => [r.dataset.server, r.dataset.status]))";

fn output_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is TARGET/tmp.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().map(|t| t.join("test-output").join("stats")).expect("target dir");
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}

fn states(browser: &mut Browser, session: &str) -> Vec<(String, String)> {
    let text = browser.eval(session, STATES_JS);
    let parsed: Vec<(String, String)> = serde_json::from_str(text.as_str().expect("string")).expect("states JSON");
    parsed
}

/// Ticks `server` in the backend's form, picks `action` in its select, and clicks Apply.
fn submit_form(browser: &mut Browser, session: &str, backend: &str, server: &str, action: &str) {
    let js = format!(
        "(() => {{ const f = document.querySelector('form[data-backend=\"{backend}\"]');
                  f.querySelector('input[name=\"s\"][value=\"{server}\"]').checked = true;
                  f.querySelector('select[name=\"action\"]').value = '{action}';
                  f.querySelector('input[type=\"submit\"]').click();
                  return true; }})()"
    );
    browser.eval_and_wait_load(session, &js);
}

fn save_png(name: &str, png: &[u8]) -> PathBuf {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let path = output_dir().join(name);
    std::fs::write(&path, png).expect("write screenshot");
    path
}

#[test]
fn browser_sees_every_server_and_sets_maint_through_the_form() {
    let Some(binary) = chromium() else {
        assert!(!in_ci(), "chromium is not installed (tests/install-deps installs it): failing under CI=true");
        eprintln!("skipping browser_sees_every_server_and_sets_maint_through_the_form: chromium is not installed");
        return;
    };
    let dir = TempDir::new("stats-browser");
    let backends: Vec<NamedEcho> = ["server_1", "server_2", "server_3"].iter().map(|n| NamedEcho::start(n)).collect();
    let (port, stats_port) = (free_port(), free_port());
    let refs: Vec<&NamedEcho> = backends.iter().collect();
    std::fs::write(dir.file("hakeeper.ron"), stats_config(port, stats_port, &dir.file("ctl.sock"), &refs)).expect("write config");
    let mut app = Appliance::start(&dir.file("hakeeper.ron"), &dir.file("hakeeper.log"));
    app.wait_for_children(&["checker", "worker"], Duration::from_secs(10));
    let proxy: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let stats: SocketAddr = format!("127.0.0.1:{stats_port}").parse().expect("addr");
    assert!(
        wait_until(Duration::from_secs(10), || http(stats, "GET", "/admin", None, None).is_ok()),
        "stats page up; log:\n{}",
        app.log_text()
    );

    let profile = dir.file("chromium-profile");
    let mut browser = Browser::launch(&binary, &profile);
    let session = browser.new_page();
    // The credentials go with every request of the page, the form's POST included.
    browser.call(Some(&session), "Network.setExtraHTTPHeaders", json!({ "headers": { "Authorization": format!("Basic {MLDN}") } }));
    let url = format!("http://{stats}/admin");
    browser.navigate(&session, &url);
    assert_eq!(browser.eval(&session, "document.title"), Value::from("Statistics Report for hakeeper"), "hide_version");
    let seen = states(&mut browser, &session);
    for b in &backends {
        assert!(seen.contains(&(b.name.clone(), "no check".to_string())), "{} shown with its state: {seen:?}", b.name);
    }
    let shot = save_png("stats_page.png", &browser.screenshot(&session));
    eprintln!("screenshot: {}", shot.display());

    submit_form(&mut browser, &session, "proxy_status", "server_2", "maint");
    let href = browser.eval(&session, "location.href");
    assert_eq!(href, Value::from(format!("{url};st=DONE")), "redirected with the outcome");
    assert!(states(&mut browser, &session).contains(&("server_2".into(), "MAINT".into())));
    assert_eq!(browser.eval(&session, "document.getElementById('admin-status').dataset.status"), Value::from("DONE"));
    save_png("stats_page_maint.png", &browser.screenshot(&session));
    let before = backends[1].accepted();
    for _ in 0..6 {
        let (_conn, name) = connect_and_name(proxy).expect("connect through the proxy");
        assert_ne!(name, "server_2", "server_2 is in MAINT");
    }
    assert_eq!(backends[1].accepted(), before);

    submit_form(&mut browser, &session, "proxy_status", "server_2", "ready");
    assert!(states(&mut browser, &session).contains(&("server_2".into(), "no check".into())), "READY again");
    assert!(app.wait_for_log("stats user mldn set server proxy_status/server_2 state READY", Duration::from_secs(5)));
    drop(browser);
}
