//! Scripts run as `script_user` (or a script's own `user`), never as the checker's user when
//! another one is configured. The supervisor starts the checker as its unprivileged user holding
//! only CAP_SETUID, CAP_SETGID and CAP_KILL; a script's child process switches to the script's
//! user between fork and exec and drops every capability, so the script runs with none. When no
//! script needs another user, the checker gives those three capabilities up at once.

use hakeeper_common::config::{ScriptUser, UserIds};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Whom one script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// The checker's own user: no switch.
    Own,
    /// Switch to these ids in the forked child.
    User(UserIds),
}

/// What the checker can do about identities, learned once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    pub own: UserIds,
    /// CAP_SETUID and CAP_SETGID are effective (CAP_KILL comes with them).
    pub can_switch: bool,
}

impl Credentials {
    pub fn current() -> Self {
        use caps::{CapSet, Capability};
        let has = |cap| caps::has_cap(None, CapSet::Effective, cap).unwrap_or(false);
        Credentials {
            own: UserIds { uid: nix::unistd::getuid().as_raw(), gid: nix::unistd::getgid().as_raw() },
            can_switch: has(Capability::CAP_SETUID) && has(Capability::CAP_SETGID),
        }
    }

    /// Whom a script configured with `user` runs as, or why it must not run. Without the
    /// capabilities (hakeeper not started as root) every process shares one user, so the
    /// script runs as that one (`Own`) and the caller warns.
    pub fn run_as(&self, user: Option<&ScriptUser>) -> Result<RunAs, String> {
        let Some(user) = user else { return Ok(RunAs::Own) };
        let Some(ids) = user.ids else {
            return Err(format!("script user {:?} does not exist on this host", user.name));
        };
        if ids == self.own || !self.can_switch {
            return Ok(RunAs::Own);
        }
        Ok(RunAs::User(ids))
    }

    /// A configured user that will not be applied for lack of capabilities.
    pub fn unapplied<'a>(&self, user: Option<&'a ScriptUser>) -> Option<&'a ScriptUser> {
        user.filter(|u| !self.can_switch && u.ids.is_some_and(|ids| ids != self.own))
    }
}

/// Gives up CAP_SETUID, CAP_SETGID and CAP_KILL for good (no script needs another user).
pub fn drop_script_caps() -> io::Result<()> {
    use caps::CapSet;
    let none = caps::CapsHashSet::new();
    for set in [CapSet::Effective, CapSet::Permitted] {
        caps::set(None, set, &none).map_err(|e| io::Error::other(e.to_string()))?;
    }
    Ok(())
}

/// Makes `cmd`'s child become `ids` (and its group only) before exec, with no capabilities.
pub fn switch_user(cmd: &mut Command, ids: UserIds) {
    // SAFETY: between fork and exec the closure only makes raw system calls (setgroups, setgid,
    // setuid, capset) on values copied into it: async-signal-safe, no allocation, no locks.
    unsafe {
        cmd.pre_exec(move || become_user(ids));
    }
}

fn become_user(ids: UserIds) -> io::Result<()> {
    use nix::libc;
    let check = |rc: libc::c_long| if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) };
    let gid: libc::gid_t = ids.gid;
    // SAFETY: plain system calls; setgroups reads one gid_t from a live local.
    unsafe {
        check(libc::setgroups(1, &gid).into())?;
        check(libc::setgid(gid).into())?;
        check(libc::setuid(ids.uid).into())?;
    }
    clear_capabilities(check)
}

/// capset(2) with empty sets: the uid switch between two non-root users keeps the permitted
/// set, and exec of a root script would otherwise inherit it.
fn clear_capabilities(check: impl Fn(nix::libc::c_long) -> io::Result<()>) -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let header = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let data = [Data { effective: 0, permitted: 0, inheritable: 0 }; 2];
    // SAFETY: capset reads one header and two data structs (version 3), all live locals.
    check(unsafe { nix::libc::syscall(nix::libc::SYS_capset, &header as *const Header, data.as_ptr()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, ids: Option<(u32, u32)>) -> ScriptUser {
        ScriptUser { name: name.into(), ids: ids.map(|(uid, gid)| UserIds { uid, gid }) }
    }

    #[test]
    fn another_user_is_switched_to_only_with_the_capabilities() {
        let own = UserIds { uid: 1000, gid: 1000 };
        let privileged = Credentials { own, can_switch: true };
        let plain = Credentials { own, can_switch: false };
        let nobody = user("nobody", Some((65534, 65534)));
        assert_eq!(privileged.run_as(None), Ok(RunAs::Own));
        assert_eq!(privileged.run_as(Some(&nobody)), Ok(RunAs::User(UserIds { uid: 65534, gid: 65534 })));
        assert_eq!(privileged.run_as(Some(&user("me", Some((1000, 1000))))), Ok(RunAs::Own));
        // Same uid, another group: still a switch.
        assert_eq!(privileged.run_as(Some(&user("me", Some((1000, 4))))), Ok(RunAs::User(UserIds { uid: 1000, gid: 4 })));
        assert_eq!(plain.run_as(Some(&nobody)), Ok(RunAs::Own));
        assert_eq!(plain.unapplied(Some(&nobody)), Some(&nobody));
        assert_eq!(privileged.unapplied(Some(&nobody)), None);
    }

    #[test]
    fn a_user_missing_on_this_host_refuses_the_script() {
        let c = Credentials { own: UserIds { uid: 1000, gid: 1000 }, can_switch: true };
        let err = c.run_as(Some(&user("ghost", None))).unwrap_err();
        assert!(err.contains("\"ghost\" does not exist"), "{err}");
    }
}
