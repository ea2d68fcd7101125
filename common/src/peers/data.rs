//! Stick-table data types by HAProxy's ids (`STKTABLE_DT_*` in `include/haproxy/stick_table-t.h`,
//! `stktable_data_types[]` in `src/stick_table.c`) and their wire encodings (the value loops of
//! `peer_prepare_updatemsg()` / `peer_treat_updatemsg()` in `src/peers.c`).
//!
//! HAProxy 2.6 knows ids 0..=24; 25 and 26 (glitch counters) come from 3.0 and are decoded too,
//! so that a newer peer's definition is understood rather than misparsed.

use super::error::DecodeError;
use super::varint::{self, Reader};
use std::fmt;

/// How a data type's values travel (`STD_T_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdType {
    /// `int`, sent sign-extended to 64 bits.
    Sint,
    /// `unsigned int`.
    Uint,
    /// `unsigned long long`.
    Ull,
    /// A frequency counter: elapsed ms of the current period, current count, previous count.
    Freq,
    /// A dictionary entry (the server key), cached per connection.
    Dict,
}

macro_rules! data_types {
    ($($variant:ident = $id:literal, $name:literal, $std:ident, $array:literal;)*) => {
        /// A stick-table data type, by HAProxy's id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DataType { $($variant = $id,)* }

        impl DataType {
            pub const ALL: &'static [DataType] = &[$(DataType::$variant,)*];

            pub fn from_id(id: u32) -> Option<DataType> {
                match id { $($id => Some(DataType::$variant),)* _ => None }
            }

            /// The name in `store` and `show table`.
            pub fn name(self) -> &'static str {
                match self { $(DataType::$variant => $name,)* }
            }

            pub fn std_type(self) -> StdType {
                match self { $(DataType::$variant => StdType::$std,)* }
            }

            /// `gpt`, `gpc`, `gpc_rate`: arrays whose length the table definition gives.
            pub fn is_array(self) -> bool {
                match self { $(DataType::$variant => $array,)* }
            }
        }
    };
}

data_types! {
    ServerId = 0, "server_id", Sint, false;
    Gpt0 = 1, "gpt0", Uint, false;
    Gpc0 = 2, "gpc0", Uint, false;
    Gpc0Rate = 3, "gpc0_rate", Freq, false;
    ConnCnt = 4, "conn_cnt", Uint, false;
    ConnRate = 5, "conn_rate", Freq, false;
    ConnCur = 6, "conn_cur", Uint, false;
    SessCnt = 7, "sess_cnt", Uint, false;
    SessRate = 8, "sess_rate", Freq, false;
    HttpReqCnt = 9, "http_req_cnt", Uint, false;
    HttpReqRate = 10, "http_req_rate", Freq, false;
    HttpErrCnt = 11, "http_err_cnt", Uint, false;
    HttpErrRate = 12, "http_err_rate", Freq, false;
    BytesInCnt = 13, "bytes_in_cnt", Ull, false;
    BytesInRate = 14, "bytes_in_rate", Freq, false;
    BytesOutCnt = 15, "bytes_out_cnt", Ull, false;
    BytesOutRate = 16, "bytes_out_rate", Freq, false;
    Gpc1 = 17, "gpc1", Uint, false;
    Gpc1Rate = 18, "gpc1_rate", Freq, false;
    ServerKey = 19, "server_key", Dict, false;
    HttpFailCnt = 20, "http_fail_cnt", Uint, false;
    HttpFailRate = 21, "http_fail_rate", Freq, false;
    Gpt = 22, "gpt", Uint, true;
    Gpc = 23, "gpc", Uint, true;
    GpcRate = 24, "gpc_rate", Freq, true;
    GlitchCnt = 25, "glitch_cnt", Uint, false;
    GlitchRate = 26, "glitch_rate", Freq, false;
}

impl DataType {
    pub fn id(self) -> u32 {
        self as u32
    }

    pub fn bit(self) -> u64 {
        1u64 << self.id()
    }

    /// Whether the table definition carries parameters for this type (a period, a length).
    pub fn has_params(self) -> bool {
        self.is_array() || self.std_type() == StdType::Freq
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// HAProxy's `STKTABLE_MAX_DT_ARRAY_SIZE`: the longest `gpt`/`gpc` array.
pub const MAX_ARRAY_LEN: u64 = 100;

/// One stored data type of a table and its parameters, as the definition message carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredType {
    pub data_type: DataType,
    /// The period of a frequency counter, in ms (`http_req_rate(10s)` → 10000).
    pub period_ms: Option<u32>,
    /// The number of elements of an array type.
    pub array_len: Option<u32>,
}

impl StoredType {
    pub fn plain(data_type: DataType) -> Self {
        StoredType { data_type, period_ms: None, array_len: None }
    }

    pub fn rate(data_type: DataType, period_ms: u32) -> Self {
        StoredType { data_type, period_ms: Some(period_ms), array_len: None }
    }

    pub fn array(data_type: DataType, len: u32, period_ms: Option<u32>) -> Self {
        StoredType { data_type, period_ms, array_len: Some(len) }
    }

    /// How many values an update carries for this type.
    pub fn count(&self) -> usize {
        if self.data_type.is_array() {
            self.array_len.unwrap_or(0) as usize
        } else {
            1
        }
    }
}

/// A frequency counter as it travels: HAProxy sends `now_ms - curr_tick` (how long the current
/// period has run), then `curr_ctr` and `prev_ctr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FreqCounter {
    pub elapsed_ms: u32,
    pub curr: u32,
    pub prev: u32,
}

/// One value of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Sint(i32),
    Uint(u32),
    Ull(u64),
    Freq(FreqCounter),
    /// The server key; `None` when the entry has none (encoded as length 0).
    Dict(Option<String>),
}

impl Value {
    /// The value HAProxy would store for an absent one.
    pub fn zero(std: StdType) -> Value {
        match std {
            StdType::Sint => Value::Sint(0),
            StdType::Uint => Value::Uint(0),
            StdType::Ull => Value::Ull(0),
            StdType::Freq => Value::Freq(FreqCounter::default()),
            StdType::Dict => Value::Dict(None),
        }
    }

    pub fn std_type(&self) -> StdType {
        match self {
            Value::Sint(_) => StdType::Sint,
            Value::Uint(_) => StdType::Uint,
            Value::Ull(_) => StdType::Ull,
            Value::Freq(_) => StdType::Freq,
            Value::Dict(_) => StdType::Dict,
        }
    }
}

/// The values of one data type in an update: one, or an array's elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedValues {
    pub data_type: DataType,
    pub values: Vec<Value>,
}

/// Reads one non-dictionary value of `std` type.
pub(crate) fn read_scalar(r: &mut Reader<'_>, dt: DataType) -> Result<Value, DecodeError> {
    let out_of_range = |value| DecodeError::ValueOutOfRange { data_type: dt.name(), value };
    Ok(match dt.std_type() {
        StdType::Sint => {
            // HAProxy casts the int to uint64_t (sign extension) before encoding it.
            let v = r.varint()?;
            let signed = v as i64;
            Value::Sint(i32::try_from(signed).map_err(|_| out_of_range(v))?)
        }
        StdType::Uint => {
            let v = r.varint()?;
            Value::Uint(u32::try_from(v).map_err(|_| out_of_range(v))?)
        }
        StdType::Ull => Value::Ull(r.varint()?),
        StdType::Freq => {
            let mut next = || -> Result<u32, DecodeError> {
                let v = r.varint()?;
                u32::try_from(v).map_err(|_| out_of_range(v))
            };
            let elapsed_ms = next()?;
            let curr = next()?;
            let prev = next()?;
            Value::Freq(FreqCounter { elapsed_ms, curr, prev })
        }
        StdType::Dict => return Err(DecodeError::Malformed("dictionary value read as a scalar")),
    })
}

/// Appends one non-dictionary value.
pub(crate) fn write_scalar(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Sint(i) => varint::encode(i64::from(*i) as u64, out),
        Value::Uint(u) => varint::encode(u64::from(*u), out),
        Value::Ull(u) => varint::encode(*u, out),
        Value::Freq(f) => {
            varint::encode(u64::from(f.elapsed_ms), out);
            varint::encode(u64::from(f.curr), out);
            varint::encode(u64::from(f.prev), out);
        }
        Value::Dict(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_haproxy() {
        assert_eq!(DataType::from_id(0), Some(DataType::ServerId));
        assert_eq!(DataType::from_id(2), Some(DataType::Gpc0));
        assert_eq!(DataType::from_id(10), Some(DataType::HttpReqRate));
        assert_eq!(DataType::from_id(19), Some(DataType::ServerKey));
        assert_eq!(DataType::from_id(24), Some(DataType::GpcRate));
        assert_eq!(DataType::from_id(27), None);
        for (i, dt) in DataType::ALL.iter().enumerate() {
            assert_eq!(dt.id() as usize, i);
        }
    }

    #[test]
    fn negative_server_id_is_sign_extended() {
        let mut out = Vec::new();
        write_scalar(&Value::Sint(-1), &mut out);
        assert_eq!(out.len(), 10);
        let mut r = Reader::new(&out);
        assert_eq!(read_scalar(&mut r, DataType::ServerId), Ok(Value::Sint(-1)));
    }

    #[test]
    fn out_of_range_values_are_errors() {
        let enc = varint::to_vec(1 << 33);
        assert!(matches!(read_scalar(&mut Reader::new(&enc), DataType::Gpc0), Err(DecodeError::ValueOutOfRange { .. })));
        assert!(matches!(read_scalar(&mut Reader::new(&enc), DataType::ServerId), Err(DecodeError::ValueOutOfRange { .. })));
        assert_eq!(read_scalar(&mut Reader::new(&enc), DataType::BytesInCnt), Ok(Value::Ull(1 << 33)));
    }
}
