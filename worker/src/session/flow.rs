//! One direction of a TCP session: bytes read from a source socket, held in a pooled buffer,
//! written to a sink socket, and the source's FIN turned into `shutdown(Write)` on the sink once
//! everything before it has been written (half-close).
//!
//! Sockets are edge-triggered, so each side keeps what the kernel last told us ([`Ready`]) and a
//! pump only makes the syscalls that can succeed: a short read means the receive queue is empty
//! and a short write means the send queue is full, both until the next event.

use crate::buffer::{BufferPool, BUFFER_SIZE};
use mio::net::TcpStream;
use std::io::{self, Read, Write};
use std::net::Shutdown;

/// What the kernel last reported for one socket.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub readable: bool,
    pub writable: bool,
    /// The peer closed or the socket failed: read until EOF/error even after a short read.
    pub hup: bool,
}

impl Default for Ready {
    /// A fresh socket is tried at once; an empty read costs one syscall, a missed one a round trip.
    fn default() -> Self {
        Ready { readable: true, writable: true, hup: false }
    }
}

impl Ready {
    pub fn update(&mut self, ev: &mio::event::Event) {
        if ev.is_read_closed() || ev.is_error() {
            self.hup = true;
        }
        if ev.is_readable() || self.hup {
            self.readable = true;
        }
        if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
            self.writable = true;
        }
    }
}

/// Bytes one pump moved.
#[derive(Debug, Default, Clone, Copy)]
pub struct Moved {
    pub read: u64,
    pub written: u64,
}

/// Which end of a flow failed.
#[derive(Debug)]
pub enum FlowError {
    Source(io::Error),
    Sink(io::Error),
}

#[derive(Default)]
pub struct Flow {
    buf: Option<Box<[u8]>>,
    start: usize,
    end: usize,
    /// The source sent FIN.
    pub eof: bool,
    /// The sink's write side is shut (FIN passed on).
    pub shut: bool,
    /// Bytes read from the source so far.
    pub bytes: u64,
}

impl Flow {
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// No room to read more until the sink takes some.
    pub fn is_full(&self) -> bool {
        self.buf.is_some() && self.end == BUFFER_SIZE
    }

    pub fn done(&self) -> bool {
        self.eof && self.shut
    }

    /// Moves what it can from `src` to `dst`. Without a sink (server not connected yet) it only
    /// buffers.
    pub fn pump(
        &mut self,
        src: &TcpStream,
        src_ready: &mut Ready,
        mut dst: Option<(&TcpStream, &mut Ready)>,
        pool: &mut BufferPool,
    ) -> Result<Moved, FlowError> {
        let mut moved = Moved::default();
        loop {
            if self.pending() > 0 {
                let Some((sink, sink_ready)) = dst.as_mut() else { break };
                if !sink_ready.writable {
                    break;
                }
                let Some(buf) = self.buf.as_deref() else { break };
                match (&**sink).write(&buf[self.start..self.end]) {
                    Ok(n) => {
                        moved.written += n as u64;
                        let wanted = self.end - self.start;
                        self.start += n;
                        if self.start == self.end {
                            self.start = 0;
                            self.end = 0;
                        }
                        if n < wanted {
                            sink_ready.writable = false;
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        sink_ready.writable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(FlowError::Sink(e)),
                }
                continue;
            }
            if self.eof {
                if let Some((sink, _)) = dst.as_ref() {
                    if !self.shut {
                        // A peer that already reset makes this fail; its next read reports why.
                        let _ = sink.shutdown(Shutdown::Write);
                        self.shut = true;
                    }
                }
                break;
            }
            if !src_ready.readable || self.is_full() {
                break;
            }
            let buf = self.buf.get_or_insert_with(|| pool.take());
            let room = buf.len() - self.end;
            match (&*src).read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    src_ready.readable = false;
                }
                Ok(n) => {
                    self.end += n;
                    self.bytes += n as u64;
                    moved.read += n as u64;
                    if n < room && !src_ready.hup {
                        src_ready.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => src_ready.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FlowError::Source(e)),
            }
        }
        if self.pending() == 0 {
            self.release(pool);
        }
        Ok(moved)
    }

    /// Gives the buffer back to the pool.
    pub fn release(&mut self, pool: &mut BufferPool) {
        if let Some(b) = self.buf.take() {
            pool.give(b);
        }
        self.start = 0;
        self.end = 0;
    }
}
