//! Reads the certificates of every TLS bind of a config (run by the supervisor and by
//! `hakeeper check`, at start and on each reload, as HAProxy loads them at start-up).
//!
//! A `crt` is a PEM file holding the certificate chain and the private key (a key in
//! `FILE.key` beside it is taken when the PEM has none, as HAProxy's `ssl-load-extra-files`
//! does), or a directory: every file in it, in name order, except `.key`, `.ocsp`, `.issuer`
//! and `.sctl` files and hidden ones (HAProxy's `ssl_sock_load_cert_dir()`). Each certificate
//! must parse, its key must match it, and it must not have expired; any failure is an error
//! naming the file and the reason, so a reload with a bad certificate is refused and the
//! running worker keeps its certificates.

use super::crt_list;
use super::{x509, BindTls, CertKey, KeyKind, SecretKey};
use crate::config::model::Config;
use crate::config::validate::Finding;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// Largest PEM file read (a chain of a few certificates and a key is a few KiB).
const MAX_PEM: u64 = 1024 * 1024;

/// Loads the certificates and client CAs of every TLS bind of `config`; relative paths are
/// taken from `base` (the config file's directory). One finding per problem.
pub fn load_config(config: &mut Config, base: &Path) -> Vec<Finding> {
    let mut problems = Vec::new();
    for fe in &mut config.frontends {
        for tls in fe.tls.iter_mut().flatten() {
            problems.extend(load_bind(tls, base));
        }
    }
    if let Some(tls) = config.stats.as_mut().and_then(|s| s.tls.as_mut()) {
        problems.extend(load_bind(tls, base));
    }
    problems
}

/// Loads one bind's material.
pub fn load_bind(tls: &mut BindTls, base: &Path) -> Vec<Finding> {
    let mut problems = Vec::new();
    let mut certs = Vec::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    for (i, crt) in tls.crt.iter().enumerate() {
        let field = format!("{}.crt[{i}]", tls.field);
        let path = resolve(base, crt);
        let files = if path.is_dir() {
            match dir_files(&path) {
                Ok(f) if f.is_empty() => {
                    problems.push(Finding { path: field.clone(), message: format!("directory {} holds no certificate", path.display()) });
                    continue;
                }
                Ok(f) => f,
                Err(e) => {
                    problems.push(Finding { path: field.clone(), message: format!("cannot read directory {}: {e}", path.display()) });
                    continue;
                }
            }
        } else {
            vec![path]
        };
        for file in files {
            match load_cert(&file, now) {
                Ok(ck) => certs.push(ck),
                Err(message) => problems.push(Finding { path: field.clone(), message }),
            }
        }
    }
    if let Some(list) = &tls.crt_list {
        let field = format!("{}.crt_list", tls.field);
        let path = resolve(base, list);
        match read_limited(&path).and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string())) {
            Err(e) => problems.push(Finding { path: field, message: format!("crt-list {}: {e}", path.display()) }),
            Ok(text) => match crt_list::parse(&text) {
                Err(e) => problems.push(Finding { path: field, message: format!("crt-list {}: {e}", path.display()) }),
                Ok(lines) => {
                    for l in lines {
                        let file = resolve(base, Path::new(&l.file));
                        match load_cert(&file, now) {
                            Ok(mut ck) => {
                                if !l.filters.is_empty() {
                                    ck.names = l.filters;
                                }
                                ck.negative = l.negative;
                                certs.push(ck);
                            }
                            Err(e) => problems.push(Finding {
                                path: field.clone(),
                                message: format!("crt-list {} line {}: {e}", path.display(), l.line),
                            }),
                        }
                    }
                }
            },
        }
    }
    if let Some(ca) = &tls.ca_file {
        let path = resolve(base, ca);
        match read_limited(&path).and_then(|b| certs_of(&b)) {
            Ok(list) if list.is_empty() => problems.push(Finding {
                path: format!("{}.ca_file", tls.field),
                message: format!("ca_file {}: no certificate in it", path.display()),
            }),
            Ok(list) => tls.client_ca = list,
            Err(e) => {
                problems.push(Finding { path: format!("{}.ca_file", tls.field), message: format!("ca_file {}: {e}", path.display()) })
            }
        }
    }
    tls.certs = certs;
    problems
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn dir_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let skipped = name.starts_with('.') || [".key", ".ocsp", ".issuer", ".sctl"].iter().any(|s| name.ends_with(s));
        if !skipped && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_PEM {
        return Err(format!("more than {MAX_PEM} bytes"));
    }
    Ok(bytes)
}

fn certs_of(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    CertificateDer::pem_slice_iter(pem).map(|c| c.map(|c| c.to_vec()).map_err(|e| format!("bad PEM certificate: {e}"))).collect()
}

fn key_of(pem: &[u8]) -> Result<Option<SecretKey>, String> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(k) => {
            let kind = match &k {
                PrivateKeyDer::Pkcs1(_) => KeyKind::Pkcs1,
                PrivateKeyDer::Sec1(_) => KeyKind::Sec1,
                _ => KeyKind::Pkcs8,
            };
            Ok(Some(SecretKey { der: k.secret_der().to_vec(), kind }))
        }
        Err(rustls::pki_types::pem::Error::NoItemsFound) => Ok(None),
        Err(e) => Err(format!("bad PEM private key: {e}")),
    }
}

impl SecretKey {
    /// The key as rustls takes it.
    pub fn to_der(&self) -> PrivateKeyDer<'static> {
        use rustls::pki_types::{PrivateKeyDer as K, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
        match self.kind {
            KeyKind::Pkcs8 => K::Pkcs8(PrivatePkcs8KeyDer::from(self.der.clone())),
            KeyKind::Pkcs1 => K::Pkcs1(PrivatePkcs1KeyDer::from(self.der.clone())),
            KeyKind::Sec1 => K::Sec1(PrivateSec1KeyDer::from(self.der.clone())),
        }
    }
}

/// Reads and checks one certificate file.
pub fn load_cert(file: &Path, now: i64) -> Result<CertKey, String> {
    let shown = file.display();
    let pem = read_limited(file).map_err(|e| format!("certificate {shown}: {e}"))?;
    let chain = certs_of(&pem).map_err(|e| format!("certificate {shown}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("certificate {shown}: no certificate in it"));
    }
    let facts = x509::read(&chain[0]).map_err(|e| format!("certificate {shown}: {e}"))?;
    let key = match key_of(&pem).map_err(|e| format!("certificate {shown}: {e}"))? {
        Some(k) => k,
        None => {
            let mut key_path = file.as_os_str().to_owned();
            key_path.push(".key");
            let key_path = PathBuf::from(key_path);
            let bytes = read_limited(&key_path).map_err(|_| format!("certificate {shown}: no private key in it (nor in {}.key)", shown))?;
            key_of(&bytes)
                .map_err(|e| format!("key {}: {e}", key_path.display()))?
                .ok_or_else(|| format!("key {}: no private key in it", key_path.display()))?
        }
    };
    if facts.not_after < now {
        return Err(format!("certificate {shown}: expired on {}", utc(facts.not_after)));
    }
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let ders = chain.iter().map(|c| CertificateDer::from(c.clone())).collect();
    rustls::sign::CertifiedKey::from_der(ders, key.to_der(), &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!("certificate {shown}: the private key does not match the certificate"),
        e => format!("certificate {shown}: unusable private key: {e}"),
    })?;
    Ok(CertKey { file: file.to_path_buf(), chain, key, names: facts.names(), negative: Vec::new() })
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds.
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // H. Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(2147483647), "2038-01-19 03:14:07 UTC");
    }

    #[test]
    fn unreadable_and_empty_files_name_the_file() {
        let e = load_cert(Path::new("/nonexistent/x.pem"), 0).unwrap_err();
        assert!(e.starts_with("certificate /nonexistent/x.pem: cannot read"), "{e}");
        let dir = std::env::temp_dir().join(format!("hk-tls-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("empty.pem");
        std::fs::write(&f, "hello\n").unwrap();
        let e = load_cert(&f, 0).unwrap_err();
        assert!(e.ends_with("empty.pem: no certificate in it"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
