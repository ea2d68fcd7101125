//! One stream's state (RFC 9113 §5.1, server side: streams are opened by the client, and this
//! server never pushes, so "reserved" states do not occur) and its two windows.
//!
//! ```text
//!                         recv H        +--------+
//!          idle  ------------------->   |  open  |
//!                                       +--------+
//!                             recv ES /            \ send ES
//!                                    v              v
//!                         +----------+              +----------+
//!                         | half-    |              | half-    |
//!                         | closed   |              | closed   |
//!                         | (remote) |              | (local)  |
//!                         +----------+              +----------+
//!                          send ES | recv R          recv ES | recv R
//!                          send R  v                 send R  v
//!                                  +--------> closed <-------+
//! ```

use std::time::Instant;

use super::flow::{RecvWindow, SendWindow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    HalfClosedRemote,
    HalfClosedLocal,
    Closed,
}

#[derive(Debug)]
pub struct Stream {
    pub state: State,
    pub send: SendWindow,
    pub recv: RecvWindow,
    /// The request's `content-length`, checked against the DATA received (§8.1.1).
    pub content_length: Option<u64>,
    pub received: u64,
    /// Since when a response waits for the client to open a window.
    pub blocked_since: Option<Instant>,
}

impl Stream {
    pub fn new(send_initial: u32, recv_initial: u32) -> Stream {
        Stream {
            state: State::Open,
            send: SendWindow::new(send_initial),
            recv: RecvWindow::new(recv_initial, recv_initial),
            content_length: None,
            received: 0,
            blocked_since: None,
        }
    }

    /// May the client still send DATA or trailers?
    pub fn can_recv(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosedLocal)
    }

    /// May we still send?
    pub fn can_send(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosedRemote)
    }

    /// The client's END_STREAM.
    pub fn recv_end(&mut self) {
        self.state = match self.state {
            State::Open => State::HalfClosedRemote,
            _ => State::Closed,
        };
    }

    /// Our END_STREAM.
    pub fn send_end(&mut self) {
        self.state = match self.state {
            State::Open => State::HalfClosedLocal,
            _ => State::Closed,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_close_the_stream_in_either_order() {
        let mut s = Stream::new(10, 10);
        assert!(s.can_recv() && s.can_send());
        s.recv_end();
        assert_eq!(s.state, State::HalfClosedRemote);
        assert!(!s.can_recv() && s.can_send());
        s.send_end();
        assert_eq!(s.state, State::Closed);
        let mut s = Stream::new(10, 10);
        s.send_end();
        assert_eq!(s.state, State::HalfClosedLocal);
        assert!(s.can_recv() && !s.can_send());
        s.recv_end();
        assert_eq!(s.state, State::Closed);
    }
}
