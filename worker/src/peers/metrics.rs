//! Peers sessions on `/metrics`, one series per `peers` section (label `section`). HAProxy's
//! exporter has no peers families; the names follow hakeeper's own `hakeeper_` prefix and the
//! counters of HAProxy's `show peers` (`conn_cur`, `proto_err`, learned and pushed updates).

use super::PeersCounters;
use std::fmt::Write;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// A metric: name, type, help, and which counter gives its value.
type Family = (&'static str, &'static str, &'static str, fn(&PeersCounters) -> &AtomicU64);

const FAMILIES: [Family; 7] = [
    ("hakeeper_peers_connected", "gauge", "Peers sessions established now.", |c| &c.connected),
    ("hakeeper_peers_established_total", "counter", "Peers sessions that completed the handshake.", |c| &c.established),
    ("hakeeper_peers_disconnects_total", "counter", "Established peers sessions that ended.", |c| &c.disconnects),
    ("hakeeper_peers_updates_sent_total", "counter", "Stick-table updates sent to peers.", |c| &c.pushed),
    ("hakeeper_peers_updates_received_total", "counter", "Stick-table updates received from peers.", |c| &c.learned),
    ("hakeeper_peers_protocol_errors_total", "counter", "Peers sessions closed for garbage or a refused hello.", |c| &c.proto_err),
    ("hakeeper_peers_refused_total", "counter", "Connections refused: from an address of no configured peer.", |c| &c.refused),
];

/// The families for `sections` (name, counters); nothing without a shared section.
pub fn render(sections: &[(String, Arc<PeersCounters>)]) -> String {
    let mut out = String::new();
    if sections.is_empty() {
        return out;
    }
    for (name, kind, help, counter) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (section, c) in sections {
            let label = section.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{section=\"{label}\"}} {}", PeersCounters::get(counter(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn one_series_per_section_and_family() {
        let c = Arc::new(PeersCounters::default());
        c.connected.store(1, Ordering::Relaxed);
        c.pushed.store(42, Ordering::Relaxed);
        let text = render(&[("lb".into(), c)]);
        assert!(text.contains("# TYPE hakeeper_peers_connected gauge\nhakeeper_peers_connected{section=\"lb\"} 1\n"), "{text}");
        assert!(text.contains("hakeeper_peers_updates_sent_total{section=\"lb\"} 42\n"), "{text}");
        assert!(text.contains("hakeeper_peers_protocol_errors_total{section=\"lb\"} 0\n"), "{text}");
        assert_eq!(render(&[]), "");
    }
}
