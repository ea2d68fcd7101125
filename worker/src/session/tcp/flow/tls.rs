//! A flow whose server end is TLS (`server … ssl` in `mode tcp`): the same buffer, FIN and
//! counting rules as the plain pump, with the server side read and written through its TLS
//! layer ([`ServerConn::send`], [`ServerConn::recv_plain`]); no splice, the bytes must pass
//! through user space to be encrypted. The client's FIN becomes close_notify + FIN.

use super::{Flow, FlowError, Moved};
use crate::buffer::{recv_spare, Pools, BUFFER_SIZE};
use crate::ready::Ready;
use crate::session::upstream::conns::ServerConn;
use mio::net::TcpStream;
use std::io::{self, Write};

impl Flow {
    /// Client → TLS server: reads `src`, encrypts towards `server`.
    pub fn pump_to_tls(
        &mut self,
        src: &TcpStream,
        src_ready: &mut Ready,
        server: &mut ServerConn,
        pools: &mut Pools,
    ) -> Result<Moved, FlowError> {
        let mut moved = Moved::default();
        loop {
            if self.buffered() > 0 {
                let Some(buf) = self.buf.as_mut() else { break };
                let n = server.send(&buf[self.start..]).map_err(FlowError::Sink)?;
                if n == 0 {
                    break;
                }
                moved.written += n as u64;
                self.start += n;
                if self.start == buf.len() {
                    self.start = 0;
                    buf.clear();
                }
                continue;
            }
            // Records the socket would not take last time.
            server.send(&[]).map_err(FlowError::Sink)?;
            if self.eof {
                if !self.shut {
                    server.shutdown_write();
                    self.shut = true;
                }
                break;
            }
            if !src_ready.readable || self.is_full() {
                break;
            }
            let buf = self.buf.get_or_insert_with(|| pools.buffers.take());
            let room = BUFFER_SIZE - buf.len();
            match recv_spare(src, buf, room) {
                Ok(0) => {
                    self.eof = true;
                    src_ready.readable = false;
                }
                Ok(n) => {
                    self.bytes += n as u64;
                    moved.read += n as u64;
                    if n < room && !src_ready.hup {
                        src_ready.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => src_ready.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FlowError::Source(e)),
            }
        }
        self.give_back_if_empty(pools);
        Ok(moved)
    }

    /// TLS server → client: decrypts from `server`, writes `dst`. Without a sink (a response
    /// held for inspection) it only buffers, as [`Flow::pump`] does.
    pub fn pump_from_tls(
        &mut self,
        server: &mut ServerConn,
        mut dst: Option<(&TcpStream, &mut Ready)>,
        pools: &mut Pools,
    ) -> Result<Moved, FlowError> {
        let mut moved = Moved::default();
        loop {
            if let (true, Some((dst, dst_ready))) = (self.buffered() > 0, dst.as_mut()) {
                if !dst_ready.writable {
                    break;
                }
                let Some(buf) = self.buf.as_mut() else { break };
                match (&**dst).write(&buf[self.start..]) {
                    Ok(n) => {
                        moved.written += n as u64;
                        let wanted = buf.len() - self.start;
                        self.start += n;
                        if self.start == buf.len() {
                            self.start = 0;
                            buf.clear();
                        }
                        if n < wanted {
                            dst_ready.writable = false;
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        dst_ready.writable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(FlowError::Sink(e)),
                }
                continue;
            }
            if self.eof {
                if let Some((dst, _)) = dst.as_ref() {
                    self.pass_fin(dst);
                }
                break;
            }
            if self.is_full() {
                break;
            }
            let buf = self.buf.get_or_insert_with(|| pools.buffers.take());
            let room = BUFFER_SIZE - buf.len();
            match server.recv_plain(buf, room) {
                Ok(Some(0)) => self.eof = true,
                Ok(Some(n)) => {
                    self.bytes += n as u64;
                    moved.read += n as u64;
                }
                Ok(None) => break,
                Err(e) => return Err(FlowError::Source(e)),
            }
        }
        self.give_back_if_empty(pools);
        Ok(moved)
    }

    fn give_back_if_empty(&mut self, pools: &mut Pools) {
        if self.buffered() == 0 {
            if let Some(b) = self.buf.take() {
                pools.buffers.give(b);
            }
            self.start = 0;
        }
    }
}
