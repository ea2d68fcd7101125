//! "Did you mean …?" for a misspelt field or value: the known name closest to what was written,
//! if it is close enough to be the likely intent.

/// The name in `known` nearest to `written` (edit distance, case and `-`/`_` ignored), when
/// at most a third of its length differs (and at least one edit is allowed).
pub fn closest<'a>(written: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let w = norm(written);
    let (best, distance) = known.iter().map(|k| (*k, edit_distance(&w, &norm(k)))).min_by_key(|(_, d)| *d)?;
    (distance <= (w.chars().count() / 3).max(1)).then_some(best)
}

/// Levenshtein distance with adjacent transpositions (`maxconn` / `mxaconn` = 1).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBAL: &[&str] = &["user", "group", "chroot", "maxconn", "nbthread", "log", "additional_logs", "ctl_socket"];

    #[test]
    fn near_misses_are_suggested_and_strangers_are_not() {
        assert_eq!(closest("maxconnn", GLOBAL), Some("maxconn"));
        assert_eq!(closest("mxaconn", GLOBAL), Some("maxconn"));
        assert_eq!(closest("MaxConn", GLOBAL), Some("maxconn"));
        assert_eq!(closest("ctl-socket", GLOBAL), Some("ctl_socket"));
        assert_eq!(closest("nbproc", GLOBAL), None);
        assert_eq!(closest("x", GLOBAL), None);
        assert_eq!(closest("static-rr", &["roundrobin", "static_rr", "leastconn"]), Some("static_rr"));
    }
}
