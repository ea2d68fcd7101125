//! `script_user` and a script's `user`: resolved to ids here, where the config is validated (the
//! supervisor validates as root before any child drops privileges), so the checker gets ids and
//! needs no user database. A user this host lacks is a warning, not an error, because `hakeeper
//! check` may run elsewhere; the scripts that would run as it are then refused.

use super::Checker;
use crate::config::model::{ScriptUser, UserIds};
use nix::unistd::{Group, User};

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains([':', '/', '\0', ' '])
}

/// `USER` or `USER:GROUP` (keepalived's `script_user USER [GROUP]`): the user's ids, with the
/// group's id instead of the user's primary group when one is named.
pub(super) fn resolve(c: &mut Checker, path: &str, spec: &str) -> ScriptUser {
    let (name, group) = match spec.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (spec, None),
    };
    if !valid_name(name) || group.is_some_and(|g| !valid_name(g)) {
        c.error(path, format!("invalid user {spec:?}: expected USER or USER:GROUP"));
        return ScriptUser { name: spec.to_string(), ids: None };
    }
    let gid = match group.map(Group::from_name) {
        None => None,
        Some(Ok(Some(g))) => Some(g.gid.as_raw()),
        Some(Ok(None) | Err(_)) => {
            c.warn(
                path,
                format!("group {:?} does not exist on this host; scripts that run as {spec:?} will be refused", group.unwrap_or("")),
            );
            return ScriptUser { name: spec.to_string(), ids: None };
        }
    };
    let ids = match User::from_name(name) {
        Ok(Some(u)) => Some(UserIds { uid: u.uid.as_raw(), gid: gid.unwrap_or(u.gid.as_raw()) }),
        Ok(None) => {
            c.warn(path, format!("user {name:?} does not exist on this host; scripts that run as it will be refused"));
            None
        }
        Err(e) => {
            c.warn(path, format!("cannot look up user {name:?} ({e}); scripts that run as it will be refused"));
            None
        }
    };
    ScriptUser { name: spec.to_string(), ids }
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
        resolve(&mut c, "vrrp.script_user", "a/b");
        assert_eq!(c.errors.len(), 1);
    }

    #[test]
    fn a_named_group_replaces_the_primary_group() {
        let mut c = Checker::default();
        let root_nogroup = resolve(&mut c, "vrrp.script_user", "root:nogroup");
        let nogroup = Group::from_name("nogroup").ok().flatten().map(|g| g.gid.as_raw());
        match nogroup {
            Some(gid) => assert_eq!(root_nogroup.ids, Some(UserIds { uid: 0, gid })),
            None => assert_eq!(root_nogroup.ids, None, "a group this host lacks refuses the user"),
        }
        let missing = resolve(&mut c, "vrrp.script_user", "root:no-such-group-hk");
        assert_eq!(missing.ids, None);
        assert!(c.warnings.iter().any(|w| w.message.contains("group \"no-such-group-hk\"")), "{:?}", c.warnings);
        resolve(&mut c, "vrrp.script_user", "root:");
        resolve(&mut c, "vrrp.script_user", ":root");
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    }
}
