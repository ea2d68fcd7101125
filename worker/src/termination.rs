//! How a session ended, as HAProxy's two-character termination state (`%ts`): what ended it,
//! then in which phase. `--` is a normal end.

use std::fmt;

/// First character: the event that ended the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `-`: both sides closed normally.
    Normal,
    /// `C`: the client aborted (reset, or closed early with `option abortonclose`).
    ClientAbort,
    /// `S`: the server aborted or refused the connection.
    ServerAbort,
    /// `R`: a local resource ran out (sockets, memory).
    Resource,
    /// `I`: an internal error.
    Internal,
    /// `K`: killed by the proxy (stop after the drain grace).
    Killed,
    /// `c`: `timeout client` expired.
    ClientTimeout,
    /// `s`: `timeout server`, `timeout connect` or `timeout queue` expired.
    ServerTimeout,
}

/// Second character: where the session was when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `Q`: waiting in a queue for a server slot.
    Queue,
    /// `C`: connecting to the server (including retries).
    Connect,
    /// `D`: forwarding data.
    Data,
    /// `L`: the server had finished; the last data was going to the client.
    LastData,
    /// `-`: a normal end.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    pub cause: Cause,
    pub phase: Phase,
}

impl Termination {
    pub const NORMAL: Termination = Termination { cause: Cause::Normal, phase: Phase::None };

    pub fn new(cause: Cause, phase: Phase) -> Self {
        Termination { cause, phase }
    }
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = match self.cause {
            Cause::Normal => '-',
            Cause::ClientAbort => 'C',
            Cause::ServerAbort => 'S',
            Cause::Resource => 'R',
            Cause::Internal => 'I',
            Cause::Killed => 'K',
            Cause::ClientTimeout => 'c',
            Cause::ServerTimeout => 's',
        };
        let p = match self.phase {
            Phase::Queue => 'Q',
            Phase::Connect => 'C',
            Phase::Data => 'D',
            Phase::LastData => 'L',
            Phase::None => '-',
        };
        write!(f, "{c}{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_haproxy_writes_them() {
        assert_eq!(Termination::NORMAL.to_string(), "--");
        assert_eq!(Termination::new(Cause::ClientTimeout, Phase::Data).to_string(), "cD");
        assert_eq!(Termination::new(Cause::ServerAbort, Phase::Connect).to_string(), "SC");
        assert_eq!(Termination::new(Cause::ServerTimeout, Phase::Queue).to_string(), "sQ");
        assert_eq!(Termination::new(Cause::ClientAbort, Phase::LastData).to_string(), "CL");
    }
}
