//! One HTTP transaction (request and its response) through the proxy's L7 logic, in HAProxy's
//! order: frontend `http-request` rules, `use_backend` / `default_backend`, the backend's
//! `http-request` rules, `option forwardfor`, cookie persistence, `Connection` handling; then,
//! on the response, `http-response` rules (backend's, then frontend's), persistence cookies,
//! `Connection` again. No I/O: the session calls these with heads it parsed and gets back what
//! to send where.

use super::acl::{applies, RequestView};
use super::balance_key::request_hash;
use super::body::BodyCursor;
use super::cache::is_cacheable;
use super::connection::{plan_request, plan_response, prepare_request, prepare_response, ConnPlan};
use super::cookie::{self, CookieServer, Lookup, ResponseCookie};
use super::forwardfor;
use super::framing::{response_framing, BodyFraming};
use super::head::{RequestHead, ResponseHead};
use super::reply::{error_response, redirect};
use super::rules::{run_request_rules, run_response_rules, RequestVerdict, ResponseVerdict};
use super::HeadError;
use crate::tcp_rules::ConnView;
use crate::termination::{Cause, Phase, Termination};
use hakeeper_common::config::{Backend, BackendHttp, Frontend, FrontendHttp, HttpConnMode};
use std::net::IpAddr;

/// A response the proxy sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    /// The status, for the log.
    pub status: u16,
    pub termination: Termination,
    /// Close the client connection after sending it.
    pub close: bool,
    /// `http-request tarpit`: hold the client this long before sending it.
    pub hold: Option<std::time::Duration>,
    /// A `deny` or `tarpit` rule refused the request (counted in `dreq`).
    pub denied: bool,
}

/// The error response for `status`, from the backend's errorfiles, the frontend's, or the
/// built-in pages.
pub fn error_reply(status: u16, fe: Option<&FrontendHttp>, be: Option<&BackendHttp>, termination: Termination, close: bool) -> Reply {
    let bytes = error_response(status, be.map_or(&[][..], |b| &b.errorfiles), fe.map_or(&[][..], |f| &f.errorfiles)).to_vec();
    // HAProxy's own 400/408/431 pages close the connection.
    let close = close || matches!(status, 400 | 408 | 431);
    Reply { bytes, status, termination, close, hold: None, denied: false }
}

/// The answer to a request head the parser refused (400 or 431), counted as a request error.
pub fn bad_request(err: &HeadError, fe: Option<&FrontendHttp>) -> Reply {
    error_reply(err.request_status(), fe, None, Termination::new(Cause::Proxy, Phase::Request), true)
}

/// `timeout http-request` expired before the head was complete.
pub fn request_timeout(fe: Option<&FrontendHttp>) -> Reply {
    error_reply(408, fe, None, Termination::new(Cause::ClientTimeout, Phase::Request), true)
}

/// Where the frontend sends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Index into the config's backends.
    Backend(usize),
    Reply(Reply),
}

/// A reply that ends the request early: the connection closes unless the request had no body
/// to skip and the client keeps its connection.
fn early_close(head: &RequestHead) -> bool {
    head.framing != BodyFraming::None || !head.wants_keep_alive()
}

fn verdict_reply(v: RequestVerdict, head: &RequestHead, fe: &FrontendHttp, be: Option<&BackendHttp>) -> Option<Reply> {
    let mode = be.map_or(fe.connection, |b| fe.connection.combine(b.connection));
    let close = early_close(head) || mode == HttpConnMode::Close;
    match v {
        RequestVerdict::Continue => None,
        RequestVerdict::Deny(status) => {
            Some(Reply { denied: true, ..error_reply(status, Some(fe), be, Termination::new(Cause::Proxy, Phase::Request), close) })
        }
        // HAProxy's http_process_tarpit(): the request is dropped, the client held for the
        // tarpit timeout of the proxy whose rule fired, then answered (`PT`); HAProxy 2.6 keeps
        // a keep-alive client's connection after the answer, as after a deny.
        RequestVerdict::Tarpit(status) => {
            let hold = be.map_or(fe.timeout_tarpit, |b| b.timeout_tarpit);
            let t = Termination::new(Cause::Proxy, Phase::Tarpit);
            Some(Reply { hold: Some(hold), denied: true, ..error_reply(status, Some(fe), be, t, close) })
        }
        RequestVerdict::Redirect(rule) => Some(Reply {
            bytes: redirect(&rule, head, close),
            status: rule.code,
            termination: Termination::new(Cause::Local, Phase::Request),
            close,
            hold: None,
            denied: false,
        }),
    }
}

/// Frontend rules, then backend selection: the first `use_backend` whose condition holds, else
/// `default_backend`, else 503.
pub fn route_request(fe: &Frontend, fe_http: &FrontendHttp, head: &mut RequestHead, client: IpAddr, conn: Option<&ConnView<'_>>) -> Routed {
    let verdict = run_request_rules(&fe_http.request_rules, &fe_http.acls, head, client, conn);
    if let Some(reply) = verdict_reply(verdict, head, fe_http, None) {
        return Routed::Reply(reply);
    }
    let view = RequestView::new(head, client, conn);
    let chosen =
        fe_http.use_backend.iter().find(|u| applies(u.cond.as_ref(), &fe_http.acls, &view)).map(|u| u.backend).or(fe.default_backend);
    match chosen {
        Some(b) => Routed::Backend(b),
        None => {
            Routed::Reply(error_reply(503, Some(fe_http), None, Termination::new(Cause::ServerAbort, Phase::Connect), early_close(head)))
        }
    }
}

/// What the backend phase decided.
#[derive(Debug)]
pub enum Prepared {
    Reply(Reply),
    Forward(Txn),
}

/// The state a transaction keeps between its request and its response.
#[derive(Debug)]
pub struct Txn {
    pub head: RequestHead,
    pub client: IpAddr,
    pub backend: usize,
    /// The frontend's and backend's rules are the same `listen` section's.
    same_proxy: bool,
    pub cookie: Lookup,
    /// The server persistence sends the request to (skip the balancer), if any.
    pub persist_to: Option<usize>,
    /// The hash `balance uri|hdr|url_param` picks a server with, if the request has the key.
    pub balance_hash: Option<u32>,
    pub conn: ConnPlan,
    pub response_cookie: ResponseCookie,
    /// The `stick` rules whose condition held on the request (bit N for rule N), for the
    /// store rules written when the response comes (see [`super::stick_rules`]).
    pub stick_pass: u64,
}

/// The backend phase: its `http-request` rules (unless it is the frontend's own `listen`
/// half), forwardfor, persistence cookie, `Connection` for the server. `servers` describe the
/// backend's servers in config order.
#[allow(clippy::too_many_arguments)]
pub fn prepare_for_backend(
    fe_http: &FrontendHttp,
    backend: usize,
    be: &Backend,
    be_http: &BackendHttp,
    servers: &[CookieServer<'_>],
    mut head: RequestHead,
    client: IpAddr,
    conn: Option<&ConnView<'_>>,
) -> Prepared {
    let same_proxy = fe_http.listen_backend == Some(backend);
    if !same_proxy {
        let verdict = run_request_rules(&be_http.request_rules, &be_http.acls, &mut head, client, conn);
        if let Some(reply) = verdict_reply(verdict, &head, fe_http, Some(be_http)) {
            return Prepared::Reply(reply);
        }
    }
    forwardfor::apply(fe_http.forwardfor.as_ref(), be_http.forwardfor.as_ref(), client, &mut head.headers);
    let cookie = match &be_http.cookie {
        Some(cfg) => cookie::on_request(cfg, be_http.persist, servers, &mut head.headers),
        None => Lookup::NOT_CONFIGURED,
    };
    let mode = fe_http.connection.combine(be_http.connection);
    let conn = plan_request(mode, &head);
    prepare_request(&conn, &mut head);
    let balance_hash = request_hash(&be.balance, &head);
    Prepared::Forward(Txn {
        client,
        backend,
        same_proxy,
        persist_to: cookie.server,
        cookie,
        balance_hash,
        conn,
        response_cookie: if be_http.cookie.is_some() { ResponseCookie::None } else { ResponseCookie::NotConfigured },
        head,
        stick_pass: u64::MAX,
    })
}

/// What to do with a response head.
#[derive(Debug)]
pub enum Responded {
    /// Forward the (rewritten) head, then the body by `framing`. An interim (1xx) response is
    /// followed by another head; `conn` is final only for the final response.
    Forward { framing: BodyFraming, interim: bool, conn: ConnPlan },
    /// Send this instead of the server's response (and drop the server connection).
    Reply(Reply),
}

impl Txn {
    /// The request head as it goes to the server.
    pub fn write_request(&self, out: &mut Vec<u8>) {
        self.head.write(out);
    }

    /// Tracks the request body that follows the head.
    pub fn request_body(&self) -> BodyCursor {
        BodyCursor::new(self.head.framing)
    }

    /// The termination state so far, with this transaction's cookie codes.
    pub fn termination(&self, cause: Cause, phase: Phase) -> Termination {
        Termination::new(cause, phase).with_cookies(self.cookie.state.code(), self.response_cookie.code())
    }

    /// Processes the response head from server `served` (index in the backend).
    pub fn on_response(
        &mut self,
        fe_http: &FrontendHttp,
        be_http: &BackendHttp,
        servers: &[CookieServer<'_>],
        served: Option<usize>,
        resp: &mut ResponseHead,
        conn: Option<&ConnView<'_>>,
    ) -> Responded {
        let framing = match response_framing(resp.status, resp.framing_headers, self.head.kind()) {
            Ok(f) => f,
            Err(_) => return Responded::Reply(self.bad_response(fe_http, be_http)),
        };
        if resp.is_interim() {
            return Responded::Forward { framing, interim: true, conn: self.conn };
        }
        let mut verdict = run_response_rules(&be_http.response_rules, &be_http.acls, &self.head, resp, self.client, conn);
        if verdict == ResponseVerdict::Continue && !self.same_proxy {
            verdict = run_response_rules(&fe_http.response_rules, &fe_http.acls, &self.head, resp, self.client, conn);
        }
        if let ResponseVerdict::Deny(status) = verdict {
            let t = self.termination(Cause::Proxy, Phase::Headers);
            return Responded::Reply(error_reply(status, Some(fe_http), Some(be_http), t, !self.conn.client_keep_alive));
        }
        if let Some(cfg) = &be_http.cookie {
            let cacheable = is_cacheable(&self.head, resp);
            self.response_cookie = cookie::on_response(cfg, &self.cookie, served, servers, &mut resp.headers, cacheable);
        }
        self.conn = plan_response(self.conn, resp, framing);
        prepare_response(&self.conn, self.head.version, resp);
        Responded::Forward { framing, interim: false, conn: self.conn }
    }

    /// 502 for a response head that is invalid or too large (`PH`).
    pub fn bad_response(&self, fe_http: &FrontendHttp, be_http: &BackendHttp) -> Reply {
        error_reply(502, Some(fe_http), Some(be_http), self.termination(Cause::Proxy, Phase::Headers), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_request, parse_response};
    use hakeeper_common::config::{load_str, Config};

    /// The seed's routing and persistence, with a listen that redirects and denies.
    const CONFIG: &str = r#"(
      defaults: (mode: http, forwardfor: (), http_connection: close),
      frontend: [(name: "main", bind: ["*:80"],
                  acls: [(name: "web", criterion: "hdr(host) -i www.abc.com"),
                         (name: "img", criterion: "hdr(host) -i img.abc.com")],
                  use_backend: [(backend: "webserver", cond: "if web"), (backend: "imgserver", cond: "if img")],
                  default_backend: "dynamic"),
                 (name: "bare", bind: ["*:81"], http_request: ["deny deny_status 429 if { path_beg /x }"])],
      listen: [(name: "site", bind: ["*:82"], http_connection: keep_alive,
                http_request: ["redirect scheme https code 301 if { hdr(x-proto) http }", "add-header X-Seen 1"],
                servers: [(name: "s1", addr: "192.0.2.9:80")])],
      backend: [(name: "webserver", balance: roundrobin,
                 cookie: (name: "SERVERID", mode: insert, indirect: true, nocache: true),
                 http_response: ["set-header X-Backend web"],
                 servers: [(name: "web1", addr: "192.0.2.1:8066", cookie: "1"), (name: "web2", addr: "192.0.2.2:8066", cookie: "2")]),
                (name: "imgserver", balance: uri, servers: [(name: "img1", addr: "192.0.2.3:80")]),
                (name: "dynamic", servers: [(name: "app1", addr: "192.0.2.6:8080")])],
    )"#;

    fn config() -> Config {
        load_str("t.ron", CONFIG).unwrap().config
    }

    fn head(text: &str) -> RequestHead {
        parse_request(text.as_bytes()).unwrap().unwrap()
    }

    fn backend_name(c: &Config, fe: usize, text: &str) -> String {
        let mut h = head(text);
        match route_request(&c.frontends[fe], &c.http.frontends[fe], &mut h, "192.0.2.50".parse().unwrap(), None) {
            Routed::Backend(b) => c.backends[b].name.clone(),
            Routed::Reply(r) => format!("reply {}", r.status),
        }
    }

    fn fe_index(c: &Config, name: &str) -> usize {
        c.frontends.iter().position(|f| f.name == name).unwrap()
    }

    #[test]
    fn host_routing_as_the_seed() {
        let c = config();
        let main = fe_index(&c, "main");
        assert_eq!(backend_name(&c, main, "GET / HTTP/1.1\r\nHost: www.abc.com\r\n\r\n"), "webserver");
        assert_eq!(backend_name(&c, main, "GET / HTTP/1.1\r\nHost: WWW.ABC.COM\r\n\r\n"), "webserver");
        assert_eq!(backend_name(&c, main, "GET / HTTP/1.1\r\nHost: img.abc.com\r\n\r\n"), "imgserver");
        assert_eq!(backend_name(&c, main, "GET / HTTP/1.1\r\nHost: www.abc.com:80\r\n\r\n"), "dynamic");
        assert_eq!(backend_name(&c, main, "GET / HTTP/1.1\r\nHost: other.org\r\n\r\n"), "dynamic");
        assert_eq!(backend_name(&c, main, "GET / HTTP/1.0\r\n\r\n"), "dynamic");
    }

    #[test]
    fn absolute_form_routes_on_the_authority_the_server_acts_on() {
        let c = config();
        let main = fe_index(&c, "main");
        assert_eq!(backend_name(&c, main, "GET http://img.abc.com/x HTTP/1.1\r\nHost: img.abc.com\r\n\r\n"), "imgserver");
        // HAProxy drops the default port from both before the ACLs run.
        assert_eq!(backend_name(&c, main, "GET http://www.abc.com:80/ HTTP/1.1\r\nHost: www.abc.com:80\r\n\r\n"), "webserver");
        // No Host: the authority stands for it.
        assert_eq!(backend_name(&c, main, "GET http://img.abc.com/x HTTP/1.0\r\n\r\n"), "imgserver");
    }

    #[test]
    fn no_backend_is_503_and_deny_is_its_status() {
        let c = config();
        let bare = fe_index(&c, "bare");
        assert_eq!(backend_name(&c, bare, "GET / HTTP/1.1\r\n\r\n"), "reply 503");
        let mut h = head("GET /x HTTP/1.1\r\n\r\n");
        let Routed::Reply(r) = route_request(&c.frontends[bare], &c.http.frontends[bare], &mut h, "192.0.2.50".parse().unwrap(), None)
        else {
            panic!()
        };
        assert_eq!((r.status, r.termination.http().to_string().as_str(), r.close), (429, "PR--", true), "httpclose from defaults");
        assert!(r.bytes.starts_with(b"HTTP/1.1 429 Too Many Requests\r\n"));
        let mut h = head("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
        let Routed::Reply(r) = route_request(&c.frontends[bare], &c.http.frontends[bare], &mut h, "192.0.2.50".parse().unwrap(), None)
        else {
            panic!()
        };
        assert!(r.close);
    }

    fn servers(web2_up: bool) -> Vec<CookieServer<'static>> {
        vec![CookieServer { cookie: Some("1"), up: true }, CookieServer { cookie: Some("2"), up: web2_up }]
    }

    fn to_webserver(c: &Config, text: &str, web2_up: bool) -> Txn {
        let main = fe_index(c, "main");
        let mut h = head(text);
        let client = "192.0.2.50".parse().unwrap();
        let Routed::Backend(b) = route_request(&c.frontends[main], &c.http.frontends[main], &mut h, client, None) else { panic!() };
        match prepare_for_backend(&c.http.frontends[main], b, &c.backends[b], &c.http.backends[b], &servers(web2_up), h, client, None) {
            Prepared::Forward(t) => t,
            Prepared::Reply(r) => panic!("unexpected reply {}", r.status),
        }
    }

    fn written(t: &Txn) -> String {
        let mut out = Vec::new();
        t.write_request(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_first_response_inserts_the_cookie_and_replays_stick() {
        let c = config();
        let b = c.backends.iter().position(|b| b.name == "webserver").unwrap();
        let main = fe_index(&c, "main");
        let mut t = to_webserver(&c, "GET / HTTP/1.1\r\nHost: www.abc.com\r\n\r\n", true);
        assert_eq!(t.persist_to, None);
        assert_eq!(
            written(&t),
            "GET / HTTP/1.1\r\nHost: www.abc.com\r\nX-Forwarded-For: 192.0.2.50\r\nConnection: close\r\n\r\n",
            "forwardfor appended, httpclose toward the server"
        );
        // ETag makes it cacheable, so `nocache` marks it private.
        let mut resp = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: \"v1\"\r\n\r\n").unwrap().unwrap();
        let Responded::Forward { framing, conn, .. } =
            t.on_response(&c.http.frontends[main], &c.http.backends[b], &servers(true), Some(1), &mut resp, None)
        else {
            panic!()
        };
        assert_eq!(framing, BodyFraming::Length(2));
        assert!(!conn.client_keep_alive);
        let mut out = Vec::new();
        resp.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: \"v1\"\r\nX-Backend: web\r\nSet-Cookie: SERVERID=2; path=/\r\nCache-control: private\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(t.termination(Cause::Normal, Phase::None).http().to_string(), "--NI");

        // Replaying the cookie: straight to web2, cookie stripped (indirect), nothing set.
        let mut t = to_webserver(&c, "GET / HTTP/1.1\r\nHost: www.abc.com\r\nCookie: SERVERID=2; lang=en\r\n\r\n", true);
        assert_eq!(t.persist_to, Some(1));
        assert!(written(&t).contains("\r\nCookie: lang=en\r\n"));
        let mut resp = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap().unwrap();
        t.on_response(&c.http.frontends[main], &c.http.backends[b], &servers(true), Some(1), &mut resp, None);
        assert!(!resp.headers.contains("set-cookie"));
        assert_eq!(t.termination(Cause::Normal, Phase::None).http().to_string(), "--VN");

        // web2 DOWN: the cookie is ignored and a new one names the server that answered.
        let mut t = to_webserver(&c, "GET / HTTP/1.1\r\nHost: www.abc.com\r\nCookie: SERVERID=2\r\n\r\n", false);
        assert_eq!(t.persist_to, None);
        assert!(!written(&t).contains("Cookie:"));
        let mut resp = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap().unwrap();
        t.on_response(&c.http.frontends[main], &c.http.backends[b], &servers(false), Some(0), &mut resp, None);
        assert_eq!(resp.headers.get("set-cookie"), Some(&b"SERVERID=1; path=/"[..]));
        assert_eq!(t.termination(Cause::Normal, Phase::None).http().to_string(), "--DI");
    }

    #[test]
    fn listen_rules_run_once_and_redirect() {
        let c = config();
        let site = fe_index(&c, "site");
        let b = c.frontends[site].default_backend.unwrap();
        let client = "192.0.2.50".parse().unwrap();
        let mut h = head("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
        let Routed::Backend(routed) = route_request(&c.frontends[site], &c.http.frontends[site], &mut h, client, None) else { panic!() };
        assert_eq!(routed, b);
        let Prepared::Forward(t) =
            prepare_for_backend(&c.http.frontends[site], b, &c.backends[b], &c.http.backends[b], &[], h, client, None)
        else {
            panic!()
        };
        assert_eq!(t.head.headers.get_all("x-seen").count(), 1, "a listen's rules must not run twice");
        assert!(t.conn.client_keep_alive && t.conn.server_keep_alive);
        let mut h = head("GET /p?q HTTP/1.1\r\nHost: h\r\nX-Proto: http\r\n\r\n");
        let Routed::Reply(r) = route_request(&c.frontends[site], &c.http.frontends[site], &mut h, client, None) else { panic!() };
        assert_eq!(r.bytes, b"HTTP/1.1 301 Moved Permanently\r\nContent-length: 0\r\nLocation: https://h/p?q\r\n\r\n");
        assert_eq!((r.status, r.termination.http().to_string().as_str(), r.close), (301, "LR--", false));
    }

    #[test]
    fn early_replies_close_when_a_body_is_left_unread() {
        let c = config();
        let site = fe_index(&c, "site");
        let client = "192.0.2.50".parse().unwrap();
        let mut h = head("POST /p HTTP/1.1\r\nHost: h\r\nX-Proto: http\r\nContent-Length: 10\r\n\r\n");
        let Routed::Reply(r) = route_request(&c.frontends[site], &c.http.frontends[site], &mut h, client, None) else { panic!() };
        assert!(r.close, "the unread body would be taken for the next request");
        assert!(r.bytes.ends_with(b"Connection: close\r\n\r\n"));
        let mut h = head("GET /p HTTP/1.0\r\nHost: h\r\nX-Proto: http\r\n\r\n");
        let Routed::Reply(r) = route_request(&c.frontends[site], &c.http.frontends[site], &mut h, client, None) else { panic!() };
        assert!(r.close, "an HTTP/1.0 client without keep-alive");
    }

    #[test]
    fn uri_balancing_gets_a_hash() {
        let c = config();
        let main = fe_index(&c, "main");
        let b = c.backends.iter().position(|b| b.name == "imgserver").unwrap();
        let client = "192.0.2.50".parse().unwrap();
        let h = head("GET /logo.png?v=2 HTTP/1.1\r\nHost: img.abc.com\r\n\r\n");
        let Prepared::Forward(t) =
            prepare_for_backend(&c.http.frontends[main], b, &c.backends[b], &c.http.backends[b], &[], h, client, None)
        else {
            panic!()
        };
        assert_eq!(t.balance_hash, Some(crate::http::balance_key::sdbm(b"/logo.png")));
        assert_eq!(t.cookie, Lookup::NOT_CONFIGURED);
        assert_eq!(t.termination(Cause::Normal, Phase::None).http().to_string(), "----");
    }

    #[test]
    fn bad_responses_become_502_and_interim_ones_pass() {
        let c = config();
        let main = fe_index(&c, "main");
        let b = c.backends.iter().position(|b| b.name == "webserver").unwrap();
        let mut t = to_webserver(&c, "POST / HTTP/1.1\r\nHost: www.abc.com\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", true);
        assert_eq!(t.request_body().advance(b"abcNEXT").unwrap().consumed, 3);
        let mut cont = parse_response(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap().unwrap();
        assert!(matches!(
            t.on_response(&c.http.frontends[main], &c.http.backends[b], &servers(true), Some(0), &mut cont, None),
            Responded::Forward { interim: true, framing: BodyFraming::None, .. }
        ));
        let mut switch = parse_response(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").unwrap().unwrap();
        let Responded::Reply(r) = t.on_response(&c.http.frontends[main], &c.http.backends[b], &servers(true), Some(0), &mut switch, None)
        else {
            panic!()
        };
        assert_eq!((r.status, r.termination.http().to_string().as_str()), (502, "PHNN"));
        let fe = &c.http.frontends[main];
        assert_eq!(bad_request(&HeadError::TooLarge, Some(fe)).status, 431);
        let timeout = request_timeout(Some(fe));
        assert_eq!((timeout.status, timeout.termination.http().to_string().as_str(), timeout.close), (408, "cR--", true));
    }
}
