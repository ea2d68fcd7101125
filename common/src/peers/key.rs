//! Stick-table key types and keys on the wire (`PEER_KT_*` and the key part of
//! `peer_prepare_updatemsg()` / `peer_treat_updatemsg()` in HAProxy's `src/peers.c`).
//!
//! ```text
//!  ip      : 4 bytes, network order          (key size 4)
//!  ipv6    : 16 bytes                         (key size 16)
//!  integer : 4 bytes, big endian              (key size 4, HAProxy's sizeof(int))
//!  string  : varint length | bytes            (key size = len + 1, the NUL HAProxy keeps)
//!  binary  : key-size bytes, zero padded      (key size = len)
//! ```

use super::error::DecodeError;
use super::varint::{self, Reader};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest key this codec accepts in a definition (HAProxy bounds it by its buffer size).
pub const MAX_KEY_SIZE: u64 = 16_384;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Integer,
    Ip,
    Ipv6,
    String,
    Binary,
}

impl KeyType {
    /// The network id (`PEER_KT_*`).
    pub fn wire_id(self) -> u64 {
        match self {
            KeyType::Integer => 2,
            KeyType::Ip => 4,
            KeyType::Ipv6 => 5,
            KeyType::String => 6,
            KeyType::Binary => 7,
        }
    }

    pub fn from_wire(id: u64) -> Option<KeyType> {
        Some(match id {
            2 => KeyType::Integer,
            4 => KeyType::Ip,
            5 => KeyType::Ipv6,
            6 => KeyType::String,
            7 => KeyType::Binary,
            _ => return None,
        })
    }

    /// HAProxy's `key_size` for a table declared `type T [len N]` (string: N + 1 for the NUL;
    /// defaults of `stktable_types[]`: string and binary 32).
    pub fn key_size(self, len: Option<u32>) -> u32 {
        match self {
            KeyType::Integer | KeyType::Ip => 4,
            KeyType::Ipv6 => 16,
            KeyType::String => len.unwrap_or(32).saturating_add(1),
            KeyType::Binary => len.unwrap_or(32),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Integer => "integer",
            KeyType::Ip => "ip",
            KeyType::Ipv6 => "ipv6",
            KeyType::String => "string",
            KeyType::Binary => "binary",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Integer(u32),
    Ip(Ipv4Addr),
    Ipv6(Ipv6Addr),
    String(Vec<u8>),
    Binary(Vec<u8>),
}

impl Key {
    pub fn key_type(&self) -> KeyType {
        match self {
            Key::Integer(_) => KeyType::Integer,
            Key::Ip(_) => KeyType::Ip,
            Key::Ipv6(_) => KeyType::Ipv6,
            Key::String(_) => KeyType::String,
            Key::Binary(_) => KeyType::Binary,
        }
    }

    /// Reads a key of a table of `kt` with HAProxy's `key_size`. A string longer than the table
    /// keeps is cut to `key_size - 1` bytes, as HAProxy stores it.
    pub fn read(r: &mut Reader<'_>, kt: KeyType, key_size: u32) -> Result<Key, DecodeError> {
        Ok(match kt {
            KeyType::Integer => Key::Integer(r.u32_be()?),
            KeyType::Ip => {
                let b = r.bytes(4)?;
                Key::Ip(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            KeyType::Ipv6 => {
                let b = r.bytes(16)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Key::Ipv6(Ipv6Addr::from(a))
            }
            KeyType::String => {
                let len = r.bounded(r.remaining() as u64, "string key length")?;
                let b = r.bytes(len)?;
                let keep = b.len().min(key_size.saturating_sub(1) as usize);
                Key::String(b[..keep].to_vec())
            }
            KeyType::Binary => Key::Binary(r.bytes(key_size as usize)?.to_vec()),
        })
    }

    /// Appends the key as a table of `key_size` sends it.
    pub fn write(&self, key_size: u32, out: &mut Vec<u8>) {
        match self {
            Key::Integer(i) => out.extend_from_slice(&i.to_be_bytes()),
            Key::Ip(a) => out.extend_from_slice(&a.octets()),
            Key::Ipv6(a) => out.extend_from_slice(&a.octets()),
            Key::String(s) => {
                let keep = s.len().min(key_size.saturating_sub(1) as usize);
                varint::encode(keep as u64, out);
                out.extend_from_slice(&s[..keep]);
            }
            Key::Binary(b) => {
                let size = key_size as usize;
                let keep = b.len().min(size);
                out.extend_from_slice(&b[..keep]);
                out.resize(out.len() + (size - keep), 0);
            }
        }
    }
}

impl fmt::Display for Key {
    /// As `show table` prints it (`key=...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Integer(i) => write!(f, "{i}"),
            Key::Ip(a) => write!(f, "{a}"),
            Key::Ipv6(a) => write!(f, "{a}"),
            Key::String(s) => f.write_str(&String::from_utf8_lossy(s)),
            Key::Binary(b) => b.iter().try_for_each(|x| write!(f, "{x:02X}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for (key, size) in [
            (Key::Integer(0xdead_beef), 4),
            (Key::Ip(Ipv4Addr::new(192, 0, 2, 7)), 4),
            (Key::Ipv6("2001:db8::1".parse().expect("v6")), 16),
            (Key::String(b"abc".to_vec()), 33),
            (Key::Binary(vec![1, 2, 3, 0, 0, 0, 0, 0]), 8),
        ] {
            let mut out = Vec::new();
            key.write(size, &mut out);
            let mut r = Reader::new(&out);
            assert_eq!(Key::read(&mut r, key.key_type(), size), Ok(key.clone()));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn ip_key_is_network_order() {
        let mut out = Vec::new();
        Key::Ip(Ipv4Addr::new(192, 0, 2, 7)).write(4, &mut out);
        assert_eq!(out, [192, 0, 2, 7]);
    }

    #[test]
    fn long_string_is_cut_as_haproxy_stores_it() {
        let mut out = Vec::new();
        varint::encode(5, &mut out);
        out.extend_from_slice(b"abcde");
        assert_eq!(Key::read(&mut Reader::new(&out), KeyType::String, 4), Ok(Key::String(b"abc".to_vec())));
    }

    #[test]
    fn string_length_beyond_the_message_is_an_error() {
        let mut out = Vec::new();
        varint::encode(50, &mut out);
        out.extend_from_slice(b"abc");
        assert!(Key::read(&mut Reader::new(&out), KeyType::String, 33).is_err());
    }

    #[test]
    fn key_sizes_as_haproxy() {
        assert_eq!(KeyType::String.key_size(None), 33);
        assert_eq!(KeyType::Binary.key_size(Some(8)), 8);
        assert_eq!(KeyType::Ip.key_size(None), 4);
    }
}
