//! TLS termination settings of a `bind` (HAProxy's `bind … ssl crt …`), as validated, and the
//! certificate material the supervisor loads for them (it reads the files as root; the worker
//! is chrooted and receives the parsed material in its config message).
//!
//! - [`spec`] checks the options of a bind's `ssl` struct (versions, ciphers, ALPN, verify);
//! - [`load`] reads `crt` files and directories, `crt_list` and `ca_file`, checking each
//!   certificate against its key and its validity;
//! - [`crt_list`], [`ciphers`] and [`x509`] hold the formats they read.
//!
//! Private keys are held in [`SecretKey`], whose `Debug` never shows them.

pub mod ciphers;
pub mod crt_list;
pub mod groups;
pub mod load;
pub mod spec;
pub mod x509;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A TLS protocol version rustls speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// As HAProxy and OpenSSL write it (`ssl_fc_protocol`).
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

/// Client certificates (HAProxy `verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verify {
    /// None requested.
    None,
    /// Requested; a client may send none, one it sends must be valid.
    Optional,
    /// A valid one is required.
    Required,
}

/// A private key in DER (PKCS#8, PKCS#1 or SEC1, as found in the PEM file).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretKey {
    pub der: Vec<u8>,
    pub kind: KeyKind,
}

/// The encoding of a [`SecretKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyKind {
    Pkcs8,
    Pkcs1,
    Sec1,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({:?}, <redacted>)", self.kind)
    }
}

/// One certificate chain and its key, with the SNI names it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertKey {
    /// The file it came from (for logs).
    pub file: PathBuf,
    /// DER certificates, the server's first.
    pub chain: Vec<Vec<u8>>,
    pub key: SecretKey,
    /// Exact names and `*.` wildcards (lower case): a crt-list line's filters, else the
    /// certificate's own names.
    pub names: Vec<String>,
    /// Names this certificate must not answer (crt-list `!name`).
    pub negative: Vec<String>,
}

/// The TLS settings of one bind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindTls {
    /// The config path of the bind's `ssl` struct, for messages.
    pub field: String,
    /// `crt`: files (PEM chain + key) or directories, as written.
    pub crt: Vec<PathBuf>,
    pub crt_list: Option<PathBuf>,
    /// Protocols offered with ALPN, in preference order (`h2` is not among them: not served).
    pub alpn: Vec<String>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// rustls suite names for TLS 1.2 (`ciphers`) and 1.3 (`ciphersuites`); `None`: rustls's.
    pub ciphers: Option<Vec<String>>,
    pub ciphersuites: Option<Vec<String>>,
    /// rustls key exchange group names (`curves`), in the order given; `None`: rustls's.
    #[serde(default)]
    pub curves: Option<Vec<String>>,
    pub ca_file: Option<PathBuf>,
    pub verify: Verify,
    /// Stateless session tickets (HAProxy `no-tls-tickets` turns them off).
    pub tickets: bool,
    /// Filled by [`load`]: the certificates, the first being the default one.
    pub certs: Vec<CertKey>,
    /// Filled by [`load`]: DER certificates of `ca_file`.
    pub client_ca: Vec<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_key() {
        let key = SecretKey { der: b"PRIVATE-BYTES-0123".to_vec(), kind: KeyKind::Pkcs8 };
        let ck = CertKey { file: "/x.pem".into(), chain: vec![], key, names: vec![], negative: vec![] };
        let shown = format!("{ck:?} {ck:#?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("PRIVATE") && !shown.contains("80, 82, 73"), "{shown}");
    }
}
