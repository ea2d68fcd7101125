//! Checks of `tcp-request content` rules and `tcp-request inspect-delay` in a frontend or
//! listen: mode tcp only (hakeeper does not run them before HTTP parsing yet), ACLs on layer-4
//! and content fetches only, and HAProxy's warning for rules that read the request's bytes
//! without a delay to wait for them ("these rules will randomly find their contents").

use super::super::http::{Acl, AclTest, Cond};
use super::super::tcp::TcpRule;
use super::Checker;
use crate::config::model::Mode;
use crate::config::raw::RawProxy;
use std::time::Duration;

fn acls_of<'a>(acls: &'a [Acl], cond: Option<&Cond>) -> Vec<&'a Acl> {
    cond.map(|c| c.any_of.iter().flatten().filter_map(|r| acls.get(r.acl)).collect()).unwrap_or_default()
}

pub(super) fn check_content_rules(c: &mut Checker, path: &str, mode: Mode, p: &RawProxy, acls: &[Acl], rules: &[TcpRule], delay: Duration) {
    if mode == Mode::Http {
        if !rules.is_empty() {
            c.error(
                format!("{path}.tcp_request_content"),
                "`tcp_request_content` is supported in mode tcp only; in mode http use `http_request` rules",
            );
        }
        if p.tcp_request_inspect_delay.is_some() {
            c.warn(format!("{path}.tcp_request_inspect_delay"), "`tcp_request_inspect_delay` has no effect in mode http");
        }
        return;
    }
    let mut reads_content = false;
    for (j, r) in rules.iter().enumerate() {
        for acl in acls_of(acls, r.cond.as_ref()) {
            if acl.tests.iter().any(AclTest::is_response_content) {
                c.error(format!("{path}.tcp_request_content[{j}]"), super::tcp_response::response_only(&acl.name));
            } else if !acl.tests.iter().all(|t| t.is_layer4() || t.is_content() || t.is_tls()) {
                c.error(
                    format!("{path}.tcp_request_content[{j}]"),
                    format!(
                        "ACL {:?} reads HTTP (layer 7), which mode tcp does not parse; only layer-4 fetches, req.len, req.payload*, req.ssl_* \
                         can be used",
                        acl.name
                    ),
                );
            }
            reads_content |= acl.tests.iter().any(AclTest::is_content);
        }
    }
    if reads_content && delay.is_zero() {
        c.warn(
            format!("{path}.tcp_request_content"),
            "rules read the request's bytes without `tcp_request_inspect_delay`: they decide on whatever has arrived at \
             accept, as in HAProxy (set an inspect delay to wait for the data)",
        );
    }
    if p.tcp_request_inspect_delay.is_some() && rules.is_empty() {
        c.warn(
            format!("{path}.tcp_request_inspect_delay"),
            "`tcp_request_inspect_delay` without `tcp_request_content` rules: nothing waits for data",
        );
    }
}
