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
    fn has_user(&self, name: &str) -> bool;
}

/// One finding per setting this host cannot honour, with the config field it came from.
pub fn check(config: &Config, host: &impl Host) -> Vec<Finding> {
    let mut found = Vec::new();
    let g = &config.global;
    if let Some(user) = &g.user {
        if !host.has_user(user) {
            found.push(Finding { path: "global.user".into(), message: format!("user {user:?} does not exist on this host") });
        }
    }
    if let Some(dir) = &g.chroot {
        if let Some(why) = host.dir_problem(dir) {
            found.push(Finding { path: "global.chroot".into(), message: format!("chroot directory {}: {why}", dir.display()) });
        }
    }
    for (i, inst) in config.vrrp.instances.iter().enumerate() {
        if !host.has_interface(&inst.interface) {
            found.push(Finding {
                path: format!("vrrp.instances[{i}].interface"),
                message: format!("interface {:?} of vrrp instance {} does not exist on this host", inst.interface, inst.name),
            });
        }
        for (j, name) in inst.track_interface.iter().enumerate() {
            if !host.has_interface(name) {
                found.push(Finding {
                    path: format!("vrrp.instances[{i}].track_interface[{j}]"),
                    message: format!("tracked interface {name:?} of vrrp instance {} does not exist on this host", inst.name),
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
        fn has_user(&self, name: &str) -> bool {
            name == "haproxy"
        }
    }

    fn config(chroot: &str, user: &str, interface: &str) -> Config {
        let text = format!(
            r#"(global: (chroot: "{chroot}", user: "{user}"),
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
    fn a_host_that_has_everything_finds_nothing() {
        assert!(check(&config("/var/empty", "haproxy", "lo"), &FakeHost).is_empty());
    }
}
