//! Peers protocol messages after the handshake (`doc/peers-v2.0.txt` §IV and HAProxy 2.6's
//! `src/peers.c`: `peer_recv_msg()`, `peer_treat_awaited_msg()`, `peer_prepare_*msg()`).
//!
//! ```text
//!  0 - - - - - - - 8 - - - - - - - 16 ......................................
//!  | message class | message type  | [ varint length | body ]  if type >= 128
//!
//!  class 0 control  : 0 resync request, 1 resync finished, 2 resync partial,
//!                     3 resync confirm, 4 heartbeat
//!  class 1 error    : 0 protocol error, 1 size limit reached
//!  class 10 table   : 0x80 update, 0x81 incremental update, 0x82 definition, 0x83 switch,
//!                     0x84 ack, 0x85 timed update, 0x86 timed incremental update
//!  class 255        : reserved (a protocol error)
//! ```
//!
//! Messages of other classes or types are skipped, as HAProxy does. A body longer than
//! [`MAX_BODY`] (HAProxy's `tune.bufsize` default) is refused like HAProxy refuses it (a size
//! limit error), and so is a length encoded on more than 5 bytes (a protocol error).

use super::data::{read_scalar, write_scalar, DataType, StdType, StoredType, TypedValues, Value, MAX_ARRAY_LEN};
use super::dict::{DictRx, DictTx};
use super::error::DecodeError;
use super::key::{Key, KeyType, MAX_KEY_SIZE};
use super::varint::{self, Reader};

/// HAProxy's trash buffer size (`tune.bufsize`, 16384): the longest message body it reads.
pub const MAX_BODY: usize = 16_384;
/// `PEER_MSG_ENC_LENGTH_MAXLEN`: a body length takes at most 5 bytes.
const LENGTH_MAXLEN: usize = 5;
/// The longest table name accepted in a definition.
pub const MAX_TABLE_NAME: u64 = 1024;

pub const CLASS_CONTROL: u8 = 0;
pub const CLASS_ERROR: u8 = 1;
pub const CLASS_TABLE: u8 = 10;
pub const CLASS_RESERVED: u8 = 255;

const CTRL_RESYNC_REQUEST: u8 = 0;
const CTRL_RESYNC_FINISHED: u8 = 1;
const CTRL_RESYNC_PARTIAL: u8 = 2;
const CTRL_RESYNC_CONFIRM: u8 = 3;
const CTRL_HEARTBEAT: u8 = 4;
const ERR_PROTOCOL: u8 = 0;
const ERR_SIZE_LIMIT: u8 = 1;
const STKT_UPDATE: u8 = 0x80;
const STKT_INCUPDATE: u8 = 0x81;
const STKT_DEFINE: u8 = 0x82;
const STKT_SWITCH: u8 = 0x83;
const STKT_ACK: u8 = 0x84;
const STKT_UPDATE_TIMED: u8 = 0x85;
const STKT_INCUPDATE_TIMED: u8 = 0x86;
const HAS_BODY: u8 = 0x80;

/// One framed message: class, type and body (empty for types below 128).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub class: u8,
    pub kind: u8,
    pub body: Vec<u8>,
}

/// Cuts the first frame off `buf`: `Ok(None)` until it is complete, and the bytes it took.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, DecodeError> {
    let (Some(&class), Some(&kind)) = (buf.first(), buf.get(1)) else { return Ok(None) };
    if kind & HAS_BODY == 0 {
        return Ok(Some((Frame { class, kind, body: Vec::new() }, 2)));
    }
    let head = &buf[2..];
    let (len, n) = match varint::decode(&head[..head.len().min(LENGTH_MAXLEN)]) {
        Ok(v) => v,
        Err(DecodeError::Truncated) if head.len() < LENGTH_MAXLEN => return Ok(None),
        Err(DecodeError::Truncated) => return Err(DecodeError::Malformed("message length encoded on more than 5 bytes")),
        Err(e) => return Err(e),
    };
    if len > MAX_BODY as u64 {
        return Err(DecodeError::Oversized { len, limit: MAX_BODY });
    }
    let start = 2 + n;
    let end = start + len as usize;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((Frame { class, kind, body: buf[start..end].to_vec() }, end)))
}

/// A table definition (`peer_prepare_switchmsg()`, which builds the definition message).
///
/// ```text
///  varint table id | varint name length | name | varint key type | varint key size |
///  varint data types bitfield | varint expire (ms) | per rate/array type:
///  varint type id [ varint array length ] [ varint period (ms) ]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// The sender's id for the table, used by switch and ack messages.
    pub table_id: u64,
    pub name: String,
    /// The key type as sent (`None`: an id this codec does not know).
    pub key_type: Option<KeyType>,
    pub key_size: u32,
    /// The data types bitfield as sent.
    pub data_bits: u64,
    /// The entries' lifetime, if the sender announced it.
    pub expire_ms: Option<u32>,
    /// The stored types in id order, with their parameters; empty when `data_bits` names a
    /// type this codec does not know (the table's updates cannot be read).
    pub stored: Vec<StoredType>,
    /// Whether every bit of `data_bits` is a known type with its parameters present.
    pub understood: bool,
}

impl TableDefinition {
    pub fn new(table_id: u64, name: &str, key_type: KeyType, key_size: u32, expire_ms: u32, stored: Vec<StoredType>) -> Self {
        let mut stored = stored;
        stored.sort_by_key(|s| s.data_type);
        let data_bits = stored.iter().fold(0, |b, s| b | s.data_type.bit());
        TableDefinition {
            table_id,
            name: name.to_string(),
            key_type: Some(key_type),
            key_size,
            data_bits,
            expire_ms: Some(expire_ms),
            stored,
            understood: true,
        }
    }

    fn decode(body: &[u8]) -> Result<TableDefinition, DecodeError> {
        let mut r = Reader::new(body);
        let table_id = r.varint()?;
        let name_len = r.bounded(MAX_TABLE_NAME, "table name length")?;
        // HAProxy: an empty name, or one that reaches the end of the message, is malformed.
        if name_len == 0 || name_len >= r.remaining() {
            return Err(DecodeError::Malformed("table definition without a name or a key type"));
        }
        let name = std::str::from_utf8(r.bytes(name_len)?).map_err(|_| DecodeError::Malformed("table name is not UTF-8"))?.to_string();
        let key_type = KeyType::from_wire(r.varint()?);
        let key_size = r.bounded(MAX_KEY_SIZE, "key size")? as u32;
        let data_bits = r.varint()?;
        let expire_ms = if r.is_empty() { None } else { Some(r.bounded(u64::from(u32::MAX), "expire")? as u32) };
        let mut stored = Vec::new();
        let mut understood = true;
        for bit in 0..64u32 {
            if data_bits & (1u64 << bit) == 0 {
                continue;
            }
            let Some(dt) = DataType::from_id(bit) else {
                understood = false;
                continue;
            };
            if !understood {
                continue;
            }
            let mut st = StoredType::plain(dt);
            if dt.has_params() {
                if expire_ms.is_none() {
                    // HAProxy ignores such a table when an array misses its length; a rate
                    // without its period is only usable with the period unknown.
                    if dt.is_array() {
                        understood = false;
                    }
                    stored.push(st);
                    continue;
                }
                let prefix = r.varint()?;
                if prefix != u64::from(bit) {
                    return Err(DecodeError::Malformed("table definition parameters out of order"));
                }
                if dt.is_array() {
                    st.array_len = Some(r.bounded(MAX_ARRAY_LEN, "array length")? as u32);
                }
                if dt.std_type() == StdType::Freq {
                    st.period_ms = Some(r.bounded(u64::from(u32::MAX), "period")? as u32);
                }
            }
            stored.push(st);
        }
        if understood && !r.is_empty() {
            return Err(DecodeError::TrailingBytes { left: r.remaining() });
        }
        if !understood {
            stored.clear();
        }
        Ok(TableDefinition { table_id, name, key_type, key_size, data_bits, expire_ms, stored, understood })
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        varint::encode(self.table_id, out);
        varint::encode(self.name.len() as u64, out);
        out.extend_from_slice(self.name.as_bytes());
        varint::encode(self.key_type.map(KeyType::wire_id).unwrap_or(0), out);
        varint::encode(u64::from(self.key_size), out);
        varint::encode(self.data_bits, out);
        varint::encode(u64::from(self.expire_ms.unwrap_or(0)), out);
        for st in &self.stored {
            if !st.data_type.has_params() {
                continue;
            }
            varint::encode(u64::from(st.data_type.id()), out);
            if st.data_type.is_array() {
                varint::encode(u64::from(st.array_len.unwrap_or(0)), out);
            }
            if st.data_type.std_type() == StdType::Freq {
                varint::encode(u64::from(st.period_ms.unwrap_or(0)), out);
            }
        }
    }
}

/// An update as it travels: with or without its update id, with or without its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The sender's update id; `None` for an incremental update (previous id + 1).
    pub update_id: Option<u32>,
    /// Remaining lifetime in ms (timed updates, sent during a full resync).
    pub expire_ms: Option<u32>,
    pub key: Key,
    pub values: Vec<TypedValues>,
}

/// What the reader of an update needs: the table's key and the sender's stored types.
#[derive(Debug, Clone, Copy)]
pub struct UpdateLayout<'a> {
    pub key_type: KeyType,
    pub key_size: u32,
    pub stored: &'a [StoredType],
}

impl Update {
    /// `peer_treat_updatemsg()`: reads the body of an update message.
    pub fn decode(body: &[u8], with_id: bool, timed: bool, layout: UpdateLayout<'_>, dict: &mut DictRx) -> Result<Update, DecodeError> {
        let mut r = Reader::new(body);
        let update_id = if with_id { Some(r.u32_be()?) } else { None };
        let expire_ms = if timed { Some(r.u32_be()?) } else { None };
        let key = Key::read(&mut r, layout.key_type, layout.key_size)?;
        let mut values = Vec::with_capacity(layout.stored.len());
        for st in layout.stored {
            let mut vs = Vec::with_capacity(st.count());
            for _ in 0..st.count() {
                vs.push(match st.data_type.std_type() {
                    StdType::Dict => Value::Dict(dict.read(&mut r)?),
                    _ => read_scalar(&mut r, st.data_type)?,
                });
            }
            values.push(TypedValues { data_type: st.data_type, values: vs });
        }
        if !r.is_empty() {
            return Err(DecodeError::TrailingBytes { left: r.remaining() });
        }
        Ok(Update { update_id, expire_ms, key, values })
    }

    /// `peer_prepare_updatemsg()`: the whole message, values in the order of `layout.stored`
    /// (a type the entry lacks goes as zero, as HAProxy sends a fresh counter).
    pub fn encode(&self, layout: UpdateLayout<'_>, dict: &mut DictTx) -> Vec<u8> {
        let mut body = Vec::new();
        if let Some(id) = self.update_id {
            body.extend_from_slice(&id.to_be_bytes());
        }
        if let Some(exp) = self.expire_ms {
            body.extend_from_slice(&exp.to_be_bytes());
        }
        self.key.write(layout.key_size, &mut body);
        for st in layout.stored {
            let given = self.values.iter().find(|v| v.data_type == st.data_type);
            for i in 0..st.count() {
                let zero = Value::zero(st.data_type.std_type());
                let v = given.and_then(|g| g.values.get(i)).filter(|v| v.std_type() == st.data_type.std_type()).unwrap_or(&zero);
                match v {
                    Value::Dict(d) => dict.write(d.as_deref(), &mut body),
                    other => write_scalar(other, &mut body),
                }
            }
        }
        let kind = match (self.update_id.is_some(), self.expire_ms.is_some()) {
            (true, false) => STKT_UPDATE,
            (false, false) => STKT_INCUPDATE,
            (true, true) => STKT_UPDATE_TIMED,
            (false, true) => STKT_INCUPDATE_TIMED,
        };
        frame(CLASS_TABLE, kind, &body)
    }
}

/// A decoded message. Updates stay raw until the session knows the table they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    ResyncRequest,
    ResyncFinished,
    ResyncPartial,
    ResyncConfirm,
    Heartbeat,
    ErrorProtocol,
    ErrorSizeLimit,
    Define(TableDefinition),
    Switch {
        table_id: u64,
    },
    Update {
        with_id: bool,
        timed: bool,
        body: Vec<u8>,
    },
    Ack {
        table_id: u64,
        update_id: u32,
    },
    /// A class or type HAProxy 2.6 skips.
    Skipped {
        class: u8,
        kind: u8,
    },
}

impl Message {
    pub fn from_frame(f: Frame) -> Result<Message, DecodeError> {
        Ok(match (f.class, f.kind) {
            (CLASS_CONTROL, CTRL_RESYNC_REQUEST) => Message::ResyncRequest,
            (CLASS_CONTROL, CTRL_RESYNC_FINISHED) => Message::ResyncFinished,
            (CLASS_CONTROL, CTRL_RESYNC_PARTIAL) => Message::ResyncPartial,
            (CLASS_CONTROL, CTRL_RESYNC_CONFIRM) => Message::ResyncConfirm,
            (CLASS_CONTROL, CTRL_HEARTBEAT) => Message::Heartbeat,
            (CLASS_ERROR, ERR_PROTOCOL) => Message::ErrorProtocol,
            (CLASS_ERROR, ERR_SIZE_LIMIT) => Message::ErrorSizeLimit,
            (CLASS_TABLE, STKT_DEFINE) => Message::Define(TableDefinition::decode(&f.body)?),
            (CLASS_TABLE, STKT_SWITCH) => {
                let mut r = Reader::new(&f.body);
                Message::Switch { table_id: r.varint()? }
            }
            (CLASS_TABLE, STKT_ACK) => {
                let mut r = Reader::new(&f.body);
                let table_id = r.varint()?;
                Message::Ack { table_id, update_id: r.u32_be()? }
            }
            (CLASS_TABLE, k @ (STKT_UPDATE | STKT_INCUPDATE | STKT_UPDATE_TIMED | STKT_INCUPDATE_TIMED)) => Message::Update {
                with_id: matches!(k, STKT_UPDATE | STKT_UPDATE_TIMED),
                timed: matches!(k, STKT_UPDATE_TIMED | STKT_INCUPDATE_TIMED),
                body: f.body,
            },
            (CLASS_RESERVED, _) => return Err(DecodeError::ReservedClass),
            (class, kind) => Message::Skipped { class, kind },
        })
    }

    /// The wire bytes of a message (an update is encoded by [`Update::encode`]).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::ResyncRequest => vec![CLASS_CONTROL, CTRL_RESYNC_REQUEST],
            Message::ResyncFinished => vec![CLASS_CONTROL, CTRL_RESYNC_FINISHED],
            Message::ResyncPartial => vec![CLASS_CONTROL, CTRL_RESYNC_PARTIAL],
            Message::ResyncConfirm => vec![CLASS_CONTROL, CTRL_RESYNC_CONFIRM],
            Message::Heartbeat => vec![CLASS_CONTROL, CTRL_HEARTBEAT],
            Message::ErrorProtocol => vec![CLASS_ERROR, ERR_PROTOCOL],
            Message::ErrorSizeLimit => vec![CLASS_ERROR, ERR_SIZE_LIMIT],
            Message::Define(d) => {
                let mut body = Vec::new();
                d.encode_body(&mut body);
                frame(CLASS_TABLE, STKT_DEFINE, &body)
            }
            Message::Switch { table_id } => frame(CLASS_TABLE, STKT_SWITCH, &varint::to_vec(*table_id)),
            Message::Ack { table_id, update_id } => {
                let mut body = varint::to_vec(*table_id);
                body.extend_from_slice(&update_id.to_be_bytes());
                frame(CLASS_TABLE, STKT_ACK, &body)
            }
            Message::Update { with_id, timed, body } => {
                let kind = match (with_id, timed) {
                    (true, false) => STKT_UPDATE,
                    (false, false) => STKT_INCUPDATE,
                    (true, true) => STKT_UPDATE_TIMED,
                    (false, true) => STKT_INCUPDATE_TIMED,
                };
                frame(CLASS_TABLE, kind, body)
            }
            Message::Skipped { class, kind } => vec![*class, *kind],
        }
    }
}

fn frame(class: u8, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![class, kind];
    varint::encode(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
