//! A client's TLS connection over its non-blocking socket. Readiness stays the socket's
//! ([`Ready`], edge-triggered): records are read until the socket would block, and written
//! until it would block, the rest waiting in rustls for the next writable event.
//!
//! The handshake ([`TlsConn::handshake`]) runs before the protocol starts, as HAProxy's
//! embryonic session; afterwards [`TlsEnd`] is the plaintext endpoint the protocols use.

use crate::buffer::ReadOutcome;
use crate::ready::Ready;
use crate::transport::Endpoint;
use mio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Most encrypted bytes held for a slow client before plaintext is refused (back-pressure).
const HELD_LIMIT: usize = 64 * 1024;

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
    conn: ServerConnection,
    /// The peer's close_notify or FIN was read.
    eof: bool,
    /// close_notify queued: the socket's write side is shut once it is out.
    closing: bool,
    shut: bool,
}

struct SockIo<'a>(&'a TcpStream);

impl Read for SockIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for SockIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self.0).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsConn {
    pub fn new(config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        let mut conn = ServerConnection::new(config)?;
        conn.set_buffer_limit(Some(HELD_LIMIT));
        Ok(TlsConn { conn, eof: false, closing: false, shut: false })
    }

    /// Encrypted bytes wait for the socket (the session must not end before they are out).
    pub fn holds(&self) -> bool {
        self.conn.wants_write()
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    pub fn connection(&self) -> &ServerConnection {
        &self.conn
    }

    /// Writes held records while the socket takes them.
    fn write_out(&mut self, sock: &TcpStream, ready: &mut Ready) -> io::Result<()> {
        while self.conn.wants_write() && ready.writable {
            match self.conn.write_tls(&mut SockIo(sock)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.closing && !self.shut && !self.conn.wants_write() {
            self.shut = true;
            let _ = sock.shutdown(std::net::Shutdown::Write);
        }
        Ok(())
    }

    /// Reads records once: `Ok(true)` when some came (and were processed), `Ok(false)` when the
    /// socket is drained or at EOF. A protocol error queues the alert, writes it if it can, and
    /// is returned.
    fn read_in(&mut self, sock: &TcpStream, ready: &mut Ready) -> Result<bool, ReadError> {
        if !ready.readable || self.eof {
            return Ok(false);
        }
        match self.conn.read_tls(&mut SockIo(sock)) {
            Ok(0) => {
                self.eof = true;
                ready.readable = false;
                Ok(false)
            }
            Ok(_) => match self.conn.process_new_packets() {
                Ok(_) => Ok(true),
                Err(e) => {
                    let _ = self.write_out(sock, ready);
                    Err(ReadError::Tls(e))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready.readable = false;
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(ReadError::Io(e)),
        }
    }

    /// Advances the handshake as far as the socket allows.
    pub fn handshake(&mut self, sock: &TcpStream, ready: &mut Ready) -> Handshake {
        loop {
            if self.write_out(sock, ready).is_err() {
                return Handshake::Failed(HandshakeFailure::Error);
            }
            if !self.conn.is_handshaking() {
                return Handshake::Done;
            }
            match self.read_in(sock, ready) {
                Ok(true) => continue,
                Ok(false) if self.eof => return Handshake::Failed(HandshakeFailure::Closed),
                Ok(false) => return Handshake::Pending,
                Err(ReadError::Tls(e)) => {
                    log::debug!("TLS handshake: {e}");
                    return Handshake::Failed(HandshakeFailure::Failure);
                }
                Err(ReadError::Io(e)) => {
                    log::debug!("TLS handshake: {e}");
                    return Handshake::Failed(HandshakeFailure::Error);
                }
            }
        }
    }

    /// Plaintext may be read without the socket (decrypted bytes held, or an EOF to report).
    pub fn has_plaintext(&mut self) -> bool {
        self.eof || self.conn.process_new_packets().map_or(true, |s| s.plaintext_bytes_to_read() > 0 || s.peer_has_closed())
    }

    /// Sends close_notify after what is held, then shuts the socket's write side (at once,
    /// or when the held records are out: later writes push them).
    pub fn close(&mut self, sock: &TcpStream, ready: &mut Ready) {
        if !self.closing {
            self.closing = true;
            self.conn.send_close_notify();
        }
        let _ = self.write_out(sock, ready);
    }
}

enum ReadError {
    Tls(rustls::Error),
    Io(io::Error),
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
            let old = buf.len();
            buf.resize(old + max, 0);
            let read = self.tls.conn.reader().read(&mut buf[old..]);
            buf.truncate(old + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => return Ok(ReadOutcome::Eof),
                Ok(n) => return Ok(ReadOutcome::Data(n)),
                // A FIN without close_notify ends the stream as a FIN would in plaintext
                // (HTTP/1.1 framing tells truncation apart).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(ReadOutcome::Eof),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.tls.read_in(self.sock, self.ready) {
                Ok(true) => {
                    // Records read may call for an answer (a key update).
                    self.tls.write_out(self.sock, self.ready)?;
                }
                Ok(false) if self.tls.eof => continue,
                Ok(false) => return Ok(ReadOutcome::Empty),
                Err(ReadError::Tls(e)) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                Err(ReadError::Io(e)) => return Err(e),
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
            if taken == data.len() || self.tls.conn.wants_write() {
                return Ok(taken);
            }
            let n = self.tls.conn.writer().write(&data[taken..])?;
            if n == 0 {
                return Ok(taken);
            }
            taken += n;
        }
    }

    fn held(&self) -> bool {
        self.tls.conn.wants_write()
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
        Ready { readable: true, writable: true, hup: false }
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
        let facts = crate::tls::TlsFacts::of(tls.connection(), resolver.local(tls.connection().server_name()));
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
        assert_eq!(TlsEnd { tls: &mut tls, sock: &sock, ready: &mut r }.send(b"pong").unwrap(), 4);
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
