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

/// The longest a released master holds its VIPs waiting for the new master's first advert.
/// A backup takes over after its Skew_Time at the latest (a pair's backup at once), and Skew_Time
/// is always under one advert interval (v2: under 1 s, v3: under the interval), so one interval
/// plus the slack covers any backup that heard the priority-0 advert (v3 beyond 1 s intervals:
/// a slow backup may come after the cap, and clients wait for it as RFC 5798 has them wait).
/// Capped at 1 s: a stopping supervisor waits 1.5 s for vrrpd before it drains the proxy
/// (supervisor.rs VRRP_RELEASE_WAIT), within its 5 s stop promise.
pub fn release_hold(advert_int: Duration) -> Duration {
    advert_int.min(RELEASE_HOLD_CAP) + RELEASE_SLACK
}

const RELEASE_HOLD_CAP: Duration = Duration::from_secs(1);
/// For the new master's advert to reach us (scheduling, a busy host).
const RELEASE_SLACK: Duration = Duration::from_millis(100);

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
    fn release_hold_outlasts_the_slowest_backups_skew_and_is_capped() {
        for int in [100, 1000] {
            let int = Duration::from_millis(int);
            assert!(release_hold(int) > skew(Version::V3, 1, int), "v3 at {int:?}");
        }
        for secs in [1, 3] {
            let int = Duration::from_secs(secs);
            assert!(release_hold(int) > skew(Version::V2, 1, int), "v2 at {int:?}: its skew never exceeds 1 s");
        }
        assert_eq!(ms(release_hold(Duration::from_secs(1))), 1100);
        assert_eq!(ms(release_hold(Duration::from_secs(5))), 1100, "within the supervisor's 1.5 s wait");
    }

    #[test]
    fn owner_skew_is_smallest() {
        assert_eq!(skew(Version::V2, 255, Duration::from_secs(1)), Duration::from_micros(3906));
    }
}
