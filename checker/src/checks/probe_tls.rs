//! `check-ssl`: a TLS client layer under a check's connection. HAProxy runs its checks over an
//! SSL transport the same way (a TCP check becomes "connect and handshake"); a failed handshake
//! is reported as `L6RSP` with the SSL error, a handshake that does not finish in time as
//! `L6TOUT`, a completed one (for a TCP check) as `L6OK`.

use mio::net::TcpStream;
use rustls::ClientConnection;
use std::io::{ErrorKind, Read, Write};

/// Why the TLS layer stopped.
#[derive(Debug)]
pub enum TlsFailure {
    /// A socket error.
    Io(std::io::Error),
    /// The peer broke the TLS protocol or its certificate was refused.
    Tls(rustls::Error),
}

pub struct TlsLayer {
    conn: ClientConnection,
    /// The server closed the TCP connection.
    socket_eof: bool,
}

impl TlsLayer {
    pub fn new(conn: ClientConnection) -> Self {
        TlsLayer { conn, socket_eof: false }
    }

    pub fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    pub fn socket_eof(&self) -> bool {
        self.socket_eof
    }

    /// Queues plaintext (sent by the next [`drive`](Self::drive)).
    pub fn write_plain(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.conn.writer().write_all(data)
    }

    /// Moves records both ways until the socket would block: writes what rustls has queued,
    /// reads and decrypts what arrived (edge-triggered readiness: everything is drained).
    pub fn drive(&mut self, stream: &mut TcpStream) -> Result<(), TlsFailure> {
        loop {
            while self.conn.wants_write() {
                match self.conn.write_tls(stream) {
                    Ok(0) => return Err(TlsFailure::Io(ErrorKind::WriteZero.into())),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(TlsFailure::Io(e)),
                }
            }
            let mut got = false;
            while !self.socket_eof && self.conn.wants_read() {
                match self.conn.read_tls(stream) {
                    Ok(0) => self.socket_eof = true,
                    Ok(_) => {
                        got = true;
                        self.conn.process_new_packets().map_err(|e| {
                            // Tell the server why (an alert), as OpenSSL does.
                            let _ = self.conn.write_tls(stream);
                            TlsFailure::Tls(e)
                        })?;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(TlsFailure::Io(e)),
                }
            }
            // What was read may call for an answer (the rest of a handshake).
            if !(got && self.conn.wants_write()) {
                return Ok(());
            }
        }
    }

    /// Appends decrypted data to `input` (up to `max` bytes in all); `true` at the end of the
    /// stream (close_notify, or the socket closed).
    pub fn read_plain(&mut self, input: &mut Vec<u8>, max: usize) -> bool {
        let mut chunk = [0u8; 4096];
        while input.len() < max {
            match self.conn.reader().read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return self.socket_eof,
                // Closed without close_notify: the answer ends here all the same.
                Err(_) => return true,
            }
        }
        false
    }
}

/// HAProxy's wording for an SSL error on a check (`conn_err_code_str()`), with rustls' detail.
pub fn failure_text(f: &TlsFailure, handshaking: bool) -> String {
    match (f, handshaking) {
        (TlsFailure::Tls(e), true) => format!("SSL handshake failure: {e}"),
        (TlsFailure::Tls(e), false) => format!("SSL error: {e}"),
        (TlsFailure::Io(e), _) => crate::checks::status::os_error_text(e),
    }
}
