//! The announce device: a non-persistent TUN interface that lives exactly as long as vrrpd
//! holds its file descriptor (`ip tuntap add` without `persist` behaves the same). When vrrpd
//! dies, even by SIGKILL, the kernel unregisters the device with its addresses, and the routing
//! daemon that exports the device's addresses (BIRD `protocol direct`, FRR `redistribute
//! connected`) sees them go and withdraws the routes: no hakeeper process needs to survive for
//! the withdrawal. Nothing is ever read from or written to the device; packets for its
//! addresses are local and never reach it.

use crate::error::VrrpError;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `TUNSETIFF` = `_IOW('T', 202, int)` (linux/if_tun.h).
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` with the flags member of its union (linux/if.h): 16 + 24 bytes.
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl IfReqFlags {
    fn new(name: &str) -> Result<IfReqFlags, VrrpError> {
        let bytes = CString::new(name).map_err(|_| bad(name, "a NUL in the name".into()))?;
        let bytes = bytes.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ {
            return Err(bad(name, "the name must be 1 to 15 bytes".into()));
        }
        let mut req = IfReqFlags { name: [0; libc::IFNAMSIZ], flags: 0, _pad: [0; 22] };
        for (d, s) in req.name.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        Ok(req)
    }
}

fn bad(name: &str, reason: String) -> VrrpError {
    VrrpError::Interface { name: name.into(), reason }
}

/// The open device; dropping it deletes the interface.
pub struct TunDevice {
    _fd: OwnedFd,
    pub name: String,
    pub index: u32,
}

impl TunDevice {
    /// Creates the device and sets it up. An interface of that name must not exist already:
    /// attaching to someone's persistent TUN device would outlive vrrpd.
    pub fn create(name: &str) -> Result<TunDevice, VrrpError> {
        let mut req = IfReqFlags::new(name)?;
        if nix::net::if_::if_nametoindex(name).is_ok() {
            return Err(bad(name, "an interface of this name exists already; the announce device must be hakeeper's own".into()));
        }
        let path = c"/dev/net/tun";
        // SAFETY: a valid NUL-terminated path; the result is checked.
        let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if raw < 0 {
            return Err(bad(name, format!("cannot open /dev/net/tun: {}", std::io::Error::last_os_error())));
        }
        // SAFETY: `raw` is a descriptor we just opened and own alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        req.flags = IFF_TUN | IFF_NO_PI;
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `req` is laid out as.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReqFlags) };
        if rc < 0 {
            return Err(bad(name, format!("cannot create the TUN device: {}", std::io::Error::last_os_error())));
        }
        set_up(name)?;
        let index = nix::net::if_::if_nametoindex(name).map_err(|e| bad(name, format!("created but not found: {e}")))?;
        Ok(TunDevice { _fd: fd, name: name.to_string(), index })
    }
}

impl TunDevice {
    /// Sets the device up again (someone set it down: the routing daemon then withdraws).
    pub fn set_up(&self) -> Result<(), VrrpError> {
        set_up(&self.name)
    }
}

/// `ip link set NAME up`, through SIOCGIFFLAGS / SIOCSIFFLAGS on a datagram socket.
fn set_up(name: &str) -> Result<(), VrrpError> {
    // SAFETY: plain socket creation; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(bad(name, format!("cannot open a socket to set it up: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: a descriptor we just opened and own alone.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReqFlags::new(name)?;
    // SAFETY: both ioctls take a `struct ifreq`, which `req` is laid out as.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req as *mut IfReqFlags) };
    if rc < 0 {
        return Err(bad(name, format!("cannot read its flags: {}", std::io::Error::last_os_error())));
    }
    req.flags |= libc::IFF_UP as libc::c_short;
    // SAFETY: as above.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &mut req as *mut IfReqFlags) };
    if rc < 0 {
        return Err(bad(name, format!("cannot set it up: {}", std::io::Error::last_os_error())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_is_the_kernel_size() {
        assert_eq!(std::mem::size_of::<IfReqFlags>(), 40);
    }

    #[test]
    fn names_the_kernel_cannot_take_are_refused_before_any_syscall() {
        for name in ["", "sixteen-bytes-xx", "a\0b"] {
            assert!(TunDevice::create(name).is_err(), "{name:?}");
        }
    }
}
