//! OpenSSL group names (HAProxy's `curves`, `ecdhe` and `ssl-default-bind-curves`) mapped to the
//! key exchange groups rustls implements. The listed groups are the only ones offered, as
//! OpenSSL's `SSL_CTX_set1_curves_list()` makes them; a group rustls lacks (X448, P-521, the
//! finite-field ones) is an error naming it, so a config never serves another set than the
//! operator listed.

/// (OpenSSL names, rustls `NamedGroup` name).
const GROUPS: &[(&[&str], &str)] = &[
    (&["X25519", "x25519"], "X25519"),
    (&["P-256", "prime256v1", "secp256r1"], "secp256r1"),
    (&["P-384", "secp384r1"], "secp384r1"),
    (&["X25519MLKEM768"], "X25519MLKEM768"),
];

/// Maps a `:`-separated list to rustls group names, in the order given, without repeats.
pub fn map(list: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for name in list.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        match GROUPS.iter().find(|(names, _)| names.contains(&name)) {
            Some((_, rustls)) if !out.contains(rustls) => out.push(*rustls),
            Some(_) => {}
            None => {
                return Err(format!("group {name:?} is not available (X25519, P-256, P-384 and X25519MLKEM768 are; rustls has no X448, P-521 or finite-field groups)"))
            }
        }
    }
    if out.is_empty() {
        return Err("an empty group list".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_names_map_in_order() {
        assert_eq!(map("X25519:prime256v1:secp384r1").unwrap(), ["X25519", "secp256r1", "secp384r1"]);
        assert_eq!(map("P-384:P-256:P-384").unwrap(), ["secp384r1", "secp256r1"]);
        assert!(map("X448:X25519").unwrap_err().contains("\"X448\""));
        assert!(map("P-521").is_err());
        assert!(map("").is_err());
    }
}
