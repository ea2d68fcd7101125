//! One event-loop thread: its own mio `Poll`, its copies of the listeners, a slab of sessions and
//! their deadlines, and its server connections (see [`crate::tokens`] for the token layout).
//!
//! Each turn: check stop/drain, resume paused listeners, poll (sleeping until the next deadline),
//! handle socket events, take queue grants from other threads, finish accept batches, then fire
//! due deadlines.

mod accept;
mod close;

use crate::backend::Grant;
use crate::buffer::Pools;
use crate::control::{worker_dispatch_parent, ChannelState, Control};
use crate::deadline::{Deadlines, Wake};
use crate::error::WorkerError;
use crate::listeners::{Listener, Listeners};
use crate::session::upstream::conns::{ConnEvent, ServerConns};
use crate::session::{Ctx, Session, Side, Step};
use crate::shared::{lock, Shared};
use crate::termination::{Cause, Termination};
use crate::tokens::{self, Target, CONTROL};
use hakeeper_common::ipc::{FromWorker, ToWorker};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll};
use slab::Slab;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct EventLoop {
    index: usize,
    poll: Poll,
    shared: Arc<Shared>,
    sessions: Slab<Session>,
    deadlines: Deadlines,
    pools: Pools,
    conns: ServerConns,
    listeners: Listeners,
    control: Option<Control>,
    /// Slots freed by handlers, not yet handed out.
    grants: Vec<Grant>,
    /// Slots for this thread's own waiting sessions.
    local: Vec<Grant>,
    /// HTTP/2 sessions whose writes to the client wait for the end of this batch of events.
    deferred: Vec<usize>,
    now: Instant,
    draining: bool,
}

impl EventLoop {
    pub fn new(index: usize, poll: Poll, shared: Arc<Shared>, listeners: Vec<Listener>, control: Option<Control>) -> Self {
        let conns = ServerConns::new(&shared.config.backends, &shared.config.global);
        let mut this = EventLoop {
            index,
            poll,
            shared,
            sessions: Slab::new(),
            deadlines: Deadlines::default(),
            pools: Pools::default(),
            conns,
            listeners: Listeners::new(listeners),
            control,
            grants: Vec::new(),
            local: Vec::new(),
            deferred: Vec::new(),
            now: Instant::now(),
            draining: false,
        };
        for i in 0..this.listeners.list.len() {
            this.listeners.register(i, this.poll.registry());
        }
        this
    }

    /// Serves until drained or stopped. Thread 0 first tells the supervisor it is `Ready`.
    pub fn run(mut self, generation: Option<u64>) -> Result<(), WorkerError> {
        let result = self.serve(generation);
        self.retire();
        self.conns.clear(&self.shared.stats);
        result
    }

    /// Returns the queue slots granted to sessions of this thread that no longer exist.
    fn retire(&mut self) {
        let mut late = self.shared.thread_exited(self.index);
        late.append(&mut self.local);
        for g in late {
            self.shared.backend(g.backend).release(g.server, &mut self.grants);
        }
        self.flush_grants();
        // Grants `flush_grants` routed back to this thread have no session either.
        for g in std::mem::take(&mut self.local) {
            self.shared.backend(g.backend).release(g.server, &mut self.grants);
            self.flush_grants();
        }
    }

    fn serve(&mut self, generation: Option<u64>) -> Result<(), WorkerError> {
        // The loop's time is read by counters and stick tables only while the loop runs.
        struct LoopClock;
        impl Drop for LoopClock {
            fn drop(&mut self) {
                crate::freq::set_loop_now(None);
            }
        }
        let _clock = LoopClock;
        let mut events = Events::with_capacity(1024);
        if let Some(control) = &self.control {
            let fd = control.fd.as_raw_fd();
            self.poll.registry().register(&mut SourceFd(&fd), CONTROL, Interest::READABLE).map_err(WorkerError::Poll)?;
            if let Some(generation) = generation {
                control.send(&FromWorker::Ready { generation })?;
                log::info!("worker generation {generation} serving");
            }
            // Messages that arrived with the listeners are already buffered.
            self.control_readable()?;
        }
        loop {
            self.now = Instant::now();
            crate::freq::set_loop_now(Some(self.now));
            if self.shared.stopping() {
                self.kill_all();
                return if self.control.is_some() { Err(WorkerError::SupervisorGone) } else { Ok(()) };
            }
            if let Some(deadline) = self.shared.draining() {
                if !self.draining {
                    self.draining = true;
                    self.listeners.close_all(self.poll.registry());
                    self.drain_h2();
                }
                if self.sessions.is_empty() {
                    return Ok(());
                }
                if self.now >= deadline {
                    log::warn!("drain grace over: closing {} remaining sessions", self.sessions.len());
                    self.kill_all();
                    return Ok(());
                }
            } else {
                self.resume_listeners();
            }
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(WorkerError::Poll(e));
            }
            self.now = Instant::now();
            crate::freq::set_loop_now(Some(self.now));
            for ev in events.iter() {
                match tokens::classify(ev.token()) {
                    Target::Control => self.control_readable()?,
                    Target::Waker => {}
                    Target::Client(key) => self.session_event(key, Side::Client, ev),
                    Target::Conn(key) => match self.conns.on_event(key, ev, &self.shared.stats) {
                        ConnEvent::Session(session) => self.session_event(session, Side::Server, ev),
                        ConnEvent::Closed | ConnEvent::Nothing => {}
                    },
                    Target::Listener(i) => self.accept(i),
                }
            }
            self.flush_deferred();
            if let Some(control) = &self.control {
                // Admin actions queued by the stats page.
                crate::runtime::turn(&self.shared, &mut self.grants, self.now, |msg| control.report(msg));
                self.flush_grants();
            }
            self.take_inbox();
            self.process_grants();
            self.accept_backlog();
            self.run_deadlines();
            let stopped = self.conns.maintain(&self.shared.config.backends, &self.shared.stats, self.now);
            if stopped && self.control.is_some() {
                // Thread 0 applies health and admin changes: the other threads sweep too.
                self.shared.wake_all();
            }
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        if !self.local.is_empty() || !self.listeners.backlog.is_empty() {
            return Some(Duration::ZERO);
        }
        let until = |t: Instant| t.saturating_duration_since(self.now);
        [
            self.deadlines.timeout(self.now),
            self.shared.draining().map(until),
            self.listeners.resource_pause.map(until),
            self.conns.next_purge().map(until),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn control_readable(&mut self) -> Result<(), WorkerError> {
        let Some(control) = self.control.as_mut() else { return Ok(()) };
        let (msgs, state) = control.read()?;
        for msg in msgs {
            if let ToWorker::Ping(n) = msg {
                control.send(&FromWorker::Pong(n))?;
                continue;
            }
            if matches!(msg, ToWorker::Drain { .. }) && self.shared.draining().is_none() {
                // A reload: the next worker carries on with this one's stick tables.
                let tables = crate::control::stick_dump(&self.shared, self.now);
                if !tables.is_empty() {
                    control.send(&FromWorker::StickTables(tables))?;
                }
                for part in crate::stick_runtime::handover::dump(&self.shared) {
                    control.send(&FromWorker::StickData(part))?;
                }
            }
            worker_dispatch_parent(&self.shared, control, msg, &mut self.grants, self.now);
        }
        self.flush_grants();
        if state == ChannelState::Closed {
            log::error!("the supervisor closed the channel: stopping");
            self.shared.stop();
        }
        Ok(())
    }

    fn ctx(&mut self, key: usize) -> (Option<&mut Session>, Ctx<'_>) {
        let session = self.sessions.get_mut(key);
        let ctx = Ctx {
            shared: &self.shared,
            registry: self.poll.registry(),
            pools: &mut self.pools,
            conns: &mut self.conns,
            grants: &mut self.grants,
            deferred: &mut self.deferred,
            now: self.now,
            thread: self.index,
            key,
        };
        (session, ctx)
    }

    fn session_event(&mut self, key: usize, side: Side, ev: &mio::event::Event) {
        let (Some(session), mut ctx) = self.ctx(key) else { return };
        let step = session.on_event(&mut ctx, side, ev);
        self.finish(key, step);
    }

    /// After a handler: reschedule the session's deadline, or close it.
    fn finish(&mut self, key: usize, step: Step) {
        match step {
            Step::Continue => {
                if let Some(s) = self.sessions.get_mut(key) {
                    s.update_armed(self.now);
                    let next = s.next_deadline(&self.shared);
                    s.armed.schedule(next, Wake { key, session: s.id }, &mut self.deadlines);
                }
            }
            Step::Close(term) => self.close(key, term),
        }
        self.flush_grants();
    }

    /// Writes what the HTTP/2 sessions deferred while their servers' responses came in: one
    /// write per client connection for all the streams answered in this batch of events (as
    /// HAProxy's mux_h2 sends once per wakeup), not one per response.
    fn flush_deferred(&mut self) {
        for key in std::mem::take(&mut self.deferred) {
            let (Some(s), mut ctx) = self.ctx(key) else { continue };
            if let Some(step) = s.h2_flush(&mut ctx) {
                self.finish(key, step);
            }
        }
    }

    fn flush_grants(&mut self) {
        if !self.grants.is_empty() {
            self.shared.deliver(self.index, &mut self.grants, &mut self.local);
        }
    }

    fn take_inbox(&mut self) {
        let mut inbox = lock(&self.shared.threads[self.index].inbox);
        self.local.append(&mut inbox);
    }

    /// Hands granted slots to the waiting sessions; a slot whose session is gone goes back.
    fn process_grants(&mut self) {
        while !self.local.is_empty() {
            let batch = std::mem::take(&mut self.local);
            for g in batch {
                let key = g.pending.key;
                let (session, mut ctx) = self.ctx(key);
                match session {
                    Some(s) if s.awaits_grant(g.pending.session) => {
                        let step = s.on_grant(&mut ctx, g.pending.session, g.server);
                        self.finish(key, step);
                    }
                    _ => {
                        self.shared.backend(g.backend).release(g.server, &mut self.grants);
                        self.flush_grants();
                    }
                }
            }
        }
    }

    fn run_deadlines(&mut self) {
        while let Some((at, wake)) = self.deadlines.pop_due(self.now) {
            let (Some(s), mut ctx) = self.ctx(wake.key) else { continue };
            if s.id != wake.session {
                continue;
            }
            s.armed.fired(at);
            let step = s.on_timeout(&mut ctx);
            self.finish(wake.key, step);
        }
    }

    /// The process drains: HTTP/2 connections send their GOAWAY now (an HTTP/1.1 connection
    /// closes after its current response by itself).
    fn drain_h2(&mut self) {
        let keys: Vec<usize> =
            self.sessions.iter().filter(|(_, s)| matches!(s.proto, crate::session::Proto::Http2(_))).map(|(k, _)| k).collect();
        for key in keys {
            let (Some(s), mut ctx) = self.ctx(key) else { continue };
            let step = s.h2_drive(&mut ctx);
            self.finish(key, step);
        }
    }

    /// Ends every session (stop, or the drain grace is over).
    fn kill_all(&mut self) {
        let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
        for key in keys {
            let phase = self.sessions[key].phase();
            self.close(key, Termination::new(Cause::Killed, phase));
        }
        self.flush_grants();
    }
}
