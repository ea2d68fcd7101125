//! The supervisor's end of `hakeeper ctl`: a Unix socket (mode 0600, owned by the supervisor's
//! user, root in production) registered in the supervisor's mio loop. Each connection carries
//! one command line; the parsed [`CtlRequest`] is handed to the caller, which forwards it to the
//! worker as `ToWorker::Ctl { id, .. }` and gives the worker's `CtlReply` back to
//! [`CtlServer::answer`]. The reply is written as one line of JSON and the connection closed.
//!
//! The supervisor parses only this local, root-only command line, never network input.

use hakeeper_common::ctl::{CtlReply, CtlRequest, MAX_LINE};
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The listening socket's token (the signal pipe has `usize::MAX`; children use their pid).
pub const CTL_LISTENER: Token = Token(usize::MAX - 1);
/// Client tokens start here, far above any pid.
const CLIENT_BASE: usize = usize::MAX / 2;
/// Longest a client may take to send its line, and the worker to answer it.
pub const CTL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum CtlServerError {
    #[error("ctl socket {path}: cannot create its directory: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("ctl socket {0}: another process is listening on it")]
    InUse(PathBuf),
    #[error("ctl socket {0}: exists and is not a socket; not removing it")]
    NotSocket(PathBuf),
    #[error("ctl socket {path}: {source}")]
    Bind { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, PartialEq, Eq)]
enum Stage {
    /// Reading the command line.
    Reading,
    /// The request went to the worker; waiting for `answer`.
    Waiting,
    /// Writing the reply.
    Writing,
}

struct Client {
    stream: UnixStream,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    stage: Stage,
    deadline: Instant,
}

pub struct CtlServer {
    path: PathBuf,
    listener: UnixListener,
    clients: HashMap<u64, Client>,
    next_id: u64,
}

fn client_token(id: u64) -> Token {
    Token(CLIENT_BASE.wrapping_add(id as usize))
}

/// Removes a socket left by a previous run; refuses if something still listens on it.
fn remove_stale(path: &Path) -> Result<(), CtlServerError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    if !meta.file_type().is_socket() {
        return Err(CtlServerError::NotSocket(path.to_path_buf()));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(CtlServerError::InUse(path.to_path_buf()));
    }
    std::fs::remove_file(path).map_err(|source| CtlServerError::Bind { path: path.to_path_buf(), source })
}

impl CtlServer {
    /// Creates the socket at `path` (and its directory, mode 0755, if missing), mode 0600.
    pub fn bind(path: &Path) -> Result<CtlServer, CtlServerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|source| CtlServerError::Dir { path: path.to_path_buf(), source })?;
        }
        remove_stale(path)?;
        // No moment where others could connect: the socket is born 0600 (the supervisor is
        // single-threaded, so changing the umask affects nothing else).
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let bound = UnixListener::bind(path);
        nix::sys::stat::umask(old);
        let listener = bound.map_err(|source| CtlServerError::Bind { path: path.to_path_buf(), source })?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| CtlServerError::Bind { path: path.to_path_buf(), source })?;
        Ok(CtlServer { path: path.to_path_buf(), listener, clients: HashMap::new(), next_id: 1 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn register(&mut self, registry: &Registry) -> std::io::Result<()> {
        registry.register(&mut self.listener, CTL_LISTENER, Interest::READABLE)
    }

    /// Whether `token` is the listener's or one of its clients'.
    pub fn owns(&self, token: Token) -> bool {
        token == CTL_LISTENER || token.0 >= CLIENT_BASE && token.0 < usize::MAX - 1
    }

    /// Handles readiness on one of our tokens. Returns the requests read completely, to be
    /// forwarded to the worker; malformed ones were answered with an error already.
    pub fn ready(&mut self, registry: &Registry, token: Token, now: Instant) -> Vec<(u64, CtlRequest)> {
        if token == CTL_LISTENER {
            self.accept(registry, now);
            return Vec::new();
        }
        let id = token.0.wrapping_sub(CLIENT_BASE) as u64;
        let Some(client) = self.clients.get(&id) else { return Vec::new() };
        match client.stage {
            Stage::Reading => self.read(registry, id).into_iter().collect(),
            Stage::Writing => {
                self.flush(registry, id);
                Vec::new()
            }
            Stage::Waiting => Vec::new(),
        }
    }

    fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let id = self.next_id;
                    self.next_id += 1;
                    if let Err(e) = registry.register(&mut stream, client_token(id), Interest::READABLE) {
                        log::warn!("ctl: cannot watch a client: {e}");
                        continue;
                    }
                    let client = Client {
                        stream,
                        input: Vec::new(),
                        output: Vec::new(),
                        written: 0,
                        stage: Stage::Reading,
                        deadline: now + CTL_TIMEOUT,
                    };
                    self.clients.insert(id, client);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("ctl: accept: {e}");
                    return;
                }
            }
        }
    }

    /// Reads what is available; a complete line (or the text before EOF) is parsed.
    fn read(&mut self, registry: &Registry, id: u64) -> Option<(u64, CtlRequest)> {
        let client = self.clients.get_mut(&id)?;
        let mut buf = [0u8; 1024];
        let mut eof = false;
        loop {
            match client.stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    client.input.extend_from_slice(&buf[..n]);
                    if client.input.contains(&b'\n') || client.input.len() > MAX_LINE {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(registry, id);
                    return None;
                }
            }
        }
        let line_end = client.input.iter().position(|&b| b == b'\n');
        let line = match line_end {
            Some(end) if end <= MAX_LINE => client.input[..end].to_vec(),
            Some(_) => return self.refuse(registry, id, format!("command longer than {MAX_LINE} bytes")),
            None if client.input.len() > MAX_LINE => return self.refuse(registry, id, format!("command longer than {MAX_LINE} bytes")),
            None if eof && !client.input.is_empty() => std::mem::take(&mut client.input),
            None if eof => {
                self.close(registry, id);
                return None;
            }
            None => return None,
        };
        let Ok(text) = String::from_utf8(line) else { return self.refuse(registry, id, "command is not UTF-8".into()) };
        match CtlRequest::parse(text.trim_end_matches('\r')) {
            Ok(request) => {
                // Logged once, with its outcome, where it is carried out (the worker's admin
                // log, the supervisor's switchover).
                log::debug!("ctl: {request}");
                client.stage = Stage::Waiting;
                Some((id, request))
            }
            Err(e) => self.refuse(registry, id, e.to_string()),
        }
    }

    fn refuse(&mut self, registry: &Registry, id: u64, why: String) -> Option<(u64, CtlRequest)> {
        self.answer(registry, id, &CtlReply::Error(why));
        None
    }

    /// Sends `reply` to client `id` (if it is still there) and closes the connection.
    pub fn answer(&mut self, registry: &Registry, id: u64, reply: &CtlReply) {
        let Some(client) = self.clients.get_mut(&id) else { return };
        let mut line = match serde_json::to_string(reply) {
            Ok(l) => l,
            Err(e) => format!("{{\"Error\":\"cannot encode the reply: {}\"}}", e.to_string().replace(['"', '\\'], "'")),
        };
        line.push('\n');
        client.output = line.into_bytes();
        client.written = 0;
        client.stage = Stage::Writing;
        if let Err(e) = registry.reregister(&mut client.stream, client_token(id), Interest::WRITABLE) {
            log::warn!("ctl: {e}");
        }
        self.flush(registry, id);
    }

    fn flush(&mut self, registry: &Registry, id: u64) {
        let Some(client) = self.clients.get_mut(&id) else { return };
        while client.written < client.output.len() {
            match client.stream.write(&client.output[client.written..]) {
                Ok(0) => break,
                Ok(n) => client.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.close(registry, id);
    }

    fn close(&mut self, registry: &Registry, id: u64) {
        if let Some(mut client) = self.clients.remove(&id) {
            let _ = registry.deregister(&mut client.stream);
        }
    }

    /// The requests forwarded to the worker and not answered yet.
    #[cfg(test)]
    fn waiting(&self) -> Vec<u64> {
        self.clients.iter().filter(|(_, c)| c.stage == Stage::Waiting).map(|(id, _)| *id).collect()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients.values().map(|c| c.deadline).min()
    }

    /// Clients past their deadline: a silent one is dropped, a waiting one told the worker did
    /// not answer.
    /// The connection of client `id` while it waits for its answer: a binary upgrade hands it
    /// to the re-executed supervisor, which answers it.
    pub fn waiting_fd(&self, id: u64) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.clients.get(&id).filter(|c| c.stage == Stage::Waiting).map(|c| c.stream.as_raw_fd())
    }

    /// Takes over a client that the supervisor this process replaced had read a request from
    /// (`waiting_fd`); it waits for `answer` as if it had been read here.
    pub fn adopt_waiting(&mut self, registry: &Registry, fd: std::os::fd::OwnedFd, now: Instant) -> Option<u64> {
        let std_stream = std::os::unix::net::UnixStream::from(fd);
        if let Err(e) = std_stream.set_nonblocking(true) {
            log::warn!("ctl: cannot take over the upgrade's client: {e}");
            return None;
        }
        let mut stream = UnixStream::from_std(std_stream);
        let id = self.next_id;
        self.next_id += 1;
        if let Err(e) = registry.register(&mut stream, client_token(id), Interest::READABLE) {
            log::warn!("ctl: cannot watch the upgrade's client: {e}");
            return None;
        }
        let client =
            Client { stream, input: Vec::new(), output: Vec::new(), written: 0, stage: Stage::Waiting, deadline: now + CTL_TIMEOUT };
        self.clients.insert(id, client);
        Some(id)
    }

    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        let due: Vec<(u64, bool)> =
            self.clients.iter().filter(|(_, c)| c.deadline <= now).map(|(id, c)| (*id, c.stage == Stage::Waiting)).collect();
        for (id, waiting) in due {
            if waiting {
                if let Some(c) = self.clients.get_mut(&id) {
                    c.deadline = now + CTL_TIMEOUT;
                }
                self.answer(registry, id, &CtlReply::Error("the worker did not answer in time".into()));
            } else {
                self.close(registry, id);
            }
        }
    }
}

impl Drop for CtlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::ipc::AdminState;
    use mio::{Events, Poll};
    use std::io::BufRead;
    use std::os::unix::net::UnixStream as StdStream;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("hakeeper-ctl-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs the server's side until `done` says so, answering forwarded requests with `reply`.
    fn pump(
        poll: &mut Poll,
        server: &mut CtlServer,
        reply: &dyn Fn(&CtlRequest) -> CtlReply,
        mut done: impl FnMut() -> bool,
    ) -> Vec<CtlRequest> {
        let mut events = Events::with_capacity(16);
        let mut seen = Vec::new();
        let end = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < end, "timed out");
            poll.poll(&mut events, Some(Duration::from_millis(10))).expect("poll");
            let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for t in tokens {
                assert!(server.owns(t));
                for (id, req) in server.ready(poll.registry(), t, Instant::now()) {
                    server.answer(poll.registry(), id, &reply(&req));
                    seen.push(req);
                }
            }
            server.expire(poll.registry(), Instant::now());
        }
        seen
    }

    fn exchange(path: &Path, line: &[u8]) -> std::thread::JoinHandle<String> {
        let path = path.to_path_buf();
        let line = line.to_vec();
        std::thread::spawn(move || {
            let mut s = StdStream::connect(&path).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
            s.write_all(&line).expect("send");
            // As `echo -n CMD | socat - UNIX:PATH` does: the end of input ends the command.
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut answer = String::new();
            let _ = std::io::BufReader::new(s).read_line(&mut answer);
            answer
        })
    }

    #[test]
    fn socket_is_private_and_replaces_a_stale_one() {
        let dir = Scratch::new("perm");
        let path = dir.0.join("sub").join("ctl.sock");
        let first = CtlServer::bind(&path).expect("bind");
        let mode = std::fs::metadata(&path).expect("socket").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(CtlServer::bind(&path), Err(CtlServerError::InUse(_))), "a live socket is not stolen");
        // A leftover socket nobody listens on (std's listener leaves its file behind) is replaced.
        let stale = std::os::unix::net::UnixListener::bind(dir.0.join("stale.sock")).expect("bind");
        drop(stale);
        CtlServer::bind(&dir.0.join("stale.sock")).expect("stale socket replaced");
        std::fs::write(dir.0.join("file"), b"x").expect("file");
        assert!(matches!(CtlServer::bind(&dir.0.join("file")), Err(CtlServerError::NotSocket(_))));
        drop(first);
        assert!(!path.exists(), "removed on drop");
    }

    #[test]
    fn commands_are_forwarded_and_answered_as_json() {
        let dir = Scratch::new("json");
        let path = dir.0.join("ctl.sock");
        let mut server = CtlServer::bind(&path).expect("bind");
        let mut poll = Poll::new().expect("poll");
        server.register(poll.registry()).expect("register");
        let reply = |req: &CtlRequest| CtlReply::Done(req.to_string());
        let clients = [
            exchange(&path, b"disable server web/s1\n"),
            exchange(&path, b"show stat"),
            exchange(&path, b"frobnicate\n"),
            exchange(&path, &vec![b'x'; MAX_LINE + 10]),
        ];
        let mut answers = Vec::new();
        let mut pending: Vec<_> = clients.into_iter().map(Some).collect();
        let seen = pump(&mut poll, &mut server, &reply, || {
            for slot in pending.iter_mut() {
                if slot.as_ref().is_some_and(|h| h.is_finished()) {
                    answers.push(slot.take().map(|h| h.join().expect("client")).unwrap_or_default());
                }
            }
            pending.iter().all(Option::is_none)
        });
        assert_eq!(
            seen.iter()
                .filter(|r| **r == CtlRequest::SetState { backend: "web".into(), server: "s1".into(), state: AdminState::Maint })
                .count(),
            1
        );
        assert!(seen.contains(&CtlRequest::ShowStat), "a line without newline ends at EOF");
        let decoded: Vec<CtlReply> = answers.iter().map(|a| serde_json::from_str(a.trim_end()).expect("JSON reply")).collect();
        assert!(decoded.contains(&CtlReply::Done("set server web/s1 state maint".into())));
        assert!(decoded.contains(&CtlReply::Done("show stat".into())));
        assert!(decoded.iter().any(|r| matches!(r, CtlReply::Error(e) if e.starts_with("unknown command \"frobnicate\""))));
        assert!(decoded.iter().any(|r| matches!(r, CtlReply::Error(e) if e.contains("longer than"))));
    }

    #[test]
    fn a_request_the_worker_never_answers_times_out() {
        let dir = Scratch::new("timeout");
        let path = dir.0.join("ctl.sock");
        let mut server = CtlServer::bind(&path).expect("bind");
        let mut poll = Poll::new().expect("poll");
        server.register(poll.registry()).expect("register");
        let client = exchange(&path, b"show info\n");
        let mut events = Events::with_capacity(16);
        let end = Instant::now() + Duration::from_secs(5);
        let mut forwarded = Vec::new();
        while server.waiting().is_empty() {
            assert!(Instant::now() < end, "request never read");
            poll.poll(&mut events, Some(Duration::from_millis(10))).expect("poll");
            let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for t in tokens {
                forwarded.extend(server.ready(poll.registry(), t, Instant::now()));
            }
        }
        assert_eq!(forwarded, vec![(1, CtlRequest::ShowInfo)]);
        assert!(server.next_deadline().is_some());
        server.expire(poll.registry(), Instant::now() + CTL_TIMEOUT + Duration::from_millis(1));
        let answer = client.join().expect("client");
        assert_eq!(
            serde_json::from_str::<CtlReply>(answer.trim_end()).expect("JSON"),
            CtlReply::Error("the worker did not answer in time".into())
        );
    }
}
