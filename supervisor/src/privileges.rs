//! Privilege separation: who each child becomes, decided by the supervisor (which can still read
//! /etc/passwd) and carried out by the child before it reads any input.

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Group, Uid, User};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("user {0:?} does not exist (global.user)")]
    NoSuchUser(String),
    #[error("group {0:?} does not exist (global.group)")]
    NoSuchGroup(String),
    #[error("cannot look up user {name:?}: {source}")]
    Lookup { name: String, source: nix::Error },
    #[error("chroot directory {path}: {reason}")]
    Chroot { path: PathBuf, reason: String },
    #[error("cannot {step}: {source}")]
    Sys { step: &'static str, source: nix::Error },
    #[error("cannot {step}: {reason}")]
    Caps { step: &'static str, reason: String },
}

/// What a child does to its credentials before doing anything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Privileges {
    /// Not started as root: nothing to drop.
    Unprivileged,
    /// Become this user (and chroot first if set).
    DropTo { uid: u32, gid: u32, chroot: Option<PathBuf> },
    /// Stay root but keep only CAP_NET_RAW and CAP_NET_ADMIN (vrrpd).
    NetworkCapsOnly,
}

/// The unprivileged identity for the worker and checker.
pub struct Identity {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Resolves `global.user`/`global.group`. Without a configured user, `hakeeper` is used if it
/// exists (the packages create it), else `nobody`.
pub fn resolve_identity(user: Option<&str>, group: Option<&str>) -> Result<Identity, PrivError> {
    let lookup = |name: &str| User::from_name(name).map_err(|source| PrivError::Lookup { name: name.to_string(), source });
    let found = match user {
        Some(name) => lookup(name)?.ok_or_else(|| PrivError::NoSuchUser(name.to_string()))?,
        None => match lookup("hakeeper")? {
            Some(u) => u,
            None => lookup("nobody")?.ok_or_else(|| PrivError::NoSuchUser("nobody".into()))?,
        },
    };
    let gid = match group {
        Some(name) => {
            Group::from_name(name)
                .map_err(|source| PrivError::Lookup { name: name.to_string(), source })?
                .ok_or_else(|| PrivError::NoSuchGroup(name.to_string()))?
                .gid
        }
        None => found.gid,
    };
    if found.uid.is_root() {
        return Err(PrivError::NoSuchUser(format!("{} (uid 0 is not an unprivileged user)", found.name)));
    }
    Ok(Identity { name: found.name, uid: found.uid.as_raw(), gid: gid.as_raw() })
}

/// The directory the worker is chrooted to: the configured one (which must exist and be a
/// directory), or a private empty directory that the supervisor makes.
pub fn chroot_dir(configured: Option<&Path>) -> Result<PathBuf, PrivError> {
    let err = |path: &Path, reason: String| PrivError::Chroot { path: path.to_path_buf(), reason };
    match configured {
        Some(dir) => match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(dir.to_path_buf()),
            Ok(_) => Err(err(dir, "not a directory".into())),
            Err(e) => Err(err(dir, e.to_string())),
        },
        None => {
            let dir = PathBuf::from("/run/hakeeper/empty");
            std::fs::create_dir_all(&dir).map_err(|e| err(&dir, e.to_string()))?;
            Ok(dir)
        }
    }
}

fn sys(step: &'static str) -> impl FnOnce(nix::Error) -> PrivError {
    move |source| PrivError::Sys { step, source }
}

/// What the checker keeps after dropping to its user, so that it can run scripts as
/// `script_user`: switch uid/gid in a forked script (SETUID, SETGID) and signal that script's
/// process group at its timeout (KILL). The checker gives them up once its config shows that no
/// script runs as another user.
pub const SCRIPT_USER_CAPS: [Capability; 3] = [Capability::CAP_SETUID, Capability::CAP_SETGID, Capability::CAP_KILL];

/// Applies `privs` to the calling (child) process, keeping `keep` (permitted and effective, not
/// inheritable nor ambient) across a `DropTo`. Also sets no_new_privs and a parent-death
/// signal, which must come after the uid change (the kernel clears it on a credential change).
/// no_new_privs only stops execve from granting privileges (setuid files, file capabilities);
/// a forked child may still use the capabilities kept here.
pub fn apply(privs: &Privileges, parent: i32, keep: &[Capability]) -> Result<(), PrivError> {
    match privs {
        Privileges::Unprivileged => {}
        Privileges::DropTo { uid, gid, chroot } => {
            if let Some(dir) = chroot {
                nix::unistd::chroot(dir).map_err(sys("chroot"))?;
                nix::unistd::chdir("/").map_err(sys("chdir to the new root"))?;
            }
            let keep: CapsHashSet = keep.iter().copied().collect();
            if !keep.is_empty() {
                // Limit the bounding set while CAP_SETPCAP is still held, and let the permitted
                // set survive setuid (the effective set is cleared and restored below).
                drop_bounding_except(&keep)?;
                nix::sys::prctl::set_keepcaps(true).map_err(sys("set keepcaps"))?;
            }
            let gid = Gid::from_raw(*gid);
            nix::unistd::setgroups(&[gid]).map_err(sys("setgroups"))?;
            nix::unistd::setgid(gid).map_err(sys("setgid"))?;
            nix::unistd::setuid(Uid::from_raw(*uid)).map_err(sys("setuid"))?;
            if !keep.is_empty() {
                nix::sys::prctl::set_keepcaps(false).map_err(sys("clear keepcaps"))?;
                set_only(&keep)?;
            }
            // setuid from root clears the capability sets (but `keep`); check rather than trust.
            let effective =
                caps::read(None, CapSet::Effective).map_err(|e| PrivError::Caps { step: "read capabilities", reason: e.to_string() })?;
            let permitted =
                caps::read(None, CapSet::Permitted).map_err(|e| PrivError::Caps { step: "read capabilities", reason: e.to_string() })?;
            if effective != keep || permitted != keep {
                return Err(PrivError::Caps {
                    step: "drop capabilities",
                    reason: format!("holding {effective:?} (permitted {permitted:?}), expected {keep:?}"),
                });
            }
        }
        Privileges::NetworkCapsOnly => keep_network_caps()?,
    }
    nix::sys::prctl::set_no_new_privs().map_err(sys("set no_new_privs"))?;
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(sys("set the parent-death signal"))?;
    // The parent may have died before pdeathsig was armed.
    if nix::unistd::getppid().as_raw() != parent {
        return Err(PrivError::Caps { step: "start", reason: "the supervisor exited during start-up".into() });
    }
    Ok(())
}

fn caps_error(step: &'static str) -> impl Fn(caps::errors::CapsError) -> PrivError {
    move |e| PrivError::Caps { step, reason: e.to_string() }
}

/// Drops every capability but `keep` from the bounding set (needs CAP_SETPCAP).
fn drop_bounding_except(keep: &CapsHashSet) -> Result<(), PrivError> {
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap).map_err(caps_error("drop a bounding capability"))?;
        }
    }
    Ok(())
}

/// Leaves exactly `keep` in the effective and permitted sets, nothing inheritable or ambient.
fn set_only(keep: &CapsHashSet) -> Result<(), PrivError> {
    caps::clear(None, CapSet::Ambient).map_err(caps_error("clear ambient capabilities"))?;
    caps::set(None, CapSet::Inheritable, &CapsHashSet::new()).map_err(caps_error("clear inheritable capabilities"))?;
    caps::set(None, CapSet::Effective, keep).map_err(caps_error("set effective capabilities"))?;
    caps::set(None, CapSet::Permitted, keep).map_err(caps_error("set permitted capabilities"))?;
    Ok(())
}

fn keep_network_caps() -> Result<(), PrivError> {
    let keep: CapsHashSet = [Capability::CAP_NET_RAW, Capability::CAP_NET_ADMIN].into_iter().collect();
    // The bounding set first: it needs CAP_SETPCAP, which the later steps remove.
    drop_bounding_except(&keep)?;
    set_only(&keep)
}
