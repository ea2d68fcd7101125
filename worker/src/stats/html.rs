//! The HTML page: one table per proxy (a `listen` section is one table: its FRONTEND, servers and
//! BACKEND), rows coloured by state, this host's VRRP instances, LVS services and stick tables
//! ([`super::html_lvs`], [`super::html_stick`]), and, when admin actions are on
//! and the user is authenticated, a form per backend to set servers READY, DRAIN, MAINT or a
//! weight. Plain HTML and CSS, no script: it must read at a glance and work in any browser.

use super::snapshot::{Row, RowKind, Snapshot};
use hakeeper_common::ctl::{vrrp_state_name, LvsView, ProcessView, VrrpView};
use hakeeper_common::ipc::VrrpState;
use std::fmt::Write;

pub struct PageInfo<'a> {
    /// The stats `uri`, which the form posts to and links extend.
    pub uri: &'a str,
    /// None when `hide_version` is set.
    pub version: Option<&'a str>,
    pub pid: u32,
    pub refresh_secs: Option<u64>,
    /// Show the admin forms (admin on and the user authenticated).
    pub admin: bool,
    pub admin_status: Option<&'a str>,
    pub up_only: bool,
    pub dropped_log_lines: u64,
    pub vrrp: &'a [VrrpView],
    pub lvs: &'a [LvsView],
    pub process: &'a ProcessView,
    pub stick_tables: &'a [super::html_stick::StickRow],
}

/// Escapes text for element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `3d4h`, `2h5m`, `4m10s`, `9s`: HAProxy's `human_time`.
pub fn human_time(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// What the `;st=` codes of HAProxy's admin redirect mean.
fn admin_message(code: &str) -> (&'static str, &'static str) {
    match code {
        "DONE" => ("ok", "Action processed successfully."),
        "PART" => ("warn", "Action partially processed: some servers were refused."),
        "NONE" => ("warn", "Nothing has changed."),
        "ERRP" => ("err", "Action not processed: invalid parameters."),
        "DENY" => ("err", "Action denied."),
        _ => ("err", "Unexpected result."),
    }
}

const STYLE: &str = "
body { font-family: sans-serif; font-size: 13px; margin: 1em; color: #111; }
h1 { font-size: 20px; margin: 0 0 .3em 0; }
h2 { font-size: 15px; margin: 1.2em 0 .3em 0; }
table { border-collapse: collapse; margin-bottom: .5em; }
th, td { border: 1px solid #999; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #20D0D0; text-align: center; }
input[type=number] { width: 5em; }
td.name, th.name { text-align: left; }
tr.frontend td, tr.backend td { background: #e8e8d0; font-weight: bold; }
tr.up td { background: #c0ffc0; }
tr.nocheck td { background: #e0e0e0; }
tr.down td { background: #ff9090; }
tr.maint td { background: #c07820; color: #fff; }
tr.drain td { background: #20a0ff; }
tr.backup.up td { background: #b0d0ff; }
tr.master td { background: #c0ffc0; }
tr.backupstate td { background: #ffffa0; }
tr.fault td { background: #ff9090; }
.info td { text-align: left; border: none; padding: 1px 8px 1px 0; }
.legend span { display: inline-block; padding: 1px 6px; margin-right: 4px; border: 1px solid #999; }
.msg { padding: 4px 8px; margin: .5em 0; border: 1px solid #999; display: inline-block; }
.msg.ok { background: #c0ffc0; } .msg.warn { background: #ffffa0; } .msg.err { background: #ff9090; }
.admin { margin: 0 0 1em 0; }
";

fn row_class(row: &Row) -> String {
    match row.kind {
        RowKind::Frontend => "frontend".into(),
        RowKind::Backend => "backend".into(),
        RowKind::Server => {
            let state = match row.status.as_str() {
                "UP" => "up",
                "no check" => "nocheck up",
                "DRAIN" => "drain",
                "MAINT" => "maint",
                _ => "down",
            };
            let backup = row.server.as_ref().is_some_and(|s| s.backup);
            if backup {
                format!("backup {state}")
            } else {
                state.into()
            }
        }
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

const HEADER: &str = "<tr><th class=\"name\" rowspan=\"2\">Name</th><th colspan=\"2\">Queue</th><th colspan=\"4\">Sessions</th>\
<th colspan=\"2\">Session rate</th><th colspan=\"2\">Bytes</th><th colspan=\"2\">Errors</th><th colspan=\"2\">Warnings</th>\
<th colspan=\"8\">Server</th></tr>\n<tr><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th>\
<th>Cur</th><th>Max</th><th>In</th><th>Out</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th>\
<th>Status</th><th>Last change</th><th>Check</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk down</th><th>Downtime</th></tr>\n";

fn row_html(out: &mut String, row: &Row, form: bool) {
    let (name, checkbox) = match row.kind {
        RowKind::Frontend | RowKind::Backend => (row.svname.clone(), String::new()),
        RowKind::Server => {
            let addr = row.server.as_ref().map(|s| s.addr.as_str()).unwrap_or("");
            let cb = if form { format!("<input type=\"checkbox\" name=\"s\" value=\"{}\"> ", escape(&row.svname)) } else { String::new() };
            (format!("{} <small>{}</small>", escape(&row.svname), escape(addr)), cb)
        }
    };
    let check = match &row.server {
        Some(s) => match (s.check_code, s.check_ms, &s.check_desc) {
            (Some(code), Some(ms), Some(desc)) => format!("<span title=\"{}\">{code} in {ms}ms</span>", escape(desc)),
            _ if !s.checked => "no check".into(),
            _ => String::new(),
        },
        None => String::new(),
    };
    let data = match row.kind {
        RowKind::Server => format!(" data-server=\"{}\" data-status=\"{}\"", escape(&row.svname), escape(&row.status)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "<tr class=\"{}\"{data}><td class=\"name\">{checkbox}{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td class=\"status\">{}</td><td>{}</td><td>{check}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        row_class(row),
        opt(row.qcur),
        opt(row.qmax),
        row.scur,
        row.smax,
        opt(row.slim),
        row.stot,
        row.rate,
        row.rate_max,
        row.bin,
        row.bout,
        opt(row.econ),
        if row.kind == RowKind::Frontend { String::new() } else { "0".into() },
        opt(row.wretr),
        opt(row.wredis),
        escape(&row.status),
        row.lastchg.map(human_time).unwrap_or_default(),
        opt(row.weight),
        opt(row.act),
        opt(row.bck),
        opt(row.chkdown),
        row.downtime.map(human_time).unwrap_or_default(),
    );
}

fn proxy_html(out: &mut String, name: &str, rows: &[&Row], info: &PageInfo) {
    let has_servers = rows.iter().any(|r| r.kind == RowKind::Server);
    let form = info.admin && has_servers;
    let _ = writeln!(out, "<h2 id=\"px-{0}\">{0}</h2>", escape(name));
    if form {
        let _ = writeln!(
            out,
            "<form method=\"post\" action=\"{}\" class=\"admin\" data-backend=\"{}\"><input type=\"hidden\" name=\"b\" value=\"{}\">",
            escape(info.uri),
            escape(name),
            escape(name)
        );
    }
    let _ = writeln!(out, "<table class=\"proxy\" data-proxy=\"{}\">\n{HEADER}", escape(name));
    for row in rows {
        if info.up_only && row.kind == RowKind::Server && !row.running() {
            continue;
        }
        row_html(out, row, form);
    }
    out.push_str("</table>\n");
    if form {
        out.push_str(
            "Choose the action to perform on the checked servers: <select name=\"action\">\
<option value=\"\"></option><option value=\"ready\">Set state to READY</option>\
<option value=\"drain\">Set state to DRAIN</option><option value=\"maint\">Set state to MAINT</option>\
<option value=\"weight\">Set weight to</option></select> \
<input type=\"number\" name=\"weight\" min=\"0\" max=\"256\" size=\"4\" placeholder=\"weight\"> \
<input type=\"submit\" value=\"Apply\"></form>\n",
        );
    }
}

/// Which host this is, the generation served, since when, the children's restarts; then the
/// VRRP tracks with their last result.
fn process_html(out: &mut String, p: &ProcessView) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let restarts: Vec<String> = p.restarts.iter().map(|(role, n)| format!("{} {n}", escape(role))).collect();
    let _ = writeln!(
        out,
        "<table class=\"info\" id=\"process\"><tr><td>host = <b data-host=\"{0}\">{0}</b></td><td>config generation = {1}</td>\
<td>supervisor uptime = {2}</td><td>restarts: {3}</td></tr></table>",
        escape(&p.host),
        p.generation,
        if p.started_unix == 0 { "-".to_string() } else { human_time(now.saturating_sub(p.started_unix)) },
        restarts.join(", "),
    );
    announce_html(out, &p.announce);
    if p.tracks.is_empty() {
        return;
    }
    out.push_str(
        "<h2 id=\"tracks\">Tracked scripts</h2>\n<table class=\"vrrp\"><tr><th class=\"name\">Track</th><th class=\"name\">What</th>\
<th>Weight</th><th>State</th></tr>\n",
    );
    for t in &p.tracks {
        let (class, state) = match t.ok {
            Some(true) => ("master", "OK"),
            Some(false) => ("fault", "KO"),
            None => ("init", "-"),
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\" data-track=\"{0}\" data-state=\"{state}\"><td class=\"name\">{0}</td><td class=\"name\">{1}</td><td>{2}</td><td>{state}</td></tr>",
            escape(&t.name),
            escape(&t.what),
            t.weight,
        );
    }
    out.push_str("</table>\n");
}

/// The `announce` VIPs (active-active behind ECMP): announced by the routing daemon or not.
fn announce_html(out: &mut String, rows: &[hakeeper_common::ctl::AnnounceView]) {
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "<h2 id=\"announce\">Announced VIPs</h2>\n<table class=\"vrrp\"><tr><th class=\"name\">VIP</th>\
<th class=\"name\">Device</th><th class=\"name\">State</th></tr>\n",
    );
    for r in rows {
        let class = if r.held { "master" } else { "fault" };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\" data-announce=\"{0}\" data-held=\"{1}\"><td class=\"name\">{0}</td><td class=\"name\">{2}</td><td class=\"name\">{3}</td></tr>",
            escape(&r.vip),
            r.held,
            escape(&r.interface),
            escape(&r.state),
        );
    }
    out.push_str("</table>\n");
}

fn vrrp_html(out: &mut String, vrrp: &[VrrpView]) {
    out.push_str("<h2 id=\"vrrp\">VRRP instances on this host</h2>\n");
    if vrrp.is_empty() {
        out.push_str("<p>No VRRP instance reported.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"vrrp\"><tr><th class=\"name\">Instance</th><th class=\"name\">Interface</th><th>VRID</th>\
<th>State</th><th>Priority</th><th>Base priority</th><th class=\"name\">Virtual addresses</th></tr>\n",
    );
    for v in vrrp {
        let class = match v.state {
            VrrpState::Master => "master",
            VrrpState::Backup => "backupstate",
            VrrpState::Fault => "fault",
            VrrpState::Init => "init",
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\" data-instance=\"{}\" data-state=\"{}\"><td class=\"name\">{}</td><td class=\"name\">{}</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"name\">{}</td></tr>",
            escape(&v.name),
            vrrp_state_name(v.state),
            escape(&v.name),
            escape(&v.interface),
            v.vrid,
            vrrp_state_name(v.state),
            v.priority,
            v.base_priority,
            escape(&v.vips.join(" ")),
        );
    }
    out.push_str("</table>\n");
}

pub fn render(snapshot: &Snapshot, info: &PageInfo) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = match info.version {
        Some(v) => format!("Statistics Report for hakeeper {v}"),
        None => "Statistics Report for hakeeper".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    let refresh = match info.refresh_secs {
        Some(s) => format!("every {s}s (<a href=\"{}\">stop</a>)", escape(&format!("{};norefresh", info.uri))),
        None => "off".into(),
    };
    let _ = writeln!(
        out,
        "<table class=\"info\"><tr><td>pid = {}</td><td>uptime = {}</td><td>current sessions = {}</td><td>max sessions = {}</td>\
<td>total sessions = {}</td><td>log lines dropped = {}</td><td>refresh: {refresh}</td>\
<td><a href=\"{}\">CSV export</a></td><td><a href=\"{}\">JSON export</a></td><td><a href=\"/metrics\">Prometheus</a></td></tr></table>",
        info.pid,
        human_time(snapshot.uptime_secs),
        snapshot.process_cur,
        snapshot.process_max,
        snapshot.process_total,
        info.dropped_log_lines,
        escape(&format!("{};csv", info.uri)),
        escape(&format!("{};json", info.uri)),
    );
    if let Some(code) = info.admin_status {
        let (class, text) = admin_message(code);
        let _ = writeln!(out, "<div class=\"msg {class}\" id=\"admin-status\" data-status=\"{}\">{text}</div>", escape(code));
    }
    out.push_str(
        "<p class=\"legend\"><span style=\"background:#c0ffc0\">active UP</span><span style=\"background:#b0d0ff\">backup UP</span>\
<span style=\"background:#ff9090\">DOWN</span><span style=\"background:#20a0ff\">DRAIN</span>\
<span style=\"background:#c07820;color:#fff\">MAINT</span><span style=\"background:#e0e0e0\">no check</span></p>\n",
    );
    process_html(&mut out, info.process);
    vrrp_html(&mut out, info.vrrp);
    super::html_lvs::lvs_html(&mut out, info.lvs);
    super::html_stick::stick_html(&mut out, info.stick_tables);
    super::html_h2::floods_html(&mut out, &snapshot.h2_floods);
    for (name, rows) in snapshot.proxies() {
        proxy_html(&mut out, name, &rows, info);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_summary_names_the_host_and_shows_each_track_with_its_state() {
        use hakeeper_common::ctl::TrackView;
        let track = |name: &str, what: &str, ok| TrackView { name: name.into(), what: what.into(), weight: 2, ok };
        let p = ProcessView {
            host: "lb1".into(),
            generation: 3,
            started_unix: 1,
            restarts: vec![("worker".into(), 2)],
            tracks: vec![
                track("chk", "builtin: proxy_alive", Some(true)),
                track("ping", "script: /bin/true", None),
                track("gw", "script: x", Some(false)),
            ],
            announce: vec![hakeeper_common::ctl::AnnounceView {
                vip: "192.0.2.200/32".into(),
                interface: "hk-announce".into(),
                held: false,
                state: "withdrawn (<stopping>)".into(),
            }],
        };
        let mut out = String::new();
        process_html(&mut out, &p);
        assert!(out.contains("data-host=\"lb1\"") && out.contains("config generation = 3") && out.contains("restarts: worker 2"), "{out}");
        assert!(
            out.contains("data-announce=\"192.0.2.200/32\" data-held=\"false\"") && out.contains("withdrawn (&lt;stopping&gt;)"),
            "{out}"
        );
        for (name, state) in [("chk", "OK"), ("ping", "-"), ("gw", "KO")] {
            assert!(out.contains(&format!("data-track=\"{name}\" data-state=\"{state}\"")), "{name}: {out}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn human_time_reads_like_haproxy() {
        assert_eq!(human_time(9), "9s");
        assert_eq!(human_time(250), "4m10s");
        assert_eq!(human_time(7500), "2h5m");
        assert_eq!(human_time(3 * 86400 + 4 * 3600 + 5), "3d4h");
    }
}
