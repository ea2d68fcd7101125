//! Record buffers for the TLS connections of this thread: a connection takes one while it has
//! encrypted bytes to hold (a partial record in, records not yet written out) and gives it back
//! once drained, so an idle TLS client holds none — as HAProxy's OpenSSL connections release
//! theirs (`SSL_MODE_RELEASE_BUFFERS`). Buffers come zeroed once, when first made, and are
//! reused without clearing: a connection only reads the bytes it wrote.

use std::cell::RefCell;

/// The size a buffer starts with: one whole record of the largest size a peer may send
/// (16 KiB of plaintext, 256 bytes of expansion, the 5-byte header), and some room.
pub const RECORD_ROOM: usize = 17 * 1024 + 512;

/// Most buffers kept aside per thread; more are freed.
const KEEP: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of at least [`RECORD_ROOM`] initialised bytes (`len() == capacity`).
pub fn take() -> Vec<u8> {
    SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_else(|| vec![0; RECORD_ROOM])
}

/// Gives `buf` back (buffers grown past a few records for a large handshake are freed).
pub fn give(buf: Vec<u8>) {
    if buf.len() < RECORD_ROOM || buf.len() > 4 * RECORD_ROOM {
        return;
    }
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < KEEP {
            s.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_odd_sizes_dropped() {
        let a = take();
        assert!(a.len() >= RECORD_ROOM);
        let p = a.as_ptr();
        give(a);
        let b = take();
        assert_eq!(b.as_ptr(), p, "the same buffer comes back");
        give(vec![0; 10]);
        assert!(take().len() >= RECORD_ROOM, "a small buffer is never handed out");
    }
}
