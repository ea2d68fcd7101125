//! hakeeper's proxy worker: accepts on the listening sockets the supervisor passes, balances each
//! connection onto a server of the frontend's backend and forwards TCP both ways, with HAProxy's
//! timeouts, retries, queues, persistence and log format.
//!
//! `run` reads the config and the sockets, starts `nbthread` event loops (thread 0 is the
//! caller's and also reads the supervisor's channel), and returns when told to drain and done,
//! or when the supervisor is gone.

mod admin;
mod backend;
mod balance;
mod buffer;
mod control;
pub mod counters;
mod deadline;
mod deny;
mod error;
mod eventloop;
pub mod freq;
pub mod h2;
pub mod http;
mod listeners;
mod locking;
pub mod peers;
mod pipe;
mod ready;
mod runtime;
mod session;
mod shared;
mod silent_drop;
mod start;
pub mod stats;
mod status;
mod stick;
mod stick_runtime;
mod tcp_rules;
mod tcplog;
mod termination;
#[doc(hidden)]
pub mod testkit;
mod tls;
mod tokens;
mod transport;

pub use error::WorkerError;

use control::{worker_dispatch_parent, Control};
use counters::Stats;
use eventloop::EventLoop;
use hakeeper_common::config::Mode;
use listeners::Listener;
use mio::{Poll, Waker};
use shared::{Shared, ThreadLink};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokens::WAKER;

/// Most event-loop threads, whatever `nbthread` says.
const MAX_THREADS: usize = 64;

fn thread_count(nbthread: u32) -> usize {
    let n = if nbthread == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { nbthread as usize };
    n.clamp(1, MAX_THREADS)
}

fn set_nonblocking(fd: &OwnedFd) -> Result<(), WorkerError> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(|e| WorkerError::Poll(e.into()))?;
    fcntl(fd, FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK)).map_err(|e| WorkerError::Poll(e.into()))?;
    Ok(())
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

/// Serves the config the supervisor sends on `channel` until drained (Ok) or orphaned (Err).
pub fn run(channel: OwnedFd) -> Result<(), WorkerError> {
    run_observed(channel, |_| {})
}

/// As [`run`], handing the live counters to `observe` once the config is known (for the stats
/// page, and for tests).
pub fn run_observed(channel: OwnedFd, observe: impl FnOnce(Arc<Stats>)) -> Result<(), WorkerError> {
    let Some(startup) = start::receive(&channel)? else {
        log::info!("told to drain before serving: exiting");
        return Ok(());
    };
    set_nonblocking(&channel)?;
    let threads = thread_count(startup.config.global.nbthread);
    let mut polls = Vec::with_capacity(threads);
    let mut links = Vec::with_capacity(threads);
    for _ in 0..threads {
        let poll = Poll::new().map_err(WorkerError::Poll)?;
        let waker = Waker::new(poll.registry(), WAKER).map_err(WorkerError::Poll)?;
        links.push(ThreadLink { waker, inbox: Mutex::new(Vec::new()) });
        polls.push(poll);
    }
    for (i, f) in startup.config.frontends.iter().enumerate() {
        // A supervisor that sends no L7 settings gets plain TCP forwarding.
        if f.mode == Mode::Http && startup.config.http.frontends.len() <= i {
            log::warn!("frontend {}: mode http is forwarded as plain TCP by this worker", f.name);
        }
    }
    let tls = tls::Contexts::build(&startup.config.frontends, startup.config.stats.as_ref().and_then(|s| s.tls.as_ref()))?;
    let mut shared = Shared::new(startup.config, links, seed());
    shared.tls = tls;
    let shared = Arc::new(shared);
    observe(shared.stats.clone());
    let control = Control::new(channel, startup.reader);
    let mut grants = Vec::new();
    for msg in startup.early {
        worker_dispatch_parent(&shared, &control, msg, &mut grants, Instant::now());
    }
    let mut per_thread: Vec<Vec<Listener>> = (0..threads).map(|_| Vec::new()).collect();
    for (frontend, bind, fd) in startup.listeners {
        let addr = shared.config.frontends[frontend].binds[bind].to_string();
        let std_listener = std::net::TcpListener::from(fd);
        std_listener.set_nonblocking(true).map_err(|source| WorkerError::Listener { addr: addr.clone(), source })?;
        // Accepted sockets inherit TCP_NODELAY: one syscall per connection saved.
        if let Err(e) = nix::sys::socket::setsockopt(&std_listener, nix::sys::socket::sockopt::TcpNoDelay, &true) {
            log::warn!("cannot set TCP_NODELAY on {addr}: {e}");
        }
        for list in per_thread.iter_mut() {
            let copy = std_listener.try_clone().map_err(|source| WorkerError::Listener { addr: addr.clone(), source })?;
            list.push(Listener { frontend, bind, socket: mio::net::TcpListener::from_std(copy), registered: false });
        }
    }
    // The peers transports run, sharing the tables, until this worker drains or ends (dropping
    // a handle stops its thread).
    *locking::lock(&shared.peers) = stick_runtime::peer_tables::start_peers(&shared, startup.peers_listeners);
    // The stats page is served from this process until it ends.
    let _stats_page = match startup.stats_listener {
        Some(fd) => runtime::start_page(&shared, fd).unwrap_or_else(|e| {
            log::error!("{e}: the stats page is not served");
            None
        }),
        None => None,
    };

    let mut handles = Vec::new();
    let mut polls = polls.into_iter();
    let mut lists = per_thread.into_iter();
    let (Some(poll0), Some(list0)) = (polls.next(), lists.next()) else {
        return Err(WorkerError::Poll(std::io::Error::other("no event loop")));
    };
    for (i, (poll, list)) in polls.zip(lists).enumerate() {
        let index = i + 1;
        let for_thread = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || EventLoop::new(index, poll, for_thread, list, None).run(None));
        match spawned {
            Ok(h) => handles.push((index, h)),
            Err(source) => {
                shared.stop();
                let _ = join(handles);
                return Err(WorkerError::Spawn { thread: index, source });
            }
        }
    }
    let result = EventLoop::new(0, poll0, shared.clone(), list0, Some(control)).run(Some(startup.generation));
    if result.is_err() {
        shared.stop();
    }
    let others = join(handles);
    result.and(others)
}

/// Waits for the other event loops; the first failure wins.
fn join(handles: Vec<(usize, std::thread::JoinHandle<Result<(), WorkerError>>)>) -> Result<(), WorkerError> {
    let mut outcome = Ok(());
    for (index, h) in handles {
        let r = match h.join() {
            Ok(r) => r,
            Err(_) => Err(WorkerError::ThreadPanicked(index)),
        };
        if outcome.is_ok() {
            outcome = r;
        }
    }
    outcome
}
