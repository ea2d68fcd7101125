//! The validated definition of a `stick-table` (HAProxy 2.6 `stick-table type … size … expire …
//! store …`): its key type, its bounds and the data it stores. The data types carry HAProxy's
//! numeric ids (`enum stktable_data_type` in `include/haproxy/stick_table-t.h`, the bit numbers
//! of the peers protocol's "data types bitfield") and key types the peers protocol's table type
//! numbers, so a peer session can map them one to one.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `type ip|ipv6|integer|string len N|binary len N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StickKeyType {
    /// IPv4 address (an IPv6 source is refused as a key, as in HAProxy).
    Ip,
    /// IPv6 address (an IPv4 source is stored v4-mapped).
    Ipv6,
    /// 32-bit signed integer.
    Integer,
    /// At most `len` bytes (HAProxy's default 32), longer keys truncated.
    String { len: u32 },
    /// Exactly `len` bytes (default 32), shorter keys padded with zeros.
    Binary { len: u32 },
}

impl StickKeyType {
    /// The table type number of HAProxy's peers protocol (`peers-v2.0.txt`, III.c).
    pub fn peers_id(self) -> u8 {
        match self {
            StickKeyType::Integer => 2,
            StickKeyType::Ip => 4,
            StickKeyType::Ipv6 => 5,
            StickKeyType::String { .. } => 6,
            StickKeyType::Binary { .. } => 7,
        }
    }

    /// Key length as the peers protocol announces it.
    pub fn key_len(self) -> u32 {
        match self {
            StickKeyType::Integer | StickKeyType::Ip => 4,
            StickKeyType::Ipv6 => 16,
            StickKeyType::String { len } | StickKeyType::Binary { len } => len,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StickKeyType::Ip => "ip",
            StickKeyType::Ipv6 => "ipv6",
            StickKeyType::Integer => "integer",
            StickKeyType::String { .. } => "string",
            StickKeyType::Binary { .. } => "binary",
        }
    }
}

/// How HAProxy stores a data type (`STD_T_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickStorage {
    /// `std_t_sint`.
    Sint,
    /// `std_t_uint`.
    Uint,
    /// `std_t_ull`.
    Ull,
    /// `std_t_frqp`: a frequency counter over a period.
    Freq,
}

/// One storable data type, with HAProxy's id as discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum StickDataType {
    ServerId = 0,
    Gpt0 = 1,
    Gpc0 = 2,
    Gpc0Rate = 3,
    ConnCnt = 4,
    ConnRate = 5,
    ConnCur = 6,
    SessCnt = 7,
    SessRate = 8,
    HttpReqCnt = 9,
    HttpReqRate = 10,
    HttpErrCnt = 11,
    HttpErrRate = 12,
    BytesInCnt = 13,
    BytesInRate = 14,
    BytesOutCnt = 15,
    BytesOutRate = 16,
}

impl StickDataType {
    pub const ALL: [StickDataType; 17] = [
        StickDataType::ServerId,
        StickDataType::Gpt0,
        StickDataType::Gpc0,
        StickDataType::Gpc0Rate,
        StickDataType::ConnCnt,
        StickDataType::ConnRate,
        StickDataType::ConnCur,
        StickDataType::SessCnt,
        StickDataType::SessRate,
        StickDataType::HttpReqCnt,
        StickDataType::HttpReqRate,
        StickDataType::HttpErrCnt,
        StickDataType::HttpErrRate,
        StickDataType::BytesInCnt,
        StickDataType::BytesInRate,
        StickDataType::BytesOutCnt,
        StickDataType::BytesOutRate,
    ];

    /// HAProxy's id (also the bit of the peers protocol's data types bitfield).
    pub fn id(self) -> u8 {
        self as u8
    }

    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL.get(usize::from(id)).copied()
    }

    /// The name in `store` and in `show table` (`http_req_rate`).
    pub fn name(self) -> &'static str {
        match self {
            StickDataType::ServerId => "server_id",
            StickDataType::Gpt0 => "gpt0",
            StickDataType::Gpc0 => "gpc0",
            StickDataType::Gpc0Rate => "gpc0_rate",
            StickDataType::ConnCnt => "conn_cnt",
            StickDataType::ConnRate => "conn_rate",
            StickDataType::ConnCur => "conn_cur",
            StickDataType::SessCnt => "sess_cnt",
            StickDataType::SessRate => "sess_rate",
            StickDataType::HttpReqCnt => "http_req_cnt",
            StickDataType::HttpReqRate => "http_req_rate",
            StickDataType::HttpErrCnt => "http_err_cnt",
            StickDataType::HttpErrRate => "http_err_rate",
            StickDataType::BytesInCnt => "bytes_in_cnt",
            StickDataType::BytesInRate => "bytes_in_rate",
            StickDataType::BytesOutCnt => "bytes_out_cnt",
            StickDataType::BytesOutRate => "bytes_out_rate",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }

    pub fn storage(self) -> StickStorage {
        use StickDataType::*;
        match self {
            ServerId => StickStorage::Sint,
            BytesInCnt | BytesOutCnt => StickStorage::Ull,
            Gpc0Rate | ConnRate | SessRate | HttpReqRate | HttpErrRate | BytesInRate | BytesOutRate => StickStorage::Freq,
            Gpt0 | Gpc0 | ConnCnt | ConnCur | SessCnt | HttpReqCnt | HttpErrCnt => StickStorage::Uint,
        }
    }

    /// A rate takes a period argument (`http_req_rate(10s)`).
    pub fn is_rate(self) -> bool {
        self.storage() == StickStorage::Freq
    }
}

/// One `store` item: a data type and, for a rate, its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickStore {
    pub data: StickDataType,
    /// The rate's period (`conn_rate(10s)`); zero for non-rates.
    pub period: Duration,
}

/// A validated `stick-table`; its name is the proxy's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickTableDef {
    pub name: String,
    pub key: StickKeyType,
    /// Most entries held at once.
    pub size: u32,
    /// Entries not touched for this long go away; `None`: never (only evicted when full).
    pub expire: Option<Duration>,
    /// When full, refuse new entries instead of evicting the least recently used.
    pub nopurge: bool,
    /// `peers NAME`: the section its updates are shared with (carried, not used here).
    pub peers: Option<String>,
    pub store: Vec<StickStore>,
}

impl StickTableDef {
    pub fn stores(&self, data: StickDataType) -> bool {
        self.store.iter().any(|s| s.data == data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip_as_haproxy_numbers_them() {
        for t in StickDataType::ALL {
            assert_eq!(StickDataType::from_id(t.id()), Some(t));
            assert_eq!(StickDataType::from_name(t.name()), Some(t));
        }
        assert_eq!(StickDataType::HttpReqRate.id(), 10);
        assert_eq!(StickDataType::BytesOutRate.id(), 16);
        assert_eq!(StickDataType::from_id(17), None);
        assert_eq!(StickKeyType::Ipv6.peers_id(), 5);
    }
}
