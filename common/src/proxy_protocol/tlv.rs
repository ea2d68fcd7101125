//! The TLVs a version 2 header may carry after its addresses (doc/proxy-protocol.txt 2.2), in
//! the order and with the values HAProxy 2.6's `make_proxy_line_v2()` writes them:
//!
//! 1. `PP2_TYPE_CRC32C` (`proxy-v2-options crc32c`), zero while the header is made, then the
//!    checksum of the whole header;
//! 2. `PP2_TYPE_ALPN` whenever the client's TLS connection negotiated a protocol, option or
//!    not;
//! 3. `PP2_TYPE_AUTHORITY` (`authority`): the client's SNI;
//! 4. `PP2_TYPE_SSL` (`ssl`, or any of `cert-cn`, `cert-key`, `cert-sig`, `ssl-cipher`, which
//!    imply it; `send-proxy-v2-ssl[-cn]`): a client byte and a verify word, then, on a TLS
//!    connection, the protocol version and the sub-TLVs asked for, in the order CN, key
//!    algorithm, signature algorithm, cipher.
//!
//! `unique-id` is not offered: it needs `unique-id-format`, which hakeeper does not have.

use serde::{Deserialize, Serialize};

const PP2_TYPE_ALPN: u8 = 0x01;
const PP2_TYPE_AUTHORITY: u8 = 0x02;
const PP2_TYPE_CRC32C: u8 = 0x03;
const PP2_TYPE_SSL: u8 = 0x20;
const PP2_SUBTYPE_SSL_VERSION: u8 = 0x21;
const PP2_SUBTYPE_SSL_CN: u8 = 0x22;
const PP2_SUBTYPE_SSL_CIPHER: u8 = 0x23;
const PP2_SUBTYPE_SSL_SIG_ALG: u8 = 0x24;
const PP2_SUBTYPE_SSL_KEY_ALG: u8 = 0x25;
const PP2_CLIENT_SSL: u8 = 0x01;
const PP2_CLIENT_CERT_CONN: u8 = 0x02;
const PP2_CLIENT_CERT_SESS: u8 = 0x04;

/// `proxy-v2-options`: what a server's version 2 headers carry beyond the addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct V2Options {
    /// `ssl`: the `PP2_TYPE_SSL` TLV (whether the client used TLS, and which version).
    pub ssl: bool,
    /// `cert-cn`: the common name of the client's certificate, inside the SSL TLV.
    pub cert_cn: bool,
    /// `ssl-cipher`: the cipher's OpenSSL name, inside the SSL TLV.
    pub ssl_cipher: bool,
    /// `cert-sig`: the signature algorithm of the certificate the bind presented.
    pub cert_sig: bool,
    /// `cert-key`: the key algorithm and size of the certificate the bind presented.
    pub cert_key: bool,
    /// `authority`: the client's SNI.
    pub authority: bool,
    /// `crc32c`: a checksum of the header.
    pub crc32c: bool,
}

impl V2Options {
    /// Whether the SSL TLV is sent: asked for itself or through one of its sub-TLVs, as
    /// HAProxy's `srv_parse_proxy_v2_options()` sets `SRV_PP_V2_SSL` for each of them.
    pub fn sends_ssl(&self) -> bool {
        self.ssl || self.cert_cn || self.ssl_cipher || self.cert_sig || self.cert_key
    }

    /// Whether any TLV beyond ALPN is asked for.
    pub fn any(&self) -> bool {
        self.sends_ssl() || self.authority || self.crc32c
    }
}

/// What the client's TLS connection tells a server (absent on a plaintext connection).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientTls<'a> {
    /// `TLSv1.2`, `TLSv1.3`.
    pub version: &'a str,
    /// The suite's OpenSSL name.
    pub cipher: &'a str,
    pub sni: Option<&'a str>,
    pub alpn: Option<&'a [u8]>,
    /// The client presented a certificate in this TLS session.
    pub cert_in_session: bool,
    /// ... and on this very connection (a full handshake, not a resumption).
    pub cert_on_connection: bool,
    /// The common name of the client's certificate.
    pub client_cn: Option<&'a str>,
    /// The bind's certificate: its signature algorithm (`RSA-SHA256`) and key (`EC256`).
    pub cert_sig: Option<&'a str>,
    pub cert_key: Option<&'a str>,
}

fn push_tlv(out: &mut Vec<u8>, kind: u8, value: &[u8]) {
    // Values come from the TLS connection and the bind's certificate: a name, a protocol, an
    // SNI (at most 255 bytes in TLS): none comes near the 16-bit length.
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.push(kind);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&value[..usize::from(len)]);
}

/// Appends the TLVs `options` and `tls` call for to `header`, a version 2 header with its
/// addresses, and sets its length (and checksum).
pub fn append(header: &mut Vec<u8>, options: &V2Options, tls: Option<&ClientTls<'_>>) {
    let crc_at = options.crc32c.then(|| {
        push_tlv(header, PP2_TYPE_CRC32C, &[0; 4]);
        header.len() - 4
    });
    if let Some(alpn) = tls.and_then(|t| t.alpn) {
        push_tlv(header, PP2_TYPE_ALPN, alpn);
    }
    if options.authority {
        if let Some(sni) = tls.and_then(|t| t.sni) {
            push_tlv(header, PP2_TYPE_AUTHORITY, sni.as_bytes());
        }
    }
    if options.sends_ssl() {
        let mut ssl = vec![0u8; 5];
        if let Some(t) = tls {
            ssl[0] |= PP2_CLIENT_SSL;
            push_tlv(&mut ssl, PP2_SUBTYPE_SSL_VERSION, t.version.as_bytes());
            if t.cert_in_session {
                // The verify word stays 0: a client certificate that failed verification ends
                // the handshake, so every one that gets here was verified.
                ssl[0] |= PP2_CLIENT_CERT_SESS;
                if t.cert_on_connection {
                    ssl[0] |= PP2_CLIENT_CERT_CONN;
                }
            }
            let subs = [
                (options.cert_cn, PP2_SUBTYPE_SSL_CN, t.client_cn),
                (options.cert_key, PP2_SUBTYPE_SSL_KEY_ALG, t.cert_key),
                (options.cert_sig, PP2_SUBTYPE_SSL_SIG_ALG, t.cert_sig),
                (options.ssl_cipher, PP2_SUBTYPE_SSL_CIPHER, Some(t.cipher)),
            ];
            for (wanted, kind, value) in subs {
                if let (true, Some(v)) = (wanted, value) {
                    push_tlv(&mut ssl, kind, v.as_bytes());
                }
            }
        }
        push_tlv(header, PP2_TYPE_SSL, &ssl);
    }
    let len = u16::try_from(header.len().saturating_sub(16)).unwrap_or(u16::MAX);
    if let Some(l) = header.get_mut(14..16) {
        l.copy_from_slice(&len.to_be_bytes());
    }
    if let Some(at) = crc_at {
        let crc = super::crc32c::crc32c(header);
        header[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy_protocol::{parse, v2};
    use std::net::SocketAddr;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// The TLVs after a TCP4 header's 12 address bytes, as (type, value).
    fn tlvs(h: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut at = 28;
        let mut out = Vec::new();
        while at < h.len() {
            let len = usize::from(u16::from_be_bytes([h[at + 1], h[at + 2]]));
            out.push((h[at], h[at + 3..at + 3 + len].to_vec()));
            at += 3 + len;
        }
        out
    }

    fn tls() -> ClientTls<'static> {
        ClientTls {
            version: "TLSv1.3",
            cipher: "TLS_AES_256_GCM_SHA384",
            sni: Some("www.example.test"),
            alpn: Some(b"http/1.1"),
            cert_in_session: true,
            cert_on_connection: true,
            client_cn: Some("client one"),
            cert_sig: Some("ecdsa-with-SHA256"),
            cert_key: Some("EC256"),
        }
    }

    #[test]
    fn nothing_asked_and_plaintext_leaves_the_header_as_it_was() {
        let mut h = v2(sa("192.0.2.7:40000"), sa("10.0.0.5:80"));
        let before = h.clone();
        append(&mut h, &V2Options::default(), None);
        assert_eq!(h, before);
    }

    #[test]
    fn alpn_goes_whenever_tls_negotiated_one() {
        let mut h = v2(sa("192.0.2.7:40000"), sa("10.0.0.5:80"));
        append(&mut h, &V2Options::default(), Some(&tls()));
        assert_eq!(tlvs(&h), vec![(0x01, b"http/1.1".to_vec())]);
        assert_eq!(usize::from(u16::from_be_bytes([h[14], h[15]])), h.len() - 16);
        assert!(parse(&h).is_ok(), "our own parser takes it");
    }

    #[test]
    fn every_option_in_haproxys_order() {
        let all = V2Options { ssl: true, cert_cn: true, ssl_cipher: true, cert_sig: true, cert_key: true, authority: true, crc32c: true };
        let mut h = v2(sa("192.0.2.7:40000"), sa("10.0.0.5:80"));
        append(&mut h, &all, Some(&tls()));
        let t = tlvs(&h);
        assert_eq!(t.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![0x03, 0x01, 0x02, 0x20]);
        assert_eq!(t[2].1, b"www.example.test");
        let ssl = &t[3].1;
        assert_eq!(ssl[0], PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS);
        assert_eq!(&ssl[1..5], &[0, 0, 0, 0], "verified");
        let mut subs = Vec::new();
        let mut at = 5;
        while at < ssl.len() {
            let len = usize::from(u16::from_be_bytes([ssl[at + 1], ssl[at + 2]]));
            subs.push((ssl[at], String::from_utf8(ssl[at + 3..at + 3 + len].to_vec()).unwrap()));
            at += 3 + len;
        }
        assert_eq!(
            subs,
            vec![
                (0x21, "TLSv1.3".to_string()),
                (0x22, "client one".to_string()),
                (0x25, "EC256".to_string()),
                (0x24, "ecdsa-with-SHA256".to_string()),
                (0x23, "TLS_AES_256_GCM_SHA384".to_string()),
            ]
        );
        // The checksum covers the whole header with its own field zeroed (proxy-protocol.txt
        // 2.2.3), and the parser, which checks it, takes the header.
        let mut zeroed = h.clone();
        zeroed[31..35].copy_from_slice(&[0; 4]);
        assert_eq!(u32::from_be_bytes([h[31], h[32], h[33], h[34]]), crate::proxy_protocol::crc32c::crc32c(&zeroed));
        assert!(parse(&h).is_ok());
    }

    #[test]
    fn the_ssl_tlv_on_plaintext_says_no_tls() {
        let mut h = v2(sa("192.0.2.7:40000"), sa("10.0.0.5:80"));
        append(&mut h, &V2Options { cert_cn: true, authority: true, ..V2Options::default() }, None);
        assert_eq!(tlvs(&h), vec![(0x20, vec![0, 0, 0, 0, 0])]);
    }

    #[test]
    fn a_resumed_session_keeps_the_certificate_but_not_this_connection() {
        let mut h = v2(sa("192.0.2.7:40000"), sa("10.0.0.5:80"));
        let t = ClientTls { cert_on_connection: false, alpn: None, ..tls() };
        append(&mut h, &V2Options { ssl: true, ..V2Options::default() }, Some(&t));
        let ssl = &tlvs(&h)[0].1;
        assert_eq!(ssl[0], PP2_CLIENT_SSL | PP2_CLIENT_CERT_SESS);
        assert_eq!(&ssl[5..], [&[0x21, 0, 7][..], b"TLSv1.3"].concat());
    }
}
