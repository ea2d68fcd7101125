//! Getting a session to a server: assignment (balancer, stick table, queues), the non-blocking
//! connect, and HAProxy's `retries` / `option redispatch` rules when an attempt fails:
//!
//! - `retries N` allows N more attempts after the first, only for the connect, never once
//!   established;
//! - a retry goes to the same server, after a pause of min(`timeout connect`, 1 s) when the
//!   server refused (not after a timeout);
//! - with `option redispatch` the retry goes to a newly balanced server on the last retry, when
//!   the server went down, or at once for round-robin algorithms with several active servers
//!   (unless the stick table chose the server).

use super::{tls, Progress, Stage};
use crate::backend::Assignment;
use crate::backend::{HttpChoice, Pending};
use crate::counters::Counters;
use crate::deadline::after;
use crate::session::{Ctx, Session};
use crate::termination::{Cause, Phase, Termination};
use hakeeper_common::config::HttpReuse;
use std::io;
use std::time::{Duration, Instant};

/// Out of descriptors, memory or source ports: not the server's fault, and not retried.
fn is_resource_shortage(e: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM | Errno::EADDRNOTAVAIL)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Refused, unreachable, reset: the server answered no.
    Error,
    /// `timeout connect` expired.
    Timeout,
}

/// What an HTTP request asks of the upstream side (TCP sessions ask nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHints {
    /// How its server is chosen (persistence cookie, balance key, prefer-last-server).
    pub choice: HttpChoice,
    /// Which idle connections it may take.
    pub reuse: HttpReuse,
    /// The client connection's first request (see [`HttpReuse`]).
    pub first: bool,
}

fn failed(cause: Cause, phase: Phase) -> Progress {
    Progress::Failed(Termination::new(cause, phase))
}

impl Session {
    /// Chooses a server (stick table, the request's hints, the balancer) and connects to it, or
    /// queues; `hints` stay for the retries of this attempt.
    pub(crate) fn assign(&mut self, ctx: &mut Ctx<'_>, hints: Option<RequestHints>) -> Progress {
        self.up.hints = hints;
        self.assign_again(ctx)
    }

    fn assign_again(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        let Some(be) = self.up.backend else { return failed(Cause::Internal, Phase::Connect) };
        self.up.stage = Stage::Assigning;
        let waiter = Pending { thread: ctx.thread, key: ctx.key, session: self.id, since: ctx.now };
        let client = self.client_addr.ip();
        let assignment = match self.up.hints {
            Some(h) => ctx.shared.backend(be).assign_http(h.choice, client, self.up.redispatch_from, waiter, ctx.now),
            None => match self.tcp_stuck_server(ctx, be) {
                // The entry's server, as a persistence cookie's: queued on it when full, left
                // when it cannot take traffic.
                Some(s) => ctx.shared.backend(be).assign_http(HttpChoice::Persist(s), client, self.up.redispatch_from, waiter, ctx.now),
                None => ctx.shared.backend(be).assign(client, self.up.redispatch_from, waiter, ctx.now),
            },
        };
        match assignment {
            Assignment::Server { server, persistent } => {
                self.up.persistent = persistent;
                self.got_slot(ctx, server)
            }
            Assignment::Queued { server, ahead } => {
                self.up.stage = Stage::Queued { server };
                match server {
                    // Waiting for one server (persistence): the log names it.
                    Some(s) => {
                        self.up.target = Some(s);
                        self.up.srv_queue_pos = ahead;
                    }
                    None => self.up.be_queue_pos = ahead,
                }
                self.set_stage_deadline(ctx.now, ctx.shared.config.backends[be].timeout_queue);
                Progress::Pending
            }
            Assignment::NoServer => {
                if self.up.redispatch_from.is_some() {
                    Counters::add(&ctx.shared.stats.backends[be].counters.connect_errors, 1);
                }
                failed(Cause::ServerAbort, Phase::Connect)
            }
        }
    }

    /// A slot on `server` is this session's (at once, or granted from a queue): connect.
    pub(crate) fn got_slot(&mut self, ctx: &mut Ctx<'_>, server: usize) -> Progress {
        let Some(be) = self.up.backend else { return failed(Cause::Internal, Phase::Connect) };
        let shared = ctx.shared;
        let stats = &shared.stats.backends[be];
        if let Some(prev) = self.up.redispatch_from.take() {
            if prev != server {
                self.up.redispatched = true;
                Counters::add(&stats.servers[prev].counters.redispatches, 1);
                Counters::add(&stats.counters.redispatches, 1);
            } else {
                Counters::add(&stats.servers[prev].counters.retries, 1);
                Counters::add(&stats.counters.retries, 1);
            }
        }
        self.up.target = Some(server);
        self.up.holds_slot = true;
        stats.servers[server].counters.session_opened();
        self.up.queue_left.get_or_insert(ctx.now);
        self.connect(ctx)
    }

    /// Frees the slot held on the target server (its counters follow).
    pub fn release_slot(&mut self, ctx: &mut Ctx<'_>) {
        if let (true, Some(be), Some(server)) = (self.up.holds_slot, self.up.backend, self.up.target) {
            ctx.shared.backend(be).release(server, ctx.grants);
            ctx.shared.stats.backends[be].servers[server].counters.session_closed();
        }
        self.up.holds_slot = false;
    }

    /// The SNI a connection to `server` sends for the current request (`ssl` servers only).
    pub(super) fn sni(&self, ctx: &Ctx<'_>, be: usize, server: usize) -> Option<String> {
        let tls = ctx.shared.config.backends[be].servers[server].tls.as_ref().filter(|t| t.traffic)?;
        tls::sni_for(tls.sni.as_ref(), |name| self.up.sni_headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    }

    /// An idle connection to the target when the request may take one, else a new connect.
    fn connect(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        let (Some(be), Some(server)) = (self.up.backend, self.up.target) else {
            return failed(Cause::Internal, Phase::Connect);
        };
        let sni = self.sni(ctx, be, server);
        if self.take_idle(ctx, be, server, sni.as_deref()) {
            self.up.stage = Stage::Established;
            self.up.stage_deadline = None;
            self.up.established_at = Some(ctx.now);
            return Progress::Connected;
        }
        let backend = &ctx.shared.config.backends[be];
        let addr = backend.servers[server].addr;
        self.up.stage = Stage::Connecting;
        self.set_stage_deadline(ctx.now, backend.timeout_connect);
        match ctx.conns.connect(ctx.registry, addr, be, server, ctx.key, sni.as_deref(), &ctx.shared.stats) {
            Ok(key) => {
                self.up.conn = Some(key);
                Progress::Pending
            }
            Err(e) if is_resource_shortage(&e) => {
                log::error!("cannot connect to {}/{} ({addr}): {e}", backend.name, backend.servers[server].name);
                self.release_slot(ctx);
                failed(Cause::Resource, Phase::Connect)
            }
            // The TLS layer could not be set up (an SNI that is not a DNS name): said once per try.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                log::warn!("Connection to server {}/{} failed: {e}", backend.name, backend.servers[server].name);
                self.connect_failed(ctx, Failure::Error)
            }
            Err(e) => {
                log::debug!("connect to {}/{} ({addr}) failed at once: {e}", backend.name, backend.servers[server].name);
                self.connect_failed(ctx, Failure::Error)
            }
        }
    }

    /// The server socket reported something while connecting: connected, failed, or not yet.
    /// A failed connect shows as an error or hang-up event; getpeername then tells a real
    /// connection from a stale event.
    pub(crate) fn check_connect(&mut self, ctx: &mut Ctx<'_>, ev: &mio::event::Event) -> Progress {
        let Some(c) = self.up.conn.and_then(|k| ctx.conns.get(k)) else {
            return failed(Cause::Internal, Phase::Connect);
        };
        if c.connected {
            // Connected, the TLS handshake runs.
            return self.server_tls_handshake(ctx);
        }
        let stream = &c.stream;
        if ev.is_error() || ev.is_write_closed() || ev.is_read_closed() {
            match stream.take_error() {
                Ok(None) => {}
                Ok(Some(_)) | Err(_) => return self.connect_failed(ctx, Failure::Error),
            }
        }
        match stream.peer_addr() {
            Ok(_) => self.tcp_connected(ctx),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Progress::Pending,
            Err(_) => self.connect_failed(ctx, Failure::Error),
        }
    }

    /// The TCP connection is up: the PROXY header goes first, then the TLS handshake (if any).
    fn tcp_connected(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        if !self.send_proxy_header(ctx) {
            return self.connect_failed(ctx, Failure::Error);
        }
        let Some(c) = self.up.conn.and_then(|k| ctx.conns.get_mut(k)) else {
            return failed(Cause::Internal, Phase::Connect);
        };
        c.connected = true;
        if c.tls.is_some() {
            return self.server_tls_handshake(ctx);
        }
        self.established(ctx)
    }

    /// Drives the TLS handshake; its failure is a failed connect, as HAProxy counts an SSL
    /// error towards a server (retried, redispatched, `econ`, `SC--`).
    fn server_tls_handshake(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        let Some(c) = self.up.conn.and_then(|k| ctx.conns.get_mut(k)) else {
            return failed(Cause::Internal, Phase::Connect);
        };
        let Some(tls) = c.tls.as_mut() else { return self.established(ctx) };
        match tls.handshake(&c.stream, &mut c.ready) {
            Ok(true) => self.established(ctx),
            Ok(false) => Progress::Pending,
            Err(e) => {
                if let (Some(be), Some(server)) = (self.up.backend, self.up.target) {
                    let cfg = &ctx.shared.config.backends[be];
                    log::warn!("Connection to server {}/{} failed: {e}", cfg.name, cfg.servers[server].name);
                }
                self.connect_failed(ctx, Failure::Error)
            }
        }
    }

    fn established(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        self.up.stage = Stage::Established;
        self.up.stage_deadline = None;
        self.up.established_at = Some(ctx.now);
        if let Some(c) = self.up.conn.and_then(|k| ctx.conns.get(k)) {
            // Forwarding is latency-sensitive: small writes go out at once.
            let _ = c.stream.set_nodelay(true);
        }
        if let (Some(be), Some(server)) = (self.up.backend, self.up.target) {
            if ctx.shared.config.backends[be].stick.is_some() {
                ctx.shared.backend(be).stick_store(self.client_addr.ip(), server, ctx.now);
            }
            // `stick on|store-request src` of a TCP session (HTTP stores after the response).
            if self.up.hints.is_none() {
                if let Some(rules) = ctx.shared.config.http.backends.get(be).map(|h| &h.stick_rules).filter(|r| !r.is_empty()) {
                    crate::stick_runtime::src_rules::store(
                        ctx.shared,
                        &ctx.shared.config.backends[be],
                        rules,
                        server,
                        self.client_addr.ip(),
                    );
                }
            }
        }
        Progress::Connected
    }

    /// The server a `stick match|on src` rule of a TCP session's backend names (not on a
    /// redispatch, which must leave it).
    fn tcp_stuck_server(&self, ctx: &Ctx<'_>, be: usize) -> Option<usize> {
        if self.up.redispatch_from.is_some() {
            return None;
        }
        let rules = ctx.shared.config.http.backends.get(be).map(|h| &h.stick_rules).filter(|r| !r.is_empty())?;
        crate::stick_runtime::src_rules::match_server(ctx.shared, &ctx.shared.config.backends[be], rules, self.client_addr.ip())
    }

    /// An attempt failed: retry, redispatch, or give up, as HAProxy decides.
    fn connect_failed(&mut self, ctx: &mut Ctx<'_>, failure: Failure) -> Progress {
        // Closing the socket also removes it from the epoll set.
        self.close_conn(ctx);
        let (Some(be), Some(server)) = (self.up.backend, self.up.target) else {
            return failed(Cause::Internal, Phase::Connect);
        };
        let shared = ctx.shared;
        let cfg = &shared.config.backends[be];
        let cause = match failure {
            Failure::Error => Cause::ServerAbort,
            Failure::Timeout => Cause::ServerTimeout,
        };
        if self.up.retries >= cfg.retries {
            self.release_slot(ctx);
            let stats = &shared.stats.backends[be];
            Counters::add(&stats.counters.connect_errors, 1);
            Counters::add(&stats.servers[server].counters.connect_errors, 1);
            return failed(cause, Phase::Connect);
        }
        self.up.retries += 1;
        let (redispatch, immediate) = {
            let lb = shared.backend(be);
            let immediate = !self.up.persistent && lb.immediate_redispatch();
            let redispatch = cfg.redispatch && (!lb.server_running(server) || self.up.retries == cfg.retries || immediate);
            (redispatch, immediate)
        };
        // Only a refusal pauses, and not when the redispatch goes straight to another server.
        let pause = failure == Failure::Error && !(redispatch && immediate);
        if redispatch {
            self.release_slot(ctx);
            self.up.redispatch_from = Some(server);
        } else {
            let stats = &shared.stats.backends[be];
            Counters::add(&stats.counters.retries, 1);
            Counters::add(&stats.servers[server].counters.retries, 1);
        }
        if pause {
            self.up.stage = Stage::TurnAround;
            self.set_stage_deadline(ctx.now, cfg.timeout_connect.min(Duration::from_secs(1)).max(Duration::from_millis(1)));
            Progress::Pending
        } else {
            self.retry(ctx)
        }
    }

    /// The next attempt: a new assignment after a redispatch, else the same server.
    fn retry(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        if self.up.redispatch_from.is_some() {
            self.assign_again(ctx)
        } else {
            self.connect(ctx)
        }
    }

    pub(crate) fn set_stage_deadline(&mut self, now: Instant, timeout: Duration) {
        self.up.stage_deadline = after(now, timeout);
    }

    /// The queue, turn-around or connect deadline, if it has passed: what it leads to.
    pub(crate) fn upstream_deadline(&mut self, ctx: &mut Ctx<'_>) -> Option<Progress> {
        if self.up.stage_deadline.is_none_or(|d| d > ctx.now) {
            return None;
        }
        self.up.stage_deadline = None;
        match self.up.stage {
            Stage::Queued { .. } => Some(failed(Cause::ServerTimeout, Phase::Queue)),
            Stage::TurnAround => Some(self.retry(ctx)),
            Stage::Connecting => Some(self.connect_failed(ctx, Failure::Timeout)),
            Stage::Assigning | Stage::Established => None,
        }
    }
}
