//! `option mysql-check user NAME`: the few MySQL/MariaDB client-server packets HAProxy's check
//! exchanges (src/tcpcheck.c, `mysql41_req`): read the server greeting, answer with a
//! HandshakeResponse41 login for a user without password followed by COM_QUIT, and judge the
//! server's reply.
//!
//! Every packet is framed the same way:
//!
//! ```text
//!  0               1               2               3
//! +---------------+---------------+---------------+---------------+
//! |        payload length (24 bits, little endian)| sequence id   |
//! +---------------+---------------+---------------+---------------+
//! |  payload ...
//! ```
//!
//! As in HAProxy, a reply starting with 0xff (ERR) fails the check (`Layer7 wrong status` with
//! the MySQL error number and message): an access-denied, too-many-connections or host-blocked
//! server is not serving. Anything else (OK, or an auth-switch request) passes.

/// Larger greetings or replies than this are not a MySQL server talking.
pub const MAX_PACKET: usize = 64 * 1024;

const ERR_MARKER: u8 = 0xff;
/// CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION, as HAProxy's post-4.1 login ("00820000").
const CLIENT_CAPABILITIES: u32 = 0x0000_0200 | 0x0000_8000;
/// HAProxy's max packet size ("00800001").
const MAX_CLIENT_PACKET: u32 = 0x0100_8000;
/// utf8_general_ci.
const CHARSET_UTF8: u8 = 0x21;
const COM_QUIT: u8 = 0x01;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// More bytes are needed.
    Incomplete,
    TooLarge(usize),
    Malformed(&'static str),
}

/// One framed packet at the start of `buf`, and how many bytes it took.
pub fn split_packet(buf: &[u8]) -> Result<(u8, &[u8], usize), DecodeError> {
    if buf.len() < 4 {
        return Err(DecodeError::Incomplete);
    }
    let len = buf[0] as usize | (buf[1] as usize) << 8 | (buf[2] as usize) << 16;
    if len > MAX_PACKET {
        return Err(DecodeError::TooLarge(len));
    }
    if buf.len() < 4 + len {
        return Err(DecodeError::Incomplete);
    }
    Ok((buf[3], &buf[4..4 + len], 4 + len))
}

fn frame(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_le_bytes()[..3]);
    out.push(seq);
    out.extend_from_slice(payload);
    out
}

/// The server's first packet (Protocol::HandshakeV10):
///
/// ```text
/// +----------+------------------------+---------------+------------------+-----
/// | proto=10 | server version ... NUL | connection id | auth data part 1 | ...
/// |  1 byte  |                        |   4 bytes     |     8 bytes      |
/// +----------+------------------------+---------------+------------------+-----
/// ```
///
/// Only the version is used (HAProxy reports it as the check's info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub protocol: u8,
    pub version: String,
}

/// An ERR packet: `0xff`, error number (2 bytes LE), then `#` + SQLSTATE (5 bytes) when the
/// server speaks 4.1 (not in a pre-login error), then the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrPacket {
    pub code: u16,
    pub message: String,
}

/// What a server packet says to the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Greeting(Greeting),
    Error(ErrPacket),
    /// OK (0x00), auth switch (0xfe) or anything else that is not an error.
    Accepted,
}

pub fn decode_err(payload: &[u8]) -> Result<ErrPacket, DecodeError> {
    if payload.first() != Some(&ERR_MARKER) || payload.len() < 3 {
        return Err(DecodeError::Malformed("short error packet"));
    }
    let code = u16::from_le_bytes([payload[1], payload[2]]);
    let mut rest = &payload[3..];
    if rest.first() == Some(&b'#') && rest.len() >= 6 {
        rest = &rest[6..];
    }
    Ok(ErrPacket { code, message: String::from_utf8_lossy(rest).trim().to_string() })
}

/// Decodes the first packet of a connection: a greeting, or an error (too many connections,
/// host blocked).
pub fn decode_greeting(payload: &[u8]) -> Result<Reply, DecodeError> {
    match payload.first() {
        None => Err(DecodeError::Malformed("empty greeting")),
        Some(&ERR_MARKER) => decode_err(payload).map(Reply::Error),
        Some(&protocol) => {
            let rest = &payload[1..];
            let nul = rest.iter().position(|&b| b == 0).ok_or(DecodeError::Malformed("server version is not terminated"))?;
            let version = String::from_utf8_lossy(&rest[..nul]).to_string();
            Ok(Reply::Greeting(Greeting { protocol, version }))
        }
    }
}

/// Decodes the server's answer to the login.
pub fn decode_login_reply(payload: &[u8]) -> Result<Reply, DecodeError> {
    match payload.first() {
        None => Err(DecodeError::Malformed("empty reply")),
        Some(&ERR_MARKER) => decode_err(payload).map(Reply::Error),
        Some(_) => Ok(Reply::Accepted),
    }
}

/// HandshakeResponse41 for `user` with an empty password, sequence 1, followed by COM_QUIT
/// (sequence 0 of the next command), sent together as HAProxy does:
///
/// ```text
/// +--------------+-----------------+---------+-----------+--------------+----------------+
/// | capabilities | max packet size | charset | 23 x 0x00 | user ... NUL | auth len = 0   |
/// |   4 bytes    |     4 bytes     | 1 byte  |           |              |    1 byte      |
/// +--------------+-----------------+---------+-----------+--------------+----------------+
/// ```
pub fn login_and_quit(user: &str) -> Vec<u8> {
    let mut login = Vec::with_capacity(32 + user.len() + 2);
    login.extend_from_slice(&CLIENT_CAPABILITIES.to_le_bytes());
    login.extend_from_slice(&MAX_CLIENT_PACKET.to_le_bytes());
    login.push(CHARSET_UTF8);
    login.extend_from_slice(&[0u8; 23]);
    login.extend_from_slice(user.as_bytes());
    login.push(0);
    login.push(0);
    let mut out = frame(1, &login);
    out.extend_from_slice(&frame(0, &[COM_QUIT]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The greeting of Debian 12's MariaDB 10.11 (captured, auth data zeroed).
    fn mariadb_greeting() -> Vec<u8> {
        let mut p = vec![10u8];
        p.extend_from_slice(b"5.5.5-10.11.19-MariaDB-0+deb12u1\0");
        p.extend_from_slice(&[0x2a, 0, 0, 0]); // connection id
        p.extend_from_slice(&[0u8; 8]); // auth data 1
        p.push(0); // filler
        p.extend_from_slice(&[0xfe, 0xf7]); // capabilities low
        p.push(0x2d); // charset
        p.extend_from_slice(&[0x02, 0x00]); // status
        p.extend_from_slice(&[0xff, 0x81]); // capabilities high
        p.push(21); // auth data length
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x1d, 0, 0, 0]); // reserved / MariaDB caps
        p.extend_from_slice(&[0u8; 12]);
        p.push(0);
        p.extend_from_slice(b"mysql_native_password\0");
        frame(0, &p)
    }

    #[test]
    fn greeting_round_trip() {
        let bytes = mariadb_greeting();
        let (seq, payload, used) = split_packet(&bytes).unwrap();
        assert_eq!((seq, used), (0, bytes.len()));
        assert_eq!(
            decode_greeting(payload).unwrap(),
            Reply::Greeting(Greeting { protocol: 10, version: "5.5.5-10.11.19-MariaDB-0+deb12u1".into() })
        );
    }

    #[test]
    fn partial_and_oversized_packets() {
        let bytes = mariadb_greeting();
        for cut in [0, 3, 4, bytes.len() - 1] {
            assert_eq!(split_packet(&bytes[..cut]), Err(DecodeError::Incomplete), "cut at {cut}");
        }
        assert_eq!(split_packet(&[0xff, 0xff, 0xff, 0]), Err(DecodeError::TooLarge(0xff_ffff)));
        assert!(matches!(decode_greeting(&[10, b'5', b'.']), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode_greeting(&[]), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn login_packet_bytes() {
        let bytes = login_and_quit("haproxy");
        let (seq, login, used) = split_packet(&bytes).unwrap();
        assert_eq!(seq, 1);
        assert_eq!(login.len(), 4 + 4 + 1 + 23 + "haproxy".len() + 1 + 1);
        assert_eq!(&login[..4], &[0x00, 0x82, 0x00, 0x00], "HAProxy's post-41 capabilities");
        assert_eq!(&login[4..8], &[0x00, 0x80, 0x00, 0x01]);
        assert_eq!(login[8], 0x21);
        assert!(login[9..32].iter().all(|&b| b == 0));
        assert_eq!(&login[32..], b"haproxy\0\0");
        let (seq, quit, rest) = split_packet(&bytes[used..]).unwrap();
        assert_eq!((seq, quit, used + rest), (0, &[COM_QUIT][..], bytes.len()));
    }

    #[test]
    fn replies() {
        assert_eq!(decode_login_reply(&[0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]), Ok(Reply::Accepted));
        assert_eq!(decode_login_reply(&[0xfe]), Ok(Reply::Accepted));
        let mut denied = vec![0xff, 0x15, 0x04, b'#'];
        denied.extend_from_slice(b"28000Access denied for user 'x'@'127.0.0.1'");
        assert_eq!(
            decode_login_reply(&denied),
            Ok(Reply::Error(ErrPacket { code: 1045, message: "Access denied for user 'x'@'127.0.0.1'".into() }))
        );
        // A pre-login error has no SQLSTATE.
        let mut busy = vec![0xff, 0x10, 0x04];
        busy.extend_from_slice(b"Too many connections");
        assert_eq!(decode_greeting(&busy), Ok(Reply::Error(ErrPacket { code: 1040, message: "Too many connections".into() })));
        assert!(matches!(decode_login_reply(&[0xff, 0x01]), Err(DecodeError::Malformed(_))));
    }
}
