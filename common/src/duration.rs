//! Durations written as HAProxy writes them: a number with an optional unit
//! (`us`, `ms`, `s`, `m`, `h`, `d`); a bare number means milliseconds.

use std::time::Duration;

/// Parses `"5s"`, `"500ms"`, `"1m"`, `"5000"` (ms) into a [`Duration`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(format!("invalid duration {text:?}: expected a number with a unit such as 5s or 500ms"));
    }
    let n: u64 = digits.parse().map_err(|_| format!("invalid duration {text:?}: number too large"))?;
    let micros_per_unit: u64 = match unit {
        "us" => 1,
        "" | "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return Err(format!("invalid duration {text:?}: unknown unit {unit:?} (use us, ms, s, m, h or d)")),
    };
    n.checked_mul(micros_per_unit).map(Duration::from_micros).ok_or_else(|| format!("invalid duration {text:?}: too large"))
}

/// Formats a duration the shortest exact way, so that imported configs read naturally.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    for (unit, size) in [("d", 86_400_000_000u128), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000)] {
        if us >= size && us.is_multiple_of(size) {
            return format!("{}{unit}", us / size);
        }
    }
    if us == 0 {
        return "0s".to_string();
    }
    format!("{us}us")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_as_haproxy_does() {
        assert_eq!(parse_duration("5000"), Ok(Duration::from_millis(5000)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
    }

    #[test]
    fn bad_durations_are_errors() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn format_round_trips() {
        for s in ["5s", "50s", "1m", "250ms", "2h", "1d", "100us"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        assert_eq!(format_duration(Duration::from_millis(5000)), "5s");
    }
}
