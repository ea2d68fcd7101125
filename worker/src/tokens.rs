//! The event loop's token layout, in one place: what a readiness event is for follows from its
//! token's range alone.
//!
//! | range | what |
//! | --- | --- |
//! | 0 | the supervisor's channel (thread 0 only) |
//! | 1 | the waker other threads use |
//! | 2 .. `CLIENT_BASE` | listeners, by index |
//! | `CLIENT_BASE` .. `CONN_BASE` | client sockets, by session slab key |
//! | `CONN_BASE` .. | server connections, by connection table key |

use mio::Token;

pub const CONTROL: Token = Token(0);
pub const WAKER: Token = Token(1);
pub const LISTENER_BASE: usize = 2;
pub const CLIENT_BASE: usize = 1 << 24;
pub const CONN_BASE: usize = 1 << 40;

/// What an event's token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Control,
    Waker,
    Listener(usize),
    Client(usize),
    Conn(usize),
}

pub fn classify(token: Token) -> Target {
    match token.0 {
        0 => Target::Control,
        1 => Target::Waker,
        t if t >= CONN_BASE => Target::Conn(t - CONN_BASE),
        t if t >= CLIENT_BASE => Target::Client(t - CLIENT_BASE),
        t => Target::Listener(t - LISTENER_BASE),
    }
}

pub fn listener(i: usize) -> Token {
    Token(LISTENER_BASE + i)
}

pub fn client(key: usize) -> Token {
    Token(CLIENT_BASE + key)
}

pub fn conn(key: usize) -> Token {
    Token(CONN_BASE + key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_maps_back() {
        assert_eq!(classify(CONTROL), Target::Control);
        assert_eq!(classify(WAKER), Target::Waker);
        assert_eq!(classify(listener(3)), Target::Listener(3));
        assert_eq!(classify(client(0)), Target::Client(0));
        assert_eq!(classify(client(77)), Target::Client(77));
        assert_eq!(classify(conn(0)), Target::Conn(0));
        assert_eq!(classify(conn(5)), Target::Conn(5));
    }
}
