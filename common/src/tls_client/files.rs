//! Reading a server's `ca_file` and `crt` (by the supervisor, at start-up and on reload, as
//! HAProxy reads them before it drops privileges): the PEM text travels to the worker and the
//! checker inside the config, so neither needs the files in its chroot. Each file is parsed
//! here too, so `hakeeper check` names a bad file and says what is wrong with it.

use super::ClientTls;
use crate::config::model::{Config, SecretPem, ServerTls};
use crate::config::validate::Finding;
use std::path::{Path, PathBuf};

/// Largest certificate file read (Debian's whole CA bundle is about 220 KiB).
pub const MAX_TLS_FILE: usize = 1024 * 1024;

/// Most PEM text all servers together may carry: well inside the 16 MiB IPC frame that takes
/// the config to the worker and the checker.
pub const MAX_TLS_MATERIAL: usize = 8 * 1024 * 1024;

/// HAProxy's `ca-file @system-ca`: the system's trusted CAs.
pub const SYSTEM_CA: &str = "@system-ca";
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Reads the TLS files of every server into its material, and builds each server's TLS client
/// once to prove they fit together. A relative path is taken from `base` (the config's
/// directory). Returns one finding per problem, naming the field it came from.
pub fn read_tls_files(config: &mut Config, base: &Path) -> Vec<Finding> {
    let mut problems = Vec::new();
    let mut total = 0;
    for server in config.backends.iter_mut().flat_map(|b| b.servers.iter_mut()) {
        let Some(tls) = server.tls.as_mut() else { continue };
        if let Err(finding) = read_server_files(tls, base) {
            problems.push(finding);
            continue;
        }
        // Each server's copy travels in the children's config message, which has a bound.
        total += tls.material.ca_pem.len() + tls.material.identity_pem.as_ref().map_or(0, |p| p.0.len());
        if total > MAX_TLS_MATERIAL {
            problems.push(Finding {
                path: tls.field.clone(),
                message: format!(
                    "the servers' CA and certificate files total more than {} MiB (each server carries its own copy): use smaller CA files",
                    MAX_TLS_MATERIAL / (1024 * 1024)
                ),
            });
            return problems;
        }
        if let Err(e) = ClientTls::new(tls, server.addr.ip()) {
            problems.push(Finding { path: tls.field.clone(), message: e.to_string() });
        }
    }
    problems
}

fn read_server_files(tls: &mut ServerTls, base: &Path) -> Result<(), Finding> {
    if let Some(ca) = &tls.ca_file {
        let path = if ca.as_os_str() == SYSTEM_CA { PathBuf::from(SYSTEM_CA_BUNDLE) } else { resolve(ca, base) };
        tls.material.ca_pem = read_pem(&path).map_err(|message| Finding { path: format!("{}.ca_file", tls.field), message })?;
    }
    if let Some(crt) = &tls.crt {
        let pem = read_pem(&resolve(crt, base)).map_err(|message| Finding { path: format!("{}.crt", tls.field), message })?;
        tls.material.identity_pem = Some(SecretPem(pem));
    }
    Ok(())
}

fn resolve(path: &Path, base: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Reads at most one byte more than [`MAX_TLS_FILE`], so that a device is refused rather than
/// read forever.
fn read_pem(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let cannot = |err: std::io::Error| format!("cannot read {}: {err}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_TLS_FILE as u64 + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() > MAX_TLS_FILE {
        return Err(format!("{} is more than {MAX_TLS_FILE} bytes", path.display()));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not a PEM file (not text)", path.display()))
}
