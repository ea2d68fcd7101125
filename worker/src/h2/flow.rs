//! Flow-control windows (RFC 9113 §5.2, §6.9). A send window may go negative after a SETTINGS
//! lowers SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2), so windows are signed; none may exceed
//! 2^31-1 (§6.9.1).

use super::error::{ErrorCode, H2Error};
use super::settings::MAX_WINDOW;

/// The window towards the peer: how much DATA we may still send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    pub fn new(initial: u32) -> SendWindow {
        SendWindow(i64::from(initial))
    }

    pub fn available(&self) -> usize {
        usize::try_from(self.0.max(0)).unwrap_or(0)
    }

    pub fn consume(&mut self, n: usize) {
        self.0 -= n as i64;
    }

    /// A WINDOW_UPDATE; `Err` if the window would pass 2^31-1 (FLOW_CONTROL_ERROR).
    pub fn increase(&mut self, n: u32) -> Result<(), ErrorCode> {
        let w = self.0 + i64::from(n);
        if w > i64::from(MAX_WINDOW) {
            return Err(ErrorCode::FlowControlError);
        }
        self.0 = w;
        Ok(())
    }

    /// A change of SETTINGS_INITIAL_WINDOW_SIZE applies the difference to every stream.
    pub fn adjust(&mut self, delta: i64) -> Result<(), ErrorCode> {
        let w = self.0 + delta;
        if w > i64::from(MAX_WINDOW) {
            return Err(ErrorCode::FlowControlError);
        }
        self.0 = w;
        Ok(())
    }
}

/// The window we granted the peer: what it may still send, what has been received but not
/// yet consumed, and when to grant more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvWindow {
    /// What the peer may still send.
    window: i64,
    /// Consumed by us but not yet given back with a WINDOW_UPDATE.
    unannounced: u32,
    /// The window we aim to keep open.
    target: u32,
}

impl RecvWindow {
    /// `initial` is what the peer starts with; `target` what we keep granting.
    pub fn new(initial: u32, target: u32) -> RecvWindow {
        RecvWindow { window: i64::from(initial), unannounced: 0, target }
    }

    /// DATA of `n` flow-controlled bytes (padding included) arrived.
    pub fn receive(&mut self, n: u32, what: &'static str) -> Result<(), H2Error> {
        if i64::from(n) > self.window {
            return Err(H2Error::conn(ErrorCode::FlowControlError, what));
        }
        self.window -= i64::from(n);
        Ok(())
    }

    /// `n` received bytes were consumed; returns the increment of a WINDOW_UPDATE to send, if
    /// half the target is waiting (updates are batched as HAProxy and nghttp2 do).
    pub fn release(&mut self, n: u32) -> Option<u32> {
        self.unannounced = self.unannounced.saturating_add(n);
        let room = i64::from(self.target) - self.window;
        if room <= 0 {
            self.unannounced = 0;
            return None;
        }
        if self.unannounced >= self.target / 2 || self.window < i64::from(self.target / 2) {
            let inc = i64::from(self.unannounced).min(room);
            if inc <= 0 {
                return None;
            }
            self.unannounced = 0;
            self.window += inc;
            return u32::try_from(inc).ok();
        }
        None
    }

    /// Raises the window to the target at once; the increment to announce, if any.
    pub fn open_to_target(&mut self) -> Option<u32> {
        let inc = i64::from(self.target) - self.window;
        if inc <= 0 {
            return None;
        }
        self.window += inc;
        u32::try_from(inc).ok()
    }

    pub fn remaining(&self) -> i64 {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_window_overflow_is_a_flow_control_error_and_may_go_negative() {
        let mut w = SendWindow::new(MAX_WINDOW - 10);
        assert_eq!(w.increase(11), Err(ErrorCode::FlowControlError));
        assert_eq!(w.increase(10), Ok(()));
        let mut w = SendWindow::new(100);
        w.consume(80);
        w.adjust(-50).unwrap();
        assert_eq!(w.available(), 0);
        w.increase(40).unwrap();
        assert_eq!(w.available(), 10);
    }

    #[test]
    fn receiving_beyond_the_window_is_an_error_and_release_batches_updates() {
        let mut w = RecvWindow::new(100, 100);
        w.receive(30, "x").unwrap();
        assert!(w.receive(71, "x").is_err());
        // Small releases wait while more than half the window is open...
        assert_eq!(w.release(10), None);
        assert_eq!(w.release(20), None);
        // ...and go together once half the target waits or less than half is open.
        w.receive(30, "x").unwrap();
        assert_eq!(w.release(30), Some(60));
        assert_eq!(w.remaining(), 100);
    }

    #[test]
    fn open_to_target_announces_the_difference() {
        let mut w = RecvWindow::new(65535, 1 << 20);
        assert_eq!(w.open_to_target(), Some((1 << 20) - 65535));
        assert_eq!(w.open_to_target(), None);
    }
}
