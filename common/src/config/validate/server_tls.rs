//! A server's `ssl`, `check_ssl` and `check_sni`, checked as HAProxy 2.6 checks them
//! (`ssl_sock_prepare_srv_ctx()`, `srv_parse_sni()`): `verify required` (the default) without a
//! CA file is an error, and checks use TLS when the server does and the check goes to its port.

use super::Checker;
use crate::config::model::{CheckTls, Mode, ServerTls, Sni, TlsMaterial, TlsVersion, Verify};
use crate::config::raw::{RawServer, RawVerify};
use rustls::pki_types::ServerName;
use std::path::PathBuf;

/// What a server's TLS settings came to.
pub(super) struct ServerTlsSettings {
    pub settings: Option<ServerTls>,
    pub check: Option<CheckTls>,
}

/// `check_port` is the checked port (`None`: no check), `port` the traffic port.
pub(super) fn server_tls(c: &mut Checker, sp: &str, s: &RawServer, mode: Mode, check_port: Option<u16>, port: u16) -> ServerTlsSettings {
    let traffic = s.ssl.as_ref().is_some_and(|ssl| ssl.enabled != Some(false));
    // HAProxy's init_srv_check(): checks inherit `ssl` unless they go to another port.
    let check_ssl = check_port.is_some() && s.check_ssl.unwrap_or(traffic && check_port == Some(port));
    if s.check_sni.is_some() && !check_ssl {
        c.warn(format!("{sp}.check_sni"), "check_sni has no effect: the server's checks do not use TLS");
    }
    if s.check_ssl == Some(true) && check_port.is_none() {
        c.warn(format!("{sp}.check_ssl"), "check_ssl has no effect: the server is not checked (no `check`)");
    }
    if !traffic && !check_ssl {
        if s.ssl.is_some() {
            c.warn(format!("{sp}.ssl"), "ssl settings unused: `enabled: false` and the server's checks do not use TLS");
        }
        return ServerTlsSettings { settings: None, check: None };
    }
    let path = format!("{sp}.ssl");
    let raw = s.ssl.clone().unwrap_or_default();
    let verify = match raw.verify {
        Some(RawVerify::None) => Verify::None,
        Some(RawVerify::Required) | None => Verify::Required,
    };
    if verify == Verify::Required && raw.ca_file.is_none() {
        // HAProxy's wording, and its advice.
        let at = if s.ssl.is_some() { path.clone() } else { format!("{sp}.check_ssl") };
        c.error(
            at,
            "verify is enabled but no CA file specified: set ssl.ca_file, or `verify: none` if you are certain to trust the server",
        );
    }
    let sni = raw.sni.as_deref().and_then(|text| match parse_sni(text, mode) {
        Ok(sni) => Some(sni),
        Err(why) => {
            c.error(format!("{path}.sni"), why);
            None
        }
    });
    for (field, name) in [("verifyhost", raw.verifyhost.as_deref()), ("check_sni", s.check_sni.as_deref())] {
        if let Some(name) = name {
            if let Err(why) = dns_name(name) {
                let at = if field == "check_sni" { format!("{sp}.check_sni") } else { format!("{path}.verifyhost") };
                c.error(at, why);
            }
        }
    }
    for (i, proto) in raw.alpn.iter().enumerate() {
        if proto.is_empty() || proto.len() > 255 {
            c.error(format!("{path}.alpn[{i}]"), "an ALPN protocol name is 1 to 255 bytes");
        } else if mode == Mode::Http && proto != "http/1.1" && proto != "http/1.0" {
            // A server that picked it would get HTTP/1.1 bytes.
            c.error(format!("{path}.alpn[{i}]"), format!("hakeeper speaks HTTP/1.x to servers: it cannot offer {proto:?}"));
        }
    }
    let min_version = match raw.min_version.as_deref() {
        None | Some("TLSv1.2") => TlsVersion::Tls12,
        Some("TLSv1.3") => TlsVersion::Tls13,
        Some(v @ ("SSLv3" | "TLSv1.0" | "TLSv1.1")) => {
            c.error(format!("{path}.min_version"), format!("{v} is not offered: hakeeper speaks TLSv1.2 and TLSv1.3 only"));
            TlsVersion::Tls12
        }
        Some(v) => {
            c.error(format!("{path}.min_version"), format!("unknown TLS version {v:?}: expected \"TLSv1.2\" or \"TLSv1.3\""));
            TlsVersion::Tls12
        }
    };
    let settings = ServerTls {
        traffic,
        verify,
        ca_file: raw.ca_file.map(PathBuf::from),
        verifyhost: raw.verifyhost,
        sni,
        crt: raw.crt.map(PathBuf::from),
        alpn: raw.alpn,
        min_version,
        field: path,
        material: TlsMaterial::default(),
    };
    ServerTlsSettings { settings: Some(settings), check: check_ssl.then(|| CheckTls { sni: s.check_sni.clone() }) }
}

/// The two forms of HAProxy's `sni` expression in use: `str(NAME)` and `req.hdr(NAME)`
/// (or its older spelling `hdr(NAME)`). A header exists only in `mode: http`.
fn parse_sni(text: &str, mode: Mode) -> Result<Sni, String> {
    let text = text.trim();
    let arg = |prefix: &str| text.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')).map(str::trim);
    if let Some(name) = arg("str(") {
        dns_name(name)?;
        return Ok(Sni::Const(name.to_string()));
    }
    if let Some(header) = arg("req.hdr(").or_else(|| arg("hdr(")) {
        if header.is_empty() || !header.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
            return Err(format!("invalid header name {header:?} in sni"));
        }
        if mode != Mode::Http {
            return Err("sni req.hdr() needs mode http: a TCP connection has no request headers".into());
        }
        return Ok(Sni::ReqHdr(header.to_ascii_lowercase()));
    }
    Err(format!("unsupported sni expression {text:?}: expected str(NAME) or req.hdr(NAME)"))
}

fn dns_name(name: &str) -> Result<(), String> {
    match ServerName::try_from(name) {
        Ok(ServerName::DnsName(_)) => Ok(()),
        _ => Err(format!("{name:?} is not a DNS name")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_expressions() {
        assert_eq!(parse_sni("str(app.example)", Mode::Tcp), Ok(Sni::Const("app.example".into())));
        assert_eq!(parse_sni("req.hdr(Host)", Mode::Http), Ok(Sni::ReqHdr("host".into())));
        assert_eq!(parse_sni("hdr(host)", Mode::Http), Ok(Sni::ReqHdr("host".into())));
        assert!(parse_sni("req.hdr(host)", Mode::Tcp).unwrap_err().contains("mode http"));
        assert!(parse_sni("str(not a name)", Mode::Tcp).unwrap_err().contains("not a DNS name"));
        assert!(parse_sni("str(192.0.2.1)", Mode::Tcp).is_err(), "an IP address is never an SNI");
        assert!(parse_sni("ssl_fc_sni", Mode::Http).unwrap_err().contains("unsupported sni expression"));
    }
}

#[cfg(test)]
mod load_tests {
    use crate::config::{load_file, load_str, ConfigError, Diagnostic, Sni, Verify};

    fn config(server: &str) -> String {
        format!("(\n  backend: [(name: \"be\", mode: http,\n    servers: [\n      {server}])],\n)")
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        match load_str("t.ron", text) {
            Ok(_) => panic!("config unexpectedly valid:\n{text}"),
            Err(ConfigError::Invalid(d)) => d,
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn verify_required_without_ca_file_is_an_error_as_in_haproxy() {
        let errs = errors(&config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (sni: "str(app.example)"))"#));
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = errs[0].to_string();
        assert!(e.starts_with("t.ron:4:"), "{e}");
        assert!(e.contains("backend[0].servers[0].ssl: verify is enabled but no CA file specified"), "{e}");
        // check_ssl alone takes the server's (default) verify too.
        let errs = errors(&config(r#"(name: "s", addr: "192.0.2.1:80", check: (), check_ssl: true)"#));
        assert!(errs[0].to_string().contains("backend[0].servers[0].check_ssl: verify is enabled but no CA file specified"), "{errs:?}");
        // verify none needs none.
        let c = load_str("t.ron", &config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (verify: none))"#)).unwrap().config;
        let tls = c.backends[0].servers[0].tls.as_ref().unwrap();
        assert!(tls.traffic);
        assert_eq!(tls.verify, Verify::None);
    }

    #[test]
    fn checks_inherit_ssl_on_the_traffic_port_only() {
        let server = |extra: &str| {
            let text = config(&format!(r#"(name: "s", addr: "192.0.2.1:443", ssl: (verify: none){extra})"#));
            load_str("t.ron", &text).unwrap().config.backends[0].servers[0].clone()
        };
        assert!(server(", check: ()").check_tls.is_some(), "same port: the check uses TLS");
        assert!(server(", check: (port: 8080)").check_tls.is_none(), "another port: plain");
        assert!(server(", check: (port: 8080), check_ssl: true").check_tls.is_some());
        assert!(server(", check: (), check_ssl: false").check_tls.is_none(), "no-check-ssl");
        assert!(server("").check_tls.is_none(), "no check at all");
        let unused =
            load_str("t.ron", &config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (enabled: false, verify: none), check_ssl: true)"#));
        let warnings: Vec<String> = unused.unwrap().warnings.iter().map(|w| w.to_string()).collect();
        assert!(warnings.iter().any(|w| w.contains("check_ssl has no effect: the server is not checked")), "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("ssl settings unused")), "{warnings:?}");
        let s = server(r#", check: (), check_sni: "app.example""#);
        assert_eq!(s.check_tls.unwrap().sni.as_deref(), Some("app.example"));
    }

    #[test]
    fn sni_and_versions_are_checked_at_their_field() {
        let errs = errors(&config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (verify: none, sni: "ssl_fc_sni", min_version: "TLSv1.0"))"#));
        let text: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        assert!(text.iter().any(|e| e.contains("ssl.sni: unsupported sni expression")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("ssl.min_version: TLSv1.0 is not offered")), "{text:?}");
        let c =
            load_str("t.ron", &config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (verify: none, sni: "req.hdr(Host)"))"#)).unwrap().config;
        assert_eq!(c.backends[0].servers[0].tls.as_ref().unwrap().sni, Some(Sni::ReqHdr("host".into())));
        let tcp = "(\n  backend: [(name: \"be\", mode: tcp,\n    servers: [\n      (name: \"s\", addr: \"192.0.2.1:443\", ssl: (verify: none, sni: \"req.hdr(host)\"))])],\n)";
        assert!(errors(tcp)[0].to_string().contains("needs mode http"));
        let h2 = errors(&config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (verify: none, alpn: ["h2", "http/1.1"]))"#));
        assert!(h2[0].to_string().contains("ssl.alpn[0]: hakeeper speaks HTTP/1.x to servers: it cannot offer \"h2\""), "{h2:?}");
    }

    #[test]
    fn system_ca_reads_the_systems_bundle() {
        // Debian's ca-certificates bundle (HAProxy's `ca-file @system-ca`).
        let dir = std::env::temp_dir().join(format!("hakeeper-system-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.ron");
        std::fs::write(&path, config(r#"(name: "s", addr: "192.0.2.1:443", ssl: (ca_file: "@system-ca", sni: "str(app.example)"))"#))
            .unwrap();
        let loaded = load_file(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        let c = loaded.unwrap_or_else(|e| panic!("{e}")).config;
        let tls = c.backends[0].servers[0].tls.as_ref().unwrap();
        assert!(tls.material.ca_pem.matches("BEGIN CERTIFICATE").count() > 50, "the whole bundle");
    }

    #[test]
    fn bad_tls_files_name_the_file_and_the_reason() {
        let dir = std::env::temp_dir().join(format!("hakeeper-server-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("text.pem"), "not a certificate\n").unwrap();
        std::fs::write(dir.join("junk.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        let cases = [
            (r#"ca_file: "missing.pem""#, "ssl.ca_file: cannot read "),
            (r#"ca_file: "text.pem""#, "text.pem: no certificate in the file"),
            (r#"ca_file: "junk.pem""#, "junk.pem: certificate 1 is not usable as a CA"),
            (r#"verify: none, crt: "text.pem""#, "crt text.pem: no certificate in the file"),
        ];
        let mut found = Vec::new();
        for (i, (ssl, _)) in cases.iter().enumerate() {
            let path = dir.join(format!("c{i}.ron"));
            std::fs::write(&path, config(&format!(r#"(name: "s", addr: "192.0.2.1:443", ssl: ({ssl}))"#))).unwrap();
            found.push(load_file(&path).err().map(|e| e.to_string()));
        }
        std::fs::remove_dir_all(&dir).unwrap();
        for ((_, needle), err) in cases.iter().zip(found) {
            let err = err.unwrap_or_else(|| panic!("accepted; expected {needle:?}"));
            assert!(err.contains(needle), "{err}");
            assert!(err.contains(":4:") && err.contains("backend[0].servers[0].ssl"), "file, line and field: {err}");
        }
    }
}
