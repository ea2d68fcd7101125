//! One direction of a TCP session: bytes read from a source socket, held in a pooled buffer,
//! written to a sink socket, and the source's FIN turned into `shutdown(Write)` on the sink once
//! everything before it has been written (half-close).
//!
//! Sockets are edge-triggered, so each side keeps what the kernel last told us ([`Ready`]) and a
//! pump only makes the syscalls that can succeed: a short read means the receive queue is empty
//! and a short write means the send queue is full, both until the next event.
//!
//! A direction that shows bulk traffic (a read fills the whole buffer) switches to splice(2):
//! socket → pipe → socket inside the kernel, without copying through user space.

use crate::buffer::{recv_spare, Pools, ReadOutcome, BUFFER_SIZE};
use crate::pipe::Pipe;
pub use crate::ready::Ready;
use crate::transport::Endpoint;
use mio::net::TcpStream;
use nix::errno::Errno;
use nix::fcntl::{splice, SpliceFFlags};
use nix::sys::socket::MsgFlags;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;

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
    /// Bytes `start..len()` wait for the sink.
    buf: Option<Vec<u8>>,
    start: usize,
    /// Bulk traffic seen: forward with splice(2) from now on.
    bulk: bool,
    pipe: Option<Pipe>,
    in_pipe: usize,
    /// The source sent FIN.
    pub eof: bool,
    /// The sink's write side is shut (FIN passed on).
    pub shut: bool,
    /// The opposite direction has finished (set by the session before each pump).
    pub other_done: bool,
    /// Bytes read from the source so far.
    pub bytes: u64,
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// send(2) with MSG_NOSIGNAL, as std's `TcpStream::write`, plus MSG_MORE when `more` (nix's
/// `MsgFlags` names no MSG_MORE, so the bit is passed as is).
fn send(sink: &TcpStream, data: &[u8], more: bool) -> io::Result<usize> {
    let bits = nix::libc::MSG_NOSIGNAL | if more { nix::libc::MSG_MORE } else { 0 };
    nix::sys::socket::send(sink.as_raw_fd(), data, MsgFlags::from_bits_retain(bits)).map_err(errno_io)
}

impl Flow {
    fn buffered(&self) -> usize {
        self.buf.as_ref().map_or(0, |b| b.len() - self.start)
    }

    /// Bytes read but not yet written, in the buffer or the pipe.
    pub fn pending(&self) -> usize {
        self.buffered() + self.in_pipe
    }

    /// The bytes read and not yet written (what content inspection looks at: nothing has been
    /// written before the server is chosen).
    pub fn peek(&self) -> &[u8] {
        self.buf.as_deref().map_or(&[], |b| &b[self.start..])
    }

    /// No room to read more until the sink takes some.
    pub fn is_full(&self) -> bool {
        self.buf.as_ref().is_some_and(|b| b.len() >= BUFFER_SIZE) || self.in_pipe > 0
    }

    /// Drops what waits for the sink and ends the flow: its sink is gone (`tcp-response
    /// content close` shut the server connection).
    pub fn discard(&mut self, pools: &mut Pools) {
        if let Some(b) = self.buf.take() {
            pools.buffers.give(b);
        }
        self.start = 0;
        self.pipe = None;
        self.in_pipe = 0;
        self.eof = true;
        self.shut = true;
    }

    pub fn done(&self) -> bool {
        self.eof && self.shut
    }

    /// Passes the source's FIN on. When the other direction is already finished the session
    /// closes both sockets right after, and close() sends the FIN: no shutdown call needed.
    fn pass_fin(&mut self, sink: &TcpStream) {
        if !self.shut {
            if !self.other_done {
                // A peer that already reset makes this fail; its next read reports why.
                let _ = sink.shutdown(Shutdown::Write);
            }
            self.shut = true;
        }
    }

    /// Moves what it can from `src` to `dst`. Without a sink (server not connected yet) it only
    /// buffers.
    pub fn pump(
        &mut self,
        src: &TcpStream,
        src_ready: &mut Ready,
        mut dst: Option<(&TcpStream, &mut Ready)>,
        pools: &mut Pools,
    ) -> Result<Moved, FlowError> {
        let mut moved = Moved::default();
        loop {
            // Without a sink yet, data stays buffered and reading goes on (to see the client's
            // FIN or reset while its session waits for a server).
            if let (true, Some((sink, sink_ready))) = (self.buffered() > 0, dst.as_mut()) {
                if !sink_ready.writable {
                    break;
                }
                let Some(buf) = self.buf.as_mut() else { break };
                // The source's FIN is already known, and the FIN (shutdown, or close() when the
                // other direction is done) follows as soon as this is written: MSG_MORE holds the
                // bytes back so the FIN leaves in the same segment, as HAProxy does when it
                // forwards data and a shutdown together (saves the client a segment and an ACK).
                match send(sink, &buf[self.start..], self.eof && !self.shut) {
                    Ok(n) => {
                        moved.written += n as u64;
                        let wanted = buf.len() - self.start;
                        self.start += n;
                        if self.start == buf.len() {
                            self.start = 0;
                            buf.clear();
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
            if self.bulk && self.buffered() == 0 {
                if let Some((sink, sink_ready)) = dst.as_mut() {
                    self.splice_pump(src, src_ready, sink, sink_ready, pools, &mut moved)?;
                    break;
                }
            }
            if self.eof {
                if let Some((sink, _)) = dst.as_ref() {
                    self.pass_fin(sink);
                }
                break;
            }
            if !src_ready.readable || self.is_full() {
                break;
            }
            let buf = self.buf.get_or_insert_with(|| pools.buffers.take());
            let room = BUFFER_SIZE - buf.len();
            match recv_spare(src, buf, room) {
                Ok(0) => {
                    self.eof = true;
                    src_ready.readable = false;
                }
                Ok(n) => {
                    self.bytes += n as u64;
                    moved.read += n as u64;
                    if n == BUFFER_SIZE {
                        self.bulk = true;
                    }
                    if n < room && src_ready.fin {
                        // Everything before the peer's FIN is read: no read returning 0 needed.
                        self.eof = true;
                        src_ready.readable = false;
                    } else if n < room && !src_ready.hup {
                        src_ready.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => src_ready.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FlowError::Source(e)),
            }
        }
        if self.buffered() == 0 {
            if let Some(b) = self.buf.take() {
                pools.buffers.give(b);
            }
            self.start = 0;
        }
        Ok(moved)
    }

    /// Bulk forwarding: fill an empty pipe from the source, drain it into the sink, repeat.
    /// Splicing into an empty pipe makes EAGAIN unambiguous (the socket is empty, not the pipe
    /// full).
    fn splice_pump(
        &mut self,
        src: &TcpStream,
        src_ready: &mut Ready,
        sink: &TcpStream,
        sink_ready: &mut Ready,
        pools: &mut Pools,
        moved: &mut Moved,
    ) -> Result<(), FlowError> {
        let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
        loop {
            if self.in_pipe > 0 {
                if !sink_ready.writable {
                    break;
                }
                let Some(pipe) = self.pipe.as_ref() else { break };
                match splice(&pipe.read, None, sink, None, self.in_pipe, flags) {
                    Ok(n) => {
                        self.in_pipe -= n;
                        moved.written += n as u64;
                    }
                    Err(Errno::EAGAIN) => {
                        sink_ready.writable = false;
                        break;
                    }
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(FlowError::Sink(errno_io(e))),
                }
                continue;
            }
            if self.eof {
                self.pass_fin(sink);
                break;
            }
            if !src_ready.readable {
                break;
            }
            if self.pipe.is_none() {
                match pools.pipes.take() {
                    Some(p) => self.pipe = Some(p),
                    None => {
                        // Out of descriptors: copy instead.
                        self.bulk = false;
                        return Ok(());
                    }
                }
            }
            let Some(pipe) = self.pipe.as_ref() else { break };
            match splice(src, None, &pipe.write, None, pipe.size, flags) {
                Ok(0) => {
                    self.eof = true;
                    src_ready.readable = false;
                }
                Ok(n) => {
                    self.in_pipe += n;
                    self.bytes += n as u64;
                    moved.read += n as u64;
                }
                Err(Errno::EAGAIN) => src_ready.readable = false,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(FlowError::Source(errno_io(e))),
            }
        }
        if self.in_pipe == 0 {
            if let Some(p) = self.pipe.take() {
                pools.pipes.give(p);
            }
        }
        Ok(())
    }

    /// As [`Flow::pump`] between plaintext endpoints, one of them a TLS connection: always
    /// through the buffer (splice cannot see plaintext). The FIN is passed on only once the
    /// sink holds nothing more (a TLS sink sends close_notify first).
    pub fn pump_ends(&mut self, src: &mut dyn Endpoint, mut dst: Option<&mut dyn Endpoint>, pools: &mut Pools) -> Result<Moved, FlowError> {
        let mut moved = Moved::default();
        loop {
            if let Some(sink) = dst.as_mut() {
                let pending = self.buffered() > 0;
                if pending || sink.held() {
                    let data = self.buf.as_deref().map_or(&[][..], |b| &b[self.start..]);
                    let n = sink.send(data).map_err(FlowError::Sink)?;
                    moved.written += n as u64;
                    self.start += n;
                    if let Some(buf) = self.buf.as_mut().filter(|b| self.start == b.len()) {
                        self.start = 0;
                        buf.clear();
                    }
                    if (pending && n == 0) || sink.held() {
                        break;
                    }
                    continue;
                }
            }
            if self.eof {
                if let (Some(sink), false) = (dst.as_mut(), self.shut) {
                    if !self.other_done {
                        sink.shutdown_write();
                    }
                    self.shut = true;
                }
                break;
            }
            if !src.readable() || self.is_full() {
                break;
            }
            let buf = self.buf.get_or_insert_with(|| pools.buffers.take());
            let room = BUFFER_SIZE - buf.len();
            match src.recv(buf, room).map_err(FlowError::Source)? {
                ReadOutcome::Eof => self.eof = true,
                ReadOutcome::Data(n) => {
                    self.bytes += n as u64;
                    moved.read += n as u64;
                }
                ReadOutcome::Empty => break,
            }
        }
        if self.buffered() == 0 {
            if let Some(b) = self.buf.take() {
                pools.buffers.give(b);
            }
            self.start = 0;
        }
        Ok(moved)
    }

    /// Gives the buffer and pipe back (the session is ending). A pipe still holding bytes is
    /// closed rather than reused.
    pub fn release(&mut self, pools: &mut Pools) {
        if let Some(b) = self.buf.take() {
            pools.buffers.give(b);
        }
        if let Some(p) = self.pipe.take() {
            if self.in_pipe == 0 {
                pools.pipes.give(p);
            }
        }
        self.start = 0;
        self.in_pipe = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;

    /// A connected pair: (our non-blocking mio end, the peer's blocking std end).
    fn pair() -> (TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (TcpStream::from_std(ours), peer)
    }

    #[test]
    fn data_and_fin_are_passed_on_together() {
        let (src, mut client) = pair();
        let (sink, mut server) = pair();
        client.write_all(b"hello").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let (mut pools, mut flow) = (Pools::default(), Flow::default());
        let mut src_ready = Ready { readable: true, writable: true, hup: true, fin: true };
        let mut sink_ready = Ready::default();
        let moved = flow.pump(&src, &mut src_ready, Some((&sink, &mut sink_ready)), &mut pools).unwrap();
        assert_eq!((moved.read, moved.written, flow.eof, flow.shut), (5, 5, true, true));
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello", "the bytes, then EOF");
        assert_eq!(pools.buffers.allocated(), pools.buffers.pooled(), "the buffer went back");
    }

    /// With the FIN reported, a short read is the last one: no read returning 0 follows (the
    /// peer here has not really closed, so another read would find nothing and leave `eof`
    /// unset).
    #[test]
    fn a_short_read_after_the_fin_ends_the_source_without_another_read() {
        let (src, mut client) = pair();
        let (sink, _server) = pair();
        client.write_all(b"abc").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let (mut pools, mut flow) = (Pools::default(), Flow::default());
        let mut src_ready = Ready { readable: true, writable: true, hup: true, fin: true };
        let mut sink_ready = Ready::default();
        flow.pump(&src, &mut src_ready, None, &mut pools).unwrap();
        assert!(flow.eof && !src_ready.readable);
        let mut hup_only = Ready { readable: true, writable: true, hup: true, fin: false };
        let mut flow2 = Flow::default();
        client.write_all(b"def").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        flow2.pump(&src, &mut hup_only, Some((&sink, &mut sink_ready)), &mut pools).unwrap();
        assert!(!flow2.eof && !hup_only.readable, "without the FIN, reading goes on until EAGAIN");
        flow.release(&mut pools);
        flow2.release(&mut pools);
    }
}
