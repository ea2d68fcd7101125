//! What can go wrong reading the peers protocol: every variant is a reason to close the session
//! (after an error message where HAProxy sends one), never a panic.

/// A malformed message or handshake line from a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message truncated")]
    Truncated,
    #[error("integer encoding longer than 10 bytes")]
    VarintTooLong,
    #[error("integer encoding overflows 64 bits")]
    VarintOverflow,
    #[error("{what} {value} exceeds the limit {limit}")]
    TooLarge { what: &'static str, value: u64, limit: u64 },
    #[error("message of {len} bytes exceeds the limit {limit}")]
    Oversized { len: u64, limit: usize },
    #[error("reserved message class 255")]
    ReservedClass,
    #[error("{0}")]
    Malformed(&'static str),
    #[error("{left} bytes left over after the message body")]
    TrailingBytes { left: usize },
    #[error("value {value} of data type {data_type} does not fit its type")]
    ValueOutOfRange { data_type: &'static str, value: u64 },
    #[error("dictionary entry id {0} is outside the cache (1..=128)")]
    BadDictId(u64),
    #[error("dictionary entry id {0} refers to an entry never sent")]
    UnknownDictId(u64),
    #[error("handshake line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("handshake line is not UTF-8")]
    LineNotUtf8,
}
