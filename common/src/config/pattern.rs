//! How an ACL compares a sample with its patterns: HAProxy's match methods (configuration.txt
//! section 7.1.3) `-m str|beg|end|sub|dir|dom|reg|found|len|int|ip`, with `-i` for case-insensitive
//! text. A string sample is cast as HAProxy's `c_str2int()` and `c_str2addr()` do before an
//! integer or address match, and a sample that cannot be cast matches nothing.
//!
//! Regular expressions use the `regex` crate, not PCRE: backreferences and look-around are
//! refused at load time instead of being matched differently.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;

/// Text comparisons (`-m str|beg|end|sub|dir|dom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrMatch {
    Exact,
    Prefix,
    Suffix,
    Substring,
    /// `-m dir`: a `/`-delimited part of the sample (`?` also ends one) equals the pattern.
    Dir,
    /// `-m dom`: a part delimited by `/`, `?`, `.` or `:` equals the pattern.
    Dom,
}

impl StrMatch {
    /// The delimiters of a word match (HAProxy's `match_word()`), none for the other methods.
    fn delimiters(self) -> &'static [u8] {
        match self {
            StrMatch::Dir => b"/?",
            StrMatch::Dom => b"/?.:",
            _ => b"",
        }
    }
}

/// A compiled `-m reg` pattern; in the config it travels as its source text (and `-i`), and
/// is compiled again when the worker reads it.
#[derive(Debug, Clone)]
pub struct Regex {
    pub source: String,
    pub ignore_case: bool,
    compiled: regex::bytes::Regex,
}

impl Regex {
    pub fn new(source: &str, ignore_case: bool) -> Result<Regex, String> {
        let compiled = regex::bytes::RegexBuilder::new(source)
            .case_insensitive(ignore_case)
            // The sample is bytes; `.` must not refuse a byte that is not UTF-8.
            .unicode(false)
            .build()
            .map_err(|e| format!("invalid regular expression {source:?}: {e}"))?;
        Ok(Regex { source: source.to_string(), ignore_case, compiled })
    }

    pub fn is_match(&self, sample: &[u8]) -> bool {
        self.compiled.is_match(sample)
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.source == other.source && self.ignore_case == other.ignore_case
    }
}

impl Eq for Regex {}

impl Serialize for Regex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.source, self.ignore_case).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Regex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Regex, D::Error> {
        let (source, ignore_case) = <(String, bool)>::deserialize(d)?;
        Regex::new(&source, ignore_case).map_err(serde::de::Error::custom)
    }
}

/// How a string (or binary) sample matches: any pattern matching is enough.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrMatcher {
    /// `-m str|beg|end|sub`; with `ignore_case` (`-i`) the patterns are stored lowercased.
    Text { how: StrMatch, ignore_case: bool, patterns: Vec<String> },
    /// `-m found`: the sample exists, whatever its value.
    Found,
    /// `-m reg`.
    Regex(Vec<Regex>),
    /// `-m len`: the sample's length against integer patterns.
    Len(IntMatcher),
    /// `-m int`: the sample read as an integer.
    Int(IntMatcher),
    /// `-m ip`: the sample read as an IPv4 or IPv6 address, in one of the networks.
    Ip(Vec<IpNet>),
}

impl StrMatcher {
    pub fn text(how: StrMatch, ignore_case: bool, patterns: Vec<String>) -> StrMatcher {
        let patterns = if ignore_case { patterns.into_iter().map(|p| p.to_ascii_lowercase()).collect() } else { patterns };
        StrMatcher::Text { how, ignore_case, patterns }
    }

    /// Whether `sample` matches any pattern.
    pub fn matches(&self, sample: &[u8]) -> bool {
        match self {
            StrMatcher::Text { how, ignore_case, patterns } => {
                patterns.iter().any(|p| text_matches(*how, *ignore_case, sample, p.as_bytes()))
            }
            StrMatcher::Found => true,
            StrMatcher::Regex(res) => res.iter().any(|r| r.is_match(sample)),
            StrMatcher::Len(m) => m.matches(i64::try_from(sample.len()).unwrap_or(i64::MAX)),
            StrMatcher::Int(m) => str_to_int(sample).is_some_and(|v| m.matches(v)),
            StrMatcher::Ip(nets) => str_to_addr(sample).is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
        }
    }
}

fn text_matches(how: StrMatch, ignore_case: bool, sample: &[u8], p: &[u8]) -> bool {
    let eq = |a: &[u8], b: &[u8]| if ignore_case { a.eq_ignore_ascii_case(b) } else { a == b };
    match how {
        StrMatch::Exact => eq(sample, p),
        StrMatch::Prefix => sample.len() >= p.len() && eq(&sample[..p.len()], p),
        StrMatch::Suffix => sample.len() >= p.len() && eq(&sample[sample.len() - p.len()..], p),
        StrMatch::Substring => p.is_empty() || sample.windows(p.len()).any(|w| eq(w, p)),
        StrMatch::Dir | StrMatch::Dom => word_matches(how.delimiters(), sample, p, eq),
    }
}

/// HAProxy's `match_word()`: the pattern, stripped of delimiters at both ends, equals a run of
/// the sample that starts at its beginning or after a delimiter and ends at its end or before a
/// delimiter. `-m dom` with `abc.com` matches `www.abc.com:80` but not `xabc.com`.
fn word_matches(delims: &[u8], sample: &[u8], p: &[u8], eq: impl Fn(&[u8], &[u8]) -> bool) -> bool {
    let is_delim = |b: &u8| delims.contains(b);
    let start = p.iter().position(|b| !is_delim(b)).unwrap_or(p.len());
    let end = p.iter().rposition(|b| !is_delim(b)).map_or(start, |i| i + 1);
    let word = &p[start..end];
    if word.len() > sample.len() {
        return false;
    }
    (0..=sample.len() - word.len()).any(|at| {
        let starts_word = at == 0 || is_delim(&sample[at - 1]);
        let after = at + word.len();
        let ends_word = after == sample.len() || is_delim(&sample[after]);
        starts_word && ends_word && eq(&sample[at..after], word)
    })
}

/// HAProxy's `c_str2int()` (`read_int64()`): an empty sample cannot be cast; otherwise an
/// optional sign and the leading digits, 0 when there are none, saturating.
pub fn str_to_int(sample: &[u8]) -> Option<i64> {
    if sample.is_empty() {
        return None;
    }
    let (neg, digits) = match sample.first() {
        Some(b'-') => (true, &sample[1..]),
        Some(b'+') => (false, &sample[1..]),
        _ => (false, sample),
    };
    let mut v: i64 = 0;
    for d in digits.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
    }
    Some(if neg { -v } else { v })
}

/// HAProxy's `c_str2addr()`: the whole sample as an IPv4, else IPv6, address.
pub fn str_to_addr(sample: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(sample).ok()?.parse().ok()
}

/// An address block, as `src` ACLs and `forwardfor except` take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl IpNet {
    /// Whether `ip` is in this block. An IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix_len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix_len.min(32))) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix_len == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix_len.min(128))) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
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
    use crate::config::http_syntax::parse_net;

    fn ints(s: &str) -> IntMatcher {
        IntMatcher::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn text_methods() {
        let m = |how, ic, p: &str| StrMatcher::text(how, ic, vec![p.to_string()]);
        assert!(m(StrMatch::Exact, true, "www.ABC.com").matches(b"WWW.abc.COM"));
        assert!(!m(StrMatch::Exact, true, "www.abc.com").matches(b"www.abc.com:80"));
        assert!(!m(StrMatch::Exact, false, "www.abc.com").matches(b"WWW.abc.com"));
        assert!(m(StrMatch::Prefix, false, "/api").matches(b"/api/v1"));
        assert!(!m(StrMatch::Prefix, false, "/api").matches(b"/ap"));
        assert!(m(StrMatch::Suffix, true, ".JPG").matches(b"/a/b.jpg"));
        assert!(m(StrMatch::Substring, false, "img").matches(b"/x/img/y"));
        assert!(!m(StrMatch::Substring, false, "img").matches(b"/x/im"));
        assert!(StrMatcher::Found.matches(b""));
    }

    #[test]
    fn word_methods_as_haproxy_match_word() {
        let m = |how, ic, p: &str| StrMatcher::text(how, ic, vec![p.to_string()]);
        let dom = m(StrMatch::Dom, true, "abc.com");
        assert!(dom.matches(b"www.ABC.com") && dom.matches(b"abc.com") && dom.matches(b"www.abc.com:8080"));
        assert!(!dom.matches(b"xabc.com") && !dom.matches(b"abc.community") && !dom.matches(b"ab"));
        assert!(m(StrMatch::Dom, false, ".abc.").matches(b"www.abc.com"), "delimiters around the pattern are dropped");
        assert!(!m(StrMatch::Dom, false, "ABC").matches(b"www.abc.com"), "case counts without -i");
        let dir = m(StrMatch::Dir, false, "img");
        assert!(dir.matches(b"/static/img/a.png") && dir.matches(b"/img") && dir.matches(b"/x/img?y=1"));
        assert!(!dir.matches(b"/images/a.png") && !dir.matches(b"/x/img.png"), "a dot does not end a directory");
        assert!(m(StrMatch::Dir, false, "/api/v1/").matches(b"/api/v1/users"), "a pattern may span several parts");
        assert!(!m(StrMatch::Dir, false, "/api/v1/").matches(b"/xapi/v1/users"));
    }

    #[test]
    fn regex_len_int_and_ip_methods() {
        let re = StrMatcher::Regex(vec![Regex::new("^/api/v[0-9]+/", false).unwrap()]);
        assert!(re.matches(b"/api/v2/x") && !re.matches(b"/API/v2/x") && !re.matches(b"/api/vx/"));
        let rei = StrMatcher::Regex(vec![Regex::new("^/api/", true).unwrap()]);
        assert!(rei.matches(b"/API/x"));
        assert!(StrMatcher::Regex(vec![Regex::new("a.c", false).unwrap()]).matches(b"a\xffc"), "any byte");
        assert!(Regex::new("(a", false).is_err() && Regex::new("(a)\\1", false).is_err());
        assert!(StrMatcher::Len(ints("gt 3")).matches(b"abcd") && !StrMatcher::Len(ints("gt 3")).matches(b"abc"));
        let int = StrMatcher::Int(ints("ge 100"));
        assert!(int.matches(b"150") && int.matches(b"100kb") && !int.matches(b"99") && !int.matches(b""));
        assert!(StrMatcher::Int(ints("0")).matches(b"abc"), "no digits: 0, as read_int64()");
        assert!(StrMatcher::Int(ints("-5")).matches(b"-5"));
        assert_eq!(str_to_int(b"99999999999999999999999"), Some(i64::MAX));
        let ip = StrMatcher::Ip(vec![parse_net("10.0.0.0/8").unwrap(), parse_net("2001:db8::/32").unwrap()]);
        assert!(ip.matches(b"10.1.2.3") && ip.matches(b"2001:db8::1") && !ip.matches(b"192.0.2.1") && !ip.matches(b"10.1.2.3, x"));
    }

    #[test]
    fn regexes_travel_as_their_source() {
        let m = StrMatcher::Regex(vec![Regex::new("^a+$", true).unwrap()]);
        let text = ron::to_string(&m).unwrap();
        let back: StrMatcher = ron::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert!(back.matches(b"AAA"));
        assert!(ron::from_str::<StrMatcher>("Regex([(\"(\", false)])").is_err(), "an invalid one is refused on receipt");
    }
}
