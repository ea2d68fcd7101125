//! A client's TLS connection over its non-blocking socket, on rustls' unbuffered API: the
//! encrypted bytes live in buffers of this module ([`super::spare`]), taken while there is
//! something to hold and given back when drained, so an idle TLS client holds no buffer
//! (rustls' buffered connection keeps a 4 KiB read buffer per client for good). Records are
//! decrypted in place and copied once, into the protocol's buffer.
//!
//! Readiness stays the socket's ([`Ready`], edge-triggered): records are read until the socket
//! would block, and written until it would block, the rest waiting here for the next writable
//! event.
//!
//! The handshake ([`TlsConn::handshake`]) runs before the protocol starts, as HAProxy's
//! embryonic session; afterwards [`TlsEnd`] is the plaintext endpoint the protocols use.

use super::spare;
use crate::buffer::ReadOutcome;
use crate::ready::Ready;
use crate::transport::Endpoint;
use mio::net::TcpStream;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use rustls::{CommonState, ServerConfig};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Plaintext encrypted per call: a few records, so that one write takes them.
const ENCRYPT_CHUNK: usize = 4 * 16 * 1024;

/// The largest handshake message rustls accepts (64 KiB), with its record headers.
const MAX_INCOMING: usize = 0xffff + 4 * 1024;

/// How a handshake ended badly, worded as HAProxy's `session_kill_embryonic()` logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// The peer's bytes were not an acceptable handshake.
    Failure,
    /// The client closed before the handshake completed.
    Closed,
    /// A socket error.
    Error,
    /// `timeout client` ran out.
    Timeout,
}

impl HandshakeFailure {
    pub fn message(self) -> &'static str {
        match self {
            HandshakeFailure::Failure => "SSL handshake failure",
            HandshakeFailure::Closed => "Connection closed during SSL handshake",
            HandshakeFailure::Error => "Connection error during SSL handshake",
            HandshakeFailure::Timeout => "Timeout during SSL handshake",
        }
    }
}

/// Where a handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    Done,
    /// Waiting for the socket.
    Pending,
    Failed(HandshakeFailure),
}

pub struct TlsConn {
    conn: UnbufferedServerConnection,
    /// Encrypted bytes read and not yet consumed by rustls (`incoming[..in_used]`): a partial
    /// record, or a handshake message spanning records. Empty (no allocation) when drained.
    incoming: Vec<u8>,
    in_used: usize,
    /// Encrypted bytes for the socket (`outgoing[out_at..out_end]`).
    outgoing: Vec<u8>,
    out_at: usize,
    out_end: usize,
    /// Decrypted bytes a record brought beyond what the protocol asked for.
    plain: Vec<u8>,
    plain_at: usize,
    /// The server name the client asked for (what the certificate was chosen by).
    sni: Option<String>,
    /// The peer's FIN was read (no close_notify necessarily).
    eof: bool,
    /// The peer's close_notify was read.
    peer_closed: bool,
    /// A fatal TLS error, kept: the connection is unusable.
    failed: Option<rustls::Error>,
    /// close_notify queued: the socket's write side is shut once it is out.
    closing: bool,
    shut: bool,
}

/// What processing the held records came to.
enum Processed {
    /// More encrypted bytes are needed (to finish a record or the handshake).
    NeedBytes,
    /// Plaintext was copied into the caller's buffer.
    Got,
    /// close_notify was read.
    PeerClosed,
}

/// Where decrypted bytes go: the caller's buffer up to `room` more bytes, the rest to `plain`.
struct Dest<'a> {
    buf: &'a mut Vec<u8>,
    room: usize,
}

/// What to write once rustls can take application data: `data` (all of it, `taken` set), or a
/// close_notify.
struct Out<'a> {
    data: &'a [u8],
    taken: usize,
    close_notify: bool,
}

impl TlsConn {
    pub fn new(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(TlsConn {
            conn: UnbufferedServerConnection::new(config)?,
            incoming: Vec::new(),
            in_used: 0,
            outgoing: Vec::new(),
            out_at: 0,
            out_end: 0,
            plain: Vec::new(),
            plain_at: 0,
            sni: None,
            eof: false,
            peer_closed: false,
            failed: None,
            closing: false,
            shut: false,
        })
    }

    /// Encrypted bytes wait for the socket (the session must not end before they are out).
    pub fn holds(&self) -> bool {
        self.out_at < self.out_end
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// What the handshake settled (protocol, suite, ALPN, the client's certificates).
    pub fn common(&self) -> &CommonState {
        &self.conn
    }

    /// The server name the client sent.
    pub fn server_name(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    /// Room for `extra` more encrypted bytes at the end of `outgoing` (taken from the spare
    /// buffers when there is none; rewound when everything before was written).
    fn room(outgoing: &mut Vec<u8>, out_at: &mut usize, out_end: &mut usize, extra: usize) {
        if outgoing.is_empty() {
            *outgoing = spare::take();
        }
        if *out_at == *out_end {
            (*out_at, *out_end) = (0, 0);
        }
        if outgoing.len() < *out_end + extra {
            outgoing.resize(*out_end + extra, 0);
        }
    }

    /// Runs rustls over the held records until it needs bytes from the socket (or has given
    /// plaintext to `dest`, or read close_notify). Handshake records to send are encoded into
    /// `outgoing`; decrypted bytes go to `dest`, or to `plain` when it is full or absent.
    fn process(&mut self, mut dest: Option<Dest<'_>>, mut out: Option<&mut Out<'_>>) -> Result<Processed, rustls::Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut got = false;
        loop {
            let handshaking = self.conn.is_handshaking();
            if handshaking {
                super::sni::take_resolved();
            }
            let UnbufferedStatus { mut discard, state } = self.conn.process_tls_records(&mut self.incoming[..self.in_used]);
            let mut done = None;
            let mut error = None;
            match state {
                Err(e) => error = Some(e),
                Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                    while let Some(record) = traffic.next_record() {
                        match record {
                            Ok(r) => {
                                discard += r.discard;
                                let mut payload: &[u8] = r.payload;
                                if let Some(d) = dest.as_mut() {
                                    let n = payload.len().min(d.room);
                                    d.buf.extend_from_slice(&payload[..n]);
                                    d.room -= n;
                                    got |= n > 0;
                                    payload = &payload[n..];
                                }
                                self.plain.extend_from_slice(payload);
                            }
                            Err(e) => {
                                error = Some(e);
                                break;
                            }
                        }
                    }
                    if got && dest.as_ref().is_some_and(|d| d.room == 0) {
                        done = Some(Processed::Got);
                    }
                }
                Ok(ConnectionState::ReadEarlyData(mut early)) => {
                    // 0-RTT is not offered (HAProxy's default, `allow-0rtt` off): nothing comes.
                    while let Some(Ok(r)) = early.next_record() {
                        discard += r.discard;
                    }
                }
                Ok(ConnectionState::EncodeTlsData(mut encode)) => loop {
                    let (at, end) = (self.out_end, self.outgoing.len());
                    match encode.encode(&mut self.outgoing[at.min(end)..]) {
                        Ok(n) => {
                            self.out_end += n;
                            break;
                        }
                        Err(EncodeError::InsufficientSize(need)) => {
                            Self::room(&mut self.outgoing, &mut self.out_at, &mut self.out_end, need.required_size);
                        }
                        Err(e) => {
                            error = Some(rustls::Error::General(e.to_string()));
                            break;
                        }
                    }
                },
                // The encoded records are in `outgoing`, written out by `write_out`.
                Ok(ConnectionState::TransmitTlsData(transmit)) => transmit.done(),
                Ok(ConnectionState::BlockedHandshake) => done = Some(if got { Processed::Got } else { Processed::NeedBytes }),
                // Reached only once no whole record is left to read.
                Ok(ConnectionState::WriteTraffic(mut w)) => {
                    if let Some(o) = out.as_mut() {
                        if o.close_notify {
                            Self::room(&mut self.outgoing, &mut self.out_at, &mut self.out_end, 64);
                            if let Ok(n) = w.queue_close_notify(&mut self.outgoing[self.out_end..]) {
                                self.out_end += n;
                            }
                            o.close_notify = false;
                        } else if o.taken == 0 && !o.data.is_empty() {
                            Self::room(&mut self.outgoing, &mut self.out_at, &mut self.out_end, o.data.len() + 256);
                            loop {
                                match w.encrypt(o.data, &mut self.outgoing[self.out_end..]) {
                                    Ok(n) => {
                                        self.out_end += n;
                                        o.taken = o.data.len();
                                        break;
                                    }
                                    Err(EncryptError::InsufficientSize(need)) => {
                                        let len = self.out_end + need.required_size;
                                        self.outgoing.resize(len, 0);
                                    }
                                    Err(e) => {
                                        error = Some(rustls::Error::General(e.to_string()));
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    done = Some(if got { Processed::Got } else { Processed::NeedBytes });
                }
                Ok(ConnectionState::PeerClosed) | Ok(ConnectionState::Closed) => {
                    self.peer_closed = true;
                    done = Some(if got { Processed::Got } else { Processed::PeerClosed });
                }
                Ok(_) => error = Some(rustls::Error::General("unexpected TLS state".into())),
            }
            if handshaking {
                if let Some(name) = super::sni::take_resolved() {
                    self.sni = name;
                }
            }
            if discard > 0 {
                self.incoming.copy_within(discard..self.in_used, 0);
                self.in_used -= discard;
            }
            if let Some(e) = error {
                self.failed = Some(e.clone());
                self.release_incoming();
                return Err(e);
            }
            if let Some(d) = done {
                if self.in_used == 0 {
                    self.release_incoming();
                }
                return Ok(d);
            }
        }
    }

    fn release_incoming(&mut self) {
        self.in_used = 0;
        if !self.incoming.is_empty() {
            spare::give(std::mem::take(&mut self.incoming));
        }
    }

    /// Encodes the alert rustls queued on a fatal error (it waits among the records to send).
    fn encode_alert(&mut self) {
        let saved = self.failed.take();
        if let Ok(ConnectionState::EncodeTlsData(mut encode)) = self.conn.process_tls_records(&mut []).state {
            Self::room(&mut self.outgoing, &mut self.out_at, &mut self.out_end, 64);
            if let Ok(n) = encode.encode(&mut self.outgoing[self.out_end..]) {
                self.out_end += n;
            }
        }
        self.failed = saved;
    }

    /// Writes held records while the socket takes them.
    fn write_out(&mut self, sock: &TcpStream, ready: &mut Ready) -> io::Result<()> {
        while self.out_at < self.out_end && ready.writable {
            match (&*sock).write(&self.outgoing[self.out_at..self.out_end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.out_at == self.out_end && !self.outgoing.is_empty() {
            (self.out_at, self.out_end) = (0, 0);
            spare::give(std::mem::take(&mut self.outgoing));
        }
        if self.closing && !self.shut && self.out_at == self.out_end {
            self.shut = true;
            let _ = sock.shutdown(std::net::Shutdown::Write);
        }
        Ok(())
    }

    /// Reads from the socket once into `incoming`: `Ok(true)` when bytes came, `Ok(false)`
    /// when it would block or is at EOF.
    fn read_in(&mut self, sock: &TcpStream, ready: &mut Ready) -> io::Result<bool> {
        if !ready.readable || self.eof {
            return Ok(false);
        }
        if self.incoming.is_empty() {
            self.incoming = spare::take();
        }
        if self.in_used == self.incoming.len() {
            // A handshake message spanning several records (a client certificate chain).
            if self.incoming.len() >= MAX_INCOMING {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "TLS message too large"));
            }
            let grown = (self.incoming.len() * 2).min(MAX_INCOMING);
            self.incoming.resize(grown, 0);
        }
        let room = self.incoming.len() - self.in_used;
        match (&*sock).read(&mut self.incoming[self.in_used..]) {
            Ok(0) => {
                self.eof = true;
                ready.readable = false;
                if self.in_used == 0 {
                    self.release_incoming();
                }
                Ok(false)
            }
            Ok(n) => {
                self.in_used += n;
                // A short read emptied the socket (edge-triggered: the next bytes bring an
                // event); trying again would only return EAGAIN, one wasted recv per request.
                if n < room && !ready.hup {
                    ready.readable = false;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready.readable = false;
                if self.in_used == 0 {
                    self.release_incoming();
                }
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Advances the handshake as far as the socket allows.
    pub fn handshake(&mut self, sock: &TcpStream, ready: &mut Ready) -> Handshake {
        loop {
            let processed = self.process(None, None);
            if let Err(e) = processed {
                log::debug!("TLS handshake: {e}");
                self.encode_alert();
                let _ = self.write_out(sock, ready);
                return Handshake::Failed(HandshakeFailure::Failure);
            }
            if self.write_out(sock, ready).is_err() {
                return Handshake::Failed(HandshakeFailure::Error);
            }
            if !self.conn.is_handshaking() {
                return Handshake::Done;
            }
            if matches!(processed, Ok(Processed::PeerClosed)) {
                return Handshake::Failed(HandshakeFailure::Closed);
            }
            match self.read_in(sock, ready) {
                Ok(true) => continue,
                Ok(false) if self.eof => return Handshake::Failed(HandshakeFailure::Closed),
                Ok(false) => return Handshake::Pending,
                Err(e) => {
                    log::debug!("TLS handshake: {e}");
                    return Handshake::Failed(HandshakeFailure::Error);
                }
            }
        }
    }

    /// Plaintext may be read without the socket (decrypted bytes held, a record to decrypt,
    /// an EOF or an error to report).
    pub fn has_plaintext(&mut self) -> bool {
        if self.plain_at < self.plain.len() || self.eof || self.peer_closed || self.failed.is_some() {
            return true;
        }
        if self.in_used == 0 {
            return false;
        }
        match self.process(None, None) {
            Ok(Processed::PeerClosed) | Err(_) => true,
            Ok(_) => self.plain_at < self.plain.len(),
        }
    }

    /// Queues close_notify after what is held, then shuts the socket's write side (at once,
    /// or when the held records are out: later writes push them).
    pub fn close(&mut self, sock: &TcpStream, ready: &mut Ready) {
        if !self.closing {
            self.closing = true;
            if self.failed.is_none() && !self.conn.is_handshaking() {
                let mut o = Out { data: &[], taken: 0, close_notify: true };
                // A close_notify read first is reported before writing can go on.
                for _ in 0..2 {
                    if self.process(None, Some(&mut o)).is_err() || !o.close_notify {
                        break;
                    }
                }
            }
        }
        let _ = self.write_out(sock, ready);
    }

    /// Takes up to `max` bytes of held plaintext into `buf`.
    fn take_plain(&mut self, buf: &mut Vec<u8>, max: usize) -> usize {
        let n = (self.plain.len() - self.plain_at).min(max);
        buf.extend_from_slice(&self.plain[self.plain_at..self.plain_at + n]);
        self.plain_at += n;
        if self.plain_at == self.plain.len() {
            self.plain = Vec::new();
            self.plain_at = 0;
        }
        n
    }
}

/// A TLS connection as a plaintext endpoint.
pub struct TlsEnd<'a> {
    pub tls: &'a mut TlsConn,
    pub sock: &'a TcpStream,
    pub ready: &'a mut Ready,
}

impl Endpoint for TlsEnd<'_> {
    fn recv(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<ReadOutcome> {
        if max == 0 {
            return Ok(ReadOutcome::Empty);
        }
        loop {
            if self.tls.plain_at < self.tls.plain.len() {
                return Ok(ReadOutcome::Data(self.tls.take_plain(buf, max)));
            }
            if self.tls.peer_closed {
                return Ok(ReadOutcome::Eof);
            }
            let before = buf.len();
            match self.tls.process(Some(Dest { buf, room: max }), None) {
                Ok(Processed::Got) => {
                    // Records read may call for an answer (a key update).
                    self.tls.write_out(self.sock, self.ready)?;
                    return Ok(ReadOutcome::Data(buf.len() - before));
                }
                Ok(Processed::PeerClosed) => continue,
                Ok(Processed::NeedBytes) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            self.tls.write_out(self.sock, self.ready)?;
            // A FIN without close_notify ends the stream as a FIN would in plaintext
            // (HTTP/1.1 framing tells truncation apart).
            if self.tls.eof {
                return Ok(ReadOutcome::Eof);
            }
            if !self.tls.read_in(self.sock, self.ready)? {
                if self.tls.eof {
                    continue;
                }
                return Ok(ReadOutcome::Empty);
            }
        }
    }

    fn readable(&mut self) -> bool {
        self.ready.readable || self.tls.has_plaintext()
    }

    fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            self.tls.write_out(self.sock, self.ready)?;
            if taken == data.len() || self.tls.closing {
                return Ok(taken);
            }
            if self.tls.holds() {
                return Ok(taken);
            }
            let chunk = &data[taken..data.len().min(taken + ENCRYPT_CHUNK)];
            let mut o = Out { data: chunk, taken: 0, close_notify: false };
            // A close_notify read first is reported before writing can go on.
            for _ in 0..2 {
                match self.tls.process(None, Some(&mut o)) {
                    Ok(Processed::PeerClosed) if o.taken == 0 => continue,
                    Ok(_) => break,
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
            }
            if o.taken == 0 {
                return Ok(taken);
            }
            taken += o.taken;
        }
    }

    fn held(&self) -> bool {
        self.tls.holds()
    }

    fn shutdown_write(&mut self) {
        self.tls.close(self.sock, self.ready);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::tls::{BindTls, TlsVersion, Verify};
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn testdata(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tls/testdata").join(name)
    }

    fn server_config() -> Arc<ServerConfig> {
        Arc::new(server_config_and_resolver().0)
    }

    fn server_config_and_resolver() -> (ServerConfig, Arc<crate::tls::sni::SniResolver>) {
        let cert = hakeeper_common::tls::load::load_cert(&testdata("unit.pem"), 0).expect("test certificate");
        let tls = BindTls {
            field: "t".into(),
            crt: vec![],
            crt_list: None,
            alpn: vec!["http/1.1".into()],
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            ciphers: None,
            ciphersuites: None,
            curves: None,
            ca_file: None,
            verify: Verify::None,
            tickets: true,
            certs: vec![cert],
            client_ca: vec![],
        };
        let cache = rustls::server::ServerSessionMemoryCache::new(16);
        super::super::contexts::server_config(&tls, cache, None).expect("server config")
    }

    fn client_config() -> Arc<rustls::ClientConfig> {
        let pem = std::fs::read(testdata("ca.pem")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let mut c = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(c)
    }
    use rustls::pki_types::pem::PemObject;

    /// A connected pair: (the server's non-blocking mio socket, the client's blocking one).
    fn pair() -> (TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (TcpStream::from_std(s), client)
    }

    fn ready() -> Ready {
        Ready { readable: true, writable: true, hup: false, fin: false }
    }

    /// Drives the handshake until it is no longer pending, for at most 5 s.
    fn handshake(tls: &mut TlsConn, sock: &TcpStream) -> Handshake {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            match tls.handshake(sock, &mut ready()) {
                Handshake::Pending if Instant::now() < end => std::thread::sleep(Duration::from_millis(5)),
                other => return other,
            }
        }
    }

    #[test]
    fn handshake_then_plaintext_both_ways_and_close_notify() {
        let (sock, client) = pair();
        let cc = client_config();
        let peer = std::thread::spawn(move || {
            let conn = rustls::ClientConnection::new(cc, "unit.test".try_into().unwrap()).unwrap();
            let mut s = rustls::StreamOwned::new(conn, client);
            s.write_all(b"ping").unwrap();
            let mut got = [0u8; 4];
            s.read_exact(&mut got).unwrap();
            s.conn.send_close_notify();
            s.flush().unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
            (got, s.conn.alpn_protocol().map(<[u8]>::to_vec))
        });
        let (config, resolver) = server_config_and_resolver();
        let mut tls = TlsConn::new(Arc::new(config)).unwrap();
        assert_eq!(handshake(&mut tls, &sock), Handshake::Done);
        let facts = crate::tls::TlsFacts::of(&tls, resolver.local(tls.server_name()));
        assert_eq!((facts.sni.as_deref(), facts.alpn.as_deref()), (Some("unit.test"), Some("http/1.1")));
        // What `proxy-v2-options` would tell of this full handshake with the bind's P-256 key.
        assert_eq!((facts.local.signature, facts.local.key.as_deref(), facts.resumed), (Some("ecdsa-with-SHA256"), Some("EC256"), false));
        let mut r = ready();
        let mut buf = Vec::new();
        let end = Instant::now() + Duration::from_secs(5);
        while buf.len() < 4 && Instant::now() < end {
            r.readable = true;
            let _ = TlsEnd { tls: &mut tls, sock: &sock, ready: &mut r }.recv(&mut buf, 100).unwrap();
        }
        assert_eq!(buf, b"ping");
        assert!(!r.readable, "the short read that brought the record left the socket to its next event: no recv returning EAGAIN");
        assert_eq!(TlsEnd { tls: &mut tls, sock: &sock, ready: &mut r }.send(b"pong").unwrap(), 4);
        // Between requests the connection holds no buffer: everything read was taken, and
        // everything encrypted was written.
        assert_eq!((tls.incoming.capacity(), tls.outgoing.capacity(), tls.plain.capacity()), (0, 0, 0), "an idle client holds no buffer");
        // The client's close_notify reads as the end of the stream.
        let end = Instant::now() + Duration::from_secs(5);
        let mut eof = false;
        while !eof && Instant::now() < end {
            r.readable = true;
            eof = TlsEnd { tls: &mut tls, sock: &sock, ready: &mut r }.recv(&mut buf, 100).unwrap() == ReadOutcome::Eof;
        }
        assert!(eof);
        tls.close(&sock, &mut r);
        let (got, alpn) = peer.join().unwrap();
        assert_eq!((&got, alpn.as_deref()), (b"pong", Some(&b"http/1.1"[..])));
    }

    #[test]
    fn garbage_fails_and_a_client_gone_mid_handshake_is_closed() {
        let (sock, mut client) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut tls = TlsConn::new(server_config()).unwrap();
        assert_eq!(handshake(&mut tls, &sock), Handshake::Failed(HandshakeFailure::Failure));

        let (sock, mut client) = pair();
        client.write_all(&[0x16, 0x03, 0x01, 0x00, 0x40, 0x01]).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut tls = TlsConn::new(server_config()).unwrap();
        assert_eq!(handshake(&mut tls, &sock), Handshake::Failed(HandshakeFailure::Closed));
    }
}
