//! Evaluating ACLs and conditions against a request, as HAProxy does: `hdr(host) -i x` is an
//! exact, case-insensitive match on each comma-separated value of each Host line (so
//! `Host: www.abc.com:80` does not match `www.abc.com`), and a condition is an OR of ANDs.

use super::head::{RequestHead, Version};
use super::headers::Headers;
use super::uri;
use crate::tcp_rules::{self, ConnView};
use hakeeper_common::config::{Acl, AclTest, Cond};
use std::net::IpAddr;

/// What ACLs may look at.
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    pub head: &'a RequestHead,
    /// The lines `hdr()` reads: the request's, or the response's in `http-response` rules
    /// (as HAProxy's `hdr` means `res.hdr` there).
    pub headers: &'a Headers,
    pub client: IpAddr,
    /// The connection, for layer-4 fetches (`dst`, `so_id`, `srv_is_up`, ...); `None` where
    /// no ACL of the proxy reads it (they then fail), so that other proxies pay nothing.
    pub conn: Option<&'a ConnView<'a>>,
}

impl<'a> RequestView<'a> {
    pub fn new(head: &'a RequestHead, client: IpAddr, conn: Option<&'a ConnView<'a>>) -> Self {
        RequestView { head, headers: &head.headers, client, conn }
    }
}

fn test_holds(test: &AclTest, req: &RequestView<'_>) -> bool {
    match test {
        AclTest::Header { name, matcher } => {
            if *matcher == hakeeper_common::config::StrMatcher::Found {
                return req.headers.contains(name);
            }
            req.headers.elements(name).any(|v| matcher.matches(v))
        }
        AclTest::Path(m) => m.matches(uri::path(req.head.target())),
        AclTest::Url(m) => m.matches(req.head.target()),
        AclTest::Method(m) => m.matches(req.head.method()),
        AclTest::Version(m) => m.matches(match req.head.version {
            Version::Http10 => b"1.0",
            Version::Http11 => b"1.1",
        }),
        AclTest::Src(nets) => nets.iter().any(|n| n.contains(req.client)),
        AclTest::Const(v) => *v,
        AclTest::SrcPort(_)
        | AclTest::Dst(_)
        | AclTest::DstPort(_)
        | AclTest::FeName(_)
        | AclTest::Nbsrv { .. }
        | AclTest::SrvIsUp { .. }
        | AclTest::ConnSlots { .. }
        | AclTest::SoId(_)
        | AclTest::Stick(_)
        | AclTest::Tls(_) => req.conn.is_some_and(|c| tcp_rules::layer4_holds(test, c)),
        // Content fetches: mode tcp only (validation refuses them in HTTP rules).
        AclTest::ReqLen(_)
        | AclTest::Payload { .. }
        | AclTest::SslSni(_)
        | AclTest::SslHelloType(_)
        | AclTest::ResLen(_)
        | AclTest::ResPayload { .. } => false,
    }
}

/// An ACL holds when any of its tests does.
pub fn acl_holds(acl: &Acl, req: &RequestView<'_>) -> bool {
    acl.tests.iter().any(|t| test_holds(t, req))
}

/// Whether `cond` holds; `acls` is the proxy's list its references index into. A reference
/// out of range (impossible after validation) counts as false.
pub fn cond_holds(cond: &Cond, acls: &[Acl], req: &RequestView<'_>) -> bool {
    let any = cond.any_of.iter().any(|all| all.iter().all(|r| acls.get(r.acl).is_some_and(|a| acl_holds(a, req)) != r.negate));
    any != cond.unless
}

/// Whether any of `acls` reads the connection beyond the client's address: only then does an
/// HTTP session build a [`ConnView`] for its rules.
pub fn reads_connection(acls: &[Acl]) -> bool {
    acls.iter().flat_map(|a| &a.tests).any(AclTest::reads_connection)
}

/// A rule's optional condition: none means always.
pub fn applies(cond: Option<&Cond>, acls: &[Acl], req: &RequestView<'_>) -> bool {
    cond.is_none_or(|c| cond_holds(c, acls, req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_request;
    use hakeeper_common::config::http_syntax::{parse_cond, parse_criterion, split_words, AclTable};

    fn head(text: &str) -> RequestHead {
        parse_request(text.as_bytes()).unwrap().unwrap()
    }

    fn check(criterion: &str, request: &str, client: &str) -> bool {
        let test = parse_criterion(&split_words(criterion).unwrap()).unwrap();
        let h = head(request);
        let acl = Acl { name: "t".into(), tests: vec![test] };
        acl_holds(&acl, &RequestView::new(&h, client.parse().unwrap(), None))
    }

    const WWW: &str = "GET /img/logo.PNG?x=1 HTTP/1.1\r\nHost: WWW.abc.com\r\n\r\n";

    #[test]
    fn match_methods_on_request_samples() {
        let req = "POST /api/v2/items HTTP/1.1\r\nHost: shop.example.com\r\nContent-Length: 4096\r\nX-Forwarded-For: 10.2.3.4\r\n\r\n";
        assert!(check("path -m reg ^/api/v[0-9]+/", req, "192.0.2.1"));
        assert!(!check("path -m reg ^/api/v1/", req, "192.0.2.1"));
        assert!(check("hdr(content-length) -m int gt 1024", req, "192.0.2.1"));
        assert!(!check("hdr(content-length) -m int le 1024", req, "192.0.2.1"));
        assert!(check("hdr(x-forwarded-for) -m ip 10.0.0.0/8", req, "192.0.2.1"));
        assert!(check("hdr(host) -m len gt 10", req, "192.0.2.1"));
        assert!(check("hdr(host) -i -m reg ^SHOP\\.", req, "192.0.2.1"));
        assert!(check("method -m sub OS", req, "192.0.2.1") && check("method -m end -i st", req, "192.0.2.1"));
        assert!(!check("method -i -m sub -m end O", req, "192.0.2.1"), "the last -m wins");
    }

    #[test]
    fn host_matches_exactly_and_port_suffix_does_not() {
        assert!(check("hdr(host) -i www.abc.com", WWW, "10.0.0.1"));
        assert!(!check("hdr(host) www.abc.com", WWW, "10.0.0.1"), "case matters without -i");
        assert!(!check("hdr(host) -i www.abc.com", "GET / HTTP/1.1\r\nHost: www.abc.com:80\r\n\r\n", "10.0.0.1"));
        assert!(!check("hdr(host) -i www.abc.com", "GET / HTTP/1.1\r\n\r\n", "10.0.0.1"));
        assert!(check("hdr(host) -i img.abc.com www.abc.com", WWW, "10.0.0.1"));
    }

    #[test]
    fn header_prefix_suffix_and_found() {
        assert!(check("hdr_beg(host) -i www.", WWW, "10.0.0.1"));
        assert!(check("hdr_end(host) -i .abc.com", WWW, "10.0.0.1"));
        assert!(!check("hdr_end(host) .org", WWW, "10.0.0.1"));
        assert!(check("hdr(x-list) b", "GET / HTTP/1.1\r\nX-List: a, b\r\n\r\n", "10.0.0.1"), "values split on commas");
        assert!(check("hdr(x-a) -m found", "GET / HTTP/1.1\r\nX-A:\r\n\r\n", "10.0.0.1"));
        assert!(!check("hdr(x-b) -m found", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", "10.0.0.1"));
    }

    #[test]
    fn paths_ignore_the_query_and_the_authority() {
        assert!(check("path /img/logo.PNG", WWW, "10.0.0.1"));
        assert!(check("path_beg /img/", WWW, "10.0.0.1"));
        assert!(check("path_end -i .png .jpg", WWW, "10.0.0.1"));
        assert!(!check("path_end .png", WWW, "10.0.0.1"));
        assert!(check("path_beg /api", "GET http://x.com/api/v1?q HTTP/1.1\r\n\r\n", "10.0.0.1"));
        assert!(check("url_beg /img/logo.PNG?x", WWW, "10.0.0.1"));
    }

    #[test]
    fn source_method_and_version() {
        assert!(check("src 10.0.0.0/8", WWW, "10.9.9.9"));
        assert!(check("src 10.0.0.0/8", WWW, "::ffff:10.9.9.9"));
        assert!(!check("src 10.0.0.0/8 192.0.2.0/24", WWW, "172.16.0.1"));
        assert!(check("method GET HEAD", WWW, "10.0.0.1"));
        assert!(!check("method get", WWW, "10.0.0.1"));
        assert!(check("method -i get", WWW, "10.0.0.1"));
        assert!(check("req.ver 1.1", WWW, "10.0.0.1"));
    }

    #[test]
    fn connection_fetches_need_the_connection_view() {
        let poll = mio::Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), mio::Token(1)).unwrap();
        let link = crate::shared::ThreadLink { waker, inbox: std::sync::Mutex::new(Vec::new()) };
        let config = crate::testkit::worker_config(vec![crate::testkit::tcp_backend(
            "web",
            vec![crate::testkit::server(0, "w1", "127.0.0.1:1".parse().unwrap())],
        )]);
        let shared = crate::shared::Shared::new(config, vec![link], 1);
        let conn = ConnView::at_accept("10.0.0.1:5000".parse().unwrap(), Some("10.0.0.9:8080".parse().unwrap()), "site", 0, &shared);
        let h = head(WWW);
        let acl = |c: &str| Acl { name: "t".into(), tests: vec![parse_criterion(&split_words(c).unwrap()).unwrap()] };
        let mut up = acl("srv_is_up(web/w1)");
        if let AclTest::SrvIsUp { id, .. } = &mut up.tests[0] {
            *id = (0, 0);
        }
        let with = RequestView::new(&h, "10.0.0.1".parse().unwrap(), Some(&conn));
        let without = RequestView::new(&h, "10.0.0.1".parse().unwrap(), None);
        for c in ["so_id 1", "dst 10.0.0.9", "dst_port 8080", "src_port 5000", "fe_name site"] {
            assert!(acl_holds(&acl(c), &with), "{c}");
            assert!(!acl_holds(&acl(c), &without), "{c} without a view");
        }
        assert!(acl_holds(&up, &with));
        assert!(!acl_holds(&acl("so_id 2"), &with));
        assert!(reads_connection(&[acl("so_id 1")]) && !reads_connection(&[acl("src 10.0.0.0/8"), acl("path /")]));
    }

    #[test]
    fn conditions_combine_and_negate() {
        let mut t = AclTable::default();
        t.define("www", parse_criterion(&split_words("hdr(host) -i www.abc.com").unwrap()).unwrap());
        t.define("img", parse_criterion(&split_words("path_beg /img").unwrap()).unwrap());
        t.define("local", parse_criterion(&split_words("src 127.0.0.0/8").unwrap()).unwrap());
        let conds: Vec<(&str, bool)> = vec![
            ("if www img", true),
            ("if www !img", false),
            ("if local || www", true),
            ("if local || !www", false),
            ("unless www", false),
            ("if ! local www", true),
            ("if TRUE", true),
            ("if { path_end .PNG } local || FALSE", false),
            ("if METH_GET HTTP_1.1", true),
        ];
        let parsed: Vec<(Cond, bool)> =
            conds.iter().map(|(c, want)| (parse_cond(&split_words(c).unwrap(), &mut t).unwrap(), *want)).collect();
        let acls = t.into_acls();
        let h = head(WWW);
        let req = RequestView::new(&h, "10.0.0.1".parse().unwrap(), None);
        for ((cond, want), (text, _)) in parsed.iter().zip(&conds) {
            assert_eq!(cond_holds(cond, &acls, &req), *want, "{text}");
        }
        assert!(applies(None, &acls, &req));
    }
}
