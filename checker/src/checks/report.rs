//! HAProxy's log lines for server state changes (src/server.c, `srv_append_status`), so
//! operators' greps and alerting keep working:
//! `Server webserver/web1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left.`

use crate::checks::status::CheckResult;

/// Usable servers of a backend after a change, as HAProxy's `srv_act` / `srv_bck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCounts {
    pub active: usize,
    pub backup: usize,
}

pub struct Transition<'a> {
    pub backend: &'a str,
    pub server: &'a str,
    pub backup: bool,
    pub up: bool,
    pub result: &'a CheckResult,
    pub counts: ServerCounts,
}

pub fn transition_line(t: &Transition) -> String {
    let kind = if t.backup { "Backup Server" } else { "Server" };
    let state = if t.up { "UP" } else { "DOWN" };
    let tail = if t.up { "online" } else { "left" };
    let mut line = format!(
        "{kind} {}/{} is {state}, reason: {}, check duration: {}ms. {} active and {} backup servers {tail}.",
        t.backend,
        t.server,
        t.result.reason(),
        t.result.duration_ms(),
        t.counts.active,
        t.counts.backup
    );
    if t.counts.active == 0 && t.counts.backup > 0 {
        line.push_str(" Running on backup.");
    }
    line
}

/// HAProxy's alert when the last server of a backend goes.
pub fn no_server_line(backend: &str) -> String {
    format!("backend {backend} has no server available!")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::status::CheckStatus;
    use std::time::Duration;

    #[test]
    fn lines_match_haproxy() {
        let refused = CheckResult::new(CheckStatus::L4Connection, Duration::from_micros(300)).with_info("Connection refused");
        let down = Transition {
            backend: "webserver",
            server: "web1",
            backup: false,
            up: false,
            result: &refused,
            counts: ServerCounts { active: 1, backup: 0 },
        };
        assert_eq!(
            transition_line(&down),
            "Server webserver/web1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 1 active and 0 backup servers left."
        );
        let ok = CheckResult::new(CheckStatus::L7Ok, Duration::from_millis(1)).with_code(200);
        let up = Transition { up: true, result: &ok, counts: ServerCounts { active: 2, backup: 0 }, ..down };
        assert_eq!(
            transition_line(&up),
            "Server webserver/web1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 2 active and 0 backup servers online."
        );
    }

    #[test]
    fn backup_servers_are_named_so() {
        let timeout = CheckResult::new(CheckStatus::L4Timeout, Duration::from_millis(2001));
        let t = Transition {
            backend: "app",
            server: "spare",
            backup: true,
            up: false,
            result: &timeout,
            counts: ServerCounts { active: 0, backup: 1 },
        };
        assert_eq!(
            transition_line(&t),
            "Backup Server app/spare is DOWN, reason: Layer4 timeout, check duration: 2001ms. 0 active and 1 backup servers left. Running on backup."
        );
        assert_eq!(no_server_line("app"), "backend app has no server available!");
    }
}
