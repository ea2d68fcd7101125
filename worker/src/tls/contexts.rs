//! One rustls `ServerConfig` per TLS bind, built when the worker starts from the material in
//! its config message. The worker's binds share one session cache (TLS 1.2 session IDs and
//! TLS 1.3 stateful tickets; bounded like HAProxy's `tune.ssl.cachesize`, 20000 entries) and
//! one ticket encrypter whose keys rotate (rustls `Ticketer`), so resumption works across binds
//! of the same worker; a reload starts a new worker and with it new keys (HAProxy without
//! `tls-ticket-keys` does the same).

use super::sni::{LocalCert, SniResolver};
use hakeeper_common::config::Frontend;
use hakeeper_common::tls::{BindTls, TlsVersion, Verify};
use rustls::crypto::CryptoProvider;
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};
use std::sync::Arc;

/// Sessions kept for resumption (HAProxy's default `tune.ssl.cachesize`).
const SESSION_CACHE: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("frontend {frontend} bind {bind}: {message}")]
    Bind { frontend: String, bind: usize, message: String },
}

/// The TLS contexts of the worker's binds, indexed `[frontend][bind]`.
#[derive(Default)]
pub struct Contexts {
    binds: Vec<Vec<Option<Arc<ServerConfig>>>>,
    /// Each TLS bind's certificate selection, to tell which certificate a client was shown.
    resolvers: Vec<Vec<Option<Arc<SniResolver>>>>,
    /// The stats page's, when its bind has `ssl`.
    pub stats: Option<Arc<ServerConfig>>,
}

impl Contexts {
    pub fn build(frontends: &[Frontend], stats: Option<&BindTls>) -> Result<Self, TlsError> {
        let cache: Arc<dyn StoresServerSessions> = ServerSessionMemoryCache::new(SESSION_CACHE);
        let mut ticketer: Option<Arc<dyn ProducesTickets>> = None;
        let mut binds = Vec::new();
        let mut resolvers = Vec::new();
        for fe in frontends {
            let mut list = Vec::new();
            let mut chosen = Vec::new();
            for (b, tls) in fe.tls.iter().enumerate() {
                let Some(tls) = tls else {
                    list.push(None);
                    chosen.push(None);
                    continue;
                };
                let err = |message: String| TlsError::Bind { frontend: fe.name.clone(), bind: b + 1, message };
                let tickets = if tls.tickets {
                    if ticketer.is_none() {
                        ticketer = Some(rustls::crypto::aws_lc_rs::Ticketer::new().map_err(|e| err(format!("ticket keys: {e}")))?);
                    }
                    ticketer.clone()
                } else {
                    None
                };
                let (config, resolver) = server_config(tls, cache.clone(), tickets).map_err(err)?;
                list.push(Some(Arc::new(config)));
                chosen.push(Some(resolver));
            }
            binds.push(list);
            resolvers.push(chosen);
        }
        let stats = match stats {
            None => None,
            Some(tls) => {
                let err = |message: String| TlsError::Bind { frontend: "stats".into(), bind: 1, message };
                let tickets = if tls.tickets {
                    Some(rustls::crypto::aws_lc_rs::Ticketer::new().map_err(|e| err(format!("ticket keys: {e}")))?)
                } else {
                    None
                };
                Some(Arc::new(server_config(tls, cache.clone(), tickets).map_err(err)?.0))
            }
        };
        Ok(Contexts { binds, resolvers, stats })
    }

    /// The context of a TLS bind; `None` for a plaintext one.
    pub fn get(&self, frontend: usize, bind: usize) -> Option<&Arc<ServerConfig>> {
        self.binds.get(frontend)?.get(bind)?.as_ref()
    }

    /// The certificate a TLS bind shows a client that asked for `sni`.
    pub fn local_cert(&self, frontend: usize, bind: usize, sni: Option<&str>) -> Option<&LocalCert> {
        self.resolvers.get(frontend)?.get(bind)?.as_ref()?.local(sni)
    }
}

fn suites(provider: &CryptoProvider, names: &Option<Vec<String>>, tls13: bool) -> Vec<SupportedCipherSuite> {
    let of_version = provider.cipher_suites.iter().filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)) == tls13);
    match names {
        None => of_version.copied().collect(),
        // In the order the operator listed them.
        Some(names) => names.iter().filter_map(|n| of_version.clone().find(|s| format!("{:?}", s.suite()) == *n).copied()).collect(),
    }
}

pub(crate) fn server_config(
    tls: &BindTls,
    cache: Arc<dyn StoresServerSessions>,
    ticketer: Option<Arc<dyn ProducesTickets>>,
) -> Result<(ServerConfig, Arc<SniResolver>), String> {
    let base = rustls::crypto::aws_lc_rs::default_provider();
    let mut cipher_suites = Vec::new();
    if tls.min_version <= TlsVersion::Tls13 && tls.max_version >= TlsVersion::Tls13 {
        cipher_suites.extend(suites(&base, &tls.ciphersuites, true));
    }
    if tls.min_version <= TlsVersion::Tls12 {
        cipher_suites.extend(suites(&base, &tls.ciphers, false));
    }
    let kx_groups = match &tls.curves {
        None => base.kx_groups.clone(),
        // Only these, in this order (OpenSSL's SSL_CTX_set1_curves_list()).
        Some(names) => names
            .iter()
            .filter_map(|n| {
                base.kx_groups.iter().chain(rustls::crypto::aws_lc_rs::ALL_KX_GROUPS).find(|g| format!("{:?}", g.name()) == *n).copied()
            })
            .collect(),
    };
    let provider = Arc::new(CryptoProvider { cipher_suites, kx_groups, ..base });
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if tls.max_version >= TlsVersion::Tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if tls.min_version <= TlsVersion::Tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions).map_err(|e| e.to_string())?;
    let builder = match tls.verify {
        Verify::None => builder.with_no_client_auth(),
        verify => {
            let mut roots = RootCertStore::empty();
            for ca in &tls.client_ca {
                roots.add(ca.clone().into()).map_err(|e| format!("ca_file: {e}"))?;
            }
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let v = if verify == Verify::Optional { v.allow_unauthenticated() } else { v };
            builder.with_client_cert_verifier(v.build().map_err(|e| format!("ca_file: {e}"))?)
        }
    };
    let mut keys = Vec::new();
    for c in &tls.certs {
        let chain = c.chain.iter().map(|d| d.clone().into()).collect();
        let ck = CertifiedKey::from_der(chain, c.key.to_der(), &provider).map_err(|e| format!("certificate {}: {e}", c.file.display()))?;
        keys.push((Arc::new(ck), c.names.clone(), c.negative.clone()));
    }
    if keys.is_empty() {
        return Err("no certificate".into());
    }
    let resolver = Arc::new(SniResolver::new(keys));
    let mut config = builder.with_cert_resolver(resolver.clone());
    config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.session_storage = cache;
    if let Some(t) = ticketer {
        config.ticketer = t;
    }
    // HAProxy (OpenSSL with SSL_OP_CIPHER_SERVER_PREFERENCE) picks by its own order unless
    // `prefer-client-ciphers`.
    config.ignore_client_order = true;
    Ok((config, resolver))
}
