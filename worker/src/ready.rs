//! What the kernel last said about a socket. Sockets are registered edge-triggered, so each
//! one's readiness is kept here and a read or write is only tried when it can succeed: a short
//! read means the receive queue is empty, a short write that the send queue is full, both until
//! the socket's next event.

/// What the kernel last reported for one socket.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub readable: bool,
    pub writable: bool,
    /// The peer closed or the socket failed: read until EOF/error even after a short read.
    pub hup: bool,
    /// The peer's FIN arrived and no error came with it (EPOLLRDHUP without EPOLLERR): a short
    /// read has then taken everything before the FIN, so the FIN is known without the read that
    /// would return 0 (HAProxy's `raw_sock_to_buf()` does the same with its `FD_POLL_HUP`).
    pub fin: bool,
}

impl Default for Ready {
    /// A fresh socket is tried at once; an empty read costs one syscall, a missed one a round trip.
    fn default() -> Self {
        Ready { readable: true, writable: true, hup: false, fin: false }
    }
}

impl Ready {
    pub fn update(&mut self, ev: &mio::event::Event) {
        if ev.is_read_closed() || ev.is_error() {
            self.hup = true;
        }
        if ev.is_error() {
            // A reset after the FIN: the next read reports it.
            self.fin = false;
        } else if ev.is_read_closed() {
            self.fin = true;
        }
        if ev.is_readable() || self.hup {
            self.readable = true;
        }
        if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
            self.writable = true;
        }
    }
}
