//! Byte buffers, one pipeline for both modes: a [`Buf`] holds the bytes read from one socket and
//! not yet passed on, in a 16 KiB vector taken from the thread's pool only while it holds bytes
//! and given back as soon as it drains, so an idle connection holds none (HAProxy's
//! `tune.bufsize` buffers, allocated on demand).

use crate::pipe::PipePool;
use crate::ready::Ready;
// The socket-level read shared with the transports, where it lives.
pub use crate::transport::{recv_spare, ReadOutcome};
use mio::net::TcpStream;
use std::io::{self, Write};

/// Per-thread pools: buffers, and pipes for splice(2).
#[derive(Default)]
pub struct Pools {
    pub buffers: BufferPool,
    pub pipes: PipePool,
}

/// Size of one buffer (HAProxy's default `tune.bufsize`).
pub const BUFFER_SIZE: usize = 16 * 1024;

/// Buffers kept for reuse per thread; more are freed.
const POOL_KEEP: usize = 64;

#[derive(Default)]
pub struct BufferPool {
    free: Vec<Vec<u8>>,
    allocated: usize,
}

impl BufferPool {
    /// An empty vector with room for [`BUFFER_SIZE`] bytes.
    pub fn take(&mut self) -> Vec<u8> {
        match self.free.pop() {
            Some(b) => b,
            None => {
                self.allocated += 1;
                Vec::with_capacity(BUFFER_SIZE)
            }
        }
    }

    pub fn give(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() < BUFFER_SIZE {
            // Not one of the pool's (a head's bytes copied out of a buffer): freed.
            return;
        }
        // One that grew for an oversized head is not kept at that size.
        if self.free.len() < POOL_KEEP && buf.capacity() <= 2 * BUFFER_SIZE {
            buf.clear();
            self.free.push(buf);
        } else {
            self.allocated -= 1;
        }
    }

    /// Buffers that exist (in use or pooled).
    #[cfg(test)]
    pub fn allocated(&self) -> usize {
        self.allocated
    }

    #[cfg(test)]
    pub fn pooled(&self) -> usize {
        self.free.len()
    }
}

/// Bytes read from one socket or prepared for one, not yet consumed.
#[derive(Debug, Default)]
pub struct Buf {
    data: Option<Vec<u8>>,
    /// Bytes before this are consumed.
    pos: usize,
}

impl Buf {
    pub fn bytes(&self) -> &[u8] {
        self.data.as_deref().map_or(&[], |d| &d[self.pos..])
    }

    pub fn len(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.len() - self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room left before the buffer is full.
    pub fn room(&self) -> usize {
        BUFFER_SIZE.saturating_sub(self.len())
    }

    /// Marks the first `n` bytes as passed on.
    pub fn consume(&mut self, n: usize) {
        if let Some(d) = self.data.as_mut() {
            self.pos = (self.pos + n).min(d.len());
            if self.pos == d.len() {
                d.clear();
                self.pos = 0;
            }
        }
    }

    /// Hands over the first `n` bytes (a parsed head) with as little copying as possible: the
    /// vector itself, truncated after them, with the offset where they start, when what follows
    /// them is shorter than they are (it moves to a fresh pooled vector); otherwise a copy of
    /// them (offset 0) and they are consumed here.
    pub fn take_front(&mut self, n: usize, pools: &mut Pools) -> (Vec<u8>, usize) {
        let n = n.min(self.len());
        let Some(mut d) = self.data.take_if(|d| d.len() - self.pos - n <= n) else {
            let head = self.bytes()[..n].to_vec();
            self.consume(n);
            return (head, 0);
        };
        let (start, end) = (self.pos, self.pos + n);
        if end < d.len() {
            let mut rest = pools.buffers.take();
            rest.extend_from_slice(&d[end..]);
            self.data = Some(rest);
        }
        d.truncate(end);
        self.pos = 0;
        (d, start)
    }

    pub fn clear(&mut self) {
        if let Some(d) = self.data.as_mut() {
            d.clear();
        }
        self.pos = 0;
    }

    /// The vector to append to in place (a head written by the HTTP layer).
    pub fn tail(&mut self, pools: &mut Pools) -> &mut Vec<u8> {
        self.data.get_or_insert_with(|| pools.buffers.take())
    }

    pub fn extend(&mut self, bytes: &[u8], pools: &mut Pools) {
        if !bytes.is_empty() {
            self.tail(pools).extend_from_slice(bytes);
        }
    }

    /// Gives the vector back when nothing is held.
    pub fn release_if_empty(&mut self, pools: &mut Pools) {
        if self.is_empty() {
            if let Some(d) = self.data.take() {
                pools.buffers.give(d);
            }
            self.pos = 0;
        }
    }

    /// Gives the vector back whatever it holds (the connection ends).
    pub fn release(&mut self, pools: &mut Pools) {
        if let Some(d) = self.data.take() {
            pools.buffers.give(d);
        }
        self.pos = 0;
    }

    /// Reads once from `src` while there is room, keeping `ready` up to date (edge-triggered:
    /// a short read means the socket is drained until its next event).
    pub fn recv(&mut self, src: &TcpStream, ready: &mut Ready, pools: &mut Pools) -> io::Result<ReadOutcome> {
        if !ready.readable || self.room() == 0 {
            return Ok(ReadOutcome::Empty);
        }
        let d = self.data.get_or_insert_with(|| pools.buffers.take());
        if d.capacity() - d.len() < BUFFER_SIZE - (d.len() - self.pos) {
            // Consumed bytes at the front: move what is left down before reading more.
            d.drain(..self.pos);
            self.pos = 0;
            d.reserve(BUFFER_SIZE.saturating_sub(d.len()));
        }
        let want = BUFFER_SIZE - (d.len() - self.pos);
        match recv_spare(src, d, want) {
            Ok(0) => {
                ready.readable = false;
                Ok(ReadOutcome::Eof)
            }
            Ok(n) => {
                if n < want && !ready.hup {
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

    /// Reads once from a plaintext endpoint (a TLS connection) while there is room.
    pub fn recv_from(&mut self, src: &mut dyn crate::transport::Endpoint, pools: &mut Pools) -> io::Result<ReadOutcome> {
        if self.room() == 0 {
            return Ok(ReadOutcome::Empty);
        }
        let d = self.data.get_or_insert_with(|| pools.buffers.take());
        if d.capacity() - d.len() < BUFFER_SIZE - (d.len() - self.pos) {
            d.drain(..self.pos);
            self.pos = 0;
            d.reserve(BUFFER_SIZE.saturating_sub(d.len()));
        }
        let want = BUFFER_SIZE - (d.len() - self.pos);
        src.recv(d, want)
    }

    /// Writes what a plaintext endpoint takes (and pushes out what it holds); returns the
    /// bytes taken.
    pub fn flush_to(&mut self, dst: &mut dyn crate::transport::Endpoint) -> io::Result<usize> {
        let n = dst.send(self.bytes())?;
        self.consume(n);
        Ok(n)
    }

    /// Writes what the socket takes; returns the bytes written.
    pub fn flush(&mut self, dst: &TcpStream, ready: &mut Ready) -> io::Result<usize> {
        let mut total = 0;
        while !self.is_empty() && ready.writable {
            match (&*dst).write(self.bytes()) {
                Ok(n) => {
                    let wanted = self.len();
                    self.consume(n);
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
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_handed_over_without_a_copy_unless_more_follows_it() {
        let mut pools = Pools::default();
        let mut b = Buf::default();
        b.extend(b"xxGET / HTTP/1.1\r\n\r\nab", &mut pools);
        b.consume(2);
        let (v, at) = b.take_front(18, &mut pools);
        assert_eq!((&v[at..], v.capacity() >= BUFFER_SIZE), (&b"GET / HTTP/1.1\r\n\r\n"[..], true), "the vector itself");
        assert_eq!(b.bytes(), b"ab", "the rest moved to a fresh one");
        pools.buffers.give(v);
        b.extend(b"cdefgh", &mut pools);
        let (v, at) = b.take_front(2, &mut pools);
        assert_eq!((&v[at..], v.capacity() < 16), (&b"ab"[..], true), "more follows: a copy");
        assert_eq!(b.bytes(), b"cdefgh");
    }

    #[test]
    fn buffers_are_reused() {
        let mut p = BufferPool::default();
        let a = p.take();
        assert_eq!(a.capacity(), BUFFER_SIZE);
        p.give(a);
        let _b = p.take();
        assert_eq!(p.allocated(), 1);
        assert_eq!(p.pooled(), 0);
    }

    #[test]
    fn a_buf_holds_a_pooled_vector_only_while_it_holds_bytes() {
        let mut pools = Pools::default();
        let mut b = Buf::default();
        b.extend(b"hello world", &mut pools);
        assert_eq!((b.bytes(), pools.buffers.allocated()), (&b"hello world"[..], 1));
        b.consume(6);
        assert_eq!(b.bytes(), b"world");
        b.release_if_empty(&mut pools);
        assert_eq!(pools.buffers.pooled(), 0, "still holds bytes");
        b.consume(5);
        assert!(b.is_empty());
        b.release_if_empty(&mut pools);
        assert_eq!((pools.buffers.pooled(), pools.buffers.allocated()), (1, 1));
        // An oversized one is freed instead of pooled.
        b.extend(&vec![b'x'; 3 * BUFFER_SIZE], &mut pools);
        assert_eq!(b.room(), 0);
        b.release(&mut pools);
        assert_eq!((pools.buffers.pooled(), pools.buffers.allocated()), (0, 0));
    }

    #[test]
    fn reads_stop_when_full_and_compact_after_consuming() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (s, _) = listener.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        let s = TcpStream::from_std(s);
        peer.write_all(&vec![b'a'; BUFFER_SIZE + 100]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut pools = Pools::default();
        let mut b = Buf::default();
        let mut ready = Ready::default();
        let mut got = 0;
        while let Ok(ReadOutcome::Data(n)) = b.recv(&s, &mut ready, &mut pools) {
            got += n;
        }
        assert_eq!((got, b.len(), b.room()), (BUFFER_SIZE, BUFFER_SIZE, 0), "full: no more read");
        b.consume(1000);
        ready.readable = true;
        assert_eq!(b.recv(&s, &mut ready, &mut pools).unwrap(), ReadOutcome::Data(100));
        assert_eq!(b.len(), BUFFER_SIZE - 900);
        assert!(b.bytes().iter().all(|&c| c == b'a'));
    }
}
