//! Re-encryption: TLS from the worker to a server (HAProxy's `server … ssl`), driven by the
//! event loop like the plain socket under it. The TCP connect completes first (and any PROXY
//! header goes out in clear, as HAProxy sends it before the handshake); the handshake then
//! runs under `timeout connect`, and its failure is a failed connect (retries, redispatch,
//! `econ`, `SC` termination and a 503), as HAProxy treats an SSL error towards a server.
//!
//! The server's rustls config is built once per thread from the material the supervisor read
//! ([`hakeeper_common::tls_client`]); each connection keeps the SNI it was opened with, and
//! idle connections are reused only for requests wanting the same SNI (HAProxy keeps the SNI
//! in the connection hash).

use crate::buffer::{Buf, Pools, ReadOutcome};
use crate::ready::Ready;
use hakeeper_common::config::{Backend, Sni};
use hakeeper_common::tls_client::ClientTls;
use mio::net::TcpStream;
use rustls::ClientConnection;
use std::io::{self, ErrorKind, Read, Write};

/// One server's traffic: plain, over TLS, or impossible (its TLS client could not be built).
enum Traffic {
    Plain,
    Tls(ClientTls),
    Broken(String),
}

/// Every server's TLS client, by backend and server.
pub struct ServerClients(Vec<Vec<Traffic>>);

impl ServerClients {
    pub fn new(backends: &[Backend]) -> Self {
        let clients = backends
            .iter()
            .map(|b| {
                b.servers
                    .iter()
                    .map(|s| {
                        let Some(tls) = s.tls.as_ref().filter(|t| t.traffic) else { return Traffic::Plain };
                        match ClientTls::new(tls, s.addr.ip()) {
                            Ok(c) => Traffic::Tls(c),
                            // Validated by the supervisor; should it fail here, the server gets
                            // no plaintext: every connect to it fails.
                            Err(e) => {
                                log::error!("server {}/{}: {e}; its connections will fail", b.name, s.name);
                                Traffic::Broken(e.to_string())
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        ServerClients(clients)
    }

    /// The server's TLS client (`None`: plain), or why it has none though it needs one.
    pub fn get(&self, backend: usize, server: usize) -> Result<Option<&ClientTls>, &str> {
        match self.0.get(backend).and_then(|b| b.get(server)) {
            None | Some(Traffic::Plain) => Ok(None),
            Some(Traffic::Tls(c)) => Ok(Some(c)),
            Some(Traffic::Broken(why)) => Err(why),
        }
    }
}

/// The SNI a connection for a request sends: `str(NAME)`, or the request's last `NAME`
/// header (HAProxy's `req.hdr()` returns the last occurrence); none when it is absent or
/// empty, as HAProxy then sends none.
pub fn sni_for(sni: Option<&Sni>, header: impl Fn(&str) -> Option<String>) -> Option<String> {
    match sni? {
        Sni::Const(name) => Some(name.clone()),
        Sni::ReqHdr(name) => header(name).filter(|v| !v.is_empty()),
    }
}

/// Why TLS towards a server failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("SSL handshake failure: {0}")]
    Handshake(rustls::Error),
    #[error("SSL handshake failure: connection closed by the server")]
    Closed,
    #[error("SSL error: {0}")]
    Tls(rustls::Error),
}

/// The TLS layer of one server connection.
pub struct TlsConn {
    conn: ClientConnection,
    /// The server closed the TCP connection.
    socket_eof: bool,
}

impl TlsConn {
    pub fn new(conn: ClientConnection) -> Self {
        TlsConn { conn, socket_eof: false }
    }

    /// Drives the handshake; `Ok(true)` once it is complete.
    pub fn handshake(&mut self, stream: &TcpStream, ready: &mut Ready) -> Result<bool, TlsError> {
        self.pump(stream, ready, true)?;
        if !self.conn.is_handshaking() {
            return Ok(true);
        }
        if self.socket_eof {
            return Err(TlsError::Closed);
        }
        Ok(false)
    }

    /// Writes queued records and reads (and decrypts) arrived ones until the socket would block
    /// or rustls holds as much plaintext as it takes.
    fn pump(&mut self, stream: &TcpStream, ready: &mut Ready, handshaking: bool) -> Result<(), TlsError> {
        loop {
            self.write_records(stream, ready)?;
            let mut got = false;
            while ready.readable && !self.socket_eof && self.conn.wants_read() {
                match self.conn.read_tls(&mut &*stream) {
                    Ok(0) => {
                        self.socket_eof = true;
                        ready.readable = false;
                    }
                    Ok(_) => {
                        got = true;
                        if let Err(e) = self.conn.process_new_packets() {
                            // Tell the server why (an alert), as OpenSSL does.
                            let _ = self.write_records(stream, ready);
                            return Err(if handshaking { TlsError::Handshake(e) } else { TlsError::Tls(e) });
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => ready.readable = false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(TlsError::Io(e)),
                }
            }
            // What was read may call for an answer (the rest of a handshake, a key update).
            if !(got && self.conn.wants_write() && ready.writable) {
                return Ok(());
            }
        }
    }

    fn write_records(&mut self, stream: &TcpStream, ready: &mut Ready) -> io::Result<()> {
        while ready.writable && self.conn.wants_write() {
            match self.conn.write_tls(&mut &*stream) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => ready.writable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads decrypted bytes into `buf` (as [`Buf::recv`] does from a plain socket).
    pub fn recv(&mut self, stream: &TcpStream, ready: &mut Ready, buf: &mut Buf, pools: &mut Pools) -> io::Result<ReadOutcome> {
        let room = buf.room();
        if room == 0 {
            return Ok(ReadOutcome::Empty);
        }
        Ok(match self.recv_plain(stream, ready, buf.tail(pools), room)? {
            Some(0) => ReadOutcome::Eof,
            Some(n) => ReadOutcome::Data(n),
            None => ReadOutcome::Empty,
        })
    }

    /// Appends up to `max` decrypted bytes to `out`, until `max` or the socket is drained
    /// (edge-triggered: `ready.readable` then reads false). `Some(0)` at the end of the stream,
    /// `None` when nothing came.
    pub fn recv_plain(&mut self, stream: &TcpStream, ready: &mut Ready, out: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
        let mut chunk = [0u8; 16 * 1024];
        let mut total = 0;
        loop {
            self.pump(stream, ready, false).map_err(into_io)?;
            let want = (max - total).min(chunk.len());
            if want == 0 {
                break;
            }
            match self.conn.reader().read(&mut chunk[..want]) {
                Ok(0) if total == 0 => return Ok(Some(0)),
                Ok(0) => break,
                Ok(n) => {
                    out.extend_from_slice(&chunk[..n]);
                    total += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if self.socket_eof && total == 0 {
                        return Ok(Some(0));
                    }
                    // Drained, or rustls wants nothing more now: wait for the next event.
                    if !ready.readable || self.socket_eof || !self.conn.wants_read() {
                        break;
                    }
                }
                // Closed without close_notify: many servers do; the framing tells a truncated body.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof && total == 0 => return Ok(Some(0)),
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        Ok((total > 0).then_some(total))
    }

    /// Takes what rustls accepts of `data` (its buffer of unsent data is bounded) and writes
    /// records while the socket takes them; returns the bytes taken.
    pub fn send(&mut self, stream: &TcpStream, ready: &mut Ready, data: &[u8]) -> io::Result<usize> {
        let n = if data.is_empty() { 0 } else { self.conn.writer().write(data)? };
        self.write_records(stream, ready)?;
        Ok(n)
    }

    /// Encrypts what `buf` holds and writes what the socket takes; returns the bytes taken
    /// from `buf`.
    pub fn flush(&mut self, stream: &TcpStream, ready: &mut Ready, buf: &mut Buf) -> io::Result<usize> {
        let mut total = 0;
        while !buf.is_empty() {
            // rustls keeps at most its buffer limit of unsent data: then the socket must drain.
            let n = self.conn.writer().write(buf.bytes())?;
            if n == 0 {
                break;
            }
            buf.consume(n);
            total += n;
            self.write_records(stream, ready)?;
            if !ready.writable {
                break;
            }
        }
        self.write_records(stream, ready)?;
        Ok(total)
    }

    /// Decrypted bytes wait in rustls (a server that sent more than its answer).
    /// Encrypted records wait for the socket.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    pub fn has_unread(&mut self) -> bool {
        match self.conn.process_new_packets() {
            Ok(state) => state.plaintext_bytes_to_read() > 0 || state.peer_has_closed(),
            Err(_) => true,
        }
    }

    /// Best effort before the socket closes: a close_notify, so that the server sees a clean
    /// end rather than a truncation (OpenSSL's SSL_shutdown() in HAProxy's ssl_sock_close()).
    pub fn close_notify(&mut self, stream: &TcpStream) {
        self.conn.send_close_notify();
        let mut ready = Ready { readable: false, writable: true, hup: false, fin: false };
        let _ = self.write_records(stream, &mut ready);
    }

    /// Sends close_notify and the FIN (the client half-closed, or the request is over).
    pub fn shutdown_write(&mut self, stream: &TcpStream, ready: &mut Ready) {
        self.conn.send_close_notify();
        let _ = self.write_records(stream, ready);
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
}

fn into_io(e: TlsError) -> io::Error {
    match e {
        TlsError::Io(e) => e,
        other => io::Error::new(ErrorKind::InvalidData, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_is_the_constant_or_the_last_header() {
        fn host(v: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
            move |name| if name == "host" { v.map(String::from) } else { None }
        }
        assert_eq!(sni_for(Some(&Sni::Const("app.example".into())), host(None)), Some("app.example".into()));
        assert_eq!(sni_for(Some(&Sni::ReqHdr("host".into())), host(Some("www.example"))), Some("www.example".into()));
        assert_eq!(sni_for(Some(&Sni::ReqHdr("host".into())), host(None)), None, "no header: no SNI, as HAProxy");
        assert_eq!(sni_for(Some(&Sni::ReqHdr("host".into())), host(Some(""))), None);
        assert_eq!(sni_for(None, host(Some("www.example"))), None);
    }
}
