//! The per-connection dictionary cache for `server_key` values (`struct dcache` in HAProxy's
//! `src/peers.c`, `PEER_STKT_CACHE_MAX_ENTRIES` = 128). The first time a value travels it goes
//! with its cache id; afterwards the id alone names it. Ids travel numbered from 1.
//!
//! ```text
//!  varint data length (0: no entry) | varint id | [ varint value length | value ]
//! ```
//!
//! Departures on purpose: HAProxy checks the id against the cache size only for an id sent
//! alone, and leaves bytes after the value to be misread as the next data type; here both are
//! errors, as is an id that names an entry never sent, or a value that is not UTF-8.

use super::error::DecodeError;
use super::varint::{self, Reader};
use std::collections::HashMap;

pub const CACHE_ENTRIES: usize = 128;

/// What a peer sent us: id → value.
#[derive(Debug, Clone)]
pub struct DictRx {
    entries: Vec<Option<String>>,
}

impl Default for DictRx {
    fn default() -> Self {
        DictRx { entries: vec![None; CACHE_ENTRIES] }
    }
}

impl DictRx {
    pub fn read(&mut self, r: &mut Reader<'_>) -> Result<Option<String>, DecodeError> {
        let len = r.bounded(r.remaining() as u64, "dictionary data length")?;
        if len == 0 {
            return Ok(None);
        }
        let mut sub = Reader::new(r.bytes(len)?);
        let id = sub.varint()?;
        if id == 0 || id > CACHE_ENTRIES as u64 {
            return Err(DecodeError::BadDictId(id));
        }
        let slot = (id - 1) as usize;
        if sub.is_empty() {
            return self.entries[slot].clone().map(Some).ok_or(DecodeError::UnknownDictId(id));
        }
        let vlen = sub.bounded(sub.remaining() as u64, "dictionary value length")?;
        let value = std::str::from_utf8(sub.bytes(vlen)?).map_err(|_| DecodeError::Malformed("dictionary value is not UTF-8"))?;
        if !sub.is_empty() {
            return Err(DecodeError::TrailingBytes { left: sub.remaining() });
        }
        self.entries[slot] = Some(value.to_string());
        Ok(Some(value.to_string()))
    }
}

/// What we sent a peer: value → id, ids reused round robin.
#[derive(Debug, Clone, Default)]
pub struct DictTx {
    ids: HashMap<String, usize>,
    slots: Vec<String>,
    next: usize,
}

impl DictTx {
    pub fn write(&mut self, value: Option<&str>, out: &mut Vec<u8>) {
        let Some(value) = value else {
            varint::encode(0, out);
            return;
        };
        if let Some(&id) = self.ids.get(value) {
            let enc = varint::to_vec(id as u64 + 1);
            varint::encode(enc.len() as u64, out);
            out.extend_from_slice(&enc);
            return;
        }
        let id = self.next;
        self.next = (self.next + 1) % CACHE_ENTRIES;
        if let Some(old) = self.slots.get(id).cloned() {
            self.ids.remove(&old);
            self.slots[id] = value.to_string();
        } else {
            self.slots.push(value.to_string());
        }
        self.ids.insert(value.to_string(), id);
        let mut body = varint::to_vec(id as u64 + 1);
        varint::encode(value.len() as u64, &mut body);
        body.extend_from_slice(value.as_bytes());
        varint::encode(body.len() as u64, out);
        out.extend_from_slice(&body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_then_id_alone() {
        let mut tx = DictTx::default();
        let mut rx = DictRx::default();
        let mut out = Vec::new();
        tx.write(Some("web1"), &mut out);
        tx.write(Some("web1"), &mut out);
        tx.write(None, &mut out);
        assert_eq!(out, [6, 1, 4, b'w', b'e', b'b', b'1', 1, 1, 0]);
        let mut r = Reader::new(&out);
        assert_eq!(rx.read(&mut r), Ok(Some("web1".into())));
        assert_eq!(rx.read(&mut r), Ok(Some("web1".into())));
        assert_eq!(rx.read(&mut r), Ok(None));
        assert!(r.is_empty());
    }

    #[test]
    fn ids_wrap_after_the_cache_size() {
        let mut tx = DictTx::default();
        let mut rx = DictRx::default();
        for round in 0..3 {
            for i in 0..(CACHE_ENTRIES + 5) {
                let v = format!("s{i}");
                let mut out = Vec::new();
                tx.write(Some(&v), &mut out);
                assert_eq!(rx.read(&mut Reader::new(&out)), Ok(Some(v)), "round {round}");
            }
        }
    }

    #[test]
    fn bad_ids_are_errors() {
        let mut rx = DictRx::default();
        assert_eq!(rx.read(&mut Reader::new(&[1, 0])), Err(DecodeError::BadDictId(0)));
        assert_eq!(rx.read(&mut Reader::new(&[2, 0x81, 0x00])).map_err(|_| ()), Err(()));
        assert_eq!(rx.read(&mut Reader::new(&[1, 5])), Err(DecodeError::UnknownDictId(5)));
        assert_eq!(rx.read(&mut Reader::new(&[4, 1, 1, b'a', b'x'])), Err(DecodeError::TrailingBytes { left: 1 }));
        assert!(rx.read(&mut Reader::new(&[9, 1])).is_err());
    }
}
