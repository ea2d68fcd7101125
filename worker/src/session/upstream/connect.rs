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

use crate::backend::Assignment;
use crate::backend::{HttpChoice, Pending};
use crate::counters::Counters;
use crate::session::{Ctx, Session, Stage, Step};
use crate::termination::{Cause, Phase, Termination};
use std::io;
use std::time::Duration;

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

impl Session {
    /// Starts a new session: no backend means nothing to connect to.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if crate::session::http::is_http_frontend(ctx.shared, self.frontend) {
            return self.http_start(ctx);
        }
        if self.backend.is_none() {
            return Step::Close(Termination::new(Cause::ServerAbort, Phase::Connect));
        }
        self.assign(ctx)
    }

    pub(crate) fn assign(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(be) = self.backend else {
            return Step::Close(Termination::new(Cause::Internal, Phase::Connect));
        };
        self.stage = Stage::Assigning;
        let waiter = Pending { thread: ctx.thread, key: ctx.key, session: self.id, since: ctx.now };
        let assignment = match self.http.as_deref() {
            Some(h) => {
                let choice = match (h.choice, self.http_last_server(ctx, be)) {
                    (HttpChoice::Balance, Some(last)) => HttpChoice::LastServer(last),
                    (choice, _) => choice,
                };
                ctx.shared.backend(be).assign_http(choice, self.client_addr.ip(), self.redispatch_from, waiter, ctx.now)
            }
            None => ctx.shared.backend(be).assign(self.client_addr.ip(), self.redispatch_from, waiter, ctx.now),
        };
        match assignment {
            Assignment::Server { server, persistent } => {
                self.persistent = persistent;
                self.got_slot(ctx, server)
            }
            Assignment::Queued { server, ahead } => {
                self.stage = Stage::Queued { server };
                match server {
                    // Waiting for one server (persistence): the log names it.
                    Some(s) => {
                        self.target = Some(s);
                        self.srv_queue_pos = ahead;
                    }
                    None => self.be_queue_pos = ahead,
                }
                self.set_stage_deadline(ctx.now, ctx.shared.config.backends[be].timeout_queue);
                Step::Continue
            }
            Assignment::NoServer => {
                if self.redispatch_from.is_some() {
                    Counters::add(&ctx.shared.stats.backends[be].counters.connect_errors, 1);
                }
                Step::Close(Termination::new(Cause::ServerAbort, Phase::Connect))
            }
        }
    }

    /// A waiting session got a slot on `server` from the queue.
    pub fn on_grant(&mut self, ctx: &mut Ctx<'_>, server: usize) -> Step {
        if self.http.is_some() {
            return self.http_on_grant(ctx, server);
        }
        self.got_slot(ctx, server)
    }

    pub(crate) fn got_slot(&mut self, ctx: &mut Ctx<'_>, server: usize) -> Step {
        let Some(be) = self.backend else {
            return Step::Close(Termination::new(Cause::Internal, Phase::Connect));
        };
        let shared = ctx.shared;
        let stats = &shared.stats.backends[be];
        if let Some(prev) = self.redispatch_from.take() {
            if prev != server {
                self.redispatched = true;
                Counters::add(&stats.servers[prev].counters.redispatches, 1);
                Counters::add(&stats.counters.redispatches, 1);
            } else {
                Counters::add(&stats.servers[prev].counters.retries, 1);
                Counters::add(&stats.counters.retries, 1);
            }
        }
        self.target = Some(server);
        self.holds_slot = true;
        stats.servers[server].counters.session_opened();
        self.queue_left.get_or_insert(ctx.now);
        self.connect(ctx)
    }

    /// Frees the slot held on the target server (its counters follow).
    pub fn release_slot(&mut self, ctx: &mut Ctx<'_>) {
        if let (true, Some(be), Some(server)) = (self.holds_slot, self.backend, self.target) {
            ctx.shared.backend(be).release(server, ctx.grants);
            ctx.shared.stats.backends[be].servers[server].counters.session_closed();
        }
        self.holds_slot = false;
    }

    fn connect(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let (Some(be), Some(server)) = (self.backend, self.target) else {
            return Step::Close(Termination::new(Cause::Internal, Phase::Connect));
        };
        let shared = ctx.shared;
        let backend = &shared.config.backends[be];
        let addr = backend.servers[server].addr;
        if self.http.is_some() && self.http_take_idle(ctx, be, server) {
            return Step::Continue;
        }
        self.stage = Stage::Connecting;
        self.set_stage_deadline(ctx.now, backend.timeout_connect);
        match ctx.conns.connect(ctx.registry, addr, be, server, ctx.key) {
            Ok(key) => {
                self.conn = Some(key);
                Step::Continue
            }
            Err(e) if is_resource_shortage(&e) => {
                log::error!("cannot connect to {}/{} ({addr}): {e}", backend.name, backend.servers[server].name);
                self.release_slot(ctx);
                Step::Close(Termination::new(Cause::Resource, Phase::Connect))
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
    pub(crate) fn check_connect(&mut self, ctx: &mut Ctx<'_>, ev: &mio::event::Event) -> Step {
        let Some(stream) = self.conn.and_then(|k| ctx.conns.get(k)).map(|c| &c.stream) else {
            return Step::Close(Termination::new(Cause::Internal, Phase::Connect));
        };
        if ev.is_error() || ev.is_write_closed() || ev.is_read_closed() {
            match stream.take_error() {
                Ok(None) => {}
                Ok(Some(_)) | Err(_) => return self.connect_failed(ctx, Failure::Error),
            }
        }
        match stream.peer_addr() {
            Ok(_) => self.established(ctx),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Step::Continue,
            Err(_) => self.connect_failed(ctx, Failure::Error),
        }
    }

    fn established(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.stage = Stage::Established;
        self.stage_deadline = None;
        self.established_at = Some(ctx.now);
        self.server_last = ctx.now;
        if let Some(c) = self.conn.and_then(|k| ctx.conns.get(k)) {
            // Forwarding is latency-sensitive: small writes go out at once.
            let _ = c.stream.set_nodelay(true);
        }
        if let (Some(be), Some(server)) = (self.backend, self.target) {
            if ctx.shared.config.backends[be].stick.is_some() {
                ctx.shared.backend(be).stick_store(self.client_addr.ip(), server, ctx.now);
            }
        }
        if self.http.is_some() {
            // The HTTP session's driver runs after this and sends the request.
            return Step::Continue;
        }
        self.forward(ctx)
    }

    /// An attempt failed: retry, redispatch, or give up, as HAProxy decides.
    pub(crate) fn connect_failed(&mut self, ctx: &mut Ctx<'_>, failure: Failure) -> Step {
        // Closing the socket also removes it from the epoll set.
        self.close_conn(ctx);
        let (Some(be), Some(server)) = (self.backend, self.target) else {
            return Step::Close(Termination::new(Cause::Internal, Phase::Connect));
        };
        let shared = ctx.shared;
        let cfg = &shared.config.backends[be];
        let cause = match failure {
            Failure::Error => Cause::ServerAbort,
            Failure::Timeout => Cause::ServerTimeout,
        };
        if self.retries >= cfg.retries {
            self.release_slot(ctx);
            let stats = &shared.stats.backends[be];
            Counters::add(&stats.counters.connect_errors, 1);
            Counters::add(&stats.servers[server].counters.connect_errors, 1);
            return Step::Close(Termination::new(cause, Phase::Connect));
        }
        self.retries += 1;
        let (redispatch, immediate) = {
            let lb = shared.backend(be);
            let immediate = !self.persistent && lb.immediate_redispatch();
            let redispatch = cfg.redispatch && (!lb.server_running(server) || self.retries == cfg.retries || immediate);
            (redispatch, immediate)
        };
        // Only a refusal pauses, and not when the redispatch goes straight to another server.
        let pause = failure == Failure::Error && !(redispatch && immediate);
        if redispatch {
            self.release_slot(ctx);
            self.redispatch_from = Some(server);
        } else {
            let stats = &shared.stats.backends[be];
            Counters::add(&stats.counters.retries, 1);
            Counters::add(&stats.servers[server].counters.retries, 1);
        }
        if pause {
            self.stage = Stage::TurnAround;
            self.set_stage_deadline(ctx.now, cfg.timeout_connect.min(Duration::from_secs(1)).max(Duration::from_millis(1)));
            Step::Continue
        } else {
            self.retry(ctx)
        }
    }

    /// The next attempt: a new assignment after a redispatch, else the same server.
    pub(crate) fn retry(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.redispatch_from.is_some() {
            self.assign(ctx)
        } else {
            self.connect(ctx)
        }
    }
}
