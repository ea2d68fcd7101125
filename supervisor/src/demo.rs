//! `hakeeper demo`: the appliance on loopback with an embedded config and built-in backends, so
//! a new user sees it work without root and without writing a config.

use crate::run_cmd;
use crate::supervisor::ConfigSource;
use hakeeper_common::ipc::CHILD_TITLE_PREFIX;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

pub const BACKENDS_ROLE: &str = "demo-backends";
const CONFIG_NAME: &str = "<embedded demo config>";
const CONFIG: &str = include_str!("../../etc/demo.ron");
const BACKENDS: [&str; 3] = ["127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"];

pub fn main() -> ExitCode {
    let source = ConfigSource::Embedded { name: CONFIG_NAME, text: CONFIG };
    let config = match source.load() {
        Ok(l) => l.config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    // The backends run in a process of their own so that the supervisor stays single-threaded.
    let mut backends = Command::new("/proc/self/exe");
    backends.arg0(format!("{CHILD_TITLE_PREFIX}{BACKENDS_ROLE}")).arg(std::process::id().to_string()).stdin(Stdio::null());
    let mut child = match backends.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hakeeper demo: cannot start the demo backends: {e}");
            return ExitCode::from(1);
        }
    };
    println!("hakeeper demo {}", env!("CARGO_PKG_VERSION"));
    for fe in &config.frontends {
        for bind in &fe.binds {
            let mode = match fe.mode {
                hakeeper_common::config::Mode::Tcp => "tcp",
                hakeeper_common::config::Mode::Http => "http",
            };
            println!("  proxy  {:<10} {} (mode {mode}) -> backends {}", fe.name, bind, BACKENDS.join(", "));
        }
    }
    match &config.stats {
        Some(s) => {
            let login = s.auth.first().map(|(u, p)| format!(" (user {u}, password {p})")).unwrap_or_default();
            println!("  stats  http://{}{}{login}", s.bind, s.uri)
        }
        None => println!("  stats  (not configured in the demo)"),
    }
    if !nix::unistd::geteuid().is_root() {
        println!("  not root: skipped privilege separation (user switch, chroot) and VRRP (no vrrpd, no virtual IP)");
    }
    println!("  try: curl http://127.0.0.1:8080/   (Ctrl-C stops)");
    let code = run_cmd::main(source, true, None);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
    code
}

/// The demo backends' process: three tiny HTTP servers that answer with their own name.
pub fn backends_main(parent: &str) -> ExitCode {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    if parent.parse::<i32>().ok() != Some(nix::unistd::getppid().as_raw()) {
        return ExitCode::from(1);
    }
    let mut threads = Vec::new();
    for (i, addr) in BACKENDS.iter().enumerate() {
        let name = format!("demo{}", i + 1);
        let listener =
            match addr.parse::<SocketAddr>().map_err(|e| e.to_string()).and_then(|a| TcpListener::bind(a).map_err(|e| e.to_string())) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("hakeeper demo: backend {name} cannot listen on {addr}: {e}");
                    return ExitCode::from(1);
                }
            };
        threads.push(std::thread::spawn(move || serve(listener, name)));
    }
    for t in threads {
        let _ = t.join();
    }
    ExitCode::SUCCESS
}

fn serve(listener: TcpListener, name: String) {
    for stream in listener.incoming().flatten() {
        let name = name.clone();
        std::thread::spawn(move || answer(stream, &name));
    }
}

fn answer(mut stream: TcpStream, name: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    // Read until the end of a request head (or the client stops sending).
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = format!("hello from {name}\n");
    let response =
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(response.as_bytes());
}
