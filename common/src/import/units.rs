//! Numbers as the two source formats write them, turned into the RON config's forms.

use crate::duration::{format_duration, parse_duration};
use std::time::Duration;

/// An HAProxy time (`5000` = ms, `10s`, `1m`, …) as hakeeper's normalised duration string.
pub fn haproxy_time(text: &str) -> Result<String, String> {
    parse_duration(text).map(format_duration)
}

/// keepalived's times are seconds, possibly with a fraction (`1`, `0.5`); as a duration string.
pub fn keepalived_seconds(text: &str) -> Result<String, String> {
    keepalived_duration(text).map(format_duration)
}

pub fn keepalived_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid time {text:?}: expected seconds such as 3 or 0.5");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 6 {
        return Err(bad());
    }
    let secs: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let micros: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().map_err(|_| bad())? };
    secs.checked_mul(1_000_000).and_then(|s| s.checked_add(micros)).map(Duration::from_micros).ok_or_else(bad)
}

/// An HAProxy size with an optional `k`, `m` or `g` suffix (powers of 1024), as `stick-table size`.
pub fn haproxy_size(text: &str) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    let (digits, mult) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 1024u64),
        Some('m') => (&lower[..lower.len() - 1], 1024 * 1024),
        Some('g') => (&lower[..lower.len() - 1], 1024 * 1024 * 1024),
        _ => (lower.as_str(), 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("invalid size {text:?}"))
}

/// A plain unsigned number; `what` names it in the message.
pub fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("invalid {what} {text:?}: expected a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_times_normalise() {
        assert_eq!(haproxy_time("5000").as_deref(), Ok("5s"));
        assert_eq!(haproxy_time("50000").as_deref(), Ok("50s"));
        assert_eq!(haproxy_time("30000ms").as_deref(), Ok("30s"));
        assert_eq!(haproxy_time("2000").as_deref(), Ok("2s"));
        assert_eq!(haproxy_time("1500").as_deref(), Ok("1500ms"));
        assert_eq!(haproxy_time("10s").as_deref(), Ok("10s"));
        assert_eq!(haproxy_time("60s").as_deref(), Ok("1m"));
        assert_eq!(haproxy_time("1m").as_deref(), Ok("1m"));
        assert_eq!(haproxy_time("90m").as_deref(), Ok("90m"));
        assert_eq!(haproxy_time("24h").as_deref(), Ok("1d"));
        assert_eq!(haproxy_time("250us").as_deref(), Ok("250us"));
        assert!(haproxy_time("10 s").is_err());
        assert!(haproxy_time("1.5s").is_err());
        assert!(haproxy_time("10x").is_err());
    }

    #[test]
    fn keepalived_seconds_take_fractions() {
        assert_eq!(keepalived_seconds("1").as_deref(), Ok("1s"));
        assert_eq!(keepalived_seconds("60").as_deref(), Ok("1m"));
        assert_eq!(keepalived_seconds("0.5").as_deref(), Ok("500ms"));
        assert_eq!(keepalived_seconds("0.001").as_deref(), Ok("1ms"));
        assert_eq!(keepalived_seconds("1.25").as_deref(), Ok("1250ms"));
        assert_eq!(keepalived_seconds("0").as_deref(), Ok("0s"));
        assert!(keepalived_seconds("-1").is_err());
        assert!(keepalived_seconds("3s").is_err());
        assert!(keepalived_seconds(".").is_err());
        assert!(keepalived_seconds("").is_err());
    }

    #[test]
    fn sizes_use_binary_suffixes() {
        assert_eq!(haproxy_size("200k"), Ok(204_800));
        assert_eq!(haproxy_size("1m"), Ok(1_048_576));
        assert_eq!(haproxy_size("5000"), Ok(5000));
        assert!(haproxy_size("8g").is_err());
        assert!(haproxy_size("lots").is_err());
    }
}
