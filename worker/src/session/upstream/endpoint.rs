//! A server connection as one end of a TCP flow ([`Endpoint`]): plaintext in and out, through
//! its TLS layer for an `ssl` server, so that `mode tcp` pumps the same way whichever side
//! (client, server, both) runs TLS.

use super::conns::ServerConn;
use crate::buffer::ReadOutcome;
use crate::transport::Endpoint;
use std::io;

impl Endpoint for ServerConn {
    fn recv(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<ReadOutcome> {
        if max == 0 {
            return Ok(ReadOutcome::Empty);
        }
        Ok(match self.recv_plain(buf, max)? {
            Some(0) => ReadOutcome::Eof,
            Some(n) => ReadOutcome::Data(n),
            None => ReadOutcome::Empty,
        })
    }

    fn readable(&mut self) -> bool {
        self.unread()
    }

    fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        ServerConn::send(self, data)
    }

    fn held(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    fn shutdown_write(&mut self) {
        ServerConn::shutdown_write(self)
    }
}
