//! Flood guards of one connection. Each abuse of RFC 9113 that costs the server more than the
//! client has a bound here; when one trips, the connection ends with GOAWAY(ENHANCE_YOUR_CALM),
//! the flood is counted in [`FloodCounts`] and logged by the connection.
//!
//! - Rapid reset (CVE-2023-44487): streams the client resets before their response ends, per
//!   second; the bound is HAProxy's approach of counting them against the concurrency
//!   (`tune.h2.max-concurrent-streams` × 2 per second, at least 200).
//! - CONTINUATION flood (CVE-2024-27316 and siblings): a field block is bounded in bytes (as
//!   HAProxy bounds it by one buffer) and in frames, however small they are.
//! - HPACK bomb: the decoded list is bounded (`max_header_list_size`) whatever the dynamic table
//!   makes small references expand to.
//! - SETTINGS, PING: per-second rates, and a bound on control frames queued but unread.
//! - Glitches (HAProxy 2.9's `tune.h2.fe.glitches-threshold`): frames that carry nothing —
//!   empty DATA without END_STREAM, PRIORITY, unknown types, WINDOW_UPDATE on closed streams.
//! - Zero-window stalls: a response that waits for a window longer than `timeout client`
//!   (the driver calls `Connection::check_stall`), as HAProxy's client timeout ends a
//!   connection whose client reads nothing.
//!
//! Windows are counted in fixed one-second periods from the first event.

use std::time::{Duration, Instant};

use super::error::Flood;

/// The bounds; `Default` holds the values used unless the config says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub resets_per_sec: u32,
    pub settings_per_sec: u32,
    pub pings_per_sec: u32,
    pub glitches_per_sec: u32,
    /// Encoded bytes of one field block (HEADERS + CONTINUATIONs).
    pub max_header_block: usize,
    /// CONTINUATION frames in one field block.
    pub max_continuations: u32,
    /// Fields in one decoded block (HAProxy's `tune.http.maxhdr`, 101).
    pub max_fields: usize,
    /// Bytes of control frames (ACKs, RST_STREAM) queued while the client does not read.
    pub max_control_backlog: usize,
}

impl Limits {
    pub fn for_streams(max_concurrent_streams: u32) -> Limits {
        Limits { resets_per_sec: max_concurrent_streams.saturating_mul(2).max(200), ..Limits::default() }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            resets_per_sec: 200,
            settings_per_sec: 100,
            pings_per_sec: 100,
            glitches_per_sec: 1000,
            max_header_block: 32 * 1024,
            max_continuations: 64,
            max_fields: 101,
            max_control_backlog: 64 * 1024,
        }
    }
}

/// A count of events in fixed one-second periods.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    start: Option<Instant>,
    count: u32,
}

impl Rate {
    /// Counts one event at `now`; true when the period's count passes `max`.
    pub fn hit(&mut self, now: Instant, max: u32) -> bool {
        match self.start {
            Some(s) if now.saturating_duration_since(s) < Duration::from_secs(1) => {}
            _ => {
                self.start = Some(now);
                self.count = 0;
            }
        }
        self.count = self.count.saturating_add(1);
        self.count > max
    }
}

/// The rates of one connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Guards {
    pub resets: Rate,
    pub settings: Rate,
    pub pings: Rate,
    pub glitches: Rate,
}

/// How often each guard tripped (on one connection, or summed by the worker).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloodCounts {
    pub rapid_reset: u64,
    pub continuation: u64,
    pub hpack_bomb: u64,
    pub settings: u64,
    pub ping: u64,
    pub glitches: u64,
    pub control_backlog: u64,
    pub zero_window: u64,
}

impl FloodCounts {
    /// Each kind with its name for metrics and pages, in a fixed order.
    pub fn kinds(&self) -> [(&'static str, u64); 8] {
        [
            ("rapid_reset", self.rapid_reset),
            ("continuation", self.continuation),
            ("hpack_bomb", self.hpack_bomb),
            ("settings", self.settings),
            ("ping", self.ping),
            ("glitches", self.glitches),
            ("control_backlog", self.control_backlog),
            ("zero_window", self.zero_window),
        ]
    }

    pub fn total(&self) -> u64 {
        self.kinds().iter().map(|(_, n)| n).sum()
    }

    /// The counts in [`FloodCounts::kinds`]' order, for the stats page's atomics
    /// (`counters::H2Floods`).
    pub fn to_array(&self) -> [u64; 8] {
        self.kinds().map(|(_, n)| n)
    }

    pub fn from_array(a: [u64; 8]) -> FloodCounts {
        let [rapid_reset, continuation, hpack_bomb, settings, ping, glitches, control_backlog, zero_window] = a;
        FloodCounts { rapid_reset, continuation, hpack_bomb, settings, ping, glitches, control_backlog, zero_window }
    }

    pub fn count(&mut self, f: Flood) {
        let c = match f {
            Flood::RapidReset => &mut self.rapid_reset,
            Flood::Continuation => &mut self.continuation,
            Flood::HpackBomb => &mut self.hpack_bomb,
            Flood::Settings => &mut self.settings,
            Flood::Ping => &mut self.ping,
            Flood::Glitches => &mut self.glitches,
            Flood::ControlBacklog => &mut self.control_backlog,
            Flood::ZeroWindow => &mut self.zero_window,
        };
        *c += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_trips_past_its_bound_within_a_second_and_restarts_after() {
        let t = Instant::now();
        let mut r = Rate::default();
        assert!((0..3).all(|_| !r.hit(t, 3)));
        assert!(r.hit(t + Duration::from_millis(999), 3));
        assert!(!r.hit(t + Duration::from_secs(1), 3));
    }

    #[test]
    fn reset_bound_follows_the_concurrency() {
        assert_eq!(Limits::for_streams(100).resets_per_sec, 200);
        assert_eq!(Limits::for_streams(1000).resets_per_sec, 2000);
    }

    #[test]
    fn counts_are_per_kind() {
        let mut c = FloodCounts::default();
        c.count(Flood::Ping);
        c.count(Flood::Ping);
        c.count(Flood::RapidReset);
        assert_eq!((c.ping, c.rapid_reset, c.settings), (2, 1, 0));
        assert_eq!(c.total(), 3);
    }

    #[test]
    fn counts_go_to_an_array_and_back() {
        let mut c = FloodCounts::default();
        c.count(Flood::ZeroWindow);
        c.count(Flood::Continuation);
        let a = c.to_array();
        assert_eq!(a, [0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(FloodCounts::from_array(a), c);
        assert_eq!(c.kinds().iter().find(|(k, _)| *k == "zero_window").map(|(_, n)| *n), Some(1));
    }
}
