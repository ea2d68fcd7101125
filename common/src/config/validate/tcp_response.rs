//! `tcp-response content` rules and `tcp-response inspect-delay` of a backend or listen
//! (HAProxy's `tcp_inspect_response()` rules): mode tcp only, ACLs on layer-4 and response
//! content fetches (`res.len`, `res.payload*`) only; not in a frontend, where HAProxy refuses
//! them too.

use super::super::http::{Acl, AclTest, Cond};
use super::super::http_syntax::{parse_tcp_response_rule, AclTable};
use super::super::tcp::TcpRule;
use super::Checker;
use crate::config::model::Mode;
use crate::config::raw::RawProxy;
use std::time::Duration;

/// The error for a response fetch outside these rules.
pub(super) fn response_only(acl: &str) -> String {
    format!("ACL {acl:?}: res.len and res.payload* read the server's response: only `tcp_response_content` rules can use them")
}

pub(super) fn reject_in_frontend(c: &mut Checker, path: &str, p: &RawProxy) {
    if !p.tcp_response_content.is_empty() {
        c.error(
            format!("{path}.tcp_response_content"),
            "`tcp_response_content` is not allowed in a frontend; put it in the backend or listen",
        );
    }
    if p.tcp_response_inspect_delay.is_some() {
        c.warn(format!("{path}.tcp_response_inspect_delay"), "`tcp_response_inspect_delay` has no effect in a frontend");
    }
}

pub(super) fn parse_rules(c: &mut Checker, path: &str, p: &RawProxy, table: &mut AclTable) -> Vec<TcpRule> {
    let mut rules = Vec::new();
    for (j, line) in p.tcp_response_content.iter().enumerate() {
        match parse_tcp_response_rule(line, table) {
            Ok(r) => rules.push(r),
            Err(e) => c.error(format!("{path}.tcp_response_content[{j}]"), e),
        }
    }
    rules
}

fn acls_of<'a>(acls: &'a [Acl], cond: Option<&Cond>) -> Vec<&'a Acl> {
    cond.map(|c| c.any_of.iter().flatten().filter_map(|r| acls.get(r.acl)).collect()).unwrap_or_default()
}

pub(super) fn check_rules(c: &mut Checker, path: &str, mode: Mode, p: &RawProxy, acls: &[Acl], rules: &[TcpRule], delay: Duration) {
    if mode == Mode::Http {
        if !rules.is_empty() {
            c.error(
                format!("{path}.tcp_response_content"),
                "`tcp_response_content` is supported in mode tcp only; in mode http use `http_response` rules",
            );
        }
        return;
    }
    let mut reads_content = false;
    for (j, r) in rules.iter().enumerate() {
        for acl in acls_of(acls, r.cond.as_ref()) {
            if !acl.tests.iter().all(|t| t.is_layer4() || t.is_tls() || t.is_response_content()) {
                c.error(
                    format!("{path}.tcp_response_content[{j}]"),
                    format!(
                        "ACL {:?} reads the request or HTTP, which these rules do not see; only layer-4 fetches, res.len and res.payload* \
                         can be used",
                        acl.name
                    ),
                );
            }
            reads_content |= acl.tests.iter().any(AclTest::is_response_content);
        }
    }
    if reads_content && delay.is_zero() {
        c.warn(
            format!("{path}.tcp_response_content"),
            "rules read the response's bytes without `tcp_response_inspect_delay`: they decide when the server connection is \
             established, before any byte has arrived, as in HAProxy (set an inspect delay to wait for the data)",
        );
    }
    if p.tcp_response_inspect_delay.is_some() && rules.is_empty() {
        c.warn(
            format!("{path}.tcp_response_inspect_delay"),
            "`tcp_response_inspect_delay` without `tcp_response_content` rules: nothing waits for data",
        );
    }
}
