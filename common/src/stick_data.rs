//! A stick-table entry as it travels between processes: its key, what is left of its life and
//! its data values by HAProxy data type. The worker lists its local changes in this form (for
//! the peers protocol and for the next worker after a reload) and applies the ones it receives.
//! Timing is relative (milliseconds left, milliseconds since a rate's period began), never a
//! clock reading, so that two processes need not share a clock, as in HAProxy's peers protocol.

use crate::config::stick_table::{StickDataType, StickKeyType};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A key, in the table's key type. IP keys are held inline: no allocation to look one up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StickKey {
    V4([u8; 4]),
    V6([u8; 16]),
    Int(i32),
    /// `string` (at most `len` bytes) and `binary` (exactly `len`, zero padded) keys.
    Bytes(Box<[u8]>),
}

impl StickKey {
    /// An address as a key of `kind`, as HAProxy converts a sample: an IPv4 address goes into an
    /// `ipv6` table v4-mapped, an IPv6 one into an `ip` table only if it is v4-mapped; a
    /// string table stores its text form.
    pub fn from_ip(ip: IpAddr, kind: StickKeyType) -> Option<StickKey> {
        match (kind, ip) {
            (StickKeyType::Ip, IpAddr::V4(a)) => Some(StickKey::V4(a.octets())),
            (StickKeyType::Ip, IpAddr::V6(a)) => a.to_ipv4_mapped().map(|a| StickKey::V4(a.octets())),
            (StickKeyType::Ipv6, IpAddr::V4(a)) => Some(StickKey::V6(a.to_ipv6_mapped().octets())),
            (StickKeyType::Ipv6, IpAddr::V6(a)) => Some(StickKey::V6(a.octets())),
            (StickKeyType::String { .. } | StickKeyType::Binary { .. }, ip) => Self::from_bytes(ip.to_string().as_bytes(), kind),
            (StickKeyType::Integer, _) => None,
        }
    }

    /// Bytes as a key of `kind`: strings truncated to `len`, binaries padded to it; text parsed
    /// for address and integer tables (a sample that does not convert tracks nothing).
    pub fn from_bytes(bytes: &[u8], kind: StickKeyType) -> Option<StickKey> {
        match kind {
            StickKeyType::String { len } => Some(StickKey::Bytes(bytes[..bytes.len().min(len as usize)].into())),
            StickKeyType::Binary { len } => {
                let mut b = vec![0u8; len as usize];
                let n = bytes.len().min(b.len());
                b[..n].copy_from_slice(&bytes[..n]);
                Some(StickKey::Bytes(b.into()))
            }
            StickKeyType::Integer => std::str::from_utf8(bytes).ok()?.trim().parse().ok().map(StickKey::Int),
            StickKeyType::Ip | StickKeyType::Ipv6 => {
                let ip: IpAddr = std::str::from_utf8(bytes).ok()?.trim().parse().ok()?;
                Self::from_ip(ip, kind)
            }
        }
    }

    /// A key typed by an operator (`clear table T key K`); binary keys in hex, as HAProxy reads them.
    pub fn parse(text: &str, kind: StickKeyType) -> Option<StickKey> {
        match kind {
            StickKeyType::Binary { .. } => {
                if !text.len().is_multiple_of(2) {
                    return None;
                }
                let bytes: Option<Vec<u8>> = (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect();
                Self::from_bytes(&bytes?, kind)
            }
            _ => Self::from_bytes(text.as_bytes(), kind),
        }
    }
}

impl fmt::Display for StickKey {
    /// As `show table` prints `key=`: addresses, integers, strings as they are, binaries in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StickKey::V4(a) => write!(f, "{}", Ipv4Addr::from(*a)),
            StickKey::V6(a) => write!(f, "{}", Ipv6Addr::from(*a)),
            StickKey::Int(i) => write!(f, "{i}"),
            StickKey::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) if s.bytes().all(|c| c.is_ascii_graphic() || c == b' ') => f.write_str(s),
                _ => b.iter().try_for_each(|c| write!(f, "{c:02X}")),
            },
        }
    }
}

/// One stored value, by HAProxy's storage kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickValue {
    Sint(i32),
    Uint(u32),
    Ull(u64),
    /// A rate: the counts of the current and previous periods, and how long ago the current
    /// period began (HAProxy's `freq_ctr`: `curr_ctr`, `prev_ctr`, `curr_tick`).
    Freq {
        since_ms: u32,
        curr: u32,
        prev: u32,
    },
}

/// An entry's state: what a peer or the next worker needs to recreate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickUpdate {
    pub key: StickKey,
    /// Milliseconds before it expires; `None` for a table without `expire`.
    pub expire_in_ms: Option<u32>,
    pub values: Vec<(StickDataType, StickValue)>,
}

/// One table's entries by name, handed to the next worker on a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickTableDump {
    pub table: String,
    pub entries: Vec<StickUpdate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_convert_as_haproxy_converts_them() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(StickKey::from_ip(v4, StickKeyType::Ip), Some(StickKey::V4([192, 0, 2, 7])));
        assert_eq!(StickKey::from_ip(v6, StickKeyType::Ip), None);
        assert_eq!(StickKey::from_ip(mapped, StickKeyType::Ip), Some(StickKey::V4([192, 0, 2, 7])));
        assert_eq!(StickKey::from_ip(v4, StickKeyType::Ipv6).map(|k| k.to_string()), Some("::ffff:192.0.2.7".into()));
        let s = StickKeyType::String { len: 4 };
        assert_eq!(StickKey::from_bytes(b"abcdef", s), Some(StickKey::Bytes((*b"abcd").into())));
        let b = StickKeyType::Binary { len: 3 };
        assert_eq!(StickKey::parse("0a", b).map(|k| k.to_string()), Some("0A0000".into()));
        assert_eq!(StickKey::parse("0g", b), None);
        assert_eq!(StickKey::parse("42", StickKeyType::Integer), Some(StickKey::Int(42)));
        assert_eq!(StickKey::parse("x", StickKeyType::Integer), None);
    }
}
