//! Per-instance VRRP options beyond keepalived's keywords: the reaction to `ProxyDown`, the v3
//! checksum pseudo-header, the two-router `pair` fast takeover, and the notify commands (split
//! as keepalived splits them).

use super::command_line::{shell_syntax, split_command_line};
use super::Checker;
use crate::config::model::ProxyDown;
use crate::config::raw::{RawProxyDown, RawVrrpInstance};

/// `proxy_down`: FAULT unless a weight in 1..=253 is given.
pub(super) fn proxy_down(c: &mut Checker, p: &str, inst: &RawVrrpInstance) -> ProxyDown {
    match inst.proxy_down {
        None | Some(RawProxyDown::Fault) => ProxyDown::Fault,
        Some(RawProxyDown::Weight(n)) => {
            let Ok(w) = u8::try_from(n) else {
                c.error(format!("{p}.proxy_down"), format!("proxy_down weight {n} out of range 1..253"));
                return ProxyDown::Fault;
            };
            if !(1..=253).contains(&w) {
                c.error(format!("{p}.proxy_down"), format!("proxy_down weight {n} out of range 1..253"));
                return ProxyDown::Fault;
            }
            if inst.priority == 255 {
                c.warn(
                    format!("{p}.proxy_down"),
                    "the address owner (priority 255) never changes its priority, so a proxy_down weight keeps the VIP on a host \
                     whose proxy is down; use `fault`",
                );
            }
            ProxyDown::Weight(w)
        }
    }
}

/// `v3_checksum_pseudo_header`: only VRRPv3 over IPv4 has the choice.
pub(super) fn pseudo_header(c: &mut Checker, p: &str, inst: &RawVrrpInstance, version: u8, ipv6: bool) -> bool {
    let Some(on) = inst.v3_checksum_pseudo_header else { return true };
    if version != 3 {
        c.warn(format!("{p}.v3_checksum_pseudo_header"), "VRRPv2 checksums never include a pseudo-header; the setting is ignored");
    } else if ipv6 && !on {
        c.error(format!("{p}.v3_checksum_pseudo_header"), "VRRPv3 over IPv6 always checksums the pseudo-header (the kernel does it)");
    }
    on
}

/// `pair`: explicit, or implied by exactly one unicast peer (keepalived's `unicast_peer` with one
/// address names the only other router). A pair with several unicast peers contradicts itself:
/// the fast takeover would let the wrong backup win.
pub(super) fn pair(c: &mut Checker, p: &str, inst: &RawVrrpInstance) -> bool {
    let peers = inst.unicast_peers.len();
    match inst.pair {
        None => peers == 1,
        Some(true) if peers > 1 => {
            c.error(
                format!("{p}.pair"),
                format!("pair: true with {peers} unicast peers: a pair has one peer; remove `pair` to keep RFC timing with several"),
            );
            false
        }
        Some(on) => on,
    }
}

/// Each notify command must split into words; shell syntax in it is worth a warning, since the
/// program is run directly (as keepalived runs it) and gets the operator as an argument.
pub(super) fn notify_commands(c: &mut Checker, p: &str, inst: &RawVrrpInstance) {
    let commands = [
        ("notify_master", &inst.notify_master),
        ("notify_backup", &inst.notify_backup),
        ("notify_fault", &inst.notify_fault),
        ("notify_stop", &inst.notify_stop),
        ("notify", &inst.notify),
    ];
    for (field, command) in commands {
        let Some(command) = command else { continue };
        match split_command_line(command) {
            Err(e) => c.error(format!("{p}.{field}"), e),
            Ok(words) => {
                if let Some(op) = shell_syntax(&words) {
                    c.warn(
                        format!("{p}.{field}"),
                        format!(
                            "`{op}` is passed to {} as an argument: notify scripts run without a shell, as in keepalived; \
                             put the pipeline in a script, or run it with /bin/sh -c '…'",
                            words[0]
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, ConfigError, Loaded, ProxyDown};

    fn instance(extra: &str) -> String {
        format!("(vrrp: (instances: [(name: \"a\", interface: \"eth0\", vrid: 1, priority: 100,\n  vips: [\"192.0.2.1\"], {extra})]))")
    }

    fn load(text: &str) -> Loaded {
        load_str("t.ron", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error_at(text: &str) -> (usize, usize, String) {
        match load_str("t.ron", text) {
            Err(ConfigError::Invalid(d)) if d.len() == 1 => (d[0].line, d[0].col, d[0].message.clone()),
            Err(e) => panic!("expected one error, got {e}"),
            Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        }
    }

    #[test]
    fn pair_follows_a_single_unicast_peer_unless_set() {
        let pair = |extra: &str| load(&instance(extra)).config.vrrp.instances[0].pair;
        assert!(!pair(""), "multicast without the setting keeps RFC timing");
        assert!(pair("pair: true"), "multicast with the setting");
        assert!(pair("unicast_peers: [\"192.0.2.2\"]"), "one unicast peer implies a pair");
        assert!(!pair("unicast_peers: [\"192.0.2.2\"], pair: false"), "an explicit false wins");
        assert!(!pair("unicast_peers: [\"192.0.2.2\", \"192.0.2.3\"]"), "three routers keep RFC timing");
    }

    #[test]
    fn pair_with_several_unicast_peers_is_positioned() {
        let (line, _, message) = error_at(&instance("unicast_peers: [\"192.0.2.2\", \"192.0.2.3\"],\n  pair: true"));
        assert_eq!(line, 3);
        assert!(message.contains("a pair has one peer"), "{message}");
    }

    #[test]
    fn proxy_down_defaults_to_fault_and_takes_a_weight() {
        let c = load(&instance("")).config;
        assert_eq!(c.vrrp.instances[0].proxy_down, ProxyDown::Fault);
        assert!(c.vrrp.instances[0].v3_checksum_pseudo_header);
        let c = load(&instance("proxy_down: weight(60)")).config;
        assert_eq!(c.vrrp.instances[0].proxy_down, ProxyDown::Weight(60));
        let c = load(&instance("proxy_down: fault")).config;
        assert_eq!(c.vrrp.instances[0].proxy_down, ProxyDown::Fault);
    }

    #[test]
    fn proxy_down_weight_out_of_range_is_positioned() {
        for bad in ["0", "254", "-5"] {
            let (line, col, message) = error_at(&instance(&format!("proxy_down: weight({bad})")));
            assert_eq!((line, col), (2, 24), "{message}");
            assert!(message.contains("out of range 1..253"), "{message}");
        }
    }

    #[test]
    fn proxy_down_weight_on_the_owner_warns() {
        let text = instance("proxy_down: weight(10)").replace("priority: 100", "priority: 255");
        let loaded = load(&text);
        assert!(loaded.warnings.iter().any(|w| w.message.contains("never changes its priority")));
    }

    #[test]
    fn pseudo_header_option_is_checked_against_version_and_family() {
        let c = load(&instance("version: 3, v3_checksum_pseudo_header: false")).config;
        assert!(!c.vrrp.instances[0].v3_checksum_pseudo_header);
        let loaded = load(&instance("v3_checksum_pseudo_header: false"));
        assert!(loaded.warnings.iter().any(|w| w.message.contains("VRRPv2")));
        let v6 = instance("version: 3, v3_checksum_pseudo_header: false").replace("192.0.2.1", "2001:db8::1");
        assert!(error_at(&v6).2.contains("IPv6"));
    }

    #[test]
    fn notify_commands_must_split_and_shell_syntax_warns() {
        let (line, col, message) = error_at(&instance("notify_master: \"/x.sh 'open\""));
        assert_eq!((line, col), (2, 24));
        assert!(message.contains("terminating"), "{message}");
        assert!(error_at(&instance("notify: \" \"")).2.contains("empty command"));
        let loaded = load(&instance("notify_backup: \"/x.sh backup | logger\""));
        assert!(loaded.warnings.iter().any(|w| w.message.contains("without a shell")));
        let loaded = load(&instance("notify: \"/x.sh 'a | b'\""));
        assert!(loaded.warnings.is_empty());
    }
}
