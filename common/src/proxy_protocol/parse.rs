//! Reading a PROXY header, as HAProxy 2.6's `conn_recv_proxy()`: the caller peeks at what the
//! client sent (`MSG_PEEK`), [`parse`] says how long the header is and which addresses it
//! carries, and the caller then consumes exactly that many bytes, so the stream after the header
//! stays in the socket for the protocol.
//!
//! Strictness. Everything HAProxy refuses is refused, with HAProxy's error (and its log text).
//! hakeeper is stricter where the spec is and HAProxy is not: a version 1 line longer than 107
//! bytes, ports with leading zeros or above 65535 (HAProxy truncates them), and a version 2
//! `PROXY` command with a family other than TCP over IPv4/IPv6 (HAProxy walks the signature as
//! TLVs and nearly always fails) are bad headers. An incomplete header is an error, not a wait:
//! HAProxy 2.6 fails on it too, since a header must arrive in one segment.

use super::crc32c::crc32c;
use super::V2_SIGNATURE;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A complete, valid header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Its length in bytes: what to consume from the socket.
    pub len: usize,
    /// The client (source) and the address it connected to (destination); `None` for
    /// `UNKNOWN` (v1) and `LOCAL` (v2): the connection's own addresses stay.
    pub addrs: Option<(SocketAddr, SocketAddr)>,
}

/// Why a connection's PROXY header was refused; the messages are HAProxy's
/// (`conn_err_code_str()`), so that log tooling matching them keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("Connection closed while waiting for PROXY protocol header.")]
    Empty,
    #[error("Connection error while waiting for PROXY protocol header.")]
    Abort,
    #[error("Timeout while waiting for PROXY protocol header.")]
    Timeout,
    #[error("Truncated PROXY protocol header received.")]
    Truncated,
    #[error("Received something which does not look like a PROXY protocol header.")]
    NotHeader,
    #[error("Received an invalid PROXY protocol header.")]
    BadHeader,
    #[error("Received an unhandled protocol in the PROXY protocol header.")]
    BadProto,
}

/// The longest version 1 line, CRLF included (doc/proxy-protocol.txt 2.1).
const V1_MAX: usize = 107;
const V2_HEADER: usize = 16;
const V2_ADDR_INET: usize = 12;
const V2_ADDR_INET6: usize = 36;
const TLV_CRC32C: u8 = 0x03;
const TLV_AUTHORITY: u8 = 0x02;
const TLV_UNIQUE_ID: u8 = 0x05;
/// HAProxy's limits on those two TLVs (`HA_PP2_AUTHORITY_MAX`, `UNIQUEID_LEN`).
const AUTHORITY_MAX: usize = 255;
const UNIQUE_ID_MAX: usize = 128;

/// Reads the header at the start of `buf` (all the client sent so far).
pub fn parse(buf: &[u8]) -> Result<Parsed, ProxyError> {
    if buf.is_empty() {
        return Err(ProxyError::Empty);
    }
    if buf.len() < 6 {
        return Err(ProxyError::Truncated);
    }
    if buf.starts_with(b"PROXY ") {
        parse_v1(buf)
    } else {
        parse_v2(buf)
    }
}

fn parse_v1(buf: &[u8]) -> Result<Parsed, ProxyError> {
    // The shortest line is "PROXY UNKNOWN\r\n"; HAProxy waits for 9 bytes before the protocol.
    if buf.len() < 9 {
        return Err(ProxyError::Truncated);
    }
    let rest = &buf[6..];
    let proto = if rest.starts_with(b"TCP4 ") {
        Some(false)
    } else if rest.starts_with(b"TCP6 ") {
        Some(true)
    } else if rest.starts_with(b"UNKNOWN\r\n") {
        // HAProxy 2.6 takes UNKNOWN only right before the CRLF.
        None
    } else {
        return Err(ProxyError::BadProto);
    };
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        return Err(if buf.len() >= V1_MAX { ProxyError::BadHeader } else { ProxyError::Truncated });
    };
    match buf.get(cr + 1) {
        None => return Err(ProxyError::Truncated),
        Some(b'\n') => {}
        Some(_) => return Err(ProxyError::BadHeader),
    }
    let len = cr + 2;
    let Some(v6) = proto else { return Ok(Parsed { len, addrs: None }) };
    let fields = &buf[11..cr];
    let mut words = fields.split(|&b| b == b' ');
    let (Some(src), Some(dst), Some(sport), Some(dport), None) = (words.next(), words.next(), words.next(), words.next(), words.next())
    else {
        return Err(ProxyError::BadHeader);
    };
    let (src, dst) = (v1_addr(src, v6)?, v1_addr(dst, v6)?);
    let (sport, dport) = (v1_port(sport)?, v1_port(dport)?);
    Ok(Parsed { len, addrs: Some((SocketAddr::new(src, sport), SocketAddr::new(dst, dport))) })
}

/// An address of the family the line announced, in its usual text form only.
fn v1_addr(text: &[u8], v6: bool) -> Result<IpAddr, ProxyError> {
    let text = std::str::from_utf8(text).map_err(|_| ProxyError::BadHeader)?;
    let parsed = if v6 { text.parse::<Ipv6Addr>().map(IpAddr::V6) } else { text.parse::<Ipv4Addr>().map(IpAddr::V4) };
    parsed.map_err(|_| ProxyError::BadHeader)
}

/// A port: 0..65535 in decimal without leading zeros (doc/proxy-protocol.txt 2.1).
fn v1_port(text: &[u8]) -> Result<u16, ProxyError> {
    let digits_only = !text.is_empty() && text.len() <= 5 && text.iter().all(u8::is_ascii_digit);
    if !digits_only || (text.len() > 1 && text[0] == b'0') {
        return Err(ProxyError::BadHeader);
    }
    let n = text.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(n).map_err(|_| ProxyError::BadHeader)
}

/// ```text
/// +--------------------------------------------------------+
/// | sig (12) | ver_cmd (1) | fam (1) | len (2, big endian)  |
/// +--------------------------------------------------------+
/// | addresses (12 for TCP4, 36 for TCP6) | TLVs ...         |
/// +--------------------------------------------------------+
/// TLV: type (1) | length (2, big endian) | value
/// ```
fn parse_v2(buf: &[u8]) -> Result<Parsed, ProxyError> {
    if buf.len() < V2_HEADER {
        return Err(ProxyError::Truncated);
    }
    if buf[..12] != V2_SIGNATURE || buf[12] >> 4 != 2 {
        return Err(ProxyError::NotHeader);
    }
    let body = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let len = V2_HEADER + body;
    if buf.len() < len {
        return Err(ProxyError::Truncated);
    }
    let header = &buf[..len];
    match buf[12] & 0x0F {
        // LOCAL (a health check of the proxy in front): keep the connection's addresses.
        0x0 => Ok(Parsed { len, addrs: None }),
        0x1 => {
            let (addrs, tlvs_at) = match buf[13] {
                0x11 if body >= V2_ADDR_INET => {
                    let a = &header[V2_HEADER..];
                    let ip = |at: usize| IpAddr::V4(Ipv4Addr::new(a[at], a[at + 1], a[at + 2], a[at + 3]));
                    let port = |at: usize| u16::from_be_bytes([a[at], a[at + 1]]);
                    ((SocketAddr::new(ip(0), port(8)), SocketAddr::new(ip(4), port(10))), V2_HEADER + V2_ADDR_INET)
                }
                0x21 if body >= V2_ADDR_INET6 => {
                    let a = &header[V2_HEADER..];
                    let ip = |at: usize| {
                        let mut o = [0u8; 16];
                        o.copy_from_slice(&a[at..at + 16]);
                        IpAddr::V6(Ipv6Addr::from(o))
                    };
                    let port = |at: usize| u16::from_be_bytes([a[at], a[at + 1]]);
                    ((SocketAddr::new(ip(0), port(32)), SocketAddr::new(ip(16), port(34))), V2_HEADER + V2_ADDR_INET6)
                }
                _ => return Err(ProxyError::BadHeader),
            };
            check_tlvs(header, tlvs_at)?;
            Ok(Parsed { len, addrs: Some(addrs) })
        }
        _ => Err(ProxyError::BadHeader),
    }
}

/// Walks the TLVs after the addresses: each must fit in the header, which must end on a TLV
/// boundary; a CRC32C must match; AUTHORITY and UNIQUE_ID keep HAProxy's length limits.
fn check_tlvs(header: &[u8], mut at: usize) -> Result<(), ProxyError> {
    while at < header.len() {
        let Some(tl) = header.get(at..at + 3) else { return Err(ProxyError::BadHeader) };
        let (kind, len) = (tl[0], usize::from(u16::from_be_bytes([tl[1], tl[2]])));
        let value_at = at + 3;
        let end = value_at + len;
        if end > header.len() {
            return Err(ProxyError::BadHeader);
        }
        match kind {
            TLV_CRC32C => {
                if len != 4 {
                    return Err(ProxyError::BadHeader);
                }
                let sent = u32::from_be_bytes([header[value_at], header[value_at + 1], header[value_at + 2], header[value_at + 3]]);
                let mut zeroed = header.to_vec();
                zeroed[value_at..end].fill(0);
                if crc32c(&zeroed) != sent {
                    return Err(ProxyError::BadHeader);
                }
            }
            TLV_AUTHORITY if len > AUTHORITY_MAX => return Err(ProxyError::BadHeader),
            TLV_UNIQUE_ID if len > UNIQUE_ID_MAX => return Err(ProxyError::BadHeader),
            _ => {}
        }
        at = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy_protocol::write;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_tcp4_and_the_stream_after_it() {
        let buf = b"PROXY TCP4 192.0.2.7 10.0.0.5 56324 443\r\nGET / HTTP/1.1\r\n";
        let p = parse(buf).unwrap();
        assert_eq!(p.len, 41);
        assert_eq!(&buf[p.len..p.len + 3], b"GET");
        assert_eq!(p.addrs, Some((sa("192.0.2.7:56324"), sa("10.0.0.5:443"))));
    }

    #[test]
    fn v1_tcp6_and_unknown() {
        let p = parse(b"PROXY TCP6 2001:db8::1 ::1 65535 0\r\n").unwrap();
        assert_eq!(p.addrs, Some((sa("[2001:db8::1]:65535"), sa("[::1]:0"))));
        assert_eq!(parse(b"PROXY UNKNOWN\r\nxyz").unwrap(), Parsed { len: 15, addrs: None });
    }

    #[test]
    fn v1_refusals_name_haproxys_errors() {
        let cases: &[(&[u8], ProxyError)] = &[
            (b"", ProxyError::Empty),
            (b"PROX", ProxyError::Truncated),
            (b"PROXY T", ProxyError::Truncated),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2", ProxyError::Truncated),
            (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", ProxyError::BadProto),
            (b"PROXY UNKNOWN 1.2.3.4\r\n", ProxyError::BadProto),
            (b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyError::BadProto),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", ProxyError::Truncated),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", ProxyError::BadHeader),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n", ProxyError::BadHeader),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ProxyError::NotHeader),
        ];
        for (buf, want) in cases {
            assert_eq!(parse(buf), Err(*want), "{:?}", String::from_utf8_lossy(buf));
        }
    }

    #[test]
    fn v1_line_longer_than_107_bytes_is_bad() {
        let mut long = b"PROXY TCP6 ".to_vec();
        long.extend([b'1'; 120]);
        assert_eq!(parse(&long), Err(ProxyError::BadHeader));
        // The longest legal line is accepted.
        let max = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(max.len(), 104);
        assert!(parse(max).is_ok());
    }

    #[test]
    fn v2_round_trips_what_write_makes() {
        let (src, dst) = (sa("192.0.2.7:40000"), sa("10.0.0.5:8066"));
        let mut hdr = write::v2(src, dst);
        let len = hdr.len();
        hdr.extend_from_slice(b"payload");
        assert_eq!(parse(&hdr), Ok(Parsed { len, addrs: Some((src, dst)) }));
        let (src6, dst6) = (sa("[2001:db8::7]:1"), sa("[2001:db8::5]:2"));
        assert_eq!(parse(&write::v2(src6, dst6)).unwrap().addrs, Some((src6, dst6)));
        assert_eq!(parse(&write::v2_local()).unwrap(), Parsed { len: 16, addrs: None });
        let v1 = write::v1(src6, dst6);
        assert_eq!(parse(v1.as_bytes()).unwrap().addrs, Some((src6, dst6)));
    }

    /// A v2 TCP4 header with `tlvs` after the addresses.
    fn v2_with(tlvs: &[u8]) -> Vec<u8> {
        let mut h = write::v2(sa("192.0.2.7:40000"), sa("10.0.0.5:8066"));
        h.extend_from_slice(tlvs);
        let body = (h.len() - 16) as u16;
        h[14..16].copy_from_slice(&body.to_be_bytes());
        h
    }

    #[test]
    fn v2_tlvs_are_walked_strictly() {
        assert!(parse(&v2_with(&[0x04, 0, 2, b'o', b'k'])).is_ok());
        assert!(parse(&v2_with(&[0x04, 0, 0])).is_ok());
        // A TLV running past the header, or a header ending inside a TLV's type/length.
        assert_eq!(parse(&v2_with(&[0x04, 0, 9, b'x'])), Err(ProxyError::BadHeader));
        assert_eq!(parse(&v2_with(&[0x04, 0])), Err(ProxyError::BadHeader));
        assert_eq!(parse(&v2_with(&[0x02, 1, 0])), Err(ProxyError::BadHeader));
        let mut authority = vec![0x02, 0, 255];
        authority.extend([b'a'; 255]);
        assert!(parse(&v2_with(&authority)).is_ok());
        let mut uid = vec![0x05, 0, 129];
        uid.extend([b'u'; 129]);
        assert_eq!(parse(&v2_with(&uid)), Err(ProxyError::BadHeader));
    }

    #[test]
    fn v2_crc32c_must_match() {
        let mut h = v2_with(&[TLV_CRC32C, 0, 4, 0, 0, 0, 0]);
        let crc = crc32c(&h);
        let at = h.len() - 4;
        h[at..].copy_from_slice(&crc.to_be_bytes());
        assert!(parse(&h).is_ok());
        h[at] ^= 1;
        assert_eq!(parse(&h), Err(ProxyError::BadHeader));
        assert_eq!(parse(&v2_with(&[TLV_CRC32C, 0, 3, 0, 0, 0])), Err(ProxyError::BadHeader));
    }

    #[test]
    fn v2_refusals() {
        let good = write::v2(sa("192.0.2.7:40000"), sa("10.0.0.5:8066"));
        let with = |at: usize, b: u8| {
            let mut h = good.clone();
            h[at] = b;
            h
        };
        assert_eq!(parse(&good[..15]), Err(ProxyError::Truncated));
        assert_eq!(parse(&good[..20]), Err(ProxyError::Truncated));
        assert_eq!(parse(&with(3, b'x')), Err(ProxyError::NotHeader));
        assert_eq!(parse(&with(12, 0x11)), Err(ProxyError::NotHeader), "version 1 in a v2 header");
        assert_eq!(parse(&with(12, 0x22)), Err(ProxyError::BadHeader), "command 2");
        assert_eq!(parse(&with(13, 0x12)), Err(ProxyError::BadHeader), "UDP over IPv4");
        assert_eq!(parse(&with(13, 0x31)), Err(ProxyError::BadHeader), "a UNIX socket");
        assert_eq!(parse(&with(13, 0x21)), Err(ProxyError::BadHeader), "TCP6 family with TCP4's length");
        let mut short = good.clone();
        short[15] = 11;
        short.truncate(27);
        assert_eq!(parse(&short), Err(ProxyError::BadHeader), "addresses cut short");
        // LOCAL keeps the connection's addresses whatever follows.
        let local = with(12, 0x20);
        assert_eq!(parse(&local).unwrap().addrs, None);
    }
}
