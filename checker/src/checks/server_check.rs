//! One checked server: what to check and how often, its health counter and its check in flight
//! (a network probe, or a check script's process).

use crate::checks::health_counter::{HealthCounter, Pace};
use crate::checks::http;
use crate::checks::mysql;
use crate::checks::probe::{Probe, Progress, Protocol, Readiness};
use crate::checks::server_script::{ServerScript, WeightVerdict};
use crate::checks::status::{os_error_text, CheckResult, CheckStatus};
use crate::scripts::script_process::ScriptProcess;
use hakeeper_common::config::{Backend, Check, HealthCheck, Server};
use hakeeper_common::proxy_protocol::Version;
use hakeeper_common::tls_client::ClientTls;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// After a check script's timeout: how often the loop looks again (and kills again) until the
/// killed group's leader has been reaped. Its pidfd normally tells first.
const SCRIPT_REAP_RETRY: Duration = Duration::from_millis(200);

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

/// How a server is checked.
enum Method {
    Network(Protocol),
    Script(ServerScript),
}

/// The check in progress.
enum InFlight {
    Probe(Probe),
    Script {
        process: ScriptProcess,
        started: Instant,
        /// The pidfd could not be watched: the loop polls.
        polled: bool,
        /// Reaped: nothing left to kill.
        reaped: bool,
    },
}

/// What a finished check changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Conclusion {
    /// The new health, at a rise/fall transition.
    pub change: Option<bool>,
    /// When the next check is due, from now.
    pub next: Duration,
    /// The new weight, when a `dynamic` script changed it.
    pub weight: Option<u32>,
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
    method: Method,
    in_flight: Option<InFlight>,
    configured_weight: u32,
    /// The weight as last set (a `dynamic` script may change it).
    pub weight: u32,
    /// What the script that just ended asked for, applied by `conclude`.
    asked_weight: Option<WeightVerdict>,
    /// The last verdict told to the supervisor, and when.
    pub reported: Option<(String, Instant)>,
    /// The PROXY header each network check starts with (see [`check_proxy`]).
    proxy: Option<Version>,
    /// `check-ssl`: the server's TLS client and `check-sni` (or why the client could not be made).
    tls: Option<Result<(ClientTls, Option<String>), String>>,
}

/// HAProxy's rule for PROXY headers on checks: always with `check-send-proxy`, and by default
/// when the server's traffic gets one and the check goes to the traffic port; of the server's
/// version (v1 without `send-proxy-v2`).
pub fn check_proxy(server: &Server, check: &Check) -> Option<Version> {
    let by_default = server.send_proxy.is_some() && check.port == server.addr.port();
    (server.check_send_proxy || by_default).then(|| server.send_proxy.unwrap_or(Version::V1))
}

/// `check-ssl`: the server's TLS settings (verify, CA, client certificate) with `check-sni`.
fn check_tls(server: &Server) -> Option<Result<(ClientTls, Option<String>), String>> {
    let check = server.check_tls.as_ref()?;
    let Some(tls) = server.tls.as_ref() else {
        return Some(Err("check_ssl without TLS settings".into()));
    };
    Some(match ClientTls::new(tls, server.addr.ip()) {
        Ok(client) => Ok((client, check.sni.clone())),
        Err(e) => {
            log::error!("TLS checks of server {}: {e}", server.name);
            Err(e.to_string())
        }
    })
}

impl ServerCheck {
    pub fn new(backend_index: usize, backend: &Backend, server_index: usize, server: &Server, check: &Check) -> Self {
        let target = SocketAddr::new(server.addr.ip(), check.port);
        let method = match &backend.health_check {
            HealthCheck::Tcp => Method::Network(Protocol::Tcp),
            HealthCheck::Http { method, uri, version, expect_status } => {
                let host = match (check.port, target.ip()) {
                    (80, IpAddr::V6(ip)) => format!("[{ip}]"),
                    (80, ip) => ip.to_string(),
                    _ => target.to_string(),
                };
                Method::Network(Protocol::Http { request: http::request(method, uri, version, &host), expect: *expect_status })
            }
            HealthCheck::Mysql { user } => Method::Network(Protocol::Mysql { login: mysql::login_and_quit(user) }),
            HealthCheck::Script { command, timeout, dynamic } => {
                Method::Script(ServerScript::new(command, *timeout, *dynamic, &backend.name, &server.name, target))
            }
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
            method,
            in_flight: None,
            configured_weight: server.weight,
            weight: server.weight,
            asked_weight: None,
            reported: None,
            proxy: check_proxy(server, check),
            tls: check_tls(server),
        }
    }

    /// The server's check script, if it is checked by one (to set whom it runs as).
    pub fn script_mut(&mut self) -> Option<&mut ServerScript> {
        match &mut self.method {
            Method::Script(s) => Some(s),
            Method::Network(_) => None,
        }
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// A check script runs whose end the loop must poll for (no pidfd).
    pub fn needs_poll(&self) -> bool {
        matches!(self.in_flight, Some(InFlight::Script { polled: true, .. }))
    }

    /// Starts a check; returns its deadline, or its result if it failed at once.
    pub fn begin(&mut self, registry: &Registry, token: Token, now: Instant) -> Result<Instant, CheckResult> {
        match &self.method {
            Method::Network(protocol) => {
                let tls = match &self.tls {
                    None => None,
                    Some(Ok((client, sni))) => Some(
                        client
                            .connect(sni.as_deref())
                            .map_err(|e| CheckResult::new(CheckStatus::L6Response, Duration::ZERO).with_info(e.to_string()))?,
                    ),
                    Some(Err(why)) => return Err(CheckResult::new(CheckStatus::L6Response, Duration::ZERO).with_info(why.clone())),
                };
                let probe = Probe::start(self.target, protocol, self.proxy, tls, registry, token, now)?;
                self.in_flight = Some(InFlight::Probe(probe));
                Ok(now + self.timing.connect)
            }
            Method::Script(script) => {
                if let Some(why) = &script.refused {
                    return Err(CheckResult::new(CheckStatus::ProcError, Duration::ZERO).with_info(why.clone()));
                }
                let process =
                    script.spawn().map_err(|e| CheckResult::new(CheckStatus::ProcError, now.elapsed()).with_info(os_error_text(&e)))?;
                let watched = process.pidfd().is_some_and(|fd| registry.register(&mut SourceFd(&fd), token, Interest::READABLE).is_ok());
                let timeout = script.timeout.unwrap_or(self.timing.inter);
                self.in_flight = Some(InFlight::Script { process, started: now, polled: !watched, reaped: false });
                Ok(now + timeout)
            }
        }
    }

    pub fn on_event(&mut self, ready: Readiness, now: Instant) -> Step {
        match self.in_flight.as_mut() {
            None => Step::Waiting,
            Some(InFlight::Probe(probe)) => {
                let Method::Network(protocol) = &self.method else { return Step::Waiting };
                match probe.on_ready(ready, protocol, now) {
                    Progress::Waiting => Step::Waiting,
                    Progress::Connected => match self.timing.read {
                        Some(read) => Step::Deadline(now + read),
                        None => Step::Waiting,
                    },
                    Progress::Done(result) => Step::Done(result),
                }
            }
            Some(InFlight::Script { process, started, reaped, .. }) => {
                let Method::Script(script) = &self.method else { return Step::Waiting };
                let took = now.saturating_duration_since(*started);
                match process.try_finish() {
                    Ok(None) => Step::Waiting,
                    Ok(Some(outcome)) => {
                        *reaped = true;
                        let (result, weight) = script.judge(outcome, took);
                        self.asked_weight = weight;
                        Step::Done(result)
                    }
                    Err(e) => Step::Done(CheckResult::new(CheckStatus::ProcError, took).with_info(os_error_text(&e))),
                }
            }
        }
    }

    /// The check's deadline passed: a probe's verdict, or a script's group killed (its end,
    /// a timeout, is then reaped from its pidfd or a later look).
    pub fn on_timeout(&mut self, now: Instant) -> Step {
        match self.in_flight.as_mut() {
            None => Step::Waiting,
            Some(InFlight::Probe(probe)) => Step::Done(probe.on_timeout(now)),
            Some(InFlight::Script { process, .. }) => {
                if !process.timed_out() {
                    log::warn!(
                        "check script of server {}/{} timed out; killing process group {}",
                        self.backend_name,
                        self.server_name,
                        process.pid()
                    );
                }
                process.kill_timed_out();
                match self.on_event(Readiness { writable: false, error: false }, now) {
                    Step::Waiting => Step::Deadline(now + SCRIPT_REAP_RETRY),
                    other => other,
                }
            }
        }
    }

    /// Ends the check in flight, counts the result; returns the transition (if any), when the
    /// next check is due and a weight change.
    pub fn conclude(&mut self, result: &CheckResult) -> Conclusion {
        // Closing a probe's socket or a script's pidfd also removes it from the poll.
        self.end_in_flight();
        let change = self.counter.record(result.passed());
        let wanted = match self.asked_weight.take() {
            Some(WeightVerdict::Configured) => Some(self.configured_weight),
            Some(WeightVerdict::Set(w)) => Some(w),
            None => None,
        };
        let weight = wanted.filter(|w| *w != self.weight);
        if let Some(w) = weight {
            self.weight = w;
        }
        Conclusion { change, next: self.timing.interval(self.counter.pace()), weight }
    }

    /// Drops the check in flight without counting it (shutdown, reconfiguration).
    pub fn abandon(&mut self) {
        self.end_in_flight();
        self.asked_weight = None;
    }

    fn end_in_flight(&mut self) {
        match self.in_flight.take() {
            Some(InFlight::Probe(probe)) => probe.close(),
            // Not reaped: shutdown, or a run whose end could not be observed; leave nothing behind.
            Some(InFlight::Script { process, reaped: false, .. }) => process.kill_and_reap(),
            Some(InFlight::Script { reaped: true, .. }) | None => {}
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

#[cfg(test)]
mod proxy_tests {
    use super::*;

    fn server(send_proxy: Option<Version>, check_send_proxy: bool) -> Server {
        Server {
            name: "s".into(),
            id: 1,
            addr: "10.0.0.1:8066".parse().unwrap(),
            weight: 1,
            maxconn: 0,
            backup: false,
            disabled: false,
            cookie: None,
            check: None,
            pool: Default::default(),
            send_proxy,
            check_send_proxy,
            proxy_v2: Default::default(),
            tls: None,
            check_tls: None,
        }
    }

    fn check(port: u16) -> Check {
        let d = Duration::from_secs(2);
        Check { inter: d, fastinter: d, downinter: d, rise: 2, fall: 3, port, initial_up: true }
    }

    #[test]
    fn checks_send_a_proxy_header_as_haproxy_decides() {
        // check-send-proxy alone: v1.
        assert_eq!(check_proxy(&server(None, true), &check(8066)), Some(Version::V1));
        // The traffic's version, on the traffic port by default, elsewhere only when asked.
        assert_eq!(check_proxy(&server(Some(Version::V2), false), &check(8066)), Some(Version::V2));
        assert_eq!(check_proxy(&server(Some(Version::V2), false), &check(9000)), None);
        assert_eq!(check_proxy(&server(Some(Version::V2), true), &check(9000)), Some(Version::V2));
        assert_eq!(check_proxy(&server(None, false), &check(8066)), None);
    }
}
