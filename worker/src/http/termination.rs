//! HAProxy's 4-character HTTP termination state (`%tsc`): what ended the transaction, in
//! which phase, then the persistence cookie's status in the request and in the response.

use super::cookie::{RequestCookie, ResponseCookie};
use crate::termination::{Cause as TcpCause, Phase as TcpPhase, Termination};
use std::fmt;

/// First character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `-`: normal end.
    Normal,
    /// `C`: the client aborted.
    ClientAbort,
    /// `S`: the server aborted, refused, or sent something invalid.
    ServerAbort,
    /// `P`: the proxy stopped it (a bad request, `deny`, a denied response).
    Proxy,
    /// `L`: the proxy answered locally (redirect).
    Local,
    /// `R`: a local resource ran out.
    Resource,
    /// `I`: an internal error.
    Internal,
    /// `D`: the server went DOWN (on-marked-down).
    ServerDown,
    /// `K`: killed by an operator or a stop.
    Killed,
    /// `c`: client timeout (`timeout client`, `timeout http-request`).
    ClientTimeout,
    /// `s`: server timeout (`timeout server`, `connect`, `queue`).
    ServerTimeout,
}

/// Second character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `R`: waiting for the client's complete request head.
    Request,
    /// `Q`: queued.
    Queue,
    /// `C`: connecting to the server.
    Connect,
    /// `H`: waiting for the server's complete response head.
    Headers,
    /// `D`: transferring data.
    Data,
    /// `L`: the last data, to the client.
    LastData,
    /// `-`: normal end.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTermination {
    pub cause: Cause,
    pub phase: Phase,
    pub request_cookie: RequestCookie,
    pub response_cookie: ResponseCookie,
}

impl HttpTermination {
    pub fn new(cause: Cause, phase: Phase) -> Self {
        HttpTermination { cause, phase, request_cookie: RequestCookie::NotConfigured, response_cookie: ResponseCookie::NotConfigured }
    }

    pub fn normal() -> Self {
        Self::new(Cause::Normal, Phase::None)
    }

    pub fn with_cookies(self, request_cookie: RequestCookie, response_cookie: ResponseCookie) -> Self {
        HttpTermination { request_cookie, response_cookie, ..self }
    }

    /// From the TCP session's two-character state, for an end the session machine detected.
    /// A TCP "connect" or "data" phase before any response head is HTTP's `H` for the server's
    /// side once the request was sent; the caller passes `awaiting_headers` to say so.
    pub fn from_tcp(t: Termination, awaiting_headers: bool) -> Self {
        let cause = match t.cause {
            TcpCause::Normal => Cause::Normal,
            TcpCause::ClientAbort => Cause::ClientAbort,
            TcpCause::ServerAbort => Cause::ServerAbort,
            TcpCause::Resource => Cause::Resource,
            TcpCause::Internal => Cause::Internal,
            TcpCause::Killed => Cause::Killed,
            TcpCause::ClientTimeout => Cause::ClientTimeout,
            TcpCause::ServerTimeout => Cause::ServerTimeout,
        };
        let phase = match t.phase {
            TcpPhase::Queue => Phase::Queue,
            TcpPhase::Connect => Phase::Connect,
            TcpPhase::Data if awaiting_headers => Phase::Headers,
            TcpPhase::Data => Phase::Data,
            TcpPhase::LastData => Phase::LastData,
            TcpPhase::None => Phase::None,
        };
        HttpTermination::new(cause, phase)
    }
}

impl fmt::Display for HttpTermination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = match self.cause {
            Cause::Normal => '-',
            Cause::ClientAbort => 'C',
            Cause::ServerAbort => 'S',
            Cause::Proxy => 'P',
            Cause::Local => 'L',
            Cause::Resource => 'R',
            Cause::Internal => 'I',
            Cause::ServerDown => 'D',
            Cause::Killed => 'K',
            Cause::ClientTimeout => 'c',
            Cause::ServerTimeout => 's',
        };
        let p = match self.phase {
            Phase::Request => 'R',
            Phase::Queue => 'Q',
            Phase::Connect => 'C',
            Phase::Headers => 'H',
            Phase::Data => 'D',
            Phase::LastData => 'L',
            Phase::None => '-',
        };
        write!(f, "{c}{p}{}{}", self.request_cookie.code(), self.response_cookie.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_haproxy_writes_them() {
        assert_eq!(HttpTermination::normal().to_string(), "----");
        assert_eq!(HttpTermination::new(Cause::ClientTimeout, Phase::Request).to_string(), "cR--");
        assert_eq!(HttpTermination::new(Cause::Proxy, Phase::Request).to_string(), "PR--");
        assert_eq!(HttpTermination::new(Cause::Local, Phase::Request).to_string(), "LR--");
        assert_eq!(
            HttpTermination::new(Cause::ServerTimeout, Phase::Headers).with_cookies(RequestCookie::Valid, ResponseCookie::None).to_string(),
            "sHVN"
        );
        assert_eq!(HttpTermination::normal().with_cookies(RequestCookie::None, ResponseCookie::Inserted).to_string(), "--NI");
        let from = HttpTermination::from_tcp(Termination::new(TcpCause::ServerAbort, TcpPhase::Data), true);
        assert_eq!(from.to_string(), "SH--");
        assert_eq!(HttpTermination::from_tcp(Termination::new(TcpCause::ServerTimeout, TcpPhase::Queue), false).to_string(), "sQ--");
    }
}
