//! Headless Debian chromium driven over the DevTools protocol through `--remote-debugging-pipe`
//! (JSON messages separated by NUL bytes; chromium reads commands on fd 3 and writes on fd 4):
//! no WebSocket, no extra crate. Chromium runs in a process group of its own, killed on drop.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The chromium binary, if installed.
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Moves `fd` to a number of at least 10, so that placing the pipes at 3 and 4 in the child
/// cannot overwrite one with the other.
fn high(fd: OwnedFd) -> OwnedFd {
    use nix::fcntl::{fcntl, FcntlArg};
    let raw = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(10)).expect("dup pipe fd");
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) }
}

pub struct Browser {
    child: Child,
    to_browser: std::fs::File,
    from_browser: Receiver<Value>,
    next_id: u64,
    /// Events read while waiting for a reply, kept for `wait_event`.
    events: Vec<Value>,
}

impl Browser {
    pub fn launch(binary: &Path, profile: &Path) -> Browser {
        let (cmd_read, cmd_write) = nix::unistd::pipe().expect("pipe");
        let (out_read, out_write) = nix::unistd::pipe().expect("pipe");
        let (child_in, child_out) = (high(cmd_read), high(out_write));
        let (in_raw, out_raw) = (child_in.as_raw_fd(), child_out.as_raw_fd());
        let mut cmd = Command::new(binary);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        // SAFETY: only dup2, which is async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 clears close-on-exec on the copies at 3 and 4.
                if nix::libc::dup2(in_raw, 3) < 0 || nix::libc::dup2(out_raw, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn chromium");
        drop((child_in, child_out));
        let (tx, rx) = mpsc::channel();
        let mut reader = std::fs::File::from(out_read);
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            let mut buf = [0u8; 64 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&buf[..n]);
                while let Some(end) = pending.iter().position(|&b| b == 0) {
                    let msg: Vec<u8> = pending.drain(..=end).collect();
                    if let Ok(v) = serde_json::from_slice::<Value>(&msg[..msg.len() - 1]) {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Browser { child, to_browser: std::fs::File::from(cmd_write), from_browser: rx, next_id: 1, events: Vec::new() }
    }

    /// Sends a command (to a page when `session` is set) and returns its `result`.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to_browser.write_all(&bytes).expect("write to chromium");
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self.from_browser.recv_timeout(left).unwrap_or_else(|_| panic!("no answer to {method}"));
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits for an event named `method` (for `session`), including ones already received.
    pub fn wait_event(&mut self, session: &str, method: &str, timeout: Duration) -> Value {
        let matches = |v: &Value| v["method"] == json!(method) && v["sessionId"] == json!(session);
        if let Some(pos) = self.events.iter().position(matches) {
            return self.events.remove(pos);
        }
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self.from_browser.recv_timeout(left).unwrap_or_else(|_| panic!("no {method} event within {timeout:?}"));
            if matches(&v) {
                return v;
            }
            self.events.push(v);
        }
    }

    /// Opens a page and attaches to it; returns the session id.
    pub fn new_page(&mut self) -> String {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = self.call(None, "Target.attachToTarget", json!({ "targetId": id, "flatten": true }));
        let session = attached["sessionId"].as_str().expect("sessionId").to_string();
        self.call(Some(&session), "Page.enable", json!({}));
        self.call(Some(&session), "Network.enable", json!({}));
        self.call(Some(&session), "Runtime.enable", json!({}));
        session
    }

    /// Evaluates `expression` in the page and returns its value.
    pub fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self.call(Some(session), "Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }));
        assert!(r.get("exceptionDetails").is_none(), "{expression} threw: {r}");
        r["result"]["value"].clone()
    }

    /// Navigates and waits until the page has loaded.
    pub fn navigate(&mut self, session: &str, url: &str) {
        self.events.retain(|v| v["method"] != json!("Page.loadEventFired"));
        self.call(Some(session), "Page.navigate", json!({ "url": url }));
        self.wait_event(session, "Page.loadEventFired", Duration::from_secs(30));
    }

    /// Runs `expression` (which submits a form or follows a link) and waits for the next page.
    pub fn eval_and_wait_load(&mut self, session: &str, expression: &str) {
        self.events.retain(|v| v["method"] != json!("Page.loadEventFired"));
        self.eval(session, expression);
        self.wait_event(session, "Page.loadEventFired", Duration::from_secs(30));
    }

    pub fn screenshot(&mut self, session: &str) -> Vec<u8> {
        let r = self.call(Some(session), "Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }));
        base64_decode(r["data"].as_str().expect("screenshot data"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let mut bytes = json!({ "id": 0, "method": "Browser.close", "params": {} }).to_string().into_bytes();
        bytes.push(0);
        let _ = self.to_browser.write_all(&bytes);
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // The browser's helpers (zygote, renderers) share its process group.
        let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|&b| b != b'=' && !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= u32::from(value(c)) << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    out
}
