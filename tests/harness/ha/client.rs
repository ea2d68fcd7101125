//! The lab's client: a steady stream of new connections to the VIP from the client namespace,
//! one HTTP request each. It is open-loop: a ticker starts a request every [`PERIOD`] whatever
//! became of the earlier ones, so requests hanging on a host that lost the VIP do not stop the
//! sampling. Every attempt is recorded with its start and end time; [`analyse`] turns the record
//! into what a user saw.

use super::backends::enter_netns;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A new connection this often: 500 a second.
pub const PERIOD: Duration = Duration::from_millis(2);
/// Requests in flight at most (hanging ones included); the ticker waits beyond that.
const MAX_IN_FLIGHT: usize = 1000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const IO_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A complete `200` answer from this backend.
    Ok(String),
    /// The connection was refused (RST to the SYN).
    Refused,
    /// No answer to the SYN within the connect timeout (1 s).
    Timeout,
    /// Anything else: reset or closed mid-request, a bad answer, no route.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub start: Instant,
    pub end: Instant,
    pub outcome: Outcome,
}

/// State shared by the ticker and the request threads.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    paused: AtomicBool,
    in_flight: AtomicUsize,
    attempts: Mutex<Vec<Attempt>>,
}

pub struct Client {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
}

impl Client {
    /// Starts the stream from namespace `ns` to `target`.
    pub fn start(ns: &str, target: SocketAddr) -> Client {
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let (ns_owned, state) = (ns.to_string(), shared.clone());
        // Threads inherit the namespace of the thread that spawns them: the ticker's.
        let ticker = std::thread::spawn(move || {
            if let Err(e) = enter_netns(&ns_owned) {
                let _ = ready_tx.send(Err(e.to_string()));
                return;
            }
            let _ = ready_tx.send(Ok(()));
            tick(&state, target);
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("client cannot enter {ns}: {e}"),
            Err(e) => panic!("client did not start: {e}"),
        }
        Client { shared, ticker: Some(ticker) }
    }

    /// A copy of every attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared.attempts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops starting requests and waits (bounded) for those in flight, until [`Client::resume`].
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
        let end = Instant::now() + IO_TIMEOUT + CONNECT_TIMEOUT;
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        // The proxy closes its side of the last connections a moment after the client does.
        std::thread::sleep(Duration::from_millis(200));
    }

    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
    }

    /// Waits (bounded) until `n` requests that started after `since` succeeded, and every
    /// backend in `names` answered at least once.
    pub fn wait_serving(&self, since: Instant, n: usize, names: &[&str], timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            let report = analyse(&self.attempts(), since, Instant::now());
            if report.ok >= n && names.iter().all(|b| report.by_backend.contains_key(*b)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stops the stream and waits (bounded by the request timeouts) for the requests in flight.
    pub fn stop(mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        let end = Instant::now() + IO_TIMEOUT + CONNECT_TIMEOUT;
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Starts one request every [`PERIOD`] on a thread of its own, on a fixed schedule.
fn tick(state: &Arc<Shared>, target: SocketAddr) {
    let mut next = Instant::now();
    while !state.stop.load(Ordering::SeqCst) {
        next += PERIOD;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        if state.paused.load(Ordering::SeqCst) || state.in_flight.load(Ordering::SeqCst) >= MAX_IN_FLIGHT {
            continue;
        }
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        let shared = state.clone();
        let spawned = std::thread::Builder::new().stack_size(128 * 1024).spawn(move || {
            let start = Instant::now();
            let outcome = request(target);
            let attempt = Attempt { start, end: Instant::now(), outcome };
            shared.attempts.lock().unwrap_or_else(|p| p.into_inner()).push(attempt);
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            state.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One connection, one `GET /`, the whole answer.
fn request(target: SocketAddr) -> Outcome {
    let mut stream = match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => return Outcome::Timeout,
        Err(e) => return Outcome::Failed(format!("connect: {e}")),
    };
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    if let Err(e) = stream.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\nUser-Agent: ha-client\r\n\r\n") {
        return Outcome::Failed(format!("send: {e}"));
    }
    let mut answer = Vec::new();
    if let Err(e) = stream.read_to_end(&mut answer) {
        return Outcome::Failed(format!("receive: {e}"));
    }
    let text = String::from_utf8_lossy(&answer);
    match (text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"), text.split_once("\r\n\r\n")) {
        (true, Some((_, body))) if !body.trim().is_empty() => Outcome::Ok(body.trim().to_string()),
        _ if answer.is_empty() => Outcome::Failed("closed without an answer".into()),
        _ => Outcome::Failed(format!("bad answer {:?}", text.chars().take(60).collect::<String>())),
    }
}

/// What the client saw between `from` and `to`.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub attempts: usize,
    pub ok: usize,
    pub refused: usize,
    pub timeouts: usize,
    pub failed: usize,
    /// Longest stretch of the window in which no request completed successfully.
    pub outage: Duration,
    /// Where that stretch began, from the start of the window.
    pub outage_at: Duration,
    /// Successful answers by backend name.
    pub by_backend: BTreeMap<String, usize>,
    /// A few failures, for messages.
    pub examples: Vec<String>,
}

impl Report {
    /// Refused + timed out + failed.
    pub fn failures(&self) -> usize {
        self.refused + self.timeouts + self.failed
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "outage {} ms (from +{} ms); {} requests: {} ok {:?}, {} refused, {} timed out, {} failed",
            self.outage.as_millis(),
            self.outage_at.as_millis(),
            self.attempts,
            self.ok,
            self.by_backend,
            self.refused,
            self.timeouts,
            self.failed
        )?;
        if !self.examples.is_empty() {
            write!(f, " (e.g. {})", self.examples.join("; "))?;
        }
        Ok(())
    }
}

/// Counts the attempts that started in `from..=to`, and finds the longest stretch of that window
/// without a successful completion (the stretch may run to `to` if the service never came back).
pub fn analyse(attempts: &[Attempt], from: Instant, to: Instant) -> Report {
    let mut report = Report::default();
    let mut ends = Vec::new();
    for a in attempts.iter().filter(|a| a.start >= from && a.start <= to) {
        report.attempts += 1;
        match &a.outcome {
            Outcome::Ok(name) => {
                report.ok += 1;
                *report.by_backend.entry(name.clone()).or_default() += 1;
            }
            Outcome::Refused => report.refused += 1,
            Outcome::Timeout => report.timeouts += 1,
            Outcome::Failed(why) => {
                report.failed += 1;
                if report.examples.len() < 3 && !report.examples.contains(why) {
                    report.examples.push(why.clone());
                }
            }
        }
    }
    if report.refused > 0 {
        report.examples.push("connection refused".into());
    }
    ends.extend(attempts.iter().filter(|a| matches!(a.outcome, Outcome::Ok(_)) && a.end >= from && a.end <= to).map(|a| a.end));
    ends.sort();
    let mut previous = from;
    for end in ends.into_iter().chain(std::iter::once(to)) {
        let gap = end.saturating_duration_since(previous);
        if gap > report.outage {
            report.outage = gap;
            report.outage_at = previous.duration_since(from);
        }
        previous = end;
    }
    report
}
