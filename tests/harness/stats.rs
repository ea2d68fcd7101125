//! The stats page from a test's side: a config with a stats section and a ctl socket, and a
//! minimal HTTP/1.1 client with Basic auth.

use super::backends::NamedEcho;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// `mldn:java`, the seed's `stats auth`, and a second user `ops:pw2`, in base64.
pub const MLDN: &str = "bWxkbjpqYXZh";
pub const OPS: &str = "b3BzOnB3Mg==";
/// `mldn:wrong`.
pub const WRONG: &str = "bWxkbjp3cm9uZw==";

/// The seed's TCP listen section in front of `backends` plus its stats page (uri /admin, two
/// users, refresh 30 s, hide_version, admin on), with the ctl socket at `ctl`.
pub fn stats_config(port: u16, stats_port: u16, ctl: &Path, backends: &[&NamedEcho]) -> String {
    let servers: Vec<String> = backends.iter().map(|b| format!("(name: \"{}\", addr: \"{}\")", b.name, b.addr)).collect();
    format!(
        r#"(
  global: (user: "nobody", ctl_socket: "{}"),
  defaults: (mode: tcp, retries: 3, redispatch: true,
             timeout: (connect: "2s", client: "30s", server: "30s")),
  listen: [(name: "proxy_status", bind: ["127.0.0.1:{port}"], balance: roundrobin,
            servers: [{}])],
  stats: (bind: "127.0.0.1:{stats_port}", uri: "/admin", realm: "Haproxy Statistics",
          auth: [("mldn", "java"), ("ops", "pw2")], refresh: "30s", hide_version: true, admin: true,
          maxconn: 10),
)
"#,
        ctl.display(),
        servers.join(", ")
    )
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection; `auth` is the base64 of `user:password`.
pub fn http(addr: SocketAddr, method: &str, path: &str, auth: Option<&str>, form: Option<&str>) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: Basic {a}\r\n"));
    }
    if let Some(f) = form {
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{f}", f.len()));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Ok(Reply { status, headers, body: body.to_string() })
}

/// `data-server="NAME" data-status="STATUS"` pairs of the HTML page, in order.
pub fn server_states(html: &str) -> Vec<(String, String)> {
    html.split("data-server=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let status = rest.split_once("data-status=\"")?.1.split_once('"')?.0;
            Some((name.to_string(), status.to_string()))
        })
        .collect()
}

/// A column of `frontend`'s FRONTEND row on the stats page.
/// (Stats at `/admin`, user `mldn`.)
pub fn frontend_column(stats: SocketAddr, frontend: &str, column: &str) -> u64 {
    row_column(stats, frontend, "FRONTEND", column)
}

/// A column of the `pxname,svname` row on the stats page (`svname` `BACKEND`, `FRONTEND` or a
/// server's name).
pub fn row_column(stats: SocketAddr, pxname: &str, svname: &str, column: &str) -> u64 {
    let csv = http(stats, "GET", "/admin;csv", Some(MLDN), None).expect("stats csv").body;
    let header: Vec<&str> = csv.lines().next().unwrap_or("").trim_start_matches("# ").split(',').collect();
    let col = header.iter().position(|c| *c == column).expect("the column");
    let row = csv.lines().find(|l| l.starts_with(&format!("{pxname},{svname},"))).expect("the row");
    row.split(',').nth(col).and_then(|v| v.parse().ok()).expect("a number")
}
