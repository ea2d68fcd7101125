use super::*;
use crate::peers::data::{DataType, Value};
use crate::peers::message::decode_frame;
use std::net::Ipv4Addr;

#[derive(Default)]
struct Tables {
    entries: Vec<Vec<LocalEntry>>,
}

impl TableView for Tables {
    fn last_update_id(&self, table: usize) -> u32 {
        self.entries.get(table).and_then(|t| t.iter().map(|e| e.update_id).max()).unwrap_or(0)
    }
    fn entries_after(&self, table: usize, after: u32, max: usize) -> Vec<LocalEntry> {
        let mut v = self.entries.get(table).cloned().unwrap_or_default();
        v.sort_by_key(|e| e.update_id.wrapping_sub(after.wrapping_add(1)));
        v.truncate(max);
        v
    }
}

fn table() -> LocalTable {
    LocalTable {
        name: "be".into(),
        key_type: KeyType::Ip,
        key_size: 4,
        expire_ms: 60_000,
        stored: vec![StoredType::plain(DataType::ServerId), StoredType::plain(DataType::Gpc0)],
    }
}

fn cfg() -> SessionConfig {
    SessionConfig { local_name: "lb1".into(), peers: vec!["lb2".into(), "hap".into()], tables: vec![table()], pid: 7 }
}

fn entry(id: u32, last_octet: u8, server: i32) -> LocalEntry {
    LocalEntry {
        update_id: id,
        key: Key::Ip(Ipv4Addr::new(192, 0, 2, last_octet)),
        expire_ms: 50_000,
        values: vec![TypedValues { data_type: DataType::ServerId, values: vec![Value::Sint(server)] }],
    }
}

/// Every message the outputs send, decoded (handshake lines are left out).
fn sent(out: &[Output]) -> Vec<Message> {
    let mut msgs = Vec::new();
    for o in out {
        if let Output::Send(b) = o {
            if b.last() == Some(&b'\n') {
                continue;
            }
            let mut rest = &b[..];
            while let Ok(Some((f, n))) = decode_frame(rest) {
                msgs.push(Message::from_frame(f).expect("our own message decodes"));
                rest = &rest[n..];
            }
        }
    }
    msgs
}

fn established_server(t0: Instant, view: &Tables) -> (Session, Vec<Output>) {
    let mut s = Session::accept(cfg(), t0);
    let out = s.on(Input::Received(b"HAProxyS 2.1\nlb1\nlb2 123 1\n"), t0, view);
    (s, out)
}

#[test]
fn accepted_hello_gets_200_and_establishes() {
    let t0 = Instant::now();
    let (s, out) = established_server(t0, &Tables::default());
    assert_eq!(out, vec![Output::Send(b"200\n".to_vec()), Output::Established { peer: "lb2".into() }]);
    assert!(s.is_established());
    assert_eq!(s.peer(), Some("lb2"));
}

#[test]
fn hello_refusals_as_haproxy() {
    for (hello, status) in [
        (&b"GET / HTTP/1.1\r\n"[..], Status::ErrProto),
        (b"HAProxyS 3.0\n", Status::ErrVersion),
        (b"HAProxyS 2.2\n", Status::ErrVersion),
        (b"HAProxyS 2.1\nsomeone-else\n", Status::ErrHost),
        (b"HAProxyS 2.1\nlb1\nintruder 1 1\n", Status::ErrPeer),
        (b"HAProxyS 2.1\nlb1\nlb2\n", Status::ErrProto),
    ] {
        let t0 = Instant::now();
        let mut s = Session::accept(cfg(), t0);
        let out = s.on(Input::Received(hello), t0, &Tables::default());
        assert_eq!(
            out,
            vec![Output::Send(status.line()), Output::Close(CloseReason::HandshakeRefused(status))],
            "{:?}",
            String::from_utf8_lossy(hello)
        );
        assert!(s.is_closed());
    }
}

#[test]
fn hello_split_over_reads_and_followed_by_messages() {
    let t0 = Instant::now();
    let mut s = Session::accept(cfg(), t0);
    let view = Tables::default();
    assert!(s.on(Input::Received(b"HAProxyS 2."), t0, &view).is_empty());
    let mut rest = b"1\r\nlb1\nlb2 5 1\n".to_vec();
    rest.extend(Message::Heartbeat.encode());
    let out = s.on(Input::Received(&rest), t0, &view);
    assert!(out.contains(&Output::Established { peer: "lb2".into() }));
    assert_eq!(s.counters.rx_hbt, 1);
}

#[test]
fn endless_hello_line_is_garbage() {
    let t0 = Instant::now();
    let mut s = Session::accept(cfg(), t0);
    let out = s.on(Input::Received(&[b'A'; 2000]), t0, &Tables::default());
    assert!(matches!(out.as_slice(), [Output::Close(CloseReason::Garbage(DecodeError::LineTooLong(_)))]));
    assert_eq!(s.counters.proto_err, 1);
}

#[test]
fn client_sends_hello_and_reads_status() {
    let t0 = Instant::now();
    let view = Tables::default();
    let mut s = Session::connect(cfg(), "hap", &[], 1, t0);
    assert_eq!(s.on(Input::Connected, t0, &view), vec![Output::Send(b"HAProxyS 2.1\nhap\nlb1 7 1\n".to_vec())]);
    assert_eq!(s.on(Input::Received(b"200\n"), t0, &view), vec![Output::Established { peer: "hap".into() }]);

    let mut s = Session::connect(cfg(), "hap", &[], 1, t0);
    s.on(Input::Connected, t0, &view);
    assert_eq!(s.on(Input::Received(b"503\n"), t0, &view), vec![Output::Close(CloseReason::RefusedByPeer(Status::ErrHost))]);

    // After a 502, the owner retries as a 2.0 peer.
    let mut s = Session::connect(cfg(), "hap", &[], 0, t0);
    assert_eq!(s.on(Input::Connected, t0, &view), vec![Output::Send(b"HAProxyS 2.0\nhap\nlb1 7 1\n".to_vec())]);
}

#[test]
fn local_updates_pushed_on_connect_with_ids_only_when_not_consecutive() {
    let t0 = Instant::now();
    let view = Tables { entries: vec![vec![entry(1, 10, 1), entry(2, 11, 2), entry(5, 12, 1)]] };
    let (_, out) = established_server(t0, &view);
    let msgs = sent(&out);
    assert!(matches!(&msgs[0], Message::Define(d) if d.name == "be" && d.table_id == 1));
    let kinds: Vec<(bool, bool)> = msgs[1..]
        .iter()
        .map(|m| match m {
            Message::Update { with_id, timed, .. } => (*with_id, *timed),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, vec![(true, false), (false, false), (true, false)]);
}

#[test]
fn acks_move_the_position_kept_for_the_next_session() {
    let t0 = Instant::now();
    let mut view = Tables { entries: vec![vec![entry(1, 10, 1), entry(2, 11, 2)]] };
    let (mut s, _) = established_server(t0, &view);
    s.on(Input::Received(&Message::Ack { table_id: 1, update_id: 2 }.encode()), t0, &view);
    assert_eq!(s.acked(), vec![2]);
    // A new local update goes alone, with its id.
    view.entries[0].push(entry(3, 13, 1));
    let msgs = sent(&s.on(Input::LocalUpdates, t0, &view));
    assert_eq!(msgs.len(), 1);
    assert!(matches!(&msgs[0], Message::Update { with_id: true, timed: false, .. }));
    // The next session starts after the acknowledged position: only update 3 is pushed.
    let mut s2 = Session::connect(cfg(), "hap", &s.acked(), 1, t0);
    s2.on(Input::Connected, t0, &view);
    let msgs = sent(&s2.on(Input::Received(b"200\n"), t0, &view));
    assert_eq!(msgs.iter().filter(|m| matches!(m, Message::Update { .. })).count(), 1);
}

#[test]
fn resync_request_teaches_every_entry_timed_then_finished() {
    let t0 = Instant::now();
    let view = Tables { entries: vec![vec![entry(1, 10, 1), entry(2, 11, 2)]] };
    let (mut s, _) = established_server(t0, &view);
    s.on(Input::Received(&Message::Ack { table_id: 1, update_id: 2 }.encode()), t0, &view);
    let msgs = sent(&s.on(Input::Received(&Message::ResyncRequest.encode()), t0, &view));
    let timed = msgs.iter().filter(|m| matches!(m, Message::Update { timed: true, .. })).count();
    assert_eq!(timed, 2);
    assert_eq!(msgs.last(), Some(&Message::ResyncFinished));
    // Not up to date itself: "partial".
    s.set_up_to_date(false);
    let msgs = sent(&s.on(Input::Received(&Message::ResyncRequest.encode()), t0, &view));
    assert_eq!(msgs.last(), Some(&Message::ResyncPartial));
    // The peer's confirm ends the lesson; acks count again.
    s.on(Input::Received(&Message::ResyncConfirm.encode()), t0, &view);
    s.on(Input::Received(&Message::Ack { table_id: 1, update_id: 2 }.encode()), t0, &view);
    assert_eq!(s.acked(), vec![2]);
}

#[test]
fn learning_a_resync_applies_acks_and_confirms() {
    let t0 = Instant::now();
    let view = Tables::default();
    let (mut s, _) = established_server(t0, &view);
    assert_eq!(sent(&s.on(Input::RequestResync, t0, &view)), vec![Message::ResyncRequest]);
    let def = TableDefinition::new(9, "be", KeyType::Ip, 4, 60_000, table().stored);
    let layout = UpdateLayout { key_type: KeyType::Ip, key_size: 4, stored: &def.stored };
    let mut bytes = Message::Define(def.clone()).encode();
    let u = Update {
        update_id: Some(41),
        expire_ms: Some(30_000),
        key: Key::Ip(Ipv4Addr::new(127, 0, 0, 2)),
        values: vec![
            TypedValues { data_type: DataType::ServerId, values: vec![Value::Sint(2)] },
            TypedValues { data_type: DataType::Gpc0, values: vec![Value::Uint(7)] },
        ],
    };
    bytes.extend(u.encode(layout, &mut DictTx::default()));
    let inc = Update { update_id: None, key: Key::Ip(Ipv4Addr::new(127, 0, 0, 3)), ..u.clone() };
    bytes.extend(inc.encode(layout, &mut DictTx::default()));
    bytes.extend(Message::ResyncFinished.encode());
    let out = s.on(Input::Received(&bytes), t0, &view);
    assert!(out.contains(&Output::Learned { table: 0, key: u.key.clone(), expire_ms: Some(30_000), values: u.values.clone() }));
    assert!(out.contains(&Output::ResyncFinished { partial: false }));
    // Acked with the peer's table id and the last update id (41, then 42 by increment).
    assert_eq!(sent(&out), vec![Message::Ack { table_id: 9, update_id: 42 }, Message::ResyncConfirm]);
    assert_eq!(s.counters.learned, 2);
}

#[test]
fn mismatching_definitions_are_ignored_with_their_updates() {
    let t0 = Instant::now();
    let view = Tables::default();
    for def in [
        TableDefinition::new(1, "other", KeyType::Ip, 4, 1000, vec![]),
        TableDefinition::new(1, "be", KeyType::Ipv6, 16, 1000, vec![]),
        TableDefinition::new(1, "be", KeyType::String, 33, 1000, vec![]),
    ] {
        let (mut s, _) = established_server(t0, &view);
        let key = Key::Ip(Ipv4Addr::LOCALHOST);
        let layout = UpdateLayout { key_type: KeyType::Ip, key_size: 4, stored: &[] };
        let mut bytes = Message::Define(def).encode();
        bytes.extend(Update { update_id: Some(1), expire_ms: None, key, values: vec![] }.encode(layout, &mut DictTx::default()));
        let out = s.on(Input::Received(&bytes), t0, &view);
        assert!(matches!(out.as_slice(), [Output::TableIgnored { .. }]), "{out:?}");
        assert!(s.is_established());
    }
}

#[test]
fn heartbeats_and_dead_peer_timeout() {
    let t0 = Instant::now();
    let view = Tables::default();
    let (mut s, _) = established_server(t0, &view);
    assert_eq!(s.next_deadline(), Some(t0 + HEARTBEAT));
    assert_eq!(sent(&s.on(Input::Tick, t0 + HEARTBEAT, &view)), vec![Message::Heartbeat]);
    assert_eq!(s.counters.tx_hbt, 1);
    // The peer's heartbeat at 4 s keeps it alive through the period ending at 9 s.
    s.on(Input::Received(&Message::Heartbeat.encode()), t0 + Duration::from_secs(4), &view);
    let out = s.on(Input::Tick, t0 + Duration::from_secs(9), &view);
    assert!(!out.iter().any(|o| matches!(o, Output::Close(_))));
    // Silence for a whole period: disconnected and counted.
    let out = s.on(Input::Tick, t0 + Duration::from_secs(14), &view);
    assert_eq!(out.last(), Some(&Output::Close(CloseReason::Timeout)));
    assert_eq!(s.counters.no_hbt, 1);
}

#[test]
fn slow_handshake_times_out() {
    let t0 = Instant::now();
    let mut s = Session::accept(cfg(), t0);
    let view = Tables::default();
    s.on(Input::Received(b"HAProxyS 2.1\n"), t0, &view);
    assert_eq!(s.on(Input::Tick, t0 + HANDSHAKE_TIMEOUT, &view), vec![Output::Close(CloseReason::Timeout)]);
}

#[test]
fn garbage_after_handshake_is_answered_counted_and_closed() {
    let t0 = Instant::now();
    let view = Tables::default();
    for (bytes, answer) in [
        (vec![255u8, 0], Message::ErrorProtocol),
        (vec![10, 0x80, 0xf8, 0xff, 0x7f], Message::ErrorSizeLimit),
        (vec![10, 0x82, 1, 0], Message::ErrorProtocol),
    ] {
        let (mut s, _) = established_server(t0, &view);
        let out = s.on(Input::Received(&bytes), t0, &view);
        assert_eq!(sent(&out), vec![answer]);
        assert!(matches!(out.last(), Some(Output::Close(CloseReason::Garbage(_)))));
        assert_eq!(s.counters.proto_err, 1);
        assert!(s.on(Input::Received(&[0, 4]), t0, &view).is_empty(), "a closed session ignores input");
    }
}

#[test]
fn malformed_update_of_a_mapped_table_is_garbage() {
    let t0 = Instant::now();
    let view = Tables::default();
    let (mut s, _) = established_server(t0, &view);
    let mut bytes = Message::Define(TableDefinition::new(1, "be", KeyType::Ip, 4, 1000, table().stored)).encode();
    bytes.extend(Message::Update { with_id: true, timed: false, body: vec![0, 0, 0, 1, 127, 0] }.encode());
    let out = s.on(Input::Received(&bytes), t0, &view);
    assert!(matches!(out.last(), Some(Output::Close(CloseReason::Garbage(DecodeError::Truncated)))));
}

#[test]
fn random_input_never_panics() {
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let view = Tables { entries: vec![vec![entry(1, 1, 1)]] };
    for _ in 0..3000 {
        let t0 = Instant::now();
        let (mut s, _) = established_server(t0, &view);
        let mut def = Message::Define(TableDefinition::new(1, "be", KeyType::Ip, 4, 1000, table().stored)).encode();
        if next() % 2 == 0 {
            s.on(Input::Received(&def), t0, &view);
        }
        for _ in 0..4 {
            let len = (next() % 40) as usize;
            let mut chunk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 3 == 0 && len > 2 {
                chunk[0] = 10;
                chunk[1] = 0x80 | (next() % 7) as u8;
            }
            def.clear();
            s.on(Input::Received(&chunk), t0, &view);
        }
    }
}

#[test]
fn big_tables_go_out_in_batches_of_200() {
    let t0 = Instant::now();
    let entries: Vec<LocalEntry> = (1..=450u32).map(|id| entry(id, (id % 250) as u8, 1)).collect();
    let view = Tables { entries: vec![entries] };
    let (mut s, out) = established_server(t0, &view);
    let count = |msgs: &[Message]| msgs.iter().filter(|m| matches!(m, Message::Update { .. })).count();
    assert_eq!(count(&sent(&out)), MAX_UPDATES_AT_ONCE);
    assert!(s.wants_to_send(&view));
    assert_eq!(count(&sent(&s.on(Input::LocalUpdates, t0, &view))), 200);
    assert_eq!(count(&sent(&s.on(Input::LocalUpdates, t0, &view))), 50);
    assert!(!s.wants_to_send(&view));
    // A lesson goes the same way and ends with "finished" once every entry was taught.
    let mut taught = 0;
    let mut msgs = sent(&s.on(Input::Received(&Message::ResyncRequest.encode()), t0, &view));
    for _ in 0..5 {
        taught += msgs.iter().filter(|m| matches!(m, Message::Update { timed: true, .. })).count();
        if msgs.last() == Some(&Message::ResyncFinished) {
            break;
        }
        assert!(s.wants_to_send(&view));
        msgs = sent(&s.on(Input::LocalUpdates, t0, &view));
    }
    assert_eq!(msgs.last(), Some(&Message::ResyncFinished));
    assert_eq!(taught, 450);
    assert!(!s.wants_to_send(&view));
}

#[test]
fn lesson_starts_after_the_acknowledged_position_and_wraps() {
    let t0 = Instant::now();
    let view = Tables { entries: vec![vec![entry(1, 1, 1), entry(2, 2, 1), entry(3, 3, 1), entry(4, 4, 1)]] };
    let (mut s, _) = established_server(t0, &view);
    s.on(Input::Received(&Message::Ack { table_id: 1, update_id: 2 }.encode()), t0, &view);
    let msgs = sent(&s.on(Input::Received(&Message::ResyncRequest.encode()), t0, &view));
    let keys: Vec<u32> = msgs
        .iter()
        .filter_map(|m| match m {
            Message::Update { body, .. } => Some(u32::from_be_bytes([body[0], body[1], body[2], body[3]])),
            _ => None,
        })
        .collect();
    // Ids 3 and 4 (the first with its id, then an incremental one), then 1 with its id and 2.
    assert_eq!(msgs.iter().filter(|m| matches!(m, Message::Update { .. })).count(), 4);
    assert_eq!(keys.first(), Some(&3));
    assert_eq!(msgs.last(), Some(&Message::ResyncFinished));
}
