//! libFuzzer target for the IPC frame decoder (`hakeeper_common::ipc::FrameReader`): the bytes a
//! child or the supervisor reads from its socketpair, decoded as one of the six message enums.
//!
//! Properties checked, beyond "no panic":
//! - the same bytes give the same messages and the same error whether they arrive at once or in
//!   pieces (the reader is fed from a non-blocking socket, so any split is possible);
//! - a decoded message encodes into a frame that decodes to the same message (what the sender
//!   writes, the receiver reads);
//! - the announced length is checked before anything is allocated for it: a header announcing up
//!   to 4 GiB must not make the reader allocate (run with `-malloc_limit_mb`, see the README).

#![no_main]

use hakeeper_common::ipc::frame::encode_frame;
use hakeeper_common::ipc::{FrameReader, FromChecker, FromVrrp, FromWorker, IpcError, ToChecker, ToVrrp, ToWorker};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// What reading a stream gave: the messages with their descriptor counts, then how it stopped.
#[derive(Debug, PartialEq)]
struct Outcome<T> {
    messages: Vec<(T, usize)>,
    /// The error that ended the stream, as text (IpcError holds io::Error, which is not Eq).
    error: Option<String>,
}

/// Feeds `data` in pieces of `split` bytes (all at once when `split` is 0), taking every
/// complete message after each piece, until the first error.
fn read_stream<T: DeserializeOwned>(data: &[u8], split: usize) -> Outcome<T> {
    let mut reader = FrameReader::new();
    let mut messages = Vec::new();
    let pieces: Vec<&[u8]> = if split == 0 { vec![data] } else { data.chunks(split).collect() };
    for piece in pieces {
        reader.push_bytes(piece);
        loop {
            match reader.next::<T>() {
                Ok(Some((msg, fds))) => messages.push((msg, fds.len())),
                Ok(None) => break,
                Err(e) => return Outcome { messages, error: Some(describe(&e)) },
            }
        }
    }
    Outcome { messages, error: None }
}

fn describe(e: &IpcError) -> String {
    e.to_string()
}

fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8], split: usize) {
    let whole = read_stream::<T>(data, 0);
    let pieces = read_stream::<T>(data, split);
    assert_eq!(whole, pieces, "decoding depends on how the bytes arrive (pieces of {split})");
    for (msg, nfds) in &whole.messages {
        // No descriptors were queued, so only frames announcing none can have decoded.
        assert_eq!(*nfds, 0);
        let frame = match encode_frame(msg, 0) {
            Ok(f) => f,
            Err(e) => panic!("a decoded message does not encode: {e}\n{msg:?}"),
        };
        let again = read_stream::<T>(&frame, 0);
        assert_eq!(again.error, None, "a re-encoded message does not decode: {msg:?}\n{}", String::from_utf8_lossy(&frame));
        assert_eq!(again.messages.len(), 1);
        assert_eq!(&again.messages[0].0, msg, "decode(encode(m)) != m");
    }
}

fuzz_target!(|data: &[u8]| {
    // First byte: which channel's message type, and how to split the stream.
    let Some((&sel, rest)) = data.split_first() else { return };
    let split = usize::from(sel >> 3) + 1;
    match sel % 6 {
        0 => check::<ToWorker>(rest, split),
        1 => check::<FromWorker>(rest, split),
        2 => check::<ToChecker>(rest, split),
        3 => check::<FromChecker>(rest, split),
        4 => check::<ToVrrp>(rest, split),
        _ => check::<FromVrrp>(rest, split),
    }
});
