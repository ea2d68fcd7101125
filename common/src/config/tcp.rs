//! Layer-4 rules and samples: `tcp-request connection|session|content accept|reject|silent-drop
//! [if|unless COND]`, `tcp-response content accept|reject|close [if|unless COND]`, and the
//! integer matching of `src_port`, `dst_port` and `nbsrv()` ACLs (HAProxy's `-m int`).

use serde::{Deserialize, Serialize};

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
    pub cond: Option<super::http::Cond>,
}

/// An integer comparison operator (`eq`, `ge`, `gt`, `le`, `lt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntOp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

/// One integer pattern: an inclusive range (`80`, `1024:65535`, `:1023`, `1024:`) or a
/// comparison with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntPattern {
    Range(i64, i64),
    Cmp(IntOp, i64),
}

/// Integer matching: the sample matches if any pattern does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntMatcher {
    pub patterns: Vec<IntPattern>,
}

impl IntMatcher {
    pub fn matches(&self, v: i64) -> bool {
        self.patterns.iter().any(|p| match *p {
            IntPattern::Range(lo, hi) => lo <= v && v <= hi,
            IntPattern::Cmp(IntOp::Eq, x) => v == x,
            IntPattern::Cmp(IntOp::Ge, x) => v >= x,
            IntPattern::Cmp(IntOp::Gt, x) => v > x,
            IntPattern::Cmp(IntOp::Le, x) => v <= x,
            IntPattern::Cmp(IntOp::Lt, x) => v < x,
        })
    }

    /// Parses the patterns as HAProxy does: an operator applies to the one value after it.
    pub fn parse(words: &[String]) -> Result<IntMatcher, String> {
        let int = |w: &str| w.parse::<i64>().map_err(|_| format!("{w:?} is not an integer"));
        let mut patterns = Vec::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            let op = match w.as_str() {
                "eq" => Some(IntOp::Eq),
                "ge" => Some(IntOp::Ge),
                "gt" => Some(IntOp::Gt),
                "le" => Some(IntOp::Le),
                "lt" => Some(IntOp::Lt),
                _ => None,
            };
            if let Some(op) = op {
                let v = it.next().ok_or_else(|| format!("`{w}` needs a value"))?;
                patterns.push(IntPattern::Cmp(op, int(v)?));
                continue;
            }
            let pattern = match w.split_once(':') {
                Some(("", hi)) => IntPattern::Range(i64::MIN, int(hi)?),
                Some((lo, "")) => IntPattern::Range(int(lo)?, i64::MAX),
                Some((lo, hi)) => IntPattern::Range(int(lo)?, int(hi)?),
                None => {
                    let v = int(w)?;
                    IntPattern::Range(v, v)
                }
            };
            patterns.push(pattern);
        }
        if patterns.is_empty() {
            return Err("no integer pattern".into());
        }
        Ok(IntMatcher { patterns })
    }
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
