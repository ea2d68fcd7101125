use super::*;
use crate::peers::data::FreqCounter;
use std::net::Ipv4Addr;

/// The table of the interop test: `type ip size 1k expire 60s store server_id,http_req_rate(10s),gpc0`.
fn ip_table(id: u64) -> TableDefinition {
    TableDefinition::new(
        id,
        "be",
        KeyType::Ip,
        4,
        60_000,
        vec![StoredType::plain(DataType::ServerId), StoredType::rate(DataType::HttpReqRate, 10_000), StoredType::plain(DataType::Gpc0)],
    )
}

fn layout(d: &TableDefinition) -> UpdateLayout<'_> {
    UpdateLayout { key_type: d.key_type.expect("key type"), key_size: d.key_size, stored: &d.stored }
}

#[test]
fn definition_bytes_as_haproxy_sends_them() {
    let bytes = Message::Define(ip_table(1)).encode();
    // class 10, type 0x82, length, id 1, name "be", key type 4 (ip), key size 4,
    // bits server_id|gpc0|http_req_rate = 0x405, expire 60000, then "10 10000" for the rate.
    let mut body = vec![1, 2, b'b', b'e', 4, 4];
    body.extend(varint::to_vec(0x405));
    body.extend(varint::to_vec(60_000));
    body.push(10);
    body.extend(varint::to_vec(10_000));
    let mut want = vec![10, 0x82, body.len() as u8];
    want.extend(&body);
    assert_eq!(bytes, want);
    let (f, n) = decode_frame(&bytes).expect("frame").expect("complete");
    assert_eq!(n, bytes.len());
    assert_eq!(Message::from_frame(f), Ok(Message::Define(ip_table(1))));
}

#[test]
fn update_round_trips_in_all_four_kinds() {
    let def = ip_table(1);
    for (id, exp) in [(Some(7), None), (None, None), (Some(7), Some(59_000)), (None, Some(1))] {
        let u = Update {
            update_id: id,
            expire_ms: exp,
            key: Key::Ip(Ipv4Addr::new(127, 0, 0, 2)),
            values: vec![
                TypedValues { data_type: DataType::ServerId, values: vec![Value::Sint(2)] },
                TypedValues { data_type: DataType::Gpc0, values: vec![Value::Uint(3)] },
                TypedValues {
                    data_type: DataType::HttpReqRate,
                    values: vec![Value::Freq(FreqCounter { elapsed_ms: 1500, curr: 4, prev: 1 })],
                },
            ],
        };
        let bytes = u.encode(layout(&def), &mut DictTx::default());
        let (f, n) = decode_frame(&bytes).expect("frame").expect("complete");
        assert_eq!(n, bytes.len());
        let Message::Update { with_id, timed, body } = Message::from_frame(f).expect("message") else { panic!("not an update") };
        assert_eq!((with_id, timed), (id.is_some(), exp.is_some()));
        let back = Update::decode(&body, with_id, timed, layout(&def), &mut DictRx::default()).expect("decode");
        // Values come back in the table's order: server_id, gpc0, http_req_rate.
        let mut want = u.clone();
        want.values.sort_by_key(|v| v.data_type);
        assert_eq!(back, want);
    }
}

#[test]
fn timed_update_layout() {
    let def = TableDefinition::new(3, "t", KeyType::Integer, 4, 1000, vec![StoredType::plain(DataType::Gpc0)]);
    let u = Update { update_id: Some(0x0102_0304), expire_ms: Some(500), key: Key::Integer(9), values: vec![] };
    let bytes = u.encode(layout(&def), &mut DictTx::default());
    assert_eq!(bytes, [10, 0x85, 13, 1, 2, 3, 4, 0, 0, 1, 0xf4, 0, 0, 0, 9, 0]);
}

#[test]
fn control_and_ack_messages() {
    for m in [
        Message::ResyncRequest,
        Message::ResyncFinished,
        Message::ResyncPartial,
        Message::ResyncConfirm,
        Message::Heartbeat,
        Message::ErrorProtocol,
        Message::ErrorSizeLimit,
        Message::Switch { table_id: 300 },
        Message::Ack { table_id: 2, update_id: 0xffff_fffe },
    ] {
        let bytes = m.encode();
        let (f, n) = decode_frame(&bytes).expect("frame").expect("complete");
        assert_eq!(n, bytes.len());
        assert_eq!(Message::from_frame(f), Ok(m));
    }
    assert_eq!(Message::Heartbeat.encode(), [0, 4]);
    assert_eq!(Message::Ack { table_id: 1, update_id: 5 }.encode(), [10, 0x84, 5, 1, 0, 0, 0, 5]);
}

#[test]
fn unknown_types_are_skipped_and_reserved_class_is_an_error() {
    let (f, _) = decode_frame(&[0, 9]).expect("frame").expect("complete");
    assert_eq!(Message::from_frame(f), Ok(Message::Skipped { class: 0, kind: 9 }));
    let (f, n) = decode_frame(&[42, 0x90, 2, 1, 1, 0, 4]).expect("frame").expect("complete");
    assert_eq!(n, 5);
    assert_eq!(Message::from_frame(f), Ok(Message::Skipped { class: 42, kind: 0x90 }));
    let (f, _) = decode_frame(&[255, 0]).expect("frame").expect("complete");
    assert_eq!(Message::from_frame(f), Err(DecodeError::ReservedClass));
}

#[test]
fn oversized_and_overlong_lengths() {
    let mut big = vec![10, 0x80];
    big.extend(varint::to_vec(MAX_BODY as u64 + 1));
    assert!(matches!(decode_frame(&big), Err(DecodeError::Oversized { .. })));
    assert!(matches!(decode_frame(&[10, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]), Err(DecodeError::Malformed(_))));
    // Incomplete lengths wait for more bytes.
    assert_eq!(decode_frame(&[10, 0x80, 0xff, 0xff]), Ok(None));
}

#[test]
fn definitions_with_unknown_types_or_keys_are_read_but_not_understood() {
    let mut body = vec![1, 1, b'x', 9, 4];
    body.extend(varint::to_vec(1 << 40));
    body.push(0);
    let (f, _) = decode_frame(&frame(CLASS_TABLE, STKT_DEFINE, &body)).expect("frame").expect("complete");
    let Ok(Message::Define(d)) = Message::from_frame(f) else { panic!("not a definition") };
    assert_eq!(d.key_type, None);
    assert!(!d.understood);
    assert!(d.stored.is_empty());
}

#[test]
fn definition_without_name_is_malformed() {
    let (f, _) = decode_frame(&frame(CLASS_TABLE, STKT_DEFINE, &[1, 0, 4, 4, 0])).expect("frame").expect("complete");
    assert!(Message::from_frame(f).is_err());
    let (f, _) = decode_frame(&frame(CLASS_TABLE, STKT_DEFINE, &[1, 2, b'b', b'e'])).expect("frame").expect("complete");
    assert!(Message::from_frame(f).is_err());
}

#[test]
fn array_and_dict_types_round_trip() {
    let def = TableDefinition::new(
        1,
        "arr",
        KeyType::String,
        33,
        10_000,
        vec![
            StoredType::array(DataType::Gpc, 3, None),
            StoredType::array(DataType::GpcRate, 2, Some(1000)),
            StoredType::plain(DataType::ServerKey),
            StoredType::plain(DataType::BytesInCnt),
        ],
    );
    let bytes = Message::Define(def.clone()).encode();
    let (f, _) = decode_frame(&bytes).expect("frame").expect("complete");
    assert_eq!(Message::from_frame(f), Ok(Message::Define(def.clone())));
    let u = Update {
        update_id: Some(1),
        expire_ms: None,
        key: Key::String(b"session-abc".to_vec()),
        values: vec![
            TypedValues { data_type: DataType::Gpc, values: vec![Value::Uint(1), Value::Uint(2), Value::Uint(3)] },
            TypedValues { data_type: DataType::GpcRate, values: vec![Value::Freq(FreqCounter { elapsed_ms: 1, curr: 2, prev: 3 }); 2] },
            TypedValues { data_type: DataType::ServerKey, values: vec![Value::Dict(Some("web1".into()))] },
            TypedValues { data_type: DataType::BytesInCnt, values: vec![Value::Ull(u64::MAX)] },
        ],
    };
    let mut want = u.clone();
    want.values.sort_by_key(|v| v.data_type);
    let mut tx = DictTx::default();
    let mut rx = DictRx::default();
    for _ in 0..2 {
        let bytes = u.encode(layout(&def), &mut tx);
        let (f, _) = decode_frame(&bytes).expect("frame").expect("complete");
        let Ok(Message::Update { with_id, timed, body }) = Message::from_frame(f) else { panic!("not an update") };
        assert_eq!(Update::decode(&body, with_id, timed, layout(&def), &mut rx), Ok(want.clone()));
    }
}

/// Fuzz-like: random bytes and every truncation of valid messages give a frame, "need more"
/// or a typed error, never a panic; a decoded update never claims more than the body.
#[test]
fn random_bytes_and_truncations_never_panic() {
    let def = ip_table(1);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut rx = DictRx::default();
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len > 1 && next() % 2 == 0 {
            buf[0] = CLASS_TABLE;
            buf[1] = 0x80 | (next() % 8) as u8;
        }
        let mut rest = &buf[..];
        while let Ok(Some((f, n))) = decode_frame(rest) {
            assert!(n <= rest.len());
            rest = &rest[n..];
            if let Ok(Message::Update { with_id, timed, body }) = Message::from_frame(f) {
                let _ = Update::decode(&body, with_id, timed, layout(&def), &mut rx);
            }
        }
    }
    let good = Update {
        update_id: Some(1),
        expire_ms: Some(2),
        key: Key::Ip(Ipv4Addr::LOCALHOST),
        values: vec![TypedValues { data_type: DataType::Gpc0, values: vec![Value::Uint(300)] }],
    }
    .encode(layout(&def), &mut DictTx::default());
    for cut in 0..good.len() {
        assert_eq!(decode_frame(&good[..cut]), Ok(None), "cut {cut}");
        // The same cut applied to the body (a lying length) is a typed error.
        if cut > 3 {
            assert!(Update::decode(&good[3..cut], true, true, layout(&def), &mut rx).is_err(), "cut {cut}");
        }
    }
}
