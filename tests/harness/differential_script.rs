//! A differential case as written in `tests/differential/NAME.cfg`: the haproxy.cfg text with
//! `@NAME@` placeholders, and the requests to send, on comment lines the proxies ignore:
//!
//! ```text
//! #! settle_ms 1200                      wait this long after both proxies listen
//! #> ID CLIENT FRONT METHOD PATH [Name=value ...]   an HTTP request (%20 in a value is a blank)
//! #> ID CLIENT FRONT tcp [hold] [from=IP] [send=BYTES]
//!                                        a TCP connection (from a 127.0.0.x source, sending
//!                                        BYTES first, %XX escapes); its first line names the server
//! #> ... &                               (suffix) run in the background, collected by `wait ID`
//! #> sleep MS | release ID | wait ID
//! ```
//!
//! CLIENT `-` is a fresh client; any other name keeps a cookie jar across its requests.
//! Placeholders: `@FE_x@` the address of frontend/listen x (one port per proxy), `@HTTP_x@` and
//! `@TCP_x@` a backend server named x, `@DEAD_x@` a port that refuses connections, `@STATS@`,
//! `@LOG@` (a UDP sink), `@DIR@` (this directory, for errorfiles) and `@PORTOF_x@` (the port
//! number of frontend x, for `dst_port` ACLs).

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Http { method: String, path: String, headers: Vec<(String, String)> },
    Tcp { hold: bool, from: Option<std::net::Ipv4Addr>, send: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: String,
    /// `None` for a fresh client without cookies.
    pub client: Option<String>,
    pub front: String,
    pub kind: Kind,
    pub background: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Send(Request),
    Sleep(u64),
    Release(String),
    Wait(String),
}

#[derive(Debug, Default)]
pub struct Case {
    pub text: String,
    pub steps: Vec<Step>,
    pub settle_ms: u64,
    /// Every placeholder of the file, without its `@`s.
    pub placeholders: BTreeSet<String>,
    /// Status codes the file has an `errorfile` for: those bodies are compared too.
    pub errorfile_codes: BTreeSet<u16>,
}

impl Case {
    pub fn request_count(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Send(_))).count()
    }
}

pub fn parse(text: &str) -> Result<Case, String> {
    let mut case = Case { text: text.to_string(), ..Case::default() };
    let mut ids = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", i + 1);
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#>") {
            let step = parse_step(rest).map_err(at)?;
            if let Step::Send(r) = &step {
                if !ids.insert(r.id.clone()) {
                    return Err(at(format!("request id {} used twice", r.id)));
                }
            }
            case.steps.push(step);
        } else if let Some(rest) = t.strip_prefix("#!") {
            match rest.split_whitespace().collect::<Vec<_>>()[..] {
                ["settle_ms", ms] => case.settle_ms = ms.parse().map_err(|_| at(format!("bad settle_ms {ms:?}")))?,
                _ => return Err(at(format!("unknown directive {rest:?}"))),
            }
        } else if !t.starts_with('#') {
            let words: Vec<&str> = t.split_whitespace().collect();
            if let ["errorfile", code, ..] = words[..] {
                case.errorfile_codes.insert(code.parse().map_err(|_| at(format!("bad errorfile code {code:?}")))?);
            }
            case.placeholders.extend(placeholders(t));
        }
    }
    Ok(case)
}

/// `@NAME@` tokens of a line (NAME: letters, digits, `_`).
pub fn placeholders(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('@') {
        let after = &rest[start + 1..];
        match after.find('@') {
            Some(end) if end > 0 && after[..end].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

fn parse_step(rest: &str) -> Result<Step, String> {
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    let background = words.last() == Some(&"&");
    if background {
        words.pop();
    }
    match words[..] {
        ["sleep", ms] => return ms.parse().map(Step::Sleep).map_err(|_| format!("bad sleep {ms:?}")),
        ["release", id] => return Ok(Step::Release(id.to_string())),
        ["wait", id] => return Ok(Step::Wait(id.to_string())),
        _ => {}
    }
    let [id, client, front, verb, args @ ..] = &words[..] else {
        return Err(format!("expected `ID CLIENT FRONT METHOD PATH ...` or `ID CLIENT FRONT tcp [hold]`: {rest:?}"));
    };
    let kind = if *verb == "tcp" {
        let (mut hold, mut from, mut send) = (false, None, Vec::new());
        for a in args {
            match a.split_once('=') {
                None if *a == "hold" => hold = true,
                Some(("from", ip)) => from = Some(ip.parse().map_err(|_| format!("bad source {ip:?}: {rest:?}"))?),
                Some(("send", bytes)) => send = unescape(bytes)?,
                _ => return Err(format!("tcp takes `hold`, `from=IP` and `send=BYTES`: {rest:?}")),
            }
        }
        Kind::Tcp { hold, from, send }
    } else {
        let [path, headers @ ..] = args else { return Err(format!("{verb} needs a path: {rest:?}")) };
        let headers = headers
            .iter()
            .map(|h| {
                h.split_once('=').map(|(n, v)| (n.to_string(), v.replace("%20", " "))).ok_or(format!("header {h:?} is not Name=value"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Kind::Http { method: verb.to_string(), path: path.to_string(), headers }
    };
    let client = (*client != "-").then(|| client.to_string());
    Ok(Step::Send(Request { id: id.to_string(), client, front: front.to_string(), kind, background }))
}

/// Replaces each `@NAME@` by `value(NAME)`.
pub fn substitute(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for p in placeholders(line) {
            l = l.replacen(&format!("@{p}@"), &value(&p), 1);
        }
        out.push_str(&l);
    }
    out
}

/// `%XX` escapes (hex) in `send=` bytes; everything else is taken as it is.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or(format!("incomplete escape in {text:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape %{hex} in {text:?}"))?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}
