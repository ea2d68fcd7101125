//! The few facts hakeeper needs from an X.509 certificate, read from its DER without a full
//! parser: the names it serves (subject CN and `dNSName` subject alternative names, as HAProxy's
//! `ssl_sock_load_cert_sni()` indexes them for SNI) and the end of its validity.
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm, signature }
//! TBSCertificate ::= SEQUENCE {
//!     version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER, signature AlgorithmIdentifier,
//!     issuer Name, validity SEQUENCE { notBefore Time, notAfter Time }, subject Name,
//!     subjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT OPTIONAL, subjectUniqueID [2] IMPLICIT OPTIONAL,
//!     extensions [3] EXPLICIT SEQUENCE OF Extension OPTIONAL }
//! ```

/// What was read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// The subject's common name, if it has one.
    pub common_name: Option<String>,
    /// The `dNSName` entries of subjectAltName, in order.
    pub dns_names: Vec<String>,
    /// `notAfter`, in seconds since the Unix epoch.
    pub not_after: i64,
    /// The signature algorithm by OpenSSL's short name (`RSA-SHA256`, `ecdsa-with-SHA256`), as
    /// HAProxy's `ssl_sock_get_cert_sig()` names it for `proxy-v2-options cert-sig`.
    pub signature: Option<&'static str>,
    /// The key as `RSA2048` or `EC256` (HAProxy's `ssl_sock_get_pkey_algo()`); none for other
    /// kinds of key, as there.
    pub key: Option<String>,
}

impl CertFacts {
    /// The names the certificate serves: its SANs, and its CN when it has no SAN (RFC 6125 and
    /// HAProxy index both; a CN repeated among the SANs counts once).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for n in self.common_name.iter().chain(self.dns_names.iter()) {
            let n = n.to_ascii_lowercase();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names
    }
}

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed certificate: {0}")]
pub struct DerError(&'static str);

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
/// `dNSName [2] IMPLICIT IA5String` inside GeneralNames.
const DNS_NAME: u8 = 0x82;

/// One TLV: (tag, contents, what follows).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError("truncated"))?;
    let (&first, rest) = rest.split_first().ok_or(DerError("truncated length"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(DerError("bad length"));
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(DerError("truncated contents"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], want: u8) -> Result<(&[u8], &[u8]), DerError> {
    let (tag, body, rest) = tlv(input)?;
    if tag != want {
        return Err(DerError("unexpected element"));
    }
    Ok((body, rest))
}

/// Reads `der`, a certificate.
pub fn read(der: &[u8]) -> Result<CertFacts, DerError> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    let (_serial, _, r) = tlv(rest)?;
    let (sig, r) = expect(r, SEQUENCE)?;
    let (_issuer, r) = expect(r, SEQUENCE)?;
    let (validity, r) = expect(r, SEQUENCE)?;
    let (subject, r) = expect(r, SEQUENCE)?;
    let (spki, mut r) = expect(r, SEQUENCE)?;
    let (_, v) = time(validity)?;
    let (not_after, _) = time(v)?;
    let common_name = common_name(subject)?;
    let mut dns_names = Vec::new();
    while !r.is_empty() {
        let (tag, body, next) = tlv(r)?;
        if tag == 0xa3 {
            dns_names = san_dns_names(body)?;
        }
        r = next;
    }
    let (sig_oid, _) = expect(sig, OID)?;
    Ok(CertFacts { common_name, dns_names, not_after, signature: signature_name(sig_oid), key: key_name(spki)? })
}

/// OpenSSL's short names of the usual certificate signature algorithms.
fn signature_name(oid: &[u8]) -> Option<&'static str> {
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    match oid {
        [rsa @ .., n] if rsa == RSA => match n {
            5 => Some("RSA-SHA1"),
            10 => Some("RSASSA-PSS"),
            11 => Some("RSA-SHA256"),
            12 => Some("RSA-SHA384"),
            13 => Some("RSA-SHA512"),
            14 => Some("RSA-SHA224"),
            _ => None,
        },
        [ec @ .., 1] if ec == ECDSA => Some("ecdsa-with-SHA1"),
        [ec @ .., 3, n] if ec == ECDSA => match n {
            1 => Some("ecdsa-with-SHA224"),
            2 => Some("ecdsa-with-SHA256"),
            3 => Some("ecdsa-with-SHA384"),
            4 => Some("ecdsa-with-SHA512"),
            _ => None,
        },
        [0x2b, 0x65, 0x70] => Some("ED25519"),
        [0x2b, 0x65, 0x71] => Some("ED448"),
        _ => None,
    }
}

/// `RSA<bits>` or `EC<bits>` from a SubjectPublicKeyInfo.
fn key_name(spki: &[u8]) -> Result<Option<String>, DerError> {
    const RSA_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const EC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let (alg, r) = expect(spki, SEQUENCE)?;
    let (oid, params) = expect(alg, OID)?;
    if oid == RSA_KEY {
        let (bits, _) = expect(r, 0x03)?;
        let key = bits.get(1..).ok_or(DerError("empty key"))?;
        let (rsa, _) = expect(key, SEQUENCE)?;
        let (modulus, _) = expect(rsa, 0x02)?;
        let significant: Vec<u8> = modulus.iter().copied().skip_while(|&b| b == 0).collect();
        let n = significant.first().map_or(0, |&b| significant.len() * 8 - b.leading_zeros() as usize);
        return Ok(Some(format!("RSA{n}")));
    }
    if oid == EC_KEY {
        let curve = expect(params, OID).map(|(c, _)| c).unwrap_or_default();
        let bits = match curve {
            [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => 256,
            [0x2b, 0x81, 0x04, 0x00, 0x22] => 384,
            [0x2b, 0x81, 0x04, 0x00, 0x23] => 521,
            _ => return Ok(None),
        };
        return Ok(Some(format!("EC{bits}")));
    }
    Ok(None)
}

fn common_name(name: &[u8]) -> Result<Option<String>, DerError> {
    let mut rdns = name;
    let mut found = None;
    while !rdns.is_empty() {
        let (set, next) = expect(rdns, SET)?;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (atv, n) = expect(atvs, SEQUENCE)?;
            let (oid, value) = expect(atv, OID)?;
            if oid == OID_CN {
                let (_, text, _) = tlv(value)?;
                found = Some(String::from_utf8_lossy(text).into_owned());
            }
            atvs = n;
        }
        rdns = next;
    }
    Ok(found)
}

fn san_dns_names(explicit: &[u8]) -> Result<Vec<String>, DerError> {
    let (mut exts, _) = expect(explicit, SEQUENCE)?;
    let mut names = Vec::new();
    while !exts.is_empty() {
        let (ext, next) = expect(exts, SEQUENCE)?;
        let (oid, mut r) = expect(ext, OID)?;
        if r.first() == Some(&BOOLEAN) {
            r = tlv(r)?.2;
        }
        if oid == OID_SAN {
            let (value, _) = expect(r, OCTET_STRING)?;
            let (mut general, _) = expect(value, SEQUENCE)?;
            while !general.is_empty() {
                let (tag, body, n) = tlv(general)?;
                if tag == DNS_NAME {
                    names.push(String::from_utf8_lossy(body).into_owned());
                }
                general = n;
            }
        }
        exts = next;
    }
    Ok(names)
}

/// A `Time` (UTCTime or GeneralizedTime, in the `Z` form RFC 5280 requires) as Unix seconds.
fn time(input: &[u8]) -> Result<(i64, &[u8]), DerError> {
    let (tag, body, rest) = tlv(input)?;
    let text = std::str::from_utf8(body).map_err(|_| DerError("bad time"))?;
    let digits = text.strip_suffix('Z').ok_or(DerError("time not in UTC"))?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DerError("bad time"));
    }
    let num = |s: &str| s.parse::<i64>().map_err(|_| DerError("bad time"));
    let (year, rest_digits) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = num(&digits[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (num(&digits[..4])?, &digits[4..]),
        _ => return Err(DerError("bad time")),
    };
    let (mo, d, h, mi, s) =
        (num(&rest_digits[0..2])?, num(&rest_digits[2..4])?, num(&rest_digits[4..6])?, num(&rest_digits[6..8])?, num(&rest_digits[8..10])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(DerError("bad time"));
    }
    Ok((days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + s, rest))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(days_from_civil(2038, 1, 19), 24855);
    }

    #[test]
    fn both_time_forms_are_read() {
        assert_eq!(time(b"\x17\x0d700101000010Z").unwrap().0, 10);
        assert_eq!(time(b"\x18\x0f20380119031407Z").unwrap().0, 2147483647);
        assert!(time(b"\x17\x0b7001010000Z").is_err());
    }

    /// A self-signed certificate made by `openssl req` with `key_args`, as DER.
    fn openssl_cert(key_args: &[&str], digest: &str) -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!("hk-x509-{}-{}", std::process::id(), key_args.join("-").replace([':', '/'], "_")));
        std::fs::create_dir_all(&dir).unwrap();
        let der = dir.join("c.der");
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-newkey"])
            .args(key_args)
            .args(["-subj", "/CN=unit.test", "-days", "2", "-outform", "DER", digest])
            .arg("-keyout")
            .arg(dir.join("k.pem"))
            .arg("-out")
            .arg(&der)
            .output()
            .expect("openssl (installed by tests/install-deps)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&der).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    }

    #[test]
    fn signature_and_key_names_are_openssls() {
        let rsa = read(&openssl_cert(&["rsa:2048"], "-sha256")).unwrap();
        assert_eq!((rsa.signature, rsa.key.as_deref()), (Some("RSA-SHA256"), Some("RSA2048")));
        assert_eq!(rsa.common_name.as_deref(), Some("unit.test"));
        let rsa3 = read(&openssl_cert(&["rsa:3072"], "-sha384")).unwrap();
        assert_eq!((rsa3.signature, rsa3.key.as_deref()), (Some("RSA-SHA384"), Some("RSA3072")));
        let ec = read(&openssl_cert(&["ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "-sha384")).unwrap();
        assert_eq!((ec.signature, ec.key.as_deref()), (Some("ecdsa-with-SHA384"), Some("EC384")));
        let ed = read(&openssl_cert(&["ed25519"], "-sha256")).unwrap();
        assert_eq!((ed.signature, ed.key), (Some("ED25519"), None), "HAProxy names no key algorithm for Ed25519");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x03\x30\x01\x00", b"\x30\x80"] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }
}
