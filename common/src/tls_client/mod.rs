//! TLS from hakeeper to servers, shared by the worker (re-encryption) and the checker
//! (`check-ssl`): a server's [`ServerTls`] settings and material become a rustls client
//! config, and each connection a [`rustls::ClientConnection`] with its SNI.
//!
//! rustls with its default `aws-lc-rs` provider (it builds from crates.io with a C compiler
//! alone). TLSv1.2 and TLSv1.3 only; HAProxy's older versions are refused by the config.

pub mod files;
mod verifier;

use crate::config::model::{ServerTls, TlsVersion};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::net::IpAddr;
use std::sync::Arc;
use verifier::ServerVerifier;

#[derive(Debug, thiserror::Error)]
pub enum TlsClientError {
    #[error("ca_file {file}: {why}")]
    CaFile { file: String, why: String },
    #[error("crt {file}: {why}")]
    Crt { file: String, why: String },
    #[error("TLS settings: {0}")]
    Settings(String),
    #[error("invalid server name {0:?} for SNI")]
    ServerName(String),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// A server's TLS client: one rustls config, shared by all its connections.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    /// The server's address: stands in for the name when no SNI is sent (rustls sends no SNI
    /// for an address).
    ip: IpAddr,
}

impl ClientTls {
    /// Builds the client from settings whose files were read ([`files::read_tls_files`]).
    pub fn new(tls: &ServerTls, ip: IpAddr) -> Result<Self, TlsClientError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version {
            TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
        let verifier = ServerVerifier {
            verify: tls.verify,
            roots: Arc::new(roots(tls)?),
            verifyhost: match &tls.verifyhost {
                Some(h) => Some(ServerName::try_from(h.clone()).map_err(|_| TlsClientError::ServerName(h.clone()))?),
                None => None,
            },
            algorithms: provider.signature_verification_algorithms,
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| TlsClientError::Settings(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match &tls.material.identity_pem {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let file = tls.crt.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                let bad = |why: String| TlsClientError::Crt { file: file.clone(), why };
                let chain = CertificateDer::pem_slice_iter(pem.0.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(format!("bad PEM: {e}")))?;
                if chain.is_empty() {
                    return Err(bad("no certificate in the file".into()));
                }
                // The key's own error text is not repeated: it could quote key bytes.
                let key = PrivateKeyDer::from_pem_slice(pem.0.as_bytes()).map_err(|_| bad("no usable private key in the file".into()))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| bad(format!("certificate and key do not fit: {e}")))?
            }
        };
        config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok(ClientTls { config: Arc::new(config), ip })
    }

    /// A new client connection, sending `sni` (none: no SNI, and with `verify required` only
    /// `verifyhost`, if set, is checked as the name).
    pub fn connect(&self, sni: Option<&str>) -> Result<ClientConnection, TlsClientError> {
        let name = match sni {
            Some(name) => ServerName::try_from(name.to_string()).map_err(|_| TlsClientError::ServerName(name.to_string()))?,
            None => ServerName::IpAddress(self.ip.into()),
        };
        Ok(ClientConnection::new(self.config.clone(), name)?)
    }
}

/// The CAs of `ca_file`; none without one (then only `verify none` is valid).
fn roots(tls: &ServerTls) -> Result<RootCertStore, TlsClientError> {
    let mut roots = RootCertStore::empty();
    let Some(file) = &tls.ca_file else { return Ok(roots) };
    let file = file.display().to_string();
    let bad = |why: String| TlsClientError::CaFile { file: file.clone(), why };
    let certs = CertificateDer::pem_slice_iter(tls.material.ca_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| bad(format!("certificate {} is not usable as a CA: {e}", i + 1)))?;
    }
    Ok(roots)
}
