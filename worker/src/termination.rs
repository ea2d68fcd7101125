//! How a session or an HTTP transaction ended, in HAProxy's terms: the event that ended it and
//! the phase it was in, plus (for HTTP) what happened to the persistence cookie. One type for
//! both log formats: `option tcplog` writes the two-character state (`%ts`, its `Display`),
//! `option httplog` the four-character one (`%tsc`, [`Termination::http`]). `--` / `----` is a
//! normal end.

use std::fmt;

/// First character: the event that ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `-`: both sides closed normally.
    Normal,
    /// `C`: the client aborted (reset, or closed early with `option abortonclose`).
    ClientAbort,
    /// `S`: the server aborted, refused the connection, or sent something invalid.
    ServerAbort,
    /// `P`: the proxy stopped it (a bad request, `deny`, a denied response).
    Proxy,
    /// `L`: the proxy answered locally (redirect).
    Local,
    /// `R`: a local resource ran out (sockets, memory).
    Resource,
    /// `I`: an internal error.
    Internal,
    /// `D`: the server went DOWN (on-marked-down).
    ServerDown,
    /// `K`: killed by an operator or a stop (after the drain grace).
    Killed,
    /// `c`: `timeout client` (or `timeout http-request`) expired.
    ClientTimeout,
    /// `s`: `timeout server`, `timeout connect` or `timeout queue` expired.
    ServerTimeout,
}

/// Second character: where it was when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `R`: waiting for the client's complete request head (HTTP).
    Request,
    /// `Q`: waiting in a queue for a server slot.
    Queue,
    /// `C`: connecting to the server (including retries).
    Connect,
    /// `H`: waiting for the server's complete response head (HTTP).
    Headers,
    /// `D`: forwarding data.
    Data,
    /// `L`: the server had finished; the last data was going to the client.
    LastData,
    /// `T`: held by `http-request tarpit` (HAProxy's SF_FINST_T).
    Tarpit,
    /// `-`: a normal end.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    pub cause: Cause,
    pub phase: Phase,
    /// The persistence cookie's codes in the request and the response (`-` when none is
    /// configured); only `option httplog` shows them.
    pub cookies: (char, char),
}

impl Termination {
    pub const NORMAL: Termination = Termination { cause: Cause::Normal, phase: Phase::None, cookies: ('-', '-') };

    pub fn new(cause: Cause, phase: Phase) -> Self {
        Termination { cause, phase, cookies: ('-', '-') }
    }

    pub fn with_cookies(self, request: char, response: char) -> Self {
        Termination { cookies: (request, response), ..self }
    }

    /// An end seen while the request was sent and its response head awaited: HTTP's `H` phase
    /// where the connection's view says `D`.
    pub fn awaiting_headers(self) -> Self {
        match self.phase {
            Phase::Data => Termination { phase: Phase::Headers, ..self },
            _ => self,
        }
    }

    /// The four-character state of `option httplog`.
    pub fn http(self) -> HttpCode {
        HttpCode(self)
    }

    fn chars(&self) -> (char, char) {
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
            Phase::Tarpit => 'T',
            Phase::None => '-',
        };
        (c, p)
    }
}

/// `option tcplog`'s `%ts`.
impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, p) = self.chars();
        write!(f, "{c}{p}")
    }
}

/// `option httplog`'s `%tsc`: the state and the cookie codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpCode(Termination);

impl fmt::Display for HttpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, p) = self.0.chars();
        write!(f, "{c}{p}{}{}", self.0.cookies.0, self.0.cookies.1)
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

    #[test]
    fn http_codes_read_as_haproxy_writes_them() {
        assert_eq!(Termination::NORMAL.http().to_string(), "----");
        assert_eq!(Termination::new(Cause::ClientTimeout, Phase::Request).http().to_string(), "cR--");
        assert_eq!(Termination::new(Cause::Proxy, Phase::Request).http().to_string(), "PR--");
        assert_eq!(Termination::new(Cause::Proxy, Phase::Tarpit).http().to_string(), "PT--");
        assert_eq!(Termination::new(Cause::Local, Phase::Request).http().to_string(), "LR--");
        assert_eq!(Termination::new(Cause::ServerTimeout, Phase::Headers).with_cookies('V', 'N').http().to_string(), "sHVN");
        assert_eq!(Termination::NORMAL.with_cookies('N', 'I').http().to_string(), "--NI");
        let from = Termination::new(Cause::ServerAbort, Phase::Data).awaiting_headers();
        assert_eq!(from.http().to_string(), "SH--");
        assert_eq!(Termination::new(Cause::ServerTimeout, Phase::Queue).awaiting_headers().http().to_string(), "sQ--");
    }
}
