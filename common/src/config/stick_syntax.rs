//! The stick-table words of rules and ACLs, in HAProxy 2.6's syntax: `track-sc0|1|2 KEY
//! [table T]` (tcp-request and http-request), `sc-inc-gpc0(N)`, `sc-set-gpt0(N) VALUE`, and the
//! counter fetches `sc_X(N[,T])`, `scN_X([T])`, `src_X([T])` (`sc_http_req_rate(0)`,
//! `src_conn_cur`, `sc0_get_gpc0`…). Table names resolve here to indexes into
//! `HttpConfig::stick_tables`, the proxy's own table when none is named, as HAProxy's
//! `track-sc` and `src_*` default to the current proxy's table.

use super::stick_table::StickDataType;
use super::tcp::IntMatcher;
use serde::{Deserialize, Serialize};

/// The stick tables a proxy's rules may name, and its own.
#[derive(Debug, Clone, Default)]
pub struct StickScope {
    /// Table names, in `HttpConfig::stick_tables` order.
    pub names: Vec<String>,
    /// The proxy's own table.
    pub own: Option<usize>,
}

impl StickScope {
    pub fn new(names: Vec<String>, proxy: &str) -> Self {
        let own = names.iter().position(|n| n == proxy);
        StickScope { names, own }
    }

    /// `table T`, or the proxy's own.
    fn resolve(&self, named: Option<&str>, what: &str) -> Result<usize, String> {
        match named {
            Some(n) => self.names.iter().position(|t| t == n).ok_or_else(|| format!("{what}: no stick table named {n:?}")),
            None => self.own.ok_or_else(|| format!("{what}: this proxy has no stick_table; name one with `table NAME`")),
        }
    }
}

/// What `track-scN` tracks: a sample of the connection or the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackKey {
    /// `src`: the client's address.
    Src,
    /// `hdr(NAME)` / `req.hdr(NAME)`: the last value of the header (name lowercased).
    Header(String),
    /// `req.cook(NAME)` / `cook(NAME)`: the first cookie of that name.
    Cookie(String),
    /// `url_param(NAME)`: the first query-string parameter of that name.
    UrlParam(String),
}

impl TrackKey {
    pub fn is_layer4(&self) -> bool {
        matches!(self, TrackKey::Src)
    }

    /// Parses a key sample (`src`, `hdr(x-api-key)`, `req.cook(JSESSIONID)`, `url_param(id)`).
    pub fn parse(word: &str) -> Result<TrackKey, String> {
        if word == "src" {
            return Ok(TrackKey::Src);
        }
        let bad = || format!("unsupported key {word:?}: src, hdr(NAME), req.cook(NAME) and url_param(NAME) are");
        let (f, rest) = word.split_once('(').ok_or_else(bad)?;
        let arg = rest.strip_suffix(')').ok_or_else(|| format!("missing ')' in {word:?}"))?;
        if arg.is_empty() || arg.contains(',') {
            return Err(format!("{word:?}: expected one name in parentheses"));
        }
        match f {
            "hdr" | "req.hdr" => Ok(TrackKey::Header(arg.to_ascii_lowercase())),
            "req.cook" | "cook" => Ok(TrackKey::Cookie(arg.to_string())),
            "url_param" | "urlp" => Ok(TrackKey::UrlParam(arg.to_string())),
            _ => Err(bad()),
        }
    }
}

/// `track-scN KEY [table T]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// The sticky counter, 0..=2.
    pub sc: u8,
    pub key: TrackKey,
    /// Index into `HttpConfig::stick_tables`.
    pub table: usize,
}

/// Which entry a counter fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickCounter {
    /// `sc_*(N)` / `scN_*`: the entry the session tracks on counter N (in `table` if named:
    /// then only if it tracks an entry of that table's key there, HAProxy looks the key up).
    Sc(u8),
    /// `src_*`: the client address's entry in the table, looked up (not created).
    Src,
}

/// A counter fetch as an ACL: `sc0_http_req_rate gt 10`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickFetch {
    pub counter: StickCounter,
    pub data: StickDataType,
    /// `kbytes_in` / `kbytes_out`: the byte counter in kilobytes.
    pub kilo: bool,
    /// The table named in the fetch, else the proxy's own for `src_*`, else (`sc*`) the
    /// tracked entry's.
    pub table: Option<usize>,
    pub ints: IntMatcher,
}

/// The fetch suffixes after `sc_`, `scN_`, `src_` and what they read.
fn suffix(name: &str) -> Option<(StickDataType, bool)> {
    use StickDataType::*;
    Some(match name {
        "conn_cnt" => (ConnCnt, false),
        "conn_cur" => (ConnCur, false),
        "conn_rate" => (ConnRate, false),
        "sess_cnt" => (SessCnt, false),
        "sess_rate" => (SessRate, false),
        "http_req_cnt" => (HttpReqCnt, false),
        "http_req_rate" => (HttpReqRate, false),
        "http_err_cnt" => (HttpErrCnt, false),
        "http_err_rate" => (HttpErrRate, false),
        "bytes_in_rate" => (BytesInRate, false),
        "bytes_out_rate" => (BytesOutRate, false),
        "kbytes_in" => (BytesInCnt, true),
        "kbytes_out" => (BytesOutCnt, true),
        "get_gpc0" => (Gpc0, false),
        "gpc0_rate" => (Gpc0Rate, false),
        "get_gpt0" => (Gpt0, false),
        _ => return None,
    })
}

/// A counter number 0..=2.
fn sc_number(text: &str, word: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(n) if n <= 2 => Ok(n),
        _ => Err(format!("{word}: the sticky counter is 0, 1 or 2")),
    }
}

/// Parses a counter fetch and its integer patterns; `None` if `words[0]` is no such fetch.
pub fn parse_fetch(words: &[String], scope: &StickScope) -> Option<Result<StickFetch, String>> {
    let word = words.first()?;
    let (name, args) = match word.split_once('(') {
        Some((n, rest)) => (n, Some(rest.strip_suffix(')').unwrap_or(rest))),
        None => (word.as_str(), None),
    };
    let (counter, rest, args): (Option<StickCounter>, &str, Vec<&str>) = if let Some(rest) = name.strip_prefix("src_") {
        (Some(StickCounter::Src), rest, args.map(|a| vec![a]).unwrap_or_default())
    } else if let Some(rest) = name.strip_prefix("sc_") {
        let list: Vec<&str> = args.map(|a| a.split(',').collect()).unwrap_or_default();
        (None, rest, list)
    } else if let Some(rest) = ["sc0_", "sc1_", "sc2_"].iter().find_map(|p| name.strip_prefix(p)) {
        let n = name.as_bytes()[2] - b'0';
        (Some(StickCounter::Sc(n)), rest, args.map(|a| vec![a]).unwrap_or_default())
    } else {
        return None;
    };
    let (data, kilo) = suffix(rest)?;
    Some(fetch(word, counter, data, kilo, &args, &words[1..], scope))
}

fn fetch(
    word: &str,
    counter: Option<StickCounter>,
    data: StickDataType,
    kilo: bool,
    args: &[&str],
    patterns: &[String],
    scope: &StickScope,
) -> Result<StickFetch, String> {
    let (counter, table_arg) = match counter {
        Some(c) => {
            if args.len() > 1 {
                return Err(format!("{word}: at most a table name in parentheses"));
            }
            (c, args.first().copied().filter(|a| !a.is_empty()))
        }
        // `sc_X(N[,T])`.
        None => match args {
            [n] => (StickCounter::Sc(sc_number(n, word)?), None),
            [n, t] => (StickCounter::Sc(sc_number(n, word)?), Some(*t)),
            _ => return Err(format!("{word}: expected the counter number in parentheses, as sc_http_req_rate(0)")),
        },
    };
    let table = match (counter, table_arg) {
        (_, Some(t)) => Some(scope.resolve(Some(t.trim()), word)?),
        (StickCounter::Src, None) => Some(scope.resolve(None, word)?),
        (StickCounter::Sc(_), None) => None,
    };
    // `-m int` is the default and only method for these integers.
    let mut rest: &[String] = patterns;
    if rest.first().is_some_and(|w| w == "-m") {
        match rest.get(1).map(String::as_str) {
            Some("int") => rest = &rest[2..],
            other => return Err(format!("{word}: an integer takes -m int, not {other:?}")),
        }
    }
    if rest.is_empty() {
        return Err(format!("ACL on {word} has no pattern to match"));
    }
    let ints = IntMatcher::parse(rest)?;
    Ok(StickFetch { counter, data, kilo, table, ints })
}

/// `track-scN KEY [table T]`: the words after the verb.
pub fn parse_track(verb: &str, args: &[String], scope: &StickScope) -> Result<Track, String> {
    let sc = sc_number(verb.strip_prefix("track-sc").unwrap_or(""), verb)?;
    let key = TrackKey::parse(args.first().ok_or_else(|| format!("{verb} needs a key, as {verb} src"))?)?;
    let table = match args.get(1..).unwrap_or_default() {
        [] => scope.resolve(None, verb)?,
        [t, name] if t == "table" => scope.resolve(Some(name), verb)?,
        other => return Err(format!("{verb}: unexpected {:?} (expected `table NAME` or a condition)", other.join(" "))),
    };
    Ok(Track { sc, key, table })
}

/// Which `stick` rule (HAProxy's `stick match|on|store-request|store-response`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickRuleKind {
    /// Looks the request's key up; a live entry names the server.
    Match,
    /// `match` and `store-request` together.
    On,
    /// Records the request's key with the server that answered.
    StoreRequest,
    /// Records the response's key with the server that sent it.
    StoreResponse,
}

/// The key of a `stick` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickSample {
    /// A request sample (as `track-sc` keys).
    Request(TrackKey),
    /// `res.cook(NAME)`: the value of the first `Set-Cookie` of that name.
    ResCookie(String),
    /// `res.hdr(NAME)`: the last value of the response header (name lowercased).
    ResHeader(String),
}

/// Parses the words of a `stick` rule before its condition (`match|on|store-request|
/// store-response KEY [table T]`): the rule's kind, its sample and its table's index. The
/// condition is [`super::http_syntax::parse_stick_rule`]'s.
pub fn parse_stick_target(words: &[&str], scope: &StickScope) -> Result<(StickRuleKind, StickSample, usize), String> {
    let kind = match words.first().copied() {
        Some("match") => StickRuleKind::Match,
        Some("on") => StickRuleKind::On,
        Some("store-request") => StickRuleKind::StoreRequest,
        Some("store-response") => StickRuleKind::StoreResponse,
        other => return Err(format!("expected match, on, store-request or store-response, not {other:?}")),
    };
    let key = words.get(1).ok_or("a stick rule needs a key, as `on src`")?;
    let sample = match kind {
        StickRuleKind::StoreResponse => {
            let (f, rest) = key.split_once('(').ok_or_else(|| format!("store-response key {key:?}: res.cook(NAME) or res.hdr(NAME)"))?;
            let arg = rest.strip_suffix(')').filter(|a| !a.is_empty()).ok_or_else(|| format!("missing name in {key:?}"))?;
            match f {
                "res.cook" | "scook" => StickSample::ResCookie(arg.to_string()),
                "res.hdr" | "shdr" => StickSample::ResHeader(arg.to_ascii_lowercase()),
                _ => return Err(format!("store-response key {key:?}: res.cook(NAME) or res.hdr(NAME)")),
            }
        }
        _ => StickSample::Request(TrackKey::parse(key)?),
    };
    let table = match &words[2..] {
        [] => scope.resolve(None, "stick")?,
        ["table", name] => scope.resolve(Some(name), "stick")?,
        other => return Err(format!("unexpected {:?} (expected `table NAME` or a condition)", other.join(" "))),
    };
    Ok((kind, sample, table))
}

/// `sc-inc-gpc0(N)` / `sc-set-gpt0(N)`: the counter number.
pub fn parse_sc_action(verb: &str) -> Result<u8, String> {
    let arg = verb
        .split_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .ok_or_else(|| format!("{verb}: expected the counter in parentheses"))?;
    sc_number(arg, verb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn scope() -> StickScope {
        StickScope::new(vec!["fe".into(), "other".into()], "fe")
    }

    #[test]
    fn fetches_parse_in_their_three_forms() {
        let Some(Ok(f)) = parse_fetch(&w("sc_http_req_rate(0) gt 10"), &scope()) else { panic!() };
        assert_eq!((f.counter, f.data, f.table), (StickCounter::Sc(0), StickDataType::HttpReqRate, None));
        assert!(f.ints.matches(11) && !f.ints.matches(10));
        let Some(Ok(f)) = parse_fetch(&w("sc1_get_gpc0(other) -m int ge 1"), &scope()) else { panic!() };
        assert_eq!((f.counter, f.data, f.table), (StickCounter::Sc(1), StickDataType::Gpc0, Some(1)));
        let Some(Ok(f)) = parse_fetch(&w("src_conn_cur ge 3"), &scope()) else { panic!() };
        assert_eq!((f.counter, f.data, f.table), (StickCounter::Src, StickDataType::ConnCur, Some(0)));
        let Some(Ok(f)) = parse_fetch(&w("src_kbytes_in(other) gt 0"), &scope()) else { panic!() };
        assert!(f.kilo && f.data == StickDataType::BytesInCnt);
        assert!(parse_fetch(&w("path /"), &scope()).is_none());
        assert!(parse_fetch(&w("sc_no_such_thing(0) gt 1"), &scope()).is_none());
    }

    #[test]
    fn bad_fetches_say_why() {
        let err = |s: &str, sc: &StickScope| match parse_fetch(&w(s), sc) {
            Some(Err(e)) => e,
            other => panic!("{s}: {other:?}"),
        };
        assert!(err("sc_conn_cur(3) gt 1", &scope()).contains("0, 1 or 2"));
        assert!(err("sc_conn_cur gt 1", &scope()).contains("counter number"));
        assert!(err("src_conn_cur(nope) gt 1", &scope()).contains("no stick table named \"nope\""));
        assert!(err("src_conn_cur gt 1", &StickScope::new(vec!["fe".into()], "be")).contains("has no stick_table"));
        assert!(err("sc0_conn_cur", &scope()).contains("no pattern"));
        assert!(err("sc0_conn_cur -m str x", &scope()).contains("-m int"));
    }

    #[test]
    fn track_rules_parse_with_their_table() {
        assert_eq!(parse_track("track-sc0", &w("src"), &scope()), Ok(Track { sc: 0, key: TrackKey::Src, table: 0 }));
        assert_eq!(
            parse_track("track-sc2", &w("req.cook(JSESSIONID) table other"), &scope()),
            Ok(Track { sc: 2, key: TrackKey::Cookie("JSESSIONID".into()), table: 1 })
        );
        assert_eq!(parse_track("track-sc1", &w("hdr(X-Key)"), &scope()).map(|t| t.key), Ok(TrackKey::Header("x-key".into())));
        assert!(parse_track("track-sc3", &w("src"), &scope()).is_err());
        assert!(parse_track("track-sc0", &w("src table"), &scope()).is_err());
        assert!(parse_track("track-sc0", &w("path"), &scope()).unwrap_err().contains("unsupported key"));
        assert_eq!(parse_sc_action("sc-inc-gpc0(1)"), Ok(1));
        assert!(parse_sc_action("sc-inc-gpc0").is_err());
    }
}
