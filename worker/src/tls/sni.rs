//! Certificate selection by SNI, as HAProxy's `ssl_sock_switchctx_cbk()` does it: the exact
//! name first, then a wildcard `*.` of the name's parent, then the bind's default certificate
//! (the first loaded) when the name matches nothing or the client sent none. A name excluded by
//! a crt-list `!name` filter is not served by that line's certificate.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::Arc;

/// What `proxy-v2-options cert-sig`/`cert-key` tell of the certificate a client was shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalCert {
    pub signature: Option<&'static str>,
    pub key: Option<String>,
}

#[derive(Debug)]
pub struct SniResolver {
    keys: Vec<Arc<CertifiedKey>>,
    /// Each key's certificate, read once when the bind is set up.
    local: Vec<LocalCert>,
    negative: Vec<Vec<String>>,
    /// Name → candidate certificates, in load order.
    exact: HashMap<String, Vec<usize>>,
    /// Parent domain of a `*.` wildcard → candidates.
    wildcard: HashMap<String, Vec<usize>>,
}

impl SniResolver {
    /// `certs`: each key with its names (`*.x` for wildcards) and excluded names.
    pub fn new(certs: Vec<(Arc<CertifiedKey>, Vec<String>, Vec<String>)>) -> Self {
        let mut r =
            SniResolver { keys: Vec::new(), local: Vec::new(), negative: Vec::new(), exact: HashMap::new(), wildcard: HashMap::new() };
        for (i, (key, names, negative)) in certs.into_iter().enumerate() {
            for n in names {
                let n = n.to_ascii_lowercase();
                match n.strip_prefix("*.") {
                    Some(parent) => r.wildcard.entry(parent.to_string()).or_default().push(i),
                    None => r.exact.entry(n).or_default().push(i),
                }
            }
            let facts = key.end_entity_cert().ok().and_then(|der| hakeeper_common::tls::x509::read(der).ok());
            r.local.push(facts.map(|f| LocalCert { signature: f.signature, key: f.key }).unwrap_or_default());
            r.keys.push(key);
            r.negative.push(negative);
        }
        r
    }

    /// The index of the certificate served for `name`.
    pub fn select(&self, name: Option<&str>) -> Option<usize> {
        if self.keys.is_empty() {
            return None;
        }
        let Some(name) = name else { return Some(0) };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let allowed = |i: &&usize| !self.negative[**i].contains(&name);
        if let Some(&i) = self.exact.get(&name).and_then(|c| c.iter().find(allowed)) {
            return Some(i);
        }
        if let Some((_, parent)) = name.split_once('.') {
            if let Some(&i) = self.wildcard.get(parent).and_then(|c| c.iter().find(allowed)) {
                return Some(i);
            }
        }
        Some(0)
    }
}

impl SniResolver {
    /// The certificate served for `name`, as [`Self::select`] picks it.
    pub fn local(&self, name: Option<&str>) -> Option<&LocalCert> {
        self.local.get(self.select(name)?)
    }
}

thread_local! {
    /// The server name of the last ClientHello this thread's resolvers saw. rustls' unbuffered
    /// server connection does not tell its SNI, but asks the resolver exactly once per
    /// handshake (resumed ones too), inside the connection's own processing call on this
    /// thread: [`crate::tls::TlsConn`] clears this before the call and reads it after.
    static RESOLVED: std::cell::RefCell<Option<Option<String>>> = const { std::cell::RefCell::new(None) };
}

/// Takes what the resolver recorded since the last call: `Some(sni)` when it ran.
pub fn take_resolved() -> Option<Option<String>> {
    RESOLVED.with(|r| r.borrow_mut().take())
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        RESOLVED.with(|r| *r.borrow_mut() = Some(hello.server_name().map(str::to_string)));
        self.select(hello.server_name()).map(|i| self.keys[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::sign::SigningKey;

    #[derive(Debug)]
    struct NoKey;
    impl SigningKey for NoKey {
        fn choose_scheme(&self, _: &[rustls::SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
            None
        }
        fn algorithm(&self) -> rustls::SignatureAlgorithm {
            rustls::SignatureAlgorithm::ECDSA
        }
    }

    fn key() -> Arc<CertifiedKey> {
        Arc::new(CertifiedKey::new(vec![], Arc::new(NoKey)))
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_then_wildcard_then_default() {
        let r = SniResolver::new(vec![
            (key(), names(&["default.test"]), vec![]),
            (key(), names(&["*.b.test", "b.test"]), names(&["secret.b.test"])),
            (key(), names(&["a.test", "www.b.test"]), vec![]),
        ]);
        assert_eq!(r.select(Some("a.test")), Some(2));
        assert_eq!(r.select(Some("A.Test.")), Some(2), "case and a final dot do not matter");
        assert_eq!(r.select(Some("www.b.test")), Some(2), "exact before wildcard");
        assert_eq!(r.select(Some("x.b.test")), Some(1));
        assert_eq!(r.select(Some("b.test")), Some(1));
        assert_eq!(r.select(Some("y.x.b.test")), Some(0), "a wildcard covers one label");
        assert_eq!(r.select(Some("secret.b.test")), Some(0), "excluded by !name");
        assert_eq!(r.select(Some("unknown.test")), Some(0));
        assert_eq!(r.select(None), Some(0));
    }

    #[test]
    fn first_loaded_wins_for_a_name() {
        let r = SniResolver::new(vec![(key(), names(&["a.test"]), vec![]), (key(), names(&["a.test"]), vec![])]);
        assert_eq!(r.select(Some("a.test")), Some(0));
        assert_eq!(SniResolver::new(vec![]).select(None), None);
    }
}
