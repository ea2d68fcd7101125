//! TLS towards a server, validated: HAProxy's server keywords `ssl`, `verify`, `ca-file`,
//! `verifyhost`, `sni`, `crt`, `alpn`, `ssl-min-ver`, and `check-ssl` / `check-sni` for its
//! health checks. The files are read by the supervisor ([`crate::tls_client::files`]) and
//! travel to the worker and the checker as [`TlsMaterial`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// A server's TLS settings, used by its traffic (`traffic`) and/or its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTls {
    /// HAProxy's `ssl` on the server: connections carrying traffic are TLS.
    pub traffic: bool,
    pub verify: Verify,
    pub ca_file: Option<PathBuf>,
    /// The name checked when no SNI is sent.
    pub verifyhost: Option<String>,
    pub sni: Option<Sni>,
    pub crt: Option<PathBuf>,
    pub alpn: Vec<String>,
    pub min_version: TlsVersion,
    /// The config path of the settings (`backend[0].servers[1].ssl`), for messages about files.
    pub field: String,
    /// The files' contents, once read.
    #[serde(default)]
    pub material: TlsMaterial,
}

/// HAProxy's `verify` on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verify {
    /// The chain must lead to a CA of `ca_file`, and the certificate name the SNI (or `verifyhost`).
    Required,
    None,
}

/// The server name sent in the handshake (HAProxy's `sni` sample expression, the two forms in use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sni {
    /// `str(NAME)`.
    Const(String),
    /// `req.hdr(NAME)`: the request's header, lower-case name; per connection.
    ReqHdr(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// What `ca_file` and `crt` held, as PEM text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsMaterial {
    pub ca_pem: String,
    /// The client certificate chain and its private key.
    pub identity_pem: Option<SecretPem>,
}

/// PEM text holding a private key: never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretPem(pub String);

impl fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretPem(<redacted>)")
    }
}

/// Health checks over TLS (`check-ssl`), with the server's [`ServerTls`] settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTls {
    /// `check-sni`.
    pub sni: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_never_printed() {
        let m = TlsMaterial { ca_pem: String::new(), identity_pem: Some(SecretPem("-----BEGIN PRIVATE KEY-----secret".into())) };
        let shown = format!("{m:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
