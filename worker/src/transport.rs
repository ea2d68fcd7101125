//! One end of a byte stream as the protocols see it: plaintext in and out, whatever the
//! socket carries. [`PlainEnd`] is the socket itself; [`crate::tls::TlsEnd`] decrypts and
//! encrypts under it. The fast paths (`Buf::recv`/`flush`, splice in `mode tcp`) stay on
//! plain sockets; a TLS session's bytes go through this interface.

use crate::buffer::ReadOutcome;
use crate::ready::Ready;
use mio::net::TcpStream;
use std::io::{self, Write};

pub trait Endpoint {
    /// Appends at most `max` plaintext bytes to `buf`.
    fn recv(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<ReadOutcome>;
    /// Whether a read may find something (edge-triggered readiness, or plaintext held).
    fn readable(&mut self) -> bool;
    /// Takes what it can of `data`; 0 when it can take nothing now. Also pushes out anything
    /// held (encrypted records), so `send(&[])` flushes.
    fn send(&mut self, data: &[u8]) -> io::Result<usize>;
    /// Bytes taken but not yet on the wire.
    fn held(&self) -> bool;
    /// Ends the write direction (TLS: close_notify first).
    fn shutdown_write(&mut self);
}

/// A plain socket and its readiness.
pub struct PlainEnd<'a> {
    pub sock: &'a TcpStream,
    pub ready: &'a mut Ready,
}

impl Endpoint for PlainEnd<'_> {
    fn recv(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<ReadOutcome> {
        if !self.ready.readable || max == 0 {
            return Ok(ReadOutcome::Empty);
        }
        match crate::buffer::recv_spare(self.sock, buf, max) {
            Ok(0) => {
                self.ready.readable = false;
                Ok(ReadOutcome::Eof)
            }
            Ok(n) => {
                if n < max && !self.ready.hup {
                    self.ready.readable = false;
                }
                Ok(ReadOutcome::Data(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.ready.readable = false;
                Ok(ReadOutcome::Empty)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(ReadOutcome::Empty),
            Err(e) => Err(e),
        }
    }

    fn readable(&mut self) -> bool {
        self.ready.readable
    }

    fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() || !self.ready.writable {
            return Ok(0);
        }
        match (&*self.sock).write(data) {
            Ok(n) => {
                if n < data.len() {
                    self.ready.writable = false;
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.ready.writable = false;
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn held(&self) -> bool {
        false
    }

    fn shutdown_write(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }
}
