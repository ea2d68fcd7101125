//! HAProxy's own syntax for ACLs, conditions and `http-request` / `http-response` rules, which
//! the RON config keeps as strings (`"hdr(host) -i www.abc.com"`, `"deny deny_status 403 if bad"`)
//! so that operators read what they know and the importer copies lines over unchanged.
//! Parsing turns them into the typed [`super::http`] model; errors are plain messages that
//! validation attaches to the field.

use super::http::*;
use super::pattern::Regex;
use super::payload::{self, BytesMatcher, PayloadAt};
use super::tcp::{IntMatcher, IntPattern, TcpAction, TcpRule};
use std::collections::HashMap;
use std::net::IpAddr;

/// Splits a line into words as HAProxy does: blanks separate, `"..."` and `'...'` group, and a
/// backslash escapes the next character outside single quotes.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("unfinished escape at the end".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unmatched double quote".into()),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unmatched single quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("unfinished escape at the end".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Parses `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `192.0.2.1`, `2001:db8::/32`.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let bad = || format!("invalid network {text:?}: expected ADDRESS or ADDRESS/PREFIX");
    let (ip, len) = match text.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (text, None),
    };
    let addr: IpAddr = ip.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            Ok(_) => return Err(bad()),
            Err(_) => match (addr, l.parse::<std::net::Ipv4Addr>()) {
                // A dotted netmask, as HAProxy also accepts; it must be contiguous.
                (IpAddr::V4(_), Ok(mask)) => {
                    let m = u32::from(mask);
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return Err(bad());
                    }
                    m.leading_ones() as u8
                }
                _ => return Err(bad()),
            },
        },
    };
    Ok(IpNet { addr, prefix_len })
}

/// A proxy's ACLs while its config is read: named ones, then predefined and anonymous ones
/// added as conditions use them.
#[derive(Debug, Default)]
pub struct AclTable {
    acls: Vec<Acl>,
    by_name: HashMap<String, usize>,
    /// Where `-f FILE` pattern files are read from (the config's directory); `None`: refused.
    pattern_dir: Option<std::path::PathBuf>,
    /// The stick tables this proxy's rules and fetches may name.
    stick: super::stick_syntax::StickScope,
}

impl AclTable {
    /// A table whose ACLs may read `-f` pattern files from `dir`.
    pub fn with_pattern_dir(dir: &std::path::Path) -> AclTable {
        AclTable { pattern_dir: Some(dir.to_path_buf()), ..AclTable::default() }
    }

    pub fn set_pattern_dir(&mut self, dir: &std::path::Path) {
        self.pattern_dir = Some(dir.to_path_buf());
    }

    /// The stick tables of the config, for `track-sc`, `sc_*` and `src_*`.
    pub fn set_stick_scope(&mut self, scope: super::stick_syntax::StickScope) {
        self.stick = scope;
    }

    /// Parses a criterion, reading its `-f` files from this table's directory.
    pub fn criterion(&self, words: &[String]) -> Result<AclTest, String> {
        if let Some(r) = super::stick_syntax::parse_fetch(words, &self.stick) {
            return r.map(AclTest::Stick);
        }
        parse_criterion_in(words, self.pattern_dir.as_deref())
    }

    /// Adds a test under `name`; a name used twice ORs its tests, as in HAProxy.
    pub fn define(&mut self, name: &str, test: AclTest) {
        match self.by_name.get(name) {
            Some(&i) => self.acls[i].tests.push(test),
            None => {
                self.by_name.insert(name.to_string(), self.acls.len());
                self.acls.push(Acl { name: name.to_string(), tests: vec![test] });
            }
        }
    }

    /// The index of a named or predefined ACL.
    fn resolve(&mut self, name: &str) -> Option<usize> {
        if let Some(&i) = self.by_name.get(name) {
            return Some(i);
        }
        let test = predefined(name)?;
        self.define(name, test);
        self.by_name.get(name).copied()
    }

    fn anonymous(&mut self, test: AclTest) -> usize {
        self.acls.push(Acl { name: format!("{{anonymous #{}}}", self.acls.len()), tests: vec![test] });
        self.acls.len() - 1
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn into_acls(self) -> Vec<Acl> {
        self.acls
    }

    /// The first ACL `cond` refers to that reads HTTP: neither layer-4 nor content tests
    /// (`req.len`, `req.payload*`), so that mode tcp cannot evaluate it.
    pub fn first_http(&self, cond: &Cond) -> Option<&str> {
        cond.any_of
            .iter()
            .flatten()
            .filter_map(|r| self.acls.get(r.acl))
            .find(|a| !a.tests.iter().all(|t| t.is_layer4() || t.is_content() || t.is_tls()))
            .map(|a| a.name.as_str())
    }

    /// The first ACL `cond` refers to that a `tcp-response content` rule cannot evaluate:
    /// neither layer-4 nor response content tests (`res.len`, `res.payload*`).
    pub fn first_not_response(&self, cond: &Cond) -> Option<&str> {
        cond.any_of
            .iter()
            .flatten()
            .filter_map(|r| self.acls.get(r.acl))
            .find(|a| !a.tests.iter().all(|t| t.is_layer4() || t.is_tls() || t.is_response_content()))
            .map(|a| a.name.as_str())
    }

    /// The first ACL `cond` refers to that is not made of layer-4 tests only (so that a rule
    /// running before any data cannot use it), by name.
    pub fn first_layer7(&self, cond: &Cond) -> Option<&str> {
        cond.any_of
            .iter()
            .flatten()
            .filter_map(|r| self.acls.get(r.acl))
            .find(|a| !a.tests.iter().all(AclTest::is_layer4))
            .map(|a| a.name.as_str())
    }
}

fn exact(patterns: &[&str]) -> StrMatcher {
    StrMatcher::text(StrMatch::Exact, false, patterns.iter().map(|p| p.to_string()).collect())
}

/// HAProxy's predefined ACLs that make sense here.
fn predefined(name: &str) -> Option<AclTest> {
    Some(match name {
        "TRUE" => AclTest::Const(true),
        "FALSE" => AclTest::Const(false),
        "HTTP" => AclTest::Const(true),
        "LOCALHOST" => AclTest::Src(vec![
            IpNet { addr: IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)), prefix_len: 8 },
            IpNet { addr: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), prefix_len: 128 },
        ]),
        "METH_CONNECT" => AclTest::Method(exact(&["CONNECT"])),
        "METH_DELETE" => AclTest::Method(exact(&["DELETE"])),
        "METH_GET" => AclTest::Method(exact(&["GET", "HEAD"])),
        "METH_HEAD" => AclTest::Method(exact(&["HEAD"])),
        "METH_OPTIONS" => AclTest::Method(exact(&["OPTIONS"])),
        "METH_POST" => AclTest::Method(exact(&["POST"])),
        "METH_PUT" => AclTest::Method(exact(&["PUT"])),
        "METH_TRACE" => AclTest::Method(exact(&["TRACE"])),
        "HTTP_1.0" => AclTest::Version(exact(&["1.0"])),
        "HTTP_1.1" => AclTest::Version(exact(&["1.1"])),
        "HTTP_URL_SLASH" => AclTest::Url(StrMatcher::text(StrMatch::Prefix, false, vec!["/".into()])),
        "HTTP_URL_STAR" => AclTest::Url(exact(&["*"])),
        "HTTP_URL_ABS" => AclTest::Url(StrMatcher::text(StrMatch::Prefix, true, vec!["http://".into(), "https://".into()])),
        _ => return None,
    })
}

/// What a fetch name means: which sample, and the match it implies.
enum Sample {
    Header(String),
    Path,
    Url,
    Method,
    Version,
    Src,
    Const(bool),
    SrcPort,
    Dst,
    DstPort,
    FeName,
    Nbsrv(String),
    ReqLen,
    Payload(PayloadAt),
    ResLen,
    ResPayload(PayloadAt),
    SrvIsUp(Option<String>, String),
    ConnSlots(Option<String>),
    SoId,
    SslSni,
    SslHelloType,
    SslFc,
    SslFcSni,
    SslFcProtocol,
    SslFcCipher,
    SslFcAlpn,
    SslCUsed,
    SslCVerify,
}

/// `[BACKEND/]SERVER`, HAProxy's server argument: without a backend, the proxy's own.
fn server_arg(arg: &str) -> Result<(Option<String>, String), String> {
    let (backend, server) = match arg.split_once('/') {
        Some((b, s)) => (Some(b), s),
        None => (None, arg),
    };
    if server.is_empty() || backend.is_some_and(str::is_empty) {
        return Err(format!("srv_is_up({arg}): expected BACKEND/SERVER or SERVER"));
    }
    Ok((backend.map(str::to_string), server.to_string()))
}

fn fetch(word: &str) -> Result<(Sample, StrMatch), String> {
    if let Some((f, rest)) = word.split_once('(') {
        let arg = rest.strip_suffix(')').ok_or_else(|| format!("missing ')' in {word:?}"))?;
        if f == "nbsrv" {
            if arg.is_empty() {
                return Err("nbsrv needs a backend name in parentheses (the current backend is not known in a frontend)".into());
            }
            return Ok((Sample::Nbsrv(arg.to_string()), StrMatch::Exact));
        }
        match f {
            "srv_is_up" => {
                let (backend, server) = server_arg(arg)?;
                return Ok((Sample::SrvIsUp(backend, server), StrMatch::Exact));
            }
            "connslots" => return Ok((Sample::ConnSlots((!arg.is_empty()).then(|| arg.to_string())), StrMatch::Exact)),
            _ => {}
        }
        // HAProxy's old `payload()` / `payload_lv()` ACL names are the same fetches.
        match f {
            "req.payload" | "payload" => return Ok((Sample::Payload(payload::parse_payload_args(arg)?), StrMatch::Exact)),
            "req.payload_lv" | "payload_lv" => return Ok((Sample::Payload(payload::parse_payload_lv_args(arg)?), StrMatch::Exact)),
            "res.payload" => return Ok((Sample::ResPayload(payload::parse_payload_args(arg)?), StrMatch::Exact)),
            "res.payload_lv" => return Ok((Sample::ResPayload(payload::parse_payload_lv_args(arg)?), StrMatch::Exact)),
            _ => {}
        }
        if arg.is_empty() || arg.contains(',') || !arg.bytes().all(is_token_byte) {
            return Err(format!("{word:?}: expected one header name in parentheses (occurrence arguments are not supported)"));
        }
        let how = match f {
            "hdr" | "req.hdr" => StrMatch::Exact,
            "hdr_beg" => StrMatch::Prefix,
            "hdr_end" => StrMatch::Suffix,
            "hdr_sub" => StrMatch::Substring,
            "hdr_dir" => StrMatch::Dir,
            "hdr_dom" => StrMatch::Dom,
            _ => return Err(format!("unknown fetch {f:?}: expected hdr, hdr_beg, hdr_end, hdr_sub, hdr_dir or hdr_dom")),
        };
        return Ok((Sample::Header(arg.to_ascii_lowercase()), how));
    }
    Ok(match word {
        "path" => (Sample::Path, StrMatch::Exact),
        "path_beg" => (Sample::Path, StrMatch::Prefix),
        "path_end" => (Sample::Path, StrMatch::Suffix),
        "path_sub" => (Sample::Path, StrMatch::Substring),
        "path_dir" => (Sample::Path, StrMatch::Dir),
        "path_dom" => (Sample::Path, StrMatch::Dom),
        "url" => (Sample::Url, StrMatch::Exact),
        "url_beg" => (Sample::Url, StrMatch::Prefix),
        "url_end" => (Sample::Url, StrMatch::Suffix),
        "url_sub" => (Sample::Url, StrMatch::Substring),
        "url_dir" => (Sample::Url, StrMatch::Dir),
        "url_dom" => (Sample::Url, StrMatch::Dom),
        "method" => (Sample::Method, StrMatch::Exact),
        "req.ver" | "req_ver" => (Sample::Version, StrMatch::Exact),
        "src" => (Sample::Src, StrMatch::Exact),
        "src_port" => (Sample::SrcPort, StrMatch::Exact),
        "dst" => (Sample::Dst, StrMatch::Exact),
        "dst_port" => (Sample::DstPort, StrMatch::Exact),
        "fe_name" => (Sample::FeName, StrMatch::Exact),
        "req.len" | "req_len" => (Sample::ReqLen, StrMatch::Exact),
        "res.len" => (Sample::ResLen, StrMatch::Exact),
        "connslots" => (Sample::ConnSlots(None), StrMatch::Exact),
        "so_id" => (Sample::SoId, StrMatch::Exact),
        "req.ssl_sni" | "req_ssl_sni" => (Sample::SslSni, StrMatch::Exact),
        "req.ssl_hello_type" | "req_ssl_hello_type" => (Sample::SslHelloType, StrMatch::Exact),
        "ssl_fc" => (Sample::SslFc, StrMatch::Exact),
        "ssl_fc_sni" => (Sample::SslFcSni, StrMatch::Exact),
        "ssl_fc_protocol" => (Sample::SslFcProtocol, StrMatch::Exact),
        "ssl_fc_cipher" => (Sample::SslFcCipher, StrMatch::Exact),
        "ssl_fc_alpn" => (Sample::SslFcAlpn, StrMatch::Exact),
        "ssl_c_used" => (Sample::SslCUsed, StrMatch::Exact),
        "ssl_c_verify" => (Sample::SslCVerify, StrMatch::Exact),
        "always_true" => (Sample::Const(true), StrMatch::Exact),
        "always_false" => (Sample::Const(false), StrMatch::Exact),
        _ => {
            return Err(format!(
                "unknown fetch {word:?}: expected hdr(NAME), hdr_beg, hdr_end, hdr_sub, hdr_dir, hdr_dom, path, path_beg, path_end, \
                 path_sub, path_dir, path_dom, url, url_beg, url_end, url_sub, url_dir, url_dom, method, req.ver, src, src_port, dst, dst_port, fe_name, nbsrv(BACKEND), \
                 srv_is_up([BACKEND/]SERVER), connslots([BACKEND]), so_id, ssl_fc, ssl_fc_sni, ssl_fc_protocol, ssl_fc_cipher, \
                 ssl_fc_alpn, ssl_c_used, ssl_c_verify, req.len, req.ssl_sni, req.ssl_hello_type, req.payload(OFFSET,LENGTH), \
                 req.payload_lv(OFFSET1,LENGTH1[,OFFSET2]), res.len, res.payload(OFFSET,LENGTH), res.payload_lv(OFFSET1,LENGTH1[,OFFSET2]), \
                 the stick-table counters sc_X(N[,TABLE]), scN_X([TABLE]), src_X([TABLE]), always_true or always_false"
            ))
        }
    })
}

/// RFC 9110 token characters, which header names are made of.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A match method named by `-m`, or implied by the fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Text(StrMatch),
    Found,
    Reg,
    Len,
    Int,
    Ip,
    Bin,
}

fn method(word: Option<&str>) -> Result<Method, String> {
    Ok(match word {
        Some("str") => Method::Text(StrMatch::Exact),
        Some("beg") => Method::Text(StrMatch::Prefix),
        Some("end") => Method::Text(StrMatch::Suffix),
        Some("sub") => Method::Text(StrMatch::Substring),
        Some("dir") => Method::Text(StrMatch::Dir),
        Some("dom") => Method::Text(StrMatch::Dom),
        Some("found") => Method::Found,
        Some("reg") => Method::Reg,
        Some("len") => Method::Len,
        Some("int") => Method::Int,
        Some("ip") => Method::Ip,
        Some("bin") => Method::Bin,
        other => {
            return Err(format!(
                "-m {}: expected str, beg, end, sub, dir, dom, reg, found, len, int, ip or bin",
                other.unwrap_or("(nothing)")
            ))
        }
    })
}

/// A pattern and, when it came from a `-f` file, where.
struct Pattern {
    text: String,
    from: Option<(String, usize)>,
}

/// Converts each pattern, naming the file and line of one that fails.
fn each<T>(patterns: &[Pattern], f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    patterns
        .iter()
        .map(|p| {
            f(&p.text).map_err(|e| match &p.from {
                Some((file, line)) => format!("{file}:{line}: {e}"),
                None => e,
            })
        })
        .collect()
}

/// Integer patterns: the inline words read together (an operator applies to the word after
/// it: `lt 5`), each line of a file on its own.
fn ints(patterns: &[Pattern]) -> Result<IntMatcher, String> {
    let inline: Vec<String> = patterns.iter().filter(|p| p.from.is_none()).map(|p| p.text.clone()).collect();
    let mut all = IntMatcher { patterns: Vec::new() };
    if !inline.is_empty() {
        all.patterns.extend(IntMatcher::parse(&inline)?.patterns);
    }
    for p in patterns {
        if let Some((file, line)) = &p.from {
            let words: Vec<String> = p.text.split_whitespace().map(str::to_string).collect();
            all.patterns.extend(IntMatcher::parse(&words).map_err(|e| format!("{file}:{line}: {e}"))?.patterns);
        }
    }
    if all.patterns.is_empty() {
        return Err("no integer pattern".into());
    }
    Ok(all)
}

/// A string sample's matcher for `method`.
fn string_matcher(method: Method, ignore_case: bool, patterns: &[Pattern]) -> Result<StrMatcher, String> {
    Ok(match method {
        Method::Text(how) => StrMatcher::text(how, ignore_case, patterns.iter().map(|p| p.text.clone()).collect()),
        Method::Found => StrMatcher::Found,
        Method::Reg => StrMatcher::Regex(each(patterns, |p| Regex::new(p, ignore_case))?),
        Method::Len => StrMatcher::Len(ints(patterns)?),
        Method::Int => StrMatcher::Int(ints(patterns)?),
        Method::Ip => StrMatcher::Ip(each(patterns, parse_net)?),
        Method::Bin => return Err("-m bin is for the binary samples req.payload and req.payload_lv".into()),
    })
}

/// Parses an ACL criterion without pattern files (`-f` is refused).
pub fn parse_criterion(words: &[String]) -> Result<AclTest, String> {
    parse_criterion_in(words, None)
}

/// Parses an ACL criterion: `FETCH [-i] [-m METHOD] [-f FILE]... [--] PATTERN...`. `-f` reads
/// its file relative to `files` (the config's directory); without it `-f` is refused.
pub fn parse_criterion_in(words: &[String], files: Option<&std::path::Path>) -> Result<AclTest, String> {
    let Some(first) = words.first() else {
        return Err("empty ACL: expected a fetch such as hdr(host) and patterns".into());
    };
    let (sample, how) = fetch(first)?;
    let mut chosen: Option<Method> = None;
    let mut ignore_case = false;
    let mut patterns = Vec::new();
    let mut i = 1;
    while let Some(w) = words.get(i) {
        match w.as_str() {
            "-i" => ignore_case = true,
            "-m" => {
                i += 1;
                chosen = Some(method(words.get(i).map(String::as_str))?);
            }
            "-f" => {
                i += 1;
                let file = words.get(i).ok_or("-f needs a file name")?;
                let Some(dir) = files else {
                    return Err(format!("-f {file}: pattern files are read only when a config file is loaded"));
                };
                let read = super::pattern_file::read_patterns(file, dir)?;
                patterns.extend(read.into_iter().map(|p| Pattern { text: p.text, from: Some((file.clone(), p.line)) }));
            }
            "--" => {
                i += 1;
                break;
            }
            "-n" | "-u" | "-M" => return Err(format!("flag {w} is not supported")),
            _ => break,
        }
        i += 1;
    }
    patterns.extend(words[i.min(words.len())..].iter().map(|p| Pattern { text: p.clone(), from: None }));
    let kind = SampleKind::of(&sample);
    let method = match chosen {
        Some(m) => {
            kind.allows(m).map_err(|e| format!("{first}: {e}"))?;
            m
        }
        None => kind.default_method(how),
    };
    if patterns.is_empty() && method != Method::Found && kind != SampleKind::Bool {
        return Err(format!("ACL on {first} has no pattern to match"));
    }
    if method == Method::Found || kind == SampleKind::Bool {
        if let Some(p) = patterns.first() {
            return Err(format!(
                "{first}: unexpected pattern {:?} ({})",
                p.text,
                if kind == SampleKind::Bool { "a boolean takes none" } else { "-m found takes none" }
            ));
        }
    }
    let text = || string_matcher(method, ignore_case, &patterns);
    // Addresses and integers are always present: `-m found` holds.
    let int_found = || IntMatcher { patterns: vec![IntPattern::Range(i64::MIN, i64::MAX)] };
    let int = || if method == Method::Found { Ok(int_found()) } else { ints(&patterns) };
    Ok(match sample {
        Sample::Header(name) => AclTest::Header { name, matcher: text()? },
        Sample::Path => AclTest::Path(text()?),
        Sample::Url => AclTest::Url(text()?),
        Sample::Method => AclTest::Method(text()?),
        Sample::Version => AclTest::Version(text()?),
        Sample::FeName => AclTest::FeName(text()?),
        Sample::Src | Sample::Dst if method == Method::Found => AclTest::Const(true),
        Sample::Src => AclTest::Src(each(&patterns, parse_net)?),
        Sample::Dst => AclTest::Dst(each(&patterns, parse_net)?),
        Sample::SrcPort => AclTest::SrcPort(int()?),
        Sample::DstPort => AclTest::DstPort(int()?),
        Sample::Nbsrv(backend) => AclTest::Nbsrv { backend, id: usize::MAX, ints: int()? },
        Sample::ReqLen => AclTest::ReqLen(int()?),
        Sample::Payload(at) => {
            let matcher =
                if method == Method::Bin { BytesMatcher::Bin(each(&patterns, payload::parse_hex)?) } else { BytesMatcher::Str(text()?) };
            AclTest::Payload { at, matcher }
        }
        Sample::ResLen => AclTest::ResLen(int()?),
        Sample::ResPayload(at) => {
            let matcher =
                if method == Method::Bin { BytesMatcher::Bin(each(&patterns, payload::parse_hex)?) } else { BytesMatcher::Str(text()?) };
            AclTest::ResPayload { at, matcher }
        }
        Sample::Const(v) => AclTest::Const(v),
        Sample::SrvIsUp(backend, server) => AclTest::SrvIsUp { backend, server, id: (usize::MAX, usize::MAX) },
        Sample::ConnSlots(backend) => AclTest::ConnSlots { backend, id: None, ints: int()? },
        Sample::SoId => AclTest::SoId(int()?),
        Sample::SslSni => AclTest::SslSni(text()?),
        Sample::SslHelloType => AclTest::SslHelloType(int()?),
        Sample::SslFc => AclTest::Tls(TlsFetch::Fc),
        Sample::SslCUsed => AclTest::Tls(TlsFetch::CUsed),
        Sample::SslFcSni => AclTest::Tls(TlsFetch::Sni(text()?)),
        Sample::SslFcProtocol => AclTest::Tls(TlsFetch::Protocol(text()?)),
        Sample::SslFcCipher => AclTest::Tls(TlsFetch::Cipher(text()?)),
        Sample::SslFcAlpn => AclTest::Tls(TlsFetch::Alpn(text()?)),
        Sample::SslCVerify => AclTest::Tls(TlsFetch::CVerify(int()?)),
    })
}

/// A sample's type, which decides the match methods it takes (HAProxy casts between them;
/// these are the casts that mean something here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SampleKind {
    Str,
    Bin,
    Addr,
    Int,
    Bool,
}

impl SampleKind {
    fn of(sample: &Sample) -> SampleKind {
        match sample {
            Sample::Header(_)
            | Sample::Path
            | Sample::Url
            | Sample::Method
            | Sample::Version
            | Sample::FeName
            | Sample::SslSni
            | Sample::SslFcSni
            | Sample::SslFcProtocol
            | Sample::SslFcCipher
            | Sample::SslFcAlpn => SampleKind::Str,
            Sample::Payload(_) | Sample::ResPayload(_) => SampleKind::Bin,
            Sample::Src | Sample::Dst => SampleKind::Addr,
            Sample::SrcPort
            | Sample::DstPort
            | Sample::Nbsrv(_)
            | Sample::ReqLen
            | Sample::ResLen
            | Sample::ConnSlots(_)
            | Sample::SoId
            | Sample::SslHelloType
            | Sample::SslCVerify => SampleKind::Int,
            Sample::Const(_) | Sample::SrvIsUp(..) | Sample::SslFc | Sample::SslCUsed => SampleKind::Bool,
        }
    }

    fn default_method(self, how: StrMatch) -> Method {
        match self {
            SampleKind::Str => Method::Text(how),
            SampleKind::Bin => Method::Bin,
            SampleKind::Addr => Method::Ip,
            SampleKind::Int | SampleKind::Bool => Method::Int,
        }
    }

    fn allows(self, m: Method) -> Result<(), String> {
        let ok = match self {
            SampleKind::Str => m != Method::Bin,
            SampleKind::Bin => !matches!(m, Method::Int | Method::Ip),
            SampleKind::Addr => matches!(m, Method::Ip | Method::Found),
            SampleKind::Int => matches!(m, Method::Int | Method::Found),
            SampleKind::Bool => false,
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            SampleKind::Str => "-m bin is for the binary samples req.payload and req.payload_lv".into(),
            SampleKind::Bin => "a binary sample takes -m bin, str, beg, end, sub, reg, len or found".into(),
            SampleKind::Addr => "an address takes -m ip or found".into(),
            SampleKind::Int => "an integer takes -m int or found".into(),
            SampleKind::Bool => "a boolean takes no -m".into(),
        })
    }
}

/// Parses a condition: `if|unless TERM...` where terms are ACL names (`!` negates), `{ ... }`
/// anonymous ACLs, and `||` / `or` separate alternatives.
pub fn parse_cond(words: &[String], table: &mut AclTable) -> Result<Cond, String> {
    let unless = match words.first().map(String::as_str) {
        Some("if") => false,
        Some("unless") => true,
        Some(w) => return Err(format!("expected `if` or `unless` before a condition, found {w:?}")),
        None => return Err("empty condition".into()),
    };
    let mut any_of = vec![Vec::new()];
    let mut i = 1;
    let mut negate = false;
    while let Some(w) = words.get(i) {
        // As HAProxy's `parse_acl_cond()`: leading `!`s negate what follows in the same word
        // (`!{ ssl_fc }`, `!!name`); a word of `!` alone negates the next one.
        let bangs = w.len() - w.trim_start_matches('!').len();
        let w = &w[bangs..];
        if bangs % 2 == 1 {
            negate = !negate;
        }
        if w.is_empty() {
            i += 1;
            continue;
        }
        match w {
            "||" | "or" => {
                if negate || any_of.last().is_some_and(Vec::is_empty) {
                    return Err(format!("`{w}` needs an ACL on each side"));
                }
                any_of.push(Vec::new());
            }
            "{" => {
                let close = words[i..].iter().position(|w| w == "}").ok_or("unmatched `{` in condition")?;
                let test = table.criterion(&words[i + 1..i + close])?;
                let acl = table.anonymous(test);
                push_term(&mut any_of, AclRef { negate, acl });
                negate = false;
                i += close;
            }
            "}" => return Err("unmatched `}` in condition".into()),
            name => {
                let acl = table.resolve(name).ok_or_else(|| format!("no ACL named {name:?}"))?;
                push_term(&mut any_of, AclRef { negate, acl });
                negate = false;
            }
        }
        i += 1;
    }
    if negate || any_of.iter().any(Vec::is_empty) {
        return Err("incomplete condition".into());
    }
    Ok(Cond { unless, any_of })
}

fn push_term(any_of: &mut [Vec<AclRef>], term: AclRef) {
    if let Some(last) = any_of.last_mut() {
        last.push(term);
    }
}

/// Splits `words` at the first `if` / `unless` and parses the condition after it.
fn split_cond(words: &[String], table: &mut AclTable) -> Result<(Vec<String>, Option<Cond>), String> {
    match words.iter().position(|w| w == "if" || w == "unless") {
        Some(at) => Ok((words[..at].to_vec(), Some(parse_cond(&words[at..], table)?))),
        None => Ok((words.to_vec(), None)),
    }
}

/// A header value as written; `%` starts a log-format expression in HAProxy, which is not
/// supported here, except `%%` for a literal percent sign.
fn literal_value(v: &str) -> Result<String, String> {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            if chars.peek() == Some(&'%') {
                chars.next();
            } else {
                return Err(format!("value {v:?}: log-format expressions (%...) are not supported; write the value literally, %% for %"));
            }
        }
        if c.is_control() && c != '\t' {
            return Err(format!("value {v:?} contains a control character"));
        }
        out.push(c);
    }
    Ok(out)
}

fn header_name(w: Option<&String>, action: &str) -> Result<String, String> {
    let name = w.ok_or_else(|| format!("{action} needs a header name"))?;
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(format!("invalid header name {name:?}"));
    }
    Ok(name.clone())
}

fn header_edit(args: &[String], action: &str) -> Result<(String, Option<String>), String> {
    let name = header_name(args.get(1), action)?;
    match action {
        "del-header" => {
            if args.len() > 2 {
                return Err(format!("del-header takes only a name, found {:?}", args[2]));
            }
            Ok((name, None))
        }
        _ => {
            let value = args.get(2).ok_or_else(|| format!("{action} needs a name and a value"))?;
            if args.len() > 3 {
                return Err(format!("{action}: unexpected {:?} after the value (quote a value with spaces)", args[3]));
            }
            Ok((name, Some(literal_value(value)?)))
        }
    }
}

fn deny_status(args: &[String], default: u16) -> Result<u16, String> {
    match args.get(1).map(String::as_str) {
        None => Ok(default),
        Some("deny_status") => {
            let code = args.get(2).and_then(|c| c.parse::<u16>().ok()).ok_or("deny_status needs a status code")?;
            if !ERROR_CODES.contains(&code) {
                return Err(format!("deny_status {code} has no error response (one of {ERROR_CODES:?})"));
            }
            if args.len() > 3 {
                return Err(format!("unexpected {:?} after deny_status", args[3]));
            }
            Ok(code)
        }
        Some(w) => Err(format!("{}: unexpected {w:?} (expected deny_status N or a condition)", args[0])),
    }
}

fn redirect(args: &[String]) -> Result<Redirect, String> {
    let kind = match args.get(1).map(String::as_str) {
        Some("location") => RedirectKind::Location,
        Some("prefix") => RedirectKind::Prefix,
        Some("scheme") => RedirectKind::Scheme,
        _ => return Err("redirect needs `location`, `prefix` or `scheme` and a target".into()),
    };
    let target = literal_value(args.get(2).ok_or("redirect needs a target")?)?;
    if target.is_empty() {
        return Err("empty redirect target".into());
    }
    let mut r = Redirect { kind, target, code: 302, drop_query: false, append_slash: false };
    let mut i = 3;
    while let Some(w) = args.get(i) {
        match w.as_str() {
            "code" => {
                i += 1;
                r.code = args.get(i).and_then(|c| c.parse().ok()).ok_or("code needs a number")?;
                if ![301, 302, 303, 307, 308].contains(&r.code) {
                    return Err(format!("redirect code {} is not one of 301, 302, 303, 307, 308", r.code));
                }
            }
            "drop-query" => r.drop_query = true,
            "append-slash" => r.append_slash = true,
            other => return Err(format!("redirect option {other:?} is not supported (code, drop-query, append-slash are)")),
        }
        i += 1;
    }
    Ok(r)
}

/// Parses a `tcp-request connection|session|content` rule (the words after the stage):
/// `accept|reject|silent-drop [if|unless COND]`.
fn parse_tcp_rule(stage: &str, line: &str, table: &mut AclTable) -> Result<TcpRule, String> {
    let words = split_words(line)?;
    let (args, cond) = split_cond(&words, table)?;
    let action = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["accept"] => TcpAction::Accept,
        ["reject"] => TcpAction::Reject,
        ["silent-drop"] => TcpAction::SilentDrop,
        [verb, ..] if verb.starts_with("track-sc") => {
            let t = super::stick_syntax::parse_track(verb, &args[1..], &table.stick)?;
            if !t.key.is_layer4() {
                return Err(format!("tcp-request {stage} {verb}: only src can be tracked before HTTP"));
            }
            TcpAction::Track { sc: t.sc, table: t.table }
        }
        [] => return Err(format!("empty tcp-request {stage} rule")),
        [verb, ..] => {
            return Err(format!("tcp-request {stage} action {verb:?} is not supported (accept, reject, silent-drop and track-sc0/1/2 are)"))
        }
    };
    Ok(TcpRule { action, cond })
}

/// Parses a `tcp-response content` rule (the words after `tcp-response content`):
/// `accept|reject|close [if|unless COND]`.
pub fn parse_tcp_response_rule(line: &str, table: &mut AclTable) -> Result<TcpRule, String> {
    let words = split_words(line)?;
    let (args, cond) = split_cond(&words, table)?;
    let action = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["accept"] => TcpAction::Accept,
        ["reject"] => TcpAction::Reject,
        ["close"] => TcpAction::Close,
        [] => return Err("empty tcp-response content rule".into()),
        [verb, ..] => return Err(format!("tcp-response content action {verb:?} is not supported (accept, reject and close are)")),
    };
    Ok(TcpRule { action, cond })
}

/// Parses a `tcp-request connection` rule (the words after `tcp-request connection`).
pub fn parse_tcp_connection_rule(line: &str, table: &mut AclTable) -> Result<TcpRule, String> {
    parse_tcp_rule("connection", line, table)
}

/// Parses a `tcp-request session` rule (the words after `tcp-request session`).
pub fn parse_tcp_session_rule(line: &str, table: &mut AclTable) -> Result<TcpRule, String> {
    parse_tcp_rule("session", line, table)
}

/// Parses a `tcp-request content` rule (the words after `tcp-request content`).
pub fn parse_tcp_content_rule(line: &str, table: &mut AclTable) -> Result<TcpRule, String> {
    parse_tcp_rule("content", line, table)
}

/// Parses an `http-request` rule (the words after `http-request`).
pub fn parse_request_rule(line: &str, table: &mut AclTable) -> Result<HttpRule<RequestAction>, String> {
    let words = split_words(line)?;
    let (args, cond) = split_cond(&words, table)?;
    let verb = args.first().map(String::as_str).unwrap_or("");
    let action = match verb {
        "allow" if args.len() == 1 => RequestAction::Allow,
        "deny" => RequestAction::Deny { status: deny_status(&args, 403)? },
        // HAProxy answers a tarpit with 500 unless deny_status says otherwise.
        "tarpit" => RequestAction::Tarpit { status: deny_status(&args, 500)? },
        "redirect" => RequestAction::Redirect(redirect(&args)?),
        v if v.starts_with("track-sc") => RequestAction::Track(super::stick_syntax::parse_track(v, &args[1..], &table.stick)?),
        v if v.starts_with("sc-inc-gpc0(") && args.len() == 1 => RequestAction::ScIncGpc0 { sc: super::stick_syntax::parse_sc_action(v)? },
        v if v.starts_with("sc-set-gpt0(") => {
            let sc = super::stick_syntax::parse_sc_action(v)?;
            let value = match &args[1..] {
                [n] => n.parse::<i64>().map_err(|_| format!("{v}: expected an integer, not {n:?}"))?,
                _ => return Err(format!("{v} needs one integer value")),
            };
            RequestAction::ScSetGpt0 { sc, value }
        }
        "set-header" | "add-header" | "del-header" => match header_edit(&args, verb)? {
            (name, None) => RequestAction::DelHeader { name },
            (name, Some(value)) if verb == "set-header" => RequestAction::SetHeader { name, value },
            (name, Some(value)) => RequestAction::AddHeader { name, value },
        },
        "allow" => return Err("allow takes no argument besides a condition".into()),
        "" => return Err("empty http-request rule".into()),
        other => {
            return Err(format!(
                "http-request action {other:?} is not supported (allow, deny, tarpit, redirect, set-header, add-header, \
                 del-header, track-sc0/1/2, sc-inc-gpc0, sc-set-gpt0 are)"
            ))
        }
    };
    Ok(HttpRule { action, cond })
}

/// Parses an `http-response` rule (the words after `http-response`).
pub fn parse_response_rule(line: &str, table: &mut AclTable) -> Result<HttpRule<ResponseAction>, String> {
    let words = split_words(line)?;
    let (args, cond) = split_cond(&words, table)?;
    let verb = args.first().map(String::as_str).unwrap_or("");
    let action = match verb {
        "allow" if args.len() == 1 => ResponseAction::Allow,
        "deny" => ResponseAction::Deny { status: deny_status(&args, 502)? },
        "set-header" | "add-header" | "del-header" => match header_edit(&args, verb)? {
            (name, None) => ResponseAction::DelHeader { name },
            (name, Some(value)) if verb == "set-header" => ResponseAction::SetHeader { name, value },
            (name, Some(value)) => ResponseAction::AddHeader { name, value },
        },
        "allow" => return Err("allow takes no argument besides a condition".into()),
        "" => return Err("empty http-response rule".into()),
        other => {
            return Err(format!("http-response action {other:?} is not supported (allow, deny, set-header, add-header, del-header are)"))
        }
    };
    Ok(HttpRule { action, cond })
}

/// Parses a `stick` rule (the words after `stick`): `match|on|store-request|store-response KEY
/// [table T] [if|unless COND]`, the condition's ACLs going into `acls`, the section's table.
pub fn parse_stick_rule(
    line: &str,
    scope: &super::stick_syntax::StickScope,
    acls: &mut AclTable,
) -> Result<super::stick_rule::StickRule, String> {
    let all = split_words(line)?;
    let at = all.iter().position(|w| w == "if" || w == "unless").unwrap_or(all.len());
    let words: Vec<&str> = all[..at].iter().map(String::as_str).collect();
    let (kind, sample, table) = super::stick_syntax::parse_stick_target(&words, scope)?;
    if at < all.len() && kind == super::stick_syntax::StickRuleKind::StoreResponse {
        // HAProxy 2.6 evaluates it on the response, where the request's fetches (hdr, path,
        // req.cook…) never match ("incompatible with 'backend stick-store rule'"); the
        // response's own (res.hdr, status) are not fetches hakeeper has.
        return Err("a condition on a store-response rule is not supported (HAProxy 2.6 evaluates it on the response, \
                    where request fetches never match; hakeeper has no response fetches such as res.hdr or status)"
            .into());
    }
    let cond = if at < all.len() { Some(parse_cond(&all[at..], acls)?) } else { None };
    Ok(super::stick_rule::StickRule { kind, sample, table, cond })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn w(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn words_split_as_haproxy_does() {
        assert_eq!(w("set-header X-A \"a b\" if x"), ["set-header", "X-A", "a b", "if", "x"]);
        assert_eq!(w("a\\ b 'c \\d'  e"), ["a b", "c \\d", "e"]);
        assert_eq!(w("x \"\""), ["x", ""]);
        assert!(split_words("a \"b").is_err());
    }

    #[test]
    fn criteria_parse() {
        let t = parse_criterion(&w("hdr(Host) -i www.ABC.com")).unwrap();
        let AclTest::Header { name, matcher } = t else { panic!() };
        assert_eq!(name, "host");
        assert_eq!(matcher, StrMatcher::text(StrMatch::Exact, true, vec!["www.abc.com".into()]));
        assert!(matches!(
            parse_criterion(&w("path_beg /api /static")).unwrap(),
            AclTest::Path(StrMatcher::Text { how: StrMatch::Prefix, patterns, .. }) if patterns.len() == 2
        ));
        assert!(matches!(parse_criterion(&w("hdr(x-a) -m found")).unwrap(), AclTest::Header { matcher: StrMatcher::Found, .. }));
        let AclTest::Src(nets) = parse_criterion(&w("src 10.0.0.0/8 192.0.2.1 2001:db8::/32 172.16.0.0/255.240.0.0")).unwrap() else {
            panic!()
        };
        assert_eq!(nets[0].prefix_len, 8);
        assert_eq!(nets[1].prefix_len, 32);
        assert_eq!(nets[3].prefix_len, 12);
        assert!(parse_criterion(&w("src 10.0.0.0/33")).is_err());
        assert!(parse_criterion(&w("src 10.0.0.0/255.0.255.0")).is_err());
        assert!(parse_criterion(&w("hdr(host)")).is_err(), "no pattern");
        assert!(parse_criterion(&w("hdr(host,1) x")).is_err());
        assert!(parse_criterion(&w("cook(x) y")).is_err());
        assert!(parse_criterion(&w("path -f /etc/list")).is_err(), "no pattern directory");
    }

    #[test]
    fn match_methods_as_haproxy() {
        let holds = |c: &str, sample: &[u8]| match parse_criterion(&w(c)).unwrap() {
            AclTest::Header { matcher, .. } | AclTest::Path(matcher) => matcher.matches(sample),
            AclTest::Payload { matcher, .. } => matcher.matches(sample),
            other => panic!("{other:?}"),
        };
        assert!(holds("path -m reg ^/api/v[0-9]+$", b"/api/v12") && !holds("path -m reg ^/api/v[0-9]+$", b"/API/v1"));
        assert!(holds("path -i -m reg ^/api/", b"/API/x"), "-i before -m applies");
        assert!(holds("hdr(content-length) -m int gt 1000", b"4096") && !holds("hdr(content-length) -m int gt 1000", b"12"));
        assert!(holds("hdr(x-forwarded-for) -m ip 10.0.0.0/8", b"10.2.3.4") && !holds("hdr(x-forwarded-for) -m ip 10.0.0.0/8", b"junk"));
        assert!(holds("hdr(host) -m len le 3", b"a.b") && !holds("hdr(host) -m len le 3", b"a.bc"));
        assert!(holds("path -m beg -i /IMG", b"/img/x") && holds("path -m end .js", b"/a.js") && holds("path -m sub /v2/", b"/a/v2/b"));
        assert!(holds("path -m str /x", b"/x") && !holds("path -m str /x", b"/x/"));
        assert!(holds("req.payload(0,0) -m reg ^SSH-[0-9.]+-", b"SSH-2.0-x") && holds("req.payload(0,0) -m len 3", b"abc"));
        assert!(holds("hdr(x) -m found", b""));
        // Methods the sample's type has no meaning for, and patterns where none are taken.
        for bad in [
            "path -m reg (",
            "path -m bin 00",
            "src -m str 1.2.3.4",
            "src_port -m reg ^1",
            "req.payload(0,1) -m int 1",
            "srv_is_up(b/s) -m int 1",
            "path -m found /x",
            "path -m nope x",
            "hdr(x) -m len abc",
            "hdr(x) -m ip 10.0.0.0/33",
        ] {
            assert!(parse_criterion(&w(bad)).is_err(), "{bad}");
        }
        assert!(matches!(parse_criterion(&w("src -m found")).unwrap(), AclTest::Const(true)));
        assert!(matches!(parse_criterion(&w("dst_port -m found")).unwrap(), AclTest::DstPort(m) if m.matches(0) && m.matches(65535)));
        assert!(matches!(parse_criterion(&w("src_port -m int lt 1024")).unwrap(), AclTest::SrcPort(m) if m.matches(80)));
    }

    #[test]
    fn pattern_files_add_to_inline_patterns_and_errors_name_file_and_line() {
        let dir = std::env::temp_dir().join(format!("hakeeper-acl-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nets.lst"), "# offices\n10.0.0.0/8\n  192.0.2.0/24\n").unwrap();
        std::fs::write(dir.join("bad.lst"), "10.0.0.0/8\n\n300.1.1.1\n").unwrap();
        std::fs::write(dir.join("ports.lst"), "80\nge 8000\n").unwrap();
        std::fs::write(dir.join("paths.lst"), "^/a/\n(\n").unwrap();
        let nets = parse_criterion_in(&w("src -f nets.lst 172.16.0.0/12"), Some(&dir));
        let bad = parse_criterion_in(&w("src -f bad.lst"), Some(&dir));
        let ports = parse_criterion_in(&w("dst_port -f ports.lst"), Some(&dir));
        let regs = parse_criterion_in(&w("path -m reg -f paths.lst"), Some(&dir));
        let missing = parse_criterion_in(&w("src -f nope.lst"), Some(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        let AclTest::Src(nets) = nets.unwrap() else { panic!() };
        assert_eq!(nets.len(), 3);
        assert!(
            nets.iter().any(|n| n.contains("192.0.2.9".parse().unwrap())) && nets.iter().any(|n| n.contains("172.20.0.1".parse().unwrap()))
        );
        let e = bad.unwrap_err();
        assert!(e.starts_with("bad.lst:3: invalid network \"300.1.1.1\""), "{e}");
        assert!(matches!(ports.unwrap(), AclTest::DstPort(m) if m.matches(80) && m.matches(9000) && !m.matches(81)));
        assert!(regs.unwrap_err().starts_with("paths.lst:2: invalid regular expression"));
        assert!(missing.unwrap_err().starts_with("cannot read pattern file"));
        assert!(parse_criterion(&w("src -f nets.lst")).unwrap_err().contains("only when a config file is loaded"));
        assert!(parse_criterion_in(&w("src -f"), Some(Path::new("/"))).is_err());
    }

    #[test]
    fn server_and_listener_fetches_parse() {
        assert!(matches!(
            parse_criterion(&w("srv_is_up(db/primary)")).unwrap(),
            AclTest::SrvIsUp { backend: Some(b), server, .. } if b == "db" && server == "primary"
        ));
        assert!(matches!(parse_criterion(&w("srv_is_up(primary)")).unwrap(), AclTest::SrvIsUp { backend: None, .. }));
        for bad in ["srv_is_up(db/)", "srv_is_up(/s)", "srv_is_up()", "srv_is_up(db/s) 1", "connslots", "so_id", "so_id x"] {
            assert!(parse_criterion(&w(bad)).is_err(), "{bad}");
        }
        let AclTest::ConnSlots { backend, ints, .. } = parse_criterion(&w("connslots(db) -m int gt 10")).unwrap() else { panic!() };
        assert_eq!(backend.as_deref(), Some("db"));
        assert!(ints.matches(11) && !ints.matches(10));
        assert!(matches!(parse_criterion(&w("connslots lt 0")).unwrap(), AclTest::ConnSlots { backend: None, .. }));
        assert!(matches!(parse_criterion(&w("so_id 1 3")).unwrap(), AclTest::SoId(m) if m.matches(3) && !m.matches(2)));
        let sni = parse_criterion(&w("req.ssl_sni -i A.example")).unwrap();
        assert!(matches!(&sni, AclTest::SslSni(m) if m.matches(b"a.EXAMPLE")) && sni.is_content());
        assert!(matches!(parse_criterion(&w("req_ssl_hello_type 1")).unwrap(), AclTest::SslHelloType(m) if m.matches(1)));
        assert!(parse_criterion(&w("req.ssl_hello_type -m reg 1")).is_err());
    }

    #[test]
    fn conditions_parse_with_or_and_negation() {
        let mut t = AclTable::default();
        t.define("a", AclTest::Const(true));
        t.define("b", AclTest::Const(false));
        let c = parse_cond(&w("if a !b || ! a { src 10.0.0.0/8 }"), &mut t).unwrap();
        assert!(!c.unless);
        assert_eq!(c.any_of.len(), 2);
        assert_eq!(c.any_of[0], vec![AclRef { negate: false, acl: 0 }, AclRef { negate: true, acl: 1 }]);
        assert_eq!(c.any_of[1][0], AclRef { negate: true, acl: 0 });
        assert_eq!(c.any_of[1][1].acl, 2, "anonymous ACL appended");
        let c = parse_cond(&w("unless TRUE"), &mut t).unwrap();
        assert!(c.unless);
        assert!(parse_cond(&w("if nope"), &mut t).unwrap_err().contains("no ACL named \"nope\""));
        assert!(parse_cond(&w("if a ||"), &mut t).is_err());
        assert!(parse_cond(&w("if || a"), &mut t).is_err());
        assert!(parse_cond(&w("if { src 1.2.3.4"), &mut t).is_err());
        assert!(parse_cond(&w("when a"), &mut t).is_err());
        // HAProxy's documented `redirect scheme https if !{ ssl_fc }`: the `!` may touch `{`.
        let c = parse_cond(&w("if !{ ssl_fc } !!a"), &mut t).unwrap();
        assert!(c.any_of[0][0].negate);
        assert!(matches!(t.acls[c.any_of[0][0].acl].tests[0], AclTest::Tls(TlsFetch::Fc)));
        assert_eq!(c.any_of[0][1], AclRef { negate: false, acl: 0 });
        assert!(parse_cond(&w("if a !"), &mut t).is_err());
    }

    #[test]
    fn acl_names_repeat_as_or() {
        let mut t = AclTable::default();
        t.define("x", AclTest::Const(false));
        t.define("x", AclTest::Const(true));
        assert_eq!(t.into_acls()[0].tests.len(), 2);
    }

    #[test]
    fn request_rules_parse() {
        let mut t = AclTable::default();
        t.define("bad", AclTest::Const(true));
        let r = parse_request_rule("deny deny_status 429 if bad", &mut t).unwrap();
        assert_eq!(r.action, RequestAction::Deny { status: 429 });
        assert!(r.cond.is_some());
        assert_eq!(parse_request_rule("deny", &mut t).unwrap().action, RequestAction::Deny { status: 403 });
        assert_eq!(parse_request_rule("tarpit", &mut t).unwrap().action, RequestAction::Tarpit { status: 500 });
        let r = parse_request_rule("tarpit deny_status 429 if bad", &mut t).unwrap();
        assert_eq!((r.action, r.cond.is_some()), (RequestAction::Tarpit { status: 429 }, true));
        let r = parse_request_rule("redirect scheme https code 301 unless bad", &mut t).unwrap();
        assert_eq!(
            r.action,
            RequestAction::Redirect(Redirect {
                kind: RedirectKind::Scheme,
                target: "https".into(),
                code: 301,
                drop_query: false,
                append_slash: false
            })
        );
        let r = parse_request_rule("set-header X-Proto \"https 100%%\"", &mut t).unwrap();
        assert_eq!(r.action, RequestAction::SetHeader { name: "X-Proto".into(), value: "https 100%".into() });
        assert_eq!(parse_request_rule("del-header Cookie", &mut t).unwrap().action, RequestAction::DelHeader { name: "Cookie".into() });
        for bad in [
            "deny deny_status 299",
            "redirect location",
            "redirect location /x code 305",
            "set-header X-A",
            "set-header X-A %[src]",
            "set-header X:A b",
            "tarpit deny_status 302",
            "tarpit now",
            "add-header X-A a b",
            "",
        ] {
            assert!(parse_request_rule(bad, &mut t).is_err(), "{bad}");
        }
    }

    #[test]
    fn response_rules_parse() {
        let mut t = AclTable::default();
        assert_eq!(parse_response_rule("deny", &mut t).unwrap().action, ResponseAction::Deny { status: 502 });
        assert_eq!(
            parse_response_rule("add-header X-Served-By lb1", &mut t).unwrap().action,
            ResponseAction::AddHeader { name: "X-Served-By".into(), value: "lb1".into() }
        );
        assert!(parse_response_rule("redirect location /", &mut t).is_err());
    }

    #[test]
    fn stick_rules_parse() {
        use super::super::stick_syntax::{StickRuleKind, StickSample, StickScope, TrackKey};
        let scope = StickScope::new(vec!["fe".into(), "other".into()], "fe");
        let mut acls = AclTable::default();
        let r = parse_stick_rule("on req.cook(JSESSIONID)", &scope, &mut acls).unwrap();
        assert_eq!((r.kind, r.sample, r.table), (StickRuleKind::On, StickSample::Request(TrackKey::Cookie("JSESSIONID".into())), 0));
        assert!(r.cond.is_none());
        let r = parse_stick_rule("store-response res.cook(JSESSIONID) table other", &scope, &mut acls).unwrap();
        assert_eq!((r.sample, r.table), (StickSample::ResCookie("JSESSIONID".into()), 1));
        assert!(parse_stick_rule("store-response src", &scope, &mut acls).is_err());
        assert!(parse_stick_rule("keep src", &scope, &mut acls).is_err());
        // Conditions, after the table or the key, as HAProxy writes them.
        let r = parse_stick_rule("on src table other if { path_beg /app }", &scope, &mut acls).unwrap();
        assert_eq!(r.table, 1);
        let c = r.cond.expect("a condition");
        assert!(!c.unless && c.any_of.len() == 1);
        let r = parse_stick_rule("match req.cook(S) unless { src 192.0.2.0/24 }", &scope, &mut acls).unwrap();
        assert!(r.cond.expect("a condition").unless);
        assert!(parse_stick_rule("on src if", &scope, &mut acls).is_err());
        assert!(parse_stick_rule("on src if no_such_acl", &scope, &mut acls).is_err());
        assert!(parse_stick_rule("on src table", &scope, &mut acls).is_err());
        let err = parse_stick_rule("store-response res.cook(S) if { hdr(x-a) -m found }", &scope, &mut acls).unwrap_err();
        assert!(err.contains("store-response rule is not supported"), "{err}");
    }
}
