//! The lab's client: threads in the client namespace, each opening a new connection to the VIP,
//! sending one HTTP request and reading the whole answer, over and over. Every attempt is
//! recorded with its start and end time; [`analyse`] turns the record into what a user saw.

use super::backends::enter_netns;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A SYN that gets no answer within this is given up and a new connection tried: the lab's
/// round trip is microseconds, and a short timeout keeps the outage measurement fine-grained.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// Between two requests of one thread: a steady stream, not a flood.
const PAUSE: Duration = Duration::from_millis(4);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A complete `200` answer from this backend.
    Ok(String),
    /// The connection was refused (RST to the SYN).
    Refused,
    /// No answer to the SYN within [`CONNECT_TIMEOUT`].
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

pub struct Client {
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Client {
    /// Starts `threads` client threads in namespace `ns`, all requesting from `target`.
    pub fn start(ns: &str, target: SocketAddr, threads: usize) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut handles = Vec::new();
        for _ in 0..threads {
            let (ns, stop, paused, attempts, ready) = (ns.to_string(), stop.clone(), paused.clone(), attempts.clone(), ready_tx.clone());
            handles.push(std::thread::spawn(move || {
                if let Err(e) = enter_netns(&ns) {
                    let _ = ready.send(Err(e.to_string()));
                    return;
                }
                let _ = ready.send(Ok(()));
                while !stop.load(Ordering::SeqCst) {
                    if paused.load(Ordering::SeqCst) {
                        std::thread::sleep(PAUSE);
                        continue;
                    }
                    let start = Instant::now();
                    let outcome = request(target);
                    let attempt = Attempt { start, end: Instant::now(), outcome };
                    attempts.lock().unwrap_or_else(|p| p.into_inner()).push(attempt);
                    std::thread::sleep(PAUSE);
                }
            }));
        }
        let client = Client { stop, paused, attempts, threads: handles };
        for _ in 0..threads {
            match ready_rx.recv_timeout(Duration::from_secs(5)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("client thread cannot enter {ns}: {e}"),
                Err(e) => panic!("client thread did not start: {e}"),
            }
        }
        client
    }

    /// A copy of every attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops starting new requests (the ones in flight finish) until [`Client::resume`].
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        // Long enough for any request in flight to end (they take a millisecond or so).
        std::thread::sleep(Duration::from_millis(300));
    }

    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
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

    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
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

