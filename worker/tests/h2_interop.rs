//! The HTTP/2 connection layer (`hakeeper_worker::h2::conn`) against real clients: curl
//! (libcurl's nghttp2) and nghttp2's h2load, over loopback, with a small blocking driver that
//! answers each stream itself. This is not the proxy (the worker does not serve HTTP/2 yet):
//! it checks that the layer interoperates — preface, SETTINGS, HPACK, flow control both ways,
//! many concurrent streams — before step 3 puts it behind the event loop.
//!
//! curl and h2load come from `tests/install-deps`; a missing one fails the test.

mod h2kit;

use h2kit::{server, BIG};
use std::process::Command;

fn tool(cmd: &mut Command, name: &str) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{name} cannot run ({e}): install it with tests/install-deps"))
}

#[test]
fn curl_prior_knowledge_and_nghttp_with_several_requests_on_one_connection() {
    let (port, h) = server(2);
    let a = format!("http://127.0.0.1:{port}/a");
    let b = format!("http://127.0.0.1:{port}/b?q=1");
    let out =
        tool(Command::new("curl").args(["-sS", "--max-time", "20", "--http2-prior-knowledge", "-w", "v%{http_version}\\n", &a]), "curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text, "method=GET path=/a received=0\nv2\n");
    // Several URLs on one connection: nghttp, since curl 7.88.1 fails its second request on a
    // prior-knowledge connection with "Error in the HTTP2 framing layer" against HAProxy 2.6
    // as well. nghttp also sends PRIORITY frames on idle streams first.
    let out = tool(Command::new("timeout").args(["20", "nghttp", &a, &b]), "nghttp");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("method=GET path=/a received=0\n") && text.contains("method=GET path=/b?q=1 received=0\n"), "{text}");
    h.join().expect("server");
}

#[test]
fn curl_upload_and_download_follow_flow_control() {
    let (port, h) = server(2);
    let dir = std::env::temp_dir().join(format!("hakeeper-h2-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("up.bin");
    // 3 MiB: far beyond the 64 KiB stream window, so it only arrives if releases open it.
    std::fs::write(&file, vec![b'u'; 3 << 20]).expect("write");
    let up = tool(
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "30",
            "--http2-prior-knowledge",
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("http://127.0.0.1:{port}/up"),
        ]),
        "curl",
    );
    assert_eq!(
        String::from_utf8_lossy(&up.stdout),
        format!("method=POST path=/up received={}\n", 3 << 20),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let down = tool(
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "30",
            "--http2-prior-knowledge",
            "-o",
            "-",
            &format!("http://127.0.0.1:{port}/big"),
        ]),
        "curl",
    );
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert_eq!(down.stdout.len(), BIG);
    let _ = std::fs::remove_dir_all(&dir);
    h.join().expect("server");
}

#[test]
fn h2load_many_concurrent_streams_on_one_connection() {
    let (port, h) = server(1);
    let out = tool(
        Command::new("timeout").args(["40", "h2load", "-n", "500", "-c", "1", "-m", "100", &format!("http://127.0.0.1:{port}/s")]),
        "h2load",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("500 succeeded, 0 failed, 0 errored"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    h.join().expect("server");
}
