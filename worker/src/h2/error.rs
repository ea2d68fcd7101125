//! RFC 9113 §7 error codes, and the two kinds of errors of §5.4: a stream error ends one stream
//! with RST_STREAM, a connection error ends the connection with GOAWAY.

use thiserror::Error;

/// RFC 9113 §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    NoError,
    ProtocolError,
    InternalError,
    FlowControlError,
    SettingsTimeout,
    StreamClosed,
    FrameSizeError,
    RefusedStream,
    Cancel,
    CompressionError,
    ConnectError,
    EnhanceYourCalm,
    InadequateSecurity,
    Http11Required,
    /// §7: unknown codes are not errors and are kept as they came.
    Other(u32),
}

impl ErrorCode {
    pub fn from_u32(v: u32) -> ErrorCode {
        use ErrorCode::*;
        match v {
            0x0 => NoError,
            0x1 => ProtocolError,
            0x2 => InternalError,
            0x3 => FlowControlError,
            0x4 => SettingsTimeout,
            0x5 => StreamClosed,
            0x6 => FrameSizeError,
            0x7 => RefusedStream,
            0x8 => Cancel,
            0x9 => CompressionError,
            0xa => ConnectError,
            0xb => EnhanceYourCalm,
            0xc => InadequateSecurity,
            0xd => Http11Required,
            other => Other(other),
        }
    }

    pub fn to_u32(self) -> u32 {
        use ErrorCode::*;
        match self {
            NoError => 0x0,
            ProtocolError => 0x1,
            InternalError => 0x2,
            FlowControlError => 0x3,
            SettingsTimeout => 0x4,
            StreamClosed => 0x5,
            FrameSizeError => 0x6,
            RefusedStream => 0x7,
            Cancel => 0x8,
            CompressionError => 0x9,
            ConnectError => 0xa,
            EnhanceYourCalm => 0xb,
            InadequateSecurity => 0xc,
            Http11Required => 0xd,
            Other(v) => v,
        }
    }
}

/// Which flood guard of `limits.rs` tripped; each is counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// CVE-2023-44487: streams opened and reset by the client at a high rate.
    RapidReset,
    /// CVE-2024-27316 family: a field block spread over too many or too large CONTINUATIONs.
    Continuation,
    /// A field block that decodes to far more than it weighs (RFC 9113 §10.5.1, RFC 7541 §7.3).
    HpackBomb,
    /// SETTINGS frames at a high rate (each one costs an ACK).
    Settings,
    /// PING frames at a high rate (each one costs an ACK).
    Ping,
    /// Frames that carry nothing (empty DATA, PRIORITY, unknown types, empty CONTINUATION…).
    Glitches,
    /// The client reads nothing while making us queue control frames.
    ControlBacklog,
    /// A response waited longer than `timeout client` for the client to open a window.
    ZeroWindow,
}

impl Flood {
    pub fn name(self) -> &'static str {
        match self {
            Flood::RapidReset => "rapid reset",
            Flood::Continuation => "CONTINUATION flood",
            Flood::HpackBomb => "HPACK bomb",
            Flood::Settings => "SETTINGS flood",
            Flood::Ping => "PING flood",
            Flood::Glitches => "empty-frame flood",
            Flood::ControlBacklog => "unread control frames",
            Flood::ZeroWindow => "zero-window stall",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum H2Error {
    #[error("connection error {code:?}: {reason}")]
    Connection { code: ErrorCode, reason: &'static str },
    #[error("stream {stream} error {code:?}: {reason}")]
    Stream { stream: u32, code: ErrorCode, reason: &'static str },
    #[error("{} on the connection", .0.name())]
    Flood(Flood),
}

impl H2Error {
    pub fn conn(code: ErrorCode, reason: &'static str) -> H2Error {
        H2Error::Connection { code, reason }
    }

    /// The GOAWAY code a connection error is answered with.
    pub fn goaway_code(&self) -> ErrorCode {
        match self {
            H2Error::Connection { code, .. } | H2Error::Stream { code, .. } => *code,
            H2Error::Flood(_) => ErrorCode::EnhanceYourCalm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        for v in 0..=0xd {
            assert_eq!(ErrorCode::from_u32(v).to_u32(), v);
        }
        assert_eq!(ErrorCode::from_u32(0x1234), ErrorCode::Other(0x1234));
        assert_eq!(H2Error::Flood(Flood::Ping).goaway_code(), ErrorCode::EnhanceYourCalm);
    }
}
