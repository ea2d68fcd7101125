//! OpenSSL cipher names (HAProxy's `ciphers` for TLS ≤ 1.2, `ciphersuites` for TLS 1.3) mapped
//! to the suites rustls implements, in the order given. rustls has only AEAD suites with
//! ephemeral (EC)DHE key exchange: a name OpenSSL knows that rustls lacks (CBC, RSA key
//! exchange, DHE, PSK …) is an error naming it, so a config never silently serves other
//! suites than the operator listed. Exclusions (`!aNULL`, `-RC4`) of what rustls does not have
//! anyway are accepted: they remove nothing.

/// Which list a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ciphers`: TLS 1.2.
    Tls12,
    /// `ciphersuites`: TLS 1.3.
    Tls13,
}

/// (OpenSSL name, rustls `CipherSuite` name).
const TLS12: &[(&str, &str)] = &[
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
];

const TLS13: &[(&str, &str)] = &[
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    ("TLS_CHACHA20_POLY1305_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"),
];

/// OpenSSL cipher string keywords: they select by property, which hakeeper does not emulate.
const KEYWORDS: &[&str] = &[
    "ALL",
    "DEFAULT",
    "COMPLEMENTOFALL",
    "COMPLEMENTOFDEFAULT",
    "HIGH",
    "MEDIUM",
    "LOW",
    "EXP",
    "EXPORT",
    "eNULL",
    "NULL",
    "aNULL",
    "kRSA",
    "RSA",
    "aRSA",
    "kEDH",
    "kDHE",
    "EDH",
    "DHE",
    "kECDHE",
    "kEECDH",
    "ECDHE",
    "EECDH",
    "ECDH",
    "aECDSA",
    "ECDSA",
    "AES",
    "AES128",
    "AES256",
    "AESGCM",
    "CHACHA20",
    "3DES",
    "DES",
    "RC4",
    "MD5",
    "SHA1",
    "SHA",
    "SHA256",
    "SHA384",
    "CAMELLIA",
    "ARIA",
    "SEED",
    "IDEA",
    "PSK",
    "SRP",
    "DSS",
    "aDSS",
    "TLSv1.2",
    "TLSv1",
    "SSLv3",
    "SUITEB128",
    "SUITEB192",
    "CBC",
    "GCM",
];

/// The OpenSSL name of a rustls suite (by its rustls name), as HAProxy's `ssl_fc_cipher`
/// reports it.
pub fn openssl_name(rustls_name: &str) -> Option<&'static str> {
    TLS12.iter().chain(TLS13).find(|(_, r)| *r == rustls_name).map(|(o, _)| *o)
}

/// Looks like an OpenSSL suite name that rustls does not implement (CBC, RSA key exchange …).
fn is_openssl_suite(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.contains("AES")
        || upper.contains("DES")
        || upper.contains("RC4")
        || upper.contains("CAMELLIA")
        || upper.contains("CHACHA")
        || upper.contains("ARIA")
        || upper.contains("SEED")
        || upper.contains("NULL")
        || upper.starts_with("TLS_")
}

/// The rustls suite names for an OpenSSL list (`:`, `,` or spaces between names).
pub fn map(list: &str, family: Family) -> Result<Vec<&'static str>, String> {
    let table = match family {
        Family::Tls12 => TLS12,
        Family::Tls13 => TLS13,
    };
    let mut out: Vec<&'static str> = Vec::new();
    for word in list.split([':', ',', ' ']).filter(|w| !w.is_empty()) {
        if let Some(excluded) = word.strip_prefix(['!', '-']) {
            if let Some((_, r)) = table.iter().find(|(o, _)| *o == excluded) {
                out.retain(|s| s != r);
            } else if !KEYWORDS.contains(&excluded) && !is_openssl_suite(excluded) {
                return Err(format!("unknown cipher {excluded:?} in {word:?}"));
            }
            continue;
        }
        if word.starts_with('+') || word.starts_with('@') {
            return Err(format!("{word:?}: OpenSSL cipher string operators are not supported; list the suites"));
        }
        if let Some((_, r)) = table.iter().find(|(o, _)| *o == word) {
            if !out.contains(r) {
                out.push(r);
            }
        } else if KEYWORDS.contains(&word) || word.contains('+') {
            return Err(format!("cipher string keyword {word:?} is not supported; list the suites by name"));
        } else if is_openssl_suite(word) {
            let which = match family {
                Family::Tls12 => "TLSv1.2 ciphers are the ECDHE AEAD ones",
                Family::Tls13 => "TLSv1.3 ciphersuites are TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256",
            };
            return Err(format!("cipher {word} is not available in rustls (its {which})"));
        } else {
            return Err(format!("unknown cipher {word:?}"));
        }
    }
    if out.is_empty() {
        return Err("the list selects no cipher".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_names_map_in_order() {
        let m = map("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL:!MD5", Family::Tls12).unwrap();
        assert_eq!(m, ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
        let m = map("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", Family::Tls13).unwrap();
        assert_eq!(m, ["TLS13_CHACHA20_POLY1305_SHA256", "TLS13_AES_128_GCM_SHA256"]);
    }

    #[test]
    fn suites_rustls_lacks_are_errors_naming_them() {
        let e = map("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA", Family::Tls12).unwrap_err();
        assert!(e.starts_with("cipher ECDHE-RSA-AES128-SHA is not available in rustls"), "{e}");
        assert!(map("AES128-GCM-SHA256", Family::Tls12).unwrap_err().contains("AES128-GCM-SHA256"));
        assert!(map("DHE-RSA-AES256-GCM-SHA384", Family::Tls12).is_err());
        assert!(map("TLS_AES_128_CCM_SHA256", Family::Tls13).unwrap_err().contains("TLS_AES_128_CCM_SHA256"));
        assert!(map("HIGH:!aNULL", Family::Tls12).unwrap_err().contains("keyword \"HIGH\""));
        assert!(map("bogus", Family::Tls12).unwrap_err().contains("unknown cipher"));
        assert!(map("!aNULL", Family::Tls12).is_err(), "selects nothing");
        assert!(map("ECDHE-RSA-AES128-GCM-SHA256", Family::Tls13).is_err(), "a TLS 1.2 name in the 1.3 list");
    }
}
