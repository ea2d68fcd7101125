//! A connection that is plain or TLS behind `Read`/`Write`, for code that reads and writes a
//! non-blocking socket until `WouldBlock` (the stats page): the TLS handshake runs inside the
//! first reads and writes, a failed one is an error, and plaintext comes out as from the
//! socket itself.

use super::conn::{Handshake, TlsConn};
use super::TlsEnd;
use crate::buffer::ReadOutcome;
use crate::ready::Ready;
use crate::transport::Endpoint;
use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};

pub enum MaybeTls {
    Plain(TcpStream),
    Tls(TcpStream, Box<TlsConn>),
}

/// The caller retries on every event until `WouldBlock`: each call may try the socket.
fn fresh() -> Ready {
    Ready { readable: true, writable: true, hup: false, fin: false }
}

impl MaybeTls {
    /// The socket, to register with a poll.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            MaybeTls::Plain(s) | MaybeTls::Tls(s, _) => s,
        }
    }

    /// Runs the handshake while it is not done: `Ok(())` once it is.
    fn handshake(sock: &TcpStream, tls: &mut TlsConn) -> io::Result<()> {
        if !tls.is_handshaking() {
            return Ok(());
        }
        match tls.handshake(sock, &mut fresh()) {
            Handshake::Done => Ok(()),
            Handshake::Pending => Err(ErrorKind::WouldBlock.into()),
            Handshake::Failed(f) => Err(io::Error::new(ErrorKind::InvalidData, f.message())),
        }
    }

    /// Pushes out encrypted bytes still held (a slow reader): call again on later events.
    pub fn flush_held(&mut self) {
        if let MaybeTls::Tls(sock, tls) = self {
            let mut ready = fresh();
            let _ = TlsEnd { tls, sock, ready: &mut ready }.send(&[]);
        }
    }

    /// Ends the write direction (TLS: close_notify, then FIN once it is out).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(s) => s.shutdown(std::net::Shutdown::Write),
            MaybeTls::Tls(sock, tls) => {
                tls.close(sock, &mut fresh());
                Ok(())
            }
        }
    }
}

impl Read for MaybeTls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.read(buf),
            MaybeTls::Tls(sock, tls) => {
                Self::handshake(sock, tls)?;
                let mut ready = fresh();
                let mut v = Vec::with_capacity(buf.len());
                match (TlsEnd { tls, sock, ready: &mut ready }).recv(&mut v, buf.len())? {
                    ReadOutcome::Data(n) => {
                        buf[..n].copy_from_slice(&v[..n]);
                        Ok(n)
                    }
                    ReadOutcome::Eof => Ok(0),
                    ReadOutcome::Empty => Err(ErrorKind::WouldBlock.into()),
                }
            }
        }
    }
}

impl Write for MaybeTls {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.write(data),
            MaybeTls::Tls(sock, tls) => {
                Self::handshake(sock, tls)?;
                let mut ready = fresh();
                match (TlsEnd { tls, sock, ready: &mut ready }).send(data)? {
                    0 if !data.is_empty() => Err(ErrorKind::WouldBlock.into()),
                    n => Ok(n),
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
