//! Wakes the event loop when a link changes (RTMGRP_LINK), so `track_interface` and the
//! instance's own interface can fault it; the states themselves are re-read with getifaddrs.

use crate::error::VrrpError;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};

const RTMGRP_LINK: u32 = 1;

pub struct LinkWatch {
    sock: Socket,
}

impl LinkWatch {
    pub fn open() -> Result<LinkWatch, VrrpError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| VrrpError::Netlink(format!("cannot open a link watch socket: {e}")))?;
        sock.bind(&SocketAddr::new(0, RTMGRP_LINK)).map_err(|e| VrrpError::Netlink(format!("cannot subscribe to link events: {e}")))?;
        sock.set_non_blocking(true).map_err(|e| VrrpError::Netlink(format!("cannot make the link watch non-blocking: {e}")))?;
        Ok(LinkWatch { sock })
    }

    /// Discards the queued notifications; true if there was at least one (or an overrun).
    pub fn drain(&self) -> bool {
        let mut any = false;
        loop {
            let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
            match self.sock.recv(&mut buf, 0) {
                Ok(_) => any = true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return any,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // ENOBUFS: events were lost; re-reading every link state covers them.
                Err(_) => return true,
            }
        }
    }
}

impl AsFd for LinkWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
