//! Connection persistence on each side, by mode (HAProxy 2.6):
//!
//! - `http-keep-alive` (default): both sides stay open when their peer agrees.
//! - `http-server-close`: the server connection closes after each response; the client's may
//!   stay open.
//! - `httpclose`: both close after the response, and both are told `Connection: close`.
//!
//! The proxy rewrites `Connection` on what it forwards to say what it will do, keeping the
//! tokens it does not handle itself (`upgrade`).

use super::framing::BodyFraming;
use super::head::{RequestHead, ResponseHead, Version};
use super::headers::Headers;
use hakeeper_common::config::HttpConnMode;

/// Whether each side's connection outlives this transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnPlan {
    pub client_keep_alive: bool,
    pub server_keep_alive: bool,
}

/// The plan as far as the request tells.
pub fn plan_request(mode: HttpConnMode, req: &RequestHead) -> ConnPlan {
    let client = mode != HttpConnMode::Close && req.wants_keep_alive();
    ConnPlan { client_keep_alive: client, server_keep_alive: mode == HttpConnMode::KeepAlive }
}

/// Replaces the `close` / `keep-alive` tokens of `Connection` with `token` (if any).
fn rewrite_tokens(headers: &mut Headers, token: Option<&[u8]>) {
    let ours = |t: &[u8]| t.eq_ignore_ascii_case(b"close") || t.eq_ignore_ascii_case(b"keep-alive");
    if headers.elements("connection").all(ours) {
        // The usual case (no other token to keep): no list to build.
        headers.remove("connection");
        if let Some(t) = token {
            headers.append(b"Connection", t);
        }
        return;
    }
    let mut keep: Vec<Vec<u8>> = headers
        .elements("connection")
        .filter(|t| !t.eq_ignore_ascii_case(b"close") && !t.eq_ignore_ascii_case(b"keep-alive"))
        .map(<[u8]>::to_vec)
        .collect();
    if let Some(t) = token {
        keep.push(t.to_vec());
    }
    headers.remove("connection");
    if !keep.is_empty() {
        headers.append(b"Connection", &keep.join(&b", "[..]));
    }
}

/// Writes the request's `Connection` for the server.
pub fn prepare_request(plan: &ConnPlan, req: &mut RequestHead) {
    if req.kind().upgrade {
        // A protocol switch: `Connection: upgrade` must reach the server untouched.
        return;
    }
    let token: Option<&[u8]> = match (plan.server_keep_alive, req.version) {
        (false, Version::Http11) => Some(b"close"),
        (true, Version::Http10) => Some(b"keep-alive"),
        _ => None,
    };
    rewrite_tokens(&mut req.headers, token);
    req.refresh_connection();
}

/// The final plan once the response head is known.
pub fn plan_response(plan: ConnPlan, resp: &ResponseHead, framing: BodyFraming) -> ConnPlan {
    let close_delimited = matches!(framing, BodyFraming::UntilClose | BodyFraming::Tunnel);
    ConnPlan {
        client_keep_alive: plan.client_keep_alive && !close_delimited,
        server_keep_alive: plan.server_keep_alive && resp.server_keeps_alive() && !close_delimited,
    }
}

/// Writes the response's `Connection` for the client (`req_version` is the client's).
pub fn prepare_response(plan: &ConnPlan, req_version: Version, resp: &mut ResponseHead) {
    if resp.status == 101 || resp.is_interim() {
        return;
    }
    let token: Option<&[u8]> = match (plan.client_keep_alive, req_version) {
        (false, _) => Some(b"close"),
        (true, Version::Http10) => Some(b"keep-alive"),
        (true, Version::Http11) => None,
    };
    rewrite_tokens(&mut resp.headers, token);
    resp.refresh_connection();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::framing::response_framing;
    use crate::http::head::{parse_request, parse_response};

    fn req(text: &str) -> RequestHead {
        parse_request(text.as_bytes()).unwrap().unwrap()
    }

    fn resp(text: &str) -> ResponseHead {
        parse_response(text.as_bytes()).unwrap().unwrap()
    }

    fn conn(h: &Headers) -> Option<String> {
        h.get("connection").map(|v| String::from_utf8_lossy(v).into_owned())
    }

    fn round(mode: HttpConnMode, request: &str, response: &str) -> (ConnPlan, Option<String>, Option<String>) {
        let mut q = req(request);
        let plan = plan_request(mode, &q);
        prepare_request(&plan, &mut q);
        let mut r = resp(response);
        let framing = response_framing(r.status, r.framing_headers, q.kind()).unwrap();
        let plan = plan_response(plan, &r, framing);
        prepare_response(&plan, q.version, &mut r);
        (plan, conn(&q.headers), conn(&r.headers))
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn keep_alive_mode_keeps_both_sides() {
        let (plan, to_server, to_client) = round(HttpConnMode::KeepAlive, "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", OK);
        assert_eq!(plan, ConnPlan { client_keep_alive: true, server_keep_alive: true });
        assert_eq!((to_server, to_client), (None, None));
        let (plan, to_server, to_client) = round(HttpConnMode::KeepAlive, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", OK);
        assert!(plan.client_keep_alive);
        assert_eq!((to_server.as_deref(), to_client.as_deref()), (Some("keep-alive"), Some("keep-alive")));
    }

    #[test]
    fn clients_that_close_are_closed() {
        let (plan, _, to_client) = round(HttpConnMode::KeepAlive, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", OK);
        assert!(!plan.client_keep_alive);
        assert!(plan.server_keep_alive, "the server connection can still be reused");
        assert_eq!(to_client.as_deref(), Some("close"));
        let (plan, _, _) = round(HttpConnMode::KeepAlive, "GET / HTTP/1.0\r\n\r\n", OK);
        assert!(!plan.client_keep_alive);
    }

    #[test]
    fn server_close_and_httpclose() {
        let (plan, to_server, to_client) = round(HttpConnMode::ServerClose, "GET / HTTP/1.1\r\n\r\n", OK);
        assert_eq!(plan, ConnPlan { client_keep_alive: true, server_keep_alive: false });
        assert_eq!((to_server.as_deref(), to_client), (Some("close"), None));
        let (plan, to_server, to_client) =
            round(HttpConnMode::Close, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(plan, ConnPlan { client_keep_alive: false, server_keep_alive: false });
        assert_eq!((to_server.as_deref(), to_client.as_deref()), (Some("close"), Some("close")));
    }

    #[test]
    fn servers_that_close_or_run_until_close() {
        let (plan, _, _) =
            round(HttpConnMode::KeepAlive, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(plan, ConnPlan { client_keep_alive: true, server_keep_alive: false });
        let (plan, _, to_client) = round(HttpConnMode::KeepAlive, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(plan, ConnPlan { client_keep_alive: false, server_keep_alive: false }, "no length: the body ends with the connection");
        assert_eq!(to_client.as_deref(), Some("close"));
    }

    #[test]
    fn upgrades_pass_untouched() {
        let (_, to_server, to_client) = round(
            HttpConnMode::Close,
            "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        );
        assert_eq!((to_server.as_deref(), to_client.as_deref()), (Some("Upgrade"), Some("Upgrade")));
        let mut q = req("GET / HTTP/1.1\r\nConnection: keep-alive, X-Hop\r\n\r\n");
        prepare_request(&ConnPlan { client_keep_alive: true, server_keep_alive: false }, &mut q);
        assert_eq!(conn(&q.headers).as_deref(), Some("X-Hop, close"));
    }
}
