//! libFuzzer target for the peers protocol (`hakeeper_common::peers`): bytes a peer sends,
//! fed to a session (as the server reading a hello, or as an established client).
//!
//! Properties checked, beyond "no panic":
//! - what the session learns, and how it ends, are the same whether the bytes arrive at once or
//!   in pieces (the transport reads from a non-blocking socket, so any split is possible); what
//!   it sends may differ, as HAProxy's does (two resync requests read together get one lesson);
//! - every message the session sends decodes (what we send, a peer can read);
//! - once closed, a session ignores further input;
//! - the input buffer is bounded: a frame length is checked before anything is kept for it
//!   (run with `-malloc_limit_mb`, see the README).

#![no_main]

use hakeeper_common::peers::data::{DataType, StoredType};
use hakeeper_common::peers::message::{decode_frame, Message};
use hakeeper_common::peers::session::{Input, LocalEntry, LocalTable, Output, Session, SessionConfig, TableView};
use hakeeper_common::peers::{Key, KeyType, TypedValues, Value};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::Instant;

struct OneEntry;

impl TableView for OneEntry {
    fn last_update_id(&self, _table: usize) -> u32 {
        1
    }
    fn entries_after(&self, _table: usize, _after: u32, max: usize) -> Vec<LocalEntry> {
        let e = LocalEntry {
            update_id: 1,
            key: Key::Ip(Ipv4Addr::LOCALHOST),
            expire_ms: 1000,
            values: vec![TypedValues { data_type: DataType::ServerKey, values: vec![Value::Dict(Some("s1".into()))] }],
        };
        vec![e].into_iter().take(max).collect()
    }
}

fn config() -> SessionConfig {
    let table = |name: &str, key_type, key_size| LocalTable {
        name: name.into(),
        key_type,
        key_size,
        expire_ms: 1000,
        stored: vec![
            StoredType::plain(DataType::ServerId),
            StoredType::plain(DataType::ServerKey),
            StoredType::rate(DataType::HttpReqRate, 10_000),
            StoredType::array(DataType::Gpc, 2, None),
        ],
    };
    SessionConfig {
        local_name: "a".into(),
        peers: vec!["b".into()],
        tables: vec![table("t", KeyType::Ip, 4), table("s", KeyType::String, 33)],
        pid: 1,
    }
}

fn run(data: &[u8], client: bool, split: usize) -> Vec<Output> {
    let now = Instant::now();
    let mut s = if client { Session::connect(config(), "b", &[], 1, now) } else { Session::accept(config(), now) };
    let mut out = Vec::new();
    if client {
        out.extend(s.on(Input::Connected, now, &OneEntry));
        out.extend(s.on(Input::Received(b"200\n"), now, &OneEntry));
    }
    let pieces: Vec<&[u8]> = if split == 0 { vec![data] } else { data.chunks(split).collect() };
    for piece in pieces {
        let closed = s.is_closed();
        let o = s.on(Input::Received(piece), now, &OneEntry);
        assert!(!closed || o.is_empty(), "a closed session answered");
        out.extend(o);
    }
    out.extend(s.on(Input::RequestResync, now, &OneEntry));
    out.extend(s.on(Input::Closed, now, &OneEntry));
    out
}

/// The outputs but what was sent.
fn normalize(out: Vec<Output>) -> Vec<Output> {
    out.into_iter().filter(|o| !matches!(o, Output::Send(_))).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let client = sel & 1 == 1;
    let split = usize::from(sel >> 1) + 1;
    let whole = run(rest, client, 0);
    for o in &whole {
        if let Output::Send(b) = o {
            if b.last() == Some(&b'\n') {
                continue; // a handshake line
            }
            let mut at = &b[..];
            while !at.is_empty() {
                match decode_frame(at) {
                    Ok(Some((f, n))) => {
                        assert!(Message::from_frame(f).is_ok(), "we sent an undecodable message: {b:?}");
                        at = &at[n..];
                    }
                    other => panic!("we sent a broken frame ({other:?}): {b:?}"),
                }
            }
        }
    }
    let pieces = run(rest, client, split);
    assert_eq!(normalize(whole), normalize(pieces), "the outputs depend on how the bytes arrive (pieces of {split})");
});
