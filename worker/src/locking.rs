//! Mutex locking for state shared between threads, in a leaf module so that any module may
//! lock without depending on [`crate::shared`].

use std::sync::{Mutex, MutexGuard};

/// Locks ignoring poisoning: a panicking thread ends the worker anyway, and the state it guards
/// stays consistent between the short critical sections.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
