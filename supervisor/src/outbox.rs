//! One child's outbox: the frames the supervisor sends it, written when its socket is writable,
//! never waited on. A child that stops reading (a wedged event loop, SIGSTOP) lets its socket
//! buffer fill; its frames then queue here, and past a bound (the policy's `outbox_bound`, in
//! frames) the supervisor kills and restarts it instead of stalling: the supervisor must keep
//! reaping, restarting, answering ctl and obeying SIGTERM whatever a child does.

use hakeeper_common::ipc::{write_some, IpcError};
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

struct Frame {
    bytes: Vec<u8>,
    /// Sent with the frame's first byte (copies, so that a reload closing a listener cannot
    /// pull a descriptor from under a queued frame).
    fds: Vec<OwnedFd>,
    written: usize,
}

/// The frame pushed made the outbox hold more than its bound.
#[derive(Debug, PartialEq, Eq)]
pub struct Overflow {
    pub queued: usize,
}

#[derive(Default)]
pub struct Outbox {
    frames: VecDeque<Frame>,
}

impl Outbox {
    /// Queues one encoded frame; `Err` when that makes more than `bound` frames wait.
    pub fn push(&mut self, bytes: Vec<u8>, fds: Vec<OwnedFd>, bound: usize) -> Result<(), Overflow> {
        self.frames.push_back(Frame { bytes, fds, written: 0 });
        if self.frames.len() > bound {
            return Err(Overflow { queued: self.frames.len() });
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Writes what the socket takes now; `Ok(true)` once everything went.
    pub fn flush(&mut self, sock: BorrowedFd<'_>) -> Result<bool, IpcError> {
        while let Some(frame) = self.frames.front_mut() {
            let fds: Vec<RawFd> = if frame.written == 0 { frame.fds.iter().map(|f| f.as_raw_fd()).collect() } else { Vec::new() };
            let n = write_some(sock, &frame.bytes[frame.written..], &fds)?;
            if n == 0 {
                return Ok(false);
            }
            frame.written += n;
            if frame.written == frame.bytes.len() {
                self.frames.pop_front();
            }
        }
        Ok(true)
    }

    /// Drops what is queued (the child is gone or being killed).
    pub fn clear(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::ipc::{encode_frame, FrameReader, ToVrrp};
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsFd;

    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK).expect("socketpair")
    }

    #[test]
    fn a_reader_that_stops_fills_the_outbox_to_its_bound_and_nothing_waits() {
        let (ours, theirs) = pair();
        let mut outbox = Outbox::default();
        let start = std::time::Instant::now();
        let mut pushed = 0usize;
        let overflow = loop {
            let frame = encode_frame(&ToVrrp::Ping(pushed as u64), 0).expect("encode");
            pushed += 1;
            if let Err(o) = outbox.push(frame, Vec::new(), 100) {
                break o;
            }
            outbox.flush(ours.as_fd()).expect("flush");
            assert!(pushed < 1_000_000, "the socket buffer never filled");
        };
        assert_eq!(overflow, Overflow { queued: 101 });
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "filling took {:?}", start.elapsed());
        // The reader comes back: everything arrives, in order.
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        while got.len() < pushed {
            outbox.flush(ours.as_fd()).expect("flush");
            let _ = reader.read_from(theirs.as_fd()).expect("read");
            while let Some((ToVrrp::Ping(n), _)) = reader.next::<ToVrrp>().expect("decode") {
                got.push(n);
            }
        }
        assert!(outbox.is_empty());
        assert_eq!(got, (0..pushed as u64).collect::<Vec<_>>());
    }

    #[test]
    fn descriptors_go_with_the_first_byte_of_their_frame() {
        let (ours, theirs) = pair();
        let mut outbox = Outbox::default();
        let file = std::fs::File::open("/proc/self/status").expect("open");
        let dup = file.as_fd().try_clone_to_owned().expect("dup");
        outbox.push(encode_frame(&ToVrrp::Shutdown, 1).expect("encode"), vec![dup], 10).expect("push");
        drop(file);
        assert!(outbox.flush(ours.as_fd()).expect("flush"), "everything went");
        let mut reader = FrameReader::new();
        let (msg, fds) = reader.recv_blocking::<ToVrrp>(theirs.as_fd()).expect("recv");
        assert_eq!((msg, fds.len()), (ToVrrp::Shutdown, 1));
    }

    #[test]
    fn a_closed_peer_is_an_error_not_a_wait() {
        let (ours, theirs) = pair();
        drop(theirs);
        let mut outbox = Outbox::default();
        outbox.push(encode_frame(&ToVrrp::Shutdown, 0).expect("encode"), Vec::new(), 10).expect("push");
        assert!(matches!(outbox.flush(ours.as_fd()), Err(IpcError::Closed)));
    }
}
