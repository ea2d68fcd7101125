//! Layer-4 rules and samples: `tcp-request connection|session|content accept|reject|silent-drop
//! [if|unless COND]`, `tcp-response content accept|reject|close [if|unless COND]`. The
//! integer matching of `src_port`, `dst_port` and `nbsrv()` ACLs (HAProxy's `-m int`) is in
//! [`super::pattern`].

use serde::{Deserialize, Serialize};

pub use super::pattern::{IntMatcher, IntOp, IntPattern};

/// What a `tcp-request connection` rule does when its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TcpAction {
    /// Stops evaluating the rules: the connection is accepted.
    Accept,
    /// The connection is closed at once (counted in `dcon`, not logged, as HAProxy).
    Reject,
    /// The connection is closed without telling the client (HAProxy's `silent-drop`): no FIN;
    /// a TCP_REPAIR close when the worker may, else a reset that dies at the first hop
    /// (TTL 1). Counted in `dreq`, as HAProxy's action counts it at every stage.
    SilentDrop,
    /// `tcp-response content close`: the server connection is closed at once (no linger);
    /// what was already read from it still goes to the client, which is then closed too.
    Close,
    /// `track-scN src [table T]`: the connection is counted in the client's entry of table
    /// `table` (an index into `HttpConfig::stick_tables`) and tracked on counter `sc`; the
    /// rules go on.
    Track { sc: u8, table: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpRule {
    pub action: TcpAction,
    pub cond: Option<super::acl::Cond>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> IntMatcher {
        IntMatcher::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn integer_patterns_as_haproxy_reads_them() {
        assert!(m("80 443").matches(443) && !m("80 443").matches(8080));
        assert!(m("1024:65535").matches(1024) && !m("1024:65535").matches(1023));
        assert!(m(":1023").matches(0) && m("1024:").matches(60000));
        assert!(m("lt 1").matches(0) && !m("lt 1").matches(1));
        assert!(m("ge 2").matches(2) && m("gt 2").matches(3) && m("le 2").matches(2) && m("eq 2").matches(2));
        assert!(IntMatcher::parse(&["lt".into()]).is_err());
        assert!(IntMatcher::parse(&["x".into()]).is_err());
        assert!(IntMatcher::parse(&[]).is_err());
    }
}
