//! Framing over the supervisor's Unix socketpairs.
//!
//! A frame is a big-endian u32 payload length, a big-endian u32 count of file descriptors, then
//! the payload (a RON-encoded message). Descriptors travel as SCM_RIGHTS with the frame's first
//! bytes, so they are queued by the time its header is read; the receiver checks the count.
//! Lengths are checked against a maximum before anything is allocated.

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Largest payload accepted (a whole config for a large site fits many times over).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;
/// Most descriptors in one frame (the kernel's SCM_MAX_FD is 253).
pub const MAX_FDS: usize = 250;
const HEADER: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("peer closed the channel")]
    Closed,
    #[error("channel I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("frame announces {0} descriptors, more than {MAX_FDS}")]
    TooManyFds(usize),
    #[error("frame announces {announced} descriptors but {received} arrived")]
    MissingFds { announced: usize, received: usize },
    #[error("cannot encode message: {0}")]
    Encode(String),
    #[error("cannot decode message: {0}")]
    Decode(String),
}

fn nix_io(e: nix::Error) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

/// Sends one message with `fds` attached. Blocks (polling) while the socket buffer is full: for
/// the children's reports to the supervisor, which reads whatever it is doing (its own sends
/// never wait, see [`write_some`]), so the wait ends; the supervisor never calls this.
pub fn send<T: Serialize>(sock: BorrowedFd<'_>, msg: &T, fds: &[RawFd]) -> Result<(), IpcError> {
    let frame = encode_frame(msg, fds.len())?;
    let mut sent = 0;
    while sent < frame.len() {
        let iov = [IoSlice::new(&frame[sent..])];
        let rights = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if sent == 0 && !fds.is_empty() { &rights } else { &[] };
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EAGAIN) => wait_writable(sock)?,
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EPIPE) | Err(nix::errno::Errno::ECONNRESET) => return Err(IpcError::Closed),
            Err(e) => return Err(IpcError::Io(nix_io(e))),
        }
    }
    Ok(())
}

/// Writes what the (non-blocking) socket takes now of `bytes`, a frame or the rest of one;
/// `fds` go with the first byte, so pass them only when nothing of the frame was written yet.
/// Returns how many bytes went, 0 when the socket buffer is full. Never waits: the supervisor's
/// outboxes (supervisor `outbox.rs`) queue the rest and write it when the socket is writable.
pub fn write_some(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[RawFd]) -> Result<usize, IpcError> {
    let iov = [IoSlice::new(bytes)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT, None) {
            Ok(n) => return Ok(n),
            Err(nix::errno::Errno::EAGAIN) => return Ok(0),
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EPIPE) | Err(nix::errno::Errno::ECONNRESET) => return Err(IpcError::Closed),
            Err(e) => return Err(IpcError::Io(nix_io(e))),
        }
    }
}

/// One frame's bytes: header announcing `nfds` descriptors, then the RON payload (queued as is
/// by the supervisor's outboxes; the fuzz target's round trip uses it too).
pub fn encode_frame<T: Serialize>(msg: &T, nfds: usize) -> Result<Vec<u8>, IpcError> {
    if nfds > MAX_FDS {
        return Err(IpcError::TooManyFds(nfds));
    }
    let payload = ron::to_string(msg).map_err(|e| IpcError::Encode(e.to_string()))?;
    if payload.len() > MAX_FRAME {
        return Err(IpcError::TooLarge(payload.len()));
    }
    let mut frame = Vec::with_capacity(HEADER + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&(nfds as u32).to_be_bytes());
    frame.extend_from_slice(payload.as_bytes());
    Ok(frame)
}

fn wait_writable(sock: BorrowedFd<'_>) -> Result<(), IpcError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(sock, PollFlags::POLLOUT)];
    match poll(&mut fds, PollTimeout::from(1000u16)) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(IpcError::Io(nix_io(e))),
    }
}

/// Reassembles frames from a (possibly non-blocking) stream socket.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    fds: VecDeque<OwnedFd>,
}

/// What one read from the socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes (and maybe descriptors) were queued.
    Data,
    /// Nothing to read now (non-blocking socket).
    WouldBlock,
}

impl FrameReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes read but not yet taken as a whole frame: what a binary upgrade carries over
    /// to the next supervisor (which queues them with `push_bytes`), so that a frame split
    /// across the exec is not lost.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Queues bytes as if the socket had delivered them: the fuzz target's way in (common/fuzz),
    /// and a binary upgrade's (`pending`).
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Reads what the socket has. `Err(Closed)` at end of stream.
    pub fn read_from(&mut self, sock: BorrowedFd<'_>) -> Result<ReadOutcome, IpcError> {
        let mut chunk = [0u8; 64 * 1024];
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        loop {
            let mut iov = [IoSliceMut::new(&mut chunk)];
            match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Ok(msg) => {
                    let n = msg.bytes;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::ScmRights(fds) = c {
                                // SAFETY: the kernel just gave us these descriptors; nothing else owns them.
                                self.fds.extend(fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                            }
                        }
                    }
                    if n == 0 {
                        return Err(IpcError::Closed);
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(ReadOutcome::Data);
                }
                Err(nix::errno::Errno::EAGAIN) => return Ok(ReadOutcome::WouldBlock),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::ECONNRESET) => return Err(IpcError::Closed),
                Err(e) => return Err(IpcError::Io(nix_io(e))),
            }
        }
    }

    /// The next complete message, if one is buffered. (Not an Iterator: it can fail and it is
    /// generic over the message type.)
    #[allow(clippy::should_implement_trait)]
    pub fn next<T: DeserializeOwned>(&mut self) -> Result<Option<(T, Vec<OwnedFd>)>, IpcError> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        let nfds = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if len > MAX_FRAME {
            return Err(IpcError::TooLarge(len));
        }
        if nfds > MAX_FDS {
            return Err(IpcError::TooManyFds(nfds));
        }
        if self.buf.len() < HEADER + len {
            return Ok(None);
        }
        if self.fds.len() < nfds {
            return Err(IpcError::MissingFds { announced: nfds, received: self.fds.len() });
        }
        let fds: Vec<OwnedFd> = self.fds.drain(..nfds).collect();
        let payload: Vec<u8> = self.buf.drain(..HEADER + len).skip(HEADER).collect();
        let text = std::str::from_utf8(&payload).map_err(|e| IpcError::Decode(e.to_string()))?;
        let msg = ron::from_str(text).map_err(|e| IpcError::Decode(e.to_string()))?;
        Ok(Some((msg, fds)))
    }

    /// Blocks until one message arrives (for a child's start-up, before its event loop runs).
    pub fn recv_blocking<T: DeserializeOwned>(&mut self, sock: BorrowedFd<'_>) -> Result<(T, Vec<OwnedFd>), IpcError> {
        loop {
            if let Some(m) = self.next()? {
                return Ok(m);
            }
            if self.read_from(sock)? == ReadOutcome::WouldBlock {
                use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
                let mut fds = [PollFd::new(sock, PollFlags::POLLIN)];
                let _ = poll(&mut fds, PollTimeout::NONE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsFd;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Msg {
        Hello(String),
        Listeners(Vec<u16>),
    }

    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC).unwrap()
    }

    #[test]
    fn messages_and_descriptors_arrive_in_order() {
        let (a, b) = pair();
        let file = std::fs::File::open("/proc/self/status").unwrap();
        send(a.as_fd(), &Msg::Hello("x".into()), &[]).unwrap();
        send(a.as_fd(), &Msg::Listeners(vec![1, 2]), &[file.as_raw_fd(), file.as_raw_fd()]).unwrap();
        let mut r = FrameReader::new();
        let (m, fds) = r.recv_blocking::<Msg>(b.as_fd()).unwrap();
        assert_eq!(m, Msg::Hello("x".into()));
        assert!(fds.is_empty());
        let (m, fds) = r.recv_blocking::<Msg>(b.as_fd()).unwrap();
        assert_eq!(m, Msg::Listeners(vec![1, 2]));
        assert_eq!(fds.len(), 2);
    }

    #[test]
    fn oversized_frame_is_refused_before_allocation() {
        let (a, b) = pair();
        let mut header = Vec::new();
        header.extend_from_slice(&(u32::MAX).to_be_bytes());
        header.extend_from_slice(&0u32.to_be_bytes());
        nix::unistd::write(&a, &header).unwrap();
        let mut r = FrameReader::new();
        assert!(matches!(r.recv_blocking::<Msg>(b.as_fd()), Err(IpcError::TooLarge(_))));
    }

    #[test]
    fn announced_descriptors_that_never_came_are_an_error() {
        let (a, b) = pair();
        let payload = ron::to_string(&Msg::Hello("x".into())).unwrap();
        let mut frame = Vec::new();
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(&3u32.to_be_bytes());
        frame.extend_from_slice(payload.as_bytes());
        nix::unistd::write(&a, &frame).unwrap();
        let mut r = FrameReader::new();
        assert!(matches!(r.recv_blocking::<Msg>(b.as_fd()), Err(IpcError::MissingFds { announced: 3, received: 0 })));
    }

    #[test]
    fn garbage_payload_is_a_decode_error() {
        let (a, b) = pair();
        let mut frame = Vec::new();
        frame.extend_from_slice(&4u32.to_be_bytes());
        frame.extend_from_slice(&0u32.to_be_bytes());
        frame.extend_from_slice(b"\xff{{{");
        nix::unistd::write(&a, &frame).unwrap();
        let mut r = FrameReader::new();
        assert!(matches!(r.recv_blocking::<Msg>(b.as_fd()), Err(IpcError::Decode(_))));
    }

    #[test]
    fn pushed_frames_decode_as_sent_whatever_the_pieces() {
        let mut stream = encode_frame(&Msg::Hello("x".into()), 0).unwrap();
        stream.extend(encode_frame(&Msg::Listeners(vec![7]), 0).unwrap());
        let mut r = FrameReader::new();
        let mut got = Vec::new();
        for piece in stream.chunks(3) {
            r.push_bytes(piece);
            while let Some((m, fds)) = r.next::<Msg>().unwrap() {
                assert!(fds.is_empty());
                got.push(m);
            }
        }
        assert_eq!(got, vec![Msg::Hello("x".into()), Msg::Listeners(vec![7])]);
        assert!(matches!(encode_frame(&Msg::Hello("x".into()), MAX_FDS + 1), Err(IpcError::TooManyFds(_))));
    }

    #[test]
    fn write_some_never_waits_and_the_rest_follows_with_the_descriptors_first() {
        let (a, b) = pair();
        nix::fcntl::fcntl(&a, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK)).unwrap();
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let big = encode_frame(&Msg::Hello("y".repeat(4 * 1024 * 1024)), 1).unwrap();
        let first = write_some(a.as_fd(), &big, &[file.as_raw_fd()]).unwrap();
        assert!(first > 0 && first < big.len(), "a full buffer takes part of the frame: {first}");
        assert_eq!(write_some(a.as_fd(), &big[first..], &[]).unwrap(), 0, "and then nothing, at once");
        let reader = std::thread::spawn(move || {
            let mut r = FrameReader::new();
            r.recv_blocking::<Msg>(b.as_fd()).map(|(m, fds)| (m, fds.len()))
        });
        let mut sent = first;
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while sent < big.len() {
            assert!(std::time::Instant::now() < end, "the reader never drained the socket");
            sent += write_some(a.as_fd(), &big[sent..], &[]).unwrap();
        }
        let (m, nfds) = reader.join().unwrap().unwrap();
        assert_eq!((m, nfds), (Msg::Hello("y".repeat(4 * 1024 * 1024)), 1));
    }

    #[test]
    fn closed_peer_is_reported() {
        let (a, b) = pair();
        drop(a);
        let mut r = FrameReader::new();
        assert!(matches!(r.recv_blocking::<Msg>(b.as_fd()), Err(IpcError::Closed)));
    }
}
