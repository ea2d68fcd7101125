//! A rate over a period kept in three words of an entry, as HAProxy's `freq_ctr` with a period
//! (`update_freq_ctr_period()` / `read_freq_ctr_period()` in `src/freq_ctr.c`): the count of the
//! current period, the count of the previous one, and the tick the current one began at. The
//! rate read is the current count plus the previous count weighted by the part of the current
//! period still to run (rounded down, as HAProxy's `mul32hi`); after a whole idle period the
//! previous count is forgotten. Ticks are wrapping milliseconds, compared as HAProxy compares
//! its `now_ms`.

/// Words of an entry's data that a rate takes.
pub const WORDS: usize = 3;

const TICK: usize = 0;
const CURR: usize = 1;
const PREV: usize = 2;

/// Milliseconds elapsed from `from` to `now` on the wrapping clock (0 if `from` is ahead).
fn elapsed(now: u32, from: u32) -> u32 {
    let d = now.wrapping_sub(from);
    if d > u32::MAX / 2 {
        0
    } else {
        d
    }
}

/// Turns the period over if `now` is past it; both counts go after two periods.
fn rotate(ctr: &mut [u32], period: u32, now: u32) {
    if elapsed(now, ctr[TICK]) < period {
        return;
    }
    ctr[PREV] = ctr[CURR];
    ctr[CURR] = 0;
    ctr[TICK] = ctr[TICK].wrapping_add(period);
    if elapsed(now, ctr[TICK]) >= period {
        ctr[PREV] = 0;
        ctr[TICK] = now;
    }
}

/// A new counter whose first period begins at `now`.
pub fn init(ctr: &mut [u32], now: u32) {
    ctr[TICK] = now;
    ctr[CURR] = 0;
    ctr[PREV] = 0;
}

/// Adds `n` events at `now`.
pub fn add(ctr: &mut [u32], period: u32, n: u32, now: u32) {
    rotate(ctr, period.max(1), now);
    ctr[CURR] = ctr[CURR].saturating_add(n);
}

/// Events over the last `period` at `now`.
pub fn read(ctr: &[u32], period: u32, now: u32) -> u32 {
    let period = period.max(1);
    let mut since = elapsed(now, ctr[TICK]);
    let (curr, past) = if since < period {
        (ctr[CURR], ctr[PREV])
    } else {
        since -= period;
        if since >= period {
            return 0;
        }
        (0, ctr[CURR])
    };
    let remain = u64::from(period - since);
    curr.saturating_add((u64::from(past) * remain / u64::from(period)) as u32)
}

/// The counter's state relative to `now`: (ms since the current period began, curr, prev).
pub fn export(ctr: &[u32], now: u32) -> (u32, u32, u32) {
    (elapsed(now, ctr[TICK]), ctr[CURR], ctr[PREV])
}

/// Sets the counter from a relative state.
pub fn import(ctr: &mut [u32], since_ms: u32, curr: u32, prev: u32, now: u32) {
    ctr[TICK] = now.wrapping_sub(since_ms);
    ctr[CURR] = curr;
    ctr[PREV] = prev;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_period_fades_as_the_current_one_runs() {
        let mut c = [0u32; WORDS];
        let p = 10_000;
        init(&mut c, 5_000);
        // Twenty events in the period beginning at 5 s.
        for _ in 0..20 {
            add(&mut c, p, 1, 5_000);
        }
        assert_eq!(read(&c, p, 9_000), 20);
        // 2.5 s into the next period: three quarters of the previous count plus the current.
        add(&mut c, p, 1, 17_500);
        assert_eq!(read(&c, p, 17_500), 1 + 15);
        // Read without an event, one period later: the current count becomes the past.
        assert_eq!(read(&c, p, 27_500), 0, "a quarter past: 1 x 0.75 rounds down");
        assert_eq!(read(&c, p, 45_000), 0, "two periods idle");
        add(&mut c, p, 1, 45_000);
        assert_eq!(read(&c, p, 45_001), 1, "counts forgotten after an idle period");
    }

    #[test]
    fn export_import_keeps_the_reading() {
        let mut c = [0u32; WORDS];
        for t in 0..30 {
            add(&mut c, 1_000, 1, 100_000 + t * 50);
        }
        let (since, curr, prev) = export(&c, 101_600);
        let mut d = [0u32; WORDS];
        import(&mut d, since, curr, prev, 7_000_000);
        assert_eq!(read(&d, 1_000, 7_000_000), read(&c, 1_000, 101_600));
        assert_eq!(read(&d, 1_000, 7_000_300), read(&c, 1_000, 101_900));
    }

    #[test]
    fn the_clock_may_wrap() {
        let mut c = [0u32; WORDS];
        init(&mut c, u32::MAX - 600);
        add(&mut c, 1_000, 5, u32::MAX - 100);
        add(&mut c, 1_000, 5, 500);
        // The period turned at 399 (wrapped): 5 current, 5 past weighted by 89 %.
        assert_eq!(read(&c, 1_000, 509), 5 + 5 * 890 / 1000);
    }
}
