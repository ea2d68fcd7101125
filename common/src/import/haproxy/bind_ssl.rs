//! `bind … ssl crt …`: HAProxy's TLS bind keywords, and the `ssl-default-bind-*`, `crt-base`
//! and `ca-base` of `global`, translated to a bind's `ssl` struct. A TLS keyword hakeeper cannot
//! honour fails the translation of the whole bind (the caller reports it as lossy, so the import
//! fails closed) rather than leaving an address that would serve plaintext or weaker TLS.

use crate::config::raw::{RawBindSsl, RawClientVerify};
use crate::tls::ciphers::{self, Family};

/// TLS settings of `global` that binds inherit.
#[derive(Debug, Default, Clone)]
pub struct Defaults {
    pub ciphers: Option<String>,
    pub ciphersuites: Option<String>,
    /// `ssl-default-bind-curves`.
    pub curves: Option<String>,
    /// `ssl-default-bind-options` words, applied before the bind's own.
    pub options: Vec<String>,
    pub crt_base: Option<String>,
    pub ca_base: Option<String>,
}

/// Handles a TLS keyword of `global`; `Some(Err)` when it is one but cannot be translated,
/// `None` when it is not one of these.
pub fn global_keyword(d: &mut Defaults, words: &[String]) -> Option<Result<(), String>> {
    let arg = words.get(1).cloned();
    let one = |arg: Option<String>| arg.ok_or_else(|| format!("`{}` needs a value", words[0]));
    Some(match words[0].as_str() {
        "ssl-default-bind-ciphers" => one(arg).and_then(|a| {
            ciphers::map(&a, Family::Tls12)?;
            d.ciphers = Some(a);
            Ok(())
        }),
        "ssl-default-bind-ciphersuites" => one(arg).and_then(|a| {
            ciphers::map(&a, Family::Tls13)?;
            d.ciphersuites = Some(a);
            Ok(())
        }),
        "ssl-default-bind-curves" => one(arg).and_then(|a| {
            crate::tls::groups::map(&a)?;
            d.curves = Some(a);
            Ok(())
        }),
        "ssl-default-bind-options" => {
            let mut probe = RawBindSsl::default();
            let opts = words[1..].to_vec();
            apply(&mut probe, &opts, &Defaults::default()).map(|_| d.options = opts)
        }
        "crt-base" => one(arg).map(|a| d.crt_base = Some(a)),
        "ca-base" => one(arg).map(|a| d.ca_base = Some(a)),
        _ => return None,
    })
}

fn based(base: &Option<String>, path: &str) -> String {
    match base {
        Some(b) if !path.starts_with('/') => format!("{}/{path}", b.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

/// Keywords that only turn off protocol versions rustls does not speak anyway.
const NO_OLD_VERSIONS: &[&str] = &["no-sslv3", "no-tlsv10", "no-tlsv11", "force-tlsv12", "force-tlsv13"];

/// Applies TLS keywords `opts` to `ssl`; returns the words that are not TLS keywords (for the
/// caller's other bind options). An error names the keyword that cannot be translated.
fn apply(ssl: &mut RawBindSsl, opts: &[String], d: &Defaults) -> Result<Vec<String>, String> {
    let mut rest = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        let kw = opts[i].as_str();
        let value = || opts.get(i + 1).cloned().ok_or_else(|| format!("`{kw}` needs a value"));
        let mut takes = 0;
        match kw {
            "ssl" => {}
            "crt" => {
                ssl.crt.push(based(&d.crt_base, &value()?));
                takes = 1;
            }
            "crt-list" => {
                if ssl.crt_list.is_some() {
                    return Err("several `crt-list` on one bind are not translated".into());
                }
                ssl.crt_list = Some(based(&d.crt_base, &value()?));
                takes = 1;
            }
            "alpn" => {
                ssl.alpn = value()?.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect();
                takes = 1;
            }
            "ssl-min-ver" | "ssl-max-ver" => {
                let v = value()?;
                if !matches!(v.as_str(), "SSLv3" | "TLSv1.0" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3") {
                    return Err(format!("`{kw} {v}`: unknown version"));
                }
                if kw == "ssl-min-ver" {
                    ssl.min_version = Some(v);
                } else {
                    ssl.max_version = Some(v);
                }
                takes = 1;
            }
            "ciphers" => {
                let v = value()?;
                ciphers::map(&v, Family::Tls12).map_err(|e| format!("`ciphers {v}`: {e}"))?;
                ssl.ciphers = Some(v);
                takes = 1;
            }
            "ciphersuites" => {
                let v = value()?;
                ciphers::map(&v, Family::Tls13).map_err(|e| format!("`ciphersuites {v}`: {e}"))?;
                ssl.ciphersuites = Some(v);
                takes = 1;
            }
            // `ecdhe` names the one curve of ECDHE; with OpenSSL 1.1+ HAProxy sets it as the
            // group list, as `curves` does.
            "curves" | "ecdhe" => {
                let v = value()?;
                crate::tls::groups::map(&v).map_err(|e| format!("`{kw} {v}`: {e}"))?;
                ssl.curves = Some(v);
                takes = 1;
            }
            "ca-file" => {
                ssl.ca_file = Some(based(&d.ca_base, &value()?));
                takes = 1;
            }
            "verify" => {
                ssl.verify = Some(match value()?.as_str() {
                    "none" => RawClientVerify::None,
                    "optional" => RawClientVerify::Optional,
                    "required" => RawClientVerify::Required,
                    other => return Err(format!("`verify {other}`: expected none, optional or required")),
                });
                takes = 1;
            }
            "no-tls-tickets" => ssl.tickets = Some(false),
            "tls-tickets" => ssl.tickets = Some(true),
            "no-tlsv13" => ssl.max_version = Some("TLSv1.2".into()),
            "no-tlsv12" => ssl.min_version = Some("TLSv1.3".into()),
            k if NO_OLD_VERSIONS.contains(&k) => {
                if k == "force-tlsv12" {
                    ssl.min_version = Some("TLSv1.2".into());
                    ssl.max_version = Some("TLSv1.2".into());
                } else if k == "force-tlsv13" {
                    ssl.min_version = Some("TLSv1.3".into());
                }
            }
            k if is_tls_keyword(k) => return Err(format!("TLS option `{k}` is not translated")),
            _ => rest.push(opts[i].clone()),
        }
        i += 1 + takes;
    }
    Ok(rest)
}

/// HAProxy's other SSL bind keywords (`bind_kws` of ssl_sock.c): none has a hakeeper equivalent.
fn is_tls_keyword(k: &str) -> bool {
    [
        "allow-0rtt",
        "ca-ignore-err",
        "ca-sign-file",
        "ca-sign-pass",
        "ca-verify-file",
        "crl-file",
        "crt-ignore-err",
        "generate-certificates",
        "npn",
        "prefer-client-ciphers",
        "sigalgs",
        "client-sigalgs",
        "ssl-reuse",
        "no-ssl-reuse",
        "strict-sni",
        "tls-ticket-keys",
        "no-ca-names",
        "ocsp-update",
        "no-alpn",
        "quic-force-retry",
    ]
    .contains(&k)
        || k.starts_with("ssl") && k != "ssl"
}

/// Translates a bind's options: `Ok(None)` for a plaintext bind (options untouched), or its
/// `ssl` struct and the options that remain for the caller.
pub fn translate(options: &[String], d: &Defaults) -> Result<Option<(RawBindSsl, Vec<String>)>, String> {
    if !options.iter().any(|o| o == "ssl") {
        if let Some(k) = options.iter().find(|o| matches!(o.as_str(), "crt" | "crt-list" | "ca-file" | "verify")) {
            // HAProxy ignores them without `ssl` (with a warning); the operator meant TLS.
            return Err(format!("`{k}` without `ssl`: HAProxy would serve plaintext too, but this is not translated"));
        }
        return Ok(None);
    }
    let mut ssl =
        RawBindSsl { ciphers: d.ciphers.clone(), ciphersuites: d.ciphersuites.clone(), curves: d.curves.clone(), ..Default::default() };
    apply(&mut ssl, &d.options, d)?;
    let rest = apply(&mut ssl, options, d)?;
    if ssl.crt.is_empty() && ssl.crt_list.is_none() {
        return Err("`ssl` without `crt` or `crt-list`".into());
    }
    Ok(Some((ssl, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_full_tls_bind() {
        let d = Defaults { crt_base: Some("/etc/ssl/hk".into()), ..Default::default() };
        let (ssl, rest) = translate(
            &w("ssl crt site.pem crt /abs/other.pem crt-list list.txt alpn h2,http/1.1 ssl-min-ver TLSv1.2 ca-file /ca.pem verify optional no-tls-tickets accept-netscaler-cip 1"),
            &d,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ssl.crt, ["/etc/ssl/hk/site.pem", "/abs/other.pem"]);
        assert_eq!(ssl.crt_list.as_deref(), Some("/etc/ssl/hk/list.txt"));
        assert_eq!(ssl.alpn, ["h2", "http/1.1"]);
        assert_eq!((ssl.min_version.as_deref(), ssl.verify, ssl.tickets), (Some("TLSv1.2"), Some(RawClientVerify::Optional), Some(false)));
        assert_eq!(rest, ["accept-netscaler-cip", "1"], "non-TLS options are left to the caller");
    }

    #[test]
    fn global_defaults_apply_and_the_bind_overrides() {
        let mut d = Defaults::default();
        assert!(global_keyword(&mut d, &w("ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256")).unwrap().is_ok());
        assert!(global_keyword(&mut d, &w("ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets")).unwrap().is_ok());
        assert!(global_keyword(&mut d, &w("ssl-default-bind-ciphers DHE-RSA-AES128-SHA")).unwrap().is_err());
        assert!(global_keyword(&mut d, &w("maxconn 1")).is_none());
        let (ssl, _) = translate(&w("ssl crt a.pem tls-tickets"), &d).unwrap().unwrap();
        assert_eq!(ssl.ciphers.as_deref(), Some("ECDHE-RSA-AES128-GCM-SHA256"));
        assert_eq!((ssl.min_version.as_deref(), ssl.tickets), (Some("TLSv1.2"), Some(true)));
    }

    #[test]
    fn what_cannot_be_honoured_is_an_error() {
        let d = Defaults::default();
        assert!(translate(&w("ssl crt a.pem strict-sni"), &d).unwrap_err().contains("strict-sni"));
        assert!(translate(&w("ssl crt a.pem ciphers AES128-SHA"), &d).unwrap_err().contains("AES128-SHA"));
        assert!(translate(&w("ssl"), &d).unwrap_err().contains("without `crt`"));
        assert!(translate(&w("crt a.pem"), &d).is_err());
        assert!(translate(&w("ssl crt"), &d).is_err());
        assert_eq!(translate(&w("accept-proxy"), &d).unwrap(), None);
        assert!(translate(&w("ssl crt a.pem curves X448:X25519"), &d).unwrap_err().contains("X448"));
    }

    #[test]
    fn curves_ecdhe_and_the_global_default() {
        let mut d = Defaults::default();
        assert!(global_keyword(&mut d, &w("ssl-default-bind-curves X25519:P-256")).unwrap().is_ok());
        let (ssl, _) = translate(&w("ssl crt a.pem"), &d).unwrap().unwrap();
        assert_eq!(ssl.curves.as_deref(), Some("X25519:P-256"));
        let (ssl, _) = translate(&w("ssl crt a.pem ecdhe secp384r1"), &d).unwrap().unwrap();
        assert_eq!(ssl.curves.as_deref(), Some("secp384r1"), "the bind's own wins");
        assert!(global_keyword(&mut d, &w("ssl-default-bind-curves P-521")).unwrap().is_err());
    }
}
