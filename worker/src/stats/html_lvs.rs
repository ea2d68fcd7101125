//! The stats page's LVS section: this host's virtual services (balanced by the kernel, read
//! from nftables by vrrpd) with each real server's state, weight, packets and bytes, as
//! `ipvsadm -L --stats` lists them.

use super::html::escape;
use hakeeper_common::ctl::LvsView;
use std::fmt::Write;

pub fn lvs_html(out: &mut String, lvs: &[LvsView]) {
    if lvs.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"lvs\">LVS virtual services on this host</h2>\n");
    out.push_str(
        "<table class=\"lvs\"><tr><th class=\"name\">Service</th><th class=\"name\">Real server</th><th class=\"name\">Address</th>\
<th>State</th><th>Weight</th><th>Packets</th><th>Bytes</th></tr>\n",
    );
    for v in lvs {
        let state = match (v.active, v.quorum_up) {
            (true, true) => "active",
            (true, false) => "active, quorum lost",
            (false, true) => "standby",
            (false, false) => "standby, quorum lost",
        };
        let _ = writeln!(
            out,
            "<tr class=\"service\" data-service=\"{}\"><td class=\"name\">{}</td><td class=\"name\">{} {} {} {}</td>\
<td class=\"name\">{}</td><td>{state}</td><td></td><td></td><td></td></tr>",
            escape(&v.name),
            escape(&v.name),
            escape(&v.protocol.to_ascii_uppercase()),
            escape(&v.vip),
            escape(&v.kind),
            escape(&v.scheduler),
            escape(&v.vip),
        );
        for s in &v.servers {
            let (class, state) = if s.up { ("active", "UP") } else { ("down", "DOWN") };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\" data-server=\"{}\"><td class=\"name\"></td><td class=\"name\">{}</td><td class=\"name\">{}</td>\
<td>{state}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.name),
                escape(&s.name),
                escape(&s.addr),
                s.weight,
                s.packets,
                s.bytes,
            );
        }
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use hakeeper_common::ctl::LvsServerView;

    #[test]
    fn services_and_real_servers_are_listed_escaped() {
        let mut out = String::new();
        lvs_html(&mut out, &[]);
        assert!(out.is_empty(), "no section without LVS services");
        let view = LvsView {
            name: "vs<1>".into(),
            vip: "192.0.2.100:80".into(),
            protocol: "tcp".into(),
            kind: "nat".into(),
            scheduler: "wrr".into(),
            active: false,
            quorum_up: true,
            servers: vec![LvsServerView {
                name: "rs1".into(),
                addr: "192.0.2.11:80".into(),
                up: false,
                weight: 0,
                packets: 12,
                bytes: 3400,
            }],
        };
        lvs_html(&mut out, &[view]);
        assert!(out.contains("vs&lt;1&gt;") && !out.contains("vs<1>"), "{out}");
        assert!(out.contains("<td>standby</td>"), "{out}");
        assert!(out.contains("<td>DOWN</td><td>0</td><td>12</td><td>3400</td>"), "{out}");
    }
}
