//! Runs vrrpd on its own, the way the supervisor would, for lab and end-to-end tests:
//! `ip netns exec NS vrrp_lab CONFIG.ron`. It loads the config, hands vrrpd its `Start` over a
//! socketpair, logs what vrrpd reports, and turns SIGTERM/SIGINT into `ToVrrp::Shutdown`.
//! SIGHUP re-reads the file and sends `Start` again (a reload, as the supervisor does it).
//! SIGKILL kills it outright, like a host that dies.

use hakeeper_common::config::{load_file, LogConfig, LogTarget};
use hakeeper_common::ipc::{send, FrameReader, FromVrrp, ToVrrp};
use hakeeper_common::logging::{init, LogSpec};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::getpid;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: vrrp_lab CONFIG.ron");
        return ExitCode::from(2);
    };
    let level = std::env::var("VRRP_LAB_LOG").unwrap_or_else(|_| "info".into());
    let spec = LogSpec {
        config: LogConfig { target: LogTarget::Stderr, facility: "local1".into(), level },
        additional: Vec::new(),
        foreground: true,
    };
    if let Err(e) = init("vrrpd", &spec) {
        eprintln!("vrrp_lab: {e}");
        return ExitCode::from(2);
    }
    let config = match load_file(&path) {
        Ok(loaded) => loaded.config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Blocked in every thread (threads inherit the mask); the main thread waits for them.
    let mut signals = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGUSR1, Signal::SIGHUP] {
        signals.add(s);
    }
    if let Err(e) = signals.thread_block() {
        eprintln!("vrrp_lab: cannot block signals: {e}");
        return ExitCode::from(2);
    }
    let (parent, child) = match socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("vrrp_lab: socketpair: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = send(parent.as_fd(), &ToVrrp::Start(config.vrrp), &[]) {
        eprintln!("vrrp_lab: cannot send Start: {e}");
        return ExitCode::from(2);
    }
    let runner = std::thread::spawn(move || {
        let result = hakeeper_vrrpd::run(child);
        // Wake the main thread if vrrpd stops on its own.
        let _ = kill(getpid(), Signal::SIGUSR1);
        result
    });
    if let Ok(reports) = parent.try_clone() {
        std::thread::spawn(move || {
            let mut reader = FrameReader::new();
            while let Ok((msg, _)) = reader.recv_blocking::<FromVrrp>(reports.as_fd()) {
                log::info!("supervisor got {msg:?}");
            }
        });
    }
    loop {
        match signals.wait() {
            Ok(Signal::SIGUSR1) => break,
            Ok(Signal::SIGHUP) => match load_file(&path) {
                Ok(loaded) => {
                    log::info!("SIGHUP: sending the config of {} again", path.display());
                    if let Err(e) = send(parent.as_fd(), &ToVrrp::Start(loaded.config.vrrp), &[]) {
                        log::error!("cannot send Start: {e}");
                    }
                }
                Err(e) => log::error!("SIGHUP: keeping the running config: {e}"),
            },
            Ok(sig) => {
                log::info!("{sig}: shutting vrrpd down");
                if let Err(e) = send(parent.as_fd(), &ToVrrp::Shutdown, &[]) {
                    log::error!("cannot send Shutdown: {e}");
                }
                break;
            }
            Err(e) => {
                log::error!("sigwait: {e}");
                break;
            }
        }
    }
    match runner.join() {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            log::error!("vrrpd: {e}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}
