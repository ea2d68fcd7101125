//! Byte movement for HTTP sessions: reads appended to a growable input buffer, and an output
//! buffer drained by non-blocking writes. Both keep the edge-triggered readiness of their socket
//! up to date, as the TCP flows do.

use crate::session::flow::Ready;
use mio::net::TcpStream;
use std::io::{self, Write};

/// Bytes one read may add.
const READ_CHUNK: usize = 16 * 1024;

/// What a read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// `n` bytes appended.
    Data(usize),
    /// The peer sent FIN.
    Eof,
    /// Nothing to read now.
    Empty,
}

/// Reads once from `src` into the end of `buf`.
pub fn read_into(src: &TcpStream, ready: &mut Ready, buf: &mut Vec<u8>) -> io::Result<ReadOutcome> {
    if !ready.readable {
        return Ok(ReadOutcome::Empty);
    }
    match recv_append(src, buf) {
        Ok(0) => {
            ready.readable = false;
            Ok(ReadOutcome::Eof)
        }
        Ok(n) => {
            if n < READ_CHUNK && !ready.hup {
                ready.readable = false;
            }
            Ok(ReadOutcome::Data(n))
        }
        Err(e) => match e.kind() {
            io::ErrorKind::WouldBlock => {
                ready.readable = false;
                Ok(ReadOutcome::Empty)
            }
            io::ErrorKind::Interrupted => Ok(ReadOutcome::Empty),
            _ => Err(e),
        },
    }
}

/// One `recv` of up to [`READ_CHUNK`] bytes straight into `buf`'s spare capacity. Zeroing the
/// chunk first (as `resize` + `read` would) cost more CPU than parsing a small request.
fn recv_append(src: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    buf.reserve(READ_CHUNK);
    let old = buf.len();
    let spare = buf.spare_capacity_mut();
    debug_assert!(spare.len() >= READ_CHUNK);
    // SAFETY: `reserve` guarantees at least READ_CHUNK bytes of spare capacity, recv writes at
    // most READ_CHUNK bytes there, and `set_len` exposes only the bytes it reports written.
    let n = unsafe { nix::libc::recv(src.as_raw_fd(), spare.as_mut_ptr().cast(), READ_CHUNK, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: see above; n <= READ_CHUNK <= spare capacity.
    unsafe { buf.set_len(old + n) };
    Ok(n)
}

/// Bytes waiting to be written to one socket.
#[derive(Debug, Default)]
pub struct OutBuf {
    buf: Vec<u8>,
    pos: usize,
}

impl OutBuf {
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pending() == 0
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to append to in place (a head written by the HTTP layer).
    pub fn tail(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// Writes what the socket takes; returns the bytes written.
    pub fn flush(&mut self, dst: &TcpStream, ready: &mut Ready) -> io::Result<usize> {
        let mut total = 0;
        while self.pending() > 0 && ready.writable {
            match (&*dst).write(&self.buf[self.pos..]) {
                Ok(n) => {
                    let wanted = self.pending();
                    self.pos += n;
                    total += n;
                    if n < wanted {
                        ready.writable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.pos == self.buf.len() {
            self.clear();
        }
        Ok(total)
    }
}
