//! Where a message body ends in the byte stream, whatever its framing: the session feeds it
//! the bytes after the head as they arrive, forwards the `consumed` ones in place, and starts
//! the next message (keep-alive) at the first byte it did not consume.

use super::chunked::{ChunkError, ChunkedDecoder};
use super::framing::BodyFraming;

#[derive(Debug, Clone)]
enum Kind {
    Length { left: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
    Tunnel,
    Done,
}

/// Progress through one message body.
#[derive(Debug, Clone)]
pub struct BodyCursor {
    kind: Kind,
    /// Bytes consumed so far (framing included).
    seen: u64,
}

/// What one [`BodyCursor::advance`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Leading bytes of the input that belong to this message.
    pub consumed: usize,
    /// The message is complete; what follows belongs to the next one.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    Chunk(#[from] ChunkError),
    /// The peer closed before the body was complete.
    #[error("connection closed {0} bytes into an incomplete body")]
    Truncated(u64),
}

impl BodyCursor {
    pub fn new(framing: BodyFraming) -> BodyCursor {
        let kind = match framing {
            BodyFraming::None | BodyFraming::Length(0) => Kind::Done,
            BodyFraming::Length(n) => Kind::Length { left: n },
            BodyFraming::Chunked => Kind::Chunked(ChunkedDecoder::default()),
            BodyFraming::UntilClose => Kind::UntilClose,
            BodyFraming::Tunnel => Kind::Tunnel,
        };
        BodyCursor { kind, seen: 0 }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }

    /// Bytes of body consumed so far, chunk framing included.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Whether the body only ends when the connection does.
    pub fn ends_with_close(&self) -> bool {
        matches!(self.kind, Kind::UntilClose | Kind::Tunnel)
    }

    /// Takes the leading bytes of `data` that belong to this body.
    pub fn advance(&mut self, data: &[u8]) -> Result<Progress, BodyError> {
        let (consumed, done) = match &mut self.kind {
            Kind::Done => (0, true),
            Kind::Length { left } => {
                let take = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= take as u64;
                (take, *left == 0)
            }
            Kind::Chunked(d) => d.feed(data)?,
            Kind::UntilClose | Kind::Tunnel => (data.len(), false),
        };
        self.seen += consumed as u64;
        if done {
            self.kind = Kind::Done;
        }
        Ok(Progress { consumed, done })
    }

    /// The peer closed: fine for a body that ends with the connection, an error otherwise.
    pub fn on_close(&mut self) -> Result<(), BodyError> {
        match self.kind {
            Kind::Done => Ok(()),
            Kind::UntilClose | Kind::Tunnel => {
                self.kind = Kind::Done;
                Ok(())
            }
            Kind::Length { .. } | Kind::Chunked(_) => Err(BodyError::Truncated(self.seen)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_counts_down_across_reads() {
        let mut b = BodyCursor::new(BodyFraming::Length(10));
        assert_eq!(b.advance(b"0123").unwrap(), Progress { consumed: 4, done: false });
        assert_eq!(b.advance(b"456789GET /").unwrap(), Progress { consumed: 6, done: true });
        assert!(b.is_done());
        assert_eq!(b.advance(b"more").unwrap(), Progress { consumed: 0, done: true });
        assert_eq!(b.seen(), 10);
    }

    #[test]
    fn no_body_is_done_at_once() {
        for f in [BodyFraming::None, BodyFraming::Length(0)] {
            let mut b = BodyCursor::new(f);
            assert!(b.is_done());
            assert_eq!(b.advance(b"GET").unwrap(), Progress { consumed: 0, done: true });
        }
    }

    #[test]
    fn chunked_bodies_stop_at_their_end() {
        let mut b = BodyCursor::new(BodyFraming::Chunked);
        assert_eq!(b.advance(b"3\r\nabc\r\n").unwrap(), Progress { consumed: 8, done: false });
        assert_eq!(b.advance(b"0\r\n\r\nNEXT").unwrap(), Progress { consumed: 5, done: true });
        let mut b = BodyCursor::new(BodyFraming::Chunked);
        assert_eq!(b.advance(b"z\r\n"), Err(BodyError::Chunk(ChunkError::BadSize)));
    }

    #[test]
    fn close_ends_only_close_delimited_bodies() {
        let mut b = BodyCursor::new(BodyFraming::UntilClose);
        assert_eq!(b.advance(b"anything").unwrap(), Progress { consumed: 8, done: false });
        assert!(b.ends_with_close());
        assert_eq!(b.on_close(), Ok(()));
        assert!(b.is_done());
        let mut b = BodyCursor::new(BodyFraming::Length(5));
        b.advance(b"12").unwrap();
        assert_eq!(b.on_close(), Err(BodyError::Truncated(2)));
        let mut b = BodyCursor::new(BodyFraming::Chunked);
        b.advance(b"1\r\n").unwrap();
        assert_eq!(b.on_close(), Err(BodyError::Truncated(3)));
    }
}
