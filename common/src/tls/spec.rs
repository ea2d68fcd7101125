//! Checks a bind's `ssl` options into a [`BindTls`] (the certificates are read later, by
//! [`super::load`]). Versions, ciphers and ALPN follow HAProxy's bind keywords; where rustls
//! cannot do what HAProxy would, an error says so rather than serving something else.

use super::ciphers::{self, Family};
use super::{BindTls, TlsVersion, Verify};
use crate::config::raw::{RawBindSsl, RawClientVerify};
use crate::config::validate::Finding;
use std::path::PathBuf;

/// The findings of one bind's check.
#[derive(Default)]
pub struct Findings {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl Findings {
    fn error(&mut self, path: String, message: impl Into<String>) {
        self.errors.push(Finding { path, message: message.into() });
    }
    fn warn(&mut self, path: String, message: impl Into<String>) {
        self.warnings.push(Finding { path, message: message.into() });
    }
}

/// `ssl-min-ver` / `ssl-max-ver` values. `Ok(None)`: a version below TLSv1.2 (rustls has none).
fn version(text: &str) -> Result<Option<TlsVersion>, String> {
    match text {
        "TLSv1.3" => Ok(Some(TlsVersion::Tls13)),
        "TLSv1.2" => Ok(Some(TlsVersion::Tls12)),
        "SSLv3" | "TLSv1.0" | "TLSv1.1" => Ok(None),
        _ => Err(format!("unknown TLS version {text:?} (expected SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)")),
    }
}

/// Checks `raw`, the `ssl` struct at `path`, of a bind in a frontend (`http`: in mode http).
pub fn check(raw: &RawBindSsl, path: &str, http: bool, f: &mut Findings) -> BindTls {
    if raw.crt.is_empty() && raw.crt_list.is_none() {
        f.error(format!("{path}.crt"), "a TLS bind needs at least one certificate (crt or crt_list)");
    }
    let mut min_version = TlsVersion::Tls12;
    if let Some(v) = &raw.min_version {
        match version(v) {
            Ok(Some(v)) => min_version = v,
            Ok(None) => f.warn(
                format!("{path}.min_version"),
                format!("{v} is below what rustls speaks: clients are served TLSv1.2 and TLSv1.3 only"),
            ),
            Err(e) => f.error(format!("{path}.min_version"), e),
        }
    }
    let mut max_version = TlsVersion::Tls13;
    if let Some(v) = &raw.max_version {
        match version(v) {
            Ok(Some(v)) => max_version = v,
            Ok(None) => f.error(format!("{path}.max_version"), format!("{v}: rustls speaks only TLSv1.2 and TLSv1.3")),
            Err(e) => f.error(format!("{path}.max_version"), e),
        }
    }
    if min_version > max_version {
        f.error(format!("{path}.min_version"), "min_version is above max_version");
    }
    let mut suites = |text: &Option<String>, field: &str, family| {
        text.as_ref().and_then(|t| match ciphers::map(t, family) {
            Ok(list) => Some(list.into_iter().map(str::to_string).collect::<Vec<_>>()),
            Err(e) => {
                f.error(format!("{path}.{field}"), e);
                None
            }
        })
    };
    let ciphers = suites(&raw.ciphers, "ciphers", Family::Tls12);
    let ciphersuites = suites(&raw.ciphersuites, "ciphersuites", Family::Tls13);
    let curves = raw.curves.as_ref().and_then(|t| match super::groups::map(t) {
        Ok(list) => Some(list.into_iter().map(str::to_string).collect::<Vec<_>>()),
        Err(e) => {
            f.error(format!("{path}.curves"), e);
            None
        }
    });
    let mut alpn = Vec::new();
    for (i, p) in raw.alpn.iter().enumerate() {
        let field = format!("{path}.alpn[{i}]");
        if p.is_empty() || p.len() > 255 {
            f.error(field, "an ALPN protocol name has 1 to 255 bytes");
        } else if http && !matches!(p.as_str(), "h2" | "http/1.1" | "http/1.0") {
            f.error(field, format!("protocol {p:?} is not served by a mode http frontend (h2, http/1.1, http/1.0)"));
        } else if !alpn.contains(p) {
            alpn.push(p.clone());
        }
    }
    let verify = match raw.verify {
        None | Some(RawClientVerify::None) => Verify::None,
        Some(RawClientVerify::Optional) => Verify::Optional,
        Some(RawClientVerify::Required) => Verify::Required,
    };
    if verify != Verify::None && raw.ca_file.is_none() {
        // HAProxy: "verify is enabled but no CA file specified".
        f.error(format!("{path}.verify"), "client certificate verification needs ca_file");
    }
    BindTls {
        field: path.to_string(),
        crt: raw.crt.iter().map(PathBuf::from).collect(),
        crt_list: raw.crt_list.as_ref().map(PathBuf::from),
        alpn,
        min_version,
        max_version,
        ciphers,
        ciphersuites,
        curves,
        ca_file: raw.ca_file.as_ref().map(PathBuf::from),
        verify,
        tickets: raw.tickets.unwrap_or(true),
        certs: Vec::new(),
        client_ca: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: RawBindSsl, http: bool) -> (BindTls, Findings) {
        let mut f = Findings::default();
        let t = check(&raw, "frontend[0].bind[1].ssl", http, &mut f);
        (t, f)
    }

    #[test]
    fn defaults_are_tls12_to_13_with_tickets() {
        let (t, f) = run(RawBindSsl { crt: vec!["/a.pem".into()], ..Default::default() }, true);
        assert!(f.errors.is_empty() && f.warnings.is_empty());
        assert_eq!((t.min_version, t.max_version, t.tickets, t.verify), (TlsVersion::Tls12, TlsVersion::Tls13, true, Verify::None));
    }

    #[test]
    fn h2_is_offered_in_mode_http() {
        let raw = RawBindSsl { crt: vec!["/a.pem".into()], alpn: vec!["h2".into(), "http/1.1".into()], ..Default::default() };
        let (t, f) = run(raw, true);
        assert_eq!(t.alpn, ["h2", "http/1.1"]);
        assert!(f.warnings.is_empty() && f.errors.is_empty(), "{:?}", f.warnings);
        let raw = RawBindSsl { crt: vec!["/a.pem".into()], alpn: vec!["h3".into()], ..Default::default() };
        let (_, f) = run(raw, true);
        assert_eq!(f.errors[0].path, "frontend[0].bind[1].ssl.alpn[0]");
    }

    #[test]
    fn mistakes_name_their_field() {
        let raw = RawBindSsl {
            max_version: Some("TLSv1.1".into()),
            ciphers: Some("AES128-SHA".into()),
            verify: Some(RawClientVerify::Required),
            ..Default::default()
        };
        let (_, f) = run(raw, true);
        let paths: Vec<&str> = f.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "frontend[0].bind[1].ssl.crt",
                "frontend[0].bind[1].ssl.max_version",
                "frontend[0].bind[1].ssl.ciphers",
                "frontend[0].bind[1].ssl.verify"
            ]
        );
    }
}
