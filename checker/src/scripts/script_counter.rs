//! keepalived's result counter for a `vrrp_script` (vrrp_scheduler.c, `vrrp_script_child_thread`).
//!
//! Same range as HAProxy's (0 to `rise + fall - 1`, good while at least `rise`), but the start is
//! different: the script begins undecided at `rise - 1`, so its first result decides its state
//! either way, and that first decision is always reported. After that it needs `rise`
//! consecutive successes to become good and `fall` consecutive failures to become bad.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptCounter {
    result: u32,
    rise: u32,
    fall: u32,
    /// `None` until the first result.
    state: Option<bool>,
}

impl ScriptCounter {
    pub fn new(rise: u32, fall: u32) -> Self {
        let rise = rise.max(1);
        ScriptCounter { result: rise - 1, rise, fall: fall.max(1), state: None }
    }

    #[cfg(test)]
    pub fn state(&self) -> Option<bool> {
        self.state
    }

    fn full(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// Records one run's result; returns the new state when it changed (or was first decided).
    /// Starting at `rise - 1`, a first success always reaches `rise` and a first failure always
    /// takes the `first` branch, so the first result is always reported.
    pub fn record(&mut self, ok: bool) -> Option<bool> {
        let first = self.state.is_none();
        let mut report = None;
        if ok {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else if self.result != self.full() {
                if self.result < self.rise {
                    report = Some(true);
                }
                self.result = self.full();
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            if self.result == self.rise || first {
                report = Some(false);
            }
            self.result = 0;
        }
        if report.is_some() {
            self.state = report;
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rise: u32, fall: u32, results: &str) -> String {
        let mut c = ScriptCounter::new(rise, fall);
        results
            .chars()
            .map(|r| match c.record(r == '+') {
                Some(true) => '^',
                Some(false) => 'v',
                None => '.',
            })
            .collect()
    }

    #[test]
    fn keepalived_script_table() {
        let table = [
            // The first result decides, whatever rise and fall are.
            (1, 1, "+", "^"),
            (1, 1, "-", "v"),
            (3, 3, "+", "^"),
            (3, 3, "-", "v"),
            // Then `fall` failures from good, `rise` successes from bad.
            (1, 1, "+-+-", "^v^v"),
            (2, 3, "+---", "^..v"),
            (2, 3, "+--+---", "^.....v"),
            (2, 3, "-++", "v.^"),
            (2, 3, "-+-++", "v...^"),
            (3, 2, "-+++--", "v..^.v"),
            (2, 2, "++++----", "^....v.."),
        ];
        for (rise, fall, results, changes) in table {
            assert_eq!(run(rise, fall, results), changes, "rise {rise} fall {fall} results {results}");
        }
    }

    #[test]
    fn state_is_undecided_until_the_first_result() {
        let mut c = ScriptCounter::new(2, 2);
        assert_eq!(c.state(), None);
        c.record(false);
        assert_eq!(c.state(), Some(false));
    }
}
