//! `script_user` and a script's `user`: resolved to ids here, where the config is validated (the
//! supervisor validates as root before any child drops privileges), so the checker gets ids and
//! needs no user database. A user this host lacks is a warning, not an error, because `hakeeper
//! check` may run elsewhere; the scripts that would run as it are then refused.

use super::Checker;
use crate::config::model::{ScriptUser, UserIds};
use nix::unistd::User;

pub(super) fn resolve(c: &mut Checker, path: &str, name: &str) -> ScriptUser {
    if name.is_empty() || name.contains([':', '/', '\0', ' ']) {
        c.error(path, format!("invalid user name {name:?}"));
        return ScriptUser { name: name.to_string(), ids: None };
    }
    let ids = match User::from_name(name) {
        Ok(Some(u)) => Some(UserIds { uid: u.uid.as_raw(), gid: u.gid.as_raw() }),
        Ok(None) => {
            c.warn(path, format!("user {name:?} does not exist on this host; scripts that run as it will be refused"));
            None
        }
        Err(e) => {
            c.warn(path, format!("cannot look up user {name:?} ({e}); scripts that run as it will be refused"));
            None
        }
    };
    ScriptUser { name: name.to_string(), ids }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_users_get_their_ids_and_missing_ones_a_warning() {
        let mut c = Checker::default();
        let root = resolve(&mut c, "vrrp.script_user", "root");
        assert_eq!(root.ids, Some(UserIds { uid: 0, gid: 0 }));
        let missing = resolve(&mut c, "vrrp.script_user", "no-such-user-hk");
        assert_eq!(missing.ids, None);
        assert!(c.errors.is_empty());
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].message.contains("does not exist"));
        resolve(&mut c, "vrrp.script_user", "a:b");
        assert_eq!(c.errors.len(), 1);
    }
}
