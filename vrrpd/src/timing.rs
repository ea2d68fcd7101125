//! VRRP's timer formulas (RFC 3768 §6.1, RFC 5798 §6.1).

use crate::packet::Version;
use std::time::Duration;

/// Skew_Time: v2 (256 − priority)/256 s; v3 scaled by the master's advert interval.
pub fn skew(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    let share = 256 - u32::from(priority);
    match version {
        Version::V2 => Duration::from_micros(u64::from(share) * 1_000_000 / 256),
        Version::V3 => master_adver_int * share / 256,
    }
}

/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
pub fn master_down(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    master_adver_int * 3 + skew(version, priority, master_adver_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn figures_from_the_notes_at_one_second() {
        let s = Duration::from_secs(1);
        assert_eq!(ms(skew(Version::V2, 100, s)), 609);
        assert_eq!(ms(master_down(Version::V2, 100, s)), 3609);
        assert_eq!(ms(master_down(Version::V2, 150, s)), 3414);
        assert_eq!(ms(master_down(Version::V3, 100, s)), 3609);
    }

    #[test]
    fn v3_skew_scales_with_the_interval_v2_does_not() {
        let half = Duration::from_millis(500);
        assert_eq!(ms(skew(Version::V3, 100, half)), 304);
        assert_eq!(ms(master_down(Version::V3, 100, half)), 1804);
        assert_eq!(ms(skew(Version::V2, 100, Duration::from_secs(2))), 609);
    }

    #[test]
    fn owner_skew_is_smallest() {
        assert_eq!(skew(Version::V2, 255, Duration::from_secs(1)), Duration::from_micros(3906));
    }
}
