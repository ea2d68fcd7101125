//! SETTINGS parameters (RFC 9113 §6.5.2): the client's, as received and validated, and ours, as
//! announced from the `tune.h2.*` settings.

use super::error::{ErrorCode, H2Error};

pub const HEADER_TABLE_SIZE: u16 = 0x1;
pub const ENABLE_PUSH: u16 = 0x2;
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const MAX_FRAME_SIZE: u16 = 0x5;
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// §6.5.2: the largest window and the range of frame sizes.
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
pub const MIN_FRAME_SIZE: u32 = 1 << 14;
pub const MAX_FRAME_SIZE_LIMIT: u32 = (1 << 24) - 1;
/// RFC 9113 §6.9.2: the window of a connection before any SETTINGS or WINDOW_UPDATE.
pub const DEFAULT_WINDOW: u32 = 65_535;

/// The peer's settings, with the RFC's initial values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSettings {
    pub header_table_size: u32,
    pub enable_push: bool,
    pub max_concurrent_streams: Option<u32>,
    pub initial_window_size: u32,
    pub max_frame_size: u32,
    pub max_header_list_size: Option<u32>,
}

impl Default for PeerSettings {
    fn default() -> Self {
        PeerSettings {
            header_table_size: 4096,
            enable_push: true,
            max_concurrent_streams: None,
            initial_window_size: DEFAULT_WINDOW,
            max_frame_size: MIN_FRAME_SIZE,
            max_header_list_size: None,
        }
    }
}

impl PeerSettings {
    /// Applies a SETTINGS payload (a multiple of 6 bytes, checked by the frame codec), in order
    /// (§6.5.3). Unknown identifiers are ignored (§6.5.2).
    pub fn apply(&mut self, payload: &[u8]) -> Result<(), H2Error> {
        for p in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([p[0], p[1]]);
            let v = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
            match id {
                HEADER_TABLE_SIZE => self.header_table_size = v,
                ENABLE_PUSH => {
                    self.enable_push = match v {
                        0 => false,
                        1 => true,
                        _ => return Err(H2Error::conn(ErrorCode::ProtocolError, "SETTINGS_ENABLE_PUSH not 0 or 1")),
                    }
                }
                MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(v),
                INITIAL_WINDOW_SIZE => {
                    if v > MAX_WINDOW {
                        return Err(H2Error::conn(ErrorCode::FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1"));
                    }
                    self.initial_window_size = v;
                }
                MAX_FRAME_SIZE => {
                    if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE_LIMIT).contains(&v) {
                        return Err(H2Error::conn(ErrorCode::ProtocolError, "SETTINGS_MAX_FRAME_SIZE out of range"));
                    }
                    self.max_frame_size = v;
                }
                MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(v),
                _ => {}
            }
        }
        Ok(())
    }
}

/// What this server announces (HAProxy's `tune.h2.*`, with its defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSettings {
    /// `tune.h2.header-table-size`, default 4096, at most 65536.
    pub header_table_size: u32,
    /// `tune.h2.initial-window-size`, default 65535.
    pub initial_window_size: u32,
    /// `tune.h2.max-concurrent-streams`, default 100.
    pub max_concurrent_streams: u32,
    /// `tune.h2.max-frame-size`, default 16384.
    pub max_frame_size: u32,
    /// The decoded size of a field block we accept: the HTTP/1.1 head limit (one 16 KiB buffer,
    /// as HAProxy's `tune.bufsize`), since each request head becomes an HTTP/1.1 head.
    pub max_header_list_size: u32,
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings {
            header_table_size: 4096,
            initial_window_size: DEFAULT_WINDOW,
            max_concurrent_streams: 100,
            max_frame_size: MIN_FRAME_SIZE,
            max_header_list_size: 16 * 1024,
        }
    }
}

impl LocalSettings {
    /// The pairs of our first SETTINGS frame: only those that differ from the RFC's initial
    /// values, plus the ones without one. Push is disabled: a server never receives pushes,
    /// and we never send them (HAProxy does not either).
    pub fn pairs(&self) -> Vec<(u16, u32)> {
        let mut v = Vec::new();
        if self.header_table_size != 4096 {
            v.push((HEADER_TABLE_SIZE, self.header_table_size));
        }
        v.push((MAX_CONCURRENT_STREAMS, self.max_concurrent_streams));
        if self.initial_window_size != DEFAULT_WINDOW {
            v.push((INITIAL_WINDOW_SIZE, self.initial_window_size));
        }
        if self.max_frame_size != MIN_FRAME_SIZE {
            v.push((MAX_FRAME_SIZE, self.max_frame_size));
        }
        v.push((MAX_HEADER_LIST_SIZE, self.max_header_list_size));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(pairs: &[(u16, u32)]) -> Vec<u8> {
        pairs.iter().flat_map(|(i, v)| i.to_be_bytes().into_iter().chain(v.to_be_bytes())).collect()
    }

    #[test]
    fn known_values_apply_in_order_and_unknown_ones_are_ignored() {
        let mut s = PeerSettings::default();
        s.apply(&payload(&[(4, 10), (4, 20), (0x99, 7), (3, 5), (2, 0), (5, 20000), (1, 0), (6, 100)])).unwrap();
        assert_eq!(s.initial_window_size, 20);
        assert_eq!(s.max_concurrent_streams, Some(5));
        assert!(!s.enable_push);
        assert_eq!(s.max_frame_size, 20000);
        assert_eq!(s.header_table_size, 0);
        assert_eq!(s.max_header_list_size, Some(100));
    }

    #[test]
    fn out_of_range_values_are_connection_errors_of_the_rfc_type() {
        let code = |p: &[(u16, u32)]| match PeerSettings::default().apply(&payload(p)) {
            Err(H2Error::Connection { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(&[(2, 2)]), ErrorCode::ProtocolError);
        assert_eq!(code(&[(4, 1 << 31)]), ErrorCode::FlowControlError);
        assert_eq!(code(&[(5, 16383)]), ErrorCode::ProtocolError);
        assert_eq!(code(&[(5, 1 << 24)]), ErrorCode::ProtocolError);
    }

    #[test]
    fn local_defaults_announce_streams_and_list_size_only() {
        assert_eq!(LocalSettings::default().pairs(), [(MAX_CONCURRENT_STREAMS, 100), (MAX_HEADER_LIST_SIZE, 16384)]);
        let s = LocalSettings { initial_window_size: 1 << 20, max_frame_size: 32768, ..Default::default() };
        assert!(s.pairs().contains(&(INITIAL_WINDOW_SIZE, 1 << 20)));
        assert!(s.pairs().contains(&(MAX_FRAME_SIZE, 32768)));
    }
}
