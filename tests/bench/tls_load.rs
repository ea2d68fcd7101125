//! TLS load client for `tests/bench/tls` (run by hand, not in CI): drives one TLS listener with
//! a fixed number of concurrent clients and prints one line of counts, so that hakeeper and
//! HAProxy are measured by the same client in the same run.
//!
//! Modes:
//! - `full`: a new connection per request, resumption disabled: every request pays a full
//!   handshake (what `openssl s_time -new` measures, without one process per connection);
//! - `resume`: a new connection per request, each client keeps its own session cache, so every
//!   connection after a client's first resumes (TLS 1.3 tickets / TLS 1.2 tickets or ids);
//! - `idle`: opens `--conns` connections, one request each, keeps them open, prints `ready N`,
//!   and holds them until its standard input closes (the idle-memory figure).
//!
//! The server certificate is not verified: the bench measures the server's cost, and both proxies
//! serve the same certificate to the same client. Written for speed of the client itself (one
//! thread per concurrent client, blocking sockets, rustls on aws-lc-rs), so that it is the proxy,
//! not the load generator, that runs out of CPU first wherever possible.
//!
//! Usage: tls_load MODE ADDR SNI CONNS SECONDS [TLS13|TLS12|TLS12-P384]
//!
//! Key exchange groups: TLS13 offers rustls' defaults (X25519MLKEM768 first, as current browsers);
//! TLS12 offers X25519, P-256, P-384 in that order, as OpenSSL's and browsers' TLS 1.2 clients do;
//! TLS12-P384 offers rustls 0.23's aws-lc-rs default order, P-384 before X25519, which a server
//! that follows the client's order (rustls, so hakeeper) pays for and HAProxy, which applies its
//! own order (SSL_OP_CIPHER_SERVER_PREFERENCE), does not.
//! Prints: `mode=full requests=N errors=E resumed=R seconds=S`

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, SignatureScheme, StreamOwned};
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Accepts any certificate (see the module comment), but still checks the handshake signature,
/// so that the client does the same work as a real one apart from the chain.
#[derive(Debug)]
struct NoChainCheck(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoChainCheck {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Full,
    Resume,
    Idle,
}

struct Args {
    mode: Mode,
    addr: SocketAddr,
    sni: ServerName<'static>,
    conns: usize,
    seconds: u64,
    tls12: bool,
    /// TLS12-P384: rustls' default group order (P-384 first) instead of X25519 first.
    p384_first: bool,
}

fn parse_args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if a.len() < 5 {
        return Err("usage: tls_load full|resume|idle ADDR SNI CONNS SECONDS [TLS13|TLS12|TLS12-P384]".into());
    }
    let mode = match a[0].as_str() {
        "full" => Mode::Full,
        "resume" => Mode::Resume,
        "idle" => Mode::Idle,
        m => return Err(format!("unknown mode {m}")),
    };
    let addr = a[1].parse().map_err(|e| format!("address {}: {e}", a[1]))?;
    let sni = ServerName::try_from(a[2].clone()).map_err(|e| format!("sni {}: {e}", a[2]))?;
    let conns = a[3].parse().map_err(|e| format!("conns {}: {e}", a[3]))?;
    let seconds = a[4].parse().map_err(|e| format!("seconds {}: {e}", a[4]))?;
    let version = a.get(5).map(String::as_str).unwrap_or("TLS13");
    let (tls12, p384_first) = match version {
        "TLS13" => (false, false),
        "TLS12" => (true, false),
        "TLS12-P384" => (true, true),
        v => return Err(format!("unknown version {v}")),
    };
    Ok(Args { mode, addr, sni, conns, seconds, tls12, p384_first })
}

fn client_config(args: &Args) -> Result<Arc<ClientConfig>, rustls::Error> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if args.tls12 && !args.p384_first {
        use rustls::crypto::aws_lc_rs::kx_group;
        provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    }
    let provider = Arc::new(provider);
    let versions: &[&rustls::SupportedProtocolVersion] = if args.tls12 { &[&rustls::version::TLS12] } else { &[&rustls::version::TLS13] };
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoChainCheck(provider)))
        .with_no_client_auth();
    config.resumption = if args.mode == Mode::Full { Resumption::disabled() } else { Resumption::in_memory_sessions(64) };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

const REQUEST_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n";
const REQUEST_KEEP: &[u8] = b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n";

/// One request on a fresh connection; Ok(resumed) once the whole response is in.
fn one_request(config: &Arc<ClientConfig>, args: &Args) -> Result<bool, String> {
    let sock = TcpStream::connect_timeout(&args.addr, Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
    sock.set_nodelay(true).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(config.clone(), args.sni.clone()).map_err(|e| format!("tls: {e}"))?;
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(REQUEST_CLOSE).map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::with_capacity(512);
    // Connection: close: the response ends at EOF (a close_notify or a plain FIN both count).
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(format!("read: {e}")),
    }
    if !response.starts_with(b"HTTP/1.1 200") {
        return Err(format!("answer {:?}", String::from_utf8_lossy(&response[..response.len().min(80)])));
    }
    Ok(tls.conn.handshake_kind() == Some(HandshakeKind::Resumed))
}

/// Opens a keep-alive connection and completes one request on it (headers and a
/// Content-Length body).
fn idle_connection(config: &Arc<ClientConfig>, args: &Args) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let sock = TcpStream::connect_timeout(&args.addr, Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(config.clone(), args.sni.clone()).map_err(|e| format!("tls: {e}"))?;
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(REQUEST_KEEP).map_err(|e| format!("write: {e}"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tls.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the response ended".into());
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len = head.lines().find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()));
            if let Some(len) = len {
                if got.len() >= end + 4 + len {
                    return Ok(tls);
                }
            }
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let config = match client_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("client config: {e}");
            std::process::exit(2);
        }
    };
    if args.mode == Mode::Idle {
        run_idle(&args, &config);
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let resumed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..args.conns)
        .map(|_| {
            let (args, stop, requests, errors, resumed) = (args.clone(), stop.clone(), requests.clone(), errors.clone(), resumed.clone());
            // Each client has its own session cache (its own config), as browsers do per host.
            let config = if args.mode == Mode::Resume { client_config(&args).unwrap_or_else(|_| config.clone()) } else { config.clone() };
            std::thread::spawn(move || {
                let mut first_error = true;
                while !stop.load(Ordering::Relaxed) {
                    match one_request(&config, &args) {
                        Ok(r) => {
                            requests.fetch_add(1, Ordering::Relaxed);
                            if r {
                                resumed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            if first_error {
                                eprintln!("tls_load: {e}");
                                first_error = false;
                            }
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(args.seconds));
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    for t in threads {
        let _ = t.join();
    }
    let mode = if args.mode == Mode::Full { "full" } else { "resume" };
    println!(
        "mode={mode} requests={} errors={} resumed={} seconds={elapsed:.3}",
        requests.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        resumed.load(Ordering::Relaxed)
    );
}

/// Opens the idle clients from 8 threads, reports, and holds them until stdin closes.
fn run_idle(args: &Arc<Args>, config: &Arc<ClientConfig>) {
    let per = args.conns.div_ceil(8);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (args, config) = (args.clone(), config.clone());
            std::thread::spawn(move || {
                let n = per.min(args.conns.saturating_sub(i * per));
                let mut held = Vec::with_capacity(n);
                let mut errors = 0;
                for _ in 0..n {
                    match idle_connection(&config, &args) {
                        Ok(c) => held.push(c),
                        Err(e) => {
                            if errors == 0 {
                                eprintln!("tls_load idle: {e}");
                            }
                            errors += 1;
                        }
                    }
                }
                (held, errors)
            })
        })
        .collect();
    let mut held = Vec::new();
    let mut errors = 0;
    for t in threads {
        if let Ok((h, e)) = t.join() {
            held.extend(h);
            errors += e;
        }
    }
    println!("ready {} errors={errors}", held.len());
    let _ = std::io::stdout().flush();
    // Held until the driver closes our stdin.
    let mut line = String::new();
    while std::io::stdin().lock().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
        line.clear();
    }
    drop(held);
}
