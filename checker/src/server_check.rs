//! One checked server: what to check and how often, its health counter and its probe in flight.

use crate::health_counter::{HealthCounter, Pace};
use crate::http;
use crate::mysql;
use crate::probe::{Probe, Progress, Protocol, Readiness};
use crate::status::CheckResult;
use hakeeper_common::config::{Backend, Check, HealthCheck, Server};
use mio::{Registry, Token};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// What the loop does after an event on a probe.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Waiting,
    /// The deadline moves (connected: `timeout check` now bounds the read).
    Deadline(Instant),
    Done(CheckResult),
}

/// HAProxy's check timing for one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub inter: Duration,
    pub fastinter: Duration,
    pub downinter: Duration,
    /// Deadline for the connection, from the check's start.
    pub connect: Duration,
    /// With `timeout check`: the deadline for the answer, from the connection.
    pub read: Option<Duration>,
}

impl Timing {
    /// SEMANTICS.md: with `timeout check` set, the connect timeout is min(timeout connect, inter)
    /// and `timeout check` then bounds the read; without it, `inter` bounds the whole check.
    pub fn new(check: &Check, timeout_connect: Duration, timeout_check: Option<Duration>) -> Self {
        let connect = match timeout_check {
            Some(_) => timeout_connect.min(check.inter),
            None => check.inter,
        };
        Timing { inter: check.inter, fastinter: check.fastinter, downinter: check.downinter, connect, read: timeout_check }
    }

    pub fn interval(&self, pace: Pace) -> Duration {
        match pace {
            Pace::Inter => self.inter,
            Pace::Fast => self.fastinter,
            Pace::Down => self.downinter,
        }
    }
}

pub struct ServerCheck {
    pub backend: usize,
    pub server: usize,
    pub backend_name: String,
    pub server_name: String,
    pub backup: bool,
    pub target: SocketAddr,
    pub timing: Timing,
    pub counter: HealthCounter,
    protocol: Protocol,
    probe: Option<Probe>,
}

impl ServerCheck {
    pub fn new(backend_index: usize, backend: &Backend, server_index: usize, server: &Server, check: &Check) -> Self {
        let target = SocketAddr::new(server.addr.ip(), check.port);
        let protocol = match &backend.health_check {
            HealthCheck::Tcp => Protocol::Tcp,
            HealthCheck::Http { method, uri, version, expect_status } => {
                let host = match (check.port, target.ip()) {
                    (80, IpAddr::V6(ip)) => format!("[{ip}]"),
                    (80, ip) => ip.to_string(),
                    _ => target.to_string(),
                };
                Protocol::Http { request: http::request(method, uri, version, &host), expect: *expect_status }
            }
            HealthCheck::Mysql { user } => Protocol::Mysql { login: mysql::login_and_quit(user) },
        };
        ServerCheck {
            backend: backend_index,
            server: server_index,
            backend_name: backend.name.clone(),
            server_name: server.name.clone(),
            backup: server.backup,
            target,
            timing: Timing::new(check, backend.timeout_connect, backend.timeout_check),
            counter: HealthCounter::starting(check.rise, check.fall, check.initial_up),
            protocol,
            probe: None,
        }
    }

    pub fn in_flight(&self) -> bool {
        self.probe.is_some()
    }

    /// Starts a check; returns its deadline, or its result if it failed at once.
    pub fn begin(&mut self, registry: &Registry, token: Token, now: Instant) -> Result<Instant, CheckResult> {
        let probe = Probe::start(self.target, &self.protocol, registry, token, now)?;
        self.probe = Some(probe);
        Ok(now + self.timing.connect)
    }

    pub fn on_event(&mut self, ready: Readiness, now: Instant) -> Step {
        let Some(probe) = self.probe.as_mut() else {
            return Step::Waiting;
        };
        match probe.on_ready(ready, &self.protocol, now) {
            Progress::Waiting => Step::Waiting,
            Progress::Connected => match self.timing.read {
                Some(read) => Step::Deadline(now + read),
                None => Step::Waiting,
            },
            Progress::Done(result) => Step::Done(result),
        }
    }

    /// The verdict for a check whose deadline passed (`None` when none was running).
    pub fn on_timeout(&mut self, now: Instant) -> Option<CheckResult> {
        self.probe.as_ref().map(|p| p.on_timeout(now))
    }

    /// Closes the probe, counts the result; returns the transition (if any) and when the next
    /// check is due.
    pub fn conclude(&mut self, result: &CheckResult) -> (Option<bool>, Duration) {
        if let Some(probe) = self.probe.take() {
            probe.close();
        }
        let change = self.counter.record(result.passed());
        (change, self.timing.interval(self.counter.pace()))
    }

    /// Drops a probe without counting it (shutdown, reconfiguration).
    pub fn abandon(&mut self) {
        if let Some(probe) = self.probe.take() {
            probe.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(inter_ms: u64) -> Check {
        let inter = Duration::from_millis(inter_ms);
        Check { inter, fastinter: inter / 2, downinter: inter * 2, rise: 2, fall: 3, port: 80, initial_up: true }
    }

    #[test]
    fn timeout_check_splits_connect_and_read() {
        let s = Duration::from_secs;
        // Without `timeout check`, inter bounds the whole check.
        let t = Timing::new(&check(2000), s(5), None);
        assert_eq!((t.connect, t.read), (s(2), None));
        // With it: connect = min(timeout connect, inter), then timeout check for the answer.
        let t = Timing::new(&check(2000), s(5), Some(s(1)));
        assert_eq!((t.connect, t.read), (s(2), Some(s(1))));
        let t = Timing::new(&check(10_000), s(5), Some(s(3)));
        assert_eq!((t.connect, t.read), (s(5), Some(s(3))));
    }

    #[test]
    fn interval_follows_the_pace() {
        let t = Timing::new(&check(1000), Duration::from_secs(5), None);
        assert_eq!(t.interval(Pace::Inter), Duration::from_millis(1000));
        assert_eq!(t.interval(Pace::Fast), Duration::from_millis(500));
        assert_eq!(t.interval(Pace::Down), Duration::from_millis(2000));
    }
}
