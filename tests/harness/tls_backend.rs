//! A TLS HTTP/1.1 backend (rustls, one thread per connection) for the re-encryption tests: it
//! keeps connections alive, counts completed handshakes and records the SNI each one carried;
//! each answer names the SNI and the connection's number. Its certificate comes from
//! [`super::pki::Pki`].

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct TlsBackend {
    pub addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    snis: Arc<Mutex<Vec<Option<String>>>>,
    stop: Arc<AtomicBool>,
}

impl TlsBackend {
    /// Serves with `cert` and `key` (PEM files).
    pub fn start(cert: &std::path::Path, key: &std::path::Path) -> TlsBackend {
        TlsBackend::start_with(cert, key, None)
    }

    /// As [`TlsBackend::start`], requiring a client certificate signed by the CA in `client_ca`.
    pub fn start_requiring_client_cert(cert: &std::path::Path, key: &std::path::Path, client_ca: &std::path::Path) -> TlsBackend {
        TlsBackend::start_with(cert, key, Some(client_ca))
    }

    fn start_with(cert: &std::path::Path, key: &std::path::Path, client_ca: Option<&std::path::Path>) -> TlsBackend {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(cert).expect("cert file").collect::<Result<_, _>>().expect("cert pem");
        let key = PrivateKeyDer::from_pem_file(key).expect("key pem");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder =
            rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().expect("versions");
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(ca).expect("client ca") {
                    roots.add(c.expect("client ca pem")).expect("client ca cert");
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(chain, key).expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let snis = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (hs, sn, st) = (handshakes.clone(), snis.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let Ok((sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (config, hs, sn) = (config.clone(), hs.clone(), sn.clone());
                std::thread::spawn(move || serve(sock, config, hs, sn));
            }
        });
        TlsBackend { addr, handshakes, snis, stop }
    }

    /// Handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    /// The SNI of each completed handshake, in order.
    pub fn snis(&self) -> Vec<Option<String>> {
        self.snis.lock().expect("snis").clone()
    }
}

impl Drop for TlsBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(sock: std::net::TcpStream, config: Arc<rustls::ServerConfig>, hs: Arc<AtomicUsize>, sn: Arc<Mutex<Vec<Option<String>>>>) {
    let _ = sock.set_nonblocking(false);
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return;
        }
    }
    let number = hs.fetch_add(1, Ordering::SeqCst) + 1;
    let sni = tls.conn.server_name().map(String::from);
    sn.lock().expect("snis").push(sni.clone());
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_string();
            pending.drain(..end + 4);
            let close = head.to_ascii_lowercase().contains("connection: close");
            let body = format!("sni={} conn={number}\n", sni.as_deref().unwrap_or("-"));
            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            if tls.write_all(resp.as_bytes()).and_then(|_| tls.flush()).is_err() || close {
                tls.conn.send_close_notify();
                let _ = tls.flush();
                return;
            }
        }
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}
