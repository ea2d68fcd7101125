//! `stick_table` of a listen, frontend or backend (HAProxy's `stick-table`): checked into a
//! [`StickTableDef`] named after its section, as HAProxy names a proxy's table after the proxy.
//! HAProxy's rules are kept: no table in `defaults`; a `string`/`binary` key's `len` only for
//! those types (default 32); `size` at least 1; `expire` at most 2^31-1 ms ("slightly above 24
//! days"); each data type once; rates need a period, other types take none.

use super::Checker;
use crate::config::raw::{RawConfig, RawProxy, RawStickKey, RawStickTable};
use crate::config::stick_table::{StickDataType, StickKeyType, StickStore, StickTableDef};
use crate::duration::parse_duration;
use std::time::Duration;

/// HAProxy's default `len` of string and binary keys.
const DEFAULT_KEY_LEN: u32 = 32;

/// Every section's table, in file order (listen, frontend, backend).
pub(super) fn tables(c: &mut Checker, raw: &RawConfig) -> Vec<StickTableDef> {
    if raw.defaults.stick_table.is_some() {
        c.error("defaults.stick_table", "`stick_table` is not allowed in defaults");
    }
    let sections = [("listen", &raw.listen), ("frontend", &raw.frontend), ("backend", &raw.backend)];
    let mut out: Vec<StickTableDef> = Vec::new();
    for (key, list) in sections {
        for (i, p) in list.iter().enumerate() {
            let Some(t) = &p.stick_table else { continue };
            let path = format!("{key}[{i}].stick_table");
            if out.iter().any(|d| d.name == p.name) {
                c.error(&path, format!("duplicate stick table {:?}: a frontend and a backend of that name both have one", p.name));
                continue;
            }
            if let Some(peers) = t.peers.as_deref().filter(|n| !n.is_empty()) {
                // HAProxy: "stick-table: unable to find peers 'X'" is fatal.
                if !raw.peers.iter().any(|s| s.name == peers) {
                    c.error(format!("{path}.peers"), format!("no peers section named {peers:?}"));
                }
            }
            if let Some(mut def) = table(c, &path, p, t) {
                // HAProxy enables server_id on a table that stick rules use.
                if used_by_stick_rules(raw, &def.name) && !def.stores(StickDataType::ServerId) {
                    def.store.push(StickStore { data: StickDataType::ServerId, period: Duration::ZERO });
                }
                out.push(def);
            }
        }
    }
    out
}

/// A backend's or listen's `stick_rules` (at `path`), their conditions' ACLs added to `acls`,
/// the section's table (see validate/l7.rs, which keeps them in the backend's `BackendHttp`).
pub(super) fn parse_rules(
    c: &mut Checker,
    path: &str,
    p: &RawProxy,
    names: &[String],
    acls: &mut crate::config::http_syntax::AclTable,
) -> Vec<crate::config::stick_rule::StickRule> {
    if p.stick_rules.is_empty() {
        return Vec::new();
    }
    let scope = crate::config::stick_syntax::StickScope::new(names.to_vec(), &p.name);
    let mut rules = Vec::new();
    for (j, line) in p.stick_rules.iter().enumerate() {
        match crate::config::http_syntax::parse_stick_rule(line, &scope, acls) {
            Ok(r) => rules.push(r),
            Err(e) => c.error(format!("{path}.stick_rules[{j}]"), e),
        }
    }
    rules
}

/// Where `stick_rules` may not be (defaults, frontends), and their use in mode tcp.
pub(super) fn stick_rules(c: &mut Checker, raw: &RawConfig, backends: &[crate::config::Backend], http: &crate::config::HttpConfig) {
    if !raw.defaults.stick_rules.is_empty() {
        c.error("defaults.stick_rules", "`stick_rules` is not allowed in defaults");
    }
    for (i, p) in raw.frontend.iter().enumerate() {
        if !p.stick_rules.is_empty() {
            c.error(format!("frontend[{i}].stick_rules"), "`stick_rules` is allowed in a backend or listen only");
        }
    }
    let sections =
        raw.listen.iter().enumerate().map(|(i, p)| ("listen", i, p)).chain(raw.backend.iter().enumerate().map(|(i, p)| ("backend", i, p)));
    for (key, i, p) in sections {
        if p.stick_rules.is_empty() {
            continue;
        }
        let Some(b) = backends.iter().position(|b| b.name == p.name && b.mode == crate::config::Mode::Tcp) else { continue };
        // A TCP session has no request to take a cookie, header or response from: only `src`
        // (HAProxy refuses such fetches in a tcp backend for the same reason), and no
        // condition (evaluated on HTTP requests here).
        use crate::config::stick_syntax::{StickRuleKind, StickSample, TrackKey};
        for (j, r) in http.backends.get(b).map(|h| h.stick_rules.as_slice()).unwrap_or_default().iter().enumerate() {
            let src = matches!(r.sample, StickSample::Request(TrackKey::Src));
            if !src || r.kind == StickRuleKind::StoreResponse || r.cond.is_some() {
                c.error(
                    format!("{key}[{i}].stick_rules[{j}]"),
                    "in mode tcp, stick rules can only use `src` (match, on, store-request), without a condition",
                );
            }
        }
    }
}

/// Whether some section's `stick_rules` use table `name` (its own, or by `table NAME`).
fn used_by_stick_rules(raw: &RawConfig, name: &str) -> bool {
    raw.listen.iter().chain(&raw.backend).any(|p| {
        p.stick_rules.iter().any(|line| {
            let words: Vec<&str> = line.split_whitespace().take_while(|w| *w != "if" && *w != "unless").collect();
            match words.iter().position(|w| *w == "table") {
                Some(i) => words.get(i + 1) == Some(&name),
                None => p.name == name,
            }
        })
    })
}

/// The names of the tables [`tables`] makes, in its order: what rules name tables by.
pub(super) fn names(raw: &RawConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in raw.listen.iter().chain(&raw.frontend).chain(&raw.backend) {
        if p.stick_table.is_some() && !out.contains(&p.name) {
            out.push(p.name.clone());
        }
    }
    out
}

fn table(c: &mut Checker, path: &str, p: &RawProxy, t: &RawStickTable) -> Option<StickTableDef> {
    let len = match (t.key, t.len) {
        (RawStickKey::String | RawStickKey::Binary, Some(0)) => {
            c.error(format!("{path}.len"), "len must be at least 1");
            DEFAULT_KEY_LEN
        }
        (RawStickKey::String | RawStickKey::Binary, len) => len.unwrap_or(DEFAULT_KEY_LEN),
        (_, Some(_)) => {
            c.error(format!("{path}.len"), "len is only for string and binary keys");
            0
        }
        (_, None) => 0,
    };
    let key = match t.key {
        RawStickKey::Ip => StickKeyType::Ip,
        RawStickKey::Ipv6 => StickKeyType::Ipv6,
        RawStickKey::Integer => StickKeyType::Integer,
        RawStickKey::String => StickKeyType::String { len },
        RawStickKey::Binary => StickKeyType::Binary { len },
    };
    if t.size == 0 {
        c.error(format!("{path}.size"), "size must be at least 1 (HAProxy's stick-table needs a size)");
    }
    let expire = t.expire.as_ref().and_then(|e| match parse_duration(e) {
        Ok(d) if d.as_millis() > i32::MAX as u128 => {
            c.error(format!("{path}.expire"), "expire is at most 2147483647ms (about 24 days), as in HAProxy");
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            c.error(format!("{path}.expire"), e);
            None
        }
    });
    if t.nopurge && expire.is_none() {
        c.warn(format!("{path}.nopurge"), "nopurge without expire: once full, the table refuses every new key for good");
    }
    let mut store: Vec<StickStore> = Vec::new();
    for (j, item) in t.store.iter().enumerate() {
        let field = format!("{path}.store[{j}]");
        match store_item(item) {
            Ok(s) if store.iter().any(|o| o.data == s.data) => c.error(field, format!("{} is stored twice", s.data.name())),
            Ok(s) => store.push(s),
            Err(e) => c.error(field, e),
        }
    }
    if let Some(peers) = &t.peers {
        if peers.is_empty() {
            c.error(format!("{path}.peers"), "peers needs a section name");
        }
    }
    Some(StickTableDef { name: p.name.clone(), key, size: t.size, expire, nopurge: t.nopurge, peers: t.peers.clone(), store })
}

/// One `store` item: `name` or `name(period)` for a rate.
pub fn store_item(text: &str) -> Result<StickStore, String> {
    let text = text.trim();
    let (name, arg) = match text.split_once('(') {
        Some((n, rest)) => match rest.strip_suffix(')') {
            Some(a) => (n.trim(), Some(a.trim())),
            None => return Err(format!("{text:?}: missing ')'")),
        },
        None => (text, None),
    };
    let Some(data) = StickDataType::from_name(name) else {
        let known: Vec<&str> = StickDataType::ALL.iter().map(|t| t.name()).collect();
        return Err(format!("unknown data type {name:?}; known: {}", known.join(", ")));
    };
    match (data.is_rate(), arg) {
        (true, Some(a)) => {
            let period = parse_duration(a).map_err(|e| format!("{name}: {e}"))?;
            if period.is_zero() || period > Duration::from_millis(i32::MAX as u64) {
                return Err(format!("{name}: the period must be between 1ms and 24 days"));
            }
            Ok(StickStore { data, period })
        }
        (true, None) => Err(format!("{name} needs a period, as {name}(10s)")),
        (false, Some(_)) => Err(format!("{name} takes no argument")),
        (false, None) => Ok(StickStore { data, period: Duration::ZERO }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ron: &str) -> (Vec<StickTableDef>, Vec<String>) {
        let raw: RawConfig = crate::config::ron_options().from_str(ron).expect("ron");
        let mut c = Checker::default();
        let t = tables(&mut c, &raw);
        (t, c.errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect())
    }

    #[test]
    fn a_table_takes_its_sections_name_and_typed_store() {
        let (t, errors) = check(
            r#"(frontend: [(name: "fe", stick_table: (key: string, len: 64, size: 1000, expire: "30s",
                 store: ["http_req_rate(10s)", "conn_cur", "gpc0"]))])"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(t[0].name, "fe");
        assert_eq!(t[0].key, StickKeyType::String { len: 64 });
        assert_eq!(t[0].expire, Some(Duration::from_secs(30)));
        assert_eq!(t[0].store[0], StickStore { data: StickDataType::HttpReqRate, period: Duration::from_secs(10) });
        assert!(t[0].stores(StickDataType::Gpc0));
    }

    #[test]
    fn bad_tables_are_named_field_by_field() {
        let (_, errors) = check(
            r#"(defaults: (stick_table: (size: 1)),
                backend: [(name: "be", stick_table: (key: ip, len: 4, size: 0, expire: "soon",
                 store: ["http_req_rate", "conn_cur(1s)", "conn_cur", "conn_cur", "bogus"]))])"#,
        );
        let want = [
            "defaults.stick_table: `stick_table` is not allowed in defaults",
            "backend[0].stick_table.len: len is only for string and binary keys",
            "backend[0].stick_table.size: size must be at least 1",
            "backend[0].stick_table.expire",
            "backend[0].stick_table.store[0]: http_req_rate needs a period",
            "backend[0].stick_table.store[1]: conn_cur takes no argument",
            "backend[0].stick_table.store[3]: conn_cur is stored twice",
            "backend[0].stick_table.store[4]: unknown data type \"bogus\"",
        ];
        for w in want {
            assert!(errors.iter().any(|e| e.starts_with(w)), "missing {w:?} in {errors:#?}");
        }
        assert_eq!(errors.len(), want.len(), "{errors:#?}");
    }
}
