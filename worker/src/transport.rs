//! One end of a byte stream as the protocols see it: plaintext in and out, whatever the
//! socket carries. [`PlainEnd`] is the socket itself; [`crate::tls::TlsEnd`] decrypts and
//! encrypts under it. The fast paths (`Buf::recv`/`flush`, splice in `mode tcp`) stay on
//! plain sockets; a TLS session's bytes go through this interface. Both read with
//! [`recv_spare`] and report a [`ReadOutcome`], which live here ([`crate::buffer`] re-exports
//! them) so that the arrow between the two modules points one way.

use crate::ready::Ready;
use mio::net::TcpStream;
use std::io::{self, Write};

/// One `recv` into `buf`'s spare capacity (at most `max` bytes). Zeroing the space first (as
/// `resize` + `read` would) cost more CPU than parsing a small request.
pub fn recv_spare(src: &TcpStream, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let old = buf.len();
    let spare = buf.spare_capacity_mut();
    let want = spare.len().min(max);
    // SAFETY: recv writes at most `want` bytes into the spare capacity, which has at least that
    // many, and `set_len` exposes only the bytes it reports written.
    let n = unsafe { nix::libc::recv(src.as_raw_fd(), spare.as_mut_ptr().cast(), want, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: see above; n <= want <= spare capacity.
    unsafe { buf.set_len(old + n) };
    Ok(n)
}

/// What a read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// `n` bytes appended.
    Data(usize),
    /// The peer sent FIN.
    Eof,
    /// Nothing to read now (or no room).
    Empty,
}

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
        match recv_spare(self.sock, buf, max) {
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
