//! The few socket options nix does not cover (interface-indexed multicast membership, IPv6
//! checksum offset), set with libc.

use nix::errno::Errno;
use std::os::fd::{AsRawFd, OwnedFd};

/// setsockopt with any plain-data value.
pub fn set<T>(fd: &OwnedFd, level: libc::c_int, option: libc::c_int, value: &T) -> Result<(), Errno> {
    // SAFETY: a valid descriptor and a value of exactly the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            option,
            value as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Opens a raw socket (non-blocking, close-on-exec) for `protocol`.
pub fn raw_socket(family: libc::c_int, protocol: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: plain socket(2); the result is checked before it is owned.
    let raw = unsafe { libc::socket(family, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, protocol) };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(raw) })
}
