//! What rules may ask about a client's TLS (HAProxy's `ssl_fc*` and `ssl_c_*` fetches), read
//! once from the connection when its handshake is done.

use super::conn::TlsConn;
use super::sni::LocalCert;
use hakeeper_common::config::http::TlsFetch;
use hakeeper_common::proxy_protocol::ClientTls;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    pub sni: Option<String>,
    /// `TLSv1.2` / `TLSv1.3`.
    pub protocol: &'static str,
    /// The suite's OpenSSL name, as HAProxy reports it.
    pub cipher: String,
    pub alpn: Option<String>,
    /// The client sent a certificate (verified: rustls ends the handshake on a bad one).
    pub client_cert: bool,
    /// The common name of that certificate.
    pub client_cn: Option<String>,
    /// The session was resumed: a client certificate was sent on an earlier connection.
    pub resumed: bool,
    /// The certificate this bind showed the client.
    pub local: LocalCert,
}

impl TlsFacts {
    pub fn of(tls: &TlsConn, local: Option<&LocalCert>) -> TlsFacts {
        let conn = tls.common();
        let protocol = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            _ => "TLSv1.2",
        };
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|s| {
                let name = format!("{:?}", s.suite());
                hakeeper_common::tls::ciphers::openssl_name(&name).map_or(name, str::to_string)
            })
            .unwrap_or_default();
        let client_cn = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|der| hakeeper_common::tls::x509::read(der).ok())
            .and_then(|f| f.common_name);
        TlsFacts {
            client_cn,
            resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
            local: local.cloned().unwrap_or_default(),
            sni: tls.server_name().map(str::to_string),
            protocol,
            cipher,
            alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
            client_cert: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
        }
    }
}

impl TlsFacts {
    /// What a PROXY header's TLVs tell a server about this connection.
    pub fn for_proxy_header(&self) -> ClientTls<'_> {
        ClientTls {
            version: self.protocol,
            cipher: &self.cipher,
            sni: self.sni.as_deref(),
            alpn: self.alpn.as_deref().map(str::as_bytes),
            cert_in_session: self.client_cert,
            cert_on_connection: self.client_cert && !self.resumed,
            client_cn: self.client_cn.as_deref(),
            cert_sig: self.local.signature,
            cert_key: self.local.key.as_deref(),
        }
    }
}

/// Whether `fetch` matches on a connection with `facts` (`None`: plaintext, where HAProxy's
/// booleans are false and the other fetches find no sample).
pub fn holds(fetch: &TlsFetch, facts: Option<&TlsFacts>) -> bool {
    let Some(f) = facts else { return false };
    match fetch {
        TlsFetch::Fc => true,
        TlsFetch::CUsed => f.client_cert,
        TlsFetch::Sni(m) => f.sni.as_deref().is_some_and(|s| m.matches(s.as_bytes())),
        TlsFetch::Protocol(m) => m.matches(f.protocol.as_bytes()),
        TlsFetch::Cipher(m) => m.matches(f.cipher.as_bytes()),
        TlsFetch::Alpn(m) => f.alpn.as_deref().is_some_and(|s| m.matches(s.as_bytes())),
        TlsFetch::CVerify(m) => m.matches(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::config::http_syntax::parse_criterion;

    fn fetch(words: &str) -> TlsFetch {
        match parse_criterion(&words.split(' ').map(str::to_string).collect::<Vec<_>>()).unwrap() {
            hakeeper_common::config::AclTest::Tls(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fetches_on_tls_and_plaintext() {
        let f = TlsFacts {
            sni: Some("a.test".into()),
            protocol: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256".into(),
            alpn: Some("http/1.1".into()),
            client_cert: false,
            client_cn: None,
            resumed: false,
            local: LocalCert::default(),
        };
        for (words, tls, plain) in [
            ("ssl_fc", true, false),
            ("ssl_c_used", false, false),
            ("ssl_fc_sni -i A.test", true, false),
            ("ssl_fc_protocol TLSv1.3", true, false),
            ("ssl_fc_protocol TLSv1.2", false, false),
            ("ssl_fc_cipher -m beg TLS_AES", true, false),
            ("ssl_fc_alpn http/1.1", true, false),
            ("ssl_c_verify 0", true, false),
        ] {
            assert_eq!((holds(&fetch(words), Some(&f)), holds(&fetch(words), None)), (tls, plain), "{words}");
        }
    }
}
