//! Checks that depend on the machine, kept out of validation (which does no I/O): what
//! `hakeeper run` would refuse at start on this host, such as a `chroot` directory that does not
//! exist (HAProxy: "cannot chroot") or a VRRP interface the host lacks (keepalived: "Cannot find
//! an IP address to use for interface"). The caller hands in a [`Host`] that answers the
//! questions; `hakeeper check` reports the findings as warnings, or as errors with `--host`.

use super::model::Config;
use super::validate::Finding;
use std::path::Path;

/// What the checks need to know about the machine.
pub trait Host {
    /// Why `path` cannot serve as a chroot directory, or `None` when it can.
    fn dir_problem(&self, path: &Path) -> Option<String>;
    fn has_interface(&self, name: &str) -> bool;
    /// The user's uid, `None` when the host has no such user.
    fn user_uid(&self, name: &str) -> Option<u32>;
    fn has_group(&self, name: &str) -> bool;
}

/// What `run` does on a finding that is not said otherwise.
const REFUSED: &str = "`hakeeper run` would refuse to start";

/// One finding per setting this host cannot honour, with the config field it came from; the
/// message says what `run` would do about it.
pub fn check(config: &Config, host: &impl Host) -> Vec<Finding> {
    let mut found = Vec::new();
    let g = &config.global;
    if let Some(user) = &g.user {
        let problem = match host.user_uid(user) {
            None => Some(format!("user {user:?} does not exist on this host; {REFUSED}")),
            Some(0) => Some(format!("user {user:?} has uid 0, not an unprivileged user; {REFUSED}")),
            Some(_) => None,
        };
        if let Some(message) = problem {
            found.push(Finding { path: "global.user".into(), message });
        }
    }
    if let Some(group) = &g.group {
        if !host.has_group(group) {
            found.push(Finding { path: "global.group".into(), message: format!("group {group:?} does not exist on this host; {REFUSED}") });
        }
    }
    if let Some(dir) = &g.chroot {
        if let Some(why) = host.dir_problem(dir) {
            found.push(Finding { path: "global.chroot".into(), message: format!("chroot directory {}: {why}; {REFUSED}", dir.display()) });
        }
    }
    for (i, inst) in config.vrrp.instances.iter().enumerate() {
        if !host.has_interface(&inst.interface) {
            found.push(Finding {
                path: format!("vrrp.instances[{i}].interface"),
                message: format!("interface {:?} of vrrp instance {} does not exist on this host; {REFUSED}", inst.interface, inst.name),
            });
        }
        for (j, name) in inst.track_interface.iter().enumerate() {
            if !host.has_interface(name) {
                found.push(Finding {
                    path: format!("vrrp.instances[{i}].track_interface[{j}]"),
                    message: format!(
                        "tracked interface {name:?} of vrrp instance {} does not exist on this host; the instance would stay in FAULT",
                        inst.name
                    ),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    struct FakeHost;

    impl Host for FakeHost {
        fn dir_problem(&self, path: &Path) -> Option<String> {
            (path != Path::new("/var/empty")).then(|| "No such file or directory".into())
        }
        fn has_interface(&self, name: &str) -> bool {
            name == "lo"
        }
        fn user_uid(&self, name: &str) -> Option<u32> {
            match name {
                "haproxy" => Some(101),
                "root" => Some(0),
                _ => None,
            }
        }
        fn has_group(&self, name: &str) -> bool {
            name == "haproxy"
        }
    }

    fn config(chroot: &str, user: &str, interface: &str) -> Config {
        let text = format!(
            r#"(global: (chroot: "{chroot}", user: "{user}", group: "haproxy"),
                vrrp: (instances: [(name: "VI_1", interface: "{interface}", vrid: 51, priority: 100, vips: ["10.0.0.5"])]))"#
        );
        load_str("t.ron", &text).unwrap_or_else(|e| panic!("{e}")).config
    }

    #[test]
    fn what_the_host_lacks_is_named_by_field() {
        let found = check(&config("/usr/share/haproxy", "nobody-here", "eth9"), &FakeHost);
        let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["global.user", "global.chroot", "vrrp.instances[0].interface"]);
        assert!(found[1].message.contains("/usr/share/haproxy") && found[2].message.contains("eth9"));
    }

    #[test]
    fn root_and_a_missing_group_are_refused_as_run_refuses_them() {
        let mut c = config("/var/empty", "root", "lo");
        c.global.group = Some("wheel-hk".into());
        let found = check(&c, &FakeHost);
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert!(messages[0].starts_with("user \"root\" has uid 0, not an unprivileged user"), "{messages:?}");
        assert!(messages[1].starts_with("group \"wheel-hk\" does not exist on this host"), "{messages:?}");
        assert_eq!(messages.len(), 2);
    }

    #[test]
    fn a_host_that_has_everything_finds_nothing() {
        assert!(check(&config("/var/empty", "haproxy", "lo"), &FakeHost).is_empty());
    }
}
