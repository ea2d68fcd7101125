//! HAProxy's health counter for a checked server (src/check.c, `set_server_check_status` and
//! `srv_getinter`), kept as one number so the rise/fall hysteresis behaves exactly as HAProxy's.
//!
//! The counter runs from 0 to `rise + fall - 1`; the server is UP while it is at least `rise`.
//! - A failure decrements it; once it drops below `rise` it goes straight to 0 (fully DOWN).
//!   From fully UP (`rise + fall - 1`) that takes `fall` consecutive failures.
//! - A success increments it; once it reaches `rise` it jumps to `rise + fall - 1` (fully UP).
//!   From fully DOWN (0) that takes `rise` consecutive successes.
//! - A server starts UP with the counter at exactly `rise` ("up, but will fall down at first
//!   failure", server.c): the first failed check after start marks it DOWN at once, while the
//!   first successful one makes it fully UP. SEMANTICS.md, Health checks, rise/fall.

/// Which of `inter`, `fastinter` and `downinter` paces the next check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Fully UP: `inter`.
    Inter,
    /// Anywhere between (transitioning, or not yet checked since start): `fastinter`.
    Fast,
    /// Fully DOWN: `downinter`.
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCounter {
    health: u32,
    rise: u32,
    fall: u32,
}

impl HealthCounter {
    /// A server as HAProxy starts it: UP, one failure away from DOWN.
    pub fn new(rise: u32, fall: u32) -> Self {
        let rise = rise.max(1);
        HealthCounter { health: rise, rise, fall: fall.max(1) }
    }

    /// A counter for a server configured to start UP (as `new`) or fully DOWN (`initial: down`:
    /// it needs `rise` successes before it gets traffic).
    pub fn starting(rise: u32, fall: u32, up: bool) -> Self {
        let mut c = Self::new(rise, fall);
        if !up {
            c.health = 0;
        }
        c
    }

    pub fn is_up(&self) -> bool {
        self.health >= self.rise
    }

    #[cfg(test)]
    pub fn value(&self) -> u32 {
        self.health
    }

    fn full(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// Records one check result; returns the new state when the server changed state.
    pub fn record(&mut self, passed: bool) -> Option<bool> {
        let was_up = self.is_up();
        if passed {
            if self.health < self.full() {
                self.health += 1;
                if self.health >= self.rise {
                    self.health = self.full();
                }
            }
        } else if self.health > 0 {
            self.health -= 1;
            if self.health < self.rise {
                self.health = 0;
            }
        }
        (self.is_up() != was_up).then_some(self.is_up())
    }

    /// HAProxy's `log-health-checks` view of the counter: `2/3 UP` (failures left before DOWN)
    /// or `1/2 DOWN` (successes so far toward UP).
    pub fn status_text(&self) -> String {
        if self.is_up() {
            format!("{}/{} UP", self.health - self.rise + 1, self.fall)
        } else {
            format!("{}/{} DOWN", self.health, self.rise)
        }
    }

    /// HAProxy's `srv_getinter`: `inter` only when fully UP, `downinter` when fully DOWN.
    pub fn pace(&self) -> Pace {
        if self.health == self.full() {
            Pace::Inter
        } else if self.health == 0 {
            Pace::Down
        } else {
            Pace::Fast
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ('+' pass, '-' fail) and returns the state after each one ('U'/'D') and
    /// the transitions reported ('^' up, 'v' down, '.' none).
    fn run(rise: u32, fall: u32, results: &str) -> (String, String) {
        let mut c = HealthCounter::new(rise, fall);
        let mut states = String::new();
        let mut changes = String::new();
        for r in results.chars() {
            let change = c.record(r == '+');
            states.push(if c.is_up() { 'U' } else { 'D' });
            changes.push(match change {
                Some(true) => '^',
                Some(false) => 'v',
                None => '.',
            });
        }
        (states, changes)
    }

    #[test]
    fn rise_fall_table() {
        // (rise, fall, results, states after each, transitions)
        let table = [
            // Starts UP at counter = rise: the first failure after start marks DOWN.
            (2, 3, "-", "D", "v"),
            (2, 3, "+", "U", "."),
            // Once fully UP, `fall` consecutive failures are needed.
            (2, 3, "+---", "UUUD", "...v"),
            (2, 3, "+--+--", "UUUUUU", "......"),
            (2, 3, "+--+---", "UUUUUUD", "......v"),
            // From DOWN, `rise` consecutive successes; a failure in between starts over.
            (2, 3, "-++", "DDU", "v.^"),
            (2, 3, "-+-++", "DDDDU", "v...^"),
            (3, 2, "-+++", "DDDU", "v..^"),
            (3, 2, "-+++--", "DDDUUD", "v..^.v"),
            // rise = fall = 1: every result decides.
            (1, 1, "-+-+", "DUDU", "v^v^"),
            // fall = 1: a single failure from fully UP.
            (2, 1, "+-", "UD", ".v"),
            // Failures at the bottom and successes at the top saturate.
            (2, 2, "----++++", "DDDDDUUU", "v....^.."),
        ];
        for (rise, fall, results, states, changes) in table {
            let got = run(rise, fall, results);
            assert_eq!(got, (states.to_string(), changes.to_string()), "rise {rise} fall {fall} results {results}");
        }
    }

    #[test]
    fn counter_values_follow_haproxy() {
        let mut c = HealthCounter::new(2, 3);
        assert_eq!(c.value(), 2);
        c.record(true);
        assert_eq!(c.value(), 4, "fully UP is rise + fall - 1");
        c.record(false);
        assert_eq!(c.value(), 3);
        c.record(false);
        assert_eq!(c.value(), 2);
        c.record(false);
        assert_eq!(c.value(), 0, "below rise drops to 0");
        c.record(true);
        assert_eq!(c.value(), 1);
    }

    #[test]
    fn pace_is_inter_only_when_fully_up() {
        let mut c = HealthCounter::new(2, 3);
        assert_eq!(c.pace(), Pace::Fast, "unchecked since start");
        c.record(true);
        assert_eq!(c.pace(), Pace::Inter);
        c.record(false);
        assert_eq!(c.pace(), Pace::Fast, "going down");
        c.record(false);
        c.record(false);
        assert_eq!(c.pace(), Pace::Down);
        c.record(true);
        assert_eq!(c.pace(), Pace::Fast, "going up");
        // With fall = 1 the start value rise is already fully UP.
        assert_eq!(HealthCounter::new(2, 1).pace(), Pace::Inter);
    }

    #[test]
    fn a_server_configured_down_needs_rise_successes() {
        let mut c = HealthCounter::starting(2, 3, false);
        assert!(!c.is_up());
        assert_eq!(c.record(true), None, "one success is not enough");
        assert_eq!(c.record(true), Some(true), "UP after rise successes");
        assert!(HealthCounter::starting(2, 3, true).is_up());
    }
}
